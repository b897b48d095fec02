/**
 * The set of calls being recorded, under one recordings folder.
 *
 * `start()` repairs what a crash left unfinished (repair.ts) and proves the
 * folder writable before any recording begins: a folder that cannot be
 * written puts the recorder in its error state with the reason, and every
 * `record` is refused with it, while the relay goes on relaying.
 *
 * `push` is the relay tap's entry: one Map lookup and a queue store
 * (CallRecording.push); a packet for a call not being recorded is counted
 * and ignored. A timer every `drainMs` drains every recording's queue, and
 * about once a second asks each to put its buffered audio on disk, so a
 * quiet call's few packets do not wait for its stop.
 *
 * Bounded: at most `maxRecordings` at once (`record` refuses beyond it), and
 * the finished ones are remembered `finishedKept` at a time, newest first,
 * with their file paths, for the UI to link.
 *
 * With a `forwarder`, each call's decoded PCM is also sent to an
 * application, from the drain (never the tap), and the call's forwarding
 * connections are ended when its recording stops.
 */
import { constants } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type CallIdentity, type CallRecordingFigures, type Direction, type DirectionPayloads, type RecordingSummary, CallRecording, CALL_RECORDING_DEFAULTS } from './call-recording';
import type { RecordingLayout } from './metadata';
import type { Forwarder, ForwarderStats } from './forward/forwarder';
import { type CallDropReport, DropReports } from './drop-reports';
import { type RepairReport, repairRecordings } from './repair';
import { fsErrorWhat, makeFolder } from './wav-file';

export interface RecorderOptions {
  dir: string;
  mix?: RecordingLayout;
  /** Per-call queue bound, packets. */
  queuePackets?: number;
  drainMs?: number;
  maxRecordings?: number;
  finishedKept?: number;
  clock: { nowUs(): number };
  /**
   * Where each recorded call's decoded PCM also goes (`--forward`): every
   * chunk is sent as decoded, and the call's connections are ended once its
   * recording has stopped; its figures are the stats' `forwarding`.
   * Absent: nothing is forwarded. Its owner closes it.
   */
  forwarder?: Pick<Forwarder, 'send' | 'end' | 'stats' | 'takeDropped'>;
  /**
   * Where each call's drops go (drop-reports.ts): packets dropped on the way
   * to its recording, PCM frames not forwarded for it. Called from the
   * drain's once-a-second tick, and by `reportDrops(true)`; never per packet.
   */
  onDrops?: (report: CallDropReport) => void;
}

export const RECORDER_DEFAULTS = { drainMs: 40, maxRecordings: 1000, finishedKept: 100 } as const;
/** How often each recording's buffer is written out whatever its size. */
const DISK_FLUSH_US = 1_000_000;

export type RecorderState = 'off' | 'starting' | 'on' | 'error';

export type RecordResult = { ok: true } | { ok: false; reason: string };

export interface RecorderTotals {
  /** Recordings started. */
  recorded: number;
  /** Finished without an error. */
  stopped: number;
  /** Finished with an error (disk full, unwritable file, sidecar not written). */
  failed: number;
  /** `record` calls refused (recorder off or in error, limit reached, no Call-ID). */
  refused: number;
  /** Packets dropped on their way to a recording (the relay's tap, a full per-call queue), all recordings. */
  drops: number;
  /** Packets pushed for a call not being recorded. */
  unknownCall: number;
  /** Data bytes on disk, all recordings. */
  bytes: number;
}

export interface RecorderStats {
  state: RecorderState;
  error: string | null;
  dir: string;
  active: CallRecordingFigures[];
  finished: RecordingSummary[];
  totals: RecorderTotals;
  /** What start() repaired; null before it ran. */
  repair: RepairReport | null;
  /** The PCM forwarding to an application (`--forward`): its connections and totals; null when nothing is forwarded. */
  forwarding: ForwarderStats | null;
}

export type RecorderStartResult = { ok: true; repair: RepairReport } | { ok: false; reason: string; repair: RepairReport };

export class Recorder {
  private state: RecorderState = 'off';
  private error: string | null = null;
  private repair: RepairReport | null = null;
  private readonly active = new Map<string, CallRecording>();
  private readonly stopping = new Set<CallRecording>();
  private finished: RecordingSummary[] = [];
  private readonly totals = { recorded: 0, stopped: 0, failed: 0, refused: 0, unknownCall: 0, finishedDrops: 0, finishedBytes: 0 };
  private timer: ReturnType<typeof setInterval> | null = null;
  private starting: Promise<RecorderStartResult> | null = null;
  private lastDiskFlushUs = 0;
  private readonly dropReports = new DropReports();
  private readonly maxRecordings: number;
  private readonly finishedKept: number;
  private readonly drainMs: number;

  get dir(): string {
    return this.opts.dir;
  }

  /** The layout of recordings started from now on. */
  mix: RecordingLayout;

  constructor(private readonly opts: RecorderOptions) {
    this.mix = opts.mix ?? CALL_RECORDING_DEFAULTS.mix;
    this.maxRecordings = whole(opts.maxRecordings, RECORDER_DEFAULTS.maxRecordings);
    this.finishedKept = whole(opts.finishedKept, RECORDER_DEFAULTS.finishedKept);
    this.drainMs = whole(opts.drainMs, RECORDER_DEFAULTS.drainMs);
  }

  /** Repairs unfinished WAVs, checks the folder is writable, starts the drain timer. Never rejects. */
  start(): Promise<RecorderStartResult> {
    if (this.state === 'on') return Promise.resolve({ ok: true, repair: this.repair! });
    this.starting ??= this.begin().finally(() => (this.starting = null));
    return this.starting;
  }

  private async begin(): Promise<RecorderStartResult> {
    this.state = 'starting';
    this.error = null;
    const dir = this.opts.dir;
    // A recording still being finalised (after close()) would look unfinished to the repair.
    await Promise.all([...this.stopping].map((r) => r.stop()));
    const repair = await repairRecordings(dir);
    this.repair = repair;
    const problem = await writeProblem(dir);
    if (problem !== null) {
      this.state = 'error';
      this.error = `cannot write recordings to ${dir}: ${problem}`;
      return { ok: false, reason: this.error, repair };
    }
    this.state = 'on';
    this.timer ??= setInterval(() => this.drain(), this.drainMs);
    this.timer.unref?.();
    return { ok: true, repair };
  }

  /** Starts recording a call; already recording it is success. */
  record(call: CallIdentity & { payloads?: DirectionPayloads }): RecordResult {
    const refuse = (reason: string): RecordResult => {
      this.totals.refused++;
      return { ok: false, reason };
    };
    if (this.state !== 'on') return refuse(this.state === 'error' ? this.error! : `the recorder is ${this.state === 'off' ? 'off' : 'starting'}`);
    if (typeof call.callId !== 'string' || call.callId === '') return refuse('no Call-ID');
    if (this.active.has(call.callId)) return { ok: true };
    if (this.active.size >= this.maxRecordings) return refuse(`${this.maxRecordings} calls are being recorded already (the limit)`);
    const { payloads, ...identity } = call;
    const forwarder = this.opts.forwarder;
    const callId = call.callId;
    const rec = new CallRecording(identity, this.opts.dir, this.opts.clock.nowUs(), payloads, {
      mix: this.mix,
      queuePackets: this.opts.queuePackets,
      onPcm: forwarder === undefined ? undefined : (direction, samples) => forwarder.send(callId, direction, samples),
    });
    this.active.set(call.callId, rec);
    this.totals.recorded++;
    return { ok: true };
  }

  isRecording(callId: string): boolean {
    return this.active.has(callId);
  }

  /** The relay tap: true when queued for a recording. Never throws. */
  push(callId: string, direction: Direction, arrivalUs: number, packet: Buffer): boolean {
    const rec = this.active.get(callId);
    if (rec === undefined) {
      this.totals.unknownCall++;
      return false;
    }
    return rec.push(direction, arrivalUs, packet);
  }

  /**
   * Packets of a call dropped before they reached it (the relay's tap):
   * counted as its recording's drops. The relay reports them with its
   * shard's figures, which may come after the recording stopped (stopped by
   * hand, the tap still on for a moment): for a recording stopping or among
   * the finished ones they are still the call's, and the totals'. Ignored
   * for a call not recorded.
   */
  dropped(callId: string, direction: Direction, count: number): void {
    const rec = this.active.get(callId);
    if (rec !== undefined) return rec.dropped(direction, count);
    if (!(Number.isInteger(count) && count > 0) || !this.stoppedLately(callId)) return;
    this.totals.finishedDrops += count;
    this.dropReports.add(callId, count, 0);
  }

  /** The call's recording is stopping, or among the finished ones kept. */
  private stoppedLately(callId: string): boolean {
    for (const r of this.stopping) if (r.call.callId === callId) return true;
    return this.finished.some((s) => s.callId === callId);
  }

  /** Stops one call's recording, with what SIP has said of the call since it started; null when it was not being recorded. */
  async stopCall(callId: string, identity: Omit<CallIdentity, 'callId'> = {}): Promise<RecordingSummary | null> {
    const rec = this.active.get(callId);
    if (rec === undefined) return null;
    this.active.delete(callId);
    rec.complete(identity);
    return this.finish(rec);
  }

  /** Stops every recording; the recorder stays on. */
  async stopAll(): Promise<RecordingSummary[]> {
    const recs = [...this.active.values()];
    this.active.clear();
    return Promise.all(recs.map((r) => this.finish(r)));
  }

  /** Stops every recording and the timer: the recorder is off until started again. */
  async close(): Promise<RecordingSummary[]> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.state = 'off';
    return this.stopAll();
  }

  /** One timer tick: drains every recording; about once a second puts buffered audio on disk. Public so tests can run it. */
  drain(): void {
    for (const rec of this.active.values()) rec.drain();
    const now = this.opts.clock.nowUs();
    if (now - this.lastDiskFlushUs < DISK_FLUSH_US) return;
    this.lastDiskFlushUs = now;
    for (const rec of this.active.values()) rec.flushToDisk();
    this.reportDrops();
  }

  /**
   * Hands each call's drops found since the last tick to `onDrops`: the
   * recordings' (active ones, and those finished since) and the
   * forwarder's. A call reported in the last few seconds waits
   * (drop-reports.ts) unless `all`: the recorder's owner says so once its
   * forwarder has closed, so the frames dropped as the last connections
   * ended are reported too.
   */
  reportDrops(all = false): void {
    const reports = this.dropReports;
    for (const rec of this.active.values()) reports.add(rec.call.callId, rec.takeDrops(), 0);
    for (const [callId, frames] of this.opts.forwarder?.takeDropped() ?? []) reports.add(callId, 0, frames);
    const onDrops = this.opts.onDrops;
    for (const r of reports.take(this.opts.clock.nowUs(), all)) onDrops?.(r);
  }

  stats(): RecorderStats {
    const t = this.totals;
    const active = [...this.active.values()].map((r) => r.figures());
    let drops = t.finishedDrops;
    let bytes = t.finishedBytes;
    for (const a of [...active, ...[...this.stopping].map((r) => r.figures())]) {
      drops += a.caller.drops + a.callee.drops;
      bytes += a.bytes;
    }
    return {
      state: this.state,
      error: this.error,
      dir: this.opts.dir,
      active,
      finished: this.finished.map((s) => ({ ...s })),
      totals: { recorded: t.recorded, stopped: t.stopped, failed: t.failed, refused: t.refused, drops, unknownCall: t.unknownCall, bytes },
      repair: this.repair,
      forwarding: this.opts.forwarder?.stats() ?? null,
    };
  }

  private async finish(rec: CallRecording): Promise<RecordingSummary> {
    // Out of `active` now: its last drops wait for the next report here.
    this.dropReports.add(rec.call.callId, rec.takeDrops(), 0);
    this.stopping.add(rec);
    const s = await rec.stop(this.opts.clock.nowUs());
    // All its PCM has been handed out; the connections close on their own (bounded by the forwarder's end timeout), not awaited here.
    void this.opts.forwarder?.end(rec.call.callId);
    this.stopping.delete(rec);
    if (s.error === null) this.totals.stopped++;
    else this.totals.failed++;
    this.totals.finishedDrops += s.drops;
    this.totals.finishedBytes += s.bytes;
    this.finished.unshift(s);
    if (this.finished.length > this.finishedKept) this.finished.length = this.finishedKept;
    return s;
  }
}

/**
 * Why `dir` cannot take recordings ("permission denied (EACCES)"), or null:
 * creates it if missing, then creates, writes and removes a probe file,
 * which is what recording will do.
 */
async function writeProblem(dir: string): Promise<string | null> {
  const probe = join(dir, `.callpath-write-check-${process.pid}`);
  try {
    await makeFolder(dir);
    // A probe left by a process of the same id that died mid-check.
    await unlink(probe).catch(() => undefined);
    const fh = await open(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      await fh.writeFile('ok\n');
    } finally {
      await fh.close();
      await unlink(probe).catch(() => undefined);
    }
    return null;
  } catch (err) {
    return fsErrorWhat(err); // the folder is named by the caller
  }
}

function whole(v: number | undefined, fallback: number): number {
  return v !== undefined && Number.isInteger(v) && v > 0 ? v : fallback;
}
