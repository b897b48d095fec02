/**
 * The bounded queue between the relay's packet tap and one call's recording:
 * the tap pushes, the recorder's timer drains. A ring of fixed size,
 * allocated once, so a push is three array stores and never allocates, waits
 * or throws. When the ring is full the packet is refused and counted for its
 * direction: the relay must never wait for the recorder (issue 15), so when
 * the recorder falls behind, it is the recording that loses packets.
 *
 * Buffers are kept, not copied: the tap hands over a buffer it will not
 * reuse, and it stays untouched here until drained (and then in the playout
 * until played).
 */

/** 0: caller → relay, 1: callee → relay. */
export type DirectionIndex = 0 | 1;

export type PacketHandler = (direction: DirectionIndex, arrivalUs: number, packet: Buffer) => void;

export class PacketQueue {
  /** Packets taken, per direction. */
  readonly accepted: [number, number] = [0, 0];
  /** Packets refused because the ring was full, and those dropped before they reached it (`countDropped`), per direction. */
  readonly drops: [number, number] = [0, 0];

  private readonly packets: (Buffer | undefined)[];
  private readonly arrivals: Float64Array;
  private readonly directions: Uint8Array;
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`bad packet queue capacity ${capacity}`);
    this.packets = Array.from<Buffer | undefined>({ length: capacity });
    this.arrivals = new Float64Array(capacity);
    this.directions = new Uint8Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** True when queued; false when the ring is full (counted in `drops`). */
  push(direction: DirectionIndex, arrivalUs: number, packet: Buffer): boolean {
    if (this.count === this.capacity) {
      this.drops[direction]++;
      return false;
    }
    let at = this.head + this.count;
    if (at >= this.capacity) at -= this.capacity;
    this.packets[at] = packet;
    this.arrivals[at] = arrivalUs;
    this.directions[at] = direction;
    this.count++;
    this.accepted[direction]++;
    return true;
  }

  /** Packets of a direction dropped upstream, before the queue (the relay's tap): counted with its refusals. */
  countDropped(direction: DirectionIndex, count: number): void {
    if (Number.isInteger(count) && count > 0) this.drops[direction] += count;
  }

  /** Hands up to `budget` packets to `handler`, oldest first; returns how many. */
  drain(budget: number, handler: PacketHandler): number {
    let n = 0;
    while (this.count > 0 && n < budget) {
      const at = this.head;
      const packet = this.packets[at]!;
      this.packets[at] = undefined;
      this.head = at + 1 === this.capacity ? 0 : at + 1;
      this.count--;
      n++;
      handler(this.directions[at] as DirectionIndex, this.arrivals[at]!, packet);
    }
    return n;
  }
}
