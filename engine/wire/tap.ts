/**
 * The wire tap (issue #12): dumpcap on the interface of the proxy's SIP
 * address, filtered to our SIP port, so every SIP message has the kernel's
 * timestamp — when it was on the wire — beside the engine's — when the SIP
 * worker's event loop reached it (in) or sent it (out). The difference is the
 * time a message spent in the kernel's socket queue and waiting for our
 * event loop: what a proxy's own timings cannot see.
 *
 * Nothing here is on the SIP worker's path: dumpcap is another process, and
 * its stream is read, paired (`WireMatcher`) and summarised on the main
 * thread, where the worker's capture batches arrive anyway. The worker never
 * waits for the tap; the call store gets each live message once it is paired
 * (normally within a few ms) or has waited its limit.
 *
 * TCP is not tapped yet: the filter is `udp port N`, and a message the
 * engine received or sent over TCP goes on as it is (no `seen`).
 */
import { networkInterfaces } from 'node:os';
import type { Clock } from '../clock';
import type { CapturedPacket } from '../capture/pcap-read';
import type { EventStream, SipCaptureEvent } from '../events';
import type { DropCounters } from '../metrics/drops';
import type { LatencySummary } from '../metrics/histogram';
import { WindowedHistogram } from '../metrics/windowed-histogram';
import type { HostPort } from '../net/host-port';
import { parseMessage, topViaBranchOf } from '../sip/message';
import { captureEvent, metaOf } from '../sip/capture-meta';
import { measureClockOffset, type ClockOffset } from './clock-offset';
import { DumpcapStream } from './dumpcap';
import { DEFAULT_MATCHER_OPTIONS, RecentKeys, WireMatcher, wireKey, type MatcherOptions, type WireCopy } from './matcher';

/** `--wire`: `auto` taps the SIP address's interface when dumpcap can capture, `off` never, or a named interface. */
export type WireMode = 'auto' | 'off' | { iface: string };

/** The snapshot's `wire` section. All latencies µs; windows are the last minute. */
export interface WireStats {
  /** `--wire` as given: "auto", "off" or the interface. */
  mode: string;
  on: boolean;
  /** Why the tap is off, in one line (null while on). */
  reason: string | null;
  iface: string | null;
  filter: string | null;
  /** Packets dumpcap gave us. */
  packets: number;
  /** Messages seen by both, the wire only, the engine only (since the tap started), by direction. */
  paired: number;
  wireOnly: { in: number; out: number };
  engineOnly: { in: number; out: number };
  /** Messages a full waiting list let go unpaired (counted in `drops` too). */
  dropped: number;
  /**
   * Engine time − wire time per message, over the last minute. In: the time
   * an incoming message waited in the kernel's socket queue and for the SIP
   * worker's event loop — what the proxy's own timings cannot see. Out: how
   * long after the datagram reached the wire the worker stamped it (it stamps
   * once the send call has returned, so a few µs). A negative gap counts as 0
   * in the summary and is counted in `negative`: in, the clock estimate is off
   * by more than the wait; out, a send that left after it was stamped (it
   * waited in a queue of libuv or the kernel).
   */
  gapUs: { in: LatencySummary; out: LatencySummary; negative: { in: number; out: number } };
  /** INVITE first on the wire → our 100 Trying on the wire, per INVITE branch, over the last minute. */
  trying100: LatencySummary;
  /** CLOCK_REALTIME − engine clock, and the uncertainty of that estimate (µs). */
  clockOffsetUs: number;
  clockSpreadUs: number;
  /** Engine messages waiting for their wire copy now. */
  waiting: number;
  /**
   * Paused to spare the proxy (dumpcap suspended; messages go on with engine
   * time): the proxy refused calls for overload, or pairing fell behind.
   * How often since start, and whether it is paused now.
   */
  pauses: number;
  paused: boolean;
}

/** How often waits run out (matcher tick). */
const TICK_MS = 20;
/** How often the clock offset is measured again. */
const CLOCK_REFRESH_MS = 60_000;
/** INVITE branches waiting for their 100 Trying on the wire. */
const MAX_TRYING_PENDING = 50_000;
const TRYING_WAIT_US = 64_000_000;
/** How often the tap checks whether it must give way to the proxy. */
const GUARD_MS = 250;
/** A pause lasts at least this long, and ends only once the proxy has stopped refusing calls. */
const PAUSE_MS = 5_000;
/** Engine messages waiting for their wire copy beyond which pairing is behind (~0.5 s of 14,000 messages/s is 7,000). */
const MAX_WAITING = 12_000;

/** Shorter than any SIP message ("INVITE sip:a SIP/2.0" and four headers): keep-alives and probes. */
const MIN_SIP_BYTES = 32;

export interface WireTapContext {
  clock: Clock;
  events: EventStream;
  drops: DropCounters;
}

/** The interface that carries `host`: `lo` for loopback, `any` for a wildcard address, else the one holding it. */
export function interfaceFor(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'any';
  if (host.startsWith('127.') || host === '::1') return 'lo';
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (addrs?.some((a) => a.address === host)) return name;
  }
  return 'any';
}

export class WireTap {
  private dumpcap: DumpcapStream | null = null;
  private matcher: WireMatcher | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private clockTimer: NodeJS.Timeout | null = null;
  private offset: ClockOffset = { offsetUs: 0, spreadUs: 0 };
  private reason: string | null;
  private iface: string | null = null;
  private filter: string | null = null;
  private readonly gapIn: WindowedHistogram;
  private readonly gapOut: WindowedHistogram;
  private readonly trying: WindowedHistogram;
  private readonly inviteFirstSeen = new Map<string, number>();
  /** Branches whose 100 Trying went out: a retransmission of their INVITE (and the 100 we send again) is no new sample. */
  private readonly tryingAnswered = new RecentKeys(MAX_TRYING_PENDING);
  /** Since the engine started (across restarts of the tap). */
  private counts = { paired: 0, wireOnlyIn: 0, wireOnlyOut: 0, engineOnlyIn: 0, engineOnlyOut: 0, negativeIn: 0, negativeOut: 0, dropped: 0 };
  private generation = 0;
  private guardTimer: NodeJS.Timeout | null = null;
  private pausedUntilMs = 0;
  private paused = false;
  private pauses = 0;
  private overloadSeen = 0;

  constructor(
    private readonly ctx: WireTapContext,
    private readonly mode: () => WireMode,
    private readonly matcherOptions: MatcherOptions = DEFAULT_MATCHER_OPTIONS,
    private readonly command?: string,
  ) {
    const mono = () => ctx.clock.monoMs();
    this.gapIn = new WindowedHistogram(mono);
    this.gapOut = new WindowedHistogram(mono);
    this.trying = new WindowedHistogram(mono);
    this.reason = mode() === 'off' ? 'off (--wire off)' : 'the proxy is not running';
  }

  get on(): boolean {
    return this.matcher !== null;
  }

  /**
   * Taps the proxy's address (its bound port). Never rejects: when dumpcap
   * cannot capture, the tap stays off and `stats().reason` says why.
   * `stage` is how the engine's live SIP capture is routed through the tap.
   */
  async start(listen: HostPort, stage: (s: ((ev: SipCaptureEvent) => void) | null) => void): Promise<void> {
    await this.stop(stage);
    const mode = this.mode();
    if (mode === 'off') {
      this.reason = 'off (--wire off)';
      return;
    }
    const generation = ++this.generation;
    this.iface = mode === 'auto' ? interfaceFor(listen.host) : mode.iface;
    this.filter = `udp port ${listen.port}`;
    // Ready before dumpcap runs: its first chunk may hold packets as well as the header.
    this.offset = measureClockOffset(this.ctx.clock);
    const matcher = new WireMatcher(wireKey, {
      release: (ev) => this.release(ev),
      wireOnly: (copy, retransmission) => this.wireOnly(copy, retransmission),
      dropped: (side) => {
        this.counts.dropped++;
        this.ctx.drops.count('wire.tap', side === 'engine' ? 'engine-waiting-full' : 'wire-waiting-full');
      },
    }, this.matcherOptions);
    const dumpcap = new DumpcapStream(
      { iface: this.iface, filter: this.filter, command: this.command, keepCut: true },
      (packets) => this.onPackets(packets, matcher, listen),
      (why) => {
        if (this.dumpcap !== dumpcap) return;
        this.reason = why;
        void this.stop(stage, why);
      },
    );
    try {
      await dumpcap.start();
    } catch (err) {
      if (generation === this.generation) this.reason = (err as Error).message;
      return;
    }
    if (generation !== this.generation) {
      await dumpcap.stop();
      return;
    }
    this.dumpcap = dumpcap;
    this.matcher = matcher;
    this.reason = null;
    stage((ev) => this.capture(ev));
    this.tickTimer = setInterval(() => this.matcher?.tick(this.ctx.clock.nowUs()), TICK_MS);
    this.tickTimer.unref();
    this.clockTimer = setInterval(() => (this.offset = measureClockOffset(this.ctx.clock)), CLOCK_REFRESH_MS);
    this.clockTimer.unref();
    this.overloadSeen = this.overloadDrops();
    this.guardTimer = setInterval(() => this.guard(), GUARD_MS);
    this.guardTimer.unref();
  }

  /** Calls the proxy refused or dropped for overload so far (mirrored from the SIP worker). */
  private overloadDrops(): number {
    let n = 0;
    for (const d of this.ctx.drops.list()) if (d.where === 'sip.overload') n += d.count;
    return n;
  }

  /**
   * The tap gives way to signalling: on a box too busy for both (the proxy
   * refuses calls for overload, or pairing has fallen behind) dumpcap is
   * suspended for at least PAUSE_MS and messages go on with engine time.
   * Measured at 2,000 calls/s on two cores, pairing every message took the
   * CPU the proxy needed and most calls failed.
   */
  private guard(): void {
    const dumpcap = this.dumpcap;
    const matcher = this.matcher;
    if (!dumpcap || !matcher) return;
    const drops = this.overloadDrops();
    const overloaded = drops > this.overloadSeen || matcher.waiting > MAX_WAITING;
    this.overloadSeen = drops;
    const now = this.ctx.clock.monoMs();
    if (overloaded) {
      this.pausedUntilMs = now + PAUSE_MS;
      if (!this.paused) {
        this.paused = true;
        this.pauses++;
        dumpcap.pause();
        this.ctx.drops.count('wire.tap', 'paused-for-overload');
        const forgotten = matcher.forgetWire();
        if (forgotten > 0) this.ctx.drops.count('wire.tap', 'wire-copy-forgotten-on-pause', forgotten);
      }
    } else if (this.paused && now >= this.pausedUntilMs) {
      this.paused = false;
      dumpcap.resume();
    }
  }

  /** Stops dumpcap (by PID) and lets every waiting message go on. */
  async stop(stage: (s: null) => void, reason = this.mode() === 'off' ? 'off (--wire off)' : 'the proxy is not running'): Promise<void> {
    this.generation++;
    stage(null);
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.clockTimer) clearInterval(this.clockTimer);
    if (this.guardTimer) clearInterval(this.guardTimer);
    this.tickTimer = this.clockTimer = this.guardTimer = null;
    this.paused = false;
    const dumpcap = this.dumpcap;
    this.dumpcap = null;
    this.matcher?.flushAll();
    this.matcher = null;
    if (dumpcap) {
      this.reason = reason;
      await dumpcap.stop();
    }
  }

  /** The engine's SIP stage while the tap is on. UDP is paired; TCP goes on as it is. */
  capture(ev: SipCaptureEvent): void {
    if (!this.matcher || ev.transport !== 'udp' || this.paused) {
      this.ctx.events.emit(ev);
      return;
    }
    this.matcher.engine(ev, this.ctx.clock.nowUs());
  }

  /** Resolves once no engine message waits for its wire copy (each waits at most the matcher's limit). */
  async drain(): Promise<void> {
    const deadline = Date.now() + this.matcherOptions.engineWaitUs / 1000 + 1_000;
    while (this.matcher && this.matcher.waiting > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  stats(): WireStats {
    const c = this.counts;
    const mode = this.mode();
    return {
      mode: typeof mode === 'string' ? mode : mode.iface,
      on: this.on,
      reason: this.reason,
      iface: this.on ? this.iface : null,
      filter: this.on ? this.filter : null,
      packets: this.dumpcap?.packets ?? 0,
      paired: c.paired,
      wireOnly: { in: c.wireOnlyIn, out: c.wireOnlyOut },
      engineOnly: { in: c.engineOnlyIn, out: c.engineOnlyOut },
      dropped: c.dropped,
      gapUs: { in: this.gapIn.summary(), out: this.gapOut.summary(), negative: { in: c.negativeIn, out: c.negativeOut } },
      trying100: this.trying.summary(),
      clockOffsetUs: Math.round(this.offset.offsetUs),
      clockSpreadUs: Number.isFinite(this.offset.spreadUs) ? Math.round(this.offset.spreadUs) : -1,
      waiting: this.matcher?.waiting ?? 0,
      pauses: this.pauses,
      paused: this.paused,
    };
  }

  private onPackets(packets: CapturedPacket[], matcher: WireMatcher, listen: HostPort): void {
    if (this.paused) return; // what dumpcap had read before the pause: its engine messages no longer wait for it
    const now = this.ctx.clock.nowUs();
    for (const p of packets) {
      // A keep-alive (CRLFs, RFC 5626 §4.4.1) or a reachability probe is no SIP message: the engine reports none, so nothing to pair.
      if (p.transport !== 'udp' || p.payload.length < MIN_SIP_BYTES) continue;
      const direction = isOurs(p.dst, listen) ? 'in' : 'out';
      const copy: WireCopy = { tsUs: Math.round(p.tsUs - this.offset.offsetUs), src: p.src, dst: p.dst, direction, payload: p.payload, length: p.fullLength ?? p.payload.length };
      this.watchTrying(copy);
      matcher.wire(copy, now);
    }
  }

  /**
   * The 100 Trying delay as the wire sees it, from the wire alone: the first
   * copy of an INVITE to us (so the waits of its retransmissions count, as
   * the shared bench measures it) to the first 100 Trying from us with that
   * INVITE's branch (RFC 3261 §8.2.6.2: a response copies the request's Via).
   */
  private watchTrying(c: WireCopy): void {
    const p = c.payload;
    if (c.direction === 'in' && startsWith(p, INVITE_)) {
      const branch = topViaBranchOf(p);
      if (!branch || this.inviteFirstSeen.has(branch) || this.tryingAnswered.has(branch)) return;
      if (this.inviteFirstSeen.size >= MAX_TRYING_PENDING) this.pruneTrying(c.tsUs);
      this.inviteFirstSeen.set(branch, c.tsUs);
    } else if (c.direction === 'out' && startsWith(p, TRYING_)) {
      const branch = topViaBranchOf(p);
      const first = branch ? this.inviteFirstSeen.get(branch) : undefined;
      if (first === undefined) return;
      this.inviteFirstSeen.delete(branch!);
      this.tryingAnswered.add(branch!);
      this.trying.record(c.tsUs - first);
    }
  }

  private pruneTrying(nowUs: number): void {
    for (const [b, t] of this.inviteFirstSeen) {
      if (nowUs - t < TRYING_WAIT_US && this.inviteFirstSeen.size < MAX_TRYING_PENDING) break;
      this.inviteFirstSeen.delete(b);
    }
  }

  private release(ev: SipCaptureEvent): void {
    if (ev.seen === 'both' && ev.engineTsUs !== undefined) {
      this.counts.paired++;
      const gap = ev.engineTsUs - ev.tsUs;
      if (ev.direction === 'in') {
        if (gap < 0) this.counts.negativeIn++;
        this.gapIn.record(Math.max(0, gap));
      } else {
        if (gap < 0) this.counts.negativeOut++;
        this.gapOut.record(Math.max(0, gap));
      }
    } else if (ev.seen === 'engine') {
      if (ev.direction === 'in') this.counts.engineOnlyIn++;
      else this.counts.engineOnlyOut++;
    }
    this.ctx.events.emit(ev);
  }

  /** A message on the wire that the engine never handled: shown as a message of its own (an INVITE the kernel dropped is the incident). */
  private wireOnly(copy: WireCopy, retransmission: boolean): void {
    // The payload is a view into dumpcap's chunk: the event keeps a copy of its own.
    const ev = wireOnlyEvent({ ...copy, payload: Buffer.from(copy.payload) }, retransmission);
    if (!ev) {
      this.ctx.drops.count('wire.tap', copy.length > copy.payload.length ? 'wire-only datagram cut by the snaplen' : 'wire-only datagram not SIP');
      return;
    }
    if (copy.direction === 'in') this.counts.wireOnlyIn++;
    else this.counts.wireOnlyOut++;
    this.ctx.events.emit(ev);
  }
}

const INVITE_ = Buffer.from('INVITE ', 'latin1');
const TRYING_ = Buffer.from('SIP/2.0 100 ', 'latin1');

/** Whether `p` begins with `head`, byte by byte (no string per packet). */
function startsWith(p: Buffer, head: Buffer): boolean {
  if (p.length <= head.length) return false;
  for (let i = 0; i < head.length; i++) if (p[i] !== head[i]) return false;
  return true;
}

function isOurs(addr: string, listen: HostPort): boolean {
  const i = addr.lastIndexOf(':');
  if (Number(addr.slice(i + 1)) !== listen.port) return false;
  if (listen.host === '0.0.0.0' || listen.host === '::') return true;
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '');
  return host === listen.host;
}

/** A wire copy as a SIP capture event of its own (`seen: 'wire'`), or null when it is not a SIP message. */
export function wireOnlyEvent(copy: WireCopy, retransmission: boolean): SipCaptureEvent | null {
  const r = parseMessage(copy.payload);
  if (!r.ok) return null;
  return { ...captureEvent(copy.tsUs, copy.direction, 'udp', copy.src, copy.dst, metaOf(r.msg), copy.payload, retransmission), seen: 'wire' };
}
