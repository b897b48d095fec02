/**
 * Decoded PCM to an application over TCP or TLS, as rtpengine-recording's
 * `tls-send-to` does (issue 15): per call and leg one connection, opened
 * when the leg's first PCM arrives, carrying a header (header.ts) and then
 * raw 16-bit little-endian PCM.
 *
 *   send() ──► the connection's queue (bounded in bytes; full → the NEW frame is dropped, counted)
 *                 │ handed to the socket while it takes more (write() true), again on 'drain'
 *                 ▼
 *   node:net / node:tls socket ──► the application
 *
 * Why this cannot stall the relay: the relay never calls it. The recorder
 * calls `send` from its drain timer, and `send` copies the samples into the
 * queue (or drops them) and perhaps calls `socket.write`, which does not
 * block; nothing awaits. The bound counts what the socket itself holds
 * unsent (`writableLength`) as well as the queue, because the queue hands
 * the socket more only while the socket is not asking to wait: so one
 * connection holds at most `queueBytes` (header included) however slow or
 * absent the application is. The number of connections is bounded by the
 * caller: the Recorder records at most `maxRecordings` calls, two legs each.
 *
 * One connection (one leg of one call):
 *
 *   connecting ──connect──► open ──end(): queue flushed, FIN──► closed 'ended'
 *       │                     │
 *       └─error, timeout──────┴─error, reset, consumer closed──► failed ──backoff──► connecting (header again)
 *
 * A failure drops, and counts, what was queued or in flight; while failed,
 * every frame is dropped and counted until the next attempt, which comes
 * after `initialMs`, doubling up to `maxMs`, back to `initialMs` once a
 * connection opens. Every attempt starts with a header whose `connection`
 * and `sampleOffset` tell the consumer the stream restarted, and where.
 * A bad configuration (a CA that does not parse, a port out of range) or a
 * header that cannot be written (a Call-ID over the header's bound) fails
 * the connection once, with the reason, and it stays failed.
 *
 * Figures, per connection (the debugging the story's team had to ask the
 * application's developers for): connect time, first PCM byte time, bytes
 * and frames sent — acknowledged by the socket's write callback, i.e. in the
 * kernel's buffer, not proof the application read them — frames and bytes
 * dropped, the queue's high-water mark, reconnects, failures and the last
 * reason, close time and reason. For each connection, frames given to
 * `send` = framesSent + framesDropped + frames still queued or in flight.
 * Not done: no jitter on the backoff (one target, so no herd to spread).
 */
import { type Socket, connect as tcpConnect } from 'node:net';
import { endianness } from 'node:os';
import { type SecureContext, connect as tlsConnect, createSecureContext } from 'node:tls';
import { formatHostPort, type HostPort } from '../../net/host-port';
import type { Direction } from '../call-recording';
import { encodePcmHeader, PCM_HEADER_MAX_BYTES } from './header';

export interface ForwardTls {
  /** CA certificate(s), PEM, to trust instead of the system's. */
  ca?: Buffer;
  /** Accept any certificate (labs): encrypted, not authenticated. */
  insecure?: boolean;
  /** The name the certificate must carry, sent as SNI; the target's host when absent. */
  servername?: string;
}

export interface ForwarderOptions {
  target: HostPort;
  /** null: plain TCP. */
  tls: ForwardTls | null;
  /** Bound per connection, bytes: header, queue and what the socket holds unsent. At least MIN_QUEUE_BYTES. */
  queueBytes?: number;
  /** Wait before reconnecting, doubling from initialMs up to maxMs. */
  backoff: { initialMs: number; maxMs: number };
  clock: { nowUs(): number };
  /** An attempt not connected (TLS: handshake done) by then fails. */
  connectTimeoutMs?: number;
  /** How long end() waits for the queue to go out and the consumer to close before it destroys the socket. */
  endTimeoutMs?: number;
  /** Closed connections kept for stats(), newest first. */
  closedKept?: number;
}

export const FORWARDER_DEFAULTS = {
  queueBytes: 256 * 1024,
  /** Taken only in place of unusable backoff values. */
  backoff: { initialMs: 100, maxMs: 10_000 },
  connectTimeoutMs: 5000,
  endTimeoutMs: 2000,
  closedKept: 100,
} as const;
/** Room for the largest header and a few frames. */
export const MIN_QUEUE_BYTES = 2 * PCM_HEADER_MAX_BYTES;
/** Queued frames are joined into writes of at most this. */
const MAX_WRITE_BYTES = 64 * 1024;
const LITTLE_ENDIAN = endianness() === 'LE';
const LEGS: readonly Direction[] = ['caller', 'callee'];

export type ForwardState = 'connecting' | 'open' | 'closed' | 'failed';

export interface ForwardConnectionFigures {
  callId: string;
  leg: Direction;
  /** "host:port". */
  target: string;
  tls: boolean;
  state: ForwardState;
  /** When the leg's first PCM arrived (the header's startUs). */
  startUs: number;
  /** When the first attempt connected (TLS: handshake done); null if none has. */
  connectUs: number | null;
  /** When the latest attempt connected. */
  lastConnectUs: number | null;
  /** When the first PCM byte was handed to a socket. */
  firstByteUs: number | null;
  /** Bytes the socket acknowledged, headers included: what the consumer can have received. */
  bytesSent: number;
  framesSent: number;
  framesDropped: number;
  /** PCM bytes of the dropped frames. */
  bytesDropped: number;
  /** Bytes held now: queue plus the socket's unsent buffer. */
  queuedBytes: number;
  /** The most ever held; never above the bound. */
  maxQueuedBytes: number;
  /** Attempts after the first. */
  reconnects: number;
  failures: number;
  lastError: string | null;
  closeUs: number | null;
  closeReason: string | null;
}

export interface ReasonCount {
  reason: string;
  count: number;
}

export interface DropReason {
  /** 'queue full', 'not connected', 'connection lost', 'end timeout', 'closed', 'not PCM'. */
  reason: string;
  frames: number;
  bytes: number;
}

export interface ForwarderTotals {
  /** Legs that opened a connection. */
  connections: number;
  /** Not closed yet (ending ones included). */
  active: number;
  bytesSent: number;
  framesSent: number;
  framesDropped: number;
  bytesDropped: number;
  reconnects: number;
  failures: number;
  /** Failures by error code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, …) or reason. */
  failureReasons: ReasonCount[];
  drops: DropReason[];
}

export interface ForwarderStats {
  target: string;
  tls: boolean;
  totals: ForwarderTotals;
  /** Active connections, then the most recent closed ones, newest first. */
  connections: ForwardConnectionFigures[];
}

interface Entry {
  buf: Buffer;
  /** 1 for a PCM frame, 0 for the header. */
  frames: number;
}

/** One socket of a connection. Once `done`, its late events and write callbacks change nothing. */
interface Attempt {
  socket: Socket;
  done: boolean;
  connectTimer: NodeJS.Timeout | null;
  inFlightFrames: number;
  inFlightPcm: number;
  /** socket.end() called: everything was queued out. */
  endSent: boolean;
  /** 'finish': everything, FIN included, handed to the kernel. */
  finished: boolean;
}

interface Conn {
  key: string;
  fig: ForwardConnectionFigures;
  queue: (Entry | undefined)[];
  head: number;
  /** Queue bytes, header included. */
  queuedBytes: number;
  queuedFrames: number;
  queuedPcm: number;
  attempt: Attempt | null;
  attempts: number;
  /** Samples given to send(): the next header's sampleOffset. */
  samplesIn: number;
  backoffMs: number;
  retry: NodeJS.Timeout | null;
  /** Why it can never connect, once known. */
  fatal: string | null;
  ending: { timer: NodeJS.Timeout; done: Promise<void>; resolve: () => void } | null;
}

export class Forwarder {
  private readonly active = new Map<string, Conn>();
  private readonly ending = new Set<Conn>();
  private closed: ForwardConnectionFigures[] = [];
  private readonly totals = { connections: 0, bytesSent: 0, framesSent: 0, framesDropped: 0, bytesDropped: 0, reconnects: 0, failures: 0 };
  private readonly failureReasons = new Map<string, number>();
  private readonly drops = new Map<string, DropReason>();
  private readonly target: string;
  private readonly queueBytes: number;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly connectTimeoutMs: number;
  private readonly endTimeoutMs: number;
  private readonly closedKept: number;
  private readonly secureContext: SecureContext | null = null;
  private readonly configError: string | null = null;
  private shut = false;

  constructor(private readonly opts: ForwarderOptions) {
    this.target = formatHostPort(opts.target);
    this.queueBytes = Math.max(MIN_QUEUE_BYTES, whole(opts.queueBytes, FORWARDER_DEFAULTS.queueBytes));
    this.initialMs = whole(opts.backoff?.initialMs, FORWARDER_DEFAULTS.backoff.initialMs);
    this.maxMs = Math.max(this.initialMs, whole(opts.backoff?.maxMs, FORWARDER_DEFAULTS.backoff.maxMs));
    this.connectTimeoutMs = whole(opts.connectTimeoutMs, FORWARDER_DEFAULTS.connectTimeoutMs);
    this.endTimeoutMs = whole(opts.endTimeoutMs, FORWARDER_DEFAULTS.endTimeoutMs);
    this.closedKept = whole(opts.closedKept, FORWARDER_DEFAULTS.closedKept);
    const port = opts.target.port;
    if (!Number.isInteger(port) || port < 1 || port > 65535) this.configError = `port ${String(port)} is not 1-65535`;
    else if (opts.tls !== null) {
      // Parsed once for every connection; a CA that does not parse is the configuration's error, shown on each connection.
      try {
        this.secureContext = createSecureContext(opts.tls.ca === undefined ? {} : { ca: opts.tls.ca });
      } catch (err) {
        this.configError = `TLS CA: ${describe(err).text}`;
      }
    }
  }

  /**
   * One chunk of a leg's PCM, copied: the caller keeps its array. Opens the
   * leg's connection on its first chunk. Never blocks, never throws: when
   * the chunk cannot be queued it is dropped and counted.
   */
  send(callId: string, leg: Direction, samples: Int16Array): void {
    if (!(samples instanceof Int16Array) || typeof callId !== 'string' || callId === '' || (leg !== 'caller' && leg !== 'callee')) {
      this.drop(null, 1, samples instanceof Int16Array ? samples.byteLength : 0, 'not PCM');
      return;
    }
    if (samples.length === 0) return;
    const bytes = samples.byteLength;
    if (this.shut) {
      this.drop(null, 1, bytes, 'closed');
      return;
    }
    const c = this.active.get(keyOf(callId, leg)) ?? this.open(callId, leg);
    c.samplesIn += samples.length;
    const state = c.fig.state;
    if (state !== 'connecting' && state !== 'open') {
      this.drop(c, 1, bytes, 'not connected');
      return;
    }
    if (this.held(c) + bytes > this.queueBytes) {
      this.drop(c, 1, bytes, 'queue full');
      return;
    }
    this.enqueue(c, littleEndian(samples), 1);
    if (state === 'open') this.pump(c);
  }

  /**
   * The call is over: each leg's queue goes out, then the connection is
   * closed (FIN) and the consumer's close awaited, for at most
   * `endTimeoutMs`, after which the socket is destroyed and what did not go
   * out is counted dropped. A leg waiting to reconnect closes at once.
   * Resolves when both legs are closed; never rejects. A later send() for
   * the same call opens new connections.
   */
  end(callId: string): Promise<void> {
    const done: Promise<void>[] = [];
    for (const leg of LEGS) {
      const c = this.active.get(keyOf(callId, leg));
      if (c === undefined) continue;
      this.active.delete(c.key);
      done.push(this.endConn(c));
    }
    return Promise.all(done).then(() => undefined);
  }

  /** Ends every call; later sends are dropped (counted 'closed'). Never rejects. */
  async close(): Promise<void> {
    this.shut = true;
    const calls = new Set([...this.active.values()].map((c) => c.fig.callId));
    await Promise.all([...calls].map((id) => this.end(id)));
    await Promise.all([...this.ending].map((c) => c.ending?.done));
  }

  stats(): ForwarderStats {
    const live = [...this.active.values(), ...this.ending].map((c) => ({ ...c.fig, queuedBytes: this.held(c) }));
    const t = this.totals;
    return {
      target: this.target,
      tls: this.opts.tls !== null,
      totals: {
        ...t,
        active: live.length,
        failureReasons: [...this.failureReasons].map(([reason, count]) => ({ reason, count })),
        drops: [...this.drops.values()].map((d) => ({ ...d })),
      },
      connections: [...live, ...this.closed.map((f) => ({ ...f }))],
    };
  }

  private open(callId: string, leg: Direction): Conn {
    const now = this.opts.clock.nowUs();
    const c: Conn = {
      key: keyOf(callId, leg),
      fig: {
        callId, leg, target: this.target, tls: this.opts.tls !== null, state: 'connecting', startUs: Math.round(now),
        connectUs: null, lastConnectUs: null, firstByteUs: null, bytesSent: 0, framesSent: 0, framesDropped: 0, bytesDropped: 0,
        queuedBytes: 0, maxQueuedBytes: 0, reconnects: 0, failures: 0, lastError: null, closeUs: null, closeReason: null,
      },
      queue: [], head: 0, queuedBytes: 0, queuedFrames: 0, queuedPcm: 0,
      attempt: null, attempts: 0, samplesIn: 0, backoffMs: this.initialMs, retry: null, fatal: null, ending: null,
    };
    this.active.set(c.key, c);
    this.totals.connections++;
    this.connect(c);
    return c;
  }

  /** A new attempt: a socket, and the header first in the (empty) queue. */
  private connect(c: Conn): void {
    const f = c.fig;
    const header = encodePcmHeader({ callId: f.callId, leg: f.leg, startUs: f.startUs, connection: c.attempts, sampleOffset: c.samplesIn });
    if (this.configError !== null || !header.ok) {
      // Nothing a retry could change: failed once, with the reason, for good.
      c.fatal = this.configError ?? (header.ok ? 'header' : `header: ${header.reason}`);
      this.failed(c, this.configError !== null ? 'configuration' : 'header', c.fatal);
      f.state = 'failed';
      return;
    }
    if (c.attempts > 0) {
      f.reconnects++;
      this.totals.reconnects++;
    }
    c.attempts++;
    f.state = 'connecting';
    this.enqueue(c, header.bytes, 0);
    const { host, port } = this.opts.target;
    const t = this.opts.tls;
    let socket: Socket;
    try {
      socket = t === null ? tcpConnect({ host, port }) : tlsConnect({ host, port, secureContext: this.secureContext!, rejectUnauthorized: t.insecure !== true, servername: t.servername });
    } catch (err) {
      // net.connect throws on arguments it cannot use (a malformed host); a failure like any other.
      const d = describe(err);
      this.fail(c, null, d.key, d.text);
      return;
    }
    const a: Attempt = { socket, done: false, connectTimer: null, inFlightFrames: 0, inFlightPcm: 0, endSent: false, finished: false };
    c.attempt = a;
    a.connectTimer = setTimeout(() => this.fail(c, a, 'connect timeout', `not connected within ${this.connectTimeoutMs} ms`), this.connectTimeoutMs);
    a.connectTimer.unref();
    socket.on('error', (err) => {
      const d = describe(err);
      this.fail(c, a, d.key, d.text);
    });
    socket.once(t === null ? 'connect' : 'secureConnect', () => this.opened(c, a));
    socket.on('drain', () => {
      if (c.attempt === a) this.pump(c);
    });
    // The consumer has nothing to say; reading (and discarding) is how its close is seen.
    socket.on('end', () => {
      if (!a.endSent) this.fail(c, a, 'closed by the consumer', 'closed by the consumer');
    });
    socket.on('finish', () => {
      a.finished = true;
    });
    socket.on('close', () => {
      if (a.done) return;
      if (c.ending !== null && a.finished) this.finish(c, 'ended', 'closed');
      else this.fail(c, a, 'closed', 'connection closed');
    });
    socket.resume();
  }

  private opened(c: Conn, a: Attempt): void {
    if (a.done || c.attempt !== a) return;
    if (a.connectTimer !== null) clearTimeout(a.connectTimer);
    a.connectTimer = null;
    const now = this.opts.clock.nowUs();
    c.fig.connectUs ??= now;
    c.fig.lastConnectUs = now;
    c.fig.state = 'open';
    c.backoffMs = this.initialMs;
    a.socket.setNoDelay(true);
    this.pump(c);
  }

  /** Hands queued bytes to the socket until it asks to wait; when ending and all is out, sends the FIN. */
  private pump(c: Conn): void {
    const a = c.attempt;
    if (a === null || a.done || c.fig.state !== 'open') return;
    const s = a.socket;
    while (c.head < c.queue.length && !s.writableNeedDrain) {
      const parts: Buffer[] = [];
      let n = 0;
      let frames = 0;
      let pcm = 0;
      for (let e = c.queue[c.head]; e !== undefined && (n === 0 || n + e.buf.length <= MAX_WRITE_BYTES); e = c.queue[c.head]) {
        c.queue[c.head++] = undefined;
        parts.push(e.buf);
        n += e.buf.length;
        frames += e.frames;
        if (e.frames > 0) pcm += e.buf.length;
      }
      c.queuedBytes -= n;
      c.queuedFrames -= frames;
      c.queuedPcm -= pcm;
      if (pcm > 0) c.fig.firstByteUs ??= this.opts.clock.nowUs();
      a.inFlightFrames += frames;
      a.inFlightPcm += pcm;
      s.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts, n), (err) => this.written(c, a, n, frames, pcm, err));
    }
    if (c.head === c.queue.length) {
      c.queue = [];
      c.head = 0;
      if (c.ending !== null && !a.endSent) {
        a.endSent = true;
        s.end();
      }
    } else if (c.head > 1024 && c.head * 2 > c.queue.length) {
      c.queue = c.queue.slice(c.head);
      c.head = 0;
    }
  }

  private written(c: Conn, a: Attempt, bytes: number, frames: number, pcm: number, err: Error | null | undefined): void {
    // A done attempt counted what it had in flight as dropped when it ended.
    if (a.done) return;
    a.inFlightFrames -= frames;
    a.inFlightPcm -= pcm;
    if (err) {
      // The socket's 'error' follows and fails the attempt.
      this.drop(c, frames, pcm, 'connection lost');
      return;
    }
    c.fig.bytesSent += bytes;
    c.fig.framesSent += frames;
    this.totals.bytesSent += bytes;
    this.totals.framesSent += frames;
  }

  /** An attempt failed (`a` null: before it had a socket): counted; then a reconnect after the backoff, or the close when ending. */
  private fail(c: Conn, a: Attempt | null, key: string, text: string): void {
    if (a !== null) {
      if (a.done) return;
      this.retire(c, a, 'connection lost');
    } else this.dropQueue(c, 'connection lost');
    this.failed(c, key, text);
    if (c.ending !== null) {
      this.finish(c, `failed while ending: ${text}`, 'connection lost');
      return;
    }
    c.fig.state = 'failed';
    c.retry = setTimeout(() => {
      c.retry = null;
      if (c.fig.state === 'failed') this.connect(c);
    }, c.backoffMs);
    c.retry.unref();
    c.backoffMs = Math.min(c.backoffMs * 2, this.maxMs);
  }

  private failed(c: Conn, key: string, text: string): void {
    c.fig.failures++;
    c.fig.lastError = text;
    this.totals.failures++;
    this.failureReasons.set(key, (this.failureReasons.get(key) ?? 0) + 1);
  }

  private endConn(c: Conn): Promise<void> {
    this.ending.add(c);
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const timer = setTimeout(() => this.endTimedOut(c), this.endTimeoutMs);
    c.ending = { timer, done, resolve };
    if (c.fig.state === 'failed') this.finish(c, `ended while ${c.fatal === null ? 'waiting to reconnect' : 'failed'}: ${c.fig.lastError}`, 'closed');
    else this.pump(c); // open: the queue goes out, then the FIN; connecting: opened() does the same
    return done;
  }

  private endTimedOut(c: Conn): void {
    const a = c.attempt;
    // Everything reached the kernel and the FIN went: the consumer just had not closed its side.
    if (a !== null && a.finished) {
      this.finish(c, 'ended', 'closed');
      return;
    }
    const unsent = c.queuedPcm + (a?.inFlightPcm ?? 0);
    this.finish(c, `end timeout after ${this.endTimeoutMs} ms: ${unsent} PCM bytes not sent`, 'end timeout');
  }

  /** Final: the socket destroyed, what was left counted dropped for `dropReason`, the figures kept. */
  private finish(c: Conn, reason: string, dropReason: string): void {
    if (c.fig.state === 'closed') return;
    if (c.retry !== null) clearTimeout(c.retry);
    c.retry = null;
    if (c.attempt !== null) this.retire(c, c.attempt, dropReason);
    else this.dropQueue(c, dropReason);
    c.fig.state = 'closed';
    c.fig.closeUs = this.opts.clock.nowUs();
    c.fig.closeReason = reason;
    c.fig.queuedBytes = 0;
    // A send() after end() may have opened a new connection under the same key.
    if (this.active.get(c.key) === c) this.active.delete(c.key);
    this.ending.delete(c);
    this.closed.unshift({ ...c.fig });
    if (this.closed.length > this.closedKept) this.closed.length = this.closedKept;
    if (c.ending !== null) {
      clearTimeout(c.ending.timer);
      c.ending.resolve();
    }
  }

  /** Ends an attempt: counts its in-flight and queued frames dropped and destroys its socket. */
  private retire(c: Conn, a: Attempt, dropReason: string): void {
    a.done = true;
    if (a.connectTimer !== null) clearTimeout(a.connectTimer);
    a.connectTimer = null;
    this.drop(c, a.inFlightFrames, a.inFlightPcm, dropReason);
    a.inFlightFrames = 0;
    a.inFlightPcm = 0;
    this.dropQueue(c, dropReason);
    a.socket.destroy();
    if (c.attempt === a) c.attempt = null;
  }

  private dropQueue(c: Conn, reason: string): void {
    this.drop(c, c.queuedFrames, c.queuedPcm, reason);
    c.queue = [];
    c.head = 0;
    c.queuedBytes = 0;
    c.queuedFrames = 0;
    c.queuedPcm = 0;
  }

  private enqueue(c: Conn, buf: Buffer, frames: number): void {
    c.queue.push({ buf, frames });
    c.queuedBytes += buf.length;
    c.queuedFrames += frames;
    if (frames > 0) c.queuedPcm += buf.length;
    const held = this.held(c);
    if (held > c.fig.maxQueuedBytes) c.fig.maxQueuedBytes = held;
  }

  /** Bytes the connection holds: its queue and what its socket has not yet handed to the kernel. */
  private held(c: Conn): number {
    const a = c.attempt;
    return c.queuedBytes + (a !== null && !a.done ? a.socket.writableLength : 0);
  }

  private drop(c: Conn | null, frames: number, bytes: number, reason: string): void {
    if (frames === 0) return;
    if (c !== null) {
      c.fig.framesDropped += frames;
      c.fig.bytesDropped += bytes;
    }
    this.totals.framesDropped += frames;
    this.totals.bytesDropped += bytes;
    const d = this.drops.get(reason);
    if (d) {
      d.frames += frames;
      d.bytes += bytes;
    } else this.drops.set(reason, { reason, frames, bytes });
  }
}

const keyOf = (callId: string, leg: Direction) => `${leg} ${callId}`;

/** The samples as s16le bytes, copied. */
function littleEndian(samples: Int16Array): Buffer {
  const buf = Buffer.allocUnsafe(samples.byteLength);
  buf.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  if (!LITTLE_ENDIAN) buf.swap16();
  return buf;
}

/** An error as a counting key (its code when it has one) and a text for the figures. */
function describe(err: unknown): { key: string; text: string } {
  if (!(err instanceof Error)) return { key: String(err), text: String(err) };
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code !== 'string') return { key: err.message, text: err.message };
  return { key: code, text: err.message.includes(code) ? err.message : `${err.message} (${code})` };
}

function whole(v: number | undefined, fallback: number): number {
  return v !== undefined && Number.isInteger(v) && v > 0 ? v : fallback;
}
