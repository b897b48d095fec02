/**
 * Transactions past their final response, kept only to absorb or answer
 * retransmissions until their last timer fires: Timer J and K (RFC 3261
 * §17.2.2, §17.1.2.2) and Timers L and M (RFC 6026 §7.1, §8.4).
 *
 * Why not the full state machines, nor even one small JS record each: at
 * 1,000 calls/s a proxy holds ~100,000 transactions in these states (64·T1 =
 * 32 s each). As machines they were the 100 Trying tail (a 4 ms scavenge
 * every ~150 ms); as Map entries with a record, a key string and a Buffer
 * each they were still a third of what every young-generation GC copied, and
 * 100,000 old-generation objects for every mark-compact to trace.
 *
 * So a table holds no JS object per entry: each entry (due time, key, the
 * value's bytes from a codec) is appended to 1 MiB chunks of memory outside
 * the JS heap, and an open-addressing hash index of typed arrays maps keys to
 * entries. Every entry of a table lives the same time, so expiry is a FIFO
 * swept by a single timer, and a chunk whose entries have all expired is
 * reused. Values are decoded only on a hit: a retransmission, the rare case.
 */
import type { TimerHandle, TimerHost } from './timer-host';

/** Expiries are swept together in windows this long (ms): a linger may end up to this much late. */
export const LINGER_SWEEP_MS = 50;

/** How a table stores its values as bytes. `write` writes exactly `size(value)` bytes. */
export interface LingerCodec<T> {
  size(value: T): number;
  write(value: T, buf: Buffer, offset: number): void;
  read(buf: Buffer, start: number, end: number): T;
}

export interface LingerTableOptions {
  /** Bytes per chunk (default 1 MiB); an entry larger than a chunk is not kept (and counted). */
  chunkBytes?: number;
  /** At most this many bytes of chunks (default 512 MiB); past it the oldest entries go early (and are counted). */
  maxBytes?: number;
  /** Told about entries let go before their time: 'evicted' (table full) or 'too-big'. */
  onDrop?: (reason: 'evicted' | 'too-big') => void;
}

// Entry layout: u32 length | u8 live | 3 pad | f64 due | u32 hash | u32 key UTF-16 units | key (UTF-16LE) | value
const HEADER = 24;
const LIVE = 4;
const DUE = 8;
const HASH = 16;
const KEY_UNITS = 20;
const INITIAL_SLOTS = 1 << 12;

export class LingerTable<T> {
  readonly #codec: LingerCodec<T>;
  readonly #chunkBytes: number;
  readonly #maxChunks: number;
  readonly #onDrop: ((reason: 'evicted' | 'too-big') => void) | undefined;
  /** Chunk ring: slot i holds chunk i; head..tail (mod maxChunks) are in use, oldest first. */
  readonly #chunks: (Buffer | undefined)[] = [];
  readonly #used: number[] = [];
  #headChunk = 0;
  #tailChunk = 0;
  /** Next entry to expire: an offset inside the head chunk. */
  #headOffset = 0;
  #spare: Buffer | undefined;
  #entries = 0;
  #live = 0;
  // Hash index: position + 1 of each entry (0 = empty slot), and the entry's hash beside it.
  #slots = new Int32Array(INITIAL_SLOTS);
  #hashes = new Int32Array(INITIAL_SLOTS);
  #timer: TimerHandle | null = null;

  /**
   * @param ttlMs how long every entry lingers; 0 or less keeps nothing (the
   *   reliable-transport case, where Timers J and K are zero). It may be
   *   changed (a new T1): entries added from then on use it. Entries expire
   *   in the order they were added, so after a shortening a new entry may
   *   linger until the older ones ahead of it are due: longer, never shorter.
   * @param nowMs a monotonic clock in ms, the same one the timers run on.
   */
  constructor(
    public ttlMs: number,
    private readonly timers: TimerHost,
    private readonly nowMs: () => number,
    codec: LingerCodec<T>,
    o: LingerTableOptions = {},
  ) {
    this.#codec = codec;
    this.#chunkBytes = o.chunkBytes ?? 1 << 20;
    // Positions (chunk × chunkBytes + offset) must fit the Int32 index.
    this.#maxChunks = Math.max(2, Math.min(Math.floor((o.maxBytes ?? 512 << 20) / this.#chunkBytes), Math.floor(0x7ffffffe / this.#chunkBytes)));
    this.#onDrop = o.onDrop;
  }

  add(key: string, value: T): void {
    if (this.ttlMs <= 0) return;
    const length = HEADER + key.length * 2 + this.#codec.size(value);
    if (length > this.#chunkBytes) {
      this.#onDrop?.('too-big');
      return;
    }
    const hash = hashOf(key);
    const old = this.#find(key, hash);
    if (old >= 0) this.#kill(old, hash);
    const pos = this.#reserve(length);
    const buf = this.#chunks[Math.floor(pos / this.#chunkBytes)]!;
    const o = pos % this.#chunkBytes;
    buf.writeUInt32LE(length, o);
    buf[o + LIVE] = 1;
    buf.writeDoubleLE(this.nowMs() + this.ttlMs, o + DUE);
    buf.writeInt32LE(hash, o + HASH);
    buf.writeUInt32LE(key.length, o + KEY_UNITS);
    buf.write(key, o + HEADER, key.length * 2, 'utf16le');
    this.#codec.write(value, buf, o + HEADER + key.length * 2);
    this.#entries++;
    this.#live++;
    this.#index(pos, hash);
    this.#arm();
  }

  get(key: string): T | undefined {
    const pos = this.#find(key, hashOf(key));
    if (pos < 0) return undefined;
    const buf = this.#chunks[Math.floor(pos / this.#chunkBytes)]!;
    const o = pos % this.#chunkBytes;
    return this.#codec.read(buf, o + HEADER + key.length * 2, o + buf.readUInt32LE(o));
  }

  delete(key: string): boolean {
    const hash = hashOf(key);
    const pos = this.#find(key, hash);
    if (pos < 0) return false;
    this.#kill(pos, hash);
    return true;
  }

  get size(): number {
    return this.#live;
  }

  /** Bytes of chunks the table holds now (outside the JS heap). */
  get bytes(): number {
    let n = this.#spare?.length ?? 0;
    for (const c of this.#chunks) n += c?.length ?? 0;
    return n;
  }

  clear(): void {
    if (this.#timer !== null) this.timers.clear(this.#timer);
    this.#timer = null;
    this.#chunks.length = 0;
    this.#used.length = 0;
    this.#spare = undefined;
    this.#headChunk = this.#tailChunk = this.#headOffset = 0;
    this.#entries = this.#live = 0;
    this.#slots = new Int32Array(INITIAL_SLOTS);
    this.#hashes = new Int32Array(INITIAL_SLOTS);
  }

  // ------------------------------------------------------------ chunks

  /** Room for `length` bytes at the tail: the position they go to. */
  #reserve(length: number): number {
    if (this.#chunks[this.#tailChunk] === undefined) this.#open(this.#tailChunk);
    if (this.#used[this.#tailChunk]! + length > this.#chunkBytes) {
      const next = (this.#tailChunk + 1) % this.#maxChunks;
      // Every chunk in use: the oldest entries go before their time rather than memory without bound.
      if (next === this.#headChunk) this.#evictHeadChunk();
      this.#tailChunk = next;
      this.#open(next);
    }
    const pos = this.#tailChunk * this.#chunkBytes + this.#used[this.#tailChunk]!;
    this.#used[this.#tailChunk]! += length;
    return pos;
  }

  #open(i: number): void {
    this.#chunks[i] = this.#spare ?? Buffer.allocUnsafeSlow(this.#chunkBytes);
    this.#spare = undefined;
    this.#used[i] = 0;
  }

  /** The head chunk is done with: keep one chunk for reuse, let the rest go. */
  #releaseHeadChunk(): void {
    this.#spare ??= this.#chunks[this.#headChunk];
    this.#chunks[this.#headChunk] = undefined;
    this.#headChunk = (this.#headChunk + 1) % this.#maxChunks;
    this.#headOffset = 0;
  }

  #evictHeadChunk(): void {
    const buf = this.#chunks[this.#headChunk]!;
    const end = this.#used[this.#headChunk]!;
    for (let o = this.#headOffset; o < end; o += buf.readUInt32LE(o)) {
      if (buf[o + LIVE] === 1) {
        this.#kill(this.#headChunk * this.#chunkBytes + o, buf.readInt32LE(o + HASH));
        this.#onDrop?.('evicted');
      }
      this.#entries--;
    }
    this.#releaseHeadChunk();
  }

  // ------------------------------------------------------------ expiry

  #arm(): void {
    if (this.#timer !== null || this.#entries === 0) return;
    const due = this.#headDue();
    this.#timer = this.timers.set(Math.max(0, due - this.nowMs()) + LINGER_SWEEP_MS, () => this.#sweep());
  }

  /** Due time of the oldest entry (there is one). */
  #headDue(): number {
    this.#skipFinishedHeadChunks();
    return this.#chunks[this.#headChunk]!.readDoubleLE(this.#headOffset + DUE);
  }

  #skipFinishedHeadChunks(): void {
    while (this.#headChunk !== this.#tailChunk && this.#headOffset >= this.#used[this.#headChunk]!) this.#releaseHeadChunk();
  }

  #sweep(): void {
    this.#timer = null;
    const now = this.nowMs();
    while (this.#entries > 0) {
      this.#skipFinishedHeadChunks();
      const buf = this.#chunks[this.#headChunk]!;
      const o = this.#headOffset;
      if (buf.readDoubleLE(o + DUE) > now) break;
      if (buf[o + LIVE] === 1) this.#kill(this.#headChunk * this.#chunkBytes + o, buf.readInt32LE(o + HASH));
      this.#headOffset = o + buf.readUInt32LE(o);
      this.#entries--;
    }
    if (this.#entries === 0) {
      // Empty: let every chunk but the tail go, and start again at the beginning of the tail.
      while (this.#headChunk !== this.#tailChunk) this.#releaseHeadChunk();
      this.#headOffset = 0;
      if (this.#chunks[this.#tailChunk] !== undefined) this.#used[this.#tailChunk] = 0;
    }
    this.#arm();
  }

  // ------------------------------------------------------------ index

  /** Position of the live entry for `key`, or -1. */
  #find(key: string, hash: number): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let i = hash & mask; slots[i] !== 0; i = (i + 1) & mask) {
      if (this.#hashes[i] !== hash) continue;
      const pos = slots[i]! - 1;
      if (this.#keyAt(pos) === key) return pos;
    }
    return -1;
  }

  #keyAt(pos: number): string {
    const buf = this.#chunks[Math.floor(pos / this.#chunkBytes)]!;
    const o = pos % this.#chunkBytes;
    return buf.toString('utf16le', o + HEADER, o + HEADER + buf.readUInt32LE(o + KEY_UNITS) * 2);
  }

  #index(pos: number, hash: number): void {
    if (this.#live * 2 > this.#slots.length) this.#growIndex();
    const slots = this.#slots;
    const mask = slots.length - 1;
    let i = hash & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = pos + 1;
    this.#hashes[i] = hash;
  }

  #growIndex(): void {
    const oldSlots = this.#slots;
    const oldHashes = this.#hashes;
    const slots = new Int32Array(oldSlots.length * 2);
    const hashes = new Int32Array(oldSlots.length * 2);
    const mask = slots.length - 1;
    for (let j = 0; j < oldSlots.length; j++) {
      if (oldSlots[j] === 0) continue;
      let i = oldHashes[j]! & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = oldSlots[j]!;
      hashes[i] = oldHashes[j]!;
    }
    this.#slots = slots;
    this.#hashes = hashes;
  }

  /** Marks the entry at `pos` dead and takes it out of the index (it stays in its chunk until swept). */
  #kill(pos: number, hash: number): void {
    const buf = this.#chunks[Math.floor(pos / this.#chunkBytes)]!;
    buf[(pos % this.#chunkBytes) + LIVE] = 0;
    this.#live--;
    const slots = this.#slots;
    const hashes = this.#hashes;
    const mask = slots.length - 1;
    let i = hash & mask;
    while (slots[i] !== pos + 1) {
      if (slots[i] === 0) return; // not indexed: nothing to take out (never expected; never loop forever)
      i = (i + 1) & mask;
    }
    // Backward-shift deletion (linear probing without tombstones): move up each later entry of the
    // cluster whose home slot is not between the hole and itself.
    slots[i] = 0;
    for (let j = (i + 1) & mask; slots[j] !== 0; j = (j + 1) & mask) {
      const home = hashes[j]! & mask;
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      slots[i] = slots[j]!;
      hashes[i] = hashes[j]!;
      slots[j] = 0;
      i = j;
    }
  }
}

/**
 * FNV-1a over UTF-16 code units, as a signed 32-bit integer, from a seed
 * chosen per process: keys are branches a peer picks, and a fixed hash would
 * let one craft colliding branches that turn every lookup into a long probe.
 */
const HASH_SEED = (Math.random() * 0x100000000) >>> 0;

function hashOf(key: string): number {
  let h = (0x811c9dc5 ^ HASH_SEED) | 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** A value that is the same for every entry: stored as no bytes at all. */
export function constantCodec<T>(value: T): LingerCodec<T> {
  return { size: () => 0, write: () => undefined, read: () => value };
}
