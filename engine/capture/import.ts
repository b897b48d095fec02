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
import { captureEvent, metaOf } from '../sip/capture-meta';
import { readCapture, type CapturedPacket } from './pcap-read';
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
  const reader = new SipPacketReader();
  const events: SipCaptureEvent[] = [];
  for (const p of read.packets) reader.push(p, events);
  reader.end();
  const skipped = { ...read.skipped };
  for (const [why, n] of Object.entries(reader.skipped)) skipped[why] = (skipped[why] ?? 0) + n;
  events.sort((a, b) => a.tsUs - b.tsUs);
  return { format: read.format, events, calls: new Set(events.map((e) => e.callId)).size, skipped };
}

/**
 * Captured packets → SIP capture events, one packet at a time: a whole file
 * (import) or the wire as it goes (`--watch`). UDP datagrams are one message
 * each; TCP payloads are joined per flow while in sequence and framed by
 * Content-Length. The same bytes on the same hop again is a retransmission;
 * for a stream, `maxRemembered` bounds the messages remembered for that (the
 * oldest are forgotten first) and the TCP flows followed.
 */
export class SipPacketReader {
  /** Reason → count. */
  readonly skipped: Record<string, number> = {};
  private readonly seen = new Set<string>();
  private readonly flows = new Map<string, { next: number; buf: Buffer }>();

  constructor(private readonly maxRemembered = Infinity) {}

  private skip(why: string, n = 1): void {
    this.skipped[why] = (this.skipped[why] ?? 0) + n;
  }

  /** Appends the messages `p` completes to `out`. */
  push(p: CapturedPacket, out: SipCaptureEvent[]): void {
    if (p.transport === 'udp') {
      this.emit(p.payload, p.tsUs, 'udp', p.src, p.dst, out);
      return;
    }
    const id = `${p.src}>${p.dst}`;
    let flow = this.flows.get(id);
    if (!flow) {
      if (this.flows.size >= this.maxRemembered) {
        this.flows.delete(this.flows.keys().next().value!);
        this.skip('TCP flow forgotten (too many followed)');
      }
      this.flows.set(id, (flow = { next: p.seq ?? 0, buf: Buffer.alloc(0) }));
    }
    if (p.seq !== undefined && p.seq !== flow.next) {
      this.skip('TCP segment out of order or missing');
      flow.buf = Buffer.alloc(0);
      flow.next = (p.seq + p.payload.length) >>> 0;
      return;
    }
    flow.next = ((p.seq ?? 0) + p.payload.length) >>> 0;
    flow.buf = flow.buf.length ? Buffer.concat([flow.buf, p.payload]) : p.payload;
    for (;;) {
      const f = frameStream(flow.buf);
      if ('messageLength' in f) {
        this.emit(flow.buf.subarray(f.skip, f.skip + f.messageLength), p.tsUs, 'tcp', p.src, p.dst, out);
        flow.buf = flow.buf.subarray(f.skip + f.messageLength);
        if (flow.buf.length === 0) break;
      } else if ('need' in f) {
        break;
      } else {
        this.skip(`TCP stream not SIP (${f.error.reason})`);
        flow.buf = Buffer.alloc(0);
        break;
      }
    }
  }

  /** The end of the capture: a TCP message still incomplete is counted. */
  end(): void {
    for (const f of this.flows.values()) if (f.buf.length > 0) this.skip('TCP message cut at the end of the capture');
    this.flows.clear();
  }

  private emit(bytes: Buffer, tsUs: number, transport: 'udp' | 'tcp', src: string, dst: string, out: SipCaptureEvent[]): void {
    const r = parseMessage(bytes, { stream: transport === 'tcp' });
    if (!r.ok) return this.skip(`not SIP or malformed (${r.error.reason})`);
    const m = r.msg;
    const sl = m.startLine;
    const key = `${src}>${dst}|${createHash('sha1').update(bytes).digest('base64')}`;
    const retransmission = this.seen.has(key);
    if (!retransmission) {
      if (this.seen.size >= this.maxRemembered) this.seen.delete(this.seen.values().next().value!);
      this.seen.add(key);
    }
    out.push(captureEvent(tsUs, sl.kind === 'request' ? 'in' : 'out', transport, src, dst, metaOf(m), Buffer.from(bytes), retransmission));
  }
}

/** Any file the console opens: a callpath JSON export (any schemaVersion so far), else a pcap or pcapng capture. */
export function importFile(file: Buffer): { format: string; events: CallEvent[]; skipped: Record<string, number> } {
  return looksLikeJson(file) ? importJson(file) : importCapture(file);
}
