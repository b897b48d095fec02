/**
 * ICMP for UDP next hops (RFC 3261 §18.4: an ICMP error is a transport
 * failure, which a proxy treats as a 503, §16.9).
 *
 * The SIP socket is unconnected, and Linux tells an unconnected UDP socket
 * nothing of ICMP (only IP_RECVERR would, which Node cannot set). A
 * *connected* socket does learn of it: the next read fails with
 * ECONNREFUSED / EHOSTUNREACH. So when a client transaction's request has
 * gone unanswered long enough to be retransmitted, we send the hop a
 * keep-alive (CRLFCRLF, which SIP stacks ignore — RFC 5626 §3.5.1, RFC 3261
 * §7.5) from a connected socket of our own and listen for the error.
 *
 * This keeps the SIP port unshared (no SO_REUSEADDR) and every SIP message on
 * it, and costs nothing while hops answer: probes go only to a hop that has
 * left a request unanswered, or that was found unreachable moments ago.
 *
 * Rounds: a probe opens a round; every transaction that asks while it is open
 * waits on its verdict. An error ends the round "unreachable" and fails them
 * all; a hop that stays silent leaves the round open until the next probe,
 * whose round drops the old waiters (their transactions ask again on their
 * next retransmission, or end on their own timers).
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { DropCounters } from '../../metrics/drops';
import { formatHostPort, type NextHop } from '../../net/host-port';
import type { SendFailure } from './types';

/** What SIP peers take for a keep-alive and otherwise ignore. */
export const PROBE_PAYLOAD = Buffer.from('\r\n\r\n');

export interface ReachabilityOptions {
  /** Local address the probes leave from: the SIP socket's, so routing and firewalls see the same source. */
  localHost: string;
  monoMs: () => number;
  drops: DropCounters;
  /** At most one probe per hop this often (ms); askers in between share its verdict. */
  probeIntervalMs: number;
  /** How long a hop found unreachable stays suspect: its new requests are probed at once (ms). */
  suspectMs?: number;
  /** Hops watched at once; the least recently used one's socket is closed beyond this. */
  maxHops?: number;
  /** A hop not asked about for this long has its socket closed (ms). */
  idleMs?: number;
}

interface HopWatch {
  readonly key: string;
  readonly socket: dgram.Socket;
  /** When the open round's probe went out (-Infinity: none yet). */
  probedAt: number;
  /** The open round's verdict: the error that ended it, if it has one. */
  verdict: Error | null;
  /** When the hop was last found unreachable (-Infinity: never). */
  unreachableAt: number;
  waiters: SendFailure[];
  lastAskedAt: number;
  /**
   * opening: binding and connecting; the round `probe()` opened goes out once connected.
   * ready: probes go at once. broken: the connect failed; the next round starts over with a new socket.
   */
  state: 'opening' | 'ready' | 'broken';
}

const DEFAULT_SUSPECT_MS = 10_000;
const DEFAULT_MAX_HOPS = 64;
const DEFAULT_IDLE_MS = 60_000;

export class UdpReachability {
  readonly #o: Required<ReachabilityOptions>;
  /** Insertion order is recency of asking: the first entry is the least recently used. */
  readonly #hops = new Map<string, HopWatch>();
  /** When any hop was last found unreachable: while that is stale, `suspect()` costs nothing. */
  #lastUnreachableAt = -Infinity;
  readonly #sweep: NodeJS.Timeout;
  #closed = false;

  constructor(options: ReachabilityOptions) {
    this.#o = { suspectMs: DEFAULT_SUSPECT_MS, maxHops: DEFAULT_MAX_HOPS, idleMs: DEFAULT_IDLE_MS, ...options };
    this.#sweep = setInterval(() => this.#closeIdle(), Math.max(1_000, this.#o.idleMs / 4));
    this.#sweep.unref();
  }

  /** Whether `peer` was found unreachable within the last `suspectMs`, so a new request to it should be probed at once. */
  suspect(peer: NextHop): boolean {
    const now = this.#o.monoMs();
    if (now - this.#lastUnreachableAt >= this.#o.suspectMs) return false;
    const w = this.#hops.get(formatHostPort(peer));
    return w !== undefined && now - w.unreachableAt < this.#o.suspectMs;
  }

  /**
   * Asks whether `peer` is reachable: `onUnreachable` is called (never
   * synchronously) if an ICMP error or a refused send says it is not. No
   * answer means no evidence either way.
   */
  probe(peer: NextHop, onUnreachable: SendFailure): void {
    if (this.#closed) return;
    const now = this.#o.monoMs();
    const w = this.#watch(peer, now);
    if (!w) return;
    if (now - w.probedAt >= this.#o.probeIntervalMs) {
      // A new round: the last one's waiters heard nothing in a whole interval.
      w.waiters = [onUnreachable];
      w.verdict = null;
      w.probedAt = now;
      if (w.state === 'ready') this.#send(w);
      return;
    }
    if (w.verdict) {
      const err = w.verdict;
      queueMicrotask(() => onUnreachable(err));
    } else w.waiters.push(onUnreachable);
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const w of this.#hops.values()) closeQuietly(w.socket);
    this.#hops.clear();
  }

  #send(w: HopWatch): void {
    w.socket.send(PROBE_PAYLOAD, (err) => {
      if (err) this.#unreachable(w, err);
    });
  }

  /** The hop's watch, moved to the most recently used end; a new one gets a socket connected to it. */
  #watch(peer: NextHop, now: number): HopWatch | null {
    const key = formatHostPort(peer);
    let w: HopWatch | null | undefined = this.#hops.get(key);
    if (w && w.state === 'broken' && now - w.probedAt >= this.#o.probeIntervalMs) {
      const unreachableAt = w.unreachableAt;
      this.#forget(w);
      w = this.#open(key, peer);
      if (!w) return null;
      w.unreachableAt = unreachableAt;
    } else if (w) {
      this.#hops.delete(key);
    } else {
      if (this.#hops.size >= this.#o.maxHops) this.#forget(this.#hops.values().next().value!);
      w = this.#open(key, peer);
      if (!w) return null;
    }
    w.lastAskedAt = now;
    this.#hops.set(key, w);
    return w;
  }

  #open(key: string, peer: NextHop): HopWatch | null {
    const v6 = isIP(peer.host) === 6;
    let socket: dgram.Socket;
    try {
      socket = dgram.createSocket(v6 ? 'udp6' : 'udp4');
    } catch (err) {
      this.#o.drops.count('sip.udp', `probe-socket ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      return null;
    }
    const w: HopWatch = { key, socket, probedAt: -Infinity, verdict: null, unreachableAt: -Infinity, waiters: [], lastAskedAt: 0, state: 'opening' };
    // The kernel reports the ICMP error to a connected socket's next read: Node emits it here (syscall 'recvmsg').
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.syscall !== 'bind') return this.#unreachable(w, err);
      // Our side's problem (the local address went away), not the hop's: no verdict.
      this.#o.drops.count('sip.udp', `probe-socket ${err.code ?? 'error'}`);
      if (this.#hops.get(key) === w) this.#forget(w);
    });
    // A peer may answer a keep-alive (RFC 5626 pong); it is no SIP message of ours.
    socket.on('message', () => undefined);
    const local = isIP(this.#o.localHost) === (v6 ? 6 : 4) ? this.#o.localHost : undefined;
    // A socket closed while binding (idle, evicted, closed) never gets here.
    socket.bind({ address: local, port: 0 }, () => {
      socket.connect(peer.port, peer.host, (err?: Error) => {
        // A refused connect (EACCES for a broadcast address, ENETUNREACH without a route) is a verdict too.
        if (err) {
          w.state = 'broken';
          return this.#unreachable(w, err);
        }
        w.state = 'ready';
        // The watch exists because a probe was asked for: that round's probe goes now.
        if (this.#hops.get(key) === w) this.#send(w);
      });
    });
    return w;
  }

  #unreachable(w: HopWatch, err: Error): void {
    if (this.#hops.get(w.key) !== w) return; // closed or replaced
    const now = this.#o.monoMs();
    w.unreachableAt = now;
    this.#lastUnreachableAt = now;
    w.verdict = err;
    this.#o.drops.count('sip.udp', `next-hop-unreachable ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    const waiters = w.waiters;
    w.waiters = [];
    for (const fail of waiters) fail(err);
  }

  #forget(w: HopWatch): void {
    this.#hops.delete(w.key);
    closeQuietly(w.socket);
  }

  #closeIdle(): void {
    const now = this.#o.monoMs();
    for (const w of this.#hops.values()) {
      // Oldest first: stop at the first hop asked about recently.
      if (now - w.lastAskedAt < this.#o.idleMs) break;
      this.#forget(w);
    }
  }
}

/** Closing a socket that a failed bind already closed throws; either way it is closed. */
function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}
