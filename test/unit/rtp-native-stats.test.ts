/**
 * The native packet path (engine/rtp/native/relay.c) computes each stream's
 * figures itself; they must be the JS StreamStats' figures (which
 * rtp-stats-tshark.test.ts holds to Wireshark's), field for field, to the
 * last bit of every float, for any packets: losses, reordering, duplicates,
 * wraps, SSRC changes, markers, comfort noise, telephone events, garbage,
 * payload types the SDP named. Also: the addon must be built here; a
 * machine that cannot build it runs the relay on Node's dgram, and that
 * must not pass unnoticed in CI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadNativeRelay, nativeRelayPath, type NativeRelayAddon } from '../../engine/rtp/native/addon';
import { sideFigures } from '../../engine/rtp/shard/native-path';
import { rtpKind } from '../../engine/rtp/rtp-packet';
import { PayloadTable, StreamStats } from '../../engine/rtp/stream-stats';
import { rtpPacket } from '../helpers/g711-rtp';

const loaded = loadNativeRelay();

test('the native relay is built and loads (npm ci builds it with the system C compiler)', () => {
  assert.ok('addon' in loaded, `${nativeRelayPath()}: ${'error' in loaded ? loaded.error : ''}`);
});

const addon = (): NativeRelayAddon => {
  if (!('addon' in loaded)) throw new Error(loaded.error);
  return loaded.addon;
};

const TABLE = new PayloadTable(
  new Map([
    [101, { name: 'telephone-event', rate: 8000 }],
    [96, { name: 'L16', rate: 44100 }],
    [97, { name: 'opus', rate: 48000 }],
  ]),
);

interface Pkt {
  seq: number;
  ts: number;
  ssrc: number;
  pt: number;
  marker: boolean;
  len: number;
  atUs: number;
  garbage: boolean;
}

/** A garbage packet is an RTP packet with version 1 (the relay drops it before the figures). */
function datagram(p: Pkt): Buffer {
  const b = rtpPacket({ seq: p.seq, ts: p.ts, ssrc: p.ssrc, pt: p.pt, marker: p.marker, payload: new Uint8Array(p.len).fill(0xd5) });
  if (p.garbage) b[0] = 0x40;
  return b;
}

function both(pkts: Pkt[]) {
  const datagrams = pkts.map(datagram);
  const js = new StreamStats(TABLE);
  datagrams.forEach((d, i) => {
    if (rtpKind(d) === 'rtp') js.onRtp(d, d.length, pkts[i]!.atUs);
  });
  const native = sideFigures(addon().analyse(datagrams, Float64Array.from(pkts.map((p) => p.atUs)), TABLE.divisors, TABLE.events), TABLE);
  const { latched, rtcpPackets, ...figures } = native;
  assert.equal(latched, null);
  assert.equal(rtcpPackets, 0);
  return { js: js.snapshot(), native: figures };
}

/** A stream as a sender and a network make it: 20 ms steps, with losses, reorders, duplicates, jumps, SSRC changes and odd packets. */
const stream = fc
  .record({
    seq0: fc.integer({ min: 0, max: 0xffff }),
    ts0: fc.integer({ min: 0, max: 0xffffffff }),
    ssrc: fc.integer({ min: 0, max: 0xffffffff }),
    t0: fc.double({ min: 0, max: 1e12, noNaN: true }),
    steps: fc.array(
      fc.record({
        kind: fc.constantFrom('next', 'next', 'next', 'next', 'lose', 'dup', 'back', 'jump', 'ssrc', 'tsback'),
        pt: fc.constantFrom(0, 0, 0, 8, 13, 19, 101, 96, 97, 120),
        marker: fc.boolean(),
        len: fc.integer({ min: 0, max: 200 }),
        jitterUs: fc.double({ min: -15_000, max: 40_000, noNaN: true }),
        jump: fc.integer({ min: 2, max: 40_000 }),
        garbage: fc.boolean(),
      }),
      { minLength: 1, maxLength: 120 },
    ),
  })
  .map(({ seq0, ts0, ssrc: ssrc0, t0, steps }) => {
    const out: Pkt[] = [];
    let seq = seq0;
    let ts = ts0;
    let ssrc = ssrc0;
    let at = t0;
    for (const s of steps) {
      at += Math.max(1, 20_000 + s.jitterUs);
      if (s.kind === 'lose') {
        seq++;
        ts += 160;
        continue;
      }
      if (s.kind === 'jump') seq += s.jump;
      if (s.kind === 'back') seq -= 2;
      if (s.kind === 'ssrc') ssrc = (ssrc + 0x1234567) >>> 0;
      if (s.kind === 'tsback') ts -= 0x90000000;
      if (s.kind !== 'dup') {
        seq++;
        ts += 160;
      }
      out.push({ seq, ts, ssrc, pt: s.pt, marker: s.marker, len: s.len, atUs: at, garbage: s.garbage && s.kind === 'next' && s.len % 7 === 0 });
    }
    return out;
  });

test('for any packets, the native figures are the JS StreamStats figures, bit for bit', () => {
  fc.assert(
    fc.property(stream, (pkts) => {
      const { js, native } = both(pkts);
      assert.deepStrictEqual(native, js);
    }),
    { numRuns: 400 },
  );
});

test('a stream with a loss, a reorder, a duplicate, a wrap, a marker, CN and DTMF: the figures Wireshark would show, from both', () => {
  const at = (i: number, jitterUs = 0) => 1_000_000 + i * 20_000 + jitterUs;
  const p = (seq: number, i: number, over: Partial<Pkt> = {}): Pkt => ({ seq, ts: 1000 + i * 160, ssrc: 0xabc, pt: 0, marker: false, len: 160, atUs: at(i), garbage: false, ...over });
  const pkts = [
    p(65533, 0, { marker: true }),
    p(65534, 1),
    p(0, 3, { atUs: at(3, 1_500) }), // 65535 lost, the wrap
    p(2, 5),
    p(1, 4, { atUs: at(5, 900) }), // late
    p(2, 5, { atUs: at(5, 2_000) }), // duplicate
    p(3, 6, { pt: 13, len: 1 }),
    p(4, 7),
    p(5, 8, { pt: 101, len: 4, ts: 1000 + 7 * 160 }),
    p(6, 9, { atUs: at(9, 7_000) }),
  ];
  const { js, native } = both(pkts);
  assert.deepStrictEqual(native, js);
  assert.equal(native.packets, 10);
  assert.equal(native.expected, 10, 'from 65533 through the wrap to 6');
  assert.equal(native.lost, 0, 'the one loss is made up by the duplicate, as Wireshark counts');
  assert.equal(native.sequenceErrors, 4, 'two jumps ahead (the loss, then 2 before 1), the late 1, the duplicate 2');
  assert.equal(native.codec, 'PCMU/8000');
  assert.ok(native.maxJitterMs > 0);
});
