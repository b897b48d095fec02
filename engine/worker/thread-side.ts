/**
 * The worker side of a thread host: the message loop, capture sent to the
 * main thread in batches, periodic stats, flush and stop. What the thread
 * actually does (SIP, RTP relay) is a `ThreadService`; this file knows
 * nothing of it.
 *
 * Capture leaves in batches with a bounded number in flight: a batch counts
 * as in flight until the main thread acknowledges it, and when
 * `maxInFlight` are, further capture is dropped and counted (`capture`
 * `main-thread-behind`) — the thread's own work never waits for the main
 * thread.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, type MessagePort } from 'node:worker_threads';
import type { NoteEvent } from '../events';
import { DropCounters } from '../metrics/drops';
import { Outbox } from './outbox';
import type { FromWorker, ToWorker } from './protocol';

/** Encodes events into one transferable ArrayBuffer per batch (e.g. sip/worker/capture-codec.ts). */
export interface BatchWriter<E> {
  /** Events appended since the last take/discard. */
  readonly count: number;
  /** Bytes appended since the last take/discard. */
  readonly bytes: number;
  append(ev: E): void;
  /** The batch so far as its own ArrayBuffer, and a fresh start. */
  take(): ArrayBuffer;
  /** Forget the batch so far; returns how many events it held. */
  discard(): number;
}

/** What runs in the thread. */
export interface ThreadService<Start, Stats, Ready> {
  /** Opens what the service needs. A throw (cleaned up by the service) is reported as `start-failed` with its message. */
  start(options: Start): Promise<Ready>;
  stats(): Stats;
  /** Before a flush: handle what was already received, so its capture is in the flush. */
  drain?(): void;
  /** Stop producing work and capture (detach handlers, stop monitors); synchronous, before the last flush. Called on stop even when never started. */
  quiesce(): void;
  /** New settings while running (no reply; what changes is up to the service). */
  configure?(options: Partial<Start>): void;
  /** Work the main thread asks for and waits on (`ThreadHost.call`); a throw or rejection goes back as its message. */
  call?(payload: unknown): unknown;
  /** Work the main thread hands over without waiting (`ThreadHost.tell`). */
  tell?(payload: unknown): void;
  /** Release what `start` opened (if anything). */
  close(): Promise<void>;
}

export interface ThreadSideLimits {
  /** Send capture at least this often (ms)… */
  flushMs: number;
  /** …or as soon as this many events… */
  flushEvents: number;
  /** …or bytes wait. */
  flushBytes: number;
  /** Batches sent but not yet acknowledged before capture is dropped. */
  maxInFlight: number;
  /** Stats are posted this often (ms). */
  statsMs: number;
}

/** Notes a thread may send per second (see `ThreadSide.note`). */
export const NOTES_PER_SECOND = 100;

export const DEFAULT_THREAD_SIDE_LIMITS: ThreadSideLimits = { flushMs: 20, flushEvents: 256, flushBytes: 192 * 1024, maxInFlight: 64, statsMs: 250 };

export class ThreadSide<E> {
  /** The thread's drop counters: mirrored to the main thread with every stats message. */
  readonly drops = new DropCounters();
  private readonly port: MessagePort;
  private readonly limits: ThreadSideLimits;
  private flushTimer: NodeJS.Timeout | null = null;
  private statsTimer: NodeJS.Timeout | null = null;
  private seq = 0;
  private acked = 0;

  constructor(
    private readonly batch: BatchWriter<E>,
    limits: Partial<ThreadSideLimits> = {},
    port: MessagePort | null = parentPort,
  ) {
    if (!port) throw new Error('a thread side must run in a worker thread');
    this.port = port;
    this.limits = { ...DEFAULT_THREAD_SIDE_LIMITS, ...limits };
  }

  /** Queues one event for the main thread. Called per captured message: appends, and sends when a limit is reached. */
  capture(ev: E): void {
    const batch = this.batch;
    batch.append(ev);
    if (batch.count >= this.limits.flushEvents || batch.bytes >= this.limits.flushBytes) this.flushCapture();
    else if (!this.flushTimer) this.flushTimer = setTimeout(this.flushCapture, this.limits.flushMs);
  }

  /**
   * A ladder note for the main thread (Timer C fired, a request dropped and
   * why). Capture so far goes first, so a note follows the messages it is
   * about. At most NOTES_PER_SECOND: a flood of bad input must not become a
   * flood of messages; the excess is counted.
   */
  note(ev: NoteEvent): void {
    const second = Math.floor(performance.now() / 1000);
    if (second !== this.noteSecond) {
      this.noteSecond = second;
      this.notesThisSecond = 0;
    }
    if (++this.notesThisSecond > NOTES_PER_SECOND) {
      this.drops.count('notes', 'rate-limited');
      return;
    }
    this.flushCapture();
    this.post({ type: 'note', note: ev });
  }

  private noteSecond = -1;
  private notesThisSecond = 0;
  private requestSeq = 0;
  private readonly replies = new Map<number, (value: unknown) => void>();

  /**
   * Asks the main thread for something and resolves when it replied, or
   * after `timeoutMs` (counted): a main thread that never answers must not
   * hold the worker forever. Resolves with the main thread's answer, or
   * undefined after the timeout. Inline publishing and the relay's SDP use it.
   */
  request(payload: unknown, timeoutMs: number): Promise<unknown> {
    const id = ++this.requestSeq;
    return new Promise<unknown>((resolve) => {
      const timer = setTimeout(() => {
        this.replies.delete(id);
        this.drops.count('thread', 'request-timed-out');
        resolve(undefined);
      }, timeoutMs);
      this.replies.set(id, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
      this.post({ type: 'request', id, payload });
    });
  }

  /** Hands the main thread work it need not answer (a relay session to end): one message, no reply, no timer. */
  tell(payload: unknown): void {
    this.post({ type: 'tell', payload });
  }

  /** The service failed after it started (e.g. its socket closed under it): the main thread marks the component failed. */
  fail(message: string): void {
    this.post({ type: 'failed', message });
  }

  /** Answers the main thread's messages with `service`. Call once. */
  serve<Start, Stats, Ready>(service: ThreadService<Start, Stats, Ready>): void {
    let started = false;
    const postStats = () => this.post({ type: 'stats', stats: service.stats(), drops: this.drops.list() });
    const start = async (options: Start) => {
      let ready: Ready;
      try {
        ready = await service.start(options);
      } catch (err) {
        this.post({ type: 'start-failed', message: (err as Error).message });
        return;
      }
      started = true;
      this.statsTimer = setInterval(postStats, this.limits.statsMs);
      this.post({ type: 'started', ready });
    };
    const stop = async () => {
      if (this.statsTimer) clearInterval(this.statsTimer);
      this.statsTimer = null;
      service.quiesce();
      this.flushCapture();
      if (started) postStats();
      started = false;
      await service.close();
      this.post({ type: 'stopped' });
    };
    const onMessage = (m: ToWorker<Start>): void => {
      if (m.type === 'batch') for (const one of m.messages) onMessage(one);
      else if (m.type === 'ack') this.acked = Math.max(this.acked, m.seq);
      else if (m.type === 'start') void start(m.options);
      else if (m.type === 'flush') {
        if (started) service.drain?.(); // what was read is handled (and captured) before the capture is flushed
        this.flushCapture();
        if (started) postStats();
        this.post({ type: 'flushed', id: m.id });
      } else if (m.type === 'reply') {
        const r = this.replies.get(m.id);
        this.replies.delete(m.id);
        r?.(m.value);
      } else if (m.type === 'call') {
        const answer = (r: FromWorker<unknown, unknown>) => this.post(r);
        const id = m.id;
        if (!started || !service.call) answer({ type: 'result', id, ok: false, message: started ? 'this worker takes no calls' : 'not started' });
        else
          Promise.resolve()
            .then(() => service.call!(m.payload))
            .then(
              (value) => answer({ type: 'result', id, ok: true, value }),
              (err: unknown) => answer({ type: 'result', id, ok: false, message: err instanceof Error ? err.message : String(err) }),
            );
      } else if (m.type === 'tell') {
        if (started) service.tell?.(m.payload);
      } else if (m.type === 'configure') {
        if (started) service.configure?.(m.options);
      } else if (m.type === 'stop') void stop();
    };
    this.port.on('message', onMessage);
  }

  /** Requests, tells and results go with the rest of this turn's; everything else (capture with its transfer, stats, stop) at once, after them. */
  private post(m: FromWorker<unknown, unknown>, transfer?: ArrayBuffer[]): void {
    if (m.type === 'request' || m.type === 'tell' || m.type === 'result') this.outbox.later(m);
    else this.outbox.now(m, transfer);
  }

  private readonly outbox = new Outbox<FromWorker<unknown, unknown>>((m, transfer) => this.port.postMessage(m, transfer ?? []));

  /** Sends what is batched, unless too many batches are unacknowledged: then it is dropped and counted. */
  private readonly flushCapture = (): void => {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const batch = this.batch;
    if (batch.count === 0) return;
    if (this.seq - this.acked >= this.limits.maxInFlight) {
      this.drops.count('capture', 'main-thread-behind', batch.discard());
      return;
    }
    const count = batch.count;
    const ab = batch.take();
    this.post({ type: 'capture', seq: ++this.seq, batch: ab, count }, [ab]);
  };
}
