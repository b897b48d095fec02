/**
 * The pattern-subscriber load (subscriber-load.ts) in its own worker thread
 * (load-worker/entry.ts), so that reading what Redis fans out to its
 * connections never runs on the thread that publishes and times the
 * publishes. Started and stopped as a whole; its figures arrive once a second.
 */
import { ThreadHost, WorkerStartError } from '../worker/thread-host';
import { workerScript } from '../worker/worker-script';
import type { SubscriberLoadOptions } from './subscriber-load';
import type { SubscriberLoadStart, SubscriberLoadStats } from './load-worker/protocol';

const defaultWorker = () => workerScript(import.meta.url, new URL('./load-worker/entry.ts', import.meta.url), 'subscriber-load.js');
/** 640 connections opened 32 at a time, each with 5 s to answer PSUBSCRIBE. */
const START_TIMEOUT_MS = 60_000;

export class SubscriberLoadThread {
  private thread: ThreadHost<SubscriberLoadStart, SubscriberLoadStats | null, SubscriberLoadStats> | null = null;
  private latest: SubscriberLoadStats | null = null;
  /** Why the thread stopped on its own after it started (null while it runs, or after stop()). */
  private failure: string | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly options: SubscriberLoadOptions,
    private readonly workerUrl?: URL,
  ) {}

  /** Resolves once every connection is subscribed; rejects with the load's one line (and has stopped the thread) otherwise. */
  async start(): Promise<void> {
    const thread = new ThreadHost<SubscriberLoadStart, SubscriberLoadStats | null, SubscriberLoadStats>({
      name: 'the subscriber load thread',
      ...(this.workerUrl ? { url: this.workerUrl } : defaultWorker()),
      startTimeoutMs: START_TIMEOUT_MS,
      onCapture: () => undefined,
      onStats: (stats) => {
        if (stats) this.latest = stats;
      },
      onFailure: (err) => {
        this.failure = err.message;
      },
    });
    this.thread = thread;
    this.failure = null;
    try {
      this.latest = await thread.start({ host: this.host, port: this.port, options: this.options });
    } catch (err) {
      this.thread = null;
      await thread.stop().catch(() => undefined);
      throw err instanceof WorkerStartError ? new Error(err.message) : err;
    }
  }

  async stop(): Promise<void> {
    const thread = this.thread;
    this.thread = null;
    await thread?.stop();
  }

  /** The last figures the thread sent; `connected` 0 once it has failed. */
  stats(): SubscriberLoadStats {
    const base = this.latest ?? { wanted: this.options.count, connected: 0, failed: 0, droppedByRedis: 0, messages: 0, bytes: 0, patterns: this.options.patterns, slow: this.options.slow, busyPct: 0 };
    return this.failure !== null ? { ...base, connected: 0, busyPct: 0 } : base;
  }
}
