/**
 * The publisher's outgoing queue: bounded, in order, with a way back to the
 * front for events whose command failed (the connection broke before the
 * reply), so that once Redis is back they go out again before anything
 * newer. Pure; no I/O.
 *
 * When full, the oldest event is dropped (the caller counts it): while Redis
 * is away the newest events are the ones worth keeping, and the bound is
 * what keeps a dead Redis from growing the process without limit.
 */
export interface Queued<T> {
  /** Order of arrival: retried events go back in this order. */
  readonly n: number;
  readonly item: T;
  attempts: number;
}

export class PublishQueue<T> {
  private items: (Queued<T> | undefined)[] = [];
  private head = 0;
  /** Failed, waiting to go again: kept sorted by `n`, taken before `items`. */
  private retry: Queued<T>[] = [];
  private next = 0;

  constructor(readonly max: number) {}

  get length(): number {
    return this.items.length - this.head + this.retry.length;
  }

  /** Adds an event; returns the one dropped to make room, if any. */
  push(item: T): Queued<T> | null {
    const dropped = this.length >= this.max ? this.dropOldest() : null;
    this.items.push({ n: this.next++, item, attempts: 0 });
    return dropped;
  }

  /** The next event to write (retries first, oldest first), or undefined. */
  shift(): Queued<T> | undefined {
    if (this.retry.length > 0) return this.retry.shift();
    return this.takeItem();
  }

  private takeItem(): Queued<T> | undefined {
    const q = this.items[this.head];
    if (q === undefined) return undefined;
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return q;
  }

  /**
   * A written event whose command failed goes back ahead of everything
   * newer. When full, the oldest of all (it, or the oldest queued) is the
   * one that goes: returned to be counted.
   */
  requeue(q: Queued<T>): Queued<T> | null {
    if (this.length < this.max) {
      this.insertRetry(q);
      return null;
    }
    const oldest = this.peekOldest();
    if (!oldest || q.n < oldest.n) return q;
    this.dropOldest();
    this.insertRetry(q);
    return oldest;
  }

  private insertRetry(q: Queued<T>): void {
    let i = this.retry.length;
    while (i > 0 && this.retry[i - 1]!.n > q.n) i--;
    this.retry.splice(i, 0, q);
  }

  private peekOldest(): Queued<T> | undefined {
    const r = this.retry[0];
    const h = this.items[this.head];
    return r && (!h || r.n < h.n) ? r : h;
  }

  private dropOldest(): Queued<T> | null {
    const r = this.retry[0];
    const h = this.items[this.head];
    if (r && (!h || r.n < h.n)) return this.retry.shift()!;
    return h ? this.takeItem()! : null;
  }
}
