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

export interface SipTransport {
  readonly name: TransportName;
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
