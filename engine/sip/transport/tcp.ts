import { createServer, connect, type Server, type Socket } from 'node:net';
import type { DropCounters } from '../../metrics/drops';
import { formatHostPort, type NextHop } from '../../net/host-port';
import type { TcpLimits } from './tcp-limits';
import type { InboundHandler, SendFailure, SipTransport } from './types';

/**
 * How a byte stream is cut into SIP messages (RFC 3261 §18.3: by Content-Length).
 * `length` covers the whole message including `skip` leading CRLF keepalives.
 * `need` may say how many bytes (from the start, `skip` included) the message
 * needs in all, when the header section is complete and only body bytes are missing.
 */
export type StreamFramer = (buf: Buffer) => { length: number; skip: number } | { need: 'more'; skip: number; until?: number } | { error: string };

/**
 * Bytes buffered for one connection before it is considered hostile and closed.
 * The framer already refuses a message over 64 KiB (MAX_MESSAGE_BYTES); this is
 * the backstop for a framer that keeps asking for more.
 */
const MAX_BUFFERED = 256 * 1024;
/** Writes queued for a connection that is still connecting or backed up. */
const MAX_PENDING_WRITE = 4 * 1024 * 1024;

/**
 * One connection's inbound byte stream, cut into messages. Chunks are kept as
 * a list and joined only when a message may be complete: when the header
 * section is incomplete, a chunk without a LF cannot end it; when the body is
 * short, nothing is framed again before the bytes it needs have arrived. So a
 * peer writing one byte at a time costs O(n) copying, not O(n²).
 */
export class StreamAssembler {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes needed before framing is worth trying again; 0 = at the next LF. */
  private until = 0;
  private closed = false;

  constructor(
    private readonly frame: StreamFramer,
    private readonly onMessage: (msg: Buffer) => void,
    /** The stream cannot go on (unframeable or too much buffered): the caller closes the connection. */
    private readonly onClose: (reason: string) => void,
  ) {}

  /** Bytes held for an incomplete message. */
  get buffered(): number {
    return this.size;
  }

  push(chunk: Buffer): void {
    if (this.closed || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > MAX_BUFFERED) return this.fail('too-large');
    if (this.until > 0 ? this.size < this.until : chunk.indexOf(0x0a) < 0 && this.size <= MAX_BUFFERED / 4) return;
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    this.until = 0;
    for (;;) {
      const r = this.frame(buf);
      if ('length' in r) {
        if (r.length > r.skip) this.onMessage(buf.subarray(r.skip, r.length));
        if (this.closed) return;
        buf = buf.subarray(r.length);
        if (buf.length === 0) return;
        continue;
      }
      if ('need' in r) {
        // Keepalive CRLFs ahead of a message that has not arrived are dropped now, not held for it.
        if (r.skip > 0) buf = buf.subarray(r.skip);
        if (buf.length === 0) return;
        // A copy: a subarray would pin the whole chunk it came from while the peer stalls.
        this.chunks = [Buffer.from(buf)];
        this.size = buf.length;
        this.until = r.until !== undefined ? r.until - r.skip : 0;
        return;
      }
      // A stream we cannot frame cannot be resynchronised: count and close (§18.3).
      return this.fail(`framing: ${r.error}`);
    }
  }

  private fail(reason: string): void {
    this.closed = true;
    this.chunks = [];
    this.size = 0;
    this.onClose(reason);
  }
}

/**
 * TCP transport on the same port as UDP. Connections are indexed by the
 * peer's address:port so that responses and requests to a peer reuse the
 * connection it opened (RFC 3261 §18.2.2), and outgoing connections are
 * opened on demand.
 *
 * Connections are bounded (tcp-limits.ts): in total (ours and theirs, each
 * one a file descriptor the console's HTTP server, files and Redis share)
 * and per source address (incoming ones), and one idle for `idleMs` in both
 * directions is closed. A connection past a bound is closed as soon as it is
 * accepted, and every refusal and idle close is counted in `sip.tcp`, so a
 * peer that opens thousands of idle connections costs the console nothing
 * but a counter. Kamailio's equivalents are `tcp_max_connections` and
 * `tcp_connection_lifetime`.
 */
export async function openTcpTransport(
  host: string,
  port: number,
  onMessage: InboundHandler,
  frame: StreamFramer,
  drops: DropCounters,
  limits: TcpLimits,
): Promise<SipTransport> {
  const conns = new Map<string, Socket>();
  /** Every connection open now, in and out: what the total bound counts. */
  const open = new Set<Socket>();
  /** Incoming connections open now, per source address. */
  const perSource = new Map<string, number>();
  /** Why a connection failed, for the writes it fails: theirs may only say "closed before connection". */
  const failures = new WeakMap<Socket, Error>();

  const adopt = (sock: Socket, peer: NextHop, incoming: boolean) => {
    const key = formatHostPort(peer);
    conns.set(key, sock);
    open.add(sock);
    if (incoming) perSource.set(peer.host, (perSource.get(peer.host) ?? 0) + 1);
    sock.setNoDelay(true);
    sock.setTimeout(limits.idleMs, () => {
      drops.count('sip.tcp', 'idle-closed');
      sock.destroy();
    });
    const stream = new StreamAssembler(
      frame,
      (msg) => onMessage(msg, peer),
      (reason) => {
        drops.count('sip.tcp', reason);
        sock.destroy();
      },
    );
    sock.on('data', (chunk: Buffer) => stream.push(chunk));
    sock.on('error', (err) => {
      drops.count('sip.tcp', 'connection-error');
      failures.set(sock, err);
    });
    sock.on('close', () => {
      if (conns.get(key) === sock) conns.delete(key);
      open.delete(sock);
      if (incoming) {
        const n = (perSource.get(peer.host) ?? 1) - 1;
        if (n > 0) perSource.set(peer.host, n);
        else perSource.delete(peer.host);
      }
    });
  };

  const server: Server = createServer((sock) => {
    const peer: NextHop = { transport: 'tcp', host: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 };
    // Refused at once, before a byte is read: a reset (RST) rather than a FIN, so the peer hears of it
    // and the descriptor is freed without TIME_WAIT on our side.
    let refused: string | null = null;
    if (open.size >= limits.maxConnections) refused = 'refused-total-cap';
    else if ((perSource.get(peer.host) ?? 0) >= limits.maxPerSource) refused = 'refused-per-source-cap';
    if (refused !== null) {
      drops.count('sip.tcp', refused);
      sock.on('error', () => undefined);
      sock.resetAndDestroy();
      return;
    }
    adopt(sock, peer, true);
  });
  // The kernel's accept queue is where a flood waits; 511 is Node's default, said here so it is a decision.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true, backlog: 511 }, () => {
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
        // Our own connections take descriptors too: past the total bound, the send fails (a 503 upstream).
        if (open.size >= limits.maxConnections) {
          drops.count('sip.tcp', 'refused-total-cap');
          onFailure?.(new Error(`too many TCP connections open (${open.size}); not connecting to ${key}`));
          return;
        }
        sock = connect({ host: peer.host, port: peer.port });
        adopt(sock, peer, false);
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
      for (const s of open) s.destroy();
      conns.clear();
      open.clear();
      perSource.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
