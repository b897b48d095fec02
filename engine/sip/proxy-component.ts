/**
 * The SIP proxy as an engine component. Transports, transactions and the
 * proxy core run in a worker thread (`worker/entry.ts`) that a `ThreadHost`
 * (engine/worker/thread-host.ts) runs; this side chooses the options,
 * feeds the worker's capture batches into the engine's event stream, and
 * mirrors its counters.
 */
import type { ComponentImpl } from '../component';
import type { EngineContext } from '../engine';
import { formatHostPort, type HostPort, type NextHop } from '../net/host-port';
import { ThreadHost, WorkerStartError } from '../worker/thread-host';
import { workerScript } from '../worker/worker-script';
import { EMPTY_PROXY_STATS, type ProxyStats } from './stats';
import { TIMER_C, type TimerValues } from './transaction/timers';
import { DEFAULT_TCP_IDLE_S, type TcpLimitSettings } from './transport/tcp-limits';
import { decodeCaptureBatch } from './worker/capture-codec';
import type { InlinePublish } from './worker/inline-gate';
import type { SipWorkerReady, SipWorkerRequest, SipWorkerSettings, SipWorkerStart, SipWorkerTell } from './worker/start-options';
import type { MediaOutcome } from './proxy/media';
import type { DropCount } from '../metrics/drops';

export interface ProxyOptions {
  listen: HostPort;
  /** Round-robin targets for initial requests; null routes by Request-URI. */
  route: NextHop[] | null;
  timers: TimerValues;
  /** Timer C, ms (RFC 3261 §16.6 step 11; default TIMER_C). */
  timerC?: number;
  /** SIP/TCP connection bounds (default: from the descriptor limit, idle 120 s). */
  tcp?: TcpLimitSettings;
  /** Where the worker's code is; the default works from source (tsx) and from the Electron bundle. */
  workerUrl?: URL;
  /** `inline` publish mode: the simulated SIP workers (inline-gate.ts); null or absent in every other mode. */
  inlineWorkers?: number | null;
  /** `inline` publish mode: publishes the `new` event of the INVITE `raw`, read at `readUs`; resolves on Redis's reply. */
  inlinePublish?: InlinePublish;
  /** The RTP relay runs: the worker sends SDP to `media` before forwarding it. */
  relayMedia?: boolean;
  /** The relay's side of an offer, answer or end (the host calls the relay); resolves with the outcome (nothing for an end). */
  media?: (req: Extract<SipWorkerRequest, { kind: 'media' }>) => Promise<MediaOutcome | void>;
}

/**
 * The SIP worker's young generation (V8 makes each semi-space a third of it:
 * 4 MB here, against 16 MB by default). Its scavenges are the pauses that
 * hold back a 100 Trying, and what they copy grows with the time between
 * them: at 1,000 calls/s 16 MB semi-spaces meant a ~2.2 ms pause 5 times a
 * second, 4 MB ones a ~0.8 ms pause 17 times a second — the same share of
 * time, but an INVITE caught by one waits less. 2 MB cost CPU for no better
 * tail. (The other half of this, single-threaded GC, can only be a node
 * flag at process start: package.json's `lab` script.)
 */
const WORKER_YOUNG_GENERATION_MB = 12;

/** From source the worker is built from worker/entry.ts; bundled (electron-vite) it is out/main/sip-worker.js. */
const defaultWorker = () => workerScript(import.meta.url, new URL('./worker/entry.ts', import.meta.url), 'sip-worker.js');

export class SipProxyComponent implements ComponentImpl {
  readonly name = 'proxy' as const;
  private thread: ThreadHost<SipWorkerStart, ProxyStats, SipWorkerReady> | null = null;
  private latest: ProxyStats = EMPTY_PROXY_STATS;
  /**
   * Counters and drops of the workers that ran before this one: the snapshot
   * counts per engine, not per start, so a restart (a new address) keeps them.
   */
  private carried: ProxyStats = EMPTY_PROXY_STATS;
  private carriedDrops = new Map<string, DropCount>();
  private latestDrops: DropCount[] = [];
  private readonly options: () => ProxyOptions;
  /** The options of the current (or last) start. */
  private opts: ProxyOptions;
  private boundPort: number;
  /** The running worker's warm-up before its bind (null before the first start). */
  private warmUp: SipWorkerReady['warmUp'] | null = null;

  /** `opts` as a function is read at every start, so new settings take effect on a restart. */
  constructor(
    private readonly ctx: EngineContext,
    opts: ProxyOptions | (() => ProxyOptions),
  ) {
    this.options = typeof opts === 'function' ? opts : () => opts;
    this.opts = this.options();
    this.boundPort = this.opts.listen.port;
  }

  /** While stopped: what the next start will use. */
  private get shown(): ProxyOptions {
    return this.thread ? this.opts : this.options();
  }

  /** A restart keeps the port it had, even when the config asked the OS to pick one — unless the listen address changed. */
  private portFor(o: ProxyOptions): number {
    const same = o.listen.host === this.opts.listen.host && o.listen.port === this.opts.listen.port;
    return same ? this.boundPort || o.listen.port : o.listen.port;
  }

  get endpoint(): string {
    const o = this.shown;
    return `udp+tcp ${formatHostPort({ host: o.listen.host, port: this.portFor(o) })}`;
  }

  /** The port actually bound (differs from the config when it asked for 0). */
  get port(): number {
    return this.boundPort;
  }

  detail(): string | null {
    const r = this.shown.route;
    const routes = r ? `routes to ${r.map((t) => formatHostPort(t) + (t.transport === 'tcp' ? '/tcp' : '')).join(', ')} (round robin)` : 'routes by Request-URI';
    const w = this.warmUp;
    return w ? `${routes}; warmed up on ${w.calls.toLocaleString('en-US')} synthetic calls in ${w.ms} ms before binding` : routes;
  }

  /** This worker's figures plus the counters of the workers before it (rates and latencies are this worker's). */
  stats(): ProxyStats {
    const now = this.latest;
    const before = this.carried;
    return {
      ...now,
      messagesIn: before.messagesIn + now.messagesIn,
      messagesOut: before.messagesOut + now.messagesOut,
      retransmissionsIn: before.retransmissionsIn + now.retransmissionsIn,
      retransmissionsOut: before.retransmissionsOut + now.retransmissionsOut,
      answered: sumRecords(before.answered, now.answered),
      finals: sumRecords(before.finals, now.finals),
    };
  }

  /**
   * Timers, Timer C and targets reach the running worker without a restart:
   * they apply to transactions started from now on, and those in flight keep
   * theirs. Only a new listen address needs a restart.
   */
  async applyLive(): Promise<boolean> {
    const next = this.options();
    const thread = this.thread;
    if (!thread || next.listen.host !== this.opts.listen.host || next.listen.port !== this.opts.listen.port) return false;
    if (JSON.stringify(next.tcp ?? null) !== JSON.stringify(this.opts.tcp ?? null)) return false;
    this.opts = next;
    thread.configure(settingsOf(next));
    await thread.flush();
    return true;
  }

  /**
   * Resolves once every message the worker has handled so far is in the
   * engine's event stream and its counters are mirrored here (capture
   * otherwise arrives within ~20 ms, counters within 250 ms).
   */
  flush(): Promise<void> {
    return this.thread ? this.thread.flush() : Promise.resolve();
  }

  async start(): Promise<void> {
    const next = this.options();
    const port = this.portFor(next);
    this.opts = next;
    this.boundPort = port;
    const { host } = next.listen;
    const thread = new ThreadHost<SipWorkerStart, ProxyStats, SipWorkerReady>({
      name: 'the SIP worker',
      ...(next.workerUrl ? { url: next.workerUrl } : defaultWorker()),
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      onCapture: (batch) => {
        for (const ev of decodeCaptureBatch(batch)) this.ctx.captureSip(ev);
      },
      onStats: (stats, drops) => {
        this.latest = stats;
        this.latestDrops = drops;
        for (const d of drops) this.ctx.drops.setTotal(d.where, d.reason, (this.carriedDrops.get(`${d.where}\u0000${d.reason}`)?.count ?? 0) + d.count);
      },
      onNote: (note) => this.ctx.events.emit(note),
      onRequest: (payload) => {
        const p = payload as SipWorkerRequest;
        // The options of this start, not options(): that builds the host's whole options object (and asks
        // the engine for the relay's status) each time, which per SDP was a good part of the relay's cost.
        if (p.kind === 'media') return this.opts.media?.(p) ?? Promise.resolve(null);
        const publish = this.opts.inlinePublish;
        return publish ? publish(Buffer.from(p.raw.buffer, p.raw.byteOffset, p.raw.byteLength), p.readUs) : Promise.resolve();
      },
      onTell: (payload) => {
        const p = payload as SipWorkerRequest;
        if (p.kind === 'media') void this.opts.media?.(p);
      },
      onFailure: (err) => this.ctx.fail('proxy', err),
    });
    this.thread = thread;
    // One shape for every hop the core sends to ({ host, port, transport }); a config written by hand may leave transport out.
    const clockOrigin = this.ctx.clock.origin ?? { wallUs: this.ctx.clock.nowUs(), hrNs: process.hrtime.bigint() };
    try {
      const ready = await thread.start({ host, port, ...settingsOf(next), tcp: next.tcp ?? { maxConnections: null, maxPerSource: null, idleS: DEFAULT_TCP_IDLE_S }, clockOrigin });
      this.boundPort = ready.port;
      this.warmUp = ready.warmUp;
    } catch (err) {
      if (err instanceof WorkerStartError) throw new Error(`cannot listen on ${formatHostPort({ host, port })}: ${err.message}`);
      throw err;
    }
  }

  /** One way to the running worker (relay ports lent to it); false when none runs. */
  tellWorker(t: SipWorkerTell): boolean {
    return this.thread?.tell(t) ?? false;
  }

  async stop(): Promise<void> {
    const thread = this.thread;
    this.thread = null;
    await thread?.stop();
    // The worker's last stats arrived with its stop: carry its counters into the next start's.
    this.carried = this.stats();
    for (const d of this.latestDrops) {
      const key = `${d.where}\u0000${d.reason}`;
      this.carriedDrops.set(key, { where: d.where, reason: d.reason, count: (this.carriedDrops.get(key)?.count ?? 0) + d.count });
    }
    this.latest = { ...EMPTY_PROXY_STATS, trying100: this.latest.trying100, loopDelay: this.latest.loopDelay };
    this.latestDrops = [];
  }
}

/** The settings a running worker can take live; one shape for every hop ({ host, port, transport }): a config written by hand may leave transport out. */
function settingsOf(o: ProxyOptions): SipWorkerSettings {
  const targets = o.route ? o.route.map((t) => ({ host: t.host, port: t.port, transport: t.transport ?? 'udp' })) : null;
  return { targets, timers: o.timers, timerC: o.timerC ?? TIMER_C, inlineWorkers: o.inlineWorkers ?? null, relayMedia: o.relayMedia ?? false };
}

function sumRecords<K extends string>(a: Readonly<Record<K, number>>, b: Readonly<Record<K, number>>): Record<K, number> {
  const out = { ...a } as Record<K, number>;
  for (const k of Object.keys(b) as K[]) out[k] = (out[k] ?? 0) + b[k];
  return out;
}

export function createProxy(ctx: EngineContext, opts: ProxyOptions | (() => ProxyOptions)): SipProxyComponent {
  return new SipProxyComponent(ctx, opts);
}
