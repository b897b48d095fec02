import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallSummary } from '../../app/contract';
import { DEFAULT_SORT, NO_FILTER, filterCalls, isFilterActive, nextSort, parseThresholdMs, sortCalls } from '../../renderer/src/calls/query';
import { mergeNewestFirst, newestFirst } from '../../renderer/src/store/calls';
import { rowWindow, scrollToRow } from '../../renderer/src/virtual';

function call(id: string, startedUs: number, over: Partial<CallSummary> = {}): CallSummary {
  return {
    callId: id,
    state: 'confirmed',
    from: `sip:alice-${id}@a.example`,
    to: `sip:bob-${id}@b.example`,
    startedUs,
    updatedUs: startedUs,
    endedUs: null,
    finalStatus: null,
    messageCount: 5,
    retransmissions: 0,
    trying100Us: 100,
    ...over,
  };
}

const calls: CallSummary[] = [
  call('c3', 3_000, { state: 'trying', trying100Us: null, messageCount: 1 }),
  call('c2', 2_000, { retransmissions: 2, trying100Us: 12_000, from: 'sip:Carol@x' }),
  call('c1', 1_000, { state: 'failed', trying100Us: 4_000, messageCount: 9 }),
];

test('an empty filter returns the list itself (no copy)', () => {
  assert.equal(isFilterActive(NO_FILTER), false);
  assert.equal(filterCalls(calls, NO_FILTER), calls);
});

test('text filter matches Call-ID, From or To, case-insensitively', () => {
  const ids = (t: string) => filterCalls(calls, { ...NO_FILTER, text: t }).map((c) => c.callId);
  assert.deepEqual(ids('C1'), ['c1']);
  assert.deepEqual(ids('carol'), ['c2']);
  assert.deepEqual(ids('bob-c3@'), ['c3']);
  assert.deepEqual(ids('  '), ['c3', 'c2', 'c1']);
  assert.deepEqual(ids('nobody'), []);
});

test('state, retransmission and 100 Trying threshold filters combine', () => {
  assert.deepEqual(filterCalls(calls, { ...NO_FILTER, state: 'failed' }).map((c) => c.callId), ['c1']);
  assert.deepEqual(filterCalls(calls, { ...NO_FILTER, retransmissionsOnly: true }).map((c) => c.callId), ['c2']);
  // 100 Trying slower than 5 ms: c2 (12 ms); c3 has no 100 Trying yet and is left out.
  assert.deepEqual(filterCalls(calls, { ...NO_FILTER, tryingSlowerThanMs: 5 }).map((c) => c.callId), ['c2']);
  assert.deepEqual(filterCalls(calls, { ...NO_FILTER, tryingSlowerThanMs: 1, state: 'failed' }).map((c) => c.callId), ['c1']);
  assert.deepEqual(filterCalls(calls, { ...NO_FILTER, tryingSlowerThanMs: 12 }).map((c) => c.callId), [], 'strictly slower than');
});

test('parses the threshold input, rejecting negatives and text', () => {
  assert.equal(parseThresholdMs(''), null);
  assert.equal(parseThresholdMs(' 2.5 '), 2.5);
  assert.equal(parseThresholdMs('0'), 0);
  assert.equal(parseThresholdMs('-1'), null);
  assert.equal(parseThresholdMs('abc'), null);
});

test('the default sort keeps the store order; other sorts put missing 100 Trying last both ways', () => {
  assert.equal(sortCalls(calls, DEFAULT_SORT), calls);
  assert.deepEqual(sortCalls(calls, { key: 'trying', dir: 'asc' }).map((c) => c.callId), ['c1', 'c2', 'c3']);
  assert.deepEqual(sortCalls(calls, { key: 'trying', dir: 'desc' }).map((c) => c.callId), ['c2', 'c1', 'c3']);
  assert.deepEqual(sortCalls(calls, { key: 'msgs', dir: 'desc' }).map((c) => c.callId), ['c1', 'c2', 'c3']);
  assert.deepEqual(sortCalls(calls, { key: 'state', dir: 'asc' }).map((c) => c.callId), ['c3', 'c2', 'c1']);
  assert.deepEqual(sortCalls(calls, { key: 'callId', dir: 'asc' }).map((c) => c.callId), ['c1', 'c2', 'c3']);
  assert.deepEqual(sortCalls(calls, { key: 'time', dir: 'asc' }).map((c) => c.callId), ['c1', 'c2', 'c3']);
});

test('clicking a sorted header flips it; a new header starts in its natural direction', () => {
  assert.deepEqual(nextSort(DEFAULT_SORT, 'time'), { key: 'time', dir: 'asc' });
  assert.deepEqual(nextSort(DEFAULT_SORT, 'callId'), { key: 'callId', dir: 'asc' });
  assert.deepEqual(nextSort({ key: 'callId', dir: 'asc' }, 'rtx'), { key: 'rtx', dir: 'desc' });
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
  const byId = new Map(list.map((c) => [c.callId, c]));
  const updated = { ...calls[1]!, updatedUs: 9_000, messageCount: 7 };
  const stale = { ...calls[0]!, updatedUs: 0, messageCount: 0 };
  const fresh = [call('c4', 4_000), call('c0', 500), call('c2b', 2_000), call('c4', 4_000, { updatedUs: 4_500 })];
  const out = mergeNewestFirst(list, byId, [updated, stale, ...fresh]);
  assert.deepEqual(out.list.map((c) => c.callId), ['c4', 'c3', 'c2', 'c2b', 'c1', 'c0']);
  assert.deepEqual(out.list, [...out.byId.values()].sort(newestFirst));
  assert.equal(out.byId.get('c2')!.messageCount, 7);
  assert.equal(out.byId.get('c3')!.messageCount, 1, 'an older copy does not replace a newer one');
  assert.equal(out.byId.get('c4')!.updatedUs, 4_500);
  assert.equal(byId.size, 3, 'the previous map is not mutated');
});
