/**
 * The WAV container the recorder writes: RIFF/WAVE with one `fmt ` chunk for
 * 16-bit little-endian linear PCM (WAVE_FORMAT_PCM, 1) and one `data` chunk,
 * the canonical 44-byte header every player reads. Pure: bytes in, bytes or
 * values out.
 *
 *   offset  size  field
 *        0     4  "RIFF"
 *        4     4  RIFF size = 36 + data size (the file minus these 8 bytes)
 *        8     4  "WAVE"
 *       12     4  "fmt "
 *       16     4  16 (fmt chunk size for PCM)
 *       20     2  1 (PCM)
 *       22     2  channels
 *       24     4  sample rate
 *       28     4  byte rate = rate × block align
 *       32     2  block align = channels × 2 (one frame: a sample per channel)
 *       34     2  16 (bits per sample)
 *       36     4  "data"
 *       40     4  data size (bytes of samples)
 *       44        samples, interleaved (stereo: left, right, left, …)
 *
 * The recorder writes the header first with data size 0 and fills in the two
 * sizes when it stops; a crash leaves them unwritten, and `repairPlan` says
 * what to write so the header covers the samples actually on disk.
 *
 * Only this canonical layout is parsed: the files repaired are our own, and a
 * WAV with other chunks (LIST, fact) before `data` is reported as not ours
 * rather than guessed at.
 */
export const WAV_HEADER_BYTES = 44;
export const WAV_BITS_PER_SAMPLE = 16;
/** G.711's rate (RFC 3551 §4.5.14): what PCMU/PCMA decode to. */
export const DEFAULT_SAMPLE_RATE = 8000;
/** The RIFF size field is 32 bits and counts 36 header bytes besides the samples. */
const MAX_RIFF_SIZE = 0xffff_ffff;

export type WavChannels = 1 | 2;

export interface WavFormat {
  sampleRate: number;
  channels: WavChannels;
}

export interface WavHeader extends WavFormat {
  /** As found in the header; 0 or wrong in a file left unfinished. */
  riffSize: number;
  dataBytes: number;
}

export type WavParse = { ok: true; header: WavHeader } | { ok: false; reason: string };

/** Bytes per frame (one sample per channel). */
export function blockAlign(channels: WavChannels): number {
  return channels * (WAV_BITS_PER_SAMPLE / 8);
}

/** The largest data size a WAV can declare, in whole frames. */
export function maxDataBytes(channels: WavChannels): number {
  const align = blockAlign(channels);
  return Math.floor((MAX_RIFF_SIZE - 36) / align) * align;
}

/**
 * The 44-byte header for `dataBytes` of samples. `dataBytes` must be whole
 * frames within `maxDataBytes`: a wrong size here is a bug in the caller, not
 * network input, so it throws.
 */
export function wavHeader({ sampleRate = DEFAULT_SAMPLE_RATE, channels, dataBytes }: { sampleRate?: number; channels: WavChannels; dataBytes: number }): Buffer {
  const align = blockAlign(channels);
  if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate * align > MAX_RIFF_SIZE) throw new RangeError(`bad WAV sample rate ${sampleRate}`);
  if (!Number.isInteger(dataBytes) || dataBytes < 0 || dataBytes % align !== 0 || dataBytes > maxDataBytes(channels)) {
    throw new RangeError(`bad WAV data size ${dataBytes} for ${channels} channel(s)`);
  }
  const b = Buffer.alloc(WAV_HEADER_BYTES);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(36 + dataBytes, 4);
  b.write('WAVE', 8, 'latin1');
  b.write('fmt ', 12, 'latin1');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(channels, 22);
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * align, 28);
  b.writeUInt16LE(align, 32);
  b.writeUInt16LE(WAV_BITS_PER_SAMPLE, 34);
  b.write('data', 36, 'latin1');
  b.writeUInt32LE(dataBytes, 40);
  return b;
}

const tag = (b: Uint8Array, at: number) => String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);

/**
 * Checks that `bytes` starts with a canonical 44-byte 16-bit PCM header and
 * returns its fields. The two sizes are returned as found, not checked: a
 * header whose sizes were never finalised is still our header, and
 * `repairPlan` is what judges them.
 */
export function parseWavHeader(bytes: Uint8Array): WavParse {
  if (bytes.length < WAV_HEADER_BYTES) return { ok: false, reason: `shorter than the ${WAV_HEADER_BYTES}-byte WAV header (${bytes.length} bytes)` };
  const v = new DataView(bytes.buffer, bytes.byteOffset, WAV_HEADER_BYTES);
  if (tag(bytes, 0) !== 'RIFF' || tag(bytes, 8) !== 'WAVE') return { ok: false, reason: 'not a RIFF/WAVE file' };
  if (tag(bytes, 12) !== 'fmt ' || v.getUint32(16, true) !== 16) return { ok: false, reason: 'no 16-byte fmt chunk at offset 12 (not a canonical PCM header)' };
  const format = v.getUint16(20, true);
  if (format !== 1) return { ok: false, reason: `audio format ${format}, not PCM (1)` };
  const channels = v.getUint16(22, true);
  if (channels !== 1 && channels !== 2) return { ok: false, reason: `${channels} channels (only 1 or 2 are recorded)` };
  const bits = v.getUint16(34, true);
  if (bits !== WAV_BITS_PER_SAMPLE) return { ok: false, reason: `${bits} bits per sample, not ${WAV_BITS_PER_SAMPLE}` };
  const sampleRate = v.getUint32(24, true);
  if (sampleRate === 0) return { ok: false, reason: 'sample rate 0' };
  const align = blockAlign(channels);
  if (v.getUint16(32, true) !== align || v.getUint32(28, true) !== sampleRate * align) return { ok: false, reason: 'block align or byte rate disagrees with channels and rate' };
  if (tag(bytes, 36) !== 'data') return { ok: false, reason: 'no data chunk at offset 36 (not a canonical PCM header)' };
  return { ok: true, header: { sampleRate, channels, riffSize: v.getUint32(4, true), dataBytes: v.getUint32(40, true) } };
}

export type RepairPlan = { needed: false; dataBytes: number } | { needed: true; riffSize: number; dataBytes: number; why: string };

/**
 * What the header of a file of `fileSize` bytes should say: the data size is
 * every whole frame on disk after the header. A trailing odd byte or partial
 * frame (a write cut short) is left out of the count but not cut from the
 * file: nothing on disk is thrown away, and every reader stops at the data
 * size. A file beyond what a WAV can declare is capped at the largest whole
 * data size.
 *
 * A data size smaller than the samples on disk is repaired too: the recorder
 * never writes anything after the samples, so a short size in one of our
 * files means a header that was not finalised, not a trailing chunk.
 */
export function repairPlan(header: WavHeader, fileSize: number): RepairPlan {
  const onDisk = Math.max(0, fileSize - WAV_HEADER_BYTES);
  const align = blockAlign(header.channels);
  const dataBytes = Math.min(onDisk - (onDisk % align), maxDataBytes(header.channels));
  const riffSize = 36 + dataBytes;
  if (header.dataBytes === dataBytes && header.riffSize === riffSize) return { needed: false, dataBytes };
  let why: string;
  if (header.dataBytes === 0 && dataBytes > 0) why = 'data size 0 (header never finalised)';
  else if (header.dataBytes > onDisk) why = `data size ${header.dataBytes} is more than the ${onDisk} bytes after the header`;
  else if (header.dataBytes !== dataBytes) why = `data size ${header.dataBytes}, but ${dataBytes} bytes of whole samples are on disk`;
  else why = `RIFF size ${header.riffSize}, expected ${riffSize}`;
  return { needed: true, riffSize, dataBytes, why };
}
