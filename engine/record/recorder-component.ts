/**
 * The recorder as an engine part (`recorder` in the component list): on
 * means it records calls the relay carries — every call whose media opens
 * while it runs, and any call started by hand (the console's `r`, the API,
 * NG `start recording`) — off means it records none. Stopping it finalises
 * every recording it holds. The packets come from the relay's tap (the
 * host connects `push` and `dropped` to `Relay.tap`); this never touches a socket.
 *
 * Each start and stop of a call's recording is a `record` event on the
 * call's ladder, with the file and the figures; what the recorder lost of
 * a call (packets on the way to its recording, PCM frames not forwarded)
 * is a `dropped` event, from the recorder's once-a-second tick (at most one
 * per call every few seconds: drop-reports.ts), never one per packet.
 *
 * With a forward target (`--forward`), each start makes one Forwarder, whose
 * connections carry every recorded call's decoded PCM to the application
 * (forward/forwarder.ts); each stop closes it, after the recordings, so
 * their last audio goes out first (bounded by its end timeout).
 */
import type { ComponentImpl } from '../component';
import type { EngineContext } from '../engine';
import type { RecordEvent } from '../events';
import type { CallIdentity, Direction, DirectionPayloads, RecordingSummary } from './call-recording';
import type { CallDropReport } from './drop-reports';
import { type ForwardTarget, Forwarder, FORWARDER_DEFAULTS } from './forward/forwarder';
import type { RecordingLayout } from './metadata';
import { Recorder, type RecorderStats, type RecordResult } from './recorder';

export interface RecorderSettings {
  /** Where recordings go (`--record DIR`, default DATA/recordings). */
  dir: string;
  /** Why the recorder is switched off (`--record off`), or null. */
  off: string | null;
  mix: RecordingLayout;
  /** Where recorded calls' PCM also goes (`--forward HOST:PORT`, TCP or TLS), or null. */
  forward: ForwardTarget | null;
  /** Bytes held per forwarding connection at most (the forwarder's default when left out). */
  queueBytes?: number;
}

export class RecorderComponent implements ComponentImpl {
  readonly name = 'recorder' as const;
  private recorder: Recorder | null = null;
  private forwarder: Forwarder | null = null;

  constructor(
    private readonly ctx: EngineContext,
    private readonly settings: () => RecorderSettings,
  ) {}

  get endpoint(): string {
    return `dir ${this.settings().dir}`;
  }

  offReason(): string | null {
    return this.settings().off;
  }

  detail(): string | null {
    const off = this.offReason();
    if (off) return off;
    const r = this.recorder?.stats();
    if (!r) return `calls are not recorded; on: every call the relay carries goes to ${this.settings().dir}`;
    const f = r.forwarding;
    const forwarding = f ? `; PCM forwarded to ${f.target} over ${f.tls ? 'TLS' : 'TCP'}, ${f.totals.active} connection${f.totals.active === 1 ? '' : 's'} open, ${f.totals.framesDropped} frames dropped` : '';
    return `${r.active.length} recording now, ${r.totals.recorded} since start, ${r.totals.failed} failed, in ${r.dir}${forwarding}`;
  }

  async start(): Promise<void> {
    const s = this.settings();
    const forwarder = s.forward === null ? null : new Forwarder({ ...s.forward, backoff: FORWARDER_DEFAULTS.backoff, clock: this.ctx.clock, ...(s.queueBytes === undefined ? {} : { queueBytes: s.queueBytes }) });
    const recorder = new Recorder({ dir: s.dir, mix: s.mix, clock: this.ctx.clock, onDrops: (r) => this.emitDropped(r), ...(forwarder ? { forwarder } : {}) });
    const started = await recorder.start();
    if (!started.ok) {
      await recorder.close();
      await forwarder?.close();
      throw new Error(started.reason);
    }
    this.recorder = recorder;
    this.forwarder = forwarder;
  }

  async stop(): Promise<void> {
    const recorder = this.recorder;
    const forwarder = this.forwarder;
    this.recorder = null;
    this.forwarder = null;
    if (!recorder) return;
    const packets = packetsOf(recorder);
    for (const summary of await recorder.close()) this.emitStopped(summary, packets.get(summary.callId) ?? 0);
    // After the recordings: their last PCM was handed over as they stopped.
    await forwarder?.close();
    // What the recordings and the connections lost as they ended, reported now rather than never.
    recorder.reportDrops(true);
  }

  get running(): boolean {
    return this.recorder !== null;
  }

  /** A new mix is for the recordings started from now on (those in progress keep theirs); a new folder needs a restart. */
  async applyLive(): Promise<boolean> {
    const recorder = this.recorder;
    const s = this.settings();
    if (!recorder || s.off !== null || recorder.dir !== s.dir) return false;
    recorder.mix = s.mix;
    return true;
  }

  stats(): RecorderStats | null {
    return this.recorder?.stats() ?? null;
  }

  isRecording(callId: string): boolean {
    return this.recorder?.isRecording(callId) ?? false;
  }

  /** Starts recording a call (already recording: success); the reason when the recorder is off or refuses. */
  record(call: CallIdentity & { payloads?: DirectionPayloads }): RecordResult {
    const recorder = this.recorder;
    if (!recorder) return { ok: false, reason: 'the recorder is stopped: start it first' };
    if (recorder.isRecording(call.callId)) return { ok: true };
    const r = recorder.record(call);
    if (r.ok) {
      const fig = recorder.stats().active.find((a) => a.callId === call.callId);
      this.emit(call.callId, 'started', fig?.wav ?? null, 0, 0, null);
    }
    return r;
  }

  /** Stops a call's recording and finalises its files (with what SIP has said of the call by now); null when it was not recording. */
  async stopCall(callId: string, identity: Omit<CallIdentity, 'callId'> = {}): Promise<RecordingSummary | null> {
    const recorder = this.recorder;
    if (!recorder) return null;
    const packets = packetsOf(recorder).get(callId) ?? 0;
    const summary = await recorder.stopCall(callId, identity);
    if (summary) this.emitStopped(summary, packets);
    return summary;
  }

  /** A tapped packet (the relay's `tap`): queued for the call's recording, never waited on. */
  push(callId: string, direction: Direction, arrivalUs: number, packet: Buffer): void {
    this.recorder?.push(callId, direction, arrivalUs, packet);
  }

  /** Packets of a call the relay's tap dropped before they reached us: counted with the recording's drops. */
  dropped(callId: string, direction: Direction, count: number): void {
    this.recorder?.dropped(callId, direction, count);
  }

  private emitStopped(s: RecordingSummary, packets: number): void {
    const detail = [`${(s.durationMs / 1000).toFixed(1)} s`, `${s.bytes} bytes`, s.error].filter(Boolean).join(', ');
    this.emit(s.callId, 'stopped', s.wav, packets, s.drops, detail);
  }

  private emitDropped(r: CallDropReport): void {
    this.emit(r.callId, 'dropped', null, 0, r.drops, null, r.framesDropped);
  }

  private emit(callId: string, phase: RecordEvent['phase'], path: string | null, packets: number, dropped: number, detail: string | null, framesDropped = 0): void {
    this.ctx.events.emit({ kind: 'record', tsUs: this.ctx.clock.nowUs(), callId, phase, src: 'relay', dst: `record:${this.settings().dir}`, path, packets, dropped, framesDropped, detail });
  }
}

/** Packets taken so far per recording (both directions), before a stop drops them from the active list. */
function packetsOf(recorder: Recorder): Map<string, number> {
  return new Map(recorder.stats().active.map((a) => [a.callId, a.caller.packets + a.callee.packets] as const));
}
