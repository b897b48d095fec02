/**
 * The SIPp commands the empty calls list suggests: a UAS and a UAC whose
 * calls go through this proxy and succeed, for the proxy's current routing.
 *
 * - With `--route`, the proxy sends every initial request to the route
 *   targets, so the UAS listens there and the UAC just sends to the proxy.
 * - Without it, the proxy routes by Request-URI. A plain `sipp -sn uac PROXY`
 *   puts the proxy itself in the Request-URI, and the proxy has nowhere to
 *   send it (404 No Route Beyond This Proxy), so the UAC names the UAS (its
 *   remote host) and sends its packets to the proxy with `-rsa` (SIPp's
 *   remote sending address).
 *
 * Pure, so the unit tests read it; an end-to-end test runs what it prints.
 */
export interface SippCommand {
  role: 'uas' | 'uac';
  /** What the line is for, in a few words. */
  what: string;
  /** The command as a user types it. */
  text: string;
}

export interface SippHint {
  mode: 'route' | 'request-uri';
  commands: SippCommand[];
}

interface Target {
  host: string;
  port: number;
  tcp: boolean;
}

/** Where the no-route hint puts the UAS: 30 above the proxy (5060 → 5090, as in the README), or below near the top. */
export function suggestedUasPort(proxyPort: number): number {
  return proxyPort + 30 <= 65535 ? proxyPort + 30 : proxyPort - 30;
}

/** "127.0.0.1:5060" / "[::1]:5060" → host and port; null if it is neither. */
function parseHostPort(v: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(v) ?? /^([^:[\]]+):(\d+)$/.exec(v);
  if (!m) return null;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1]!, port } : null;
}

/** A wildcard listen address is reached on loopback from the same box. */
function reachable(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '0:0:0:0:0:0:0:0') return '::1';
  return host;
}

const addr = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** `--route` as the settings carry it ("H:P[/tcp],…"); malformed entries are left out. */
export function routeTargets(route: string): Target[] {
  const out: Target[] = [];
  for (const part of route.split(',')) {
    const m = /^(.*?)(?:\/(udp|tcp))?$/i.exec(part.trim());
    const hp = m ? parseHostPort(m[1]!) : null;
    if (hp) out.push({ ...hp, tcp: m![2]?.toLowerCase() === 'tcp' });
  }
  return out;
}

const uasCommand = (t: Target): string => `sipp -sn uas -i ${t.host} -p ${t.port}${t.tcp ? ' -t t1' : ''}`;

/**
 * @param proxy  the proxy's listen address "HOST:PORT" (from its component status)
 * @param route  the `route` setting: "" routes by Request-URI
 */
export function sippHint(proxy: string, route: string): SippHint {
  const p = parseHostPort(proxy) ?? { host: '127.0.0.1', port: 5060 };
  const proxyAddr = addr(reachable(p.host), p.port);
  const targets = routeTargets(route);
  if (targets.length > 0) {
    return {
      mode: 'route',
      commands: [
        ...targets.map((t, i) => ({
          role: 'uas' as const,
          what: targets.length > 1 ? `UAS ${i + 1} of ${targets.length}, at the route target ${addr(t.host, t.port)}` : `UAS, at the route target ${addr(t.host, t.port)}`,
          text: uasCommand(t),
        })),
        { role: 'uac', what: 'UAC, 10 calls/s to the proxy', text: `sipp -sn uac ${proxyAddr} -r 10` },
      ],
    };
  }
  const uas: Target = { host: reachable(p.host), port: suggestedUasPort(p.port), tcp: false };
  const uasAddr = addr(uas.host, uas.port);
  return {
    mode: 'request-uri',
    commands: [
      { role: 'uas', what: `UAS, on ${uasAddr}`, text: uasCommand(uas) },
      { role: 'uac', what: `UAC, 10 calls/s: Request-URI names the UAS, packets go to the proxy (-rsa)`, text: `sipp -sn uac ${uasAddr} -rsa ${proxyAddr} -r 10` },
    ],
  };
}
