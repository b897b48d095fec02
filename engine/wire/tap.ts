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
 * TCP is tapped too. Connections to our port are in the main filter
 * (`udp port N or tcp port N`). A connection we open to a next hop runs from
 * a port the kernel picks, which no filter written in advance can name: the
 * first request the engine sends over TCP to a destination starts a dumpcap
 * of its own for that destination (`tcp and host H and port P and not port
 * N`, so no packet is captured twice), seeded at start from the `--route`
 * targets that say `/tcp`. Until it runs (a few hundred ms), messages to a
 * new destination go on with engine time. Such a connection's messages are
 * paired with our SIP address as their end, as the engine writes them; a
 * connection that never pairs is another client's, and its messages are
 * counted and dropped rather than shown as ours.
 */
import { networkInterfaces } from 'node:os';
import type { Clock } from '../clock';
import type { CapturedPacket } from '../capture/pcap-read';
import type { EventStream, SipCaptureEvent } from '../events';
import type { DropCounters } from '../metrics/drops';
import type { LatencySummary } from '../metrics/histogram';
import { WindowedHistogram } from '../metrics/windowed-histogram';
import { formatHostPort, type HostPort } from '../net/host-port';
import { TcpFlows } from '../capture/tcp-flows';
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
  /** TCP next hops with a dumpcap of their own (connections we opened to them), and why any could not be tapped. */
  tcpDestinations: { hop: string; on: boolean; reason: string | null }[];
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

/** TCP next hops tapped at most: each is one dumpcap. */
export const MAX_TCP_DESTINATIONS = 8;
/** TCP connections followed (segments → messages), and connections of ours remembered. */
const MAX_TCP_FLOWS = 4096;

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
  /** TCP next hop ("host:port") → its dumpcap (null until it runs, or when it could not). */
  private readonly outbound = new Map<string, { dumpcap: DumpcapStream | null; reason: string | null }>();
  private tcp = new TcpFlows(MAX_TCP_FLOWS);
  /** Our end of TCP connections we opened whose messages paired: those connections are ours. */
  private readonly ownLocal = new RecentKeys<string>(MAX_TCP_FLOWS);
  private listen: HostPort | null = null;
  private self = '';

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
  async start(listen: HostPort, stage: (s: ((ev: SipCaptureEvent) => void) | null) => void, tcpTargets: readonly HostPort[] = []): Promise<void> {
    await this.stop(stage);
    const mode = this.mode();
    if (mode === 'off') {
      this.reason = 'off (--wire off)';
      return;
    }
    const generation = ++this.generation;
    this.iface = mode === 'auto' ? interfaceFor(listen.host) : mode.iface;
    this.filter = `udp port ${listen.port} or tcp port ${listen.port}`;
    this.listen = listen;
    this.self = formatHostPort(listen);
    this.tcp = new TcpFlows(MAX_TCP_FLOWS);
    // Ready before dumpcap runs: its first chunk may hold packets as well as the header.
    this.offset = measureClockOffset(this.ctx.clock);
    const matcher = new WireMatcher(wireKey, {
      release: (ev) => this.release(ev),
      wireOnly: (copy, retransmission) => this.wireOnly(copy, retransmission),
      dropped: (side) => {
        this.counts.dropped++;
        this.ctx.drops.count('wire.tap', side === 'engine' ? 'engine-waiting-full' : 'wire-waiting-full');
      },
      pairedLocal: (local) => {
        if (!this.ownLocal.has(local)) this.ownLocal.add(local);
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
    for (const t of tcpTargets) this.tapDestination(formatHostPort(t), t, generation);
  }

  /**
   * A dumpcap for TCP connections we open to `hop`. Its filter leaves out
   * our port, which the main dumpcap has, so no packet comes twice.
   */
  private tapDestination(key: string, hop: HostPort, generation: number): void {
    if (this.outbound.has(key) || !this.listen) return;
    if (this.outbound.size >= MAX_TCP_DESTINATIONS) {
      this.ctx.drops.count('wire.tap', `tcp-destination-beyond-${MAX_TCP_DESTINATIONS}-not-tapped`);
      return;
    }
    const entry: { dumpcap: DumpcapStream | null; reason: string | null } = { dumpcap: null, reason: 'starting' };
    this.outbound.set(key, entry);
    const local = hop.host.startsWith('127.') || hop.host === '::1' || interfaceFor(hop.host) !== 'any';
    const iface = local ? interfaceFor(hop.host) : this.iface === 'lo' ? 'any' : this.iface!;
    const filter = `tcp and host ${hop.host} and port ${hop.port} and not port ${this.listen.port}`;
    const matcher = this.matcher!;
    const listen = this.listen;
    const dumpcap = new DumpcapStream(
      { iface, filter, command: this.command, keepCut: true },
      (packets) => this.onPackets(packets, matcher, listen),
      (why) => {
        if (entry.dumpcap !== dumpcap) return;
        entry.dumpcap = null;
        entry.reason = why;
      },
    );
    dumpcap.start().then(
      () => {
        if (generation !== this.generation) return void dumpcap.stop();
        entry.dumpcap = dumpcap;
        entry.reason = null;
        if (this.paused) dumpcap.pause();
      },
      (err: Error) => {
        if (generation !== this.generation) return;
        entry.reason = err.message;
        this.ctx.drops.count('wire.tap', 'tcp-destination-tap-failed');
      },
    );
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
        for (const o of this.outbound.values()) o.dumpcap?.pause();
        this.ctx.drops.count('wire.tap', 'paused-for-overload');
        const forgotten = matcher.forgetWire();
        if (forgotten > 0) this.ctx.drops.count('wire.tap', 'wire-copy-forgotten-on-pause', forgotten);
      }
    } else if (this.paused && now >= this.pausedUntilMs) {
      this.paused = false;
      dumpcap.resume();
      for (const o of this.outbound.values()) o.dumpcap?.resume();
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
    const outbound = [...this.outbound.values()];
    this.outbound.clear();
    await Promise.all(outbound.map((o) => o.dumpcap?.stop()));
    if (dumpcap) {
      this.reason = reason;
      await dumpcap.stop();
    }
  }

  /** The engine's SIP stage while the tap is on: every message waits for its wire copy. */
  capture(ev: SipCaptureEvent): void {
    if (!this.matcher || this.paused) {
      this.ctx.events.emit(ev);
      return;
    }
    // A request out over TCP may be on a connection we opened: its destination needs a dumpcap of its own.
    if (ev.transport === 'tcp' && ev.direction === 'out' && ev.method !== null && !this.outbound.has(ev.dst)) this.learnDestination(ev.dst);
    this.matcher.engine(ev, this.ctx.clock.nowUs());
  }

  private learnDestination(hop: string): void {
    const i = hop.lastIndexOf(':');
    const port = Number(hop.slice(i + 1));
    if (i <= 0 || !Number.isInteger(port) || port <= 0) return;
    this.tapDestination(hop, { host: hop.slice(0, i).replace(/^\[|\]$/g, ''), port }, this.generation);
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
      tcpDestinations: [...this.outbound].map(([hop, o]) => ({ hop, on: o.dumpcap !== null, reason: o.reason })),
      packets: (this.dumpcap?.packets ?? 0) + [...this.outbound.values()].reduce((n, o) => n + (o.dumpcap?.packets ?? 0), 0),
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
      if (p.transport === 'tcp') {
        this.tcp.push(p, (bytes, seg) => this.tcpMessage(bytes, seg, matcher, listen, now));
        continue;
      }
      // A keep-alive (CRLFs, RFC 5626 §4.4.1) or a reachability probe is no SIP message: the engine reports none, so nothing to pair.
      if (p.payload.length < MIN_SIP_BYTES) continue;
      const direction = isOurs(p.dst, listen) ? 'in' : 'out';
      const copy: WireCopy = { tsUs: Math.round(p.tsUs - this.offset.offsetUs), transport: 'udp', src: p.src, dst: p.dst, local: undefined, direction, payload: p.payload, length: p.fullLength ?? p.payload.length };
      this.watchTrying(copy);
      matcher.wire(copy, now);
    }
  }

  /**
   * One whole SIP message off a TCP connection. On a connection to our port
   * the hop is as the wire has it; on one we opened, our end is written as
   * our SIP address, as the engine writes it, and the connection's own end
   * kept as `local`.
   */
  private tcpMessage(bytes: Buffer, p: CapturedPacket, matcher: WireMatcher, listen: HostPort, now: number): void {
    let direction: 'in' | 'out';
    let src = p.src;
    let dst = p.dst;
    let local: string | undefined;
    if (isOurs(p.dst, listen)) direction = 'in';
    else if (isOurs(p.src, listen)) direction = 'out';
    else if (this.outbound.has(p.dst)) {
      direction = 'out';
      local = p.src;
      src = this.self;
    } else if (this.outbound.has(p.src)) {
      direction = 'in';
      local = p.dst;
      dst = this.self;
    } else {
      this.ctx.drops.count('wire.tap', 'tcp-message-not-ours');
      return;
    }
    const copy: WireCopy = { tsUs: Math.round(p.tsUs - this.offset.offsetUs), transport: 'tcp', src, dst, local, direction, payload: bytes, length: bytes.length };
    this.watchTrying(copy);
    matcher.wire(copy, now);
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
    if (copy.local !== undefined && !this.ownLocal.has(copy.local)) {
      // Another client's connection to a next hop of ours: nothing of it ever paired with what we sent.
      this.ctx.drops.count('wire.tap', 'tcp-message-not-ours');
      return;
    }
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
  const r = parseMessage(copy.payload, { stream: copy.transport === 'tcp' });
  if (!r.ok) return null;
  return { ...captureEvent(copy.tsUs, copy.direction, copy.transport, copy.src, copy.dst, metaOf(r.msg), copy.payload, retransmission), seen: 'wire' };
}
