/**
 * One forwarding connection: one leg of one call to the application, with
 * its bounded queue, its socket attempts and its figures (forwarder.ts
 * owns the set of them).
 *
 *   connecting ──connect──► open ──end(): queue flushed, FIN──► closed 'ended'
 *       │                     │
 *       └─error, timeout──────┴─error, reset, consumer closed──► failed ──backoff──► connecting (header again)
 *
 * The queue is bounded in bytes together with what the socket holds unsent
 * (`writableLength`): queued bytes are handed to the socket only while it
 * takes more (write() true) and again on 'drain', so one connection holds
 * at most `queueBytes` (header included) however slow or absent the
 * application is. When a frame does not fit, the NEW frame is dropped and
 * counted ('queue full').
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
 * Nothing here blocks or awaits: `socket.write` does not block, and every
 * event comes back through the socket's callbacks.
 */
import { type Socket, connect as tcpConnect } from 'node:net';
import { endianness } from 'node:os';
import { type SecureContext, connect as tlsConnect } from 'node:tls';
import type { HostPort } from '../../net/host-port';
import type { Direction } from '../call-recording';
import { encodePcmHeader } from './header';
import type { ForwardTally } from './totals';

export interface ForwardTls {
  /** CA certificate(s), PEM, to trust instead of the system's. */
  ca?: Buffer;
  /** Where `ca` was read from (`--forward-ca`), for the figures; the forwarder never reads it. */
  caFile?: string;
  /** Accept any certificate (labs): encrypted, not authenticated. */
  insecure?: boolean;
  /** The name the certificate must carry, sent as SNI; the target's host when absent. */
  servername?: string;
}

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
  /** Bytes the socket acknowledged, headers included: in the kernel's buffer, not proof the application read them. */
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

/** What every connection of one forwarder shares: where, how, the bounds, and where to count. */
export interface ConnectionContext {
  target: HostPort;
  /** `target` as "host:port". */
  targetText: string;
  tls: ForwardTls | null;
  /** Built once by the forwarder; null for TCP or when the configuration is bad. */
  secureContext: SecureContext | null;
  /** Why no attempt can ever succeed (port out of range, CA that does not parse), or null. */
  configError: string | null;
  queueBytes: number;
  initialMs: number;
  maxMs: number;
  connectTimeoutMs: number;
  endTimeoutMs: number;
  clock: { nowUs(): number };
  tally: ForwardTally;
  /** Called once, when the connection has closed for good (its figures final). */
  onClosed(c: ForwardConnection): void;
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

/** Queued frames are joined into writes of at most this. */
const MAX_WRITE_BYTES = 64 * 1024;
const LITTLE_ENDIAN = endianness() === 'LE';

export class ForwardConnection {
  readonly fig: ForwardConnectionFigures;
  private queue: (Entry | undefined)[] = [];
  private head = 0;
  /** Queue bytes, header included. */
  private queuedBytes = 0;
  private queuedFrames = 0;
  private queuedPcm = 0;
  private attempt: Attempt | null = null;
  private attempts = 0;
  /** Samples given to send(): the next header's sampleOffset. */
  private samplesIn = 0;
  private backoffMs: number;
  private retry: NodeJS.Timeout | null = null;
  /** Why it can never connect, once known. */
  private fatal: string | null = null;
  private ending: { timer: NodeJS.Timeout; done: Promise<void>; resolve: () => void } | null = null;
  /** Of `fig.framesDropped`, those already taken by `takeFramesDropped`. */
  private reportedFramesDropped = 0;

  /** Opens the first attempt at once. */
  constructor(
    private readonly ctx: ConnectionContext,
    callId: string,
    leg: Direction,
  ) {
    this.fig = {
      callId, leg, target: ctx.targetText, tls: ctx.tls !== null, state: 'connecting', startUs: Math.round(ctx.clock.nowUs()),
      connectUs: null, lastConnectUs: null, firstByteUs: null, bytesSent: 0, framesSent: 0, framesDropped: 0, bytesDropped: 0,
      queuedBytes: 0, maxQueuedBytes: 0, reconnects: 0, failures: 0, lastError: null, closeUs: null, closeReason: null,
    };
    this.backoffMs = ctx.initialMs;
    ctx.tally.opened();
    this.connect();
  }

  /** One chunk of the leg's PCM: queued (copied) when connecting or open and it fits, else dropped and counted. */
  send(samples: Int16Array): void {
    const bytes = samples.byteLength;
    this.samplesIn += samples.length;
    const state = this.fig.state;
    if (state !== 'connecting' && state !== 'open') {
      this.drop(1, bytes, 'not connected');
      return;
    }
    if (this.held() + bytes > this.ctx.queueBytes) {
      this.drop(1, bytes, 'queue full');
      return;
    }
    this.enqueue(littleEndian(samples), 1);
    if (state === 'open') this.pump();
  }

  /**
   * The queue goes out, then the FIN, and the consumer's close is awaited,
   * for at most `endTimeoutMs`, after which the socket is destroyed and what
   * did not go out is counted dropped. Waiting to reconnect: closes at once.
   * Resolves when closed; never rejects. Called once.
   */
  end(): Promise<void> {
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const timer = setTimeout(() => this.endTimedOut(), this.ctx.endTimeoutMs);
    this.ending = { timer, done, resolve };
    if (this.fig.state === 'failed') this.finish(`ended while ${this.fatal === null ? 'waiting to reconnect' : 'failed'}: ${this.fig.lastError}`, 'closed');
    else this.pump(); // open: the queue goes out, then the FIN; connecting: opened() does the same
    return done;
  }

  /** Frames dropped since the last call: the recorder's per-call report takes them (forwarder.ts `takeDropped`). */
  takeFramesDropped(): number {
    const n = this.fig.framesDropped - this.reportedFramesDropped;
    this.reportedFramesDropped = this.fig.framesDropped;
    return n;
  }

  /** The figures now, with what is held counted at this moment. */
  figures(): ForwardConnectionFigures {
    return { ...this.fig, queuedBytes: this.fig.state === 'closed' ? 0 : this.held() };
  }

  /** A new attempt: a socket, and the header first in the (empty) queue. */
  private connect(): void {
    const f = this.fig;
    const ctx = this.ctx;
    const header = encodePcmHeader({ callId: f.callId, leg: f.leg, startUs: f.startUs, connection: this.attempts, sampleOffset: this.samplesIn });
    if (ctx.configError !== null || !header.ok) {
      // Nothing a retry could change: failed once, with the reason, for good.
      this.fatal = ctx.configError ?? (header.ok ? 'header' : `header: ${header.reason}`);
      this.failed(ctx.configError !== null ? 'configuration' : 'header', this.fatal);
      f.state = 'failed';
      return;
    }
    if (this.attempts > 0) {
      f.reconnects++;
      ctx.tally.reconnected();
    }
    this.attempts++;
    f.state = 'connecting';
    this.enqueue(header.bytes, 0);
    const { host, port } = ctx.target;
    const t = ctx.tls;
    let socket: Socket;
    try {
      socket = t === null ? tcpConnect({ host, port }) : tlsConnect({ host, port, secureContext: ctx.secureContext!, rejectUnauthorized: t.insecure !== true, servername: t.servername });
    } catch (err) {
      // net.connect throws on arguments it cannot use (a malformed host); a failure like any other.
      const d = describe(err);
      this.fail(null, d.key, d.text);
      return;
    }
    const a: Attempt = { socket, done: false, connectTimer: null, inFlightFrames: 0, inFlightPcm: 0, endSent: false, finished: false };
    this.attempt = a;
    a.connectTimer = setTimeout(() => this.fail(a, 'connect timeout', `not connected within ${ctx.connectTimeoutMs} ms`), ctx.connectTimeoutMs);
    a.connectTimer.unref();
    socket.on('error', (err) => {
      const d = describe(err);
      this.fail(a, d.key, d.text);
    });
    socket.once(t === null ? 'connect' : 'secureConnect', () => this.opened(a));
    socket.on('drain', () => {
      if (this.attempt === a) this.pump();
    });
    // The consumer has nothing to say; reading (and discarding) is how its close is seen.
    socket.on('end', () => {
      if (!a.endSent) this.fail(a, 'closed by the consumer', 'closed by the consumer');
    });
    socket.on('finish', () => {
      a.finished = true;
    });
    socket.on('close', () => {
      if (a.done) return;
      if (this.ending !== null && a.finished) this.finish('ended', 'closed');
      else this.fail(a, 'closed', 'connection closed');
    });
    socket.resume();
  }

  private opened(a: Attempt): void {
    if (a.done || this.attempt !== a) return;
    if (a.connectTimer !== null) clearTimeout(a.connectTimer);
    a.connectTimer = null;
    const now = this.ctx.clock.nowUs();
    this.fig.connectUs ??= now;
    this.fig.lastConnectUs = now;
    this.fig.state = 'open';
    this.backoffMs = this.ctx.initialMs;
    a.socket.setNoDelay(true);
    this.pump();
  }

  /** Hands queued bytes to the socket until it asks to wait; when ending and all is out, sends the FIN. */
  private pump(): void {
    const a = this.attempt;
    if (a === null || a.done || this.fig.state !== 'open') return;
    const s = a.socket;
    while (this.head < this.queue.length && !s.writableNeedDrain) {
      const parts: Buffer[] = [];
      let n = 0;
      let frames = 0;
      let pcm = 0;
      for (let e = this.queue[this.head]; e !== undefined && (n === 0 || n + e.buf.length <= MAX_WRITE_BYTES); e = this.queue[this.head]) {
        this.queue[this.head++] = undefined;
        parts.push(e.buf);
        n += e.buf.length;
        frames += e.frames;
        if (e.frames > 0) pcm += e.buf.length;
      }
      this.queuedBytes -= n;
      this.queuedFrames -= frames;
      this.queuedPcm -= pcm;
      if (pcm > 0) this.fig.firstByteUs ??= this.ctx.clock.nowUs();
      a.inFlightFrames += frames;
      a.inFlightPcm += pcm;
      s.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts, n), (err) => this.written(a, n, frames, pcm, err));
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      if (this.ending !== null && !a.endSent) {
        a.endSent = true;
        s.end();
      }
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private written(a: Attempt, bytes: number, frames: number, pcm: number, err: Error | null | undefined): void {
    // A done attempt counted what it had in flight as dropped when it ended.
    if (a.done) return;
    a.inFlightFrames -= frames;
    a.inFlightPcm -= pcm;
    if (err) {
      // The socket's 'error' follows and fails the attempt.
      this.drop(frames, pcm, 'connection lost');
      return;
    }
    this.fig.bytesSent += bytes;
    this.fig.framesSent += frames;
    this.ctx.tally.sent(bytes, frames);
  }

  /** An attempt failed (`a` null: before it had a socket): counted; then a reconnect after the backoff, or the close when ending. */
  private fail(a: Attempt | null, key: string, text: string): void {
    if (a !== null) {
      if (a.done) return;
      this.retire(a, 'connection lost');
    } else this.dropQueue('connection lost');
    this.failed(key, text);
    if (this.ending !== null) {
      this.finish(`failed while ending: ${text}`, 'connection lost');
      return;
    }
    this.fig.state = 'failed';
    this.retry = setTimeout(() => {
      this.retry = null;
      if (this.fig.state === 'failed') this.connect();
    }, this.backoffMs);
    this.retry.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, this.ctx.maxMs);
  }

  private failed(key: string, text: string): void {
    this.fig.failures++;
    this.fig.lastError = text;
    this.ctx.tally.failed(key);
  }

  private endTimedOut(): void {
    const a = this.attempt;
    // Everything reached the kernel and the FIN went: the consumer just had not closed its side.
    if (a !== null && a.finished) {
      this.finish('ended', 'closed');
      return;
    }
    const unsent = this.queuedPcm + (a?.inFlightPcm ?? 0);
    this.finish(`end timeout after ${this.ctx.endTimeoutMs} ms: ${unsent} PCM bytes not sent`, 'end timeout');
  }

  /** Final: the socket destroyed, what was left counted dropped for `dropReason`, the figures kept. */
  private finish(reason: string, dropReason: string): void {
    if (this.fig.state === 'closed') return;
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    if (this.attempt !== null) this.retire(this.attempt, dropReason);
    else this.dropQueue(dropReason);
    this.fig.state = 'closed';
    this.fig.closeUs = this.ctx.clock.nowUs();
    this.fig.closeReason = reason;
    this.fig.queuedBytes = 0;
    this.ctx.onClosed(this);
    if (this.ending !== null) {
      clearTimeout(this.ending.timer);
      this.ending.resolve();
    }
  }

  /** Ends an attempt: counts its in-flight and queued frames dropped and destroys its socket. */
  private retire(a: Attempt, dropReason: string): void {
    a.done = true;
    if (a.connectTimer !== null) clearTimeout(a.connectTimer);
    a.connectTimer = null;
    this.drop(a.inFlightFrames, a.inFlightPcm, dropReason);
    a.inFlightFrames = 0;
    a.inFlightPcm = 0;
    this.dropQueue(dropReason);
    a.socket.destroy();
    if (this.attempt === a) this.attempt = null;
  }

  private dropQueue(reason: string): void {
    this.drop(this.queuedFrames, this.queuedPcm, reason);
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.queuedFrames = 0;
    this.queuedPcm = 0;
  }

  private enqueue(buf: Buffer, frames: number): void {
    this.queue.push({ buf, frames });
    this.queuedBytes += buf.length;
    this.queuedFrames += frames;
    if (frames > 0) this.queuedPcm += buf.length;
    const held = this.held();
    if (held > this.fig.maxQueuedBytes) this.fig.maxQueuedBytes = held;
  }

  /** Bytes the connection holds: its queue and what its socket has not yet handed to the kernel. */
  private held(): number {
    const a = this.attempt;
    return this.queuedBytes + (a !== null && !a.done ? a.socket.writableLength : 0);
  }

  private drop(frames: number, bytes: number, reason: string): void {
    if (frames === 0) return;
    this.fig.framesDropped += frames;
    this.fig.bytesDropped += bytes;
    this.ctx.tally.dropped(frames, bytes, reason);
  }
}

/** The samples as s16le bytes, copied. */
function littleEndian(samples: Int16Array): Buffer {
  const buf = Buffer.allocUnsafe(samples.byteLength);
  buf.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  if (!LITTLE_ENDIAN) buf.swap16();
  return buf;
}

/** An error as a counting key (its code when it has one) and a text for the figures. */
export function describe(err: unknown): { key: string; text: string } {
  if (!(err instanceof Error)) return { key: String(err), text: String(err) };
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code !== 'string') return { key: err.message, text: err.message };
  return { key: code, text: err.message.includes(code) ? err.message : `${err.message} (${code})` };
}
