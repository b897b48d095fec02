/**
 * Captured TCP segments → the SIP messages they carry, per flow (one
 * direction of one connection), framed by Content-Length (RFC 3261 §18.3).
 * Used by the file import, `--watch` and the wire tap alike. Pure: packets
 * in, messages out, reasons counted; never throws.
 *
 * Segments are followed in sequence only. A segment already seen (a TCP
 * retransmission) is skipped; a segment that overlaps what was seen gives
 * only its new bytes. A gap (a segment lost by the capture, or cut by the
 * snaplen) cannot be filled: what was buffered is dropped, counted, and the
 * flow starts again at the next segment that begins a message. A message
 * gets the time of the segment that completes it: when the receiver could
 * first have read it whole.
 *
 * Bounded: `maxFlows` flows are followed (the oldest is forgotten first,
 * counted), and a flow buffers at most one message (the framer refuses one
 * over 64 KiB).
 */
import { frameStream } from '../sip/message';
import type { CapturedPacket } from './pcap-read';

interface Flow {
  /** Sequence number of the next byte expected. */
  next: number;
  buf: Buffer;
  /** After a gap or an unframeable stream: waiting for a segment that starts a message. */
  lost: boolean;
}

/** `bytes` is one whole SIP message (a view: copy what is kept); `p` the segment that completed it. */
export type TcpMessage = (bytes: Buffer, p: CapturedPacket) => void;

/** After a gap: whether `b` starts with a SIP start line (RFC 3261 §7.1, §7.2), not the middle of a message that may hold header lines or a body. */
const START_LINE = /^(?:SIP\/2\.0 \d{3} [^\r\n]*|[A-Z]+ \S+ SIP\/2\.0)\r?$/;
function startsMessage(b: Buffer): boolean {
  let i = 0;
  while (i < b.length && (b[i] === 0x0d || b[i] === 0x0a)) i++;
  const lf = b.indexOf(0x0a, i);
  if (lf < 0 || lf - i > 1024) return false;
  return START_LINE.test(b.toString('latin1', i, lf));
}

export class TcpFlows {
  /** Reason → count. */
  readonly skipped: Record<string, number> = {};
  private readonly flows = new Map<string, Flow>();

  constructor(private readonly maxFlows = 4096) {}

  private skip(why: string): void {
    this.skipped[why] = (this.skipped[why] ?? 0) + 1;
  }

  /** Feeds one TCP segment; calls `onMessage` for each message it completes. */
  push(p: CapturedPacket, onMessage: TcpMessage): void {
    const id = `${p.src}>${p.dst}`;
    let flow = this.flows.get(id);
    const seq = p.seq ?? 0;
    if (!flow) {
      if (this.flows.size >= this.maxFlows) {
        this.flows.delete(this.flows.keys().next().value!);
        this.skip('TCP flow forgotten (too many followed)');
      }
      flow = { next: seq, buf: Buffer.alloc(0), lost: false };
      this.flows.set(id, flow);
    }
    let payload = p.payload;
    const ahead = (seq - flow.next) | 0; // modulo 2^32: negative when the segment starts before what we expect
    if (ahead < 0) {
      const old = -ahead;
      if (old >= payload.length) return this.skip('TCP segment retransmitted');
      payload = payload.subarray(old);
    } else if (ahead > 0) {
      this.skip('TCP bytes missing from the capture (message dropped)');
      flow.buf = Buffer.alloc(0);
      flow.lost = true;
    }
    flow.next = (seq + p.payload.length) >>> 0;
    if (flow.lost) {
      if (!startsMessage(payload)) return;
      flow.lost = false;
    }
    let buf = flow.buf.length ? Buffer.concat([flow.buf, payload]) : payload;
    for (;;) {
      const f = frameStream(buf);
      if ('messageLength' in f) {
        onMessage(buf.subarray(f.skip, f.skip + f.messageLength), p);
        buf = buf.subarray(f.skip + f.messageLength);
        if (buf.length === 0) break;
      } else if ('need' in f) {
        break;
      } else {
        this.skip(`TCP stream not SIP (${f.error.reason})`);
        buf = Buffer.alloc(0);
        flow.lost = true;
        break;
      }
    }
    // A copy of what waits: a view would pin the capture chunk it came from.
    flow.buf = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }

  /** The end of a capture: a message still incomplete is counted. */
  end(): void {
    for (const f of this.flows.values()) if (f.buf.length > 0) this.skip('TCP message cut at the end of the capture');
    this.flows.clear();
  }
}
