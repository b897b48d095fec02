/**
 * rtpengine's four timeouts as one pure decision, evaluated by the relay's
 * one sweep for every session (rtpengine: `call_timer`). The first that
 * applies closes the session and names the reason.
 *
 * - final-timeout: the session's absolute lifetime, whatever happens in it.
 * - offer-timeout: offered and never answered. While a call rings nothing
 *   flows, so before the answer this is the only other timeout that applies.
 * - timeout: no media in either direction for this long, counted from the
 *   last packet (or from the answer when nothing ever came).
 * - silent-timeout: one direction still flows but the other has been silent
 *   this long (a one-sided call: a muted or broken leg; rtpengine applies it to
 *   muted and inactive streams).
 * A value of 0 switches that timeout off.
 */
import type { CloseReason, RelayTimeouts } from './stats';

export interface SessionClock {
  /** Monotonic ms of the offer, and of the answer (null while offered). */
  createdMs: number;
  answeredMs: number | null;
  /** Monotonic ms of the last packet that arrived from each side's endpoint, over all its streams (null: none yet). */
  lastFromCallerMs: number | null;
  lastFromCalleeMs: number | null;
}

export function dueTimeout(s: SessionClock, nowMs: number, t: RelayTimeouts): CloseReason | null {
  if (t.finalTimeout > 0 && nowMs - s.createdMs >= t.finalTimeout * 1000) return 'final-timeout';
  if (s.answeredMs === null) return t.offerTimeout > 0 && nowMs - s.createdMs >= t.offerTimeout * 1000 ? 'offer-timeout' : null;
  const since = s.answeredMs;
  const idleCaller = nowMs - Math.max(since, s.lastFromCallerMs ?? since);
  const idleCallee = nowMs - Math.max(since, s.lastFromCalleeMs ?? since);
  if (t.timeout > 0 && Math.min(idleCaller, idleCallee) >= t.timeout * 1000) return 'timeout';
  if (t.silentTimeout > 0 && Math.max(idleCaller, idleCallee) >= t.silentTimeout * 1000) return 'silent-timeout';
  return null;
}
