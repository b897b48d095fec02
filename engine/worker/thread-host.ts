/**
 * The main-thread side of a worker thread that does hot-path work (the SIP
 * proxy; the RTP relay's packet loops): spawns it with resource limits,
 * starts it with a handshake and a timeout, hands its capture batches on
 * (acknowledging each, which is what bounds the worker's batches in flight),
 * mirrors its counters, flushes, and stops it with a timeout before
 * terminating it. The worker side is `thread-side.ts`; the messages are
 * `protocol.ts`.
 *
 * A worker that fails, errors or exits on its own after starting is
 * reported to `onFailure` once per cause; one that is being stopped is not.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { NoteEvent } from '../events';
import type { DropCount } from '../metrics/drops';
import { Outbox } from './outbox';
import type { FromWorker, ToWorker } from './protocol';

export interface ThreadHostOptions<Stats> {
  /** For messages: "the SIP worker did not start in time". */
  name: string;
  /** The worker's script (a built .js, or a boot file that builds one). */
  url: URL;
  resourceLimits?: ResourceLimits;
  /** Given to the worker as `workerData` (from source: `{ devEntry }` for dev-boot.mjs). */
  workerData?: unknown;
  /**
   * One capture batch, already acknowledged. Called in the order the worker
   * sent them; decode and emit here. The buffer is this side's (transferred).
   */
  onCapture(batch: ArrayBuffer, count: number): void;
  /** The worker's counters and drop totals (every few hundred ms, and after a flush and at stop). */
  onStats(stats: Stats, drops: DropCount[]): void;
  /** A ladder note the worker sent (after the capture it follows). */
  onNote?(note: NoteEvent): void;
  /** Work the worker waits for (`ThreadSide.request`); it gets its reply, with the value this resolves to, once this settles. Without it, the reply goes at once. */
  onRequest?(payload: unknown): Promise<unknown>;
  /** Work the worker handed over without waiting (`ThreadSide.tell`). */
  onTell?(payload: unknown): void;
  /** The worker failed after it started (it reported a failure, threw, or exited). */
  onFailure(err: Error): void;
  startTimeoutMs?: number;
  /** How long stop (and flush) wait for the worker's answer. */
  stopTimeoutMs?: number;
}

/** The worker's own reason a start failed (e.g. "address in use"), as opposed to a timeout or an exit. */
export class WorkerStartError extends Error {}

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export class ThreadHost<Start, Stats, Ready> {
  private worker: Worker | null = null;
  /** What goes to the running worker: calls, tells, replies and acks coalesced per turn (`outbox.ts`). */
  private outbox: Outbox<ToWorker<Start>> | null = null;
  private readonly flushWaiters = new Map<number, () => void>();
  private flushSeq = 0;
  private readonly callWaiters = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  private callSeq = 0;

  constructor(private readonly o: ThreadHostOptions<Stats>) {}

  get running(): boolean {
    return this.worker !== null;
  }

  /**
   * Spawns a worker and starts it with `options`. Rejects with a
   * `WorkerStartError` carrying the worker's message when it could not
   * start, or with an Error when it did not answer in time or exited.
   * A rejected start leaves the host running nothing it can use: call `stop()`.
   */
  start(options: Start): Promise<Ready> {
    const { name, onFailure } = this.o;
    const worker = new Worker(this.o.url, { ...(this.o.resourceLimits ? { resourceLimits: this.o.resourceLimits } : {}), ...(this.o.workerData !== undefined ? { workerData: this.o.workerData } : {}) });
    this.worker = worker;
    const outbox = new Outbox<ToWorker<Start>>((m) => worker.postMessage(m));
    this.outbox = outbox;
    const send = (m: ToWorker<Start>) => outbox.later(m);
    const started = new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start in time`)), this.o.startTimeoutMs ?? START_TIMEOUT_MS);
      const onMessage = (m: FromWorker<Stats, Ready>): void => {
        switch (m.type) {
          case 'batch':
            for (const one of m.messages) onMessage(one);
            break;
          case 'started':
            clearTimeout(timer);
            resolve(m.ready);
            break;
          case 'start-failed':
            clearTimeout(timer);
            reject(new WorkerStartError(m.message));
            break;
          case 'capture':
            send({ type: 'ack', seq: m.seq });
            this.o.onCapture(m.batch, m.count);
            break;
          case 'stats':
            this.o.onStats(m.stats, m.drops);
            break;
          case 'failed':
            onFailure(new Error(m.message));
            break;
          case 'flushed':
            this.flushWaiters.get(m.id)?.();
            this.flushWaiters.delete(m.id);
            break;
          case 'note':
            this.o.onNote?.(m.note);
            break;
          case 'request': {
            const reply = (value?: unknown) => {
              if (this.worker === worker) send({ type: 'reply', id: m.id, value });
            };
            const r = this.o.onRequest?.(m.payload);
            if (r) r.then(reply, () => reply());
            else reply();
            break;
          }
          case 'tell':
            this.o.onTell?.(m.payload);
            break;
          case 'result': {
            const w = this.callWaiters.get(m.id);
            if (!w) break; // timed out already
            this.callWaiters.delete(m.id);
            clearTimeout(w.timer);
            if (m.ok) w.resolve(m.value);
            else w.reject(new Error(m.message));
            break;
          }
          case 'stopped':
            break;
        }
      };
      worker.on('message', onMessage);
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
        onFailure(err);
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        const err = new Error(`${name} exited (code ${code})`);
        reject(err);
        if (this.worker === worker) onFailure(err);
      });
    });
    outbox.now({ type: 'start', options });
    return started;
  }

  /**
   * Resolves once everything the worker has handled so far has reached
   * `onCapture` and its counters `onStats` — or after the stop timeout.
   */
  /** New settings for the running worker; it applies them to work it starts from now on. */
  configure(options: Partial<Start>): void {
    if (this.worker) this.outbox?.now({ type: 'configure', options });
  }

  /**
   * Asks the running worker's service to do something (`ThreadService.call`)
   * and resolves with its answer; rejects with its error, when no worker
   * runs, when it stops first, or after `timeoutMs`.
   */
  call(payload: unknown, timeoutMs: number): Promise<unknown> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new Error(`${this.o.name} is not running`));
    const id = ++this.callSeq;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.callWaiters.delete(id);
        reject(new Error(`${this.o.name} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.callWaiters.set(id, { resolve, reject, timer });
      this.outbox!.later({ type: 'call', id, payload });
    });
  }

  /** Hands the running worker's service work nobody waits for (`ThreadService.tell`); dropped when no worker runs. */
  tell(payload: unknown): boolean {
    if (!this.worker) return false;
    this.outbox!.later({ type: 'tell', payload });
    return true;
  }

  flush(): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    const id = ++this.flushSeq;
    return new Promise<void>((resolve) => {
      this.flushWaiters.set(id, resolve);
      this.outbox!.now({ type: 'flush', id });
      setTimeout(() => {
        this.flushWaiters.delete(id);
        resolve();
      }, this.o.stopTimeoutMs ?? STOP_TIMEOUT_MS).unref();
    });
  }

  /** Asks the worker to stop (its last capture and stats arrive first), waits for it at most the stop timeout, then terminates it. */
  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    for (const [id, w] of this.callWaiters) {
      clearTimeout(w.timer);
      w.reject(new Error(`${this.o.name} stopped`));
      this.callWaiters.delete(id);
    }
    const stopped = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.o.stopTimeoutMs ?? STOP_TIMEOUT_MS);
      worker.on('message', (m: FromWorker<Stats, Ready>) => {
        if (m.type === 'stopped') {
          clearTimeout(timer);
          resolve();
        }
      });
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.outbox?.now({ type: 'stop' });
    this.outbox = null;
    await stopped;
    await worker.terminate();
  }
}
