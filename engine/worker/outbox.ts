/**
 * Messages to another thread, coalesced per turn of the event loop. Each
 * postMessage wakes the receiving thread, and a wake-up costs far more than
 * the message: measured on the 2-core lab VM, ~40 µs of CPU per message
 * between the relay's threads, for payloads of a few dozen bytes. The
 * replies, calls and tells one turn produces (a burst of SIP requests read
 * together, say) go out as one `batch` after it, in order.
 *
 * Order is kept across both ways out: `now` (a message that carries a
 * transfer list, or a stop) first sends what waits.
 */
export type Batch<M> = { type: 'batch'; messages: M[] };

export class Outbox<M> {
  private queue: M[] = [];
  private scheduled = false;

  constructor(private readonly post: (m: M | Batch<M>, transfer?: ArrayBuffer[]) => void) {}

  /** Sends at the end of this turn of the event loop, with whatever else is sent in it. */
  later(m: M): void {
    this.queue.push(m);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Sends at once, after what waits. */
  now(m: M, transfer?: ArrayBuffer[]): void {
    this.flush();
    this.post(m, transfer);
  }

  readonly flush = (): void => {
    this.scheduled = false;
    const q = this.queue;
    if (q.length === 0) return;
    this.queue = [];
    this.post(q.length === 1 ? q[0]! : { type: 'batch', messages: q });
  };
}
