/**
 * ITU-T G.711 companding: µ-law (PCMU, RTP payload type 0) and A-law (PCMA,
 * payload type 8), RFC 3551 §4.5.14, to and from 16-bit linear PCM.
 *
 * Decoding is a lookup in a 256-entry table built once at module load; the
 * tables are the ones of the reference implementation every tool copies
 * (Sun Microsystems' public-domain g711.c: µ-law's 14-bit values and A-law's
 * 13-bit values shifted up to 16 bits). SoX 14.4.2 (`sox -t ul` / `-t al` to
 * `-t s16`) decodes with the same tables, and test/unit/record-g711.test.ts
 * holds us to its output sample for sample, since the recorder's WAVs are
 * checked against sox's decode of the same payload.
 *
 * The encoders are SoX's: the 16-bit sample is first rounded to the nearest
 * 14-bit (µ-law) or 13-bit (A-law) step, half up, clipping at the top, and
 * then g711.c's `linear2ulaw` / `linear2alaw` segment search picks the code.
 * g711.c alone truncates (an arithmetic shift) instead of rounding, which
 * differs from `sox -D` (no dither) on 508 µ-law and 1020 A-law inputs of the
 * 65,536, all one step apart at quantisation boundaries; the test compares
 * every input with sox. Either way decode(encode(decode(c))) is c.
 */

const SIGN_BIT = 0x80;
const QUANT_MASK = 0x0f;
const SEG_SHIFT = 4;
const SEG_MASK = 0x70;
/** µ-law's bias, added before the segment search so that segment 0 starts at 0 (G.711 Table 2a). */
const BIAS = 0x84;
/** The largest 14-bit magnitude µ-law represents before BIAS is added. */
const ULAW_CLIP = 8159;
const MAX_14BIT = 8191;
const MAX_13BIT = 4095;

const SEG_AEND = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
const SEG_UEND = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];

function ulawToLinear(code: number): number {
  const u = ~code & 0xff;
  const t = (((u & QUANT_MASK) << 3) + BIAS) << ((u & SEG_MASK) >> SEG_SHIFT);
  return u & SIGN_BIT ? BIAS - t : t - BIAS;
}

function alawToLinear(code: number): number {
  const a = code ^ 0x55;
  const seg = (a & SEG_MASK) >> SEG_SHIFT;
  let t = (a & QUANT_MASK) << 4;
  if (seg === 0) t += 8;
  else t = (t + 0x108) << (seg - 1);
  return a & SIGN_BIT ? t : -t;
}

function table(decode: (code: number) => number): Int16Array {
  const t = new Int16Array(256);
  for (let c = 0; c < 256; c++) t[c] = decode(c);
  return t;
}

/** Code byte → 16-bit sample. Shared: never write to them. */
export const PCMU_TO_LINEAR: Readonly<Int16Array> = table(ulawToLinear);
export const PCMA_TO_LINEAR: Readonly<Int16Array> = table(alawToLinear);

/** Decodes every byte of `payload` into `out` from `offset`; the caller leaves room for payload.length samples. */
export function decodePcmu(payload: Uint8Array, out: Int16Array, offset: number): void {
  for (let i = 0; i < payload.length; i++) out[offset + i] = PCMU_TO_LINEAR[payload[i]!]!;
}

export function decodePcma(payload: Uint8Array, out: Int16Array, offset: number): void {
  for (let i = 0; i < payload.length; i++) out[offset + i] = PCMA_TO_LINEAR[payload[i]!]!;
}

/** Clamped to 16 bits and truncated to an integer; NaN counts as 0. */
function toInt16(sample: number): number {
  if (!(sample === sample)) return 0;
  if (sample > 32767) return 32767;
  if (sample < -32768) return -32768;
  return Math.trunc(sample);
}

function segment(value: number, ends: readonly number[]): number {
  let seg = 0;
  while (seg < ends.length && value > ends[seg]!) seg++;
  return seg;
}

/** 16-bit sample → µ-law code byte (sox: rounded to 14 bits, then g711.c `linear2ulaw`). */
export function encodePcmu(sample: number): number {
  let pcm = Math.min((toInt16(sample) + 2) >> 2, MAX_14BIT);
  let mask = 0xff;
  if (pcm < 0) {
    pcm = -pcm;
    mask = 0x7f;
  }
  if (pcm > ULAW_CLIP) pcm = ULAW_CLIP;
  pcm += BIAS >> 2;
  const seg = segment(pcm, SEG_UEND);
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << SEG_SHIFT) | ((pcm >> (seg + 1)) & QUANT_MASK)) ^ mask;
}

/** 16-bit sample → A-law code byte (sox: rounded to 13 bits, then g711.c `linear2alaw`). */
export function encodePcma(sample: number): number {
  let pcm = Math.min((toInt16(sample) + 4) >> 3, MAX_13BIT);
  let mask = 0xd5;
  if (pcm < 0) {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  const seg = segment(pcm, SEG_AEND);
  if (seg >= 8) return 0x7f ^ mask;
  const quant = seg < 2 ? (pcm >> 1) & QUANT_MASK : (pcm >> seg) & QUANT_MASK;
  return ((seg << SEG_SHIFT) | quant) ^ mask;
}

/** The G.711 law a payload format names, decoded only at its own 8000 Hz clock ("PCMU/16000" is not G.711); null otherwise. */
export function g711Codec(name: string, rate: number): 'PCMU' | 'PCMA' | null {
  if (rate !== 8000) return null;
  const n = name.toUpperCase();
  return n === 'PCMU' || n === 'PCMA' ? n : null;
}
