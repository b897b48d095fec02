/**
 * What the console says about the wire tap (engine/wire/tap.ts): a message's
 * two times and the gap between them, and which 100 Trying figure the header
 * and the chart show. Pure, so unit tests read it without a DOM.
 */
import type { LatencySummary, SipEntry, Snapshot } from '../../app/contract';
import { formatMs } from '../../app/ladder';

export interface WireBadge {
  text: string;
  title: string;
  /** Worth a warning colour: seen by one side only. */
  warn: boolean;
}

/** The message detail's line about the wire, or null without a tap. */
export function wireBadge(m: Pick<SipEntry, 'direction' | 'engineTsUs' | 'tsUs' | 'seen'>): WireBadge | null {
  switch (m.seen) {
    case 'both': {
      const gap = (m.engineTsUs ?? m.tsUs) - m.tsUs;
      const ms = `${gap < 0 ? '−' : '+'}${formatMs(Math.abs(gap), 3)} ms`;
      return m.direction === 'in'
        ? {
            text: `wire time · engine read it ${ms}`,
            title: `The time shown is the kernel's, when the message was on the wire. The proxy read it ${ms} later: time in the kernel's socket queue and waiting for the SIP worker's event loop.`,
            warn: false,
          }
        : {
            text: `wire time · engine stamp ${ms}`,
            title: `The time shown is the kernel's, when the message was on the wire. The proxy stamped it ${ms} from that (it stamps once its send call has returned; a later wire time means the send waited in a queue).`,
            warn: false,
          };
    }
    case 'wire':
      return {
        text: m.direction === 'in' ? 'on the wire only: never read by the proxy' : 'on the wire only',
        title:
          m.direction === 'in'
            ? 'The wire tap saw this message arrive, and the proxy never read it: the kernel dropped it (the SIP socket\'s receive buffer was full) or the proxy read it only after the tap stopped waiting for it.'
            : 'The wire tap saw this message leave our SIP port, and the proxy never reported sending it.',
        warn: true,
      };
    case 'engine':
      return { text: 'engine time: not seen on the wire', title: 'The proxy handled this message but the wire tap never saw it: the tap dropped it or was paused, it went over another interface, or it went over TCP to a next hop whose capture had not started yet (the first messages to a new TCP destination).', warn: true };
    default:
      return null;
  }
}

export interface TryingFigure {
  /** Whose figure: the wire's (kernel timestamps, last minute) or the engine's. */
  side: 'wire' | 'engine';
  summary: LatencySummary;
  title: string;
}

/**
 * The 100 Trying figure the header and the chart show: the wire's when the
 * tap is on (INVITE first on the wire → our 100 Trying on the wire, over the
 * last minute), else the engine's; null without a proxy.
 */
export function tryingFigure(s: Pick<Snapshot, 'sip' | 'wire'>): TryingFigure | null {
  if (!s.sip) return null;
  if (s.wire?.on) {
    return {
      side: 'wire',
      summary: s.wire.trying100,
      title: `On the wire (kernel timestamps): INVITE first seen → our 100 Trying, 99th percentile over the last minute (${s.wire.trying100.count} INVITEs). The engine's own figure: ${formatMs(s.sip.trying100.p99, 3)} ms.`,
    };
  }
  const off = s.wire?.reason ? ` Wire tap: ${s.wire.reason}.` : '';
  return {
    side: 'engine',
    summary: s.sip.trying100,
    title: `In the engine: INVITE read → 100 Trying sent, 99th percentile over the last minute (${s.sip.trying100.count} INVITEs); time the INVITE waited in the kernel is not in it.${off}`,
  };
}

/** The header's wire counter: in-gap p99 over the last minute, or why the tap is off. */
export function wireCounter(s: Pick<Snapshot, 'wire' | 'kernel'> & Partial<Pick<Snapshot, 'watch'>>): { value: string; title: string; warn: boolean } {
  const w = s.wire;
  const k = s.kernel;
  const v = s.watch;
  const watch = v ? (v.on ? `\nWatching ${v.iface} (${v.filter}): ${v.messages} SIP messages as source "${v.source}"` : `\nWatch off: ${v.reason}`) : '';
  const kernel = k.unavailable ?? `SIP socket receive queue ${k.rxQueueBytes} B (max ${k.rxQueueMaxBytes} B in the last minute), socket drops ${k.socketDrops} (read every ${k.socketIntervalMs / 1000} s); UDP RcvbufErrors +${k.rcvbufErrors.interval} (${k.rcvbufErrors.total} since start), InErrors +${k.inErrors.interval}`;
  if (!w.on) return { value: 'off', title: `Wire tap off: ${w.reason ?? 'not running'}\n${kernel}${watch}`, warn: false };
  const lost = w.wireOnly.in;
  return {
    value: `${formatMs(w.gapUs.in.p99, 3)} ms`,
    title: [
      `Wire tap on ${w.iface} (${w.filter}): time an incoming SIP message waited in the kernel and for the SIP worker, last minute: p50 ${formatMs(w.gapUs.in.p50, 3)} ms, p99 ${formatMs(w.gapUs.in.p99, 3)} ms, max ${formatMs(w.gapUs.in.max, 3)} ms`,
      `Paired ${w.paired}; on the wire only ${w.wireOnly.in} in / ${w.wireOnly.out} out; engine only ${w.engineOnly.in} in / ${w.engineOnly.out} out`,
      ...(w.paused || w.pauses > 0 ? [`${w.paused ? 'Paused now' : 'Not paused now'}: the tap gives way while the proxy refuses calls for overload (${w.pauses} pause${w.pauses === 1 ? '' : 's'} since start; messages then carry engine time)`] : []),
      kernel,
    ].join('\n') + watch,
    warn: lost > 0 || k.rcvbufErrors.interval > 0,
  };
}
