/**
 * What the proxy keeps of a transaction past its final response, as bytes
 * for the linger tables (see LingerTable: no JS object per lingering
 * transaction). Pure encode/decode; a record is decoded only when a
 * retransmission hits it.
 */
import type { TransportName } from '../../events';
import type { LingerCodec } from '../transaction';
import type { CaptureMeta } from '../capture-meta';
import type { NextHop } from '../../net/host-port';

/** A non-INVITE server transaction in Completed: re-sends `response` to each retransmission (RFC 3261 §17.2.2). */
export interface CompletedServer {
  response: Buffer;
  replyTo: NextHop;
  meta: CaptureMeta;
}

/** An INVITE client transaction in Accepted: passes 2xx retransmissions upstream (RFC 6026 §8.4). */
export interface AcceptedClient {
  replyTo: NextHop;
  meta: CaptureMeta;
  /** Statuses seen on the branch: a repeat is a retransmission. */
  seenStatuses: readonly number[];
  /** The 2xx as sent upstream: the same bytes again are a retransmission. */
  sent: Buffer;
}

/** An INVITE server transaction in Accepted: absorbs INVITE retransmissions, passes a matching ACK on (RFC 6026 §7.1). */
export const ACCEPTED_INVITE = 'accepted-invite' as const;
export type LingeringServer = typeof ACCEPTED_INVITE | CompletedServer;

const TRANSPORTS: readonly TransportName[] = ['udp', 'tcp'];

class Writer {
  constructor(
    readonly buf: Buffer,
    public o: number,
  ) {}
  u8(n: number): void {
    this.buf[this.o++] = n;
  }
  u16(n: number): void {
    this.buf.writeUInt16LE(n, this.o);
    this.o += 2;
  }
  u32(n: number): void {
    this.buf.writeUInt32LE(n >>> 0, this.o);
    this.o += 4;
  }
  str(s: string): void {
    const n = this.buf.write(s, this.o + 2, Math.min(0xffff, this.buf.length - this.o - 2), 'utf8');
    this.buf.writeUInt16LE(n, this.o);
    this.o += 2 + n;
  }
  bytes(b: Buffer): void {
    this.u32(b.length);
    b.copy(this.buf, this.o);
    this.o += b.length;
  }
}

class Reader {
  constructor(
    readonly buf: Buffer,
    public o: number,
  ) {}
  u8(): number {
    return this.buf[this.o++]!;
  }
  u16(): number {
    const n = this.buf.readUInt16LE(this.o);
    this.o += 2;
    return n;
  }
  u32(): number {
    const n = this.buf.readUInt32LE(this.o);
    this.o += 4;
    return n;
  }
  str(): string {
    const n = this.u16();
    const s = this.buf.toString('utf8', this.o, this.o + n);
    this.o += n;
    return s;
  }
  /** A copy: the chunk it is read from is reused once the entry expires. */
  bytes(): Buffer {
    const n = this.u32();
    const b = Buffer.from(this.buf.subarray(this.o, this.o + n));
    this.o += n;
    return b;
  }
}

// Strings are SIP header values (≤ 64 KiB messages), so a u16 length prefix holds them.
const strSize = (s: string): number => 2 + Math.min(Buffer.byteLength(s, 'utf8'), 0xffff);
const hopSize = (h: NextHop): number => 1 + 2 + strSize(h.host);
const metaSize = (m: CaptureMeta): number =>
  1 + strSize(m.callId) + 4 + strSize(m.cseqMethod) + strSize(m.method ?? '') + 2 + strSize(m.label) + strSize(m.branch ?? '');

function writeHop(w: Writer, h: NextHop): void {
  w.u8(TRANSPORTS.indexOf(h.transport));
  w.u16(h.port);
  w.str(h.host);
}

function readHop(r: Reader): NextHop {
  const transport = TRANSPORTS[r.u8()] ?? 'udp';
  const port = r.u16();
  return { host: r.str(), port, transport };
}

const HAS_METHOD = 1;
const HAS_STATUS = 2;
const HAS_BRANCH = 4;

function writeMeta(w: Writer, m: CaptureMeta): void {
  w.u8((m.method !== null ? HAS_METHOD : 0) | (m.status !== null ? HAS_STATUS : 0) | (m.branch !== null ? HAS_BRANCH : 0));
  w.str(m.callId);
  w.u32(m.cseqSeq);
  w.str(m.cseqMethod);
  w.str(m.method ?? '');
  w.u16(m.status ?? 0);
  w.str(m.label);
  w.str(m.branch ?? '');
}

function readMeta(r: Reader): CaptureMeta {
  const flags = r.u8();
  const callId = r.str();
  const cseqSeq = r.u32();
  const cseqMethod = r.str();
  const method = r.str();
  const status = r.u16();
  const label = r.str();
  const branch = r.str();
  return {
    callId,
    cseqSeq,
    cseqMethod,
    method: flags & HAS_METHOD ? method : null,
    status: flags & HAS_STATUS ? status : null,
    label,
    branch: flags & HAS_BRANCH ? branch : null,
  };
}

/** Server side: one kind byte (Accepted INVITE, or Completed with its record). */
export const lingeringServerCodec: LingerCodec<LingeringServer> = {
  size: (v) => (v === ACCEPTED_INVITE ? 1 : 1 + 4 + v.response.length + hopSize(v.replyTo) + metaSize(v.meta)),
  write(v, buf, offset) {
    const w = new Writer(buf, offset);
    if (v === ACCEPTED_INVITE) return w.u8(0);
    w.u8(1);
    w.bytes(v.response);
    writeHop(w, v.replyTo);
    writeMeta(w, v.meta);
  },
  read(buf, start) {
    const r = new Reader(buf, start);
    if (r.u8() === 0) return ACCEPTED_INVITE;
    const response = r.bytes();
    const replyTo = readHop(r);
    return { response, replyTo, meta: readMeta(r) };
  },
};

export const acceptedClientCodec: LingerCodec<AcceptedClient> = {
  size: (v) => 4 + v.sent.length + hopSize(v.replyTo) + metaSize(v.meta) + 2 + 2 * v.seenStatuses.length,
  write(v, buf, offset) {
    const w = new Writer(buf, offset);
    w.bytes(v.sent);
    writeHop(w, v.replyTo);
    writeMeta(w, v.meta);
    w.u16(v.seenStatuses.length);
    for (const s of v.seenStatuses) w.u16(s);
  },
  read(buf, start) {
    const r = new Reader(buf, start);
    const sent = r.bytes();
    const replyTo = readHop(r);
    const meta = readMeta(r);
    const seenStatuses: number[] = [];
    for (let n = r.u16(); n > 0; n--) seenStatuses.push(r.u16());
    return { sent, replyTo, meta, seenStatuses };
  },
};
