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
  let size = 0;
  const strings: Buffer[][] = [];
  for (const e of events) {
    const s = [e.src, e.dst, e.callId, e.cseqMethod, e.method ?? '', e.label, e.branch ?? ''].map((x) => Buffer.from(x, 'utf8'));
    strings.push(s);
    size += FIXED + s.reduce((n, b) => n + 2 + Math.min(b.length, 0xffff), 0) + e.raw.length;
  }
  const ab = new ArrayBuffer(size);
  const view = new DataView(ab);
  const bytes = new Uint8Array(ab);
  let o = 0;
  events.forEach((e, i) => {
    view.setFloat64(o, e.tsUs, true);
    view.setUint8(o + 8, e.direction === 'out' ? 1 : 0);
    view.setUint8(o + 9, e.transport === 'tcp' ? 1 : 0);
    view.setUint8(o + 10, e.retransmission ? 1 : 0);
    view.setUint16(o + 12, e.status ?? 0, true);
    view.setUint32(o + 14, e.cseqSeq >>> 0, true);
    view.setUint32(o + 18, e.raw.length, true);
    o += FIXED;
    for (const b of strings[i]!) {
      const n = Math.min(b.length, 0xffff);
      view.setUint16(o, n, true);
      bytes.set(b.subarray(0, n), o + 2);
      o += 2 + n;
    }
    bytes.set(e.raw, o);
    o += e.raw.length;
  });
  return ab;
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
