/**
 * The built-in traffic as an engine part (`traffic` in the component list):
 * on means its caller places calls through our proxy at the spec's rate and
 * its callee answers them, with RTP both ways; off means no calls. It runs
 * in its own worker thread (worker/entry.ts). A new spec applies live.
 */
import type { ComponentImpl } from '../component';
import type { EngineContext } from '../engine';
import { ThreadHost } from '../worker/thread-host';
import { workerScript } from '../worker/worker-script';
import type { TrafficStats } from './generator';
import type { Addr } from './messages';
import { formatTrafficSpec, type TrafficSpec } from './spec';
import type { TrafficStart } from './worker/protocol';

export interface TrafficSettings {
  spec: TrafficSpec;
  /** Our proxy's SIP address while it runs; null when it does not (the traffic then has nowhere to go). */
  proxy: Addr | null;
  /** Where the generator's sockets bind (the proxy's host). */
  host: string;
  workerUrl?: URL;
}

const defaultWorker = () => workerScript(import.meta.url, new URL('./worker/entry.ts', import.meta.url), 'traffic-worker.js');

export class TrafficComponent implements ComponentImpl {
  readonly name = 'traffic' as const;
  private thread: ThreadHost<TrafficStart, TrafficStats | null, { callee: string }> | null = null;
  private latest: TrafficStats | null = null;
  private started: { spec: string; proxy: string } | null = null;

  constructor(
    private readonly ctx: EngineContext,
    private readonly settings: () => TrafficSettings,
  ) {}

  get endpoint(): string | null {
    const p = this.settings().proxy;
    return p ? `calls to ${p.host}:${p.port}` : null;
  }

  detail(): string | null {
    const s = this.latest;
    if (!this.thread || !s) return `no calls; on: ${formatTrafficSpec(this.settings().spec)} through the proxy`;
    return `${s.calls.placed} calls placed, ${s.calls.active} up, ${s.calls.failed} failed; the generator's thread ${s.generator.busyPct} % busy`;
  }

  async start(): Promise<void> {
    const s = this.settings();
    if (!s.proxy) throw new Error('the proxy is not running: the built-in traffic calls through it');
    const thread = new ThreadHost<TrafficStart, TrafficStats | null, { callee: string }>({
      name: 'the traffic thread',
      ...(s.workerUrl ? { url: s.workerUrl } : defaultWorker()),
      onCapture: () => undefined,
      onStats: (stats) => {
        if (stats) this.latest = stats;
      },
      onFailure: (err) => this.ctx.fail('traffic', err),
    });
    this.thread = thread;
    this.latest = null;
    try {
      await thread.start({ spec: s.spec, proxy: s.proxy, host: s.host });
    } catch (err) {
      this.thread = null;
      await thread.stop().catch(() => undefined);
      throw err;
    }
    this.started = { spec: formatTrafficSpec(s.spec), proxy: `${s.proxy.host}:${s.proxy.port}` };
  }

  async stop(): Promise<void> {
    const thread = this.thread;
    this.thread = null;
    this.started = null;
    await thread?.stop();
  }

  /** A new spec goes to the running generator; a proxy on another address needs a restart. */
  async applyLive(): Promise<boolean> {
    const s = this.settings();
    if (!this.thread || !this.started || !s.proxy) return false;
    if (`${s.proxy.host}:${s.proxy.port}` !== this.started.proxy) return false;
    this.thread.configure({ spec: s.spec });
    this.started.spec = formatTrafficSpec(s.spec);
    return true;
  }

  get running(): boolean {
    return this.thread !== null;
  }

  stats(): TrafficStats | null {
    return this.thread ? this.latest : null;
  }
}
