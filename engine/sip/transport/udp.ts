import type { SocketOptions } from 'node:dgram';
import { isIP } from 'node:net';
import DgramAsPromised from 'dgram-as-promised';
import type { DropCounters } from '../../metrics/drops';
import type { NextHop } from '../../net/host-port';
import type { InboundHandler, SendFailure, SipTransport, SocketBuffers } from './types';
import { UdpReachability } from './udp-reachability';

/** Above this a datagram is not SIP we accept: dropped and counted. */
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

export interface UdpTransportOptions {
  monoMs: () => number;
  /** At most one reachability probe per next hop this often (ms); T1 suits it. */
  probeIntervalMs: number;
}

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
  options: UdpTransportOptions,
): Promise<SipTransport & { port: number }> {
  const sock = DgramAsPromised.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', lookup: literalLookup });
  const raw = sock.socket;
  raw.on('message', (data, rinfo) => {
    if (data.length > MAX_DATAGRAM) {
      drops.count('sip.udp', 'too-large');
      return;
    }
    // Like the TCP framer skipping CRLFs between messages: a datagram of nothing but CRLFs is a keep-alive
    // (RFC 5626 §3.5.1; phones send them over UDP too, and so do our own probes), not malformed SIP.
    if (isKeepAlive(data)) {
      drops.count('sip.keepalive', 'udp');
      return;
    }
    onMessage(data, { transport: 'udp', host: rinfo.address, port: rinfo.port });
  });
  // A bound, unconnected socket reports nothing here but its own failure:
  // send errors go to send callbacks (below), ICMP to no one (udp-reachability.ts).
  raw.on('error', (err: NodeJS.ErrnoException) => onError(err));
  const bound = await sock.bind({ address: host, port });
  try {
    raw.setRecvBufferSize(RECV_BUFFER_BYTES);
    raw.setSendBufferSize(RECV_BUFFER_BYTES);
  } catch {
    // The kernel caps it (net.core.rmem_max); a smaller buffer still works.
  }
  const buffers: SocketBuffers = { rcvBytes: raw.getRecvBufferSize(), sndBytes: raw.getSendBufferSize(), askedBytes: RECV_BUFFER_BYTES };
  const reachability = new UdpReachability({ localHost: host, monoMs: options.monoMs, drops, probeIntervalMs: options.probeIntervalMs });
  const countFailure = (err: NodeJS.ErrnoException) => drops.count('sip.udp', `send-error ${err.code ?? 'unknown'}`);
  return {
    name: 'udp',
    port: bound.port,
    buffers,
    /**
     * Node 20's dgram reports a failed send (EACCES for a broadcast address,
     * ENETUNREACH, a firewall's EPERM) only to the send's callback; without
     * one the error is dropped unseen. So every send has one — a shared one
     * that counts the failure, or, for a send whose failure changes something
     * (`onFailure`: a client transaction's request, whose transport error is
     * a 503, RFC 3261 §16.9, §18.4), one that reports it too.
     */
    send(data: Buffer, peer: NextHop, onFailure?: SendFailure) {
      if (!onFailure) return raw.send(data, peer.port, peer.host, countFailureCallback);
      raw.send(data, peer.port, peer.host, (err) => {
        if (!err) return;
        countFailure(err);
        onFailure(err);
      });
    },
    probe: (peer, onUnreachable) => reachability.probe(peer, onUnreachable),
    suspect: (peer) => reachability.suspect(peer),
    close: async () => {
      reachability.close();
      await sock.close().catch(() => undefined);
    },
  };
  function countFailureCallback(err: Error | null) {
    if (err) countFailure(err);
  }
}

/** One byte compared for a SIP message (it starts with a letter); a full scan only for what starts like a keep-alive. */
function isKeepAlive(data: Buffer): boolean {
  if (data.length === 0 || (data[0] !== 0x0d && data[0] !== 0x0a)) return false;
  for (let i = 1; i < data.length; i++) if (data[i] !== 0x0d && data[i] !== 0x0a) return false;
  return true;
}
