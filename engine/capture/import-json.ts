/**
 * callpath's own JSON export read back: one call (`ladder.json`) or a
 * selection (`{calls: [...]}`), `schemaVersion` 1 (SIP messages under
 * `messages`), 2 (every lane under `entries`) or 3 (SIP entries with the wire
 * tap's `engineTsUs` and `seen`). SIP entries come back with
 * their exact bytes; other lanes with their figures. What cannot be read is
 * counted by reason, never thrown.
 */
import type { CallEvent, Direction, TransportName } from '../events';
import { EXPORT_SCHEMA_VERSION } from './formats';

export interface JsonImport {
  format: string;
  events: CallEvent[];
  skipped: Record<string, number>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d);
const num = (v: unknown, d = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Whether the file looks like JSON (a capture file never starts with "{"). */
export function looksLikeJson(file: Buffer): boolean {
  for (let i = 0; i < Math.min(file.length, 64); i++) {
    const c = file[i]!;
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0xef || c === 0xbb || c === 0xbf) continue;
    return c === 0x7b;
  }
  return false;
}

export function importJson(file: Buffer): JsonImport {
  const skipped: Record<string, number> = {};
  const skip = (why: string, n = 1) => (skipped[why] = (skipped[why] ?? 0) + n);
  let doc: unknown;
  try {
    doc = JSON.parse(file.toString('utf8'));
  } catch (err) {
    skip(`not JSON (${(err as Error).message.slice(0, 80)})`);
    return { format: 'json', events: [], skipped };
  }
  if (!isObj(doc) || doc.exportedBy !== 'callpath') {
    skip('JSON that is not a callpath export');
    return { format: 'json', events: [], skipped };
  }
  const version = num(doc.schemaVersion, -1);
  if (version < 1 || version > EXPORT_SCHEMA_VERSION) {
    skip(`callpath export schemaVersion ${String(doc.schemaVersion)} (this build reads 1 to ${EXPORT_SCHEMA_VERSION})`);
    return { format: 'json', events: [], skipped };
  }
  const calls = Array.isArray(doc.calls) ? doc.calls : isObj(doc.call) ? [doc.call] : [];
  const events: CallEvent[] = [];
  for (const call of calls) {
    if (!isObj(call) || typeof call.callId !== 'string') {
      skip('call without a Call-ID');
      continue;
    }
    const list = version === 1 ? call.messages : call.entries;
    if (!Array.isArray(list)) {
      skip('call without entries');
      continue;
    }
    for (const e of list) {
      const ev = isObj(e) ? eventOf(e, call.callId) : null;
      if (ev) events.push(ev);
      else skip('entry that cannot be read');
    }
  }
  events.sort((a, b) => a.tsUs - b.tsUs);
  return { format: `json (callpath schemaVersion ${version})`, events, skipped };
}

function eventOf(e: Obj, callId: string): CallEvent | null {
  const tsUs = num(e.tsUs, NaN);
  if (!Number.isFinite(tsUs)) return null;
  const lane = e.lane ?? 'sip';
  if (lane === 'sip') {
    if (typeof e.raw !== 'string') return null;
    const raw = Buffer.from(e.raw, 'base64');
    const [seq, method] = str(e.cseq).split(' ');
    return {
      kind: 'sip',
      tsUs,
      callId,
      direction: (e.direction === 'out' ? 'out' : 'in') as Direction,
      transport: (e.transport === 'tcp' ? 'tcp' : 'udp') as TransportName,
      src: str(e.src),
      dst: str(e.dst),
      cseqSeq: Number(seq) || 0,
      cseqMethod: method ?? '',
      method: strOrNull(e.method),
      status: numOrNull(e.status),
      label: str(e.label),
      branch: strOrNull(e.branch),
      size: raw.length,
      raw,
      retransmission: e.retransmission === true,
      ...(typeof e.engineTsUs === 'number' && Number.isFinite(e.engineTsUs) && { engineTsUs: e.engineTsUs }),
      ...((e.seen === 'both' || e.seen === 'wire' || e.seen === 'engine') && { seen: e.seen }),
    };
  }
  const base = { tsUs, callId };
  switch (lane) {
    case 'media':
      return {
        ...base,
        kind: 'media',
        phase: e.phase === 'opened' || e.phase === 'closed' ? e.phase : 'stats',
        streamId: str(e.streamId),
        legTag: strOrNull(e.legTag),
        mediaIndex: num(e.mediaIndex),
        src: str(e.src),
        dst: str(e.dst),
        codec: strOrNull(e.codec),
        ssrc: numOrNull(e.ssrc),
        packets: num(e.packets),
        bytes: num(e.bytes),
        lost: num(e.lost),
        jitterUs: num(e.jitterUs),
        reason: strOrNull(e.reason),
        // The SDP link is by index in the exported call; it does not survive re-indexing.
        sdp: null,
      };
    case 'publish':
      return {
        ...base,
        kind: 'publish',
        phase: (['queued', 'written', 'replied', 'delivered', 'failed'] as const).find((p) => p === e.phase) ?? 'queued',
        event: str(e.event),
        target: str(e.target),
        src: str(e.src),
        dst: str(e.dst),
        receivers: numOrNull(e.receivers),
        sinceQueuedUs: numOrNull(e.sinceQueuedUs),
        error: strOrNull(e.error),
      };
    case 'record':
      return {
        ...base,
        kind: 'record',
        phase: (['started', 'stopped', 'file-written', 'dropped'] as const).find((p) => p === e.phase) ?? 'started',
        src: str(e.src),
        dst: str(e.dst),
        path: strOrNull(e.path),
        packets: num(e.packets),
        dropped: num(e.dropped),
        // Absent in files written before the recorder reported frames not forwarded.
        framesDropped: num(e.framesDropped),
        detail: strOrNull(e.detail),
      };
    case 'note':
      return { ...base, kind: 'note', at: str(e.src), text: str(e.text, str(e.label)) };
    default:
      return null;
  }
}
