/**
 * The calls the suspects board links to (#16): `recorderDrops` selects the
 * calls whose record lane says the recorder lost something of them,
 * `upDuring` the calls that were up during given time windows (the
 * kernel's drop windows); the board's counts use the same rules; the
 * contract checks both fields; the calls list says what `upDuring` means.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateCallFilter } from '../../app/contract';
import { summarize } from '../../app/entries';
import { countSuspectCalls } from '../../app/suspect-counts';
import { scanCalls } from '../../engine/call/scan';
import { CallStore } from '../../engine/call/store';
import { DEFAULT_SORT, NO_FILTER, isFilterActive, type CallFilter } from '../../engine/call/query';
import type { CallEvent, MediaEvent, RecordEvent } from '../../engine/events';
import { upDuringChip } from '../../renderer/src/calls/upDuring';
import { parseSavedFilters } from '../../renderer/src/calls/saved';

const S = 1_000_000;
const ids = async (store: CallStore, filter: Partial<CallFilter>) => (await scanCalls(() => store.values(), () => true, { ...NO_FILTER, ...filter }, DEFAULT_SORT, summarize)).map((f) => f.call.callId);

function record(callId: string, tsUs: number, phase: RecordEvent['phase'], dropped = 0, framesDropped = 0): RecordEvent {
  return { kind: 'record', tsUs, callId, phase, src: 'relay', dst: 'record:/tmp/rec', path: null, packets: 0, dropped, framesDropped, detail: null };
}

/** A stream the relay alone knows (no SIP): the call starts with it and ends when it closes. */
function stream(callId: string, tsUs: number, phase: MediaEvent['phase'], source?: string): MediaEvent {
  return {
    kind: 'media', tsUs, callId, phase, streamId: `${callId}-caller`, legTag: 'fa', mediaIndex: 0, src: '10.0.0.1:4000', dst: '10.0.0.9:30000',
    codec: 'PCMU/8000', ssrc: 1, packets: 0, bytes: 0, lost: 0, jitterUs: 0, reason: phase === 'closed' ? 'bye' : null, sdp: null, ...(source ? { source } : {}),
  };
}

test("recorderDrops selects the calls the recorder dropped packets of or did not forward frames of, summed over their `dropped` reports; a recorded call that lost nothing is not one", async () => {
  const store = new CallStore();
  const events: CallEvent[] = [
    record('packets', 1 * S, 'started'),
    record('packets', 2 * S, 'dropped', 3, 0),
    record('packets', 7 * S, 'dropped', 2, 0),
    record('frames', 3 * S, 'started'),
    record('frames', 4 * S, 'dropped', 0, 120),
    record('clean', 5 * S, 'started'),
    record('clean', 9 * S, 'stopped', 0, 0),
    stream('unrecorded', 6 * S, 'opened'),
  ];
  for (const e of events) store.record(e);
  assert.deepEqual(await ids(store, { recorderDrops: true }), ['frames', 'packets']);
  assert.deepEqual(summarize(store.get('packets')!).recorder, { drops: 5, framesDropped: 0 }, 'each report adds the drops since the previous one');
  assert.deepEqual(summarize(store.get('frames')!).recorder, { drops: 0, framesDropped: 120 });
  assert.deepEqual(summarize(store.get('clean')!).recorder, { drops: 0, framesDropped: 0 }, 'recorded, nothing lost');
  assert.equal(summarize(store.get('unrecorded')!).recorder, null, 'never recorded');
  // A recording stopped and started again (a new file) adds to the same call; `stopped` repeats its recording's own total, not added again.
  store.record(record('packets', 10 * S, 'stopped', 5, 0));
  store.record(record('packets', 11 * S, 'dropped', 1, 4));
  assert.deepEqual(summarize(store.get('packets')!).recorder, { drops: 6, framesDropped: 4 });
  // The last report of a call no longer stored has nowhere to go: it makes no call.
  store.record(record('evicted', 12 * S, 'dropped', 9, 9));
  assert.equal(store.get('evicted'), undefined);
  assert.equal(isFilterActive({ ...NO_FILTER, recorderDrops: true }), true);
  assert.equal(isFilterActive({ ...NO_FILTER, recorderDrops: false }), false);
});

test('upDuring selects the calls up at some moment of a window: started by its end, not ended before its start; a live call in progress is up until now, an imported one only until its last event', async () => {
  const store = new CallStore();
  const source = store.addSource('old.pcap', 0);
  for (const e of [
    stream('before', 1 * S, 'opened'),
    stream('before', 2 * S, 'closed'), // ended before the window
    stream('across', 3 * S, 'opened'),
    stream('across', 20 * S, 'closed'), // up through the window
    stream('ends-inside', 4 * S, 'opened'),
    stream('ends-inside', 10 * S, 'closed'),
    stream('starts-inside', 11 * S, 'opened'), // still up
    stream('after', 13 * S, 'opened'),
    stream('after', 14 * S, 'closed'),
    stream('imported', 5 * S, 'opened', source), // never ended in its file: its last event was at 5 s
  ]) store.record(e);
  const window = { fromUs: 10 * S, toUs: 12 * S };
  assert.deepEqual(await ids(store, { upDuring: [window] }), ['starts-inside', 'ends-inside', 'across']);
  assert.deepEqual(await ids(store, { upDuring: [window, { fromUs: 1 * S, toUs: 1 * S }] }), ['starts-inside', 'ends-inside', 'across', 'before'], 'any of the windows');
  assert.deepEqual(await ids(store, { upDuring: [{ fromUs: 5 * S, toUs: 5 * S }] }), ['imported', 'ends-inside', 'across']);
  assert.deepEqual(await ids(store, { upDuring: [] }), [], 'no window: no call');
  assert.equal((await ids(store, { upDuring: null })).length, 6, 'null: off');
  assert.equal(isFilterActive({ ...NO_FILTER, upDuring: [] }), true);
  assert.equal(isFilterActive({ ...NO_FILTER, upDuring: null }), false);
});

test("the board's counts use the rules of the filters it links to, over the live calls", async () => {
  const store = new CallStore();
  for (const e of [stream('a', 1 * S, 'opened'), record('a', 1 * S, 'dropped', 1, 0), stream('b', 2 * S, 'opened'), stream('b', 3 * S, 'closed'), record('c', 4 * S, 'started'), stream('c', 4 * S, 'opened')]) store.record(e);
  const windows = [{ fromUs: 2.5 * S, toUs: 3.5 * S }];
  const n = countSuspectCalls(store.values(), 5 * S, windows);
  assert.equal(n.recorderDrops, (await ids(store, { recorderDrops: true })).length);
  assert.equal(n.recorderDrops, 1);
  assert.equal(n.upDuringKernelDrops, (await ids(store, { upDuring: windows })).length);
  assert.equal(n.upDuringKernelDrops, 2, 'a (still up) and b (ended in the window)');
  assert.equal(countSuspectCalls(store.values(), 5 * S, []).upDuringKernelDrops, 0, 'no window, no call');
});

/** A call event the reference consumer received, `sinceQueuedUs` after the publisher queued it. */
function delivered(callId: string, tsUs: number, sinceQueuedUs: number): CallEvent {
  return { kind: 'publish', tsUs, callId, phase: 'delivered', event: 'new', target: `call:${callId}`, src: 'callpath', dst: '127.0.0.1:6379', receivers: null, sinceQueuedUs, error: null };
}

test('late events count for the calls started in the last minute: a fixed cause turns the Application suspect green again, as the other suspects\' last minute does', () => {
  const store = new CallStore();
  // Two calls with a late event (over 1 s after it was queued), one an hour ago and one just now; one on time now.
  for (const e of [stream('old-late', 10 * S, 'opened'), delivered('old-late', 12 * S, 2 * S), stream('new-late', 3_600 * S, 'opened'), delivered('new-late', 3_602 * S, 2 * S), stream('on-time', 3_601 * S, 'opened'), delivered('on-time', 3_601 * S, 0.01 * S)]) store.record(e);
  assert.equal(countSuspectCalls(store.values(), 3_605 * S, []).late, 1, 'the one started within the minute');
  assert.equal(countSuspectCalls(store.values(), 3_660 * S, []).late, 1, 'still within its minute');
  assert.equal(countSuspectCalls(store.values(), 3_700 * S, []).late, 0, 'a minute without late events: none');
});

test('the contract checks the new fields: either may be left out (filters written before them); recorderDrops a boolean; upDuring null or at most 64 windows of µs with fromUs ≤ toUs', () => {
  const { recorderDrops: _r, upDuring: _u, mediaJitterAtLeastMs: _j, ...older } = NO_FILTER;
  assert.equal(validateCallFilter(older).ok, true);
  assert.equal(validateCallFilter({ ...NO_FILTER, recorderDrops: true, upDuring: [{ fromUs: 1, toUs: 2 }] }).ok, true);
  assert.equal(validateCallFilter({ ...NO_FILTER, upDuring: [] }).ok, true);
  const refused = (over: Record<string, unknown>) => {
    const v = validateCallFilter({ ...NO_FILTER, ...over });
    return v.ok ? null : v.error;
  };
  assert.match(refused({ recorderDrops: 'yes' })!, /^filter\.recorderDrops must be true or false/);
  assert.equal(validateCallFilter({ ...NO_FILTER, mediaJitterAtLeastMs: 30 }).ok, true);
  for (const bad of [-1, '30', Number.NaN, true]) assert.match(refused({ mediaJitterAtLeastMs: bad })!, /^filter\.mediaJitterAtLeastMs must be null or a number of ms ≥ 0/, String(bad));
  for (const bad of [{ fromUs: 2, toUs: 1 }, { fromUs: -1, toUs: 1 }, { fromUs: 1 }, { fromUs: 1, toUs: 2, why: 'x' }, [1, 2], 'now'])
    assert.match(refused({ upDuring: [bad] })!, /^filter\.upDuring must be null or a list of at most 64/, JSON.stringify(bad));
  assert.match(refused({ upDuring: Array.from({ length: 65 }, () => ({ fromUs: 1, toUs: 2 })) })!, /at most 64/);
  assert.match(refused({ upDuring: { fromUs: 1, toUs: 2 } })!, /^filter\.upDuring/);
  const raw = JSON.stringify({ version: 1, filters: [{ name: 'older', filter: older }, { name: 'drops', filter: { ...NO_FILTER, recorderDrops: true } }] });
  assert.deepEqual(parseSavedFilters(raw).map((s) => [s.name, s.filter.recorderDrops ?? false]), [['older', false], ['drops', true]], 'saved filters keep working');
});

test('the calls list says what an upDuring filter means: the newest windows in local time, all of them in the title, and that the calls were up then, not the cause', () => {
  const t = new Date(2024, 4, 1, 9, 30, 15).getTime() * 1000;
  const one = upDuringChip([{ fromUs: t, toUs: t + S }]);
  assert.equal(one.text, 'up during 09:30:15.000–09:30:16.000');
  assert.match(one.title, /^Calls that were up \(started by the end of a window, not ended before its start\) at some moment of these windows:\n {2}09:30:15\.000–09:30:16\.000\n/);
  assert.match(one.title, /these calls were up while they rose, not their cause\.$/);
  const many = upDuringChip([0, 10, 20, 30].map((k) => ({ fromUs: t + k * S, toUs: t + (k + 1) * S })));
  assert.equal(many.text, 'up during 09:30:35.000–09:30:36.000, 09:30:45.000–09:30:46.000 (+2 earlier)');
  assert.equal(many.title.split('\n').length, 1 + 4 + 1);
  assert.equal(upDuringChip([]).text, 'up during: no window');
});
