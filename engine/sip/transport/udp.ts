import type { SocketOptions } from 'node:dgram';
import { isIP } from 'node:net';
import DgramAsPromised from 'dgram-as-promised';
import type { DropCounters } from '../../metrics/drops';
import type { InboundHandler, Peer, SendFailure, SipTransport } from './types';

/** Above this a datagram is not SIP we accept (issue #3: drop and count). */
export const MAX_DATAGRAM = 65_536;
/** A deep kernel buffer absorbs bursts at 1,000+ calls/s without drops. */
const RECV_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * Next hops are IP literals (routing refuses host names), so an address is
 * its own answer, at once. Node's default lookup answers even a literal on
 * the next tick, which cost every send a closure, a tick and a deferred
 * sendto; with this one the datagram leaves inside `send()`.
 */
const literalLookup = ((hostname: string, options: unknown, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void) => {
  const cb = typeof options === 'function' ? (options as typeof callback) : callback;
  const family = isIP(hostname);
  if (family === 0) cb(Object.assign(new Error(`not an IP address: ${hostname}`), { code: 'EINVAL' }), '', 0);
  else cb(null, hostname, family);
}) as unknown as NonNullable<SocketOptions['lookup']>;

/**
 * UDP transport. dgram-as-promised only for bind/close: its `recv()` drops
 * datagrams that arrive while no call is pending (STACK.md), so the hot path
 * listens to the raw socket's 'message' event.
 */
export async function openUdpTransport(
  host: string,
  port: number,
  onMessage: InboundHandler,
  drops: DropCounters,
  onError: (err: Error) => void,
): Promise<SipTransport & { port: number }> {
  const sock = DgramAsPromised.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', lookup: literalLookup });
  const raw = sock.socket;
  raw.on('message', (data, rinfo) => {
    if (data.length > MAX_DATAGRAM) {
      drops.count('sip.udp', 'too-large');
      return;
    }
    onMessage(data, { transport: 'udp', address: rinfo.address, port: rinfo.port });
  });
  // Sends go without a callback (below), so their failures surface here; a
  // bound socket reports nothing else, so count them instead of failing.
  raw.on('error', (err: NodeJS.ErrnoException) => {
    if (err.syscall === 'send') drops.count('sip.udp', `send-error ${err.code ?? ''}`.trim());
    else onError(err);
  });
  const bound = await sock.bind({ address: host, port });
  try {
    raw.setRecvBufferSize(RECV_BUFFER_BYTES);
    raw.setSendBufferSize(RECV_BUFFER_BYTES);
  } catch {
    // The kernel caps it (net.core.rmem_max); a smaller buffer still works.
  }
  return {
    name: 'udp',
    port: bound.port,
    /**
     * Without a callback Node tries the send synchronously (uv_udp_try_send)
     * instead of a request round trip per datagram — the largest single cost
     * in the 1,000 calls/s profile. An unconnected UDP socket learns nothing of
     * ICMP errors anyway, so `onFailure` is only for TCP.
     */
    send(data: Buffer, peer: Peer, _onFailure?: SendFailure) {
      raw.send(data, peer.port, peer.address);
    },
    close: async () => {
      await sock.close().catch(() => undefined);
    },
  };
}
