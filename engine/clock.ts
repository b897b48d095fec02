import { performance } from 'node:perf_hooks';

/**
 * One monotonic clock, mapped to wall time once at start.
 *
 * Capture timestamps must be comparable to the microsecond and must never go
 * backwards when NTP steps the wall clock, so every timestamp in the engine is
 * `wallAtStart + (monotonic now - monotonic at start)`.
 */
export interface Clock {
  /** Wall-clock time in microseconds since the Unix epoch, derived from a monotonic source. */
  nowUs(): number;
  /** Monotonic milliseconds (fractional), for timers and durations. */
  monoMs(): number;
  /** Present on the real clock: lets a worker thread share it. */
  readonly origin?: ClockOrigin;
}

/** A span of engine time, µs on the clock below, both ends included. */
export interface TimeWindow {
  fromUs: number;
  toUs: number;
}

/** The one mapping of monotonic to wall time; a worker thread given it stamps exactly like its parent. */
export interface ClockOrigin {
  wallUs: number;
  hrNs: bigint;
}

export function createMonotonicClock(origin?: ClockOrigin): Clock & { origin: ClockOrigin } {
  // process.hrtime is CLOCK_MONOTONIC, shared by every thread of the process.
  // performance.timeOrigin + now() has sub-ms resolution; Date.now() would put every stamp up to 1 ms early.
  const o = origin ?? { wallUs: Math.round((performance.timeOrigin + performance.now()) * 1000), hrNs: process.hrtime.bigint() };
  const { wallUs, hrNs } = o;
  return {
    origin: o,
    nowUs: () => wallUs + Number((process.hrtime.bigint() - hrNs) / 1000n),
    monoMs: () => Number(process.hrtime.bigint() - hrNs) / 1e6,
  };
}

/** A clock the tests move by hand. */
export function createManualClock(startUs = 1_700_000_000_000_000): Clock & { advanceMs(ms: number): void } {
  let mono = 0;
  return {
    nowUs: () => startUs + Math.round(mono * 1000),
    monoMs: () => mono,
    advanceMs(ms: number) {
      mono += ms;
    },
  };
}
