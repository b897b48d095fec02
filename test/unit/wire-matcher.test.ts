import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SipCaptureEvent } from '../../engine/events';
import { WireMatcher, wireKey, type MatcherOptions, type WireCopy } from '../../engine/wire/matcher';

const OPTS: MatcherOptions = { engineWaitUs: 500_000, wireWaitUs: 5_000_000, maxPending: 100 };
const UAC = '127.0.0.1:5091';
const US = '127.0.0.1:5060';

function bytes(label: string, n = 1): Buffer {
  return Buffer.from(`${label} sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK${n}\r\nCall-ID: c${n}\r\nCSeq: 1 ${label}\r\n\r\n`);
}

function engineEv(raw: Buffer, tsUs: number, direction: 'in' | 'out' = 'in'): SipCaptureEvent {
  return {
    kind: 'sip', tsUs, callId: 'c1', direction, transport: 'udp',
    src: direction === 'in' ? UAC : US, dst: direction === 'in' ? US : UAC,
    cseqSeq: 1, cseqMethod: 'INVITE', method: 'INVITE', status: null, label: 'INVITE',
    branch: 'z9hG4bK1', size: raw.length, raw, retransmission: false,
  };
}

function wireCopy(raw: Buffer, tsUs: number, direction: 'in' | 'out' = 'in'): WireCopy {
  return { tsUs, transport: 'udp', src: direction === 'in' ? UAC : US, dst: direction === 'in' ? US : UAC, direction, payload: raw, length: raw.length };
}

function world(opts = OPTS) {
  const released: SipCaptureEvent[] = [];
  const wireOnly: { copy: WireCopy; retransmission: boolean }[] = [];
  const dropped: string[] = [];
  const m = new WireMatcher(wireKey, {
    release: (ev) => released.push(ev),
    wireOnly: (copy, retransmission) => wireOnly.push({ copy, retransmission }),
    dropped: (side) => dropped.push(side),
  }, opts);
  return { m, released, wireOnly, dropped };
}

test('an incoming message seen on the wire first is released with the wire time and the engine time beside it', () => {
  const w = world();
  const raw = bytes('INVITE');
  w.m.wire(wireCopy(raw, 1_000), 1_010);
  assert.equal(w.released.length, 0);
  w.m.engine(engineEv(raw, 1_250), 1_300);
  assert.equal(w.released.length, 1);
  assert.deepEqual([w.released[0]!.tsUs, w.released[0]!.engineTsUs, w.released[0]!.seen], [1_000, 1_250, 'both']);
  assert.equal(w.m.counts.paired, 1);
});

test('an outgoing message the engine reports before its wire copy waits for it, then is released paired', () => {
  const w = world();
  const raw = bytes('SIP/2.0 100 Trying');
  w.m.engine(engineEv(raw, 2_005, 'out'), 2_100);
  assert.equal(w.released.length, 0, 'held until its wire copy arrives');
  w.m.wire(wireCopy(raw, 2_000, 'out'), 2_150);
  assert.deepEqual(w.released.map((e) => [e.tsUs, e.engineTsUs, e.seen]), [[2_000, 2_005, 'both']]);
});

test('retransmissions (the same bytes twice) pair first with first, second with second', () => {
  const w = world();
  const raw = bytes('INVITE');
  w.m.wire(wireCopy(raw, 1_000), 1_000);
  w.m.wire(wireCopy(raw, 501_000), 501_000);
  w.m.engine(engineEv(raw, 1_100), 501_050);
  w.m.engine({ ...engineEv(raw, 501_200), retransmission: true }, 501_300);
  assert.deepEqual(w.released.map((e) => [e.tsUs, e.engineTsUs, e.retransmission]), [[1_000, 1_100, false], [501_000, 501_200, true]]);
});

test('engine events leave in engine order: one still waiting holds back a later one that is already paired', () => {
  const w = world();
  const a = bytes('INVITE', 1);
  const b = bytes('INVITE', 2);
  w.m.engine(engineEv(a, 10), 10);
  w.m.wire(wireCopy(b, 15), 16);
  w.m.engine(engineEv(b, 20), 20);
  assert.equal(w.released.length, 0, 'b is paired but a is ahead of it');
  w.m.wire(wireCopy(a, 5), 30);
  assert.deepEqual(w.released.map((e) => e.engineTsUs), [10, 20]);
});

test('an engine event with no wire copy is released as engine-only once its wait runs out', () => {
  const w = world();
  w.m.engine(engineEv(bytes('INVITE'), 1_000), 1_000);
  w.m.tick(1_000 + OPTS.engineWaitUs - 1);
  assert.equal(w.released.length, 0);
  w.m.tick(1_000 + OPTS.engineWaitUs);
  assert.deepEqual(w.released.map((e) => [e.tsUs, e.engineTsUs, e.seen]), [[1_000, undefined, 'engine']]);
  assert.equal(w.m.counts.engineOnly, 1);
});

test('a wire copy the engine never reads (an INVITE the kernel dropped) is kept as wire-only after its wait, a repeat marked as a retransmission', () => {
  const w = world();
  const raw = bytes('INVITE');
  w.m.wire(wireCopy(raw, 100), 100);
  w.m.tick(100 + OPTS.wireWaitUs - 1);
  assert.equal(w.wireOnly.length, 0, 'the engine may still be stuck: keep waiting');
  w.m.tick(100 + OPTS.wireWaitUs);
  w.m.wire(wireCopy(raw, 500_100), 500_100);
  w.m.tick(500_100 + OPTS.wireWaitUs);
  assert.deepEqual(w.wireOnly.map((x) => [x.copy.tsUs, x.retransmission]), [[100, false], [500_100, true]]);
  assert.equal(w.m.counts.wireOnly, 2);
  assert.ok(w.wireOnly[0]!.copy.payload.equals(raw));
});

test('a late engine read still pairs within the wire wait: a worker stuck for seconds is the incident, not a mismatch', () => {
  const w = world();
  const raw = bytes('INVITE');
  w.m.wire(wireCopy(raw, 0), 0);
  w.m.tick(3_000_000);
  w.m.engine(engineEv(raw, 3_000_000), 3_000_000);
  assert.deepEqual(w.released.map((e) => [e.seen, e.engineTsUs! - e.tsUs]), [['both', 3_000_000]]);
  w.m.tick(10_000_000);
  assert.equal(w.wireOnly.length, 0, 'the claimed copy is not reported again');
});

test('the waiting lists are bounded: past them the oldest engine event leaves unpaired and the oldest wire copy is dropped, both counted', () => {
  const w = world({ ...OPTS, maxPending: 3 });
  for (let i = 0; i < 5; i++) w.m.engine(engineEv(bytes('INVITE', i), i), i);
  assert.equal(w.released.length, 2);
  assert.ok(w.released.every((e) => e.seen === 'engine'));
  for (let i = 10; i < 15; i++) w.m.wire(wireCopy(bytes('BYE', i), i), i);
  assert.deepEqual(w.dropped, ['engine', 'engine', 'wire', 'wire']);
  assert.equal(w.m.counts.droppedWire, 2);
});

test('different hops never pair: the same bytes in and forwarded out are two messages', () => {
  const w = world();
  const raw = bytes('INVITE');
  w.m.wire(wireCopy(raw, 1_000, 'out'), 1_000);
  w.m.engine(engineEv(raw, 900, 'in'), 1_001);
  assert.equal(w.released.length, 0);
  w.m.flushAll();
  assert.deepEqual(w.released.map((e) => e.seen), ['engine']);
  assert.equal(w.wireOnly.length, 1);
});

test('a datagram the snaplen cut pairs by its head and full length; another message with the same head but another length does not', () => {
  const w = world();
  const big = Buffer.concat([bytes('INVITE', 7), Buffer.alloc(20_000, 0x61)]);
  const cut = { ...wireCopy(big.subarray(0, 16_000), 1_000), length: big.length };
  w.m.wire(cut, 1_000);
  w.m.engine(engineEv(Buffer.concat([big, Buffer.from('x')]), 1_100), 1_100);
  assert.equal(w.released.length, 0, 'one byte longer: not the same message');
  w.m.engine(engineEv(big, 1_200), 1_200);
  w.m.tick(1_200 + OPTS.engineWaitUs);
  assert.deepEqual(w.released.map((e) => [e.size, e.seen, e.tsUs]), [[big.length + 1, 'engine', 1_100], [big.length, 'both', 1_000]]);
});
