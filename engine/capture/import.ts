/**
 * A pcap/pcapng file → SIP capture events, so an offline capture's calls and
 * ladders appear like live ones. UDP datagrams are one message each; TCP
 * payloads are joined per flow while in sequence and framed by
 * Content-Length. What cannot be read is counted by reason, never thrown.
 *
 * An imported message has no "callpath side", so `direction` follows one
 * convention the call store understands: requests `in`, responses `out`.
 */
import { createHash } from 'node:crypto';
import { frameStream, parseMessage } from '../sip/message';
import { readCapture } from './pcap-read';
import type { CallEvent, SipCaptureEvent } from '../events';
import { importJson, looksLikeJson } from './import-json';

export interface ImportResult {
  format: string;
  events: SipCaptureEvent[];
  calls: number;
  skipped: Record<string, number>;
}

export function importCapture(file: Buffer): ImportResult {
  const read = readCapture(file);
  const skipped = { ...read.skipped };
  const skip = (why: string, n = 1) => (skipped[why] = (skipped[why] ?? 0) + n);
  const events: SipCaptureEvent[] = [];
  const seen = new Set<string>();
  const flows = new Map<string, { next: number; buf: Buffer }>();

  const emit = (bytes: Buffer, tsUs: number, transport: 'udp' | 'tcp', src: string, dst: string) => {
    const r = parseMessage(bytes, { stream: transport === 'tcp' });
    if (!r.ok) return skip(`not SIP or malformed (${r.error.reason})`);
    const m = r.msg;
    const sl = m.startLine;
    // The same bytes on the same hop again is a retransmission.
    const key = `${src}>${dst}|${createHash('sha1').update(bytes).digest('base64')}`;
    const retransmission = seen.has(key);
    seen.add(key);
    events.push({
      kind: 'sip',
      tsUs,
      direction: sl.kind === 'request' ? 'in' : 'out',
      transport,
      src,
      dst,
      callId: m.callId,
      cseqSeq: m.cseq.seq,
      cseqMethod: m.cseq.method,
      method: sl.kind === 'request' ? sl.method : null,
      status: sl.kind === 'response' ? sl.status : null,
      label: sl.kind === 'request' ? sl.method : `${sl.status} ${sl.reason}`,
      branch: m.topVia.branch ?? null,
      size: bytes.length,
      raw: Buffer.from(bytes),
      retransmission,
    });
  };

  for (const p of read.packets) {
    if (p.transport === 'udp') {
      emit(p.payload, p.tsUs, 'udp', p.src, p.dst);
      continue;
    }
    const id = `${p.src}>${p.dst}`;
    let flow = flows.get(id);
    if (!flow) flows.set(id, (flow = { next: p.seq ?? 0, buf: Buffer.alloc(0) }));
    if (p.seq !== undefined && p.seq !== flow.next) {
      skip('TCP segment out of order or missing');
      flow.buf = Buffer.alloc(0);
      flow.next = (p.seq + p.payload.length) >>> 0;
      continue;
    }
    flow.next = ((p.seq ?? 0) + p.payload.length) >>> 0;
    flow.buf = flow.buf.length ? Buffer.concat([flow.buf, p.payload]) : p.payload;
    for (;;) {
      const f = frameStream(flow.buf);
      if ('messageLength' in f) {
        emit(flow.buf.subarray(f.skip, f.skip + f.messageLength), p.tsUs, 'tcp', p.src, p.dst);
        flow.buf = flow.buf.subarray(f.skip + f.messageLength);
        if (flow.buf.length === 0) break;
      } else if ('need' in f) {
        break;
      } else {
        skip(`TCP stream not SIP (${f.error.reason})`);
        flow.buf = Buffer.alloc(0);
        break;
      }
    }
  }
  for (const f of flows.values()) if (f.buf.length > 0) skip('TCP message cut at the end of the capture');
  events.sort((a, b) => a.tsUs - b.tsUs);
  return { format: read.format, events, calls: new Set(events.map((e) => e.callId)).size, skipped };
}

/** Any file the console opens: a callpath JSON export (any schemaVersion so far), else a pcap or pcapng capture. */
export function importFile(file: Buffer): { format: string; events: CallEvent[]; skipped: Record<string, number> } {
  return looksLikeJson(file) ? importJson(file) : importCapture(file);
}
