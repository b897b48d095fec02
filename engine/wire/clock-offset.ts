/**
 * The wire's timestamps are the kernel's CLOCK_REALTIME; the engine's are
 * its monotonic clock mapped to wall time once at start
 * (`performance.timeOrigin + now()`), which may differ from CLOCK_REALTIME by
 * up to about a millisecond — far more than the tens of µs a message can
 * spend in the kernel queue. So the tap measures the offset itself:
 *
 *   Date.now() is CLOCK_REALTIME truncated to the millisecond, so the
 *   instant it changes is an exact millisecond of CLOCK_REALTIME. Spinning
 *   until it changes and reading the engine clock at that instant gives
 *   `realtime − engine` to within one loop turn (~1 µs), with no assumption
 *   about how long messages wait. (The other way, the minimum of
 *   engine − wire over incoming messages, would call the fastest read "no
 *   wait at all" and bias every gap by it.)
 *
 * The best (smallest) of a few edges is kept, as a preempted turn can only
 * make one later. The tap measures again every minute: NTP slews
 * CLOCK_REALTIME against the monotonic clock by up to 500 ppm (30 ms/min
 * at worst, µs in practice).
 */
import type { Clock } from '../clock';

export interface ClockOffset {
  /** CLOCK_REALTIME µs minus engine-clock µs: wire time − offsetUs is on the engine clock. */
  offsetUs: number;
  /** How far apart the reads of the best edge were (µs): the estimate's uncertainty. */
  spreadUs: number;
}

/** Measures at `edges` millisecond edges (spinning up to ~1 ms each) and keeps the tightest. */
export function measureClockOffset(clock: Clock, edges = 5, now: () => number = Date.now): ClockOffset {
  let best: ClockOffset | null = null;
  for (let i = 0; i < edges; i++) {
    // The edge falls after the previous turn's now() (so after its t0) and before this turn's now() (so before its t1).
    let prevT0 = clock.nowUs();
    let prev = now();
    const deadline = prevT0 + 5_000;
    for (;;) {
      const t0 = clock.nowUs();
      const ms = now();
      const t1 = clock.nowUs();
      if (ms !== prev) {
        const c = { offsetUs: ms * 1000 - (prevT0 + t1) / 2, spreadUs: t1 - prevT0 };
        if (!best || c.spreadUs < best.spreadUs) best = c;
        break;
      }
      if (t1 > deadline) break; // a manual clock in a test, or a clock that stopped
      prevT0 = t0;
      prev = ms;
    }
  }
  return best ?? { offsetUs: 0, spreadUs: Number.POSITIVE_INFINITY };
}
