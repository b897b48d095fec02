import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallDetail, CapturedMessage } from '../../app/contract';
import { mergeCallDetail, nextFromIndex } from '../../renderer/src/ladder/merge';

function msg(index: number): CapturedMessage {
  return {
    index, lane: 'sip', tsUs: 1_000 + index, direction: 'in', transport: 'udp', src: 'a:1', dst: 'b:2', label: 'OPTIONS',
    method: 'OPTIONS', status: null, cseq: `${index} OPTIONS`, branch: null, size: 100, retransmission: false, text: `m${index}`,
  };
}

function detail(from: number, to: number, dropped = 0, startedUs = 1_000): CallDetail {
  const messages = [];
  for (let i = from; i < to; i++) messages.push(msg(i));
  return {
    callId: 'c', state: 'trying', from: 'a', to: 'b', startedUs, updatedUs: 2_000, endedUs: null, finalStatus: null,
    messageCount: to, retransmissions: 0, trying100Us: null,
    timings: { trying100Us: null, forwardedUs: null, ringingUs: null, answeredUs: null },
    retransmissionsByKind: {}, messagesDropped: dropped, messages,
  };
}

test('asks for the messages after the last one held, or everything when nothing is held', () => {
  assert.equal(nextFromIndex(undefined), 0);
  assert.equal(nextFromIndex(detail(0, 0)), 0);
  assert.equal(nextFromIndex(detail(0, 14)), 14);
  assert.equal(nextFromIndex(detail(40, 40, 40)), 40, 'a call whose messages all rotated out continues after them');
});

test('appends the new messages in index order and keeps the old array when nothing is new', () => {
  const held = detail(0, 5);
  const merged = mergeCallDetail(held, detail(5, 8), 5)!;
  assert.deepEqual(merged.messages.map((m) => m.index), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(merged.messageCount, 8);
  const same = mergeCallDetail(merged, detail(8, 8), 8)!;
  assert.equal(same.messages, merged.messages, 'the same array, so the ladder is not rebuilt');
});

test('drops what the engine rotated out of its per-call ring', () => {
  const held = detail(0, 10);
  const merged = mergeCallDetail(held, { ...detail(10, 12), messagesDropped: 4 }, 10)!;
  assert.deepEqual(merged.messages.map((m) => m.index), [4, 5, 6, 7, 8, 9, 10, 11]);
});

test('an answer that does not continue what is held asks for a full fetch (null)', () => {
  const held = detail(0, 10);
  assert.equal(mergeCallDetail(held, detail(0, 3, 0, 9_999), 10), null, 'another call under the same Call-ID');
  assert.equal(mergeCallDetail(held, detail(0, 3), 10), null, 'fewer messages than held');
  assert.equal(mergeCallDetail(held, { ...detail(0, 12), messages: [msg(3)] }, 10), null, 'an index before the one asked for');
});
