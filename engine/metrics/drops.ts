/**
 * Every deliberate drop in the engine (malformed SIP, oversize datagram, full
 * queue, slow consumer) is counted here by place and reason, and shown in the
 * snapshot and /metrics. A drop that is not counted is a lie.
 */
export interface DropCount {
  where: string;
  reason: string;
  count: number;
}

export class DropCounters {
  private readonly counts = new Map<string, DropCount>();

  count(where: string, reason: string, n = 1): void {
    const key = where + '\u0000' + reason;
    const c = this.counts.get(key);
    if (c) c.count += n;
    else this.counts.set(key, { where, reason, count: n });
  }

  /** Mirrors a total counted elsewhere (the SIP worker keeps its own counters). */
  setTotal(where: string, reason: string, total: number): void {
    const key = where + '\u0000' + reason;
    const c = this.counts.get(key);
    if (c) c.count = total;
    else this.counts.set(key, { where, reason, count: total });
  }

  get(where: string, reason: string): number {
    return this.counts.get(where + '\u0000' + reason)?.count ?? 0;
  }

  list(): DropCount[] {
    return [...this.counts.values()].map((c) => ({ ...c }));
  }
}
