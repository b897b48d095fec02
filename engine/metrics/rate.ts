/**
 * Events per second over a sliding window of one-second slots, so the header
 * shows "calls/s now" rather than an average since start.
 */
export class RateMeter {
  private readonly slots: Float64Array;
  private slotSecond = -1;
  total = 0;

  constructor(private readonly windowSeconds = 5) {
    this.slots = new Float64Array(windowSeconds);
  }

  mark(nowMs: number, n = 1): void {
    this.advance(nowMs);
    this.slots[this.slotSecond % this.windowSeconds]! += n;
    this.total += n;
  }

  /** Mean rate over the completed seconds of the window. */
  perSecond(nowMs: number): number {
    this.advance(nowMs);
    let sum = 0;
    for (let i = 1; i < this.windowSeconds; i++) {
      sum += this.slots[(this.slotSecond - i + this.windowSeconds * 2) % this.windowSeconds]!;
    }
    return sum / (this.windowSeconds - 1);
  }

  /** Events in the whole window: the current second and the `windowSeconds - 1` before it. */
  inWindow(nowMs: number): number {
    this.advance(nowMs);
    let sum = 0;
    for (let i = 0; i < this.windowSeconds; i++) sum += this.slots[i]!;
    return sum;
  }

  private advance(nowMs: number): void {
    const sec = Math.floor(nowMs / 1000);
    if (this.slotSecond < 0) this.slotSecond = sec;
    const gap = Math.min(sec - this.slotSecond, this.windowSeconds);
    for (let i = 1; i <= gap; i++) this.slots[(this.slotSecond + i) % this.windowSeconds] = 0;
    if (sec > this.slotSecond) this.slotSecond = sec;
  }
}
