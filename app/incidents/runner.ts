/**
 * Runs one incident of the catalogue (catalog.ts) on the live lab: sets up
 * its bad configuration through the same settings, components and load
 * controls the console offers, switches to the fix, and puts everything
 * it changed back when stopped. Its checks are evaluated over what happened
 * since the current phase began, from the call store and the engine's
 * counters (differences from their values at the phase's start).
 */
import type { ApplySettingsResult, LabSettings, SettingsPatch, SubscriberLoadRequest } from '../contract';
import type { Engine } from '../../engine/engine';
import type { ComponentName } from '../../engine/component';
import type { CallRecord } from '../../engine/call/model';
import { LIVE_SOURCE } from '../../engine/events';
import type { RelayStats } from '../../engine/rtp/stats';
import type { RecorderStats } from '../../engine/record/recorder';
import type { WireStats } from '../../engine/wire/tap';
import type { ForwardTarget } from '../../engine/record/forward/forwarder';
import { PcmSink } from '../../engine/traffic/pcm-sink';
import { checksOf, INCIDENTS, verdictOf, type IncidentCheck, type IncidentId, type IncidentInfo, type IncidentPhase, type PhaseFigures } from './catalog';

/** What the runner needs of the host (app/host.ts implements it). */
export interface IncidentHost {
  readonly engine: Engine;
  settings(): LabSettings;
  applySettings(patch: SettingsPatch): Promise<ApplySettingsResult>;
  setSubscriberLoad(req: SubscriberLoadRequest | null): Promise<unknown>;
  /** Simulated SIP workers in `inline` mode (null: the default); a running proxy takes it live. */
  setInlineWorkers(n: number | null): Promise<void>;
  /** Recorded calls' PCM to this target with this queue per connection (null: back to the config's `--forward`); restarts a running recorder. */
  setForwardOverride(f: { target: ForwardTarget; queueBytes: number } | null): Promise<void>;
}

/** The snapshot's `incident` section. */
export interface IncidentStatus extends IncidentInfo {
  phase: IncidentPhase;
  /** Shortened durations (tests, quick demos): the fix's timeouts and the restart period are shorter. */
  quick: boolean;
  /** Seconds since the phase began. */
  phaseSeconds: number;
  checks: IncidentCheck[];
  verdict: 'pass' | 'fail' | 'waiting';
  /** What the runner did, oldest first (the last 20 lines). */
  log: string[];
  /** Why the incident could not be set up as described, or null. */
  error: string | null;
  /** Every `restartEveryS` seconds the proxy (and the built-in endpoints with it) restarts: null when this incident does not. */
  restartEveryS: number | null;
}

interface Baseline {
  allocationFailures: number;
  relayDropped: number;
  pcmSent: number;
  pcmDropped: number;
}

/** What the snapshot carries that the checks read. */
export interface IncidentInputs {
  nowUs: number;
  relay: RelayStats | null;
  recorder: RecorderStats | null;
  wire: WireStats;
}

const LOG_MAX = 20;
/** Incident 1: the story's connections, on one pattern, reading as fast as they can (as ../shared/bench's pub-psub640). */
const SYNC_LOAD: SubscriberLoadRequest = { count: 640, patterns: 'same', slow: false };
/**
 * Incident 1: one simulated SIP worker, offered 200 calls/s. The story's
 * failure is Little's law (INVITEs/s × the wait per publish ≥ the workers
 * that can wait). On this box's loopback a PUBLISH to 641 connections waits
 * ~5–7 ms, not the hundreds of ms production saw, so one worker keeps up
 * with the story's 100 calls/s (57–83 % busy, 100 Trying p99 35–130 ms,
 * nothing re-sent: measured) and fails from about 1 ÷ the wait: offered 200
 * it stays collapsed (96–97 % busy, 100 Trying p99 0.7–1.4 s). Kamailio with
 * 4 children and the same 640 here is late at 300 calls/s (75 per child) and
 * collapses at 1,000 (250 per child; ../shared/bench).
 */
const SYNC_WORKERS = 1;
/** Incident 1's traffic: signalling only (as SIPp in ../shared/bench), at most 1,000 calls up at once, like a bounded caller population. */
const SYNC_TRAFFIC = 'cps=200 hold=1 max=1000 answer=0 busy=0 noanswer=0 cancel=0 loss=0 rtp=0';
/** Incident 2: 64 port pairs: 32 calls of two streams each. */
const LEAK_POOL_PORTS = 128;
/** Incident 3: the slow application's pace and pool, and the recorder's queue per connection. */
const SLOW_PCM_BYTES_PER_S = 256;
const SLOW_PCM_POOL = 8;
const PCM_QUEUE_BYTES = 64 * 1024;

/** Allocation failures and PCM drops are judged over this much of the phase, at most. */
const WINDOW_US = 10_000_000;
/** A call placed this long ago has had time for its retransmissions (T1 × 2⁴) and its final response. */
const SETTLE_US = 8_000_000;

const relayDropped = (r: RelayStats | null) => (r ? r.packets.noPeer + r.packets.sendErrors : 0);

export class IncidentRunner {
  private id: IncidentId | null = null;
  private phase: IncidentPhase = 'bad';
  private quick = false;
  private phaseStartUs = 0;
  private base: Baseline = { allocationFailures: 0, relayDropped: 0, pcmSent: 0, pcmDropped: 0 };
  private log: string[] = [];
  /** Counters sampled at each status, kept for the last WINDOW_US: what the checks judge over that window. */
  private samples: ({ us: number } & Baseline)[] = [];
  private error: string | null = null;
  /** Settings as they were before the incident changed them. */
  private restore: SettingsPatch = {};
  /** Components the incident started, stopped again at the end. */
  private started: ComponentName[] = [];
  private loadOn = false;
  private inlineWorkersSet = false;
  private sink: PcmSink | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private restarting: Promise<void> = Promise.resolve();
  /** One run, phase change or stop at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly host: IncidentHost,
    private readonly inputs: () => IncidentInputs,
  ) {}

  /** Starts the incident in `phase` (stopping another one first), or switches the running one's phase. */
  run(id: IncidentId, phase: IncidentPhase, quick: boolean): Promise<IncidentStatus> {
    return this.serial(async () => {
      if (this.id !== null && (this.id !== id || this.quick !== quick)) await this.doStop();
      if (this.id === null) {
        this.id = id;
        this.quick = quick;
        this.log = [];
        this.error = null;
        try {
          await this.setUp(id);
        } catch (err) {
          this.error = (err as Error).message;
          this.note(`could not set up: ${this.error}`);
        }
      }
      this.phase = phase;
      if (this.error === null) {
        try {
          await this.applyPhase(id, phase);
        } catch (err) {
          this.error = (err as Error).message;
          this.note(`could not switch to ${phase}: ${this.error}`);
        }
      }
      this.beginPhase();
      return this.status(this.inputs(), this.host.engine.calls.values())!;
    });
  }

  /** Ends the incident: its traffic, load and restarts stop, and the settings it changed go back. */
  stop(): Promise<void> {
    return this.serial(() => this.doStop());
  }

  get running(): boolean {
    return this.id !== null;
  }

  status(i: IncidentInputs, calls: Iterable<CallRecord>): IncidentStatus | null {
    const id = this.id;
    if (id === null) return null;
    const checks = checksOf(id, this.figures(i, calls));
    return {
      ...INCIDENTS[id],
      phase: this.phase,
      quick: this.quick,
      phaseSeconds: (i.nowUs - this.phaseStartUs) / 1e6,
      checks,
      verdict: this.error ? 'fail' : verdictOf(checks),
      log: this.log.slice(),
      error: this.error,
      restartEveryS: id === 'leaking-ports' ? this.restartPeriodS() : null,
    };
  }

  private serial<T>(step: () => Promise<T>): Promise<T> {
    const next = this.queue.then(step, step);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private note(line: string): void {
    this.log.push(line);
    if (this.log.length > LOG_MAX) this.log.splice(0, this.log.length - LOG_MAX);
  }

  private restartPeriodS(): number {
    return this.quick ? 3 : 5;
  }

  /** Patches settings, remembering the values they replace (the first time each is changed). */
  private async patch(p: SettingsPatch): Promise<void> {
    const before = this.host.settings();
    for (const k of Object.keys(p) as (keyof SettingsPatch)[]) if (!(k in this.restore)) (this.restore as Record<string, string>)[k] = before[k];
    const r = await this.host.applySettings(p);
    if (!r.ok) throw new Error(`${r.field}: ${r.error}`);
    if (r.failed.length > 0) throw new Error(r.failed.map((f) => `${f.name}: ${f.error}`).join('; '));
    this.note(`settings: ${Object.entries(p).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }

  /** Starts a component unless it runs; one the incident started is stopped at the end. */
  private async ensure(name: ComponentName): Promise<void> {
    const e = this.host.engine;
    if (e.status(name).state === 'running') return;
    const s = await e.start(name);
    if (s.state !== 'running') throw new Error(`${name} did not start: ${s.error ?? s.state}`);
    this.started.push(name);
    this.note(`started ${name}`);
  }

  private async setUp(id: IncidentId): Promise<void> {
    const e = this.host.engine;
    await this.ensure('proxy');
    switch (id) {
      case 'sync-publish': {
        if (e.status('publisher').state !== 'running') throw new Error(`the publisher is not running (${e.status('publisher').error ?? e.status('publisher').state}): this incident needs Redis (--redis auto or URL)`);
        // No RTP: the incident is the signalling path's (as the harness's SIPp reproduction), and the box's two cores go to Redis's fan-out.
        await this.patch({ traffic: SYNC_TRAFFIC });
        await this.host.setInlineWorkers(SYNC_WORKERS);
        this.inlineWorkersSet = true;
        this.note(`${SYNC_WORKERS} simulated SIP worker in inline mode`);
        // The application: one connection on call:*, draining the lists too. The 640 are the bad phase's (applyPhase).
        await this.ensure('consumer');
        break;
      }
      case 'leaking-ports': {
        const rtp = this.host.settings().rtp;
        const m = /^(.*):(\d+)-(\d+)$/.exec(rtp);
        if (!m) throw new Error(`cannot read the relay's range "${rtp}"`);
        const min = Number(m[2]);
        await this.patch({ rtp: `${m[1]}:${min}-${min + LEAK_POOL_PORTS - 1}`, traffic: 'cps=5 hold=3 max=200 answer=0 busy=0 noanswer=0 cancel=0 loss=0' });
        await this.ensure('relay');
        break;
      }
      case 'slow-pcm-consumer': {
        const sink = new PcmSink(SLOW_PCM_BYTES_PER_S, SLOW_PCM_POOL);
        const port = await sink.start();
        this.sink = sink;
        this.note(`the application listens on 127.0.0.1:${port}`);
        await this.host.setForwardOverride({ target: { target: { host: '127.0.0.1', port }, tls: null }, queueBytes: PCM_QUEUE_BYTES });
        await this.patch({ traffic: 'cps=10 hold=4 max=200 answer=0 busy=0 noanswer=0 cancel=0 loss=0' });
        await this.ensure('relay');
        await this.ensure('recorder');
        break;
      }
      case 'lossy-signalling':
        await this.ensure('relay');
        break;
    }
  }

  private async applyPhase(id: IncidentId, phase: IncidentPhase): Promise<void> {
    const bad = phase === 'bad';
    switch (id) {
      case 'sync-publish':
        // The production fix had two halves: publishing left the SIP worker, and the application's 640 pattern
        // subscriptions went (one connection hears every call; the list keeps what nobody heard). The mode alone
        // frees the calls; Redis stays amber while each PUBLISH still reaches 641 connections (the panel says so).
        await this.patch({ publishMode: bad ? 'inline' : 'pubsub+list' });
        if (bad && !this.loadOn) {
          await this.host.setSubscriberLoad(SYNC_LOAD);
          this.loadOn = true;
          this.note(`${SYNC_LOAD.count} pattern subscribers on call:*, in their own thread`);
        } else if (!bad && this.loadOn) {
          await this.host.setSubscriberLoad(null);
          this.loadOn = false;
          this.note(`the ${SYNC_LOAD.count} pattern subscribers unsubscribed: the application's one connection is left`);
        }
        break;
      case 'leaking-ports':
        await this.patch(
          bad
            ? { timeout: '3600', silentTimeout: '3600', offerTimeout: '3600', finalTimeout: '0' }
            : this.quick
              ? { timeout: '2', silentTimeout: '5', offerTimeout: '5', finalTimeout: '60' }
              : { timeout: '10', silentTimeout: '60', offerTimeout: '60', finalTimeout: '3600' },
        );
        this.startRestarts();
        break;
      case 'slow-pcm-consumer':
        this.sink?.setPace(bad ? SLOW_PCM_BYTES_PER_S : null, bad ? SLOW_PCM_POOL : null);
        this.note(bad ? `the application reads ${SLOW_PCM_BYTES_PER_S} bytes/s on at most ${SLOW_PCM_POOL} connections` : 'the application reads at full speed, any number of connections');
        break;
      case 'lossy-signalling':
        await this.patch({ traffic: `cps=20 hold=1 max=400 answer=0.2 busy=0 noanswer=0 cancel=0 loss=${bad ? 5 : 0}` });
        break;
    }
    await this.ensure('traffic');
  }

  /**
   * Incident 2's trigger, in both phases: the proxy stops (the calls up
   * lose their dialogs: the endpoints' BYEs go nowhere), the built-in
   * endpoints drop their calls with it, and both start again.
   */
  private startRestarts(): void {
    if (this.restartTimer) return;
    const e = this.host.engine;
    this.restartTimer = setInterval(() => {
      this.restarting = this.restarting.then(async () => {
        if (this.id !== 'leaking-ports') return;
        await e.stop('proxy');
        await e.stop('traffic');
        await e.start('proxy');
        await e.start('traffic');
      }).catch(() => undefined);
    }, this.restartPeriodS() * 1000);
    this.restartTimer.unref();
  }

  private beginPhase(): void {
    const i = this.inputs();
    this.phaseStartUs = i.nowUs;
    const f = i.recorder?.forwarding?.totals;
    this.samples = [];
    this.base = { allocationFailures: i.relay?.ports.allocationFailures ?? 0, relayDropped: relayDropped(i.relay), pcmSent: f?.framesSent ?? 0, pcmDropped: f?.framesDropped ?? 0 };
    this.note(`phase: ${this.phase}`);
  }

  private async doStop(): Promise<void> {
    if (this.id === null) return;
    const e = this.host.engine;
    if (this.restartTimer) clearInterval(this.restartTimer);
    this.restartTimer = null;
    this.id = null;
    await this.restarting;
    await e.stop('traffic');
    if (this.loadOn) await this.host.setSubscriberLoad(null).catch(() => undefined);
    this.loadOn = false;
    for (const name of this.started.reverse()) if (name !== 'proxy') await e.stop(name);
    this.started = [];
    if (this.sink) {
      await this.host.setForwardOverride(null);
      await this.sink.close();
      this.sink = null;
    }
    if (this.inlineWorkersSet) await this.host.setInlineWorkers(null);
    this.inlineWorkersSet = false;
    const restore = this.restore;
    this.restore = {};
    if (Object.keys(restore).length > 0) await this.host.applySettings(restore);
    if (e.status('proxy').state !== 'running') await e.start('proxy');
  }

  private figures(i: IncidentInputs, calls: Iterable<CallRecord>): PhaseFigures {
    const since = this.phaseStartUs;
    const windowFrom = Math.max(since, i.nowUs - WINDOW_US);
    const trying: number[] = [];
    let n = 0;
    let windowCalls = 0;
    let retransmittedCalls = 0;
    let retransmissions = 0;
    let inviteRetransmittedCalls = 0;
    let answered = 0;
    let refused503 = 0;
    let ended = 0;
    let settled = 0;
    let settledEnded = 0;
    let lossyCalls = 0;
    for (const c of calls) {
      if (c.source !== LIVE_SOURCE || c.inviteInUs === null || c.inviteInUs < since) continue;
      n++;
      if (c.retransmissions > 0) retransmittedCalls++;
      retransmissions += c.retransmissions;
      if (c.inviteInUs >= windowFrom) {
        windowCalls++;
        if (c.timings.trying100Us !== null) trying.push(c.timings.trying100Us);
        // The caller's copies only (the story's symptom): the proxy's own Timer A toward the callee counts in retransmissionsByKind too.
        if ((c.retransmissionsByKind.INVITE ?? 0) > 0 && c.entries.some((e) => e.kind === 'sip' && e.retransmission && e.method === 'INVITE' && e.direction === 'in')) inviteRetransmittedCalls++;
      }
      const old = i.nowUs - c.inviteInUs > SETTLE_US;
      if (old) settled++;
      if (c.finalStatus !== null) {
        ended++;
        if (old) settledEnded++;
        if (c.finalStatus >= 200 && c.finalStatus < 300) answered++;
        if (c.finalStatus === 503) refused503++;
      }
      if (c.media !== null && c.media.lost > 0) lossyCalls++;
    }
    trying.sort((a, b) => a - b);
    const r = i.relay;
    const f = i.recorder?.forwarding?.totals ?? null;
    // Failures are judged over the last 10 s of the phase: the fix cannot undo what its first seconds still
    // carry over (leaked sessions being reclaimed, connections in their reconnect backoff).
    const now: Baseline = { allocationFailures: r ? r.ports.allocationFailures : 0, relayDropped: relayDropped(r), pcmSent: f?.framesSent ?? 0, pcmDropped: f?.framesDropped ?? 0 };
    const samples = this.samples;
    samples.push({ us: i.nowUs, ...now });
    while (samples.length > 1 && samples[1]!.us <= i.nowUs - WINDOW_US) samples.shift();
    const from: Baseline = samples[0]!.us <= i.nowUs - WINDOW_US && samples[0]!.us >= since ? samples[0]! : this.base;
    return {
      seconds: (i.nowUs - since) / 1e6,
      calls: n,
      windowCalls,
      trying100P99Ms: trying.length > 0 ? trying[Math.min(trying.length - 1, Math.ceil(trying.length * 0.99) - 1)]! / 1000 : null,
      trying100Where: i.wire.on ? 'wire' : 'engine',
      retransmittedCalls,
      retransmissions,
      inviteRetransmittedCalls,
      answered,
      refused503,
      ended,
      settled,
      settledEnded,
      oldestSessionS: r && r.oldest[0] ? r.oldest[0].ageMs / 1000 : null,
      finalTimeoutS: r ? r.timeouts.finalTimeout : 0,
      allocationFailures: now.allocationFailures - from.allocationFailures,
      windowS: Math.min(WINDOW_US, i.nowUs - since) / 1e6,
      portsInUse: r ? r.ports.inUse + r.ports.lent : 0,
      portsTotal: r ? r.ports.total : 0,
      relayDropped: relayDropped(r) - this.base.relayDropped,
      lossyCalls,
      pcmFramesSent: f ? now.pcmSent - from.pcmSent : null,
      pcmFramesDropped: f ? now.pcmDropped - from.pcmDropped : null,
    };
  }
}
