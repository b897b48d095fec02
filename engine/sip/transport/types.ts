/**
 * The transport layer (RFC 3261 §18) as the transaction layer sees it: bytes
 * in with the peer they came from, bytes out to a peer. UDP and TCP look the
 * same from above; TCP adds a connection that responses prefer (§18.2.2).
 */
import type { TransportName } from '../../capture/types';

export interface Peer {
  transport: TransportName;
  address: string;
  port: number;
}

export type InboundHandler = (data: Buffer, peer: Peer) => void;

/** Why a send failed, for the proxy's 503 (RFC 3261 §16.9 / §18.4). */
export type SendFailure = (err: Error) => void;

export interface SipTransport {
  readonly name: TransportName;
  /** Sends one complete message. Never throws; failures arrive on `onFailure`. */
  send(data: Buffer, peer: Peer, onFailure?: SendFailure): void;
  /**
   * Datagram transports only: find out whether `peer` is reachable (ICMP,
   * see udp-reachability.ts). `onUnreachable` is called later, or never.
   */
  probe?(peer: Peer, onUnreachable: SendFailure): void;
  /** Datagram transports only: `peer` was found unreachable moments ago, so a new request to it is worth a probe at once. */
  suspect?(peer: Peer): boolean;
  close(): Promise<void>;
}

export function peerKey(p: { address: string; port: number }): string {
  return p.address.includes(':') ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`;
}
