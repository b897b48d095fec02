/**
 * What the recorder lost of each call, on its way to the call's record:
 * packets dropped on the way to the call's recording (its full queue, the
 * relay's tap behind) and PCM frames of the call not forwarded to the
 * application. Counts are added as the recorder's once-a-second tick finds
 * them (never per packet) and handed out as one report per call: the first
 * at once, so a click on the suspects board finds the call while it is up,
 * then at most every REPORT_EVERY_US, as the relay's stream figures are.
 * A report carries the drops since the call's previous one, so a recording
 * stopped and started again (a new file) adds to the same call.
 *
 * Counts wait here until they are reported, whatever happened to the
 * recording or the connection meanwhile: a call whose recording stops, or
 * whose forwarding connection closes, between two ticks keeps its last
 * counts. Pure; the clock is the caller's.
 */

/** One call's drops since its previous report. */
export interface CallDropReport {
  callId: string;
  /** Packets dropped on the way to its recording. */
  drops: number;
  /** PCM frames not forwarded to the application. */
  framesDropped: number;
}

/** A call's later reports come at most this often (its first at once). */
export const REPORT_EVERY_US = 5_000_000;

export class DropReports {
  /** Counts not reported yet, per call. */
  private pending = new Map<string, CallDropReport>();
  /** When each call was last reported, for the calls reported within the last REPORT_EVERY_US. */
  private reportedUs = new Map<string, number>();

  /** Counts found for a call (either may be 0). */
  add(callId: string, drops: number, framesDropped: number): void {
    if (!(drops > 0) && !(framesDropped > 0)) return;
    const p = this.pending.get(callId);
    if (p) {
      p.drops += Math.max(0, drops);
      p.framesDropped += Math.max(0, framesDropped);
    } else this.pending.set(callId, { callId, drops: Math.max(0, drops), framesDropped: Math.max(0, framesDropped) });
  }

  /** Calls with counts waiting. */
  get waiting(): number {
    return this.pending.size;
  }

  /** The reports due now (`all`: every waiting one, as the recorder stops); those not due wait. */
  take(nowUs: number, all = false): CallDropReport[] {
    for (const [id, at] of this.reportedUs) if (nowUs - at >= REPORT_EVERY_US) this.reportedUs.delete(id);
    const due: CallDropReport[] = [];
    for (const [id, p] of this.pending) {
      if (!all && this.reportedUs.has(id)) continue;
      due.push(p);
      this.pending.delete(id);
      this.reportedUs.set(id, nowUs);
    }
    return due;
  }
}
