/**
 * What `npm run bench -- fuzz` sends (issue #12): a corpus of valid SIP
 * messages and the mutations applied to them, one per case, from a seeded
 * generator so a run can be repeated.
 */
import { rng } from '../helpers/rng';

// ------------------------------------------------------------------ corpus

export function corpus(uacPort: number, sipPort: number): string[] {
  const via = `Via: SIP/2.0/UDP 127.0.0.1:${uacPort};branch=z9hG4bK-BRANCH;rport`;
  const common = (method: string, cseq = 1) => [via, 'Max-Forwards: 70', `From: "Alice Ü" <sip:alice@127.0.0.1:${uacPort}>;tag=fromTAG`, `To: <sip:bob@127.0.0.1:${sipPort}>`, 'Call-ID: CALLID@fuzz', `CSeq: ${cseq} ${method}`];
  const sdp = ['v=0', 'o=alice 2890844526 2890844526 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 49170 RTP/AVP 0 8 101', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', ''].join('\r\n');
  const msg = (start: string, headers: string[], body = '') => [start, ...headers, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
  const uri = `sip:bob@127.0.0.1:${sipPort}`;
  return [
    msg(`INVITE ${uri} SIP/2.0`, [...common('INVITE'), `Contact: <sip:alice@127.0.0.1:${uacPort}>`, 'Supported: timer, 100rel', 'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS', 'Content-Type: application/sdp'], sdp),
    msg('SIP/2.0 200 OK', [via, `From: <sip:alice@127.0.0.1:${uacPort}>;tag=fromTAG`, `To: <sip:bob@127.0.0.1:${sipPort}>;tag=toTAG`, 'Call-ID: CALLID@fuzz', 'CSeq: 1 INVITE', 'Record-Route: <sip:127.0.0.1;lr>', `Contact: <sip:bob@127.0.0.1:${sipPort}>`, 'Content-Type: application/sdp'], sdp),
    msg('SIP/2.0 180 Ringing', [via, `From: <sip:alice@127.0.0.1:${uacPort}>;tag=fromTAG`, `To: <sip:bob@127.0.0.1:${sipPort}>;tag=toTAG`, 'Call-ID: CALLID@fuzz', 'CSeq: 1 INVITE']),
    msg(`ACK ${uri} SIP/2.0`, [...common('ACK')]),
    msg(`BYE ${uri} SIP/2.0`, [...common('BYE', 2), 'Route: <sip:127.0.0.1;lr>', 'Reason: Q.850;cause=16;text="Normal call clearing"']),
    msg(`CANCEL ${uri} SIP/2.0`, [...common('CANCEL')]),
    msg(`OPTIONS ${uri} SIP/2.0`, [...common('OPTIONS'), 'Accept: application/sdp']),
    msg(`REGISTER sip:127.0.0.1:${sipPort} SIP/2.0`, [...common('REGISTER'), `Contact: <sip:alice@127.0.0.1:${uacPort};transport=udp>;expires=3600`, 'Expires: 3600']),
  ];
}

// ------------------------------------------------------------------ mutations


const SPECIAL = [0x00, 0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x3b, 0x2c, 0x22, 0x3c, 0x3e, 0x5c, 0x40, 0x25, 0x7f, 0x80, 0xc3, 0xff];
const BAD_UTF8 = [[0xc3, 0x28], [0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xfe, 0xfe, 0xff]];
const BAD_CL = ['-1', 'abc', '99999999999999999999999', '4294967296', '9007199254740993', '1e3', '0x10', '', ' 5 ', '65536', '100000', '+3', '3 3'];
/** The largest UDP payload over IPv4 (65,535 - 8 - 20). */
export const MAX_UDP = 65_507;

export const MUTATIONS = ['flip', 'truncate', 'dup-header', 'drop-header', 'huge-header', 'bad-cl', 'cl-mismatch', 'nul', 'bad-utf8', 'crlf-mix', 'fold', 'empty', 'max-datagram', 'splice', 'case'] as const;
export type Mutation = (typeof MUTATIONS)[number];

export class Mutator {
  private readonly r: () => number;
  /** Next truncation offset per corpus message: truncation walks every offset in turn. */
  private readonly truncateAt: number[];

  constructor(seed: number, n: number) {
    this.r = rng(seed);
    this.truncateAt = Array.from({ length: n }, () => 0);
  }

  int(n: number): number {
    return Math.floor(this.r() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** Header line boundaries (start, end incl. CRLF) of a message's header section. */
  private lines(b: Buffer): [number, number][] {
    const end = b.indexOf('\r\n\r\n');
    const out: [number, number][] = [];
    let p = b.indexOf('\r\n') + 2;
    while (p > 1 && p < end + 2) {
      const nl = b.indexOf('\r\n', p);
      if (nl < 0) break;
      out.push([p, nl + 2]);
      p = nl + 2;
    }
    return out;
  }

  mutate(b: Buffer, ix: number, kind: Mutation): Buffer {
    const lines = this.lines(b);
    const line = lines.length > 0 ? this.pick(lines) : ([0, 0] as [number, number]);
    switch (kind) {
      case 'flip': {
        const out = Buffer.from(b);
        for (let k = 1 + this.int(4); k > 0; k--) out[this.int(out.length)] = this.r() < 0.5 ? this.pick(SPECIAL) : this.int(256);
        return out;
      }
      case 'truncate': {
        const at = this.truncateAt[ix]! % (b.length + 1);
        this.truncateAt[ix] = at + 1;
        return b.subarray(0, at);
      }
      case 'dup-header':
        return Buffer.concat([b.subarray(0, line[1]), b.subarray(line[0], line[1]), b.subarray(line[1])]);
      case 'drop-header':
        return Buffer.concat([b.subarray(0, line[0]), b.subarray(line[1])]);
      case 'huge-header': {
        // A 64 KB header: sized so the datagram is either just under the UDP maximum or at it.
        const room = MAX_UDP - b.length - 12 - this.int(64);
        const h = Buffer.from(`X-Huge: ${'h'.repeat(Math.max(0, room))}\r\n`);
        return Buffer.concat([b.subarray(0, line[0]), h, b.subarray(line[0])]);
      }
      case 'bad-cl': {
        const s = b.toString('latin1');
        const v = this.pick(BAD_CL);
        const extra = this.r() < 0.2 ? `\r\nl: ${this.int(1000)}` : '';
        return Buffer.from(s.replace(/Content-Length: \d+/, `Content-Length: ${v}${extra}`), 'latin1');
      }
      case 'cl-mismatch': {
        const s = b.toString('latin1');
        const m = /Content-Length: (\d+)/.exec(s);
        const cl = m ? Number(m[1]) : 0;
        const v = this.r() < 0.5 ? cl + 1 + this.int(2000) : Math.max(0, cl - 1 - this.int(cl + 1));
        return Buffer.from(s.replace(/Content-Length: \d+/, `Content-Length: ${v}`), 'latin1');
      }
      case 'nul': {
        const at = this.int(b.length + 1);
        return Buffer.concat([b.subarray(0, at), Buffer.alloc(1 + this.int(3)), b.subarray(at)]);
      }
      case 'bad-utf8': {
        // Inside a header value, the start line or the body.
        const at = this.r() < 0.7 ? line[0] + Math.min(line[1] - line[0] - 2, 6 + this.int(20)) : this.int(b.length + 1);
        return Buffer.concat([b.subarray(0, at), Buffer.from(this.pick(BAD_UTF8)), b.subarray(at)]);
      }
      case 'crlf-mix': {
        const s = b.toString('latin1');
        const alt = ['\n', '\r', '\n\r', '\r\r\n', '\r\n\r\n'];
        let n = 0;
        return Buffer.from(s.replace(/\r\n/g, (eol) => (this.r() < 0.3 && n++ < 6 ? this.pick(alt) : eol)), 'latin1');
      }
      case 'fold': {
        const s = b.toString('latin1');
        const r = this.r();
        // A continuation line before any header, a fold inside a chosen header, or inside a random line.
        if (r < 0.15) return Buffer.from(s.replace('\r\n', '\r\n folded-first\r\n'), 'latin1');
        const name = r < 0.6 ? this.pick(['Via', 'CSeq', 'Content-Length', 'Call-ID', 'From', 'To', 'Max-Forwards']) : null;
        const at = name ? s.indexOf(`\r\n${name}: `) : line[0] - 2;
        if (at < 0) return b;
        const v = at + 2 + (name ? name.length + 2 : 0) + this.int(12);
        return Buffer.from(s.slice(0, v) + this.pick(['\r\n ', '\r\n\t', '\n ', '\r\n   \r\n ']) + s.slice(v), 'latin1');
      }
      case 'empty':
        return Buffer.alloc(0);
      case 'max-datagram': {
        // 65,507 bytes: a valid start padded by its body, or noise.
        if (this.r() < 0.5) {
          const out = Buffer.alloc(MAX_UDP);
          for (let i = 0; i < out.length; i++) out[i] = this.int(256);
          return out;
        }
        const s = b.toString('latin1');
        const head = s.slice(0, s.indexOf('\r\n\r\n') + 4).replace(/Content-Length: \d+/, 'Content-Length: 0');
        const pad = MAX_UDP - Buffer.byteLength(head, 'latin1');
        return Buffer.from(head.replace('Content-Length: 0', `Content-Length: ${pad - String(pad).length + 1}`) + 'x'.repeat(pad - String(pad).length + 1), 'latin1').subarray(0, MAX_UDP);
      }
      case 'splice': {
        const at = this.int(b.length + 1);
        const len = 1 + this.int(60);
        const r = this.r();
        if (r < 0.33) return Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
        if (r < 0.66) return Buffer.concat([b.subarray(0, at + len), b.subarray(at)]);
        const src = this.int(b.length);
        return Buffer.concat([b.subarray(0, at), b.subarray(src, src + len), b.subarray(at)]);
      }
      case 'case': {
        const s = b.toString('latin1');
        return Buffer.from(this.r() < 0.5 ? s.toLowerCase() : s.replace(/^([A-Za-z-]+):/gm, (_, n: string) => n.toUpperCase() + ' \t:'), 'latin1');
      }
    }
  }
}
