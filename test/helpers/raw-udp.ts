import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

/** A raw UDP SIP endpoint for e2e tests: exact bytes out, every datagram in, kept in order. */
export class RawUdp {
  readonly inbox: string[] = [];
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly sock: Socket,
    readonly port: number,
  ) {
    sock.on('message', (d) => {
      this.inbox.push(d.toString('latin1'));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(): Promise<RawUdp> {
    const sock = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, '127.0.0.1', () => resolve());
    });
    return new RawUdp(sock, sock.address().port);
  }

  send(text: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.sock.send(Buffer.from(text, 'latin1'), port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  }

  /** The first received message matching `pred`, waiting up to `ms`. */
  async waitFor(pred: (text: string) => boolean, ms: number, what: string): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.inbox.find(pred);
      if (hit !== undefined) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}; got:\n${this.inbox.join('\n---\n')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.sock.close(() => resolve()));
  }
}

export const isResponse = (status: number, cseqMethod: string) => (t: string) =>
  t.startsWith(`SIP/2.0 ${status} `) && new RegExp(`^CSeq:\\s*\\d+\\s+${cseqMethod}\\s*$`, 'mi').test(t);

export function sipMessage(lines: string[], body = ''): string {
  return [...lines, `Content-Length: ${Buffer.byteLength(body, 'latin1')}`, '', body].join('\r\n');
}

export const headerLines = (text: string, name: string) => text.split(/\r?\n/).filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));

/**
 * Whether a SIP proxy listens on UDP `port`: an OPTIONS with Max-Forwards 0
 * must be answered by the proxy itself, 200 with its Allow or 483 (RFC 3261
 * §16.3 step 3). True if such an answer came back within `ms`.
 */
export async function proxyAnswersOn(port: number, ms = 3_000): Promise<boolean> {
  const ua = await RawUdp.open();
  try {
    const branch = `z9hG4bK-${randomBytes(6).toString('hex')}`;
    await ua.send(
      sipMessage([
        `OPTIONS sip:probe@127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=${branch}`,
        'Max-Forwards: 0',
        `From: <sip:probe@127.0.0.1:${ua.port}>;tag=${randomBytes(4).toString('hex')}`,
        `To: <sip:probe@127.0.0.1:${port}>`,
        `Call-ID: probe-${branch}`,
        'CSeq: 1 OPTIONS',
      ]),
      port,
    );
    await ua.waitFor((t) => (isResponse(200, 'OPTIONS')(t) || isResponse(483, 'OPTIONS')(t)) && t.includes(branch), ms, `200 or 483 from port ${port}`);
    return true;
  } catch {
    return false;
  } finally {
    await ua.close();
  }
}
