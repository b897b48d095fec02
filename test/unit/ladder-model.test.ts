import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLadder, columnTitle, formatMs, formatRelMs, type LadderEvent } from '../../engine/ladder/model';

const UAC = '127.0.0.1:5061';
const PROXY = '127.0.0.1:5060';
const UAS = '127.0.0.1:5070';

function ev(index: number, tsUs: number, src: string, dst: string, label: string, retransmission = false): LadderEvent {
  return { index, lane: 'sip', tsUs, src, dst, label, owner: `sip:1 ${label}`, retransmission };
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
  const m = buildLadder([{ ...ev(0, 1, UAC, PROXY, 'answered delivered'), lane: 'publish' }]);
  assert.equal(m.arrows[0]!.lane, 'publish');
});

test('formats relative time in ms with µs precision', () => {
  assert.equal(formatRelMs(0), '0.000 ms');
  assert.equal(formatRelMs(150), '0.150 ms');
  assert.equal(formatRelMs(600_400), '600.400 ms');
});

// ---- Every lane, one model (sngrep's call_flow_arrow: typed arrows with an owner, a stream is one arrow) ----

const RTP_A = '127.0.0.1:40000';
const RTP_B = '127.0.0.1:40002';
const REDIS = '127.0.0.1:6379';
const RECORDER = 'record:/tmp/rec';

type MediaPhase = 'opened' | 'stats' | 'closed';
function media(index: number, tsUs: number, phase: MediaPhase, streamId: string, packets: number, lost: number, jitterUs: number, sdpIndex: number | null = 0): LadderEvent {
  return { index, lane: 'media', tsUs, src: RTP_A, dst: RTP_B, label: `RTP PCMU/8000 ${phase} ${packets}`, owner: `stream:${streamId}`, phase, streamId, packets, lost, jitterUs, sdpIndex };
}

/** A call with one SIP transaction, a stream with 5 stats reports, a publish, a recording and a note. */
const allLanes: LadderEvent[] = [
  { ...ev(0, 1_000_000, UAC, PROXY, 'INVITE'), owner: 'sip:1 INVITE' },
  media(1, 1_000_100, 'opened', 's1', 0, 0, 0),
  { index: 2, lane: 'publish', tsUs: 1_000_200, src: PROXY, dst: REDIS, label: 'new queued', owner: 'publish:new', phase: 'queued' },
  ...[1, 2, 3, 4, 5].map((k) => media(2 + k, 1_000_000 + k * 1_000_000, 'stats', 's1', k * 50, k, k * 100)),
  { index: 8, lane: 'record', tsUs: 1_000_300, src: RTP_B, dst: RECORDER, label: 'record started', owner: 'record', phase: 'started', packets: 0 },
  { index: 9, lane: 'note', tsUs: 7_000_000, src: PROXY, dst: PROXY, label: 'Timer B fired', owner: 'note' },
  media(10, 7_500_000, 'closed', 's1', 260, 5, 520),
];

test('draws every lane in one time-ordered ladder, each arrow with its lane and owner', () => {
  const m = buildLadder(allLanes);
  assert.deepEqual(
    m.arrows.map((a) => [a.index, a.lane, a.owner]),
    [
      [0, 'sip', 'sip:1 INVITE'],
      [1, 'media', 'stream:s1'],
      [2, 'publish', 'publish:new'],
      [8, 'record', 'record'],
      [9, 'note', 'note'],
    ],
  );
  assert.deepEqual(
    m.arrows.map((a) => a.row),
    [0, 1, 2, 3, 4],
  );
  assert.deepEqual(
    m.columns.map((c) => c.endpoint),
    [UAC, PROXY, RTP_A, RTP_B, REDIS, RECORDER],
  );
  assert.equal(m.spanUs, 6_500_000, 'the span reaches the last folded stream report');
});

test('a stream with 5 stats reports is one arrow, at its first entry, with its last figures', () => {
  const withoutClose = allLanes.filter((e) => e.index !== 10);
  const m = buildLadder(withoutClose);
  const streams = m.arrows.filter((a) => a.lane === 'media');
  assert.equal(streams.length, 1);
  const s = streams[0]!;
  assert.equal(s.index, 1, 'placed at the opened entry');
  assert.equal(s.tsUs, 1_000_100);
  assert.deepEqual(s.stream, { streamId: 's1', phase: 'stats', packets: 250, lost: 5, jitterUs: 500, reports: 6, lastIndex: 7, lastTsUs: 6_000_000 });
  assert.equal(s.label, 'RTP PCMU/8000 stats 250', 'the label of the latest report');
  assert.equal(s.direction, 'right');
});

test('a closed stream keeps its closing figures', () => {
  const s = buildLadder(allLanes).arrows.find((a) => a.lane === 'media')!;
  assert.equal(s.stream!.phase, 'closed');
  assert.equal(s.stream!.packets, 260);
  assert.equal(s.stream!.reports, 7);
  assert.equal(s.stream!.lastIndex, 10);
});

test('two streams are two arrows, whatever order their reports interleave in', () => {
  const m = buildLadder([media(0, 10, 'opened', 'a', 0, 0, 0), media(1, 20, 'opened', 'b', 0, 0, 0), media(2, 30, 'stats', 'a', 5, 0, 0), media(3, 40, 'stats', 'b', 7, 0, 0)]);
  assert.deepEqual(
    m.arrows.map((a) => [a.index, a.stream?.streamId, a.stream?.packets]),
    [
      [0, 'a', 5],
      [1, 'b', 7],
    ],
  );
});

test('a stream points back to the SIP arrow whose SDP set it up (sdpIndex and sdpRow)', () => {
  // The stream's SDP came with the 200 OK (index 3), captured after an earlier-timed entry.
  const m = buildLadder([
    { ...ev(0, 100, UAC, PROXY, 'INVITE'), owner: 'sip:1 INVITE' },
    { ...ev(1, 200, PROXY, UAS, 'INVITE'), owner: 'sip:1 INVITE' },
    media(2, 600, 'opened', 's1', 0, 0, 0, 3),
    { ...ev(3, 500, UAS, PROXY, '200 OK'), owner: 'sip:1 INVITE' },
  ]);
  const s = m.arrows.find((a) => a.lane === 'media')!;
  assert.equal(s.sdpIndex, 3);
  assert.equal(s.sdpRow, 2);
  assert.equal(m.arrows[s.sdpRow!]!.label, '200 OK');
  assert.equal(m.arrows[0]!.sdpIndex, null, 'a SIP arrow points nowhere');
  const orphan = buildLadder([media(0, 1, 'opened', 's1', 0, 0, 0, 42)]).arrows[0]!;
  assert.equal(orphan.sdpIndex, 42);
  assert.equal(orphan.sdpRow, null, 'the SDP entry has rotated out of the ladder');
});

test('a note is a self arrow on the endpoint that wrote it, whatever its dst says', () => {
  const m = buildLadder([{ index: 0, lane: 'note', tsUs: 1, src: PROXY, dst: UAS, label: 'session closed', owner: 'note' }]);
  assert.equal(m.columns.length, 1);
  assert.equal(m.arrows[0]!.direction, 'self');
});

test('orders by timestamp, not capture order: a received 200 at +119 ms is drawn before a forwarded 180 at +332 ms captured first', () => {
  const m = buildLadder([
    ev(0, 1_000_000, UAC, PROXY, 'INVITE'),
    ev(1, 1_000_300, PROXY, UAS, 'INVITE'),
    ev(2, 1_332_000, PROXY, UAC, '180 Ringing'), // forwarded, captured first
    ev(3, 1_119_000, UAS, PROXY, '200 OK'), // received earlier, captured later
    ev(4, 1_119_000, PROXY, UAC, '200 OK'),
  ]);
  assert.deepEqual(
    m.arrows.map((a) => [a.row, a.index, a.label, formatMs(a.relUs)]),
    [
      [0, 0, 'INVITE', '0.000'],
      [1, 1, 'INVITE', '0.300'],
      [2, 3, '200 OK', '119.000'],
      [3, 4, '200 OK', '119.000'],
      [4, 2, '180 Ringing', '332.000'],
    ],
  );
});

test('names columns from columnNames, endpoint → name, and titles them "name (endpoint)"', () => {
  const m = buildLadder(call, { columnNames: { [UAC]: 'UAC', [UAS]: 'UAS', '10.0.0.1:5060': 'unused' } });
  assert.deepEqual(
    m.columns.map((c) => c.name),
    ['UAC', null, 'UAS'],
  );
  assert.deepEqual(m.columns.map(columnTitle), [`UAC (${UAC})`, PROXY, `UAS (${UAS})`]);
  assert.equal(buildLadder(call, { columnNames: { toString: 'x' } as Record<string, string> }).columns[0]!.name, null, 'no prototype names');
});

test('the contract\'s LadderEntry is ladder input as is', () => {
  // Compile-time: every lane's entry fits LadderEvent.
  const entries: import('../../app/contract').LadderEntry[] = [];
  const m = buildLadder(entries);
  assert.equal(m.arrows.length, 0);
});

test('formats µs as ms with µs precision, one formatter', () => {
  assert.equal(formatMs(0), '0.000');
  assert.equal(formatMs(12_345), '12.345');
  assert.equal(formatMs(332_000), '332.000');
});
