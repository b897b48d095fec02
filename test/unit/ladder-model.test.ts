import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLadder, formatRelMs, type LadderEvent } from '../../renderer/src/ladder/model';

const UAC = '127.0.0.1:5061';
const PROXY = '127.0.0.1:5060';
const UAS = '127.0.0.1:5070';

function ev(index: number, tsUs: number, src: string, dst: string, label: string, retransmission = false): LadderEvent {
  return { index, lane: 'sip', tsUs, src, dst, label, retransmission };
}

/** A proxied INVITE transaction, with one retransmitted INVITE from the UAC. */
const call: LadderEvent[] = [
  ev(0, 1_000_000, UAC, PROXY, 'INVITE'),
  ev(1, 1_000_150, PROXY, UAC, '100 Trying'),
  ev(2, 1_000_300, PROXY, UAS, 'INVITE'),
  ev(3, 1_500_000, UAC, PROXY, 'INVITE', true),
  ev(4, 1_600_250, UAS, PROXY, '180 Ringing'),
  ev(5, 1_600_400, PROXY, UAC, '180 Ringing'),
];

test('returns an empty ladder for no events', () => {
  const m = buildLadder([]);
  assert.deepEqual(m.columns, []);
  assert.deepEqual(m.arrows, []);
  assert.equal(m.startUs, null);
  assert.equal(m.spanUs, 0);
});

test('orders columns by first appearance of each address:port', () => {
  const m = buildLadder(call);
  assert.deepEqual(
    m.columns.map((c) => c.endpoint),
    [UAC, PROXY, UAS],
  );
  assert.deepEqual(
    m.columns.map((c) => c.position),
    [0, 1, 2],
  );
});

test('first appearance counts the source before the destination', () => {
  const m = buildLadder([ev(0, 10, UAS, UAC, 'BYE'), ev(1, 20, UAC, PROXY, 'OPTIONS')]);
  assert.deepEqual(
    m.columns.map((c) => c.endpoint),
    [UAS, UAC, PROXY],
  );
});

test('gives each arrow its from/to columns and direction', () => {
  const m = buildLadder(call);
  assert.deepEqual(
    m.arrows.map((a) => [a.label, a.from, a.to, a.direction]),
    [
      ['INVITE', 0, 1, 'right'],
      ['100 Trying', 1, 0, 'left'],
      ['INVITE', 1, 2, 'right'],
      ['INVITE', 0, 1, 'right'],
      ['180 Ringing', 2, 1, 'left'],
      ['180 Ringing', 1, 0, 'left'],
    ],
  );
});

test('marks a message sent to its own address as a self arrow', () => {
  const m = buildLadder([ev(0, 5, PROXY, PROXY, 'OPTIONS')]);
  assert.equal(m.columns.length, 1);
  assert.equal(m.arrows[0]!.direction, 'self');
  assert.equal(m.arrows[0]!.from, 0);
  assert.equal(m.arrows[0]!.to, 0);
});

test('keeps the retransmission flag of each message', () => {
  const m = buildLadder(call);
  assert.deepEqual(
    m.arrows.map((a) => a.retransmission),
    [false, false, false, true, false, false],
  );
});

test('times arrows relative to the first message, in µs', () => {
  const m = buildLadder(call);
  assert.equal(m.startUs, 1_000_000);
  assert.deepEqual(
    m.arrows.map((a) => a.relUs),
    [0, 150, 300, 500_000, 600_250, 600_400],
  );
  assert.equal(m.spanUs, 600_400);
});

test('sorts by time, keeping capture order for equal timestamps', () => {
  const m = buildLadder([ev(2, 300, PROXY, UAS, 'INVITE'), ev(1, 100, PROXY, UAC, '100 Trying'), ev(0, 100, UAC, PROXY, 'INVITE')]);
  assert.deepEqual(
    m.arrows.map((a) => [a.index, a.row]),
    [
      [0, 0],
      [1, 1],
      [2, 2],
    ],
  );
  assert.deepEqual(
    m.columns.map((c) => c.endpoint),
    [UAC, PROXY, UAS],
  );
});

test('carries the lane of each event', () => {
  const m = buildLadder([{ ...ev(0, 1, UAC, PROXY, 'RTP'), lane: 'rtp' }]);
  assert.equal(m.arrows[0]!.lane, 'rtp');
});

test('formats relative time in ms with µs precision', () => {
  assert.equal(formatRelMs(0), '0.000 ms');
  assert.equal(formatRelMs(150), '0.150 ms');
  assert.equal(formatRelMs(600_400), '600.400 ms');
});
