import { createServer, connect, type Server, type Socket } from 'node:net';
import type { DropCounters } from '../../metrics/drops';
import { formatHostPort, type NextHop } from '../../net/host-port';
import type { InboundHandler, SendFailure, SipTransport } from './types';

/** How a byte stream is cut into SIP messages (RFC 3261 §18.3: by Content-Length). */
/** `length` covers the whole message including `skip` leading CRLF keepalives. */
export type StreamFramer = (buf: Buffer) => { length: number; skip: number } | { need: 'more' } | { error: string };

/** Bytes buffered for one connection before it is considered hostile and closed. */
const MAX_BUFFERED = 256 * 1024;
/** Writes queued for a connection that is still connecting or backed up. */
const MAX_PENDING_WRITE = 4 * 1024 * 1024;
const IDLE_TIMEOUT_MS = 10 * 60_000;

/**
 * TCP transport on the same port as UDP. Connections are indexed by the
 * peer's address:port so that responses and requests to a peer reuse the
 * connection it opened (RFC 3261 §18.2.2), and outgoing connections are
 * opened on demand.
 */
export async function openTcpTransport(
  host: string,
  port: number,
  onMessage: InboundHandler,
  frame: StreamFramer,
  drops: DropCounters,
): Promise<SipTransport> {
  const conns = new Map<string, Socket>();
  /** Why a connection failed, for the writes it fails: theirs may only say "closed before connection". */
  const failures = new WeakMap<Socket, Error>();

  const adopt = (sock: Socket, peer: NextHop) => {
    const key = formatHostPort(peer);
    conns.set(key, sock);
    sock.setNoDelay(true);
    sock.setTimeout(IDLE_TIMEOUT_MS, () => sock.destroy());
    let pending: Buffer | null = null;
    sock.on('data', (chunk: Buffer) => {
      let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = null;
      for (;;) {
        const r = frame(buf);
        if ('length' in r) {
          if (r.length > r.skip) onMessage(buf.subarray(r.skip, r.length), peer);
          buf = buf.subarray(r.length);
          if (buf.length === 0) return;
          continue;
        }
        if ('need' in r) {
          if (buf.length > MAX_BUFFERED) {
            drops.count('sip.tcp', 'too-large');
            sock.destroy();
            return;
          }
          pending = Buffer.from(buf); // copy: the chunk's memory is reused by nothing, but keep slices small
          return;
        }
        // A stream we cannot frame cannot be resynchronised: count and close (§18.3).
        drops.count('sip.tcp', `framing: ${r.error}`);
        sock.destroy();
        return;
      }
    });
    sock.on('error', (err) => {
      drops.count('sip.tcp', 'connection-error');
      failures.set(sock, err);
    });
    sock.on('close', () => {
      if (conns.get(key) === sock) conns.delete(key);
    });
  };

  const server: Server = createServer((sock) => {
    adopt(sock, { transport: 'tcp', host: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => drops.count('sip.tcp', 'server-error'));

  return {
    name: 'tcp',
    send(data: Buffer, peer: NextHop, onFailure?: SendFailure) {
      const key = formatHostPort(peer);
      let sock = conns.get(key);
      if (!sock) {
        sock = connect({ host: peer.host, port: peer.port });
        adopt(sock, peer);
      }
      if (sock.writableLength > MAX_PENDING_WRITE) {
        drops.count('sip.tcp', 'write-queue-full');
        onFailure?.(new Error(`TCP write queue to ${key} is full`));
        return;
      }
      // Every message written while the connection is opening or after it broke hears of it, not just the first.
      const s = sock;
      sock.write(data, onFailure ? (err) => err && onFailure(failures.get(s) ?? err) : undefined);
    },
    async close() {
      for (const s of conns.values()) s.destroy();
      conns.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
