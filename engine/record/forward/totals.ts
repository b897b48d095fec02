/**
 * The forwarder's totals over every connection it opened: what went out,
 * what was dropped and why, the failures and their reasons. The
 * connections count into it as things happen (connection.ts); the
 * forwarder reports it (forwarder.ts).
 */

export interface ReasonCount {
  reason: string;
  count: number;
}

export interface DropReason {
  /** 'queue full', 'not connected', 'connection lost', 'end timeout', 'closed', 'not PCM', 'too many connections'. */
  reason: string;
  frames: number;
  bytes: number;
}

export interface ForwarderTotals {
  /** Legs that opened a connection. */
  connections: number;
  /** Not closed yet (ending ones included). */
  active: number;
  bytesSent: number;
  framesSent: number;
  framesDropped: number;
  bytesDropped: number;
  reconnects: number;
  failures: number;
  /** Failures by error code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, …) or reason. */
  failureReasons: ReasonCount[];
  drops: DropReason[];
}

export class ForwardTally {
  private connections = 0;
  private bytesSent = 0;
  private framesSent = 0;
  private framesDropped = 0;
  private bytesDropped = 0;
  private reconnects = 0;
  private failures = 0;
  private readonly failureReasons = new Map<string, number>();
  private readonly drops = new Map<string, DropReason>();

  opened(): void {
    this.connections++;
  }

  reconnected(): void {
    this.reconnects++;
  }

  sent(bytes: number, frames: number): void {
    this.bytesSent += bytes;
    this.framesSent += frames;
  }

  /** One failure, counted under `key` (an error code, or a reason when there is none). */
  failed(key: string): void {
    this.failures++;
    this.failureReasons.set(key, (this.failureReasons.get(key) ?? 0) + 1);
  }

  dropped(frames: number, bytes: number, reason: string): void {
    if (frames === 0) return;
    this.framesDropped += frames;
    this.bytesDropped += bytes;
    const d = this.drops.get(reason);
    if (d) {
      d.frames += frames;
      d.bytes += bytes;
    } else this.drops.set(reason, { reason, frames, bytes });
  }

  /** The totals now, copied; `active` is the caller's to say. */
  totals(active: number): ForwarderTotals {
    return {
      connections: this.connections,
      active,
      bytesSent: this.bytesSent,
      framesSent: this.framesSent,
      framesDropped: this.framesDropped,
      bytesDropped: this.bytesDropped,
      reconnects: this.reconnects,
      failures: this.failures,
      failureReasons: [...this.failureReasons].map(([reason, count]) => ({ reason, count })),
      drops: [...this.drops.values()].map((d) => ({ ...d })),
    };
  }
}
