/**
 * The SIP proxy as an engine component. Transports, transactions and the
 * proxy core run in a worker thread (`worker/entry.ts`); this side owns the
 * lifecycle, feeds the worker's capture batches into the engine's event
 * stream, and mirrors its counters.
 */
import { Worker } from 'node:worker_threads';
import type { ComponentImpl } from '../component';
import type { EngineContext } from '../engine';
import type { NextHop } from './proxy/routing';
import { EMPTY_PROXY_STATS, type ProxyStats } from './stats';
import { peerKey } from './transport/types';
import { decodeCaptureBatch } from './worker/capture-codec';
import type { FromWorker, ToWorker } from './worker/protocol';

export interface ProxyOptions {
  listen: { host: string; port: number };
  /** Round-robin targets for initial requests; null routes by Request-URI. */
  route: { host: string; port: number; transport?: 'udp' | 'tcp' }[] | null;
  timers: { t1: number; t2: number; t4: number };
  /** Where the worker's code is; the default works from source (tsx) and from the Electron bundle. */
  workerUrl?: URL;
}

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

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

function defaultWorkerUrl(): URL {
  // From source the worker is a .ts file beside us; bundled (electron-vite) it is out/main/sip-worker.js.
  return import.meta.url.endsWith('.ts') ? new URL('./worker/dev-boot.mjs', import.meta.url) : new URL('./sip-worker.js', import.meta.url);
}

export class SipProxyComponent implements ComponentImpl {
  readonly name = 'proxy' as const;
  private worker: Worker | null = null;
  private latest: ProxyStats = EMPTY_PROXY_STATS;
  private readonly options: () => ProxyOptions;
  /** The options of the current (or last) start. */
  private opts: ProxyOptions;
  private boundPort: number;

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
    return this.worker ? this.opts : this.options();
  }

  /** A restart keeps the port it had, even when the config asked the OS to pick one — unless the listen address changed. */
  private portFor(o: ProxyOptions): number {
    const same = o.listen.host === this.opts.listen.host && o.listen.port === this.opts.listen.port;
    return same ? this.boundPort || o.listen.port : o.listen.port;
  }

  get endpoint(): string {
    const o = this.shown;
    return `udp+tcp ${peerKey({ address: o.listen.host, port: this.portFor(o) })}`;
  }

  /** The port actually bound (differs from the config when it asked for 0). */
  get port(): number {
    return this.boundPort;
  }

  detail(): string | null {
    const r = this.shown.route;
    return r ? `routes to ${r.map((t) => peerKey({ address: t.host, port: t.port }) + (t.transport === 'tcp' ? '/tcp' : '')).join(', ')} (round robin)` : 'routes by Request-URI';
  }

  stats(): ProxyStats {
    return this.latest;
  }

  private readonly flushWaiters = new Map<number, () => void>();
  private flushSeq = 0;

  /**
   * Resolves once every message the worker has handled so far is in the
   * engine's event stream and its counters are mirrored here (capture
   * otherwise arrives within ~20 ms, counters within 250 ms).
   */
  flush(): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    const id = ++this.flushSeq;
    return new Promise<void>((resolve) => {
      this.flushWaiters.set(id, resolve);
      worker.postMessage({ type: 'flush', id } satisfies ToWorker);
      setTimeout(() => {
        this.flushWaiters.delete(id);
        resolve();
      }, STOP_TIMEOUT_MS).unref();
    });
  }

  async start(): Promise<void> {
    const next = this.options();
    const port = this.portFor(next);
    this.opts = next;
    this.boundPort = port;
    const { host } = next.listen;
    const worker = new Worker(this.opts.workerUrl ?? defaultWorkerUrl(), { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    this.worker = worker;
    const send = (m: ToWorker) => worker.postMessage(m);
    const targets: NextHop[] | null = this.opts.route ? this.opts.route.map((t) => ({ address: t.host, port: t.port, transport: t.transport ?? 'udp' })) : null;

    const started = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the SIP worker did not start in time')), START_TIMEOUT_MS);
      worker.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'started':
            clearTimeout(timer);
            resolve(m.port);
            break;
          case 'start-failed':
            clearTimeout(timer);
            reject(new Error(`cannot listen on ${peerKey({ address: host, port })}: ${m.message}`));
            break;
          case 'capture':
            send({ type: 'ack', seq: m.seq });
            for (const ev of decodeCaptureBatch(m.batch)) this.ctx.events.emit(ev);
            break;
          case 'stats':
            this.latest = m.stats;
            for (const d of m.drops) this.ctx.drops.setTotal(d.where, d.reason, d.count);
            break;
          case 'failed':
            this.ctx.fail('proxy', new Error(m.message));
            break;
          case 'flushed':
            this.flushWaiters.get(m.id)?.();
            this.flushWaiters.delete(m.id);
            break;
          case 'stopped':
            break;
        }
      });
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
        this.ctx.fail('proxy', err);
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the SIP worker exited (code ${code})`));
        if (this.worker === worker) this.ctx.fail('proxy', new Error(`the SIP worker exited (code ${code})`));
      });
    });
    send({
      type: 'start',
      options: {
        host,
        port,
        targets,
        timers: { T1: this.opts.timers.t1, T2: this.opts.timers.t2, T4: this.opts.timers.t4 },
        clockOrigin: this.ctx.clock.origin ?? { wallUs: this.ctx.clock.nowUs(), hrNs: process.hrtime.bigint() },
      },
    });
    this.boundPort = await started;
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    const stopped = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STOP_TIMEOUT_MS);
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'stopped') {
          clearTimeout(timer);
          resolve();
        }
      });
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    worker.postMessage({ type: 'stop' } satisfies ToWorker);
    await stopped;
    await worker.terminate();
  }
}

export function createProxy(ctx: EngineContext, opts: ProxyOptions | (() => ProxyOptions)): SipProxyComponent {
  return new SipProxyComponent(ctx, opts);
}
