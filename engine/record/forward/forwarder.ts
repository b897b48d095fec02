/**
 * Decoded PCM to an application over TCP or TLS, as rtpengine-recording's
 * `tls-send-to` does (issue 15): per call and leg one connection
 * (connection.ts), opened when the leg's first PCM arrives, carrying a
 * header (header.ts) and then raw 16-bit little-endian PCM. This file keeps
 * the connections by call and leg, the closed ones for the figures, and the
 * totals (totals.ts).
 *
 *   send() ──► the connection's queue (bounded in bytes; full → the NEW frame is dropped, counted)
 *                 │ handed to the socket while it takes more (write() true), again on 'drain'
 *                 ▼
 *   node:net / node:tls socket ──► the application
 *
 * Why this cannot stall the relay: the relay never calls it. The recorder
 * calls `send` from its drain timer, and `send` copies the samples into the
 * queue (or drops them) and perhaps calls `socket.write`, which does not
 * block; nothing awaits. One connection holds at most `queueBytes` however
 * slow or absent the application is (connection.ts says how), and at most
 * `maxConnections` are open or ending at once, so the forwarder holds at
 * most their product (64 MiB at the defaults, against 512 MiB if every leg
 * of the Recorder's 1,000 recordings had one). A leg refused a connection
 * stays without one until its call ends (a connection opened later could
 * only say where the audio resumes by a count it never had); its PCM is
 * dropped and counted as 'too many connections'.
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
import { createSecureContext } from 'node:tls';
import { formatHostPort, type HostPort } from '../../net/host-port';
import type { Direction } from '../call-recording';
import { type ConnectionContext, type ForwardConnectionFigures, type ForwardTls, describe, ForwardConnection } from './connection';
import { PCM_HEADER_MAX_BYTES } from './header';
import { type ForwarderTotals, ForwardTally } from './totals';

export type { ForwardConnectionFigures, ForwardState, ForwardTls } from './connection';
export type { DropReason, ForwarderTotals, ReasonCount } from './totals';

/** Where the PCM goes and how: the one type of `--forward` from the config to the forwarder. */
export interface ForwardTarget {
  target: HostPort;
  /** null: plain TCP. */
  tls: ForwardTls | null;
}

export interface ForwarderOptions extends ForwardTarget {
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
  /** Connections open or ending at once; legs past it get none (their PCM is dropped, counted). */
  maxConnections?: number;
}

export const FORWARDER_DEFAULTS = {
  queueBytes: 256 * 1024,
  /** Taken only in place of unusable backoff values. */
  backoff: { initialMs: 100, maxMs: 10_000 },
  connectTimeoutMs: 5000,
  endTimeoutMs: 2000,
  closedKept: 100,
  maxConnections: 256,
} as const;
/** Room for the largest header and a few frames. */
export const MIN_QUEUE_BYTES = 2 * PCM_HEADER_MAX_BYTES;
const LEGS: readonly Direction[] = ['caller', 'callee'];

/** How a TLS target's certificate is checked: against a CA file, the system's CAs, or not at all (`insecure`). */
export type ForwardVerify = 'ca' | 'system' | 'none';

export interface ForwarderStats {
  /** "host:port". */
  target: string;
  tls: boolean;
  /** null for TCP. */
  verify: ForwardVerify | null;
  /** The CA file the certificate is checked against (`--forward-ca`), or null. */
  caFile: string | null;
  totals: ForwarderTotals;
  /** Bytes a connection may hold (queue and socket), past which its oldest frames drop. */
  queueBytes: number;
  /** Active connections, then the most recent closed ones, newest first. */
  connections: ForwardConnectionFigures[];
}

export class Forwarder {
  private readonly active = new Map<string, ForwardConnection>();
  /** Ended, not closed yet: their end() promises. */
  private readonly ending = new Map<ForwardConnection, Promise<void>>();
  private closed: ForwardConnectionFigures[] = [];
  private readonly tally = new ForwardTally();
  private readonly ctx: ConnectionContext;
  private readonly closedKept: number;
  private readonly maxConnections: number;
  /** Legs refused a connection (too many open), until their call ends. */
  private readonly refused = new Set<string>();
  /**
   * Frames dropped per call and not taken yet by `takeDropped`: those of
   * connections that closed since, of legs refused a connection, of sends
   * after close. Bounded: past MAX_UNTAKEN_CALLS calls (nobody takes them)
   * drops are counted in the totals only.
   */
  private untaken = new Map<string, number>();
  private shut = false;

  constructor(private readonly opts: ForwarderOptions) {
    const initialMs = whole(opts.backoff?.initialMs, FORWARDER_DEFAULTS.backoff.initialMs);
    const port = opts.target.port;
    let configError: string | null = null;
    let secureContext = null;
    if (!Number.isInteger(port) || port < 1 || port > 65535) configError = `port ${String(port)} is not 1-65535`;
    else if (opts.tls !== null) {
      // Parsed once for every connection; a CA that does not parse is the configuration's error, shown on each connection.
      try {
        secureContext = createSecureContext(opts.tls.ca === undefined ? {} : { ca: opts.tls.ca });
      } catch (err) {
        configError = `TLS CA: ${describe(err).text}`;
      }
    }
    this.closedKept = whole(opts.closedKept, FORWARDER_DEFAULTS.closedKept);
    this.maxConnections = whole(opts.maxConnections, FORWARDER_DEFAULTS.maxConnections);
    this.ctx = {
      target: opts.target,
      targetText: formatHostPort(opts.target),
      tls: opts.tls,
      secureContext,
      configError,
      queueBytes: Math.max(MIN_QUEUE_BYTES, whole(opts.queueBytes, FORWARDER_DEFAULTS.queueBytes)),
      initialMs,
      maxMs: Math.max(initialMs, whole(opts.backoff?.maxMs, FORWARDER_DEFAULTS.backoff.maxMs)),
      connectTimeoutMs: whole(opts.connectTimeoutMs, FORWARDER_DEFAULTS.connectTimeoutMs),
      endTimeoutMs: whole(opts.endTimeoutMs, FORWARDER_DEFAULTS.endTimeoutMs),
      clock: opts.clock,
      tally: this.tally,
      onClosed: (c) => this.closedOne(c),
    };
  }

  /**
   * One chunk of a leg's PCM, copied: the caller keeps its array. Opens the
   * leg's connection on its first chunk. Never blocks, never throws: when
   * the chunk cannot be queued it is dropped and counted.
   */
  send(callId: string, leg: Direction, samples: Int16Array): void {
    if (!(samples instanceof Int16Array) || typeof callId !== 'string' || callId === '' || (leg !== 'caller' && leg !== 'callee')) {
      this.tally.dropped(1, samples instanceof Int16Array ? samples.byteLength : 0, 'not PCM');
      return;
    }
    if (samples.length === 0) return;
    if (this.shut) {
      this.tally.dropped(1, samples.byteLength, 'closed');
      this.holdDropped(callId, 1);
      return;
    }
    const key = keyOf(callId, leg);
    let c = this.active.get(key);
    if (c === undefined) {
      if (this.refused.has(key) || this.active.size + this.ending.size >= this.maxConnections) {
        this.refused.add(key);
        this.tally.dropped(1, samples.byteLength, 'too many connections');
        this.holdDropped(callId, 1);
        return;
      }
      c = new ForwardConnection(this.ctx, callId, leg);
      this.active.set(key, c);
    }
    c.send(samples);
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
      const key = keyOf(callId, leg);
      this.refused.delete(key);
      const c = this.active.get(key);
      if (c === undefined) continue;
      this.active.delete(key);
      const ended = c.end();
      // It may have closed at once (it was waiting to reconnect): closedOne already ran.
      if (c.fig.state !== 'closed') this.ending.set(c, ended);
      done.push(ended);
    }
    return Promise.all(done).then(() => undefined);
  }

  /** Ends every call; later sends are dropped (counted 'closed'). Never rejects. */
  async close(): Promise<void> {
    this.shut = true;
    const calls = new Set([...this.active.values()].map((c) => c.fig.callId));
    await Promise.all([...calls].map((id) => this.end(id)));
    await Promise.all(this.ending.values());
  }

  stats(): ForwarderStats {
    const live = [...this.active.values(), ...this.ending.keys()].map((c) => c.figures());
    const tls = this.opts.tls;
    return {
      target: this.ctx.targetText,
      tls: tls !== null,
      verify: tls === null ? null : tls.insecure === true ? 'none' : tls.ca !== undefined ? 'ca' : 'system',
      caFile: tls?.caFile ?? null,
      totals: this.tally.totals(live.length),
      queueBytes: this.ctx.queueBytes,
      connections: [...live, ...this.closed.map((f) => ({ ...f }))],
    };
  }

  /**
   * Frames dropped per call since the last call, over every connection the
   * call had, open, ending or closed since (the recorder's once-a-second
   * tick takes them for the call's record: record/drop-reports.ts).
   */
  takeDropped(): Map<string, number> {
    const out = this.untaken;
    this.untaken = new Map();
    for (const c of [...this.active.values(), ...this.ending.keys()]) addTo(out, c.fig.callId, c.takeFramesDropped());
    return out;
  }

  private holdDropped(callId: string, frames: number): void {
    if (this.untaken.size < MAX_UNTAKEN_CALLS || this.untaken.has(callId)) addTo(this.untaken, callId, frames);
  }

  /** A connection closed for good: its final figures join the closed ones, its last drops wait for `takeDropped`. */
  private closedOne(c: ForwardConnection): void {
    this.holdDropped(c.fig.callId, c.takeFramesDropped());
    const key = keyOf(c.fig.callId, c.fig.leg);
    // A send() after end() may have opened a new connection under the same key.
    if (this.active.get(key) === c) this.active.delete(key);
    this.ending.delete(c);
    this.closed.unshift({ ...c.fig });
    if (this.closed.length > this.closedKept) this.closed.length = this.closedKept;
  }
}

const keyOf = (callId: string, leg: Direction) => `${leg} ${callId}`;

/** Calls whose drops wait for `takeDropped` at most (the recorder takes them every second). */
const MAX_UNTAKEN_CALLS = 10_000;

function addTo(m: Map<string, number>, callId: string, n: number): void {
  if (n > 0) m.set(callId, (m.get(callId) ?? 0) + n);
}

function whole(v: number | undefined, fallback: number): number {
  return v !== undefined && Number.isInteger(v) && v > 0 ? v : fallback;
}
