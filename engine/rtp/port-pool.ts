/**
 * The relay's port pool: even RTP / odd RTCP pairs inside `--rtp HOST:MIN-MAX`,
 * handed out and taken back in O(1). Pure; time injected; binds nothing (the
 * caller binds, and says so with `busy()` when another process holds a pair).
 *
 * Modelled on rtpengine's `port_pool` (daemon/media_socket.c): an exact free
 * count and a free list, all-or-nothing allocation, and a released port that
 * is not reused at once. Where we differ, on purpose:
 * - the free list is a FIFO, so the least recently used pair goes first and a
 *   just-freed pair goes last: late packets of an old call rarely reach a new one;
 * - release is deferred by a fixed quarantine measured on the injected clock
 *   (rtpengine only defers the close to a late-release list), so the pool can be tested
 *   by running time forward;
 * - a pair whose bind failed is held out for a while and then tried again,
 *   instead of being skipped only for that one attempt;
 * - a released pair's sockets may stay bound ("warm", up to `warmPairs`
 *   pairs not in use), and allocate() hands out warm pairs first: binding
 *   and closing four sockets was the largest part of a call's setup cost,
 *   and an offer whose pairs are all warm needs no bind to wait for. Late
 *   packets for a warm pair reach our socket (dropped and counted as stray)
 *   instead of the kernel's ICMP. Warm and cold free pairs are two FIFOs,
 *   each least recently used first.
 *
 * Each pair is always in exactly one of four states, and in the one structure
 * that state implies:
 *
 *            allocate()              release()
 *   free ──────────────▶ in use ─────────────▶ quarantined ──(quarantineMs)──▶ free (tail; warm or cold)
 *                          │
 *                          └── busy() ──▶ busy ──(retryBusyAfterMs)──▶ free (tail)
 *
 * Quarantined and busy pairs wait in FIFOs ordered by the time they become
 * free (each FIFO has one fixed delay and the clock is monotonic), and move to
 * the tail of the free FIFO lazily, when allocate() or stats() looks:
 * amortised O(1), no timer.
 */
import type { PortPoolStats } from './stats';

export interface PortPoolOptions {
  /** Inclusive range, from --rtp HOST:MIN-MAX (1024..65535, at least 4 ports). */
  min: number;
  max: number;
  /** A released pair is not handed out again before this. */
  quarantineMs: number;
  /** How long a pair another process held (bind failed) stays out before it is tried again. */
  retryBusyAfterMs?: number;
  /** Injected monotonic clock (ms). */
  monoMs: () => number;
  /** Most pairs kept bound while not in use (quarantined or free); 0 closes every released pair. */
  warmPairs?: number;
}

export const DEFAULT_RETRY_BUSY_AFTER_MS = 30_000;

const FREE = 0;
const IN_USE = 1;
const QUARANTINED = 2;
const BUSY = 3;
/** Taken by `takeToWarm`, being bound ahead of any offer: counted free (it will be, warm, within a shard round trip), not handed out meanwhile. */
const WARMING = 4;

/**
 * A bounded FIFO of pair indexes in typed arrays, with the time each entry
 * is due. Never holds more than every pair once, so it never overflows.
 */
class PairFifo {
  private readonly pairs: Int32Array;
  private readonly dueMs: Float64Array;
  private head = 0;
  size = 0;

  constructor(capacity: number, withDue: boolean) {
    this.pairs = new Int32Array(capacity);
    this.dueMs = new Float64Array(withDue ? capacity : 0);
  }

  push(pair: number, dueMs = 0): void {
    let tail = this.head + this.size;
    if (tail >= this.pairs.length) tail -= this.pairs.length;
    this.pairs[tail] = pair;
    if (this.dueMs.length > 0) this.dueMs[tail] = dueMs;
    this.size++;
  }

  /** Call only when size > 0. */
  shift(): number {
    const pair = this.pairs[this.head]!;
    this.head = this.head + 1 === this.pairs.length ? 0 : this.head + 1;
    this.size--;
    return pair;
  }

  /** When the oldest entry is due; Infinity when empty. */
  headDueMs(): number {
    return this.size > 0 ? this.dueMs[this.head]! : Infinity;
  }
}

export class PortPool {
  private readonly min: number;
  private readonly max: number;
  /** The first pair's RTP port: the first even port >= min. */
  private readonly firstRtp: number;
  private readonly pairCount: number;
  private readonly quarantineMs: number;
  private readonly retryBusyAfterMs: number;
  private readonly monoMs: () => number;

  /** Indexed by (rtp - firstRtp) / 2. */
  private readonly state: Uint8Array;
  /** 1 for a pair released warm (its sockets kept bound), until its next release; kept while it is in use again. */
  private readonly warm: Uint8Array;
  private readonly warmPairs: number;
  /** Pairs bound but not in use: quarantined warm, or in `warmFree`. */
  private boundIdle = 0;
  private readonly free: PairFifo;
  private readonly warmFree: PairFifo;
  private readonly quarantine: PairFifo;
  private readonly busyHeld: PairFifo;

  private inUsePairs = 0;
  /** Pairs `takeToWarm` gave out that `warmed` has not had back yet. */
  private warmingPairs = 0;
  private highWaterPairs = 0;
  private allocations = 0;
  private releases = 0;
  private allocationFailures = 0;
  private bindFailures = 0;

  constructor(o: PortPoolOptions) {
    const { min, max, quarantineMs } = o;
    const retryBusyAfterMs = o.retryBusyAfterMs ?? DEFAULT_RETRY_BUSY_AFTER_MS;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1024 || max > 65535 || max - min + 1 < 4) {
      throw new RangeError(`RTP port range ${min}-${max}: need whole ports within 1024-65535, at least 4 of them`);
    }
    if (!(quarantineMs >= 0) || !Number.isFinite(quarantineMs)) throw new RangeError(`quarantineMs ${quarantineMs}: need a finite delay >= 0`);
    if (!(retryBusyAfterMs >= 0) || !Number.isFinite(retryBusyAfterMs)) {
      throw new RangeError(`retryBusyAfterMs ${retryBusyAfterMs}: need a finite delay >= 0`);
    }
    this.min = min;
    this.max = max;
    this.firstRtp = min % 2 === 0 ? min : min + 1;
    // The last pair needs its RTCP port (rtp + 1) <= max; 4 ports always hold at least one pair.
    const lastRtp = max % 2 === 1 ? max - 1 : max - 2;
    this.pairCount = (lastRtp - this.firstRtp) / 2 + 1;
    this.quarantineMs = quarantineMs;
    this.retryBusyAfterMs = retryBusyAfterMs;
    this.monoMs = o.monoMs;

    this.state = new Uint8Array(this.pairCount);
    this.warm = new Uint8Array(this.pairCount);
    const warmPairs = o.warmPairs ?? 0;
    if (!Number.isInteger(warmPairs) || warmPairs < 0) throw new RangeError(`warmPairs ${warmPairs}: need a whole number >= 0`);
    this.warmPairs = warmPairs;
    this.free = new PairFifo(this.pairCount, false);
    this.warmFree = new PairFifo(this.pairCount, false);
    this.quarantine = new PairFifo(this.pairCount, true);
    this.busyHeld = new PairFifo(this.pairCount, true);
    for (let i = 0; i < this.pairCount; i++) this.free.push(i);
  }

  /**
   * n RTP ports (even; the RTCP port is rtp + 1), all or nothing; null when
   * fewer than n pairs are free, counted as an allocation failure (the caller
   * refuses the offer). A bad n (not a whole number >= 0) is refused the same way.
   *
   * rtpengine rolls back the ports it already took when a later one fails.
   * Here the free count is exact (every entry in the free FIFO is free), so
   * checking it first means an allocation never stops half-way.
   * Warm pairs (sockets still bound, `isWarm`) go first.
   */
  allocate(n: number): number[] | null {
    this.expire(this.monoMs());
    if (!Number.isInteger(n) || n < 0 || n > this.free.size + this.warmFree.size) {
      this.allocationFailures++;
      return null;
    }
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      let pair: number;
      if (this.warmFree.size > 0) {
        pair = this.warmFree.shift();
        this.boundIdle--;
      } else {
        pair = this.free.shift();
      }
      this.state[pair] = IN_USE;
      out.push(this.firstRtp + pair * 2);
    }
    this.inUsePairs += n;
    if (this.inUsePairs > this.highWaterPairs) this.highWaterPairs = this.inUsePairs;
    this.allocations += n;
    return out;
  }

  /**
   * Up to n cold free pairs to bind ahead of any offer (the relay's start),
   * no more than the warm budget has room for, nor a quarter of the free
   * pairs (offers arriving meanwhile find the rest). While the shard binds
   * them they count as free, not in use (no offer took them), but are not
   * handed out. `warmed` gives each back.
   */
  takeToWarm(n: number): number[] {
    this.expire(this.monoMs());
    const k = Math.max(0, Math.min(n, Math.floor(this.free.size / 4), this.warmPairs - this.boundIdle));
    const out: number[] = [];
    for (let i = 0; i < k; i++) {
      const pair = this.free.shift();
      this.state[pair] = WARMING;
      out.push(this.firstRtp + pair * 2);
    }
    this.warmingPairs += k;
    return out;
  }

  /**
   * A pair from `takeToWarm`, bound or not: bound, it is free and warm at
   * once (nothing used it, so there is nothing to quarantine); not bound
   * (another process holds it), it is held as busy like any bind failure.
   */
  warmed(rtp: number, bound: boolean): void {
    const pair = this.indexIn(rtp, WARMING);
    if (pair < 0) return;
    this.warmingPairs--;
    if (!bound) return this.holdBusy(pair);
    this.warm[pair] = 1;
    this.boundIdle++;
    this.state[pair] = FREE;
    this.warmFree.push(pair);
  }

  /** Whether a pair released now should keep its sockets bound (fewer than `warmPairs` are idle and bound). */
  wantsWarm(): boolean {
    return this.boundIdle < this.warmPairs;
  }

  /** True for a pair last released warm: its sockets are still bound, so once allocated it needs no bind. */
  isWarm(rtp: number): boolean {
    const offset = rtp - this.firstRtp;
    return Number.isInteger(rtp) && offset >= 0 && offset % 2 === 0 && offset / 2 < this.pairCount && this.warm[offset / 2] === 1;
  }

  /**
   * Gives a pair back (by its RTP port): it waits out the quarantine, then is
   * free again. `warm`: its sockets stay bound (as `wantsWarm()` advised).
   * A port that is not an in-use RTP port (never handed out, already
   * released, held as busy, an RTCP port, out of range) is left alone: false.
   */
  release(rtp: number, warm = false): boolean {
    const pair = this.inUseIndex(rtp);
    if (pair < 0) return false;
    this.warm[pair] = warm ? 1 : 0;
    if (warm) this.boundIdle++;
    this.state[pair] = QUARANTINED;
    this.quarantine.push(pair, this.monoMs() + this.quarantineMs);
    this.inUsePairs--;
    this.releases++;
    return true;
  }

  /**
   * The caller could not bind this pair (EADDRINUSE: another process holds
   * it): it leaves "in use", is counted in bindFailures, and is tried again
   * only after retryBusyAfterMs. Not a release (releases does not count it).
   * A port that is not an in-use RTP port is ignored.
   */
  busy(rtp: number): void {
    const pair = this.inUseIndex(rtp);
    if (pair < 0) return;
    this.inUsePairs--;
    this.holdBusy(pair);
  }

  private holdBusy(pair: number): void {
    this.state[pair] = BUSY;
    this.warm[pair] = 0;
    this.busyHeld.push(pair, this.monoMs() + this.retryBusyAfterMs);
    this.bindFailures++;
  }

  /** True for the RTP port of a pair handed out and not yet released or marked busy. */
  isInUse(rtp: number): boolean {
    return this.inUseIndex(rtp) >= 0;
  }

  /**
   * Port counts are in ports (a pair is two), as PortPoolStats says.
   * `allocations`, `releases` and `bindFailures` count pairs (one per RTP
   * port handed out, given back, or reported busy), and `allocationFailures`
   * counts refused allocate() calls. Pairs held as busy are in none of
   * inUse / quarantined / free: they are total minus those three.
   */
  stats(): PortPoolStats {
    this.expire(this.monoMs());
    return {
      min: this.min,
      max: this.max,
      total: this.pairCount * 2,
      inUse: this.inUsePairs * 2,
      // Lending (relay.ts) takes pairs out as allocations: the relay moves them from inUse to lent.
      lent: 0,
      quarantined: this.quarantine.size * 2,
      // Pairs being bound ahead count as free: they are, warm, within a shard round trip.
      free: (this.free.size + this.warmFree.size + this.warmingPairs) * 2,
      busy: this.busyHeld.size * 2,
      highWater: this.highWaterPairs * 2,
      allocations: this.allocations,
      releases: this.releases,
      allocationFailures: this.allocationFailures,
      bindFailures: this.bindFailures,
    };
  }

  /** The pair index of an in-use RTP port, or -1. */
  private inUseIndex(rtp: number): number {
    return this.indexIn(rtp, IN_USE);
  }

  /** The pair index of an RTP port whose pair is in `state`, or -1. */
  private indexIn(rtp: number, state: number): number {
    const offset = rtp - this.firstRtp;
    if (!Number.isInteger(rtp) || offset < 0 || offset % 2 !== 0) return -1;
    const pair = offset / 2;
    return pair < this.pairCount && this.state[pair] === state ? pair : -1;
  }

  /**
   * Moves every quarantined or busy pair whose time has come to the tail of
   * the free FIFO, earliest due first, so the free FIFO stays in the order
   * pairs became free (on a tie, the quarantined pair goes first).
   */
  private expire(now: number): void {
    for (;;) {
      const q = this.quarantine.headDueMs();
      const b = this.busyHeld.headDueMs();
      if (q <= b && q <= now) this.makeFree(this.quarantine.shift());
      else if (b < q && b <= now) this.makeFree(this.busyHeld.shift());
      else return;
    }
  }

  private makeFree(pair: number): void {
    this.state[pair] = FREE;
    (this.warm[pair] === 1 ? this.warmFree : this.free).push(pair);
  }
}
