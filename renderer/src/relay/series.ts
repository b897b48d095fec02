/**
 * The port-pool chart's series, the pure part: what one snapshot adds to the
 * live history (`MetricPoint`, one point every 2 s) and the chart's points
 * made from that history. Unit-tested (test/unit/relay-ui.test.ts).
 */
import type { Snapshot } from '../../../app/contract';

/** The relay's part of one history point; null where the relay had no figures. */
export interface RelayPoint {
  relayInUse: number | null;
  /** Pairs handed out per second over the last 10 s (engine). */
  relayAllocPerS: number | null;
  /** Allocations refused since the relay started (a counter: the chart draws its increase). */
  relayAllocFailures: number | null;
}

export function relayPointOf(s: Pick<Snapshot, 'relay'>): RelayPoint {
  const r = s.relay;
  if (!r) return { relayInUse: null, relayAllocPerS: null, relayAllocFailures: null };
  return { relayInUse: r.ports.inUse, relayAllocPerS: r.perSecond.allocations, relayAllocFailures: r.ports.allocationFailures };
}

/** One point of the port-pool chart. */
export interface PortPoint {
  /** Seconds since the engine started. */
  t: number;
  inUse: number | null;
  allocPerS: number | null;
  /** Allocations refused since the previous point. */
  failures: number | null;
}

/**
 * The chart's points from the history. Failures are the counter's increase
 * since the previous point; a counter that went down (the relay restarted)
 * starts over from its new value; no relay at either point is a gap.
 */
export function portSeries(history: readonly (RelayPoint & { t: number })[]): PortPoint[] {
  return history.map((p, i) => {
    const prev = i === 0 ? null : history[i - 1]!.relayAllocFailures;
    const now = p.relayAllocFailures;
    const failures = now === null || prev === null ? null : now >= prev ? now - prev : now;
    return { t: p.t, inUse: p.relayInUse, allocPerS: p.relayAllocPerS, failures };
  });
}

/** Whether any point of the history had the relay's figures (else the chart says it is collecting). */
export const hasRelayPoints = (history: readonly RelayPoint[]): boolean => history.some((p) => p.relayInUse !== null);

/** What the chart's title attribute says. */
export const PORT_CHART_TITLE =
  'Each point, engine: ports in use at that moment (left axis, up to the pool size); pairs allocated per second over the 10 s before it, and allocations refused since the point before (right axis). One point every 2 s, last 2 minutes.';
