/**
 * The pattern-subscriber load's own thread. The load stands for another
 * program (the story's application, 640 connections on eight servers): at
 * 100 calls/s its connections read some 200,000 messages a second. On the
 * main thread that reading delayed the publisher's replies and timers, and
 * the board then showed our own event loop's lag as a slow Redis. Here it
 * takes CPU from the box like any neighbour would, and says how busy it is.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { ThreadSide, type BatchWriter } from '../../worker/thread-side';
import { SubscriberLoad } from '../subscriber-load';
import type { SubscriberLoadStart, SubscriberLoadStats } from './protocol';

/** Nothing to capture: the ThreadSide's batch is always empty. */
const noCapture: BatchWriter<never> = { count: 0, bytes: 0, append: () => undefined, take: () => new ArrayBuffer(0), discard: () => 0 };

let load: SubscriberLoad | null = null;
let elu: EventLoopUtilization = performance.eventLoopUtilization();

const stats = (): SubscriberLoadStats | null => {
  if (!load) return null;
  const now = performance.eventLoopUtilization();
  const busyPct = Math.round(performance.eventLoopUtilization(now, elu).utilization * 1000) / 10;
  elu = now;
  return { ...load.stats(), busyPct };
};

new ThreadSide(noCapture, { statsMs: 1_000 }).serve<SubscriberLoadStart, SubscriberLoadStats | null, SubscriberLoadStats>({
  async start(o) {
    const l = new SubscriberLoad(o.host, o.port, o.options);
    await l.start(); // on a failure it has closed what it opened, and its one line becomes the start's error
    load = l;
    elu = performance.eventLoopUtilization();
    return { ...l.stats(), busyPct: 0 };
  },
  stats,
  quiesce() {},
  async close() {
    const l = load;
    load = null;
    await l?.stop();
  },
});
