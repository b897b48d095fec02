/**
 * SIP transaction timers, RFC 3261 §17 Table 4 and RFC 6026 §8.
 *
 * Every timer the transaction layer runs is derived here from T1, T2 and T4,
 * so a deployment that tunes T1 (e.g. for a long-delay link) gets consistent
 * values everywhere. All values are milliseconds.
 */

/** The three base values an operator may tune (RFC 3261 §17.1.1.1, §17.1.2.2). */
export interface TimerValues {
  /** RTT estimate. "T1 ... 500ms default" (RFC 3261 Table 4). */
  readonly T1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses. "4s". */
  readonly T2: number;
  /** Maximum duration a message will remain in the network. "5s". */
  readonly T4: number;
}

export const T1 = 500;
export const T2 = 4000;
export const T4 = 5000;

export const DEFAULT_TIMER_VALUES: TimerValues = Object.freeze({ T1, T2, T4 });

/** Defaults for an unreliable transport (UDP), for reference and logging. */
export const TIMER_A = T1; // INVITE request retransmit interval, initial (doubles, §17.1.1.2)
export const TIMER_B = 64 * T1; // INVITE transaction timeout
/**
 * Proxy INVITE timer. "Timer C MUST be set for each client transaction when an
 * INVITE request is proxied. The timer MUST be larger than 3 minutes." (RFC 3261 §16.6 item 11)
 * Run by the proxy core (proxy/core.ts), not by the transaction machines, and
 * set with `--timer-c`. The default is 3 minutes, not more: the common
 * operator's reading (Kamailio ships 120 s), a second short of the RFC's
 * letter.
 */
export const TIMER_C = 180_000;
export const TIMER_D = 32_000; // wait time for response retransmits (0 for reliable)
export const TIMER_E = T1; // non-INVITE request retransmit interval, initial (caps at T2)
export const TIMER_F = 64 * T1; // non-INVITE transaction timeout
export const TIMER_G = T1; // INVITE response retransmit interval, initial (caps at T2)
export const TIMER_H = 64 * T1; // wait time for ACK receipt
export const TIMER_I = T4; // wait time for ACK retransmits (0 for reliable)
export const TIMER_J = 64 * T1; // wait time for non-INVITE request retransmits (0 for reliable)
export const TIMER_K = T4; // wait time for response retransmits (0 for reliable)
export const TIMER_L = 64 * T1; // RFC 6026: wait time for accepted INVITE request retransmits
export const TIMER_M = 64 * T1; // RFC 6026: wait time for retransmission of 2xx to INVITE

/** The concrete durations one transaction runs with. */
export interface TransactionTimers {
  readonly T1: number;
  readonly T2: number;
  readonly T4: number;
  /** Initial Timer A; 0 means "do not retransmit" (reliable transport). */
  readonly A: number;
  readonly B: number;
  readonly D: number;
  /** Initial Timer E; 0 means "do not retransmit" (reliable transport). */
  readonly E: number;
  readonly F: number;
  /** Initial Timer G; 0 means "do not retransmit" (reliable transport). */
  readonly G: number;
  readonly H: number;
  readonly I: number;
  readonly J: number;
  readonly K: number;
  readonly L: number;
  readonly M: number;
}

/**
 * Derive every transaction timer from the base values and the transport.
 *
 * Reliable transports: "If an unreliable transport is being used, the client
 * transaction MUST start timer A" (§17.1.1.2) — so A, E and G do not run over
 * TCP/TLS/SCTP, and D, I, J and K are zero ("zero seconds for reliable transports").
 */
export function deriveTimers(reliable: boolean, values: TimerValues = DEFAULT_TIMER_VALUES): TransactionTimers {
  const { T1: t1, T2: t2, T4: t4 } = values;
  const sixtyFour = 64 * t1;
  return {
    T1: t1,
    T2: t2,
    T4: t4,
    A: reliable ? 0 : t1,
    B: sixtyFour,
    // "Timer D ... at least 32 seconds for unreliable transports" (§17.1.1.2): it must
    // outlive the server's Timer H retransmission window, hence the max with 64*T1.
    D: reliable ? 0 : Math.max(TIMER_D, sixtyFour),
    E: reliable ? 0 : t1,
    F: sixtyFour,
    G: reliable ? 0 : t1,
    H: sixtyFour,
    I: reliable ? 0 : t4,
    J: reliable ? 0 : sixtyFour,
    K: reliable ? 0 : t4,
    L: sixtyFour,
    M: sixtyFour,
  };
}

const cache = new Map<string, TransactionTimers>();

/** `deriveTimers` memoised per (transport, values): transactions share one frozen object. */
export function timersFor(reliable: boolean, values: TimerValues = DEFAULT_TIMER_VALUES): TransactionTimers {
  const key = `${reliable ? 1 : 0}:${values.T1}:${values.T2}:${values.T4}`;
  let t = cache.get(key);
  if (t === undefined) {
    t = Object.freeze(deriveTimers(reliable, values));
    cache.set(key, t);
  }
  return t;
}
