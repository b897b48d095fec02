/**
 * The header at the start of every PCM forwarding connection (the part of
 * rtpengine-recording's `tls-send-to` an application has to parse). Pure:
 * encode and decode, no I/O.
 *
 * One connection carries one leg of one call, and starts with exactly one
 * line of JSON, UTF-8, ended by a single "\n" (0x0A); the JSON itself never
 * contains a raw 0x0A (JSON escapes control characters in strings). After
 * the "\n" comes raw PCM, 16-bit signed little-endian mono at 8000 Hz,
 * until the connection closes. For example (one line; 171 bytes plus the
 * Call-ID's UTF-8 bytes for these numbers):
 *
 *   {"magic":"callpath-pcm","version":1,"callId":"a84b4c76e66710@pc33.atlanta.com",
 *    "leg":"caller","sampleRate":8000,"format":"s16le","channels":1,
 *    "startUs":1714555815123000,"connection":0,"sampleOffset":0}\n
 *
 * The keys are always written in this order, so every header begins with
 * the 24 bytes `{"magic":"callpath-pcm",` and a consumer may check those
 * before parsing. A whole header is at most PCM_HEADER_MAX_BYTES bytes,
 * "\n" included: a consumer that has read that many without a "\n" is not
 * talking to us.
 *
 * - magic, version: "callpath-pcm", 1. The version changes only when the
 *   meaning of a key or of the PCM changes; keys may be added without a new
 *   version, so a consumer ignores keys it does not know.
 * - callId: the SIP Call-ID (RFC 3261 §8.1.1.4); leg: "caller" or "callee",
 *   the direction whose audio this is (what the caller sent, what the callee sent).
 * - sampleRate, format, channels: 8000, "s16le", 1 — fixed in version 1.
 * - startUs: when the leg's first PCM reached the forwarder, microseconds
 *   since the Unix epoch (an integer, exact in a double). The same on every
 *   connection of the leg.
 * - connection: 0 for the leg's first connection, then one more for each
 *   new connection after a failure. A consumer seeing a header with
 *   connection > 0 knows the stream restarted and audio was lost.
 * - sampleOffset: the leg's sample number (0 at startUs) of the first
 *   sample after this header; after a reconnect, the samples in between
 *   were dropped. Samples dropped inside one connection (its queue was
 *   full) are not marked in the stream: the forwarder counts them.
 *
 * A connection the forwarder closes normally ends after a whole sample. One
 * it had to destroy (a failure, or end()'s timeout while the consumer was
 * not reading) may stop anywhere, even inside a sample: a consumer drops a
 * trailing odd byte.
 */
import type { Direction } from '../call-recording';

export const PCM_HEADER_MAGIC = 'callpath-pcm';
export const PCM_HEADER_VERSION = 1;
export const PCM_SAMPLE_RATE = 8000;
export const PCM_FORMAT = 's16le';
export const PCM_HEADER_MAX_BYTES = 4096;

export interface PcmStreamHeader {
  magic: typeof PCM_HEADER_MAGIC;
  version: typeof PCM_HEADER_VERSION;
  callId: string;
  leg: Direction;
  sampleRate: typeof PCM_SAMPLE_RATE;
  format: typeof PCM_FORMAT;
  channels: 1;
  startUs: number;
  connection: number;
  sampleOffset: number;
}

/** What varies from one header to the next. */
export type PcmHeaderFields = Pick<PcmStreamHeader, 'callId' | 'leg' | 'startUs' | 'connection' | 'sampleOffset'>;

export type PcmHeaderEncoded = { ok: true; bytes: Buffer } | { ok: false; reason: string };

export type PcmHeaderDecoded =
  | { status: 'ok'; header: PcmStreamHeader; /** Bytes the header took, "\n" included: the PCM starts there. */ length: number }
  | { status: 'incomplete' }
  | { status: 'invalid'; reason: string };

const NEWLINE = 0x0a;

/** The header's bytes; refused (as a value) when a field is unusable or the Call-ID makes it too long. */
export function encodePcmHeader(f: PcmHeaderFields): PcmHeaderEncoded {
  if (typeof f.callId !== 'string' || f.callId === '') return { ok: false, reason: 'no Call-ID' };
  if (f.leg !== 'caller' && f.leg !== 'callee') return { ok: false, reason: `leg ${String(f.leg)} is neither caller nor callee` };
  for (const k of ['startUs', 'connection', 'sampleOffset'] as const) {
    if (!isCount(f[k])) return { ok: false, reason: `${k} ${String(f[k])} is not a whole number` };
  }
  const header: PcmStreamHeader = {
    magic: PCM_HEADER_MAGIC,
    version: PCM_HEADER_VERSION,
    callId: f.callId,
    leg: f.leg,
    sampleRate: PCM_SAMPLE_RATE,
    format: PCM_FORMAT,
    channels: 1,
    startUs: f.startUs,
    connection: f.connection,
    sampleOffset: f.sampleOffset,
  };
  const bytes = Buffer.from(JSON.stringify(header) + '\n', 'utf8');
  if (bytes.length > PCM_HEADER_MAX_BYTES) return { ok: false, reason: `the Call-ID makes the header ${bytes.length} bytes, over ${PCM_HEADER_MAX_BYTES}` };
  return { ok: true, bytes };
}

/**
 * Reads a header from the start of what a connection received so far: the
 * reference parser for consumers (and the tests). 'incomplete' until the
 * "\n" arrives; 'invalid' past PCM_HEADER_MAX_BYTES without one, or when the
 * line is not a version-1 header.
 */
export function decodePcmHeader(data: Uint8Array): PcmHeaderDecoded {
  const end = data.indexOf(NEWLINE);
  if (end < 0) {
    return data.length >= PCM_HEADER_MAX_BYTES ? { status: 'invalid', reason: `no "\\n" in the first ${PCM_HEADER_MAX_BYTES} bytes` } : { status: 'incomplete' };
  }
  if (end + 1 > PCM_HEADER_MAX_BYTES) return { status: 'invalid', reason: `header of ${end + 1} bytes, over ${PCM_HEADER_MAX_BYTES}` };
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(data.buffer, data.byteOffset, end).toString('utf8'));
  } catch {
    return { status: 'invalid', reason: 'the header line is not JSON' };
  }
  if (typeof v !== 'object' || v === null) return { status: 'invalid', reason: 'the header line is not a JSON object' };
  const o = v as Record<string, unknown>;
  if (o.magic !== PCM_HEADER_MAGIC) return { status: 'invalid', reason: `magic ${JSON.stringify(o.magic)} is not "${PCM_HEADER_MAGIC}"` };
  if (o.version !== PCM_HEADER_VERSION) return { status: 'invalid', reason: `version ${JSON.stringify(o.version)} is not ${PCM_HEADER_VERSION}` };
  if (typeof o.callId !== 'string' || o.callId === '') return { status: 'invalid', reason: 'no Call-ID' };
  if (o.leg !== 'caller' && o.leg !== 'callee') return { status: 'invalid', reason: `leg ${JSON.stringify(o.leg)}` };
  if (o.sampleRate !== PCM_SAMPLE_RATE || o.format !== PCM_FORMAT || o.channels !== 1) {
    return { status: 'invalid', reason: `audio ${JSON.stringify([o.sampleRate, o.format, o.channels])} is not 8000 Hz s16le mono` };
  }
  for (const k of ['startUs', 'connection', 'sampleOffset'] as const) {
    if (!isCount(o[k])) return { status: 'invalid', reason: `${k} ${JSON.stringify(o[k])} is not a whole number` };
  }
  const header: PcmStreamHeader = {
    magic: PCM_HEADER_MAGIC,
    version: PCM_HEADER_VERSION,
    callId: o.callId,
    leg: o.leg,
    sampleRate: PCM_SAMPLE_RATE,
    format: PCM_FORMAT,
    channels: 1,
    startUs: o.startUs as number,
    connection: o.connection as number,
    sampleOffset: o.sampleOffset as number,
  };
  return { status: 'ok', header, length: end + 1 };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
