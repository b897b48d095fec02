/**
 * Where a request goes next (RFC 3261 §16.4-§16.5), as pure functions over
 * the parsed message and our own address.
 */
import { parseNameAddr, parseUri, type SipMessage } from '../message';
import type { HostPort, NextHop } from '../../net/host-port';

export type RouteDecision =
  | {
      ok: true;
      hop: NextHop;
      removeFirstRoute: boolean;
      inDialog: boolean;
      /** The URI or target named the transport; otherwise UDP is our choice, and a large request may take TCP instead (§18.1.1). */
      transportNamed: boolean;
    }
  | { ok: false; status: number; reason: string };

/** Is this URI (host, port) one of our own addresses? */
export function isUs(host: string, port: number | undefined, self: HostPort): boolean {
  const h = host.startsWith('[') ? host.slice(1, -1) : host;
  return (port ?? 5060) === self.port && (h === self.host || (isLocalAlias(h) && isLocalAlias(self.host)));
}

function isLocalAlias(h: string): boolean {
  return h === '127.0.0.1' || h === 'localhost';
}

/**
 * §16.4: a top Route that names us is removed (loose routing). §16.5/§16.6:
 * the next hop is the remaining top Route, else — for an initial request when
 * targets are configured — the next target round robin, else the Request-URI.
 * In-dialog requests (a To tag) always follow Route/Request-URI: their remote
 * target is a Contact, not one of our targets.
 */
export function decideRoute(msg: SipMessage, self: HostPort, targets: readonly NextHop[] | null, pickTarget: () => NextHop): RouteDecision {
  const routes = msg.headerValues('route');
  let removeFirstRoute = false;
  let nextRoute: string | undefined = routes[0];
  if (nextRoute !== undefined) {
    const na = parseNameAddr(nextRoute);
    const uri = na ? parseUri(na.uri) : undefined;
    if (!uri) return { ok: false, status: 400, reason: 'Bad Request - Malformed Route' };
    if (isUs(uri.host, uri.port, self)) {
      removeFirstRoute = true;
      nextRoute = routes[1];
    }
  }
  const inDialog = msg.to.tag !== undefined;
  if (nextRoute !== undefined) {
    const na = parseNameAddr(nextRoute);
    const uri = na ? parseUri(na.uri) : undefined;
    if (!uri || uri.scheme === 'tel') return { ok: false, status: 400, reason: 'Bad Request - Malformed Route' };
    return hopFrom(uri.host, uri.port, uri.params.get('transport'), removeFirstRoute, inDialog);
  }
  if (targets && targets.length > 0 && !inDialog && !removeFirstRoute) {
    const hop = pickTarget();
    return { ok: true, hop, removeFirstRoute, inDialog, transportNamed: hop.transport === 'tcp' };
  }
  const ruri = parseUri(msg.uri ?? '');
  // validate.ts has refused other schemes (§16.3 step 2); a tel: URI names no host to go to.
  if (!ruri || ruri.scheme === 'tel') return { ok: false, status: 416, reason: 'Unsupported URI Scheme - tel Needs A Configured Target' };
  if (isUs(ruri.host, ruri.port, self)) {
    if (targets && targets.length > 0) {
      const hop = pickTarget();
      return { ok: true, hop, removeFirstRoute, inDialog, transportNamed: hop.transport === 'tcp' };
    }
    return { ok: false, status: 404, reason: 'Not Found - No Route Beyond This Proxy' };
  }
  return hopFrom(ruri.host, ruri.port, ruri.params.get('transport'), removeFirstRoute, inDialog);
}

function hopFrom(host: string, port: number | undefined, transport: string | null | undefined, removeFirstRoute: boolean, inDialog: boolean): RouteDecision {
  const literal = host.startsWith('[') ? host.slice(1, -1) : host;
  // DNS (RFC 3263) on the signalling path would wait on a resolver; targets must be IP literals.
  if (!/^[\d.]+$/.test(literal) && !literal.includes(':')) {
    return { ok: false, status: 503, reason: 'Service Unavailable - Host Names Are Not Resolved Here' };
  }
  const t = (transport ?? 'udp').toLowerCase();
  if (t !== 'udp' && t !== 'tcp') return { ok: false, status: 503, reason: `Service Unavailable - Transport ${t} Not Supported` };
  return { ok: true, hop: { host: literal, port: port ?? 5060, transport: t }, removeFirstRoute, inDialog, transportNamed: transport != null };
}

/** Round robin over the configured targets. */
export function roundRobin(targets: readonly NextHop[]): () => NextHop {
  let i = 0;
  return () => targets[i++ % targets.length]!;
}

/**
 * Where responses to a request go (RFC 3261 §18.2.2, RFC 3581 §4): over TCP
 * the connection it came on; over UDP the source address when `rport` was
 * asked for, else the `received` address and the Via port.
 */
export function responseDestination(msg: SipMessage, src: NextHop): NextHop {
  if (src.transport === 'tcp') return src;
  const via = msg.topVia;
  if (via.params.has('rport')) return src;
  return { host: src.host, port: via.port ?? 5060, transport: 'udp' };
}

/**
 * The one Via rule for a request we forward (RFC 3261 §18.2.1, RFC 3581 §4):
 * over UDP, `received` when the sent-by host is not where the request came
 * from, and with `rport` the source port — then `received` is set even when
 * the host matches. Over TCP the connection is the way back: nothing added.
 */
export function receivedParams(msg: SipMessage, peer: NextHop): [string, string | null][] {
  if (peer.transport !== 'udp') return [];
  const via = msg.topVia;
  const rport = via.params.has('rport');
  const params: [string, string | null][] = [];
  if (rport) params.push(['rport', String(peer.port)]);
  if (rport || via.host !== peer.host) params.push(['received', peer.host]);
  return params;
}
