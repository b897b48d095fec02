/**
 * The built-in traffic's own thread: the generator (generator.ts) runs here,
 * so its CPU and event-loop delay are its own and the console can tell a
 * saturated generator from a saturated proxy. It captures nothing: the
 * proxy captures the calls it carries like any other.
 */
import { ThreadSide, type BatchWriter } from '../../worker/thread-side';
import { TrafficGenerator, type TrafficStats } from '../generator';
import type { TrafficStart } from './protocol';

/** Nothing to capture: the ThreadSide's batch is always empty. */
const noCapture: BatchWriter<never> = { count: 0, bytes: 0, append: () => undefined, take: () => new ArrayBuffer(0), discard: () => 0 };

let generator: TrafficGenerator | null = null;
let latest: TrafficStats | null = null;

new ThreadSide(noCapture, { statsMs: 1_000 }).serve<TrafficStart, TrafficStats | null, { callee: string }>({
  async start(o) {
    generator = new TrafficGenerator(o.spec, o.proxy, o.host);
    await generator.start();
    latest = generator.stats();
    return { callee: latest.callee };
  },
  stats() {
    if (generator) latest = generator.stats();
    return latest;
  },
  configure(o) {
    if (o.spec) generator?.configure(o.spec);
  },
  quiesce() {},
  async close() {
    const g = generator;
    generator = null;
    await g?.stop();
  },
});
