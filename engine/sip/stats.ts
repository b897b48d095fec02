import type { LatencySummary } from '../metrics/histogram';

/** What the proxy reports about itself; the host puts it in snapshots and /metrics. */
export interface ProxyStats {
  messagesIn: number;
  messagesOut: number;
  retransmissionsIn: number;
  retransmissionsOut: number;
  activeTransactions: number;
  callsPerSecond: number;
  retransmissionsPerSecond: number;
  /** INVITE received → 100 Trying handed to the socket, µs, measured by the proxy itself. */
  trying100: LatencySummary;
  /** Event-loop delay of the SIP thread (µs): what delays a 100 Trying before it is even read. */
  loopDelay: LatencySummary;
}

export const EMPTY_PROXY_STATS: ProxyStats = {
  messagesIn: 0,
  messagesOut: 0,
  retransmissionsIn: 0,
  retransmissionsOut: 0,
  activeTransactions: 0,
  callsPerSecond: 0,
  retransmissionsPerSecond: 0,
  trying100: { count: 0, p50: 0, p90: 0, p99: 0, max: 0 },
  loopDelay: { count: 0, p50: 0, p90: 0, p99: 0, max: 0 },
};
