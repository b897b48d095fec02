/**
 * The traffic panel's wording, pure (test/unit/traffic-ui.test.ts): the
 * generator's own account of the calls it places, each figure saying where
 * it is measured and over what window, and the warning that matters most:
 * a generator whose own thread is saturated makes every figure about the
 * proxy untrustworthy, so it says so rather than let a slow generator pass
 * for a slow proxy.
 */
import type { ComponentStatus, KernelUdpStats, TrafficStats } from '../../../app/contract';
import type { Figure } from '../publish/figures';

/** Past this share of its thread busy, the generator itself may be what is slow. */
export const GENERATOR_BUSY_WARN_PCT = 80;
const OWN = "the generator's own count (its caller and callee), not the proxy's";

/** The kernel's count of what the generator's own sockets dropped (the snapshot's `kernel.generatorDrops`); null without /proc. */
export type GeneratorDrops = Pick<KernelUdpStats['generatorDrops'], 'lastMinute' | 'total'> | null;

export function trafficFigures(t: TrafficStats, dropped: GeneratorDrops = null): Figure[] {
  const c = t.calls;
  const failures = Object.entries(t.failures)
    .map(([why, n]) => `${n} × ${why}`)
    .join('\n');
  return [
    { id: 'placed', label: 'placed', value: `${c.placed} (${t.placedPerSecond}/s)`, title: `Calls the built-in caller placed since it started, and per second over the last 10 s: ${OWN}.`, tone: null },
    { id: 'up', label: 'up now', value: String(c.active), title: `Calls placed and not ended yet (ringing or answered): ${OWN}. At most "max" of the spec.`, tone: null },
    { id: 'held-back', label: 'held back', value: String(c.heldBack), title: `Calls due by the rate but not placed because "max" calls were already up: ${OWN}. Not queued: the rate you asked for was not met.`, tone: c.heldBack > 0 ? 'warn' : null },
    { id: 'completed', label: 'completed', value: String(c.completed), title: `Answered calls hung up with a BYE that got its 200: ${OWN}.`, tone: null },
    { id: 'mix', label: 'busy · no answer · cancelled', value: `${c.busy} · ${c.noAnswer} · ${c.cancelled}`, title: `Calls ended as the spec's mix asked: 486 Busy Here, 480 after ringing, 487 after the caller's CANCEL: ${OWN}.`, tone: null },
    { id: 'failed', label: 'failed', value: String(c.failed), title: failures ? `Calls that ended otherwise (${OWN}):\n${failures}` : `Calls that ended otherwise than the mix asked (a timer, an unexpected status): ${OWN}.`, tone: c.failed > 0 ? 'error' : null },
    { id: 'setup', label: 'INVITE → 200 p50/p99', value: t.setupMs.count === 0 ? '—' : `${t.setupMs.p50} / ${t.setupMs.p99} ms`, title: `INVITE sent → 2xx received at the built-in caller, last 10 s (${t.setupMs.count} calls; max ${t.setupMs.max} ms), by the generator's clock: it includes the ringing (the spec's "answer") and its own delays, so the wire figures in the SIP panel are the proxy's.`, tone: null },
    { id: 'sip', label: 'SIP re-sent · dropped', value: `${t.sip.retransmitted} · ${t.sip.lossDropped}`, title: `SIP datagrams the built-in endpoints re-sent (their transactions' retransmissions), and dropped on purpose before sending (the spec's loss), since start. 2xx never ACKed within 64·T1: ${t.sip.ackTimeouts}.`, tone: null },
    { id: 'rtp', label: 'RTP sent · back', value: `${t.rtp.sent} · ${t.rtp.received}`, title: `G.711 packets the built-in endpoints sent (${t.rtp.streams} streams now, 50 packets/s each) and received, since start: what the relay carried, as the endpoints count it.`, tone: null },
    {
      id: 'generator',
      label: 'generator thread',
      value: `${t.generator.busyPct} % · ${t.generator.loopDelayP99Ms} ms`,
      title: `The generator's own thread over the last second: share of time its event loop was busy, and its event-loop delay p99. Past ${GENERATOR_BUSY_WARN_PCT} % it may be the generator, not the proxy, that is slow.`,
      tone: t.generator.busyPct >= GENERATOR_BUSY_WARN_PCT ? 'error' : null,
    },
    {
      id: 'kernel-drops',
      label: 'kernel dropped',
      value: dropped ? `${dropped.lastMinute} · ${dropped.total}` : '—',
      title: dropped
        ? `Datagrams the kernel dropped on the generator's own sockets (its SIP and RTP; /proc/net/udp, read with the kernel suspect's counters), over the last minute and since the console started: the generator fell behind reading, so its RTP "back" undercounts what the relay delivered. The kernel suspect leaves these out.`
        : "What the kernel dropped on the generator's own sockets cannot be read here (no /proc).",
      tone: dropped && dropped.lastMinute > 0 ? 'error' : null,
    },
  ];
}

/** The warning line while the generator is saturated; null otherwise. */
export function generatorWarning(t: TrafficStats, dropped: GeneratorDrops = null): string | null {
  if (t.generator.busyPct >= GENERATOR_BUSY_WARN_PCT) return `the generator's own thread is ${t.generator.busyPct} % busy: slow calls may be the generator's, not the proxy's — lower cps`;
  if (dropped && dropped.lastMinute > 0) return `the kernel dropped ${dropped.lastMinute} datagrams on the generator's own sockets in the last minute: it fell behind reading, and its media figures undercount — lower cps`;
  return null;
}

/** One line while the traffic is off: why, and how to start it. */
export function trafficAbsentLine(status: ComponentStatus | undefined): string {
  if (status?.state === 'failed') return `traffic failed: ${status.error ?? 'unknown error'}`;
  return `No built-in traffic. Start "traffic" in the control bar (or npm run lab -- --demo) to place calls through the proxy and the relay; set its rate and mix in the settings (,). ${status?.detail ?? ''}`.trim();
}
