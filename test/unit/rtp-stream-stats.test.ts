/**
 * RTP packet reading (engine/rtp/rtp-packet.ts) and per-stream figures
 * (engine/rtp/stream-stats.ts) on synthetic packets. The agreement with
 * Wireshark itself is test/integration/rtp-stats-tshark.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rtpKind, rtpMarker, rtpPayloadType, rtpSeq, rtpSsrc, rtpTimestamp } from '../../engine/rtp/rtp-packet';
import { StreamStats, type StreamFigures } from '../../engine/rtp/stream-stats';

interface P {
  seq: number;
  ts: number;
  /** Arrival, ms. */
  at: number;
  ssrc?: number;
  pt?: number;
  marker?: boolean;
}

function rtp(p: P, payload = 160): Buffer {
  const b = Buffer.alloc(12 + payload, 0xd5);
  b[0] = 0x80;
  b[1] = (p.marker ? 0x80 : 0) | (p.pt ?? 0);
  b.writeUInt16BE(p.seq & 0xffff, 2);
  b.writeUInt32BE(p.ts >>> 0, 4);
  b.writeUInt32BE((p.ssrc ?? 0x1234) >>> 0, 8);
  return b;
}

function feed(packets: P[], s = new StreamStats()): StreamFigures {
  for (const p of packets) {
    const b = rtp(p);
    s.onRtp(b, b.length, 1_000_000 + p.at * 1000);
  }
  return s.snapshot();
}

/** n packets of 20 ms PCMU, perfectly spaced. */
const steady = (n: number, seq0 = 100, ts0 = 5000, at0 = 0, ssrc?: number): P[] =>
  Array.from({ length: n }, (_, i) => ({ seq: seq0 + i, ts: ts0 + 160 * i, at: at0 + 20 * i, ssrc }));

const near = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual}, expected ${expected}`);

// --- reading packets ---------------------------------------------------------

test('the field readers give sequence number, payload type, marker and unsigned 32-bit timestamp and SSRC', () => {
  const b = rtp({ seq: 0xfffe, ts: 0xffffffff, at: 0, ssrc: 0x80000001, pt: 101, marker: true });
  assert.equal(rtpKind(b), 'rtp');
  assert.equal(rtpSeq(b), 0xfffe);
  assert.equal(rtpTimestamp(b), 0xffffffff);
  assert.equal(rtpSsrc(b), 0x80000001);
  assert.equal(rtpPayloadType(b), 101);
  assert.equal(rtpMarker(b), true);
  assert.equal(rtpMarker(rtp({ seq: 1, ts: 0, at: 0 })), false);
});

test('garbage: too short, not version 2, or a header (CSRCs, extension, padding) that runs past the datagram', () => {
  const ok = rtp({ seq: 1, ts: 0, at: 0 }, 0);
  assert.equal(rtpKind(ok), 'rtp', 'a bare 12-byte header is RTP');
  assert.equal(rtpKind(ok.subarray(0, 11)), 'garbage', '11 bytes');
  assert.equal(rtpKind(Buffer.from([0x80, 0x00, 0x00])), 'garbage', '3 bytes');

  const v1 = Buffer.from(ok);
  v1[0] = 0x40;
  assert.equal(rtpKind(v1), 'garbage', 'version 1');

  const csrc = Buffer.alloc(12 + 4 * 2);
  csrc[0] = 0x80 | 3; // three CSRCs, room for two
  assert.equal(rtpKind(csrc), 'garbage', 'CSRC count past the end');
  csrc[0] = 0x80 | 2;
  assert.equal(rtpKind(csrc), 'rtp', 'two CSRCs that fit');

  const ext = Buffer.alloc(12 + 4 + 4);
  ext[0] = 0x90; // X
  ext.writeUInt16BE(2, 14); // two words of extension, room for one
  assert.equal(rtpKind(ext), 'garbage', 'extension length past the end');
  ext.writeUInt16BE(1, 14);
  assert.equal(rtpKind(ext), 'rtp', 'an extension that fits');
  assert.equal(rtpKind(ext.subarray(0, 14)), 'garbage', 'extension header itself cut off');

  const pad = Buffer.alloc(12 + 4);
  pad[0] = 0xa0; // P
  pad[15] = 5;
  assert.equal(rtpKind(pad), 'garbage', 'padding count past the payload');
  pad[15] = 0;
  assert.equal(rtpKind(pad), 'garbage', 'padding count 0 (it counts itself)');
  pad[15] = 4;
  assert.equal(rtpKind(pad), 'rtp', 'padding that fits');
});

test('RTCP is told apart by packet type 192..223 and needs 8 bytes and a length field that fits (RFC 5761 §4)', () => {
  const rr = Buffer.alloc(8);
  rr[0] = 0x80;
  rr[1] = 201;
  rr.writeUInt16BE(1, 2); // (1 + 1) × 4 = 8 bytes
  assert.equal(rtpKind(rr), 'rtcp');
  const sr = Buffer.alloc(28);
  sr[0] = 0x80;
  sr[1] = 200;
  sr.writeUInt16BE(6, 2);
  assert.equal(rtpKind(sr), 'rtcp', 'SR, PT 200');
  sr.writeUInt16BE(7, 2);
  assert.equal(rtpKind(sr), 'garbage', 'length field past the end');
  assert.equal(rtpKind(rr.subarray(0, 7)), 'garbage', 'under 8 bytes');
  // PT 72 with the marker is byte 200: RTCP. PT 72 without it is an RTP payload type.
  const rtp72 = rtp({ seq: 1, ts: 0, at: 0, pt: 72 });
  assert.equal(rtpKind(rtp72), 'rtp');
});

test('the length given wins over the buffer size, for a receive buffer reused across datagrams', () => {
  const b = Buffer.alloc(1500);
  rtp({ seq: 7, ts: 0, at: 0 }, 0).copy(b);
  assert.equal(rtpKind(b, 12), 'rtp');
  assert.equal(rtpKind(b, 10), 'garbage');
  assert.equal(rtpKind(b, 1501), 'garbage', 'a length past the buffer');
});

// --- stream figures --------------------------------------------------------------

test('an in-order stream at exactly 20 ms: nothing lost, no sequence errors, jitter 0, max delta 20 ms', () => {
  const f = feed(steady(50));
  assert.equal(f.packets, 50);
  assert.equal(f.bytes, 50 * 172);
  assert.equal(f.expected, 50);
  assert.equal(f.lost, 0);
  assert.equal(f.sequenceErrors, 0);
  assert.equal(f.jitterMs, 0);
  assert.equal(f.maxJitterMs, 0);
  assert.equal(f.meanJitterMs, 0);
  assert.equal(f.maxDeltaMs, 20);
  assert.equal(f.firstSeq, 100);
  assert.equal(f.ssrc, 0x1234);
  assert.equal(f.payloadType, 0);
  assert.equal(f.codec, 'PCMU/8000');
  assert.equal(f.firstUs, 1_000_000);
  assert.equal(f.lastUs, 1_000_000 + 49 * 20_000);
});

test('no packets yet: zero counts and null identities', () => {
  const f = new StreamStats().snapshot();
  assert.equal(f.packets, 0);
  assert.equal(f.expected, 0);
  assert.equal(f.lost, 0);
  assert.equal(f.ssrc, null);
  assert.equal(f.firstSeq, null);
  assert.equal(f.codec, null);
  assert.equal(f.firstUs, null);
});

test('one packet lost: lost 1, one sequence error, and its gap is the max delta', () => {
  const f = feed(steady(20).filter((p) => p.seq !== 110));
  assert.equal(f.packets, 19);
  assert.equal(f.expected, 20);
  assert.equal(f.lost, 1);
  assert.equal(f.sequenceErrors, 1);
  assert.equal(f.maxDeltaMs, 40);
  assert.equal(f.maxJitterMs, 0, 'timestamps and arrivals still agree');
});

test('a swapped pair is not a loss, but counts two sequence errors (the jump ahead and the late one), as Wireshark does', () => {
  const p = steady(10);
  [p[4], p[5]] = [p[5]!, p[4]!];
  const f = feed(p);
  assert.equal(f.lost, 0);
  assert.equal(f.sequenceErrors, 2);
});

test('a duplicate makes lost negative (-1) and is a sequence error', () => {
  const p = steady(10);
  p.splice(5, 0, { ...p[4]!, at: p[4]!.at + 1 });
  const f = feed(p);
  assert.equal(f.packets, 11);
  assert.equal(f.expected, 10);
  assert.equal(f.lost, -1);
  assert.equal(f.sequenceErrors, 1);
});

test('a late packet arriving last lowers expected: Wireshark counts up to the last sequence number, not the highest', () => {
  const p = steady(6);
  [p[4], p[5]] = [p[5]!, p[4]!];
  const f = feed(p);
  assert.equal(f.expected, 5);
  assert.equal(f.lost, -1);
});

test('the 16-bit sequence number wraps without a loss being counted, and a loss across the wrap is still one (RFC 3550 A.1)', () => {
  const wrap = steady(10, 65530);
  assert.equal(wrap[6]!.seq & 0xffff, 0);
  const f = feed(wrap);
  assert.equal(f.expected, 10);
  assert.equal(f.lost, 0);
  assert.equal(f.sequenceErrors, 0);
  const lostZero = feed(wrap.filter((p) => (p.seq & 0xffff) !== 0));
  assert.equal(lostZero.expected, 10);
  assert.equal(lostZero.lost, 1);
  assert.equal(lostZero.sequenceErrors, 1);
  // 65535 arriving after 0: a reorder, not a second wrap.
  const swapped = [...wrap];
  [swapped[5], swapped[6]] = [swapped[6]!, swapped[5]!];
  const g = feed(swapped);
  assert.equal(g.expected, 10);
  assert.equal(g.lost, 0);
});

test('jitter follows RFC 3550 §6.4.1 for a known arrival pattern: J += (|D| − J)/16 in timestamp units, shown in ms', () => {
  const arrivalsMs = [0, 20, 45, 60, 78, 100, 119];
  const packets = arrivalsMs.map((at, i) => ({ seq: 1 + i, ts: 8000 + 160 * i, at }));
  // By hand, in timestamp units (8 per ms at 8000 Hz): transit = arrival × 8 − timestamp.
  let j = 0;
  let max = 0;
  let meanSum = 0;
  for (let i = 1; i < packets.length; i++) {
    const transit = (k: number) => packets[k]!.at * 8 - packets[k]!.ts;
    const d = transit(i) - transit(i - 1);
    j += (Math.abs(d) - j) / 16;
    max = Math.max(max, j);
    meanSum += j;
  }
  const f = feed(packets);
  near(f.jitterMs, j / 8, 'jitter');
  near(f.maxJitterMs, max / 8, 'max jitter');
  near(f.meanJitterMs, meanSum / (packets.length - 1) / 8, 'mean jitter');
  assert.ok(f.jitterMs > 0.5, `a pattern that gives jitter: ${f.jitterMs}`);
  assert.equal(f.maxDeltaMs, 25);
});

test('the jitter uses the payload type\'s clock: a dynamic type from the SDP (opus/48000), and 8000 when nothing names it', () => {
  const opus = Array.from({ length: 10 }, (_, i) => ({ seq: i, ts: 960 * i, at: 20 * i, pt: 111 }));
  const s = new StreamStats();
  s.setClockRates(new Map([[111, { name: 'opus', rate: 48000 }]]));
  const f = feed(opus, s);
  assert.equal(f.maxJitterMs, 0);
  assert.equal(f.codec, 'opus/48000');
  assert.equal(s.clockRateOf(111), 48000);
  const unnamed = feed(opus);
  // Read at 8000 Hz, each 960-tick step is 120 ms against 20 ms arrivals: |D| = 100 ms nine times.
  near(unnamed.maxJitterMs, 100 * (1 - (15 / 16) ** 9), 'jitter at the assumed 8000 Hz');
  assert.equal(unnamed.codec, null);
  assert.equal(new StreamStats().clockRateOf(111), 8000);
});

test('clock rates of static payload types follow RFC 3551, G722 included at 8000', () => {
  const s = new StreamStats();
  assert.deepEqual([0, 3, 4, 8, 9, 13, 18].map((pt) => s.clockRateOf(pt)), [8000, 8000, 8000, 8000, 8000, 8000, 8000]);
  assert.equal(s.clockRateOf(10), 44100);
  assert.equal(s.clockRateOf(34), 90000);
  s.setClockRates(new Map([[9, { name: 'G722', rate: 8000 }], [96, { name: 'AMR-WB', rate: 16000 }], [200, { name: 'bad', rate: 8000 }], [97, { name: 'bad', rate: 0 }]]));
  assert.equal(s.clockRateOf(96), 16000);
  assert.equal(s.clockRateOf(97), 8000, 'a rate of 0 is ignored');
});

test('silence suppression: the marker packet after a pause does not make the pause the max delta or a max jitter', () => {
  const talk = steady(10, 1, 0, 0);
  // One second of silence, nothing sent; the talkspurt starts with the marker and the timestamp moved on by the pause.
  const resumed = steady(10, 11, 160 * 60, 1200).map((p, i) => ({ ...p, marker: i === 0 }));
  const f = feed([...talk, ...resumed]);
  assert.equal(f.maxDeltaMs, 20);
  assert.equal(f.maxJitterMs, 0);
  assert.equal(f.lost, 0);
});

test('a marker packet arriving late is left out of max delta and max jitter, though the running jitter moves (Wireshark)', () => {
  const p = steady(6);
  p[3] = { ...p[3]!, marker: true, at: p[3]!.at + 30 };
  const s = new StreamStats();
  feed(p.slice(0, 4), s);
  const atMarker = s.snapshot();
  near(atMarker.jitterMs, 30 / 16, 'J after the marker packet');
  assert.equal(atMarker.maxJitterMs, 0, 'not its own max');
  assert.equal(atMarker.maxDeltaMs, 20, 'its 50 ms gap is not the max delta');
});

test('comfort noise (PT 13) and the packet after it are left out of max delta and max jitter', () => {
  const p: P[] = [...steady(5, 1, 0, 0), { seq: 6, ts: 800, at: 100, pt: 13 }, ...steady(5, 7, 800 + 160 * 25, 600)];
  const f = feed(p);
  assert.equal(f.maxDeltaMs, 20, 'the 500 ms of CN before speech resumes');
  assert.equal(f.maxJitterMs, 0);
  assert.equal(f.lost, 0);
  assert.equal(f.codec, 'PCMU/8000');
});

test('telephone-event packets (named by the SDP) leave the running jitter where it was', () => {
  const s = new StreamStats();
  s.setClockRates(new Map([[101, { name: 'telephone-event', rate: 8000 }]]));
  const before = [{ seq: 1, ts: 0, at: 0 }, { seq: 2, ts: 160, at: 20 }, { seq: 3, ts: 320, at: 45 }];
  const j = feed(before, s).jitterMs;
  assert.ok(j > 0);
  // An event: every packet carries the event's start timestamp, sent every 50 ms.
  const event = [4, 5, 6].map((seq, i) => ({ seq, ts: 480, at: 60 + 50 * i, pt: 101, marker: i === 0 }));
  const f = feed(event, s);
  assert.equal(f.jitterMs, j);
  assert.equal(f.maxJitterMs, feed([], s).maxJitterMs);
  assert.equal(f.codec, 'telephone-event/8000');
});

test('an SSRC change is counted and starts new baselines: no loss for the new numbering, jitter from 0, totals run on', () => {
  const a = steady(10, 100, 5000, 0, 0xaaaa);
  a[5] = { ...a[5]!, at: a[5]!.at + 8 }; // some jitter on the first source
  const b = steady(10, 40000, 900000, 200, 0xbbbb);
  const s = new StreamStats();
  const fa = feed(a, s);
  const f = feed(b, s);
  assert.equal(f.ssrcChanges, 1);
  assert.equal(f.ssrc, 0xbbbb);
  assert.equal(f.firstSeq, 40000);
  assert.equal(f.packets, 20);
  assert.equal(f.expected, 20);
  assert.equal(f.lost, 0);
  assert.equal(f.sequenceErrors, 0);
  assert.equal(f.jitterMs, 0, 'the new source is perfectly spaced');
  assert.equal(f.maxJitterMs, fa.maxJitterMs, 'the first source\'s max stays');
  assert.equal(f.maxDeltaMs, 28);
  assert.equal(f.firstUs, 1_000_000);
});

test('a timestamp wrap past 2^32 does not disturb the jitter', () => {
  const f = feed(steady(10, 1, 0xffffffff - 480));
  assert.equal(f.maxJitterMs, 0);
  assert.equal(f.maxDeltaMs, 20);
});
