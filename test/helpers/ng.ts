import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { bdecode, bencode, isDict, type BDict, type BEncodable } from '../../engine/rtp/ng/bencode';

/** A minimal NG client as Kamailio's rtpengine module is one: a cookie per request, bencoded dictionaries over UDP. */
export class NgClient {
  private readonly sock: Socket;
  private readonly waiting = new Map<string, (reply: BDict) => void>();

  private constructor(
    sock: Socket,
    private readonly port: number,
  ) {
    this.sock = sock;
    sock.on('message', (msg) => {
      const sp = msg.indexOf(0x20);
      if (sp < 0) return;
      const cookie = msg.subarray(0, sp).toString('latin1');
      const r = bdecode(msg, sp + 1);
      if (!r.ok || !isDict(r.value)) return;
      this.waiting.get(cookie)?.(r.value);
      this.waiting.delete(cookie);
    });
  }

  static async open(port: number): Promise<NgClient> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    return new NgClient(sock, port);
  }

  /** Sends one request (with `cookie`, or a fresh one) and resolves with the reply as strings and numbers. */
  request(dict: Record<string, BEncodable>, cookie = randomBytes(6).toString('hex'), timeoutMs = 3_000): Promise<Record<string, unknown>> {
    return this.raw(Buffer.concat([Buffer.from(`${cookie} `), bencode(dict)]), cookie, timeoutMs);
  }

  /** Sends bytes as they are and waits for the reply carrying `cookie`. */
  raw(datagram: Buffer, cookie: string, timeoutMs = 3_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(cookie);
        reject(new Error(`no NG reply to ${cookie} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(cookie, (reply) => {
        clearTimeout(timer);
        resolve(plain(reply) as Record<string, unknown>);
      });
      this.sock.send(datagram, this.port, '127.0.0.1');
    });
  }

  /** Sends bytes nobody should answer. */
  send(datagram: Buffer): void {
    this.sock.send(datagram, this.port, '127.0.0.1');
  }

  close(): void {
    this.sock.close();
  }
}

function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** A one-line PCMU offer or answer for an endpoint on 127.0.0.1:port. */
export function pcmuSdp(port: number, session = 1): string {
  return ['v=0', `o=- ${session} 1 IN IP4 127.0.0.1`, 's=test', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', ''].join('\r\n');
}

export const sdpPort = (sdp: unknown): number => Number(/m=audio (\d+)/.exec(String(sdp))?.[1]);
export const sdpAddress = (sdp: unknown): string | undefined => /c=IN IP4 (\S+)/.exec(String(sdp))?.[1];

/** An RTP endpoint: sends G.711 packets (160 bytes of payload, 20 ms of 8 kHz) and keeps what arrives. */
export class RtpEndpoint {
  readonly received: Buffer[] = [];
  private seq = 1000;
  private ts = 160_000;
  private constructor(
    readonly sock: Socket,
    readonly port: number,
    private readonly ssrc: number,
  ) {
    sock.on('message', (m) => this.received.push(m));
  }

  static async open(ssrc: number): Promise<RtpEndpoint> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    return new RtpEndpoint(sock, sock.address().port, ssrc);
  }

  packet(skip = 0): Buffer {
    this.seq = (this.seq + 1 + skip) & 0xffff;
    this.ts = (this.ts + 160 * (1 + skip)) >>> 0;
    const b = Buffer.alloc(12 + 160, 0xff);
    b[0] = 0x80;
    b[1] = 0;
    b.writeUInt16BE(this.seq, 2);
    b.writeUInt32BE(this.ts, 4);
    b.writeUInt32BE(this.ssrc, 8);
    return b;
  }

  /** `count` packets 20 ms apart to 127.0.0.1:port; `lose` lists packet numbers (0-based) not sent, as a lossy network would. */
  async stream(port: number, count: number, lose: ReadonlySet<number> = new Set()): Promise<void> {
    for (let i = 0; i < count; i++) {
      const p = this.packet();
      if (!lose.has(i)) this.sock.send(p, port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.sock.close();
  }
}
