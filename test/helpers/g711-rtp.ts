/**
 * Known audio as G.711 RTP, and sox's reading of what the recorder wrote:
 * for the recorder's tests, which compare the WAV sample for sample with
 * sox's own decode of the payload that was sent.
 */
import { execFileSync } from 'node:child_process';
import { encodePcma, encodePcmu } from '../../engine/record/g711';
import { rng } from './rng';

export const SAMPLES_PER_PACKET = 160;

/** A sine of `hz` at 8 kHz, `n` samples. */
export function tone(hz: number, n: number, amplitude = 20_000): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / 8000)));
}

/** Seeded pseudo-random samples in ±amplitude. */
export function noise(seed: number, n: number, amplitude = 20_000): Int16Array {
  const r = rng(seed);
  return Int16Array.from({ length: n }, () => Math.round((r() * 2 - 1) * amplitude));
}

export interface RtpFields {
  seq: number;
  ts: number;
  ssrc: number;
  pt: number;
  marker?: boolean;
  payload: Uint8Array;
}

export function rtpPacket(p: RtpFields): Buffer {
  const b = Buffer.alloc(12 + p.payload.length);
  b[0] = 0x80;
  b[1] = (p.marker ? 0x80 : 0) | p.pt;
  b.writeUInt16BE(p.seq & 0xffff, 2);
  b.writeUInt32BE(p.ts >>> 0, 4);
  b.writeUInt32BE(p.ssrc >>> 0, 8);
  b.set(p.payload, 12);
  return b;
}

export interface G711Stream {
  /** One 20 ms packet each, sequence seq0 + i, timestamp ts0 + 160 i. */
  packets: Buffer[];
  /** The G.711 bytes of each packet. */
  payloads: Uint8Array[];
}

/** `pcm` encoded to PCMU (pt 0) or PCMA (pt 8) and cut into 160-sample packets. */
export function g711Stream(pcm: Int16Array, o: { law?: 'PCMU' | 'PCMA'; pt?: number; seq0?: number; ts0?: number; ssrc?: number } = {}): G711Stream {
  const law = o.law ?? 'PCMU';
  const encode = law === 'PCMU' ? encodePcmu : encodePcma;
  const packets: Buffer[] = [];
  const payloads: Uint8Array[] = [];
  for (let i = 0; i * SAMPLES_PER_PACKET < pcm.length; i++) {
    const payload = Uint8Array.from(pcm.subarray(i * SAMPLES_PER_PACKET, (i + 1) * SAMPLES_PER_PACKET), encode);
    payloads.push(payload);
    packets.push(rtpPacket({ seq: (o.seq0 ?? 4000) + i, ts: (o.ts0 ?? 90_000) + SAMPLES_PER_PACKET * i, ssrc: o.ssrc ?? 0x5eed, pt: o.pt ?? (law === 'PCMU' ? 0 : 8), payload }));
  }
  return { packets, payloads };
}

const S16 = ['-t', 's16', '-e', 'signed-integer', '-L', '-'];

function samples(raw: Buffer): number[] {
  return Array.from(new Int16Array(raw.buffer, raw.byteOffset, raw.length / 2));
}

/** sox's decode of raw G.711 bytes (`-t ul` / `-t al`), as numbers. */
export function soxDecode(law: 'PCMU' | 'PCMA', payloads: Uint8Array[]): number[] {
  const input = Buffer.concat(payloads);
  const raw = execFileSync('sox', ['-t', law === 'PCMU' ? 'ul' : 'al', '-r', '8000', '-c', '1', '-', ...S16], { input, maxBuffer: 64 << 20 });
  return samples(raw);
}

/** One channel (1-based) of a WAV as sox reads it; 0 reads every channel interleaved. */
export function soxChannel(file: string, channel: number): number[] {
  const remix = channel === 0 ? [] : ['remix', String(channel)];
  return samples(execFileSync('sox', [file, ...S16, ...remix], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 }));
}

export function soxi(flag: string, file: string): string {
  return execFileSync('soxi', [flag, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export const zeros = (n: number): number[] => Array.from({ length: n }, () => 0);
