/**
 * Pairs each SIP message the engine captured with its copy on the wire (the
 * tap's dumpcap), so the message can carry the kernel's timestamp beside the
 * engine's. Pure: time and hashing are the caller's; no I/O.
 *
 * A pair is the same bytes on the same hop (`src>dst` and the payload's
 * hash). Retransmissions are the same bytes again: the copies pair in order
 * (first with first). Either side may come first — an incoming message is
 * on the wire before the engine reads it; an outgoing one reaches the main
 * thread from the worker before or after dumpcap's copy.
 *
 *   engine event ──► waits ≤ engineWaitUs ──► paired: released with the wire time   (seen 'both')
 *                                         └─► no wire copy: released as it was      (seen 'engine')
 *   wire copy    ──► waits ≤ wireWaitUs   ──► paired (above)
 *                                         └─► no engine event: released as a message
 *                                             of its own, from the wire alone     (seen 'wire')
 *
 * Engine events leave in the order they came (the call store reads them in
 * engine order): one still waiting holds the later ones back, at most
 * `engineWaitUs`. A wire copy waits longer because the engine may be late by
 * exactly the incident this exists for: a worker stuck for seconds while
 * INVITEs queue in the kernel. An incoming request still unpaired after
 * `wireWaitUs` was, as far as we can tell, dropped by the kernel before we
 * read it (or read after that long) — it is kept and shown, not thrown away.
 *
 * Both waiting lists are bounded (`maxPending` each): past it the oldest
 * engine event leaves unpaired and the oldest wire copy is dropped, counted.
 */
import type { Direction, SipCaptureEvent } from '../events';

export interface WireCopy {
  /** Kernel timestamp, already on the engine clock (µs). */
  tsUs: number;
  transport: 'udp' | 'tcp';
  /** As the engine writes the hop: on a TCP connection we opened, our end is our SIP address, not the connection's own port (`local`). */
  src: string;
  dst: string;
  /** TCP connections we opened: our end as the wire has it (the ephemeral port). */
  local?: string;
  /** As callpath sees it: `in` to our SIP address, `out` from it. */
  direction: Direction;
  /** What was captured: the whole payload, or its head when the snaplen cut it. */
  payload: Buffer;
  /** The payload's full length (from the UDP header; a TCP message is whole). */
  length: number;
}

export interface MatcherOptions {
  engineWaitUs: number;
  wireWaitUs: number;
  maxPending: number;
}

export const DEFAULT_MATCHER_OPTIONS: MatcherOptions = { engineWaitUs: 500_000, wireWaitUs: 5_000_000, maxPending: 50_000 };

export interface MatcherSink {
  /** An engine event, paired or not, in engine order. */
  release(ev: SipCaptureEvent): void;
  /** A wire copy no engine event claimed within its wait (`seen: 'wire'`); the sink parses it if it can. */
  wireOnly(copy: WireCopy, retransmission: boolean): void;
  /** A message that was dropped from a full waiting list. */
  dropped(side: 'engine' | 'wire'): void;
  /** A wire copy with `local` paired: that TCP connection is ours. */
  pairedLocal?(local: string): void;
}

interface EngineItem {
  ev: SipCaptureEvent;
  key: number;
  arrivedUs: number;
  wireUs: number | null;
  done: boolean;
  /** The next unpaired engine event with the same key (a retransmission), oldest first. */
  same: EngineItem | null;
}

interface WireItem {
  copy: WireCopy;
  key: number;
  arrivedUs: number;
  claimed: boolean;
  /** The same bytes on the same hop came before (within the keys remembered): a retransmission. */
  repeat: boolean;
  same: WireItem | null;
}

/** A FIFO array with a moving head, compacted now and then (no shift() per item). */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(x: T): void {
    this.items.push(x);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    const x = this.items[this.head];
    if (x === undefined) return undefined;
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
}

/**
 * Keys seen lately, in two generations: when the newer one is full it
 * becomes the older and the oldest is dropped whole — O(1) per key, where
 * deleting the oldest entry of one Set one at a time is not.
 */
export class RecentKeys<K = string> {
  private young = new Set<K>();
  private old = new Set<K>();
  constructor(private readonly perGeneration: number) {}
  has(k: K): boolean {
    return this.young.has(k) || this.old.has(k);
  }
  add(k: K): void {
    if (this.young.size >= this.perGeneration) {
      this.old = this.young;
      this.young = new Set();
    }
    this.young.add(k);
  }
}

/**
 * Unpaired items by key, each key a chain oldest first through `same` (a
 * chain longer than one is a retransmission waiting: rare, so no array per key).
 */
class Chains<T extends { same: T | null }> {
  private readonly heads = new Map<number, T>();
  private readonly tails = new Map<number, T>();
  add(key: number, item: T): void {
    const tail = this.tails.get(key);
    if (tail) tail.same = item;
    else this.heads.set(key, item);
    this.tails.set(key, item);
  }
  takeFirst(key: number): T | undefined {
    const head = this.heads.get(key);
    if (!head) return undefined;
    if (head.same) this.heads.set(key, head.same);
    else {
      this.heads.delete(key);
      this.tails.delete(key);
    }
    head.same = null;
    return head;
  }
  remove(key: number, item: T): void {
    let prev: T | null = null;
    for (let x = this.heads.get(key) ?? null; x; prev = x, x = x.same) {
      if (x !== item) continue;
      if (prev) prev.same = x.same;
      else if (x.same) this.heads.set(key, x.same);
      else this.heads.delete(key);
      if (this.tails.get(key) === x) {
        if (prev) this.tails.set(key, prev);
        else this.tails.delete(key);
      }
      x.same = null;
      return;
    }
  }
}

export class WireMatcher {
  private readonly engineQueue = new Fifo<EngineItem>();
  private readonly wireQueue = new Fifo<WireItem>();
  /** Only unpaired items are in these. */
  private readonly engineWaiting = new Chains<EngineItem>();
  private readonly wireWaiting = new Chains<WireItem>();
  /** Keys of wire copies seen lately: a wire-only copy seen before is a retransmission. */
  private readonly wireSeen: RecentKeys<number>;
  readonly counts = { paired: 0, engineOnly: 0, wireOnly: 0, droppedEngine: 0, droppedWire: 0 };

  constructor(
    private readonly key: (src: string, dst: string, payload: Buffer, length: number) => number,
    private readonly sink: MatcherSink,
    private readonly options: MatcherOptions = DEFAULT_MATCHER_OPTIONS,
  ) {
    this.wireSeen = new RecentKeys<number>(options.maxPending);
  }

  /** Engine events waiting (for `drain`). */
  get waiting(): number {
    return this.engineQueue.length;
  }

  engine(ev: SipCaptureEvent, nowUs: number): void {
    const key = this.key(ev.src, ev.dst, ev.raw, ev.raw.length);
    const item: EngineItem = { ev, key, arrivedUs: nowUs, wireUs: null, done: false, same: null };
    const w = this.wireWaiting.takeFirst(key);
    if (w) {
      w.claimed = true;
      if (w.copy.local !== undefined) this.sink.pairedLocal?.(w.copy.local);
      item.wireUs = w.copy.tsUs;
      item.done = true;
    } else {
      this.engineWaiting.add(key, item);
    }
    this.engineQueue.push(item);
    if (this.engineQueue.length > this.options.maxPending) {
      const head = this.engineQueue.peek()!;
      if (!head.done) {
        this.engineWaiting.remove(head.key, head);
        head.done = true;
        this.counts.droppedEngine++;
        this.sink.dropped('engine');
      }
    }
    this.releaseHead();
  }

  /**
   * A copy from the wire. Its payload is kept as it is (a view into
   * dumpcap's chunk, no copy per packet) while it waits; only a wire-only
   * copy is handed on, and the sink copies what it keeps. So what waiting
   * copies pin is bounded by what dumpcap delivers in `wireWaitUs`.
   */
  wire(copy: WireCopy, nowUs: number): void {
    const key = this.key(copy.src, copy.dst, copy.payload, copy.length);
    const repeat = this.wireSeen.has(key);
    if (!repeat) this.wireSeen.add(key);
    const e = this.engineWaiting.takeFirst(key);
    if (e) {
      if (copy.local !== undefined) this.sink.pairedLocal?.(copy.local);
      e.wireUs = copy.tsUs;
      e.done = true;
      this.releaseHead();
      return;
    }
    const item: WireItem = { copy, key, arrivedUs: nowUs, claimed: false, repeat, same: null };
    this.wireWaiting.add(key, item);
    this.wireQueue.push(item);
    while (this.wireQueue.length > this.options.maxPending) {
      const old = this.wireQueue.shift()!;
      if (old.claimed) continue;
      this.wireWaiting.remove(old.key, old);
      this.counts.droppedWire++;
      this.sink.dropped('wire');
    }
  }

  /** Lets go of everything past its wait. Call it every few tens of ms. */
  tick(nowUs: number): void {
    for (let h = this.engineQueue.peek(); h && !h.done && nowUs - h.arrivedUs >= this.options.engineWaitUs; h = this.engineQueue.peek()) {
      this.engineWaiting.remove(h.key, h);
      h.done = true;
      this.releaseHead();
    }
    for (let w = this.wireQueue.peek(); w && (w.claimed || nowUs - w.arrivedUs >= this.options.wireWaitUs); w = this.wireQueue.peek()) {
      this.wireQueue.shift();
      if (w.claimed) continue;
      this.wireWaiting.remove(w.key, w);
      this.counts.wireOnly++;
      this.sink.wireOnly(w.copy, w.repeat);
    }
  }

  /** Forgets the wire copies still waiting (the tap pauses: their engine events may now bypass it), counted as dropped. */
  forgetWire(): number {
    let n = 0;
    for (let w = this.wireQueue.shift(); w; w = this.wireQueue.shift()) {
      if (w.claimed) continue;
      this.wireWaiting.remove(w.key, w);
      n++;
    }
    this.counts.droppedWire += n;
    return n;
  }

  /** Everything still waiting, let go now (the tap stops): engine events unpaired, wire copies as wire-only. */
  flushAll(): void {
    this.tick(Number.POSITIVE_INFINITY);
  }

  private releaseHead(): void {
    for (let h = this.engineQueue.peek(); h && h.done; h = this.engineQueue.peek()) {
      this.engineQueue.shift();
      if (h.wireUs !== null) {
        this.counts.paired++;
        this.sink.release(withWireTime(h.ev, h.wireUs));
      } else {
        this.counts.engineOnly++;
        this.sink.release(engineOnly(h.ev));
      }
    }
  }
}

/** Bytes of a payload the key reads: the start line and top Via (with its branch) and well beyond; always within what the snaplen keeps. */
export const KEY_BYTES = 1024;

/**
 * The pairing key of a message on a hop: two 32-bit FNV-1a-style hashes of
 * the payload's first KEY_BYTES, its full length and the hop, folded into one
 * 53-bit number. A number, not a string: at 14,000 messages a second the
 * string keys (hop + SHA-1 in base64) and their Map and Set lookups were most
 * of what the tap cost the main thread. Two different messages on one hop
 * within the wait (5 s) with the same length and the same first KiB — start
 * line and top Via branch included — are retransmissions in practice, which
 * share the key by design.
 */
export function wireKey(src: string, dst: string, payload: Buffer, length: number): number {
  let a = 0x811c9dc5 ^ length;
  let b = 0x9747b28c ^ length;
  const n = Math.min(payload.length, KEY_BYTES);
  for (let i = 0; i < n; i++) {
    const c = payload[i]!;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  for (let i = 0; i < src.length; i++) a = Math.imul(a ^ src.charCodeAt(i), 0x01000193);
  b = Math.imul(b ^ 0x3e, 0x5bd1e995); // '>' between the two ends of the hop
  for (let i = 0; i < dst.length; i++) b = Math.imul(b ^ dst.charCodeAt(i), 0x5bd1e995);
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

/** The event with the wire's time, its own beside it. A literal of every field, so each has one shape (a spread that adds fields is slower). */
function withWireTime(e: SipCaptureEvent, wireUs: number): SipCaptureEvent {
  return {
    kind: 'sip', tsUs: wireUs, callId: e.callId, source: e.source, direction: e.direction, transport: e.transport, src: e.src, dst: e.dst,
    cseqSeq: e.cseqSeq, cseqMethod: e.cseqMethod, method: e.method, status: e.status, label: e.label, branch: e.branch, size: e.size,
    raw: e.raw, retransmission: e.retransmission, engineTsUs: e.tsUs, seen: 'both',
  };
}

function engineOnly(e: SipCaptureEvent): SipCaptureEvent {
  return {
    kind: 'sip', tsUs: e.tsUs, callId: e.callId, source: e.source, direction: e.direction, transport: e.transport, src: e.src, dst: e.dst,
    cseqSeq: e.cseqSeq, cseqMethod: e.cseqMethod, method: e.method, status: e.status, label: e.label, branch: e.branch, size: e.size,
    raw: e.raw, retransmission: e.retransmission, seen: 'engine',
  };
}
