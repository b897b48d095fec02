import type { LatencySummary } from '../metrics/histogram';
import type { FinalsByClass } from './proxy/counters';
import type { SocketBuffers } from './transport/types';
import type { InlineGateState } from './worker/inline-gate';

/** What the proxy reports about itself; the host puts it in snapshots and /metrics. */
export interface ProxyStats {
  messagesIn: number;
  messagesOut: number;
  retransmissionsIn: number;
  retransmissionsOut: number;
  activeTransactions: number;
  callsPerSecond: number;
  retransmissionsPerSecond: number;
  /** Of those, received (the rest the proxy sent), last 5 s. */
  retransmissionsInPerSecond: number;
  /** INVITE read → 100 Trying handed to the socket, µs, measured by the proxy itself (engine time: after any wait in the kernel; in `inline` mode after the wait on Redis, which is `inline.heldUs`), over the last minute. */
  trying100: LatencySummary;
  /** Event-loop delay of the SIP thread (µs): what delays a 100 Trying before it is even read. */
  loopDelay: LatencySummary;
  /** Responses the proxy generated itself, by status ("408": n): timeouts, 483, 503 overload, … (100 Trying not counted). */
  answered: Record<string, number>;
  /** Final responses sent upstream, relayed or generated, once per transaction, by class. */
  finals: FinalsByClass;
  /**
   * `inline` publish mode only (null otherwise): the simulated SIP workers,
   * how many are blocked waiting for Redis now, messages waiting for one,
   * the wait itself and the retransmissions it caused (inline-gate.ts).
   */
  inline: InlineGateState | null;
  /** The UDP socket's buffers as the kernel set them (null without UDP): what the receive queue in the kernel suspect fills. */
  udpBuffers: SocketBuffers | null;
}

export const EMPTY_PROXY_STATS: ProxyStats = {
  messagesIn: 0,
  messagesOut: 0,
  retransmissionsIn: 0,
  retransmissionsOut: 0,
  activeTransactions: 0,
  callsPerSecond: 0,
  retransmissionsPerSecond: 0,
  retransmissionsInPerSecond: 0,
  trying100: { count: 0, p50: 0, p90: 0, p99: 0, max: 0 },
  loopDelay: { count: 0, p50: 0, p90: 0, p99: 0, max: 0 },
  answered: {},
  finals: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, '6xx': 0 },
  inline: null,
  udpBuffers: null,
};
