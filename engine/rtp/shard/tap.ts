/**
 * The recorder's tap on a relay shard: the packets of the streams being
 * recorded, copied into one transferable batch and sent to the main thread
 * with the shard's capture flow (`ThreadSide.capture`: at least every 20 ms,
 * bounded in flight, a batch the main thread is too far behind to take is
 * dropped and counted as `capture main-thread-behind`). The relay never
 * waits for the recorder: a full batch is sent, never awaited. What is
 * dropped here is also counted per stream and direction (`takeDropped`), so
 * each recording can say how many of its packets never reached it.
 *
 * One record: slot u32 · side u8 · arrival µs f64 · length u16 · the datagram.
 */
import type { BatchWriter } from '../../worker/thread-side';

/** One tapped datagram. The shard fills one instance and reuses it: no allocation per packet. */
export interface TapPacket {
  slot: number;
  side: 0 | 1;
  arrivalUs: number;
  data: Buffer;
}

const HEAD = 4 + 1 + 8 + 2;
/** Larger than the capture flow's flushBytes (192 KiB), so a batch is sent before it fills. */
const CAPACITY = 256 * 1024;

export class TapWriter implements BatchWriter<TapPacket> {
  private buf = Buffer.allocUnsafe(CAPACITY);
  count = 0;
  bytes = 0;
  /** Datagrams that did not fit the batch (sent before it could be flushed). */
  overflow = 0;
  /** Datagrams dropped since the last `takeDropped`, per slot: [from the caller, from the callee]. */
  private dropped = new Map<number, [number, number]>();

  append(p: TapPacket): void {
    const len = Math.min(p.data.length, 0xffff);
    if (this.bytes + HEAD + len > CAPACITY) {
      this.overflow++;
      this.countDropped(p.slot, p.side);
      return;
    }
    let o = this.bytes;
    this.buf.writeUInt32LE(p.slot, o);
    this.buf[o + 4] = p.side;
    this.buf.writeDoubleLE(p.arrivalUs, o + 5);
    this.buf.writeUInt16LE(len, o + 13);
    o += HEAD;
    p.data.copy(this.buf, o, 0, len);
    this.bytes = o + len;
    this.count++;
  }

  take(): ArrayBuffer {
    const out = new ArrayBuffer(this.bytes);
    new Uint8Array(out).set(this.buf.subarray(0, this.bytes));
    this.count = 0;
    this.bytes = 0;
    return out;
  }

  /** Drops the batch (the main thread is too far behind), counting its datagrams per slot and side. */
  discard(): number {
    const n = this.count;
    const b = this.buf;
    for (let o = 0; o + HEAD <= this.bytes; o += HEAD + b.readUInt16LE(o + 13)) this.countDropped(b.readUInt32LE(o), b[o + 4] === 1 ? 1 : 0);
    this.count = 0;
    this.bytes = 0;
    return n;
  }

  /** The per-slot drops since the last call, as [slot, from the caller, from the callee]; the count starts again. */
  takeDropped(): [number, number, number][] {
    if (this.dropped.size === 0) return [];
    const out = [...this.dropped].map(([slot, [a, b]]) => [slot, a, b] as [number, number, number]);
    this.dropped = new Map();
    return out;
  }

  private countDropped(slot: number, side: 0 | 1): void {
    let d = this.dropped.get(slot);
    if (!d) this.dropped.set(slot, (d = [0, 0]));
    d[side]++;
  }
}

/** The records of one batch, in order; each `data` is a view into the batch (the batch is the receiver's own). */
export function* readTap(batch: ArrayBuffer): Generator<TapPacket> {
  const b = Buffer.from(batch);
  let o = 0;
  while (o + HEAD <= b.length) {
    const len = b.readUInt16LE(o + 13);
    if (o + HEAD + len > b.length) return;
    yield { slot: b.readUInt32LE(o), side: b[o + 4] === 1 ? 1 : 0, arrivalUs: b.readDoubleLE(o + 5), data: b.subarray(o + HEAD, o + HEAD + len) };
    o += HEAD + len;
  }
}
