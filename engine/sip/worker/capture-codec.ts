/**
 * Capture events cross from the SIP worker to the main thread in batches, as
 * one transferable ArrayBuffer per batch: no structured clone per message,
 * no copy of the message bytes on the receiving side (each `raw` is a view
 * into the batch). Pure functions.
 *
 * Layout per event (little endian):
 *   f64 tsUs | u8 direction(0 in,1 out) | u8 transport(0 udp,1 tcp) | u8 retransmission | u8 pad
 *   u16 status (0 = request) | u32 cseqSeq | u32 rawLength
 *   7 strings: src, dst, callId, cseqMethod, method, label, branch — each u16 byteLength + UTF-8 ("" = null for method/branch)
 *   raw bytes
 */
import type { SipCaptureEvent } from '../../events';

const FIXED = 8 + 4 + 2 + 4 + 4;
/** Worst case of the seven strings' prefixes and UTF-8 (3 bytes per UTF-16 unit, capped at a u16 each). */
const maxStrBytes = (s: string): number => 2 + Math.min(s.length * 3, 0xffff);

/**
 * Encodes each event into one reused scratch buffer the moment it is
 * captured, and hands out a batch as an exact-size copy. Why not keep the
 * event objects until the flush: each one holds its message's bytes and its
 * header text (the meta strings are slices of it), and at 14,000 messages/s
 * a batch's worth alive at every young-generation GC was most of what that
 * GC copied in the SIP worker.
 */
export class CaptureBatchWriter {
  #buf: Buffer;
  #view: DataView;
  #o = 0;
  #count = 0;

  constructor(initialBytes = 256 * 1024) {
    this.#buf = Buffer.alloc(initialBytes);
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.length);
  }

  /** Events appended since the last take/discard. */
  get count(): number {
    return this.#count;
  }

  /** Bytes appended since the last take/discard. */
  get bytes(): number {
    return this.#o;
  }

  append(e: SipCaptureEvent): void {
    const method = e.method ?? '';
    const branch = e.branch ?? '';
    const worst = FIXED + e.raw.length + maxStrBytes(e.src) + maxStrBytes(e.dst) + maxStrBytes(e.callId) + maxStrBytes(e.cseqMethod) + maxStrBytes(method) + maxStrBytes(e.label) + maxStrBytes(branch);
    if (this.#o + worst > this.#buf.length) this.#grow(this.#o + worst);
    const buf = this.#buf;
    const view = this.#view;
    let o = this.#o;
    view.setFloat64(o, e.tsUs, true);
    view.setUint8(o + 8, e.direction === 'out' ? 1 : 0);
    view.setUint8(o + 9, e.transport === 'tcp' ? 1 : 0);
    view.setUint8(o + 10, e.retransmission ? 1 : 0);
    view.setUint8(o + 11, 0);
    view.setUint16(o + 12, e.status ?? 0, true);
    view.setUint32(o + 14, e.cseqSeq >>> 0, true);
    view.setUint32(o + 18, e.raw.length, true);
    o += FIXED;
    o = this.#str(e.src, o);
    o = this.#str(e.dst, o);
    o = this.#str(e.callId, o);
    o = this.#str(e.cseqMethod, o);
    o = this.#str(method, o);
    o = this.#str(e.label, o);
    o = this.#str(branch, o);
    e.raw.copy(buf, o);
    this.#o = o + e.raw.length;
    this.#count++;
  }

  /** Writes `s` with its u16 length prefix at `o`; returns the offset after it. No closure per event: this runs per SIP message. */
  #str(s: string, o: number): number {
    // At most the 64 KiB a u16 prefix holds; write() stops short rather than split a character.
    const n = this.#buf.write(s, o + 2, Math.min(this.#buf.length - o - 2, 0xffff), 'utf8');
    this.#view.setUint16(o, n, true);
    return o + 2 + n;
  }

  /** The batch so far as its own ArrayBuffer (transferable), and a fresh start. */
  take(): ArrayBuffer {
    // Not zero-filled, and outside Buffer's pool: the ArrayBuffer is exactly the batch, every byte written below.
    const out = Buffer.allocUnsafeSlow(this.#o);
    this.#buf.copy(out, 0, 0, this.#o);
    const ab = out.buffer as ArrayBuffer;
    this.#o = 0;
    this.#count = 0;
    return ab;
  }

  /** Forget the batch so far; returns how many events it held (to count them as dropped). */
  discard(): number {
    const n = this.#count;
    this.#o = 0;
    this.#count = 0;
    return n;
  }

  #grow(need: number): void {
    const next = Buffer.alloc(Math.max(need, this.#buf.length * 2));
    this.#buf.copy(next, 0, 0, this.#o);
    this.#buf = next;
    this.#view = new DataView(next.buffer, next.byteOffset, next.length);
  }
}

export function encodeCaptureBatch(events: readonly SipCaptureEvent[]): ArrayBuffer {
  const w = new CaptureBatchWriter(64 * 1024);
  for (const e of events) w.append(e);
  return w.take();
}

export function decodeCaptureBatch(ab: ArrayBuffer): SipCaptureEvent[] {
  const view = new DataView(ab);
  const buf = Buffer.from(ab);
  const out: SipCaptureEvent[] = [];
  let o = 0;
  while (o + FIXED <= ab.byteLength) {
    const tsUs = view.getFloat64(o, true);
    const direction = view.getUint8(o + 8) === 1 ? 'out' : 'in';
    const transport = view.getUint8(o + 9) === 1 ? 'tcp' : 'udp';
    const retransmission = view.getUint8(o + 10) === 1;
    const status = view.getUint16(o + 12, true);
    const cseqSeq = view.getUint32(o + 14, true);
    const rawLength = view.getUint32(o + 18, true);
    o += FIXED;
    const str = (): string => {
      const n = view.getUint16(o, true);
      const s = buf.toString('utf8', o + 2, o + 2 + n);
      o += 2 + n;
      return s;
    };
    const src = str();
    const dst = str();
    const callId = str();
    const cseqMethod = str();
    const method = str();
    const label = str();
    const branch = str();
    const raw = buf.subarray(o, o + rawLength);
    o += rawLength;
    out.push({
      kind: 'sip',
      tsUs,
      direction,
      transport,
      src,
      dst,
      callId,
      cseqSeq,
      cseqMethod,
      method: method === '' ? null : method,
      status: status === 0 ? null : status,
      label,
      branch: branch === '' ? null : branch,
      size: rawLength,
      raw,
      retransmission,
    });
  }
  return out;
}
