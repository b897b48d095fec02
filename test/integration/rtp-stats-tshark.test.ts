/**
 * Our stream figures against Wireshark's: the same RTP packets, with the same
 * arrival times, go into StreamStats and into a pcap that `tshark -z
 * rtp,streams` reads, and the row tshark prints must agree with our snapshot
 * to tshark's printed rounding (3 decimals). This is what "the numbers match
 * Wireshark" rests on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rtpKind } from '../../engine/rtp/rtp-packet';
import { StreamStats, type StreamFigures } from '../../engine/rtp/stream-stats';
import { ipv4Udp } from '../helpers/pcapng';

const run = promisify(execFile);

const SRC: [string, number] = ['192.0.2.10', 40000];
const DST: [string, number] = ['192.0.2.20', 40002];
const PT_PCMU = 0;
const PT_CN = 13;
/** Unnamed for tshark (no SDP in the pcap, so it computes no jitter for it); telephone-event for us. */
const PT_EVENT = 101;
const BASE_US = 1_700_000_000_000_000;

interface Pkt {
  seq: number;
  ts: number;
  ssrc: number;
  pt: number;
  marker: boolean;
  payload: number;
  /** µs after BASE_US. */
  atUs: number;
}

function rtp(p: Pkt): Buffer {
  const b = Buffer.alloc(12 + p.payload, 0xd5);
  b[0] = 0x80;
  b[1] = (p.marker ? 0x80 : 0) | p.pt;
  b.writeUInt16BE(p.seq & 0xffff, 2);
  b.writeUInt32BE(p.ts >>> 0, 4);
  b.writeUInt32BE(p.ssrc >>> 0, 8);
  return b;
}

/** Classic libpcap, link type 101 (raw IP), µs timestamps. */
function pcap(frames: { atUs: number; frame: Buffer }[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(101, 20);
  const parts: Buffer[] = [head];
  for (const f of frames) {
    const us = BASE_US + f.atUs;
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Math.floor(us / 1e6), 0);
    h.writeUInt32LE(us % 1e6, 4);
    h.writeUInt32LE(f.frame.length, 8);
    h.writeUInt32LE(f.frame.length, 12);
    parts.push(h, f.frame);
  }
  return Buffer.concat(parts);
}

interface TsharkRow {
  ssrc: number;
  packets: number;
  lost: number;
  maxDeltaMs: number;
  meanJitterMs: number;
  maxJitterMs: number;
}

/**
 * tshark 4.0's `-z rtp,streams` row: start and end time, addresses and
 * ports, SSRC, payload names (which may hold spaces: "g711U, CN"), Pkts,
 * "Lost (pct%)", then min/mean/max delta and min/mean/max jitter (ms).
 */
const ROW = /\s0x([0-9A-Fa-f]{8})\s.*?\s(\d+)\s+(-?\d+) \(-?[\d.]+%\)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s*X?\s*$/;

async function tsharkStreams(packets: Pkt[]): Promise<{ rows: TsharkRow[]; raw: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'callpath-rtp-stats-'));
  const file = join(dir, 'stream.pcap');
  try {
    writeFileSync(file, pcap(packets.map((p) => ({ atUs: p.atUs, frame: ipv4Udp(SRC, DST, rtp(p)) }))));
    const { stdout } = await run('tshark', ['-n', '-r', file, '-q', '-o', 'rtp.heuristic_rtp:TRUE', '-d', `udp.port==${DST[1]},rtp`, '-z', 'rtp,streams'], { maxBuffer: 4 << 20 });
    const rows: TsharkRow[] = [];
    for (const line of stdout.split('\n')) {
      const m = ROW.exec(line);
      if (!m) continue;
      rows.push({ ssrc: parseInt(m[1]!, 16), packets: Number(m[2]), lost: Number(m[3]), maxDeltaMs: Number(m[6]), meanJitterMs: Number(m[8]), maxJitterMs: Number(m[9]) });
    }
    return { rows, raw: stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** In the order they arrive: the pcap's frame order and the order StreamStats is fed. */
const byArrival = (packets: Pkt[]): Pkt[] => [...packets].sort((a, b) => a.atUs - b.atUs);

function ours(packets: Pkt[]): StreamFigures {
  const s = new StreamStats();
  s.setClockRates(new Map([[PT_EVENT, { name: 'telephone-event', rate: 8000 }]]));
  for (const p of packets) {
    const b = rtp(p);
    assert.equal(rtpKind(b), 'rtp');
    s.onRtp(b, b.length, BASE_US + p.atUs);
  }
  return s.snapshot();
}

/** tshark prints ms with 3 decimals. */
function assertPrinted(actual: number, printed: number, what: string, raw: string): void {
  assert.ok(Math.abs(actual - printed) <= 0.0005 + 1e-9, `${what}: ours ${actual}, tshark printed ${printed}\n${raw}`);
}

/**
 * 80 packets of 20 ms PCMU from sequence number 65500 (so it wraps), arriving
 * with an uneven pattern of early and late, and: two separate losses, one
 * loss of two in a row after the wrap, a swapped pair, a duplicate, a
 * marker packet arriving late, a comfort-noise packet, a three-packet DTMF
 * event, and a late packet arriving last.
 */
function messyStream(ssrc: number, startSeq: number, startUs: number): Pkt[] {
  const offsetsUs = [0, 1300, -800, 2500, 400, -1500, 3700, 900, -300, 6100, 200];
  const out: Pkt[] = [];
  for (let i = 0; i < 80; i++) {
    if (i === 10 || i === 44 || i === 45 || i === 67) continue; // lost
    const p: Pkt = { seq: startSeq + i, ts: 1000 + 160 * i, ssrc, pt: PT_PCMU, marker: false, payload: 160, atUs: startUs + i * 20_000 + 5_000 + offsetsUs[i % offsetsUs.length]! };
    if (i === 20) p.atUs += 21_000; // arrives after 21
    if (i === 50) {
      p.marker = true; // a talkspurt starting late
      p.atUs += 35_000;
    }
    if (i === 55) {
      p.pt = PT_CN;
      p.payload = 1;
      p.atUs += 9_000;
    }
    if (i >= 60 && i <= 62) {
      // RFC 4733: the event's packets all carry its start timestamp; the first has the marker.
      p.pt = PT_EVENT;
      p.payload = 4;
      p.ts = 1000 + 160 * 60;
      p.marker = i === 60;
    }
    if (i === 78) p.atUs += 30_000; // arrives after 79, last of all
    out.push(p);
    if (i === 30) out.push({ ...p, atUs: p.atUs + 700 }); // duplicate
  }
  return byArrival(out);
}

test('packets, lost, max delta, max and mean jitter agree with tshark -z rtp,streams for a stream with losses, reordering, a duplicate, a wrap, marker, CN and DTMF', async () => {
  const packets = messyStream(0x5eed1234, 65500, 0);
  const f = ours(packets);
  const { rows, raw } = await tsharkStreams(packets);
  assert.equal(rows.length, 1, `one RTP stream in tshark's table:\n${raw}`);
  const row = rows[0]!;
  assert.equal(row.ssrc, f.ssrc);
  assert.equal(row.packets, f.packets);
  assert.equal(row.lost, f.lost, `lost:\n${raw}`);
  assertPrinted(f.maxDeltaMs, row.maxDeltaMs, 'max delta', raw);
  assertPrinted(f.maxJitterMs, row.maxJitterMs, 'max jitter', raw);
  assertPrinted(f.meanJitterMs, row.meanJitterMs, 'mean jitter', raw);
  // The pattern is not a trivial one: these are what the agreement above covers.
  assert.equal(f.packets, 77);
  assert.equal(f.lost, 4 - 1 - 1, 'four lost, less one for the duplicate and one for the late last packet (Wireshark counts to the last sequence number)');
  assert.ok(f.maxJitterMs > 1 && f.meanJitterMs > 0.5, `jitter ${f.maxJitterMs} / ${f.meanJitterMs}`);
  assert.ok(f.maxDeltaMs > 40, `max delta ${f.maxDeltaMs}`);
});

test('after an SSRC change the figures add up tshark\'s two streams: packets and lost summed, the larger maxima', async () => {
  const first = messyStream(0x0a0a0a0a, 1000, 0).filter((p) => p.seq < 1040);
  const second = messyStream(0x0b0b0b0b, 30000, 1_000_000);
  const packets = [...first, ...second];
  const f = ours(packets);
  const { rows, raw } = await tsharkStreams(packets);
  assert.equal(rows.length, 2, `two RTP streams in tshark's table:\n${raw}`);
  assert.equal(f.ssrcChanges, 1);
  assert.equal(f.ssrc, 0x0b0b0b0b);
  assert.equal(f.packets, rows[0]!.packets + rows[1]!.packets);
  assert.equal(f.lost, rows[0]!.lost + rows[1]!.lost, raw);
  assertPrinted(f.maxDeltaMs, Math.max(rows[0]!.maxDeltaMs, rows[1]!.maxDeltaMs), 'max delta', raw);
  assertPrinted(f.maxJitterMs, Math.max(rows[0]!.maxJitterMs, rows[1]!.maxJitterMs), 'max jitter', raw);
});
