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
}

export function createMonotonicClock(): Clock {
  const hrStart = process.hrtime.bigint();
  const wallStartUs = Date.now() * 1000;
  return {
    nowUs: () => wallStartUs + Number((process.hrtime.bigint() - hrStart) / 1000n),
    monoMs: () => Number(process.hrtime.bigint() - hrStart) / 1e6,
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
