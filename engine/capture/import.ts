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
import { parseMessage } from '../sip/message';
import { captureEvent, metaOf } from '../sip/capture-meta';
import { readCapture, type CapturedPacket } from './pcap-read';
import { TcpFlows } from './tcp-flows';
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
  private readonly own: Record<string, number> = {};
  private readonly seen = new Set<string>();
  private readonly tcp: TcpFlows;

  constructor(private readonly maxRemembered = Infinity) {
    this.tcp = new TcpFlows(Number.isFinite(maxRemembered) ? maxRemembered : 1_000_000);
  }

  /** Reason → count: what was not a SIP message, or could not be followed. */
  get skipped(): Record<string, number> {
    return { ...this.own, ...this.tcp.skipped };
  }

  private skip(why: string, n = 1): void {
    this.own[why] = (this.own[why] ?? 0) + n;
  }

  /** Appends the messages `p` completes to `out`. */
  push(p: CapturedPacket, out: SipCaptureEvent[]): void {
    if (p.transport === 'udp') this.emit(p.payload, p.tsUs, 'udp', p.src, p.dst, out);
    else this.tcp.push(p, (bytes, seg) => this.emit(bytes, seg.tsUs, 'tcp', seg.src, seg.dst, out));
  }

  /** The end of the capture: a TCP message still incomplete is counted. */
  end(): void {
    this.tcp.end();
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
