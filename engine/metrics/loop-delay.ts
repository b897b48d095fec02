import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { LatencySummary } from './histogram';

/**
 * Event-loop delay of the engine's thread: the number that showed the Redis
 * incident long before INVITEs were retransmitted. Reported in µs.
 */
const RESOLUTION_MS = 10;

export class LoopDelayMonitor {
  private readonly h: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });

  start(): void {
    this.h.enable();
  }

  stop(): void {
    this.h.disable();
  }

  summary(): LatencySummary {
    const h = this.h;
    if (h.count === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    // The histogram holds whole timer intervals; the delay is what exceeds the resolution.
    const us = (ns: number) => Math.max(0, Math.round(ns / 1000) - RESOLUTION_MS * 1000);
    return { count: h.count, p50: us(h.percentile(50)), p90: us(h.percentile(90)), p99: us(h.percentile(99)), max: us(h.max) };
  }
}
