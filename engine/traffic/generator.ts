/**
 * The built-in traffic: a caller and a callee (caller.ts, callee.ts) on
 * their own UDP sockets, placing calls through the proxy at the spec's rate
 * (spec.ts) with G.711 RTP both ways (media-pump.ts), and its own account:
 * what it placed and how each call ended, setup time as it saw it, the
 * datagrams it re-sent and dropped on purpose, the RTP it sent and got back,
 * and how busy and late its own event loop is, so a saturated generator is
 * never mistaken for a saturated proxy.
 *
 * Calls are started on a 10 ms tick against the spec's rate; a call due
 * while `max` are in progress is not placed and counted as `heldBack` (a
 * closed loop like SIPp's -l), never queued.
 */
import { monitorEventLoopDelay, performance as perf, type EventLoopUtilization } from 'node:perf_hooks';
import { createRealTimerHost } from '../sip/transaction';
import { Callee } from './callee';
import { Caller, type CallOutcome } from './caller';
import { LossyUdp } from './lossy-udp';
import { MediaPump } from './media-pump';
import type { Addr } from './messages';
import { formatTrafficSpec, scriptFor, type TrafficSpec } from './spec';

export interface TrafficStats {
  /** The spec in force, as `--traffic` writes it. */
  spec: string;
  /** Where the calls go (the proxy), and the callee's address (their Request-URI). */
  proxy: string;
  callee: string;
  calls: { placed: number; answered: number; active: number; heldBack: number } & Record<CallOutcome, number>;
  /** Failed calls by why (a status, a timer). */
  failures: Record<string, number>;
  /** Calls placed per second over the last 10 s. */
  placedPerSecond: number;
  /** INVITE sent → 2xx received at our caller, ms, last 10 s (the generator's clock, not the wire). */
  setupMs: { count: number; p50: number; p99: number; max: number };
  /** SIP datagrams our endpoints re-sent (retransmissions), and dropped on purpose (the spec's loss). */
  sip: { retransmitted: number; lossDropped: number; ackTimeouts: number };
  rtp: { sent: number; received: number; streams: number };
  /** The generator's own thread: share of the last interval its event loop was busy (%), and its delay p99 (ms). */
  generator: { busyPct: number; loopDelayP99Ms: number };
  /**
   * The local ports of its UDP sockets (caller and callee SIP, caller and
   * callee RTP): the kernel's drops on them are the generator's, and the
   * kernel suspect leaves them out of the call path's.
   */
  ports: number[];
}

const TICK_MS = 10;
const WINDOW_MS = 10_000;

export class TrafficGenerator {
  private spec: TrafficSpec;
  private caller!: Caller;
  private callee!: Callee;
  private media!: MediaPump;
  private sipCaller!: LossyUdp;
  private sipCallee!: LossyUdp;
  private tick: NodeJS.Timeout | null = null;
  private startedMs = 0;
  private due = 0;
  private readonly counts = { placed: 0, answered: 0, heldBack: 0, completed: 0, busy: 0, noAnswer: 0, cancelled: 0, failed: 0 };
  private readonly failures: Record<string, number> = {};
  private placedAt: number[] = [];
  private setups: [number, number][] = [];
  private readonly delay = monitorEventLoopDelay({ resolution: 10 });
  private elu: EventLoopUtilization = perf.eventLoopUtilization();
  private busyPct = 0;
  private delayP99Ms = 0;

  constructor(
    spec: TrafficSpec,
    private readonly proxy: Addr,
    private readonly host: string,
    private readonly random: () => number = Math.random,
  ) {
    this.spec = spec;
  }

  async start(): Promise<void> {
    const timers = createRealTimerHost();
    this.media = await MediaPump.open(this.host, this.random);
    this.sipCaller = await LossyUdp.open(this.host, (m, f) => this.caller.receive(m, f), this.random);
    this.sipCallee = await LossyUdp.open(this.host, (m, f) => this.callee.receive(m, f), this.random);
    this.callee = new Callee(this.sipCallee, this.media, timers, () => this.spec.answerS * 1000);
    this.caller = new Caller(this.sipCaller, this.media, timers, this.proxy, this.sipCallee.local, () => this.spec.holdS * 1000, {
      answered: (_id, ms) => {
        this.counts.answered++;
        this.setups.push([performance.now(), ms]);
      },
      ended: (_id, outcome, why) => {
        this.counts[outcome]++;
        if (outcome === 'failed') this.failures[why] = (this.failures[why] ?? 0) + 1;
      },
    });
    this.configure(this.spec);
    this.delay.enable();
    this.startedMs = performance.now();
    this.due = 0;
    this.tick = setInterval(() => this.onTick(), TICK_MS);
  }

  /** A new spec takes effect at once: rate, hold, mix and loss for the calls placed from now on. */
  configure(spec: TrafficSpec): void {
    if (spec.cps !== this.spec.cps) {
      this.startedMs = performance.now();
      this.due = 0;
    }
    this.spec = spec;
    this.sipCaller.lossPct = this.sipCallee.lossPct = spec.lossPct;
    this.media.sending = spec.rtp === 1;
  }

  private onTick(): void {
    const shouldHave = ((performance.now() - this.startedMs) / 1000) * this.spec.cps;
    while (this.due < Math.floor(shouldHave)) {
      this.due++;
      if (this.caller.active >= this.spec.maxCalls) {
        this.counts.heldBack++;
        continue;
      }
      this.caller.place(scriptFor(this.spec, this.random()));
      this.counts.placed++;
      this.placedAt.push(performance.now());
    }
  }

  stats(): TrafficStats {
    const now = performance.now();
    const since = now - WINDOW_MS;
    this.placedAt = this.placedAt.filter((t) => t >= since);
    this.setups = this.setups.filter(([t]) => t >= since);
    const ms = this.setups.map(([, v]) => v).sort((a, b) => a - b);
    const at = (q: number) => (ms.length === 0 ? 0 : Math.round(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]! * 10) / 10);
    const elu = perf.eventLoopUtilization(this.elu);
    this.elu = perf.eventLoopUtilization();
    this.busyPct = Math.round(elu.utilization * 1000) / 10;
    this.delayP99Ms = this.delay.count === 0 ? 0 : Math.round(Math.max(0, this.delay.percentile(99) / 1e6 - 10) * 10) / 10;
    this.delay.reset();
    const span = Math.min(WINDOW_MS, now - this.startedMs) / 1000;
    return {
      spec: formatTrafficSpec(this.spec),
      proxy: `${this.proxy.host}:${this.proxy.port}`,
      callee: `${this.sipCallee.local.host}:${this.sipCallee.local.port}`,
      calls: { ...this.counts, active: this.caller.active },
      failures: { ...this.failures },
      placedPerSecond: span > 0 ? Math.round((this.placedAt.length / span) * 10) / 10 : 0,
      setupMs: { count: ms.length, p50: at(0.5), p99: at(0.99), max: ms.length ? Math.round(ms[ms.length - 1]! * 10) / 10 : 0 },
      sip: { retransmitted: this.sipCaller.retransmitted + this.sipCallee.retransmitted, lossDropped: this.sipCaller.dropped + this.sipCallee.dropped, ackTimeouts: this.callee.ackTimeouts },
      rtp: { sent: this.media.sent, received: this.media.received, streams: this.media.streamCount },
      generator: { busyPct: this.busyPct, loopDelayP99Ms: this.delayP99Ms },
      ports: [this.sipCaller.local.port, this.sipCallee.local.port, this.media.caller.local.port, this.media.callee.local.port],
    };
  }

  /** Stops placing calls, hangs up those that are up (BYEs, CANCELs), then closes its sockets. */
  async stop(): Promise<void> {
    if (this.tick) clearInterval(this.tick);
    this.tick = null;
    await this.caller.hangUpAll(2_000);
    this.delay.disable();
    this.caller.dispose();
    this.callee.dispose();
    await Promise.all([this.media.close(), this.sipCaller.close(), this.sipCallee.close()]);
  }
}
