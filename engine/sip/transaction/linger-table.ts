/**
 * Transactions past their final response, kept only to absorb or answer
 * retransmissions until their last timer fires: Timer J and K (RFC 3261
 * §17.2.2, §17.1.2.2) and Timers L and M (RFC 6026 §7.1, §8.4).
 *
 * Why not the full state machines: at 1,000 calls/s a proxy holds ~100,000
 * transactions in these states (64·T1 = 32 s each), and a machine with its
 * timer, callbacks and proxy context is ~3 KB of JS heap that every young
 * generation GC must copy. Those copies were the 100 Trying tail (a 4 ms
 * scavenge every ~150 ms, and the backlog behind it). Here a lingering
 * transaction is one map entry and (at most) one small record; every entry of
 * a table lives the same time, so expiry is a FIFO swept by a single timer.
 */
import type { TimerHandle, TimerHost } from './timer-host';

/** Expiries are swept together in windows this long (ms): a linger may end up to this much late. */
export const LINGER_SWEEP_MS = 50;

export class LingerTable<T> {
  /** Key → absolute position of its entry in the FIFO (a small integer: no allocation per entry). */
  readonly #map = new Map<string, number>();
  // FIFO in parallel arrays; due order = insertion order (constant TTL). Position p lives at index p - #base.
  #keys: (string | undefined)[] = [];
  #values: (T | undefined)[] = [];
  #dues: number[] = [];
  #base = 0;
  #head = 0;
  #timer: TimerHandle | null = null;

  /**
   * @param ttlMs how long every entry lingers; 0 or less keeps nothing (the
   *   reliable-transport case, where Timers J and K are zero).
   * @param nowMs a monotonic clock in ms, the same one the timers run on.
   */
  constructor(
    readonly ttlMs: number,
    private readonly timers: TimerHost,
    private readonly nowMs: () => number,
  ) {}

  add(key: string, value: T): void {
    if (this.ttlMs <= 0) return;
    this.#map.set(key, this.#base + this.#keys.length);
    this.#keys.push(key);
    this.#values.push(value);
    this.#dues.push(this.nowMs() + this.ttlMs);
    this.#arm();
  }

  get(key: string): T | undefined {
    const p = this.#map.get(key);
    return p === undefined ? undefined : this.#values[p - this.#base];
  }

  delete(key: string): boolean {
    const p = this.#map.get(key);
    if (p === undefined) return false;
    this.#map.delete(key);
    this.#values[p - this.#base] = undefined;
    return true;
  }

  get size(): number {
    return this.#map.size;
  }

  clear(): void {
    if (this.#timer !== null) this.timers.clear(this.#timer);
    this.#timer = null;
    this.#map.clear();
    this.#keys = [];
    this.#values = [];
    this.#dues = [];
    this.#base = 0;
    this.#head = 0;
  }

  #arm(): void {
    if (this.#timer !== null || this.#head >= this.#keys.length) return;
    const wait = Math.max(0, this.#dues[this.#head]! - this.nowMs());
    this.#timer = this.timers.set(wait + LINGER_SWEEP_MS, () => this.#sweep());
  }

  #sweep(): void {
    this.#timer = null;
    const now = this.nowMs();
    let h = this.#head;
    while (h < this.#keys.length && this.#dues[h]! <= now) {
      const key = this.#keys[h]!;
      // Only if the key still points here: one re-added later has its own, later entry.
      if (this.#map.get(key) === this.#base + h) this.#map.delete(key);
      this.#keys[h] = undefined;
      this.#values[h] = undefined;
      h++;
    }
    this.#head = h;
    if (h > 4096 && h * 2 > this.#keys.length) {
      this.#keys = this.#keys.slice(h);
      this.#values = this.#values.slice(h);
      this.#dues = this.#dues.slice(h);
      this.#base += h;
      this.#head = 0;
    }
    this.#arm();
  }
}
