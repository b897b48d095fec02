/**
 * The transport layer (RFC 3261 §18) as the transaction layer sees it: bytes
 * in with the peer they came from, bytes out to a peer. UDP and TCP look the
 * same from above; TCP adds a connection that responses prefer (§18.2.2).
 */
import type { TransportName } from '../../events';
import type { NextHop } from '../../net/host-port';

/** What arrived came from `peer`; a response to it may go straight back there (§18.2.2). */
export type InboundHandler = (data: Buffer, peer: NextHop) => void;

/** Why a send failed, for the proxy's 503 (RFC 3261 §16.9 / §18.4). */
export type SendFailure = (err: Error) => void;

/**
 * A datagram socket's buffers as the kernel set them: SO_RCVBUF and
 * SO_SNDBUF as getsockopt reads them (Linux doubles what it grants, for its
 * own bookkeeping, and caps a request at net.core.rmem_max / wmem_max), and
 * the size that was asked for. Bytes, in the units /proc/net/udp's rx_queue
 * counts.
 */
export interface SocketBuffers {
  rcvBytes: number;
  sndBytes: number;
  askedBytes: number;
}

export interface SipTransport {
  readonly name: TransportName;
  /** Datagram transports only: the socket's buffers, read once after they were set. */
  readonly buffers?: SocketBuffers;
  /** Sends one complete message. Never throws; failures arrive on `onFailure`. */
  send(data: Buffer, peer: NextHop, onFailure?: SendFailure): void;
  /**
   * Datagram transports only: find out whether `peer` is reachable (ICMP,
   * see udp-reachability.ts). `onUnreachable` is called later, or never.
   */
  probe?(peer: NextHop, onUnreachable: SendFailure): void;
  /** Datagram transports only: `peer` was found unreachable moments ago, so a new request to it is worth a probe at once. */
  suspect?(peer: NextHop): boolean;
  close(): Promise<void>;
}
