/**
 * The recorder panel's figures, the pure part: each number with what it
 * counts and where it is measured (its tooltip), the warning shown while the
 * recorder or a recording is in error, the rows of the active and the
 * finished recordings, what the start-up repair fixed, and the one line
 * shown while the recorder has no figures (stopped: how to start it).
 * Unit-tested without a DOM (test/unit/recorder-ui.test.ts).
 */
import { LIVE_SOURCE, callKey, type ComponentStatus, type Snapshot } from '../../../app/contract';
import { formatBytes } from '../files/logic';
import type { Figure } from '../publish/figures';
import { formatDuration, formatDurationShort } from '../relay/sessions';

export type { Figure };

/** The snapshot's recorder section, and its parts, as the contract carries them. */
export type RecorderStats = NonNullable<Snapshot['recorder']>;
export type ActiveRecording = RecorderStats['active'][number];
export type FinishedRecording = RecorderStats['finished'][number];
export type RepairReport = NonNullable<RecorderStats['repair']>;

/** Where every figure of the panel comes from, said once in its title. */
export const MEASURED = "engine: the recorder's own counters, since the recorder last started; per recording, since that recording started";

const SINCE = 'since the recorder started (engine)';

/** The last part of a path, whichever separator the engine's system uses. */
export function fileName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

/** The panel's figures, in the order it shows them. */
export function recorderFigures(r: RecorderStats): Figure[] {
  const t = r.totals;
  const repair = repairFigure(r.repair);
  return [
    {
      id: 'state',
      label: 'state',
      value: r.state,
      title: `The recorder now (engine): on records; error refuses every recording with its reason (the relay keeps relaying); starting repairs unfinished WAVs and checks the folder first.${r.error ? `\n${r.error}` : ''}`,
      tone: r.state === 'error' ? 'error' : r.state === 'on' ? 'ok' : null,
    },
    {
      id: 'folder',
      label: 'folder',
      value: r.dir,
      title: `Where recordings go (--record DIR; default DATA/recordings): ${r.dir}/YYYY-MM-DD/, one stereo WAV (caller left, callee right) and one JSON sidecar per call.`,
      tone: null,
    },
    {
      id: 'recording',
      label: 'recording now',
      value: String(r.active.length),
      title: 'Calls being recorded now (engine): their rows are in the table.',
      tone: null,
    },
    {
      id: 'recorded',
      label: 'recorded',
      value: String(t.recorded),
      title: `Recordings started ${SINCE}: every call whose media the relay opened while the recorder ran, and every one started by hand (r, the API, NG).`,
      tone: null,
    },
    {
      id: 'stopped',
      label: 'stopped',
      value: String(t.stopped),
      title: `Recordings finished without an error ${SINCE}: WAV header finalised, sidecar written.`,
      tone: null,
    },
    {
      id: 'failed',
      label: 'failed',
      value: String(t.failed),
      title: `Recordings finished with an error ${SINCE} (disk full, a file that could not be written, a sidecar not written); what reached the disk is kept and its header finalised. The reasons are in the finished list.`,
      tone: t.failed > 0 ? 'error' : null,
    },
    {
      id: 'refused',
      label: 'refused',
      value: String(t.refused),
      title: `Requests to record a call that the recorder refused ${SINCE}: recorder in error, the limit of calls recorded at once reached, no Call-ID.`,
      tone: t.refused > 0 ? 'warn' : null,
    },
    {
      id: 'drops',
      label: 'drops',
      value: String(t.drops),
      title: `RTP packets dropped on their way to a recording ${SINCE}, every recording: the recorder fell behind (the relay's tap found the main thread too far behind, or a call's queue was full) and they were dropped rather than make the relay wait. The relayed call lost nothing; its WAV has a gap there.`,
      tone: t.drops > 0 ? 'warn' : null,
    },
    {
      id: 'unknown-call',
      label: 'unknown call',
      value: String(t.unknownCall),
      title: `Packets the relay's tap handed over for a call not being recorded ${SINCE} (a recording that had just stopped): counted and ignored.`,
      tone: null,
    },
    {
      id: 'bytes',
      label: 'on disk',
      value: formatBytes(t.bytes),
      title: `Audio data written ${SINCE}, every recording, running ones included (${t.bytes} bytes; WAV headers and sidecars not counted).`,
      tone: null,
    },
    repair,
  ];
}

/** At most this many files named in the repair's tooltip. */
const REPAIR_LISTED = 8;

/** What the start-up repair did, as a figure: files fixed out of those checked, and what it could not fix. */
export function repairFigure(p: RecorderStats['repair']): Figure {
  if (p === null) {
    return { id: 'repair', label: 'start-up repair', value: '—', title: 'The start-up repair has not run yet (it runs as the recorder starts).', tone: null };
  }
  const lines = [
    `At the recorder's start (engine), WAVs a crash left unfinished under the folder's day folders got header sizes covering the samples on disk, so they play: ${p.repaired.length} repaired of ${p.checked} checked.`,
    ...p.repaired.slice(0, REPAIR_LISTED).map((w) => `repaired ${fileName(w.path)}: ${formatDuration(w.durationMs)} (${w.why})`),
    ...p.failed.slice(0, REPAIR_LISTED).map((w) => `not repaired ${fileName(w.path)}: ${w.reason}`),
  ];
  const more = Math.max(0, p.repaired.length - REPAIR_LISTED) + Math.max(0, p.failed.length - REPAIR_LISTED);
  if (more > 0) lines.push(`… and ${more} more.`);
  if (p.skipped > 0) lines.push(`${p.skipped} symbolic link${p.skipped === 1 ? '' : 's'} or other non-file${p.skipped === 1 ? '' : 's'} with a .wav name left alone.`);
  if (p.truncated) lines.push('The scan stopped at its bound: older day folders were not looked at.');
  return {
    id: 'repair',
    label: 'start-up repair',
    value: `${p.repaired.length} repaired / ${p.checked} checked${p.failed.length > 0 ? ` · ${p.failed.length} failed` : ''}`,
    title: lines.join('\n'),
    tone: p.failed.length > 0 ? 'error' : p.repaired.length > 0 || p.truncated ? 'warn' : null,
  };
}

/** The line above the figures while the recorder, or any recording, is in error; null when all is well. */
export function recorderWarning(r: RecorderStats): { text: string; title: string } | null {
  if (r.state === 'error') {
    return {
      text: `recorder error: ${r.error ?? 'no reason given'}`,
      title: 'The recorder refuses every recording with this reason until it is started again (stop and start it with the recorder toggle once the cause is fixed). The relay keeps relaying; nothing already written is lost.',
    };
  }
  const broken = r.active.filter((a) => a.state === 'error');
  if (broken.length === 0) return null;
  return {
    text: `${broken.length} recording${broken.length === 1 ? '' : 's'} in error: ${broken[0]!.error ?? 'no reason given'}`,
    title: `Recordings whose file failed (disk full, an unwritable file): the packets are still taken and counted, and the header is finalised on stop for what reached the disk.\n${broken.map((a) => `${a.callId}: ${a.error ?? '?'}`).join('\n')}`,
  };
}

/** One direction's packets and drops on the way to the recorder ("1234 · ⚠ 3"), the drops in the warning colour. */
export interface DirectionCell {
  text: string;
  tone: 'warn' | null;
}

function directionCell(d: ActiveRecording['caller']): DirectionCell {
  return d.drops > 0 ? { text: `${d.packets} · ⚠ ${d.drops}`, tone: 'warn' } : { text: String(d.packets), tone: null };
}

export interface ActiveView {
  /** The call store's key (recordings are live calls): what selecting the row selects. */
  key: string;
  callId: string;
  duration: string;
  size: string;
  caller: DirectionCell;
  callee: DirectionCell;
  tone: 'warn' | 'error' | null;
  title: string;
}

/** One row of the active recordings table. */
export function activeView(a: ActiveRecording): ActiveView {
  const drops = a.caller.drops + a.callee.drops;
  return {
    key: callKey(LIVE_SOURCE, a.callId),
    callId: a.callId,
    duration: formatDurationShort(a.durationMs),
    size: formatBytes(a.bytes),
    caller: directionCell(a.caller),
    callee: directionCell(a.callee),
    tone: a.state === 'error' ? 'error' : drops > 0 ? 'warn' : null,
    title: [
      `Call-ID ${a.callId} — click to select the call`,
      `${a.state}${a.error ? `: ${a.error}` : ''}; ${formatDuration(a.durationMs)} of audio, ${a.bytes} bytes on disk so far (engine, now).`,
      `Packets taken from the relay · refused by the full queue: caller ${a.caller.packets} · ${a.caller.drops}, callee ${a.callee.packets} · ${a.callee.drops}; ${a.queued} waiting to be decoded.`,
      drops > 0 ? 'Refused packets are gaps in the WAV: the recorder fell behind and dropped them rather than make the relay wait.' : null,
      `WAV ${a.wav}`,
      `sidecar ${a.metadata}`,
    ]
      .filter((l) => l !== null)
      .join('\n'),
  };
}

export interface FinishedView {
  key: string;
  callId: string;
  wav: string;
  metadata: string;
  /** The WAV's full path (what the desktop app's "show in folder" opens). */
  wavPath: string;
  /** Where the WAV and the sidecar are served (the lab server: a browser plays and saves them from there); null where nothing serves them. */
  wavUrl: string | null;
  metadataUrl: string | null;
  duration: string;
  size: string;
  /** Packets refused by the queue plus samples the file dropped, or null when none. */
  drops: string | null;
  error: string | null;
  tone: 'warn' | 'error' | null;
  title: string;
}

/** One row of the finished recordings list (the engine keeps the newest first); `url`: the api's `recordingUrl`. */
export function finishedView(s: FinishedRecording, url: ((path: string) => string) | null = null): FinishedView {
  const error = s.error ?? s.metadataError;
  const lost = s.drops > 0 || s.droppedSamples > 0;
  return {
    key: callKey(LIVE_SOURCE, s.callId),
    callId: s.callId,
    wav: fileName(s.wav),
    metadata: fileName(s.metadata),
    wavPath: s.wav,
    wavUrl: url ? url(s.wav) : null,
    metadataUrl: url ? url(s.metadata) : null,
    duration: formatDurationShort(s.durationMs),
    size: formatBytes(s.bytes),
    drops: lost ? `⚠ ${s.drops} pkts${s.droppedSamples > 0 ? `, ${s.droppedSamples} samples` : ''}` : null,
    error,
    tone: error !== null ? 'error' : lost ? 'warn' : null,
    title: [
      `Call-ID ${s.callId} — click to select the call`,
      `${formatDuration(s.durationMs)} of audio, ${s.bytes} bytes as the finalised WAV header declares (engine).`,
      `Packets dropped on the way to the recorder (the relay's tap behind, the call's queue full) ${s.drops}; samples the file could not take (buffer full, file error) ${s.droppedSamples}.`,
      s.error ? `error: ${s.error}` : null,
      s.metadataError && s.metadataError !== s.error ? `sidecar not written: ${s.metadataError}` : null,
      `WAV ${s.wav}`,
      `sidecar ${s.metadata}`,
    ]
      .filter((l) => l !== null)
      .join('\n'),
  };
}

/** Finished recordings the panel lists (the engine keeps more). */
export const FINISHED_SHOWN = 20;

/** How to get the recorder going, said wherever it is stopped. */
export const HOW_TO_START = 'start it with the recorder toggle above (it then records every call the relay carries; r records or stops the selected call); --record DIR records from launch, --record off disables it (both can also be set in Settings: Recorder, Directory)';

/** Why the recorder has no figures, in one line, from its component status. */
export function recorderAbsentLine(status: ComponentStatus | undefined): string {
  if (!status) return 'No recorder in this engine.';
  const why = status.error ?? status.detail;
  switch (status.state) {
    case 'not-implemented':
      return why ?? 'Recorder not built.';
    case 'failed':
      return `Recorder failed${status.error ? `: ${status.error}` : ''} — calls are not recorded; fix the cause and ${HOW_TO_START}.`;
    case 'starting':
      return 'Recorder starting: repairing unfinished WAVs and checking the folder…';
    case 'stopping':
      return 'Recorder stopping: finalising its WAVs…';
    case 'running':
      return 'Recorder running; its first figures are on their way.';
    case 'stopped':
      // A start refused by the config (--record off) leaves its reason as the error.
      return `Recorder stopped${status.error ? ` (${status.error.replace(/\.$/, '')})` : ''} — calls are not recorded. To record, ${HOW_TO_START}.`;
    default:
      return `Recorder ${status.state}${why ? ` — ${why}` : ''}`;
  }
}
