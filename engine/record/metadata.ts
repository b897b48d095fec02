/**
 * The JSON sidecar beside each recording, and where both files go.
 *
 *   DIR/2024-05-01/093015.123Z-a84b4c76e66710-3f1c2a9b.wav
 *   DIR/2024-05-01/093015.123Z-a84b4c76e66710-3f1c2a9b.json
 *
 * Day folder and time are UTC, as the ISO times in the sidecar are, so the
 * names sort in time order whatever the host's time zone. The Call-ID comes
 * from the network: only letters, digits and `.`, `_`, `-`, `@`, `+` are
 * kept, runs of dots become `_` (no `..`), it is cut to 48 characters, and a
 * hash of the whole Call-ID follows, so two Call-IDs that clean up the same
 * still get two files.
 *
 * The document is versioned (`"version": 1`): a reader checks the version
 * before trusting the fields; a field added later bumps it.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsErrorText, makeFolder } from './wav-file';
import { type WavChannels, blockAlign } from './wav';

export const RECORDING_METADATA_VERSION = 1;
/** Characters of the cleaned Call-ID kept in a file name; the hash keeps longer ones apart. */
export const CALL_ID_NAME_CHARS = 48;

export const RECORDING_LAYOUTS = ['stereo', 'mono'] as const;
export type RecordingLayout = (typeof RECORDING_LAYOUTS)[number];

export const LAYOUT_TEXT: Record<RecordingLayout, string> = {
  stereo: 'stereo: caller left, callee right',
  mono: 'mono: caller and callee mixed',
};

export interface RecordingPaths {
  /** "2024-05-01" (UTC). */
  day: string;
  /** The shared file name without extension. */
  base: string;
  wav: string;
  metadata: string;
}

/** Where the recording of `callId` started at `startUs` (wall-clock µs) goes under `dir`. */
export function recordingPaths(dir: string, callId: string, startUs: number): RecordingPaths {
  const iso = isoFromUs(startUs);
  const day = iso.slice(0, 10);
  const time = iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 23) + 'Z';
  const base = `${time}-${safeCallId(callId)}-${hash8(callId)}`;
  return { day, base, wav: join(dir, day, base + '.wav'), metadata: join(dir, day, base + '.json') };
}

/** The Call-ID as a file-name fragment: never empty, never a path, at most CALL_ID_NAME_CHARS. */
export function safeCallId(callId: string): string {
  const s = callId
    .replace(/[^A-Za-z0-9._@+-]+/g, '_')
    .replace(/\.{2,}/g, '_')
    .slice(0, CALL_ID_NAME_CHARS);
  return s === '' ? 'no-call-id' : s;
}

const hash8 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 8);

/** "2024-05-01T09:30:15.123456Z": ISO 8601 UTC with the microseconds Date would drop. A non-finite time is a caller bug: RangeError. */
export function isoFromUs(us: number): string {
  const ms = Math.floor(us / 1000);
  const micro = String(Math.floor(us - ms * 1000)).padStart(3, '0');
  return new Date(ms).toISOString().slice(0, -1) + micro + 'Z';
}

/** A payload type seen but not decoded into the WAV: telephone-event, comfort noise, or a codec the recorder does not decode. */
export interface UndecodedPayload {
  payloadType: number;
  /** From the SDP or RFC 3551 ("G729", "telephone-event"); null when nothing names it. */
  name: string | null;
  packets: number;
}

/** One direction (caller → relay, callee → relay) as the recorder saw it. */
export interface RecordingDirection {
  /** The codec decoded into the WAV ("PCMU", "PCMA"); null when none was. */
  codec: string | null;
  undecoded: UndecodedPayload[];
  /** Packets that reached the recorder. */
  packets: number;
  /** Never reached the recorder, lost on the network or dropped on the way (`drops`): the gap was filled with silence. */
  lost: number;
  /** Arrived after their place in the jitter buffer had been played out. */
  late: number;
  duplicates: number;
  /** Dropped on the way to the recorder when it fell behind the relay: by the relay's tap (the main thread too far behind) or the recording's bounded queue. Among `lost`. */
  drops: number;
}

export interface RecordingParty {
  uri: string | null;
  tag: string | null;
}

export interface RecordingMetadataInput {
  callId: string;
  from: RecordingParty;
  to: RecordingParty;
  startUs: number;
  /** null while the recording runs. */
  endUs: number | null;
  caller: RecordingDirection;
  callee: RecordingDirection;
  paths: RecordingPaths;
  layout: RecordingLayout;
  sampleRate: number;
  /** Data bytes in the WAV (header not included). */
  dataBytes: number;
  /** Samples the WAV writer dropped (buffer full, after an error). */
  droppedSamples: number;
  error: string | null;
}

export interface RecordingTime {
  us: number;
  iso: string;
}

export interface RecordingMetadata {
  version: typeof RECORDING_METADATA_VERSION;
  callId: string;
  from: RecordingParty;
  to: RecordingParty;
  start: RecordingTime;
  end: RecordingTime | null;
  /** Names relative to the sidecar (they sit side by side), and the day folder relative to the recordings folder. */
  files: { folder: string; wav: string; metadata: string };
  channels: { count: WavChannels; layout: string };
  sampleRate: number;
  bitsPerSample: 16;
  bytes: number;
  durationMs: number;
  droppedSamples: number;
  directions: { caller: RecordingDirection; callee: RecordingDirection };
  error: string | null;
}

/** The sidecar document for a recording. */
export function buildRecordingMetadata(m: RecordingMetadataInput): RecordingMetadata {
  const channels: WavChannels = m.layout === 'stereo' ? 2 : 1;
  const frames = Math.floor(m.dataBytes / blockAlign(channels));
  const dir = (d: RecordingDirection): RecordingDirection => ({ ...d, undecoded: d.undecoded.map((u) => ({ ...u })) });
  return {
    version: RECORDING_METADATA_VERSION,
    callId: m.callId,
    from: { uri: m.from.uri, tag: m.from.tag },
    to: { uri: m.to.uri, tag: m.to.tag },
    start: { us: m.startUs, iso: isoFromUs(m.startUs) },
    end: m.endUs === null ? null : { us: m.endUs, iso: isoFromUs(m.endUs) },
    files: { folder: m.paths.day, wav: basename(m.paths.wav), metadata: basename(m.paths.metadata) },
    channels: { count: channels, layout: LAYOUT_TEXT[m.layout] },
    sampleRate: m.sampleRate,
    bitsPerSample: 16,
    bytes: m.dataBytes,
    durationMs: Math.round((frames / m.sampleRate) * 1000),
    droppedSamples: m.droppedSamples,
    directions: { caller: dir(m.caller), callee: dir(m.callee) },
    error: m.error,
  };
}

export type WriteResult = { ok: true } | { ok: false; reason: string };

/**
 * Writes the sidecar atomically: to `NAME.json.tmp`, flushed to disk, then
 * renamed over `NAME.json`, so a reader (or a crash) sees the old document
 * or the new one, never half of one. Never throws.
 */
export async function writeRecordingMetadata(path: string, doc: RecordingMetadata): Promise<WriteResult> {
  const tmp = path + '.tmp';
  let fh: FileHandle | null = null;
  let doing = 'creating the folder for';
  try {
    await makeFolder(dirname(path));
    doing = 'writing';
    // O_NOFOLLOW: a link planted at the .tmp name is refused, not written through.
    fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
    await fh.writeFile(JSON.stringify(doc, null, 2) + '\n', 'utf8');
    await fh.sync();
    await fh.close();
    fh = null;
    doing = 'renaming into place';
    await rename(tmp, path);
    return { ok: true };
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    return { ok: false, reason: fsErrorText(err, doing, doing === 'writing' ? tmp : path) };
  }
}
