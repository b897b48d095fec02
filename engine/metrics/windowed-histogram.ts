import { Histogram, type LatencySummary } from './histogram';

/**
 * A latency histogram over the last N seconds rather than since start, so a
 * figure falls back when traffic stops: a ring of one-second Histograms, the
 * slot for the current second cleared when the ring comes round to it, all
 * slots of the window merged on summary().
 *
 * record() is O(1) and allocates nothing (the slots are allocated once), so it
 * can sit on the SIP hot path. summary() walks the window's buckets; call it
 * at snapshot rate, not per message.
 *
 * Time is injected as monotonic milliseconds (`Clock.monoMs`), so tests run it
 * forward by hand.
 */
export class WindowedHistogram {
  private readonly slots: Histogram[];
  /** The whole second (monotonic) each slot holds, -1 when empty. */
  private readonly slotSecond: Float64Array;
  private readonly merged = new Histogram();

  constructor(
    private readonly monoMs: () => number,
    /** Width of the window in seconds (one slot per second). */
    readonly windowSeconds = 60,
  ) {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw new RangeError(`windowSeconds must be a positive integer, not ${windowSeconds}`);
    this.slots = Array.from({ length: windowSeconds }, () => new Histogram());
    this.slotSecond = new Float64Array(windowSeconds).fill(-1);
  }

  record(value: number): void {
    const second = Math.floor(this.monoMs() / 1000);
    const i = second % this.windowSeconds;
    const slot = this.slots[i]!;
    if (this.slotSecond[i] !== second) {
      slot.reset();
      this.slotSecond[i] = second;
    }
    slot.record(value);
  }

  /** Percentiles over the values recorded in the last `windowSeconds` seconds (the current second included). */
  summary(): LatencySummary {
    const m = this.merged;
    m.reset();
    const now = Math.floor(this.monoMs() / 1000);
    for (let i = 0; i < this.windowSeconds; i++) {
      const s = this.slotSecond[i]!;
      if (s < 0 || now - s >= this.windowSeconds) continue;
      m.merge(this.slots[i]!);
    }
    return m.summary();
  }

  reset(): void {
    for (const s of this.slots) s.reset();
    this.slotSecond.fill(-1);
  }
}
