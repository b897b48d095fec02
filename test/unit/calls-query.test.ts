import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateCallFilter, type CallSummary } from '../../app/contract';
import {
  DEFAULT_SORT,
  NO_FILTER,
  filterError,
  formatLocalTime,
  isFilterActive,
  needsQuery,
  nextSort,
  outcomeOf,
  parseLocalTime,
  parseMethod,
  parseStatus,
  parseThreshold,
  stateCell,
} from '../../renderer/src/calls/query';
import { mergeNewestFirst, newestFirst } from '../../renderer/src/store/calls';
import { summarize } from '../../app/entries';
import { scanCalls } from '../../engine/call/scan';
import { CallStore } from '../../engine/call/store';
import type { MediaEvent } from '../../engine/events';
import { COLUMNS, sortsBy } from '../../renderer/src/calls/columns';
import { mediaCells } from '../../renderer/src/calls/media';
import { parseSavedFilters } from '../../renderer/src/calls/saved';
import { rowWindow, scrollToRow } from '../../renderer/src/virtual';

function call(id: string, startedUs: number, over: Partial<CallSummary> = {}): CallSummary {
  const source = over.source ?? 'live';
  return {
    key: source === 'live' ? id : `${source}/${id}`,
    callId: id,
    source,
    state: 'confirmed',
    from: `sip:alice-${id}@a.example`,
    to: `sip:bob-${id}@b.example`,
    startedUs,
    updatedUs: startedUs,
    endedUs: null,
    finalStatus: null,
    messageCount: 5,
    laneCounts: { sip: 5, media: 0, publish: 0, record: 0, note: 0 },
    retransmissions: 0,
    trying100Us: 100,
    publish: null,
    media: null,
    recorder: null,
    ...over,
  };
}

const calls: CallSummary[] = [
  call('c3', 3_000, { state: 'trying', trying100Us: null, messageCount: 1 }),
  call('c2', 2_000, { retransmissions: 2, trying100Us: 12_000, from: 'sip:Carol@x' }),
  call('c1', 1_000, { state: 'failed', trying100Us: 4_000, messageCount: 9 }),
];

test('which filters count as active, and how failed calls are told apart (486/600 busy, 487 cancelled)', () => {
  assert.ok(validateCallFilter(NO_FILTER).ok, 'the empty filter passes the contract check');
  assert.equal(isFilterActive(NO_FILTER), false);
  assert.equal(isFilterActive({ ...NO_FILTER, text: '  ' }), false, 'blank text filters nothing');
  assert.equal(isFilterActive({ ...NO_FILTER, address: ' ' }), false);
  for (const f of [{ ...NO_FILTER, text: 'x' }, { ...NO_FILTER, header: { name: '', value: '' } }, { ...NO_FILTER, status: 486 }, { ...NO_FILTER, fromUs: 0 }, { ...NO_FILTER, source: 'import-1' }, { ...NO_FILTER, outcome: 'busy' as const }]) {
    assert.equal(isFilterActive(f), true, JSON.stringify(f));
  }
  const expected = [['failed', 486, 'busy'], ['failed', 600, 'busy'], ['failed', 487, 'cancelled'], ['failed', 503, 'other-failure'], ['terminated', 200, null], ['early', null, null]] as const;
  for (const [state, finalStatus, outcome] of expected) assert.equal(outcomeOf({ state, finalStatus }), outcome, `${state} ${finalStatus}`);
});

test('the list is an engine query whenever a filter or a non-default sort is active', () => {
  assert.equal(needsQuery(NO_FILTER, DEFAULT_SORT), false, 'no filter, newest first: the live list');
  assert.equal(needsQuery({ ...NO_FILTER, text: 'abc' }, DEFAULT_SORT), true);
  assert.equal(needsQuery(NO_FILTER, { key: 'time', dir: 'asc' }), true, 'oldest first needs every stored call');
  assert.equal(needsQuery(NO_FILTER, { key: 'msgs', dir: 'desc' }), true);
  assert.equal(needsQuery({ ...NO_FILTER, regex: true }, DEFAULT_SORT), false, 'the regex switch alone filters nothing');
});

test('busy (486/600) and cancelled (487) are told apart from other failures in the state cell', () => {
  assert.deepEqual(stateCell({ state: 'failed', finalStatus: 486 }), { text: 'busy 486', className: 'state-busy' });
  assert.deepEqual(stateCell({ state: 'failed', finalStatus: 600 }), { text: 'busy 600', className: 'state-busy' });
  assert.deepEqual(stateCell({ state: 'failed', finalStatus: 487 }), { text: 'cancelled 487', className: 'state-cancelled' });
  assert.deepEqual(stateCell({ state: 'failed', finalStatus: 503 }), { text: 'failed 503', className: 'state-failed' });
  assert.deepEqual(stateCell({ state: 'terminated', finalStatus: 200 }), { text: 'terminated 200', className: 'state-terminated' });
  assert.deepEqual(stateCell({ state: 'early', finalStatus: null }), { text: 'early', className: 'state-early' });
});

test('a regular expression that does not compile is an error to show, never a throw; plain text never is', () => {
  assert.equal(filterError({ ...NO_FILTER, text: 'a(b' }), null, 'a substring may contain anything');
  assert.match(filterError({ ...NO_FILTER, regex: true, text: 'a(b' }) ?? '', /^text: not a regular expression/);
  assert.match(filterError({ ...NO_FILTER, regex: true, header: { name: 'User-Agent', value: '[' } }) ?? '', /^header value: not a regular expression/);
  assert.equal(filterError({ ...NO_FILTER, regex: true, text: '^c[0-9]+$' }), null);
  // What the renderer lets through, the contract accepts.
  assert.ok(validateCallFilter({ ...NO_FILTER, regex: true, text: '^c[0-9]+$' }).ok);
  assert.equal(validateCallFilter({ ...NO_FILTER, regex: true, text: 'a(b' }).ok, false);
});

test('typed fields: empty is off, a value applies, anything else is refused (shown invalid, not applied)', () => {
  assert.deepEqual(parseThreshold(''), { ok: true, value: null });
  assert.deepEqual(parseThreshold(' 2.5 '), { ok: true, value: 2.5 });
  assert.deepEqual(parseThreshold('0'), { ok: true, value: 0 });
  assert.deepEqual(parseThreshold('-1'), { ok: false });
  assert.deepEqual(parseThreshold('abc'), { ok: false });
  assert.deepEqual(parseThreshold('5ms'), { ok: false });
  assert.deepEqual(parseStatus('486'), { ok: true, value: 486 });
  assert.deepEqual(parseStatus('99'), { ok: false });
  assert.deepEqual(parseStatus('700'), { ok: false });
  assert.deepEqual(parseStatus('4x6'), { ok: false });
  assert.deepEqual(parseMethod(' invite '), { ok: true, value: 'INVITE' });
  assert.deepEqual(parseMethod('IN VITE'), { ok: false });
  assert.deepEqual(parseLocalTime(''), { ok: true, value: null });
  assert.deepEqual(parseLocalTime('yesterday'), { ok: false });
  const t = parseLocalTime('2026-01-02T03:04:05');
  assert.ok(t.ok && t.value !== null);
  assert.equal(t.ok && t.value !== null ? formatLocalTime(t.value) : '', '2026-01-02T03:04:05', 'round trip in local time');
  assert.ok(t.ok && validateCallFilter({ ...NO_FILTER, fromUs: t.value }).ok);
});

test('clicking a sorted header flips it; a new header starts in its natural direction', () => {
  assert.deepEqual(nextSort(DEFAULT_SORT, 'time'), { key: 'time', dir: 'asc' });
  assert.deepEqual(nextSort(DEFAULT_SORT, 'callId'), { key: 'callId', dir: 'asc' });
  assert.deepEqual(nextSort({ key: 'callId', dir: 'asc' }, 'rtx'), { key: 'rtx', dir: 'desc' });
  assert.deepEqual(nextSort(DEFAULT_SORT, 'source'), { key: 'source', dir: 'asc' });
});

test('windowing renders the visible rows plus overscan, clamped to the list', () => {
  assert.deepEqual(rowWindow(0, 220, 22, 10_000, 8), { start: 0, end: 19 });
  assert.deepEqual(rowWindow(22 * 5000, 220, 22, 10_000, 8), { start: 4992, end: 5019 });
  assert.deepEqual(rowWindow(22 * 9999, 220, 22, 10_000, 8), { start: 9991, end: 10_000 });
  assert.deepEqual(rowWindow(-50, 220, 22, 3, 8), { start: 0, end: 3 });
  assert.deepEqual(rowWindow(0, 220, 22, 0), { start: 0, end: 0 });
});

test('scrollToRow moves the least needed to show a row', () => {
  assert.equal(scrollToRow(5, 0, 220, 22), 0);
  assert.equal(scrollToRow(20, 0, 220, 22), 21 * 22 - 220);
  assert.equal(scrollToRow(2, 200, 220, 22), 44);
});

test('merging upserts keeps the list newest first, updates in place and adds new calls once', () => {
  const list = [...calls];
  const byId = new Map(list.map((c) => [c.key, c]));
  const updated = { ...calls[1]!, updatedUs: 9_000, messageCount: 7 };
  const stale = { ...calls[0]!, updatedUs: 0, messageCount: 0 };
  const fresh = [call('c4', 4_000), call('c0', 500), call('c2b', 2_000), call('c4', 4_000, { updatedUs: 4_500 })];
  const out = mergeNewestFirst(list, byId, [updated, stale, ...fresh]);
  assert.deepEqual(out.list.map((c) => c.key), ['c4', 'c3', 'c2', 'c2b', 'c1', 'c0']);
  assert.deepEqual(out.list, [...out.byId.values()].sort(newestFirst));
  assert.equal(out.byId.get('c2')!.messageCount, 7);
  assert.equal(out.byId.get('c3')!.messageCount, 1, 'an older copy does not replace a newer one');
  assert.equal(out.byId.get('c4')!.updatedUs, 4_500);
  assert.equal(byId.size, 3, 'the previous map is not mutated');
});

test('the same Call-ID live and imported is two calls, each updated under its own key', () => {
  const live = call('dup', 1_000);
  const imported = call('dup', 1_000, { source: 'import-1', messageCount: 3 });
  const out = mergeNewestFirst([], new Map(), [live, imported]);
  assert.deepEqual(out.list.map((c) => c.key), ['dup', 'import-1/dup']);
  const again = mergeNewestFirst(out.list, out.byId, [{ ...live, updatedUs: 2_000, messageCount: 8 }]);
  assert.equal(again.byId.get('dup')!.messageCount, 8);
  assert.equal(again.byId.get('import-1/dup')!.messageCount, 3, 'the import is untouched by the live update');
  assert.equal(again.list.length, 2);
});

/** A relay report of one stream (the call store turns these into legs → media → streams). */
function mediaEvent(callId: string, tsUs: number, streamId: string, phase: MediaEvent['phase'], packets: number, lost: number, jitterUs = 500): MediaEvent {
  return {
    kind: 'media', tsUs, callId, phase, streamId, legTag: 'fa', mediaIndex: 0, src: '10.0.0.1:4000', dst: '10.0.0.9:30000',
    codec: 'PCMU/8000', ssrc: 1, packets, bytes: packets * 172, lost, jitterUs, reason: phase === 'closed' ? 'bye' : null, sdp: null,
  };
}

/** Three calls the relay reported: one clean, one whose second stream lost packets, one whose only stream counted duplicates (negative loss). */
function storeWithMedia(): CallStore {
  const store = new CallStore();
  for (const ev of [
    mediaEvent('clean', 1_000, 'c-a', 'opened', 0, 0),
    mediaEvent('clean', 2_000, 'c-a', 'stats', 500, 0),
    mediaEvent('lossy', 3_000, 'l-a', 'stats', 400, 0),
    mediaEvent('lossy', 3_100, 'l-b', 'stats', 380, 20),
    mediaEvent('lossy', 3_500, 'l-b', 'stats', 760, 40),
    mediaEvent('dups', 4_000, 'd-a', 'stats', 300, -2),
  ]) store.record(ev);
  return store;
}

const scan = (store: CallStore, filter = NO_FILTER, sort = DEFAULT_SORT) => scanCalls(() => store.values(), () => true, filter, sort, summarize);

test('the call summary counts streams, packets and lost from each stream\'s latest report; a call without media has none', () => {
  const store = storeWithMedia();
  assert.deepEqual(summarize(store.get('lossy')!).media, { streams: 2, packets: 1_160, lost: 40, maxJitterUs: 500 }, 'l-b\'s later report replaces its earlier one');
  assert.deepEqual(summarize(store.get('clean')!).media, { streams: 1, packets: 500, lost: 0, maxJitterUs: 500 });
  assert.deepEqual(summarize(store.get('dups')!).media, { streams: 1, packets: 300, lost: 0, maxJitterUs: 500 }, 'duplicates are not negative loss');
  assert.equal(call('x', 1).media, null);
});

test('"has media loss" keeps only calls whose streams lost packets, over every stored call (engine query)', async () => {
  const store = storeWithMedia();
  const found = await scan(store, { ...NO_FILTER, mediaLoss: true });
  assert.deepEqual(found.map((f) => f.call.callId), ['lossy']);
  assert.deepEqual((await scan(store)).map((f) => f.call.callId), ['dups', 'lossy', 'clean'], 'off: every call');
  assert.equal(isFilterActive({ ...NO_FILTER, mediaLoss: true }), true);
  assert.equal(isFilterActive({ ...NO_FILTER, mediaLoss: false }), false);
  store.record(mediaEvent('clean', 5_000, 'c-a', 'closed', 990, 10));
  assert.deepEqual((await scan(store, { ...NO_FILTER, mediaLoss: true })).map((f) => f.call.callId), ['lossy', 'clean'], 'a later report with loss brings a call in');
});

test('"media jitter ≥ N ms" keeps calls with a stream whose latest running jitter reached it (the relay suspect\'s link); a later calmer report lets a call go', async () => {
  const store = storeWithMedia();
  store.record(mediaEvent('shaky', 5_000, 's-a', 'stats', 400, 0, 2_000));
  store.record(mediaEvent('shaky', 5_100, 's-b', 'stats', 400, 0, 45_000));
  assert.equal(summarize(store.get('shaky')!).media!.maxJitterUs, 45_000, 'the worst stream');
  const jittery = { ...NO_FILTER, mediaJitterAtLeastMs: 30 };
  assert.deepEqual((await scan(store, jittery)).map((f) => f.call.callId), ['shaky']);
  assert.equal(isFilterActive(jittery), true);
  assert.equal(isFilterActive({ ...NO_FILTER, mediaJitterAtLeastMs: null }), false);
  store.record(mediaEvent('shaky', 6_000, 's-b', 'stats', 800, 0, 4_000));
  assert.deepEqual((await scan(store, jittery)).map((f) => f.call.callId), [], 'the latest figures are what count');
});

test('calls sort by streams and by loss (share of expected), calls without media last either way', async () => {
  const store = storeWithMedia();
  store.record({ kind: 'note', tsUs: 6_000, callId: 'nomedia', at: 'engine', text: 'no media' });
  const ids = async (key: 'streams' | 'loss', dir: 'asc' | 'desc') => (await scan(store, NO_FILTER, { key, dir })).map((f) => f.call.callId);
  assert.deepEqual(await ids('loss', 'desc'), ['lossy', 'dups', 'clean', 'nomedia'], 'ties fall back to newest first');
  assert.deepEqual(await ids('loss', 'asc'), ['dups', 'clean', 'lossy', 'nomedia']);
  assert.deepEqual(await ids('streams', 'desc'), ['lossy', 'dups', 'clean', 'nomedia']);
  assert.deepEqual(nextSort(DEFAULT_SORT, 'loss'), { key: 'loss', dir: 'desc' }, 'worst loss first');
  assert.ok(sortsBy('streams') && sortsBy('loss'));
  assert.deepEqual(COLUMNS.filter((c) => c.key === 'streams' || c.key === 'loss').map((c) => c.label), ['streams', 'loss']);
});

test('the media cells show streams and loss, in the warning colour when any packet was lost; — without media', () => {
  assert.deepEqual(mediaCells(null), { streams: '—', loss: '—', lossClass: 'muted', title: 'No media for this call (no relay, or SDP passed untouched)' });
  const lossy = mediaCells({ streams: 2, packets: 1_160, lost: 40, maxJitterUs: 0 });
  assert.deepEqual([lossy.streams, lossy.loss, lossy.lossClass], ['2', '3.3%', 'warn']);
  assert.match(lossy.title, /1160 packets received, 40 lost/);
  assert.deepEqual([mediaCells({ streams: 1, packets: 500, lost: 0, maxJitterUs: 0 }).loss, mediaCells({ streams: 1, packets: 500, lost: 0, maxJitterUs: 0 }).lossClass], ['0%', '']);
  assert.equal(mediaCells({ streams: 1, packets: 99_999, lost: 1, maxJitterUs: 0 }).loss, '<0.1%', 'one lost packet is not rounded away');
  assert.equal(mediaCells({ streams: 1, packets: 50, lost: 50, maxJitterUs: 0 }).loss, '50%');
});

test('mediaLoss may be left out of a filter (written before media existed) but not set to anything other than true or false', () => {
  const { mediaLoss: _m, ...old } = NO_FILTER;
  assert.equal(validateCallFilter(old).ok, true);
  assert.equal(validateCallFilter({ ...NO_FILTER, mediaLoss: true }).ok, true);
  assert.equal(validateCallFilter({ ...NO_FILTER, mediaLoss: 'yes' }).ok, false);
  const raw = JSON.stringify({ version: 1, filters: [{ name: 'before media', filter: old }, { name: 'loss', filter: { ...NO_FILTER, mediaLoss: true } }] });
  assert.deepEqual(parseSavedFilters(raw).map((s) => [s.name, s.filter.mediaLoss ?? false]), [['before media', false], ['loss', true]]);
});
