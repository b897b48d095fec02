import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallDetail, LadderEntry, SipEntry } from '../../app/contract';
import { mergeCallDetail, nextFromIndex } from '../../renderer/src/ladder/merge';

function msg(index: number): SipEntry {
  return {
    index, lane: 'sip', tsUs: 1_000 + index, direction: 'in', transport: 'udp', src: 'a:1', dst: 'b:2', label: 'OPTIONS', owner: `sip:${index} OPTIONS`,
    method: 'OPTIONS', status: null, cseq: `${index} OPTIONS`, branch: null, size: 100, retransmission: false, text: `m${index}`,
  };
}

/** Every third entry is a note (a non-SIP lane): indexes run across lanes. */
function entry(index: number): LadderEntry {
  return index % 3 === 2 ? { index, lane: 'note', tsUs: 1_000 + index, src: 'a:1', dst: 'a:1', label: 'timer B', owner: 'note', text: 'timer B fired' } : msg(index);
}

function detail(from: number, to: number, dropped = 0, startedUs = 1_000, key = 'c'): CallDetail {
  const entries: LadderEntry[] = [];
  for (let i = from; i < to; i++) entries.push(entry(i));
  const notes = Math.floor((to + 1) / 3);
  return {
    key, callId: 'c', source: 'live', state: 'trying', from: 'a', to: 'b', startedUs, updatedUs: 2_000, endedUs: null, finalStatus: null,
    messageCount: to - notes, laneCounts: { sip: to - notes, media: 0, publish: 0, record: 0, note: notes }, retransmissions: 0, trying100Us: null, publish: null, media: null, recorder: null,
    timings: { trying100Us: null, forwardedUs: null, ringingUs: null, answeredUs: null },
    retransmissionsByKind: {}, entriesDropped: dropped, legs: [], entries,
  };
}

test('asks for the entries after the last one held, or everything when nothing is held', () => {
  assert.equal(nextFromIndex(undefined), 0);
  assert.equal(nextFromIndex(detail(0, 0)), 0);
  assert.equal(nextFromIndex(detail(0, 14)), 14);
  assert.equal(nextFromIndex(detail(40, 40, 40)), 40, 'a call whose entries all rotated out continues after them');
});

test('appends the new entries of every lane in index order and keeps the old array when nothing is new', () => {
  const held = detail(0, 5);
  const merged = mergeCallDetail(held, detail(5, 8), 5)!;
  assert.deepEqual(merged.entries.map((m) => m.index), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(merged.entries.map((m) => m.lane), ['sip', 'sip', 'note', 'sip', 'sip', 'note', 'sip', 'sip']);
  assert.equal(merged.laneCounts.note, 3);
  const same = mergeCallDetail(merged, detail(8, 8), 8)!;
  assert.equal(same.entries, merged.entries, 'the same array, so the ladder is not rebuilt');
});

test('drops what the engine rotated out of its per-call ring', () => {
  const held = detail(0, 10);
  const merged = mergeCallDetail(held, { ...detail(10, 12), entriesDropped: 4 }, 10)!;
  assert.deepEqual(merged.entries.map((m) => m.index), [4, 5, 6, 7, 8, 9, 10, 11]);
});

test('an answer that does not continue what is held asks for a full fetch (null)', () => {
  const held = detail(0, 10);
  assert.equal(mergeCallDetail(held, detail(0, 3, 0, 9_999), 10), null, 'another call under the same key');
  assert.equal(mergeCallDetail(held, detail(0, 3), 10), null, 'fewer entries ever recorded than held');
  assert.equal(mergeCallDetail(held, { ...detail(0, 12), entries: [msg(3)] }, 10), null, 'an index before the one asked for');
  assert.equal(mergeCallDetail(held, detail(10, 12, 0, 1_000, 'import-1/c'), 10), null, 'the same Call-ID from another source is another call');
});
