/**
 * Admission: what waits behind the 100 Trying fast path, and when new work
 * is refused at the door instead (RFC 3261 §21.5.4, RFC 6357 §4).
 *
 * The worker reads a datagram and does only what must be immediate — a new
 * INVITE gets its server transaction and 100 Trying — and queues the rest in
 * arrival order, drained in slices (`defer`, the worker passes setImmediate)
 * so the socket is read between them. The queue is bounded twice: by length
 * (then requests get 503, anything else is dropped and counted) and by age
 * (once the oldest waiting message is older than the limit, new calls get
 * 503, so the calls already accepted finish before their peers' retransmission
 * timers fire).
 */
import type { Clock } from '../../clock';

/** Messages waiting behind the fast path before new ones are refused. */
export const MAX_PENDING = 20_000;
/** The shortest queue age that refuses new calls by default (ms). */
export const MIN_QUEUE_AGE_MS = 100;
/** Deferred work done per slice before the socket is read again (ms). */
const SLICE_MS = 0.5;

/**
 * On an overload 503 (§21.5.4): without Retry-After a client "MUST act as if
 * it had received a 500"; with it, an upstream proxy tries another server and
 * "SHOULD NOT forward any other requests to that server for the duration" —
 * so 1 s, the least the header can say: long pauses make the on/off
 * oscillation RFC 6357 §5 warns of.
 */
export const OVERLOAD_HEADERS: ReadonlyArray<readonly [string, string]> = [['Retry-After', '1']];

export interface AdmissionOptions<W> {
  clock: Clock;
  /** Schedules a drain slice. */
  defer: (drain: () => void) => void;
  /** Does one waiting message's work (never throws: the core catches). */
  handle: (w: W) => void;
  maxPending?: number;
  /** Queue age (ms) beyond which new calls are refused. */
  maxQueueAgeMs: number;
}

export class AdmissionQueue<W extends { tIn: number }> {
  private items: (W | undefined)[] = [];
  private head = 0;
  private scheduled = false;
  private readonly max: number;
  private readonly maxAgeUs: number;
  private readonly drainSlice = () => this.drain(SLICE_MS);

  constructor(private readonly options: AdmissionOptions<W>) {
    this.max = options.maxPending ?? MAX_PENDING;
    this.maxAgeUs = options.maxQueueAgeMs * 1000;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** No room: the message must be refused (a request) or dropped (anything else). */
  get full(): boolean {
    return this.length >= this.max;
  }

  /** The oldest waiting message has waited too long for a new call to be taken on. */
  stale(nowUs: number): boolean {
    const oldest = this.items[this.head];
    return oldest !== undefined && nowUs - oldest.tIn > this.maxAgeUs;
  }

  push(w: W): void {
    this.items.push(w);
    if (!this.scheduled) {
      this.scheduled = true;
      this.options.defer(this.drainSlice);
    }
  }

  /** Does the waiting work: all of it, or until `sliceMs` has passed (then schedules the rest). */
  drain(sliceMs = Infinity): void {
    this.scheduled = false;
    const clock = this.options.clock;
    const deadline = sliceMs === Infinity ? Infinity : clock.monoMs() + sliceMs;
    let done = 0;
    while (this.head < this.items.length) {
      const w = this.items[this.head]!;
      this.items[this.head++] = undefined;
      this.options.handle(w);
      if ((++done & 3) === 0 && clock.monoMs() >= deadline) break;
    }
    if (this.head >= this.items.length) {
      this.items = [];
      this.head = 0;
    } else {
      if (this.head > 4096) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      if (!this.scheduled) {
        this.scheduled = true;
        this.options.defer(this.drainSlice);
      }
    }
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
