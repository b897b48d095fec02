/**
 * The kernel's side of the SIP socket: what waits in its receive queue and
 * what the kernel dropped before we could read it. Inside the process every
 * timing can look fine while INVITEs queue here (issue #12) — these figures
 * are the ones that show it.
 *
 * - `/proc/net/udp` and `/proc/net/udp6`: one row per UDP socket; `rx_queue`
 *   (hex, bytes waiting to be read) and `drops` (datagrams this socket lost,
 *   mostly to a full receive buffer) of the rows bound to our SIP port.
 * - `/proc/net/snmp`, the `Udp:` lines: the whole system's `RcvbufErrors`
 *   (a datagram dropped because a socket's receive buffer was full) and
 *   `InErrors` (every UDP datagram dropped on receive, those included),
 *   as deltas per sampling interval and totals since the sampler started;
 *   and `SndbufErrors` (a datagram not sent because the sender's socket
 *   buffer was full), over the last minute.
 * - `/proc/sys/net/core/{r,w}mem_{default,max}`: the buffer a socket gets
 *   unless it asks, and the most it may ask for; read every minute.
 *
 * `/proc/net/udp` lists every UDP socket of the box, and the relay keeps
 * thousands bound: with 9,000 sockets one read cost 42 ms of kernel time
 * here, walking the kernel's socket table with each slot locked. So the
 * socket rows are read at most SOCKET_READ_SHARE of the time (every second
 * while that is cheap, less often when not); the snmp counters, a few
 * hundred bytes, every interval.
 *
 * The built-in traffic's own sockets (its SIP and RTP ports, when it runs)
 * are read too. What they drop is the generator falling behind — a
 * saturated generator, not the call path — and the box-wide counters
 * count it all the same; so the board's figures leave it out
 * (`lessGenerator`), and say how much they left out (`generatorDrops`).
 *
 * The parsers are pure; `KernelUdpSampler` reads the files (injected). It
 * also keeps when the drop counters rose (`dropWindows`, drop-windows.ts),
 * on the engine's clock, so the calls up at the time can be found.
 */
import type { Clock, TimeWindow } from '../clock';
import { DropWindows } from './drop-windows';

export interface UdpSocketRow {
  /** "ip:port" ("[v6]:port"), as the rest of the engine writes addresses. */
  local: string;
  port: number;
  txQueueBytes: number;
  rxQueueBytes: number;
  drops: number;
  inode: number;
}

/**
 * The rows of a `/proc/net/udp` or `/proc/net/udp6` text bound to `port` (all
 * rows when port is null). With a port, only lines that mention it are
 * split: the relay keeps thousands of sockets bound, and this runs every
 * second on the main thread.
 */
export function parseProcNetUdp(text: string, port: number | null = null): UdpSocketRow[] {
  const out: UdpSocketRow[] = [];
  if (port === null) {
    for (const line of text.split('\n')) parseRow(line, null, out);
    return out;
  }
  // The local address column ends in ":PPPP " (upper-case hex); a match elsewhere on the line is checked by parseRow.
  const needle = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  let lastLineStart = -1;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) {
    const start = text.lastIndexOf('\n', i) + 1;
    if (start === lastLineStart) continue;
    lastLineStart = start;
    const end = text.indexOf('\n', i);
    parseRow(text.slice(start, end < 0 ? text.length : end), port, out);
  }
  return out;
}

function parseRow(line: string, port: number | null, out: UdpSocketRow[]): void {
  const f = line.trim().split(/\s+/);
  // sl local rem st tx:rx tr tm->when retrnsmt uid timeout inode ref pointer drops
  if (f.length < 13 || !/^\d+:$/.test(f[0]!)) return;
  const [addrHex, portHex] = f[1]!.split(':');
  const queues = f[4]!.split(':');
  if (!addrHex || !portHex || queues.length !== 2) return;
  const p = parseInt(portHex, 16);
  if (port !== null && p !== port) return;
  out.push({
    local: `${procAddress(addrHex)}:${p}`,
    port: p,
    txQueueBytes: parseInt(queues[0]!, 16),
    rxQueueBytes: parseInt(queues[1]!, 16),
    drops: Number(f[f.length - 1]),
    inode: Number(f[9]),
  });
}

/** /proc's address: IPv4 as one host-order (little-endian here) u32, IPv6 as four of them. */
function procAddress(hex: string): string {
  const bytes = (h: string) => [h.slice(6, 8), h.slice(4, 6), h.slice(2, 4), h.slice(0, 2)].map((b) => parseInt(b, 16));
  if (hex.length === 8) return bytes(hex).join('.');
  const b: number[] = [];
  for (let i = 0; i < 32; i += 8) b.push(...bytes(hex.slice(i, i + 8)));
  if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `[::ffff:${b.slice(12).join('.')}]`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return `[${compressV6(groups)}]`;
}

function compressV6(g: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  return best < 0 ? g.join(':') : `${g.slice(0, best).join(':')}::${g.slice(best + bestLen).join(':')}`;
}

export interface UdpCounters {
  inDatagrams: number;
  inErrors: number;
  rcvbufErrors: number;
  sndbufErrors: number;
}

/** The `Udp:` counters of `/proc/net/snmp` (the header line names the columns), or null if absent. */
export function parseUdpSnmp(text: string): UdpCounters | null {
  const lines = text.split('\n').filter((l) => l.startsWith('Udp: '));
  if (lines.length < 2) return null;
  const names = lines[0]!.trim().split(/\s+/).slice(1);
  const values = lines[1]!.trim().split(/\s+/).slice(1).map(Number);
  const get = (n: string) => {
    const i = names.indexOf(n);
    return i >= 0 && Number.isFinite(values[i]) ? values[i]! : 0;
  };
  return { inDatagrams: get('InDatagrams'), inErrors: get('InErrors'), rcvbufErrors: get('RcvbufErrors'), sndbufErrors: get('SndbufErrors') };
}

/** `/proc/sys/net/core`'s socket buffer sizes, bytes. */
export interface BufferLimits {
  rmemDefault: number;
  rmemMax: number;
  wmemDefault: number;
  wmemMax: number;
}

/** How often the buffer limits are read again (an operator may raise them while the lab runs). */
const LIMITS_EVERY_MS = 60_000;

/** A kernel drop counter's rise: between the last two reads, over the last minute of reads, since the sampler started. */
export interface DropDeltas {
  interval: number;
  lastMinute: number;
  total: number;
}

/** The span `lastMinute` covers (ms). */
export const LAST_MINUTE_MS = 60_000;

/**
 * A counter's rise over the last minute of reads: the newest reading less the
 * oldest one kept, which is the last read at or before a minute ago (so a
 * rise just inside the minute is counted whole).
 */
class MinuteDelta {
  private readonly reads: [number, number][] = [];

  add(atMs: number, value: number): number {
    const r = this.reads;
    r.push([atMs, value]);
    while (r.length > 1 && r[1]![0] <= atMs - LAST_MINUTE_MS) r.shift();
    return value - r[0]![1];
  }

  clear(): void {
    this.reads.length = 0;
  }
}

/** The snapshot's `kernel` section. */
export interface KernelUdpStats {
  /** The SIP port watched (the proxy's bound port), null while it is not running. */
  port: number | null;
  /** Bytes waiting in the receive queue of the SIP socket(s) at the last sample, as the kernel charges them (with its per-packet overhead). */
  rxQueueBytes: number;
  /** The largest of those over the last minute of samples. */
  rxQueueMaxBytes: number;
  /** How often the SIP socket's and the generator's rows (rx queue, drops) are read now (ms): `intervalMs`, or longer while a read of /proc/net/udp is costly. */
  socketIntervalMs: number;
  /** Datagrams the SIP socket(s) dropped, as the kernel counts them for the socket, since it opened. */
  socketDrops: number;
  /** The rise of `socketDrops` over the last minute of reads (a new socket starts its own minute). */
  socketDropsLastMinute: number;
  /** System-wide UDP receive-buffer drops and receive errors: in the last interval, over the last minute, and since the sampler started. */
  rcvbufErrors: DropDeltas;
  inErrors: DropDeltas;
  /** System-wide UDP sends refused for a full send buffer, the same way (the built-in traffic's sends included: it cannot be told apart). */
  sndbufErrors: DropDeltas;
  /** The kernel's socket buffer sizes (bytes): what a socket gets unless it asks (`rmem_default`), and the most it may ask for (`rmem_max`); null if unreadable. */
  bufferLimits: BufferLimits | null;
  /**
   * Datagrams the built-in traffic's own sockets dropped (`ports`, empty
   * while it is off): over the last minute of their reads, and since the
   * sampler first read them.
   */
  generatorDrops: { ports: number[]; lastMinute: number; total: number };
  /**
   * RcvbufErrors and InErrors over the last minute less `generatorDrops`: the
   * drops of every other socket (ours on the call path, and any other
   * process's). While the built-in traffic runs, both are taken at the same
   * reads (every `socketIntervalMs`), so one is never ahead of the other.
   */
  lessGenerator: { rcvbufErrors: number; inErrors: number };
  intervalMs: number;
  /**
   * When the drop counters rose, the generator's own drops left out
   * (RcvbufErrors or InErrors between two reads of /proc/net/snmp, the SIP
   * socket's drops between two reads of its row), µs on the engine clock,
   * merged, the newest MAX_DROP_WINDOWS, oldest first.
   */
  dropWindows: TimeWindow[];
  /** Why there are no figures (no /proc), else null. */
  unavailable: string | null;
}

export type ReadText = (path: string) => Promise<string>;

/** The share of wall time the sampler may spend reading /proc/net/udp and udp6. */
export const SOCKET_READ_SHARE = 0.01;

/** Samples the files every `intervalMs`; `stats()` is what the last sample found. */
export class KernelUdpSampler {
  private timer: NodeJS.Timeout | null = null;
  private base: UdpCounters | null = null;
  private last: UdpCounters | null = null;
  /** The rx queue at each socket read of the last minute: [when (ms), bytes]. */
  private readonly recentRx: [number, number][] = [];
  private rows: UdpSocketRow[] = [];
  private socketIntervalMs: number;
  private socketDueMs = -Infinity;
  private current: KernelUdpStats;
  private busy = false;
  private readonly windows = new DropWindows();
  /** The SIP socket's drops at its last read, for the port read (a new socket starts again). */
  private socketRead: { port: number; drops: number; atUs: number } | null = null;
  private readonly rcvbufMinute = new MinuteDelta();
  private readonly inErrorsMinute = new MinuteDelta();
  private readonly sndbufMinute = new MinuteDelta();
  private limits: BufferLimits | null = null;
  private limitsDueMs = -Infinity;
  private readonly socketMinute = new MinuteDelta();
  private socketDropsLastMinute = 0;
  /** The generator's sockets' drops at their last read, by inode (a socket closed keeps what it dropped in the total). */
  private readonly generatorSockets = new Map<number, number>();
  private generatorTotal = 0;
  private readonly generatorMinute = new MinuteDelta();
  private generatorLastMinute = 0;
  /** RcvbufErrors and InErrors less the generator's total, over the last minute, fed only at reads that took both. */
  private readonly rcvbufLessMinute = new MinuteDelta();
  private readonly inErrorsLessMinute = new MinuteDelta();
  private lessGenerator = { rcvbufErrors: 0, inErrors: 0 };
  /** The last such read: [engine µs, RcvbufErrors − generator, InErrors − generator], the highest each can have been. */
  private lessRead: [number, number, number] | null = null;

  constructor(
    private readonly read: ReadText,
    private readonly port: () => number | null,
    /** The engine's clock: `monoMs` paces the reads, `nowUs` stamps `dropWindows` on the time axis calls are on. */
    private readonly clock: Pick<Clock, 'nowUs' | 'monoMs'>,
    /** The built-in traffic's own UDP ports (empty while it is off). */
    private readonly generatorPorts: () => readonly number[] = () => [],
    readonly intervalMs = 1_000,
  ) {
    this.socketIntervalMs = intervalMs;
    this.current = emptyKernelStats(intervalMs);
  }

  start(): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  stats(): KernelUdpStats {
    return this.current;
  }

  async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const port = this.port();
      const c = parseUdpSnmp(await this.read('/proc/net/snmp'));
      if (!c) throw new Error('no Udp line in /proc/net/snmp');
      this.base ??= c;
      const prev = this.last ?? c;
      this.last = c;
      const readUs = this.clock.nowUs();
      const start = this.clock.monoMs();
      const rcvbufLastMinute = this.rcvbufMinute.add(start, c.rcvbufErrors);
      const inErrorsLastMinute = this.inErrorsMinute.add(start, c.inErrors);
      const sndbufLastMinute = this.sndbufMinute.add(start, c.sndbufErrors);
      if (start >= this.limitsDueMs) {
        this.limitsDueMs = start + LIMITS_EVERY_MS;
        this.limits = await this.readLimits();
      }
      const generatorPorts = [...this.generatorPorts()];
      let socketsRead = false;
      let after = c;
      if (port === null) {
        this.rows = [];
        this.socketRead = null;
        this.socketMinute.clear();
        this.socketDropsLastMinute = 0;
      }
      if ((port !== null || generatorPorts.length > 0) && start >= this.socketDueMs) {
        const [udp, udp6] = await Promise.all([this.read('/proc/net/udp').catch(() => ''), this.read('/proc/net/udp6').catch(() => '')]);
        const end = this.clock.monoMs();
        socketsRead = true;
        this.socketIntervalMs = Math.max(this.intervalMs, Math.ceil((end - start) / SOCKET_READ_SHARE / this.intervalMs) * this.intervalMs);
        this.socketDueMs = start + this.socketIntervalMs - this.intervalMs / 2;
        if (port !== null) {
          this.rows = [...parseProcNetUdp(udp, port), ...parseProcNetUdp(udp6, port)];
          this.recentRx.push([end, this.rows.reduce((n, r) => n + r.rxQueueBytes, 0)]);
          while (this.recentRx.length > 1 && this.recentRx[0]![0] < end - LAST_MINUTE_MS) this.recentRx.shift();
          this.noteSocketDrops(port, this.rows.reduce((n, r) => n + r.drops, 0), end);
        }
        this.noteGeneratorDrops(generatorPorts.flatMap((p) => [...parseProcNetUdp(udp, p), ...parseProcNetUdp(udp6, p)]), end);
        // The box's counters again, after the sockets: what the generator dropped while they were read is in its total but not
        // in the first read. Between the two reads lies the box's count at the moment its sockets were read (noteLessGenerator).
        if (generatorPorts.length > 0) after = parseUdpSnmp(await this.read('/proc/net/snmp')) ?? c;
      } else if (generatorPorts.length === 0) {
        // No generator sockets and none read: its total stands still, and its minute must still run out.
        this.generatorLastMinute = this.generatorMinute.add(start, this.generatorTotal);
      }
      // Without the generator its total stands still, so every read counts; with it, only reads that also took its sockets.
      if (socketsRead || generatorPorts.length === 0) this.noteLessGenerator(c, after, start, readUs);
      const rows = this.rows;
      this.current = {
        port,
        rxQueueBytes: rows.reduce((n, r) => n + r.rxQueueBytes, 0),
        rxQueueMaxBytes: port === null ? 0 : Math.max(0, ...this.recentRx.map(([, rx]) => rx)),
        socketIntervalMs: this.socketIntervalMs,
        socketDrops: rows.reduce((n, r) => n + r.drops, 0),
        socketDropsLastMinute: port === null ? 0 : this.socketDropsLastMinute,
        rcvbufErrors: { interval: c.rcvbufErrors - prev.rcvbufErrors, lastMinute: rcvbufLastMinute, total: c.rcvbufErrors - this.base.rcvbufErrors },
        inErrors: { interval: c.inErrors - prev.inErrors, lastMinute: inErrorsLastMinute, total: c.inErrors - this.base.inErrors },
        sndbufErrors: { interval: c.sndbufErrors - prev.sndbufErrors, lastMinute: sndbufLastMinute, total: c.sndbufErrors - this.base.sndbufErrors },
        bufferLimits: this.limits,
        generatorDrops: { ports: generatorPorts, lastMinute: this.generatorLastMinute, total: this.generatorTotal },
        lessGenerator: { ...this.lessGenerator },
        intervalMs: this.intervalMs,
        dropWindows: this.windows.list(),
        unavailable: null,
      };
    } catch (err) {
      this.current = { ...emptyKernelStats(this.intervalMs), dropWindows: this.windows.list(), unavailable: `cannot read the kernel's UDP figures: ${(err as Error).message.split('\n')[0]}` };
    } finally {
      this.busy = false;
    }
  }

  /** The four sizes, or null when any is unreadable (no /proc/sys, a container that hides it). */
  private async readLimits(): Promise<BufferLimits | null> {
    const one = (name: string) => this.read(`/proc/sys/net/core/${name}`).then((t) => Number.parseInt(t.trim(), 10), () => NaN);
    const [rmemDefault, rmemMax, wmemDefault, wmemMax] = await Promise.all([one('rmem_default'), one('rmem_max'), one('wmem_default'), one('wmem_max')]);
    const all = [rmemDefault, rmemMax, wmemDefault, wmemMax];
    return all.every((n) => Number.isFinite(n) && n > 0) ? { rmemDefault, rmemMax, wmemDefault, wmemMax } : null;
  }

  /** The generator's socket rows at a read: what each dropped since its last read (a socket first seen, since it opened) adds to the total. */
  private noteGeneratorDrops(rows: UdpSocketRow[], atMs: number): void {
    const seen = new Set<number>();
    for (const r of rows) {
      if (seen.has(r.inode)) continue;
      seen.add(r.inode);
      this.generatorTotal += Math.max(0, r.drops - (this.generatorSockets.get(r.inode) ?? 0));
      this.generatorSockets.set(r.inode, r.drops);
    }
    for (const inode of this.generatorSockets.keys()) if (!seen.has(inode)) this.generatorSockets.delete(inode);
    this.generatorLastMinute = this.generatorMinute.add(atMs, this.generatorTotal);
  }

  /**
   * The box's counters less the generator's total, at a read that took both:
   * its minute, and a window if they rose. The generator's sockets are read
   * between two reads of the box's counters (`before`, `after`), so the box's
   * count at that moment is only known to lie between them: a generator that
   * drops thousands a second would otherwise leave its drops of those few
   * milliseconds on the board as the box's (seen at 100 calls/s with the
   * box saturated: +27 to +860 a minute, every one the generator's). Only what
   * is certain counts: the rise from the highest the count can have been a
   * minute ago to the lowest it can be now.
   */
  private noteLessGenerator(before: UdpCounters, after: UdpCounters, atMs: number, atUs: number): void {
    const g = this.generatorTotal;
    const high = { rcvbuf: after.rcvbufErrors - g, inErrors: after.inErrors - g };
    const low = { rcvbuf: before.rcvbufErrors - g, inErrors: before.inErrors - g };
    this.lessGenerator = {
      rcvbufErrors: Math.max(0, this.rcvbufLessMinute.add(atMs, high.rcvbuf) - (high.rcvbuf - low.rcvbuf)),
      inErrors: Math.max(0, this.inErrorsLessMinute.add(atMs, high.inErrors) - (high.inErrors - low.inErrors)),
    };
    const last = this.lessRead;
    if (last !== null && (low.rcvbuf > last[1] || low.inErrors > last[2])) this.windows.rose(last[0], atUs);
    this.lessRead = [atUs, high.rcvbuf, high.inErrors];
  }

  /** The SIP socket's drops at a read: a rise since the last read of the same port is a window; a new socket (another port, or a count that went down) starts the minute again. */
  private noteSocketDrops(port: number, drops: number, atMs: number): void {
    const atUs = this.clock.nowUs();
    const last = this.socketRead;
    if (last !== null && last.port === port && drops > last.drops) this.windows.rose(last.atUs, atUs);
    if (last !== null && (last.port !== port || drops < last.drops)) this.socketMinute.clear();
    this.socketDropsLastMinute = this.socketMinute.add(atMs, drops);
    this.socketRead = { port, drops, atUs };
  }
}

export function emptyKernelStats(intervalMs = 1_000): KernelUdpStats {
  return { port: null, rxQueueBytes: 0, rxQueueMaxBytes: 0, socketIntervalMs: intervalMs, socketDrops: 0, socketDropsLastMinute: 0, rcvbufErrors: { interval: 0, lastMinute: 0, total: 0 }, inErrors: { interval: 0, lastMinute: 0, total: 0 }, sndbufErrors: { interval: 0, lastMinute: 0, total: 0 }, bufferLimits: null, generatorDrops: { ports: [], lastMinute: 0, total: 0 }, lessGenerator: { rcvbufErrors: 0, inErrors: 0 }, intervalMs, dropWindows: [], unavailable: null };
}
