/**
 * The scheduler the transaction machines run their timers on.
 *
 * Injected so tests can run time forward by hand. The real host uses one
 * unref'd setTimeout per timer: at 1500 calls/s there are ~7,500 live
 * transactions with one or two armed timers each, which libuv's timer heap
 * handles without measurable cost, so no timing wheel.
 */

/** Opaque handle returned by `TimerHost.set`. */
export type TimerHandle = object;

export interface TimerHost {
  /** Run `fn` once after `ms` milliseconds. */
  set(ms: number, fn: () => void): TimerHandle;
  /** Cancel a timer; clearing one that already fired or was cleared is a no-op. */
  clear(h: TimerHandle): void;
}

/** setTimeout-backed host; timers never keep the process alive on their own. */
export function createRealTimerHost(): TimerHost {
  return {
    set(ms, fn) {
      const t = setTimeout(fn, ms);
      t.unref();
      return t;
    },
    clear(h) {
      clearTimeout(h as ReturnType<typeof setTimeout>);
    },
  };
}

/** A host the tests drive: `advance(ms)` fires due timers in due-time order (ties in arming order). */
export interface ManualTimerHost extends TimerHost {
  /** Move time forward, firing every timer that falls due, including ones armed while firing. */
  advance(ms: number): void;
  /** Milliseconds since the host was created. */
  now(): number;
  /** Number of armed timers. */
  pending(): number;
}

interface ManualTimer {
  due: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

/**
 * @param clock optional manual clock (e.g. `createManualClock()`), advanced in
 * step with the host so `clock.monoMs()` reads the firing time inside callbacks.
 */
export function createManualTimerHost(clock?: { advanceMs(ms: number): void }): ManualTimerHost {
  let now = 0;
  let seq = 0;
  const timers = new Set<ManualTimer>();

  const moveTo = (t: number): void => {
    if (t > now) {
      clock?.advanceMs(t - now);
      now = t;
    }
  };

  const nextDue = (limit: number): ManualTimer | undefined => {
    let best: ManualTimer | undefined;
    for (const t of timers) {
      if (t.due > limit) continue;
      if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  };

  return {
    set(ms, fn) {
      const t: ManualTimer = { due: now + Math.max(0, ms), seq: seq++, fn, live: true };
      timers.add(t);
      return t;
    },
    clear(h) {
      const t = h as ManualTimer;
      t.live = false;
      timers.delete(t);
    },
    advance(ms) {
      const target = now + ms;
      for (let t = nextDue(target); t !== undefined; t = nextDue(target)) {
        timers.delete(t);
        moveTo(t.due);
        if (t.live) {
          t.live = false;
          t.fn();
        }
      }
      moveTo(target);
    },
    now: () => now,
    pending: () => timers.size,
  };
}
