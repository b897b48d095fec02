import { createConnection, type Socket } from 'node:net';
import { CALL_PATTERN } from './stats';

/**
 * The incident's cost shape as a load control. PUBLISH costs Redis O(N+M):
 * N clients subscribed to the channel, M patterns subscribed by anyone. The
 * story had 640 pattern-subscribed connections (8 servers × 8 processes × a
 * pool of 10); this opens that many and PSUBSCRIBEs them:
 * - `same`: all `call:*`. Redis keeps one entry per distinct pattern, so the
 *   pattern is matched once per PUBLISH, but every call event is then written
 *   to all N connections (N copies in N output buffers, N socket writes) —
 *   and read N times here, each message as it arrives through 'data'
 *   events, as an application would: at 100 calls/s ~250,000 reads a
 *   second, most of a core (its own thread's, load-worker/). That load is
 *   part of incident 1's reproduction, and a fragile part: batched reads
 *   every 20 ms (~40 % of a core) or reads through `onread` into one shared
 *   buffer (a few % less) left the box room to spare, and the incident's
 *   single worker no longer filled (4 of 4 headless runs with `onread`).
 *   Cheaper reading belongs with a sturdier reproduction, not before it.
 * - `distinct`: `call:*:load-<i>`, one pattern per connection. They match
 *   none of our channels (`call:<Call-ID>`, and a Call-ID never ends in
 *   `:load-<i>`), so nothing is delivered, but Redis collapses nothing for
 *   distinct patterns: every PUBLISH runs all N pattern matches before it
 *   answers.
 * - `slow`: the connections stop reading for long stretches and read only
 *   briefly in between, so what Redis sends them piles up in its output
 *   buffers until `client-output-buffer-limit pubsub` makes it drop them. A
 *   dropped connection is counted and not reopened. Because a paused socket
 *   does not see its close, a drop is counted at the next reading stretch.
 *
 * Raw `node:net` sockets speaking RESP2 rather than ioredis clients: 640
 * clients would cost more than the load they make. They send no AUTH, so
 * they work only against a Redis without a password.
 */

export interface SubscriberLoadOptions {
  count: number;
  patterns: 'same' | 'distinct';
  slow: boolean;
  /** `slow` only: how long the connections stop reading, and how long they then read (ms). */
  slowCycle?: { pauseMs: number; readMs: number };
}

/** The load's own counts (its thread adds its CPU: SubscriberLoadStats in load-worker/protocol.ts). */
export interface SubscriberLoadCounts {
  wanted: number;
  /** Open and subscribed now. */
  connected: number;
  /** Could not connect or subscribe during start(). */
  failed: number;
  /** Closed by Redis after subscribing (output buffer limit, CLIENT KILL, a restart). */
  droppedByRedis: number;
  /** pmessage replies read, over all connections. */
  messages: number;
  bytes: number;
  patterns: 'same' | 'distinct';
  slow: boolean;
}

/** Connections being opened at once. */
const OPEN_CONCURRENCY = 32;
/** Connect + PSUBSCRIBE reply, per connection. */
const OPEN_TIMEOUT_MS = 5_000;
const DEFAULT_SLOW_CYCLE = { pauseMs: 5_000, readMs: 100 };
/** stop() waits this long for the sockets to report closed. */
const STOP_WAIT_MS = 2_000;

/**
 * The start of every pmessage reply. Counting its occurrences counts messages
 * without parsing RESP; a payload cannot contain it because JSON escapes CR
 * and LF. '*' occurs in it once, first, as MarkerCounter needs.
 */
const PMESSAGE = Buffer.from('*4\r\n$8\r\npmessage\r\n');

export class SubscriberLoad {
  private readonly sockets = new Set<Socket>();
  private readonly counts = { connected: 0, failed: 0, droppedByRedis: 0, messages: 0, bytes: 0 };
  private stopping = false;
  private slowTimer: NodeJS.Timeout | null = null;
  private readonly cycle: { pauseMs: number; readMs: number };

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly opts: SubscriberLoadOptions,
  ) {
    if (!Number.isInteger(opts.count) || opts.count < 1) throw new RangeError(`count must be a positive integer, not ${opts.count}`);
    this.cycle = opts.slowCycle ?? DEFAULT_SLOW_CYCLE;
  }

  patternOf(i: number): string {
    return this.opts.patterns === 'same' ? CALL_PATTERN : `${CALL_PATTERN}:load-${i}`;
  }

  /** Resolves once every connection has its PSUBSCRIBE confirmed; otherwise closes them all and rejects with one line. */
  async start(): Promise<void> {
    this.stopping = false;
    let next = 0;
    let failed = 0;
    let firstError: string | null = null;
    const worker = async (): Promise<void> => {
      while (next < this.opts.count && !this.stopping) {
        const i = next++;
        try {
          await this.open(this.patternOf(i));
        } catch (err) {
          if (this.stopping) continue;
          failed++;
          this.counts.failed++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, this.opts.count) }, worker));
    if (this.stopping) throw new Error('subscriber load stopped while starting');
    if (failed > 0) {
      await this.stop();
      throw new Error(`${failed} of ${this.opts.count} load subscribers to ${this.host}:${this.port} failed: ${firstError}`);
    }
    if (this.opts.slow) this.pauseAll();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.slowTimer) clearTimeout(this.slowTimer);
    this.slowTimer = null;
    // A socket leaves the set on 'close', so every one still in it has that event to come.
    const closed = [...this.sockets].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
    for (const s of this.sockets) s.destroy();
    let t: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((r) => (t = setTimeout(r, STOP_WAIT_MS)))]);
    clearTimeout(t);
    this.sockets.clear();
    this.counts.connected = 0;
  }

  stats(): SubscriberLoadCounts {
    return { wanted: this.opts.count, ...this.counts, patterns: this.opts.patterns, slow: this.opts.slow };
  }

  private open(pattern: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const s = createConnection({ host: this.host, port: this.port });
      this.sockets.add(s);
      s.setNoDelay(true);
      const p = Buffer.from(pattern);
      const confirm = Buffer.concat([Buffer.from(`*3\r\n$10\r\npsubscribe\r\n$${p.length}\r\n`), p, Buffer.from('\r\n:')]);
      let head = Buffer.alloc(0);
      let subscribed = false;
      const pmessages = new MarkerCounter(PMESSAGE);
      const fail = (why: string): void => {
        clearTimeout(timer);
        this.sockets.delete(s);
        s.destroy();
        reject(new Error(why));
      };
      const timer = setTimeout(() => fail(`no PSUBSCRIBE reply within ${OPEN_TIMEOUT_MS} ms`), OPEN_TIMEOUT_MS);

      const count = (chunk: Buffer): void => {
        this.counts.bytes += chunk.length;
        this.counts.messages += pmessages.feed(chunk);
      };

      s.on('connect', () => {
        s.write(Buffer.concat([Buffer.from(`*2\r\n$10\r\nPSUBSCRIBE\r\n$${p.length}\r\n`), p, Buffer.from('\r\n')]));
      });
      s.on('data', (chunk: Buffer) => {
        if (subscribed) return count(chunk);
        head = Buffer.concat([head, chunk]);
        if (head[0] === 0x2d /* '-' */) {
          const end = head.indexOf('\r\n');
          if (end >= 0) fail(`Redis refused PSUBSCRIBE: ${head.subarray(1, end).toString()}`);
          return;
        }
        const n = Math.min(head.length, confirm.length);
        if (!head.subarray(0, n).equals(confirm.subarray(0, n))) return fail('unexpected reply to PSUBSCRIBE');
        const end = head.length > confirm.length ? head.indexOf('\r\n', confirm.length) : -1;
        if (end < 0) return;
        clearTimeout(timer);
        subscribed = true;
        this.counts.connected++;
        resolve();
        if (head.length > end + 2) count(head.subarray(end + 2));
        head = Buffer.alloc(0);
      });
      s.on('error', (err: Error) => {
        if (!subscribed) fail(err.message);
        // After subscribing, 'close' follows and counts it.
      });
      s.on('close', () => {
        // Closed by stop() (stopping, or out of the set after stop()'s wait): stop() zeroes `connected` itself.
        const ours = this.sockets.delete(s);
        if (!subscribed) return fail('closed before PSUBSCRIBE was confirmed');
        if (!ours || this.stopping) return;
        this.counts.connected--;
        this.counts.droppedByRedis++;
      });
    });
  }

  /** The slow cycle: every socket stops reading for `pauseMs`, then reads for `readMs`. */
  private pauseAll(): void {
    for (const s of this.sockets) s.pause();
    this.slowTimer = setTimeout(() => this.resumeAll(), this.cycle.pauseMs);
  }

  private resumeAll(): void {
    for (const s of this.sockets) s.resume();
    this.slowTimer = setTimeout(() => this.pauseAll(), this.cycle.readMs);
  }
}

/**
 * Counts a marker in a stream read in chunks of any size, a marker split
 * across chunks included, with no allocation per chunk (it runs for every
 * chunk of ~200,000 messages a second at 100 calls/s). The marker's first
 * byte must occur in it only there ('*' in a RESP array header): then
 * markers cannot overlap, and only the last such byte of a chunk can begin
 * one that the next chunk ends.
 */
export class MarkerCounter {
  /** How much of a marker the bytes so far end with (0 … its length − 1). */
  private partial = 0;

  constructor(private readonly marker: Buffer) {
    if (marker.length < 2 || marker.indexOf(marker[0]!, 1) >= 0) throw new RangeError('the marker\'s first byte must occur only once, first');
  }

  /** The markers this chunk completes. */
  feed(chunk: Buffer): number {
    const m = this.marker;
    let n = 0;
    let from = 0;
    if (this.partial > 0) {
      const need = m.length - this.partial;
      const take = Math.min(need, chunk.length);
      if (chunk.compare(m, this.partial, this.partial + take, 0, take) !== 0) this.partial = 0;
      else if (take < need) {
        this.partial += take;
        return 0;
      } else {
        n++;
        from = need;
        this.partial = 0;
      }
    }
    let end = from;
    for (let i = chunk.indexOf(m, from); i >= 0; i = chunk.indexOf(m, end)) {
      n++;
      end = i + m.length;
    }
    const start = chunk.lastIndexOf(m[0]!, chunk.length - 1);
    if (start >= end && start > chunk.length - m.length && chunk.compare(m, 0, chunk.length - start, start) === 0) this.partial = chunk.length - start;
    return n;
  }
}
