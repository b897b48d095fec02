/**
 * The recorder's jitter buffer (engine/record/playout.ts): RTP in arrival
 * order in, G.711 decoded to PCM in sequence order out, on a timeline that
 * keeps the sender's time through loss, reordering, wraps, SSRC changes and
 * payloads it does not decode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PCMA_TO_LINEAR, PCMU_TO_LINEAR } from '../../engine/record/g711';
import { Playout, type PlayoutOptions } from '../../engine/record/playout';
import { rng } from '../helpers/rng';

interface Pkt {
  seq: number;
  ts: number;
  ssrc?: number;
  pt?: number;
  marker?: boolean;
  payload: Uint8Array;
  csrcs?: number;
  /** Header extension length in 32-bit words. */
  extWords?: number;
  padding?: number;
}

function rtp(p: Pkt): Buffer {
  const csrcs = p.csrcs ?? 0;
  const ext = p.extWords === undefined ? 0 : 4 + 4 * p.extWords;
  const pad = p.padding ?? 0;
  const head = 12 + 4 * csrcs + ext;
  const b = Buffer.alloc(head + p.payload.length + pad, 0xee);
  b[0] = 0x80 | (pad > 0 ? 0x20 : 0) | (p.extWords !== undefined ? 0x10 : 0) | csrcs;
  b[1] = (p.marker ? 0x80 : 0) | (p.pt ?? 0);
  b.writeUInt16BE(p.seq & 0xffff, 2);
  b.writeUInt32BE(p.ts >>> 0, 4);
  b.writeUInt32BE((p.ssrc ?? 0x1234abcd) >>> 0, 8);
  if (p.extWords !== undefined) {
    const at = 12 + 4 * csrcs;
    b.writeUInt16BE(0xbede, at);
    b.writeUInt16BE(p.extWords, at + 2);
  }
  b.set(p.payload, head);
  if (pad > 0) b[b.length - 1] = pad;
  return b;
}

/** 160 µ-law bytes that decode to no zero sample (0xFF and 0x7F are µ-law's zeros), different per packet. */
function voice(n: number, bytes = 160): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, i) => 0x80 + ((n * 7 + i) % 0x7f));
}

/** A 20 ms G.711 stream: packet i has sequence seq0 + i and timestamp ts0 + 160 i. */
function stream(count: number, o: { seq0?: number; ts0?: number; ssrc?: number; pt?: number; from?: number } = {}): Pkt[] {
  const from = o.from ?? 0;
  return Array.from({ length: count }, (_, i) => ({
    seq: ((o.seq0 ?? 1000) + i) & 0xffff,
    ts: ((o.ts0 ?? 50_000) + 160 * i) >>> 0,
    ssrc: o.ssrc,
    pt: o.pt ?? 0,
    payload: voice(from + i),
  }));
}

function decodeAll(pkts: Pkt[], table = PCMU_TO_LINEAR): number[] {
  return pkts.flatMap((p) => Array.from(p.payload, (c) => table[c]!));
}

const zeros = (n: number): number[] => Array.from({ length: n }, () => 0);

/** Runs packets through a playout and flushes; checks the chunks are contiguous on the timeline. */
function play(pkts: (Pkt | Buffer)[], options?: PlayoutOptions) {
  const chunks: { position: number; length: number }[] = [];
  const pcm: number[] = [];
  const p = new Playout((samples, position) => {
    assert.equal(position, pcm.length, 'each chunk starts where the previous one ended');
    chunks.push({ position, length: samples.length });
    for (const s of samples) pcm.push(s);
  }, options);
  for (const x of pkts) p.push(Buffer.isBuffer(x) ? x : rtp(x));
  p.flush();
  const figures = p.snapshot();
  assert.equal(figures.samples, pcm.length);
  return { pcm, chunks, figures };
}

test('an in-order stream comes out as its decoded payload, in chunks of the configured size', () => {
  const pkts = stream(12);
  const { pcm, chunks, figures } = play(pkts, { chunkSamples: 800 });
  assert.deepEqual(pcm, decodeAll(pkts));
  assert.deepEqual(
    chunks.map((c) => c.length),
    [800, 800, 320],
  );
  assert.equal(figures.packets, 12);
  assert.equal(figures.decoded, 12);
  assert.equal(figures.lostPackets, 0);
  assert.equal(figures.filledSamples, 0);
});

test('A-law, and whatever dynamic payload type the SDP maps to PCMU or PCMA, are decoded', () => {
  const alaw = stream(3, { pt: 8 });
  assert.deepEqual(play(alaw).pcm, decodeAll(alaw, PCMA_TO_LINEAR));
  const dyn = stream(3, { pt: 96 });
  const mapped = play(dyn, { payloads: new Map([[96, { name: 'pcma', rate: 8000 }]]) });
  assert.deepEqual(mapped.pcm, decodeAll(dyn, PCMA_TO_LINEAR));
  // Payload type 0 renamed by the SDP is no longer µ-law.
  const renamed = play(stream(3), { payloads: new Map([[0, { name: 'G729', rate: 8000 }]]) });
  assert.equal(renamed.figures.decoded, 0);
  assert.deepEqual(renamed.figures.unknownPayloadTypes, [{ pt: 0, codec: 'G729/8000' }]);
});

test('CSRCs, a header extension and padding are not decoded as audio', () => {
  const p: Pkt = { seq: 1, ts: 0, payload: voice(0), csrcs: 2, extWords: 3, padding: 4 };
  assert.deepEqual(play([p]).pcm, decodeAll([p]));
});

test('nothing is played before the reorder window is full; flush plays the rest', () => {
  const out: number[] = [];
  const p = new Playout((s) => out.push(s.length), { window: 5, chunkSamples: 160 });
  for (const x of stream(5)) p.push(rtp(x));
  assert.deepEqual(out, []);
  p.push(rtp(stream(6)[5]!));
  assert.deepEqual(out, [160], 'the sixth packet releases the first');
  p.flush();
  assert.equal(out.length, 6);
});

test('reordered and duplicated packets give the same PCM as the stream in order', () => {
  const pkts = stream(20);
  const order = [0, 2, 1, 3, 3, 6, 4, 5, 7, 7, 8, 12, 9, 10, 11, 13, 15, 14, 16, 19, 18, 17, 18];
  const { pcm, figures } = play(order.map((i) => pkts[i]!));
  assert.deepEqual(pcm, decodeAll(pkts));
  assert.equal(figures.duplicates, 3);
  assert.equal(figures.reordered, 9);
  assert.equal(figures.late, 0);
  assert.equal(figures.lostPackets, 0);
  assert.equal(figures.filledSamples, 0);
});

test('a dropped packet becomes exactly its duration of silence, in its place', () => {
  const pkts = stream(10);
  const { pcm, figures } = play(pkts.filter((_, i) => i !== 4));
  assert.deepEqual(pcm, [...decodeAll(pkts.slice(0, 4)), ...zeros(160), ...decodeAll(pkts.slice(5))]);
  assert.equal(figures.lostPackets, 1);
  assert.equal(figures.filledSamples, 160);
});

test('a packet arriving after its place was played is late: counted, not inserted; a replay of a played packet is a duplicate', () => {
  const pkts = stream(12);
  const order = [0, 1, 2, 4, 5, 6, 7, 8, 9, 3, 0, 10, 11];
  const { pcm, figures } = play(order.map((i) => pkts[i]!), { window: 2 });
  assert.deepEqual(pcm, [...decodeAll(pkts.slice(0, 3)), ...zeros(160), ...decodeAll(pkts.slice(4))]);
  assert.equal(figures.late, 1);
  assert.equal(figures.duplicates, 1);
  assert.equal(figures.lostPackets, 1);
});

test('sequence numbers and timestamps wrapping mid-stream, with a reorder across the wrap, play in order without loss', () => {
  const pkts = stream(12, { seq0: 65530, ts0: 2 ** 32 - 800 });
  const order = [0, 1, 2, 3, 4, 6, 5, 7, 8, 9, 11, 10];
  const { pcm, figures } = play(order.map((i) => pkts[i]!));
  assert.deepEqual(pcm, decodeAll(pkts));
  assert.equal(figures.lostPackets, 0);
  assert.equal(figures.filledSamples, 0);
  assert.equal(figures.timestampJumps, 0);
  // A loss right after the wrap is still one packet of silence.
  const lossy = play(pkts.filter((_, i) => i !== 6));
  assert.deepEqual(lossy.pcm, [...decodeAll(pkts.slice(0, 6)), ...zeros(160), ...decodeAll(pkts.slice(7))]);
  assert.equal(lossy.figures.lostPackets, 1);
});

test('an SSRC change continues at the current timeline position; a straggler of the old source is late, not a change back', () => {
  const a = stream(8, { ssrc: 1, seq0: 100, ts0: 1000 });
  const b = stream(6, { ssrc: 2, seq0: 40_000, ts0: 3_000_000_000, from: 8 });
  // a[3] arrives after the switch: older than the old source's last packet, so a straggler.
  const { pcm, figures } = play([a[0]!, a[1]!, a[2]!, a[4]!, a[5]!, ...b.slice(0, 2), a[3]!, ...b.slice(2)]);
  assert.deepEqual(pcm, [...decodeAll(a.slice(0, 3)), ...zeros(160), ...decodeAll(a.slice(4, 6)), ...decodeAll(b)]);
  assert.equal(figures.ssrcChanges, 1);
  assert.equal(figures.late, 1);
  assert.equal(figures.lostPackets, 1);
  assert.equal(figures.filledSamples, 160);
  assert.equal(figures.timestampJumps, 0);

  // The old source coming back with newer packets (a call taken off hold) is a change too, again without a fill.
  const back = play([...a.slice(0, 6), ...b, ...a.slice(6)]);
  assert.deepEqual(back.pcm, decodeAll([...a.slice(0, 6), ...b, ...a.slice(6)]));
  assert.equal(back.figures.ssrcChanges, 2);
  assert.equal(back.figures.filledSamples, 0);
});

test('telephone-event packets are skipped but their time is kept as silence', () => {
  const pkts = stream(10);
  const event = (i: number, duration: number): Pkt => ({
    seq: pkts[5]!.seq + i,
    ts: pkts[5]!.ts, // RFC 4733 §2.5.1.2: every packet of an event carries its start
    pt: 101,
    marker: i === 0,
    payload: Uint8Array.of(5, 10, duration >> 8, duration & 0xff),
  });
  // Audio 0-4, then an event for packets 5-7's time (seq 1005-1007), then audio from packet 8 on.
  const events = [event(0, 160), event(1, 320), event(2, 480)];
  const { pcm, figures } = play([...pkts.slice(0, 5), ...events, ...pkts.slice(8)], {
    payloads: new Map([[101, { name: 'telephone-event', rate: 8000 }]]),
  });
  assert.deepEqual(pcm, [...decodeAll(pkts.slice(0, 5)), ...zeros(480), ...decodeAll(pkts.slice(8))]);
  assert.equal(figures.skippedTelephoneEvent, 3);
  assert.equal(figures.lostPackets, 0, 'the events used those sequence numbers');
});

test('silence suppression: comfort noise is skipped and the quiet before a marked talkspurt is filled from the timestamps', () => {
  const pkts = stream(4);
  const cn: Pkt = { seq: pkts[3]!.seq + 1, ts: pkts[3]!.ts + 160, pt: 13, payload: Uint8Array.of(40) };
  const talk: Pkt = { ...stream(1, { seq0: cn.seq + 1, ts0: cn.ts + 4000, from: 9 })[0]!, marker: true };
  const { pcm, figures } = play([...pkts, cn, talk]);
  assert.deepEqual(pcm, [...decodeAll(pkts), ...zeros(4000), ...decodeAll([talk])]);
  assert.equal(figures.skippedComfortNoise, 1);
  assert.equal(figures.filledSamples, 4000);
  assert.equal(figures.timestampJumps, 0);
});

test('a timestamp jump beyond the fill limit is not filled: the packet plays next and the jump is counted', () => {
  const a = stream(3, { ts0: 0 });
  const b = stream(3, { seq0: 1003, ts0: 480 + 8000 * 60, from: 3 });
  const { pcm, figures } = play([...a, ...b], { maxFillSamples: 80_000 });
  assert.deepEqual(pcm, decodeAll([...a, ...b]));
  assert.equal(figures.timestampJumps, 1);
  assert.equal(figures.filledSamples, 0);
  // Within the limit the same gap is filled.
  const filled = play([...a, ...b], { maxFillSamples: 8000 * 60 });
  assert.equal(filled.figures.filledSamples, 8000 * 60);
  assert.equal(filled.pcm.length, 6 * 160 + 8000 * 60);
});

test('a payload type it cannot decode is counted, named in the figures, and its time kept as silence', () => {
  const pkts = stream(6);
  const g729 = (i: number): Pkt => ({ ...pkts[i]!, pt: 18, payload: new Uint8Array(20) });
  const unnamed = (i: number): Pkt => ({ ...pkts[i]!, pt: 97 });
  const opus = (i: number): Pkt => ({ ...pkts[i]!, pt: 111 });
  const { pcm, figures } = play([pkts[0]!, g729(1), g729(2), unnamed(3), opus(4), pkts[5]!], {
    payloads: new Map([[111, { name: 'opus', rate: 48000 }]]),
  });
  assert.deepEqual(pcm, [...decodeAll([pkts[0]!]), ...zeros(4 * 160), ...decodeAll([pkts[5]!])]);
  assert.equal(figures.skippedUnknown, 4);
  assert.deepEqual(figures.unknownPayloadTypes, [
    { pt: 18, codec: 'G729/8000' },
    { pt: 97, codec: null },
    { pt: 111, codec: 'opus/48000' },
  ]);
  assert.equal(figures.lostPackets, 0);
});

test('a sender restarting its sequence numbers is followed after two packets (RFC 3550 A.1); a lone far packet is a stray', () => {
  const a = stream(5, { seq0: 100, ts0: 0 });
  const b = stream(5, { seq0: 30_000, ts0: 800, from: 5 });
  const restarted = play([...a, ...b]);
  assert.deepEqual(restarted.pcm, decodeAll([...a, ...b]));
  assert.equal(restarted.figures.sequenceRestarts, 1);
  assert.equal(restarted.figures.lostPackets, 0);
  assert.equal(restarted.figures.strays, 0);

  const stray: Pkt = { ...b[0]!, payload: voice(99) };
  const lone = play([...a.slice(0, 3), stray, ...a.slice(3)]);
  assert.deepEqual(lone.pcm, decodeAll(a));
  assert.equal(lone.figures.strays, 1);
  assert.equal(lone.figures.sequenceRestarts, 0);
});

test('RTCP, truncated and garbage datagrams are counted and change nothing', () => {
  const pkts = stream(4);
  const rtcp = Buffer.from([0x80, 200, 0, 1, 0, 0, 0, 1]);
  const truncated = rtp(pkts[1]!).subarray(0, 10);
  const badVersion = Buffer.from(rtp(pkts[2]!));
  badVersion[0] = 0x40;
  const { pcm, figures } = play([rtp(pkts[0]!), rtcp, truncated, rtp(pkts[1]!), badVersion, Buffer.alloc(0), rtp(pkts[2]!), rtp(pkts[3]!)]);
  assert.deepEqual(pcm, decodeAll(pkts));
  assert.equal(figures.notRtp, 4);
  assert.equal(figures.packets, 8);

  const p = new Playout(() => {});
  for (const len of [Number.NaN, -1, 1e9, 3.5]) p.push(rtp(pkts[0]!), len);
  assert.equal(p.snapshot().notRtp, 4, 'a length that does not fit the buffer is not read');
});

test('fuzz: random and mutated datagrams never throw, every one is counted, and the timeline stays contiguous', () => {
  for (const seed of [1, 2, 3, 42, 2024]) {
    const r = rng(seed);
    const byte = () => Math.floor(r() * 256);
    const good = stream(40, { seq0: Math.floor(r() * 65536), ts0: Math.floor(r() * 2 ** 32) }).map(rtp);
    const datagrams: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const pick = r();
      if (pick < 0.3) {
        datagrams.push(Buffer.from(Array.from({ length: Math.floor(r() * 200) }, byte)));
      } else {
        const b = Buffer.from(good[Math.floor(r() * good.length)]!);
        const flips = Math.floor(r() * 6);
        for (let k = 0; k < flips; k++) b[Math.floor(r() * b.length)] = byte();
        if (pick > 0.6) b[0] = 0x80 | (byte() & 0x3f); // keep version 2 so the header paths run
        datagrams.push(pick > 0.9 ? b.subarray(0, Math.floor(r() * b.length)) : b);
      }
    }
    const options = { window: Math.floor(r() * 8), maxFillSamples: 1 + Math.floor(r() * 20_000), chunkSamples: 1 + Math.floor(r() * 1000) };
    let played = 0;
    const p = new Playout((samples, position) => {
      assert.equal(position, played, `seed ${seed}: contiguous`);
      played += samples.length;
    }, options);
    for (const d of datagrams) p.push(d);
    p.flush();
    const f = p.snapshot();
    assert.equal(f.packets, datagrams.length, `seed ${seed}`);
    assert.equal(f.samples, played, `seed ${seed}`);
    const accounted =
      f.notRtp + f.decoded + f.late + f.duplicates + f.strays + f.skippedTelephoneEvent + f.skippedComfortNoise + f.skippedUnknown;
    assert.equal(accounted, f.packets, `seed ${seed}: every datagram ends up in exactly one count`);
  }
});
