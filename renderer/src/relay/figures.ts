/**
 * The port-pool panel's figures, the pure part: the pool as a gauge, each
 * number with where it is measured and over what window (its tooltip), the
 * two warnings (final-timeout off, the range inside the kernel's ephemeral
 * range) and the one line shown while the relay has no figures.
 * Unit-tested without a DOM (test/unit/relay-ui.test.ts).
 */
import type { ComponentStatus, PortPoolStats, RelayStats, RelayTimeouts } from '../../../app/contract';
import type { Figure } from '../publish/figures';
import { rate } from '../format';

export type { Figure };

/** Where every figure of the panel comes from, said once in its title. */
export const MEASURED = 'engine: the relay\'s own counters; rates per second over the last 10 s';

const SINCE = 'since the relay started';
const RATE_WINDOW = 'per second over the last 10 s (engine)';

/** The pool as a stacked bar: shares (0–1) of in use, lent, quarantined and free, and where the high-water mark sits. */
export interface PoolGauge {
  inUse: number;
  lent: number;
  quarantined: number;
  free: number;
  highWater: number;
  text: string;
  title: string;
  tone: 'warn' | 'error' | null;
}

const share = (n: number, total: number) => (total > 0 ? Math.min(1, Math.max(0, n / total)) : 0);
const pct = (x: number) => `${Math.round(x * 100)}%`;

/** Ports in use past this share of the pool: the warning colour; none free: the error colour. */
export const POOL_WARN_SHARE = 0.8;

export function poolGauge(p: PortPoolStats): PoolGauge {
  const used = share(p.inUse, p.total);
  return {
    inUse: used,
    lent: share(p.lent, p.total),
    quarantined: share(p.quarantined, p.total),
    free: share(p.free, p.total),
    highWater: share(p.highWater, p.total),
    text: `${p.inUse} / ${p.total}`,
    title: [
      `Ports ${p.min}–${p.max}, counted as rtpengine counts them (an RTP/RTCP pair is two), now (engine):`,
      `in use ${p.inUse} (${pct(used)}) · lent to the proxy ${p.lent} (bound ahead for its next INVITEs) · quarantined ${p.quarantined} (released, waiting before reuse so late packets of an old call miss a new one) · free ${p.free}${p.busy > 0 ? ` · held by another process ${p.busy} (skipped, tried again later)` : ''} · usable ${p.total}.`,
      `High-water mark ${p.highWater} (${pct(share(p.highWater, p.total))}): most taken from the pool at once ${SINCE}, lent ports included.`,
    ].join('\n'),
    tone: p.free === 0 ? 'error' : used >= POOL_WARN_SHARE ? 'warn' : null,
  };
}

/** The relay's figures, in the order the panel shows them. */
export function relayFigures(r: RelayStats): Figure[] {
  const p = r.ports;
  const s = r.sessions;
  const k = r.packets;
  const dropped = k.garbage + k.strictDrops + k.noPeer + k.stray + k.sendErrors;
  const loopP99 = r.shards.map((x) => x.loopDelayP99Us).filter((x): x is number => x !== null);
  return [
    {
      id: 'address',
      label: 'address',
      value: `${r.address} ${p.min}–${p.max}`,
      title: 'The address the relay writes into SDP (c=) and the port range it hands pairs out of (--rtp).',
      tone: null,
    },
    {
      id: 'lent',
      label: 'lent to proxy',
      value: String(p.lent),
      title: 'Ports bound ahead and lent to the SIP worker, so an INVITE\'s offer and its answer are rewritten there without waiting for the relay thread. In no session, so not in "in use"; back to the pool when the proxy stops. Now (engine).',
      tone: null,
    },
    {
      id: 'high-water',
      label: 'high-water',
      value: `${p.highWater} / ${p.total}`,
      title: `Most ports in use at once ${SINCE} / usable ports (engine).`,
      tone: p.highWater >= p.total ? 'error' : null,
    },
    {
      id: 'alloc-rate',
      label: 'alloc / s',
      value: `${rate(r.perSecond.allocations)} · rel ${rate(r.perSecond.releases)}`,
      title: `Port pairs handed out and given back, ${RATE_WINDOW}. Allocating faster than releasing for long is a leak on its way: see the oldest sessions.`,
      tone: null,
    },
    {
      id: 'alloc-failures',
      label: 'alloc failed',
      value: String(p.allocationFailures),
      title: `Offers refused because no pair was free, ${SINCE} (engine); through the proxy each is a 503 to the caller.`,
      tone: p.allocationFailures > 0 ? 'error' : null,
    },
    {
      id: 'bind-failures',
      label: 'bind failed',
      value: String(p.bindFailures),
      title: `Ports another process held when the relay tried to bind them: skipped, counted, tried again later, ${SINCE} (engine).`,
      tone: p.bindFailures > 0 ? 'warn' : null,
    },
    {
      id: 'sessions',
      label: 'sessions',
      value: `${s.live} · ${s.offered} offered · ${s.answered} answered`,
      title: `Live sessions now (engine): offered and not answered yet, answered. Since the relay started, ${s.leased} set up by the proxy on lent ports without asking the relay${s.leaseStale > 0 ? `, ${s.leaseStale} on a stale lease (media not relayed)` : ''}${s.leaseMissed > 0 ? `, ${s.leaseMissed} initial offers that had to ask it (a thread round trip before the INVITE went on) because the proxy's lease had run dry` : ''}. Shards: ${r.shards.map((x) => `#${x.index} ${x.sessions}`).join(', ') || 'none'}.`,
      tone: null,
    },
    {
      id: 'packets',
      label: 'packets / s',
      value: `${rate(r.perSecond.packets)} · ${k.relayed} total`,
      title: `Packets relayed, ${RATE_WINDOW}; ${k.relayed} packets (${k.bytes} bytes) ${SINCE}.${loopP99.length > 0 ? ` Worst shard event-loop delay p99: ${Math.max(...loopP99)} µs.` : ''}`,
      tone: null,
    },
    {
      id: 'media-path',
      label: 'media path',
      value: r.mediaPath.name === 'native' ? 'native' : 'Node dgram',
      title:
        r.mediaPath.name === 'native'
          ? 'Where packets move (engine): on a C thread per shard (epoll, one recvfrom and one sendto per packet; engine/rtp/native/relay.c); the shard\'s JS thread only opens, closes and reports. Its event-loop delay above is the control path\'s, not the packets\'.'
          : `Where packets move (engine): through Node's dgram in each shard's JS thread: the same figures, more CPU per packet (a JS call, a Buffer and an address string per datagram). Not native because: ${r.mediaPath.why ?? 'unknown'}.`,
      tone: r.mediaPath.name === 'node' && !(r.mediaPath.why ?? '').startsWith('asked') ? 'warn' : null,
    },
    {
      id: 'dropped',
      label: 'dropped',
      value: String(dropped),
      title: `Packets not relayed ${SINCE} (engine): not RTP/RTCP ${k.garbage} · from an unlatched source (strict-source) ${k.strictDrops} · before the other side was known (held up to 500 ms, then dropped) ${k.noPeer} · on a port between calls (late packets of an ended call) ${k.stray} · send errors ${k.sendErrors}.`,
      tone: k.sendErrors > 0 ? 'error' : dropped > 0 ? 'warn' : null,
    },
    {
      id: 'timeouts',
      label: 'timeouts',
      value: timeoutsText(r.timeouts),
      title: 'media / silent / offer / final timeouts in seconds, as rtpengine names them (--timeout, --silent-timeout, --offer-timeout, --final-timeout); "off" is 0.',
      tone: r.timeouts.finalTimeout === 0 ? 'error' : null,
    },
  ];
}

const secs = (n: number) => (n === 0 ? 'off' : `${n}`);

/** "60 / 3600 / 3600 / 14400 s", any that is 0 as "off". */
export function timeoutsText(t: RelayTimeouts): string {
  return `${secs(t.timeout)} / ${secs(t.silentTimeout)} / ${secs(t.offerTimeout)} / ${secs(t.finalTimeout)} s`;
}

/** The story's 25,000 leaked ports: shown whenever the absolute lifetime is switched off. */
export const FINAL_TIMEOUT_OFF = 'final-timeout is off: sessions nobody deletes hold their ports for ever';

export function finalTimeoutWarning(t: RelayTimeouts): { text: string; title: string } | null {
  if (t.finalTimeout !== 0) return null;
  return {
    text: FINAL_TIMEOUT_OFF,
    title: 'A session whose BYE or delete never comes (a proxy restarted mid-call, a lost BYE) and whose media never stops is closed only by the final-timeout. With it off, such sessions keep their ports until the pool runs dry — how 25,000 ports leaked in the story. rtpengine leaves it off by default; callpath sets 4 h.',
  };
}

export function overlapWarning(r: Pick<RelayStats, 'ephemeralOverlap'>): { text: string; title: string } | null {
  if (r.ephemeralOverlap === null) return null;
  return {
    text: `the port range overlaps the kernel's ephemeral range: ${r.ephemeralOverlap}`,
    title: 'Any client socket on this box (a DNS query, an HTTP client) can be given a port inside the relay\'s range by the kernel (/proc/sys/net/ipv4/ip_local_port_range); the relay then cannot bind it and skips it (counted as "bind failed"). Move the range, or the ephemeral range, so they do not overlap.',
  };
}

/** Said whenever the relay has no figures: what that means for the calls. */
export const NOT_RELAYED = 'media is not relayed: SDP passes untouched';

/** Why the relay has no figures, in one line, from its component status. */
export function relayAbsentLine(status: ComponentStatus | undefined): string {
  if (!status) return `No relay in this engine — ${NOT_RELAYED}.`;
  const why = status.error ?? status.detail;
  const say = (line: string) => `${line.replace(/\.$/, '')} — ${NOT_RELAYED}.`;
  switch (status.state) {
    case 'not-implemented':
      return say(why ? `Relay: ${why}` : 'Relay not built');
    case 'failed':
      return say(`Relay failed${why ? `: ${why}` : ''}`);
    case 'starting':
      return `Relay starting… until it runs, ${NOT_RELAYED}.`;
    case 'running':
      return 'Relay running; its first figures are on their way.';
    default:
      return say(`Relay ${status.state}${why ? ` (${why})` : ''}`);
  }
}
