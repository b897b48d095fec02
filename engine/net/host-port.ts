/**
 * The one host:port type of the engine and the app (a listen address, a
 * configured route target, a message's source or next hop), and its one
 * text form. Hosts are IP literals (or `localhost` before the config
 * normalises it); IPv6 is written bracketed, as in a SIP URI (RFC 3261 §19.1.1).
 */
import type { TransportName } from '../events';

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Where a message comes from or goes: an address and the transport that
 * reaches it. A request's next hop (RFC 3261 §16.6), a response's
 * destination (§18.2.2) and the source of what we received are all this.
 */
export type NextHop = HostPort & { transport: TransportName };

/** "10.0.0.1:5060", "[2001:db8::1]:5060" — capture's src/dst and the TCP connection key use this too. */
export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
