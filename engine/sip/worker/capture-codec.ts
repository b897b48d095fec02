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
import type { SipCaptureEvent } from '../../capture/types';

const FIXED = 8 + 4 + 2 + 4 + 4;

export function encodeCaptureBatch(events: readonly SipCaptureEvent[]): ArrayBuffer {
  // Sized first, then written in place: no intermediate Buffer per string (the worker's hot path).
  let size = 0;
  for (const e of events) {
    size += FIXED + e.raw.length + 14;
    size += strBytes(e.src) + strBytes(e.dst) + strBytes(e.callId) + strBytes(e.cseqMethod) + strBytes(e.method ?? '') + strBytes(e.label) + strBytes(e.branch ?? '');
  }
  const ab = new ArrayBuffer(size);
  const view = new DataView(ab);
  const buf = Buffer.from(ab);
  let o = 0;
  const str = (s: string): void => {
    // At most the 64 KiB a u16 prefix holds; write() stops short rather than split a character.
    const n = buf.write(s, o + 2, Math.min(buf.length - o - 2, 0xffff), 'utf8');
    view.setUint16(o, n, true);
    o += 2 + n;
  };
  for (const e of events) {
    view.setFloat64(o, e.tsUs, true);
    view.setUint8(o + 8, e.direction === 'out' ? 1 : 0);
    view.setUint8(o + 9, e.transport === 'tcp' ? 1 : 0);
    view.setUint8(o + 10, e.retransmission ? 1 : 0);
    view.setUint16(o + 12, e.status ?? 0, true);
    view.setUint32(o + 14, e.cseqSeq >>> 0, true);
    view.setUint32(o + 18, e.raw.length, true);
    o += FIXED;
    str(e.src);
    str(e.dst);
    str(e.callId);
    str(e.cseqMethod);
    str(e.method ?? '');
    str(e.label);
    str(e.branch ?? '');
    e.raw.copy(buf, o);
    o += e.raw.length;
  }
  // A string cut at its 64 KiB cap may end short of a character: never leave slack the decoder would read as an event.
  return o === size ? ab : ab.slice(0, o);
}

/** UTF-8 length, capped at what a u16 length prefix holds. */
function strBytes(s: string): number {
  return Math.min(Buffer.byteLength(s, 'utf8'), 0xffff);
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
