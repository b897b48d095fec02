/**
 * What the proxy core counts, in one place: messages and retransmissions
 * each way, the rates the header shows, 100 Trying latency as the engine
 * sees it, the responses the proxy generated itself (by status) and the
 * final responses it sent upstream (by class).
 */
import type { Clock } from '../../clock';
import type { LatencySummary } from '../../metrics/histogram';
import { WindowedHistogram } from '../../metrics/windowed-histogram';
import { RateMeter } from '../../metrics/rate';

/** The window of the 100 Trying figures (s): recent enough to fall back when traffic stops. */
export const TRYING_WINDOW_S = 60;

export class ProxyCounters {
  messagesIn = 0;
  messagesOut = 0;
  retransmissionsIn = 0;
  retransmissionsOut = 0;
  /** INVITE read → 100 Trying handed to the socket (µs), as the engine stamps both, over the last minute. */
  readonly trying100: WindowedHistogram;
  /** Responses the proxy generated itself, not relayed, by status (100 Trying is not counted: every INVITE gets one). */
  private readonly generated = new Map<number, number>();
  /**
   * Final responses sent upstream, once per request: relayed, generated
   * through the server transaction, or sent statelessly (overload 503, 400
   * without a branch), by class (index 2-6). The proxy's own 200 or 481 to
   * a CANCEL is hop-by-hop and not counted here (a cancelled call would
   * count twice); `answered` has it.
   */
  private readonly finals = new Float64Array(7);
  private readonly callRate = new RateMeter();
  private readonly retransRate = new RateMeter();
  /** Retransmissions received only (the inline gate's attribution subtracts from it). */
  private readonly retransInRate = new RateMeter();

  constructor(private readonly clock: Clock) {
    this.trying100 = new WindowedHistogram(() => clock.monoMs(), TRYING_WINDOW_S);
  }

  callAccepted(): void {
    this.callRate.mark(this.clock.monoMs());
  }

  retransmissionIn(): void {
    this.retransmissionsIn++;
    const now = this.clock.monoMs();
    this.retransRate.mark(now);
    this.retransInRate.mark(now);
  }

  sent(retransmission: boolean): void {
    this.messagesOut++;
    if (retransmission) {
      this.retransmissionsOut++;
      this.retransRate.mark(this.clock.monoMs());
    }
  }

  /** A response the proxy built itself (statefully or not). */
  answered(status: number): void {
    if (status > 100) this.generated.set(status, (this.generated.get(status) ?? 0) + 1);
  }

  /** The final response of a server transaction went upstream. */
  finalSent(status: number): void {
    const c = Math.floor(status / 100);
    if (c >= 2 && c <= 6) this.finals[c]!++;
  }

  callsPerSecond(): number {
    return this.callRate.perSecond(this.clock.monoMs());
  }

  retransmissionsPerSecond(): number {
    return this.retransRate.perSecond(this.clock.monoMs());
  }

  retransmissionsInPerSecond(): number {
    return this.retransInRate.perSecond(this.clock.monoMs());
  }

  /** Generated responses by status, as "408": n. */
  answeredByStatus(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [s, n] of [...this.generated].sort((a, b) => a[0] - b[0])) out[String(s)] = n;
    return out;
  }

  finalsByClass(): FinalsByClass {
    const f = this.finals;
    return { '2xx': f[2]!, '3xx': f[3]!, '4xx': f[4]!, '5xx': f[5]!, '6xx': f[6]! };
  }

  trying100Summary(): LatencySummary {
    return this.trying100.summary();
  }
}

export interface FinalsByClass {
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
  '6xx': number;
}
