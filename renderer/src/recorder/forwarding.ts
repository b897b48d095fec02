/**
 * The recorder panel's Forwarding section, the pure part (`--forward`): the
 * target and how it is reached, the totals, and one row per connection (one
 * leg of one call) with the figures the story's team had to ask the
 * application's developers for — connect time, first byte, bytes, drops,
 * close time and reason. Unit-tested without a DOM
 * (test/unit/recorder-forwarding-ui.test.ts).
 */
import { LIVE_SOURCE, callKey } from '../../../app/contract';
import { formatBytes } from '../files/logic';
import { clockTime } from '../format';
import type { Figure } from '../publish/figures';
import type { RecorderStats } from './figures';

/** The recorder section's forwarding part, and one of its connections, as the contract carries them. */
export type Forwarding = NonNullable<RecorderStats['forwarding']>;
export type ForwardConnection = Forwarding['connections'][number];

/** What "sent" means, said wherever a byte count is shown (the forwarder's own definition). */
export const SENT_MEANS = 'accepted by the kernel, not proof the application read them';

/** Connections the table lists (the engine keeps the active ones and the newest closed ones). */
export const CONNECTIONS_SHOWN = 30;

/** "TLS, CA /etc/ca.pem", "TLS, system CAs", "TLS, not verified", "TCP". */
export function transportText(f: Pick<Forwarding, 'tls' | 'verify' | 'caFile'>): string {
  if (!f.tls) return 'TCP';
  if (f.verify === 'none') return 'TLS, not verified';
  return f.verify === 'ca' ? `TLS, CA ${f.caFile ?? 'file'}` : "TLS, system CAs";
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** The section's figures: where, how, and the totals since the recorder started. */
export function forwardingFigures(f: Forwarding): Figure[] {
  const t = f.totals;
  const drops = t.drops.map((d) => `${d.reason}: ${d.frames} frames (${d.bytes} bytes)`);
  const failures = t.failureReasons.map((r) => `${r.reason}: ${r.count}`);
  return [
    {
      id: 'target',
      label: 'to',
      value: f.target,
      title: `Where each recorded call's decoded audio also goes (--forward): per call and leg one connection, a JSON header line, then 16-bit 8 kHz PCM.`,
      tone: null,
    },
    {
      id: 'transport',
      label: 'over',
      value: transportText(f),
      title:
        f.verify === 'none'
          ? 'TLS without checking the certificate (--forward-insecure): encrypted, not authenticated. For labs.'
          : f.tls
            ? `TLS, the application's certificate checked against ${f.verify === 'ca' ? `the CA file ${f.caFile ?? ''} (--forward-ca)` : "the system's CAs (--forward-tls)"}.`
            : 'Plain TCP: unencrypted (--forward-tls, --forward-ca or --forward-insecure for TLS).',
      tone: f.verify === 'none' ? 'warn' : null,
    },
    {
      id: 'open',
      label: 'open',
      value: `${t.active} / ${t.connections}`,
      title: `Connections not closed yet / opened since the recorder started (engine): one per recorded call and leg.`,
      tone: null,
    },
    {
      id: 'sent',
      label: 'sent',
      value: formatBytes(t.bytesSent),
      title: `${t.bytesSent} bytes, headers included, in ${t.framesSent} PCM frames, since the recorder started (engine): ${SENT_MEANS}.`,
      tone: null,
    },
    {
      id: 'dropped',
      label: 'dropped',
      value: String(t.framesDropped),
      title: [
        `PCM frames dropped rather than wait for the application, since the recorder started (engine): ${t.bytesDropped} bytes. The relay and the WAV files lost nothing.`,
        ...drops,
      ].join('\n'),
      tone: t.framesDropped > 0 ? 'warn' : null,
    },
    {
      id: 'failures',
      label: 'failures',
      value: `${t.failures} · ${plural(t.reconnects, 'reconnect')}`,
      title: ['Connection attempts that failed, and attempts made after a failure (with a backoff), since the recorder started (engine).', ...failures].join('\n'),
      tone: t.failures > 0 ? 'warn' : null,
    },
  ];
}

export interface ConnectionView {
  /** Unique in the table: a leg of a call may have had several connections (the call recorded twice). */
  id: string;
  /** The call store's key (forwarded calls are live calls): what selecting the row selects. */
  key: string;
  callId: string;
  leg: string;
  state: string;
  /** Wall-clock time it connected, or "—". */
  connect: string;
  /** First PCM byte, after the connect ("+3 ms"), or "—". */
  firstByte: string;
  bytes: string;
  dropped: string;
  /** Close time and reason, the last error while it reconnects, or "—". */
  close: string;
  tone: 'warn' | 'error' | null;
  title: string;
}

function afterMs(fromUs: number, toUs: number): string {
  const ms = (toUs - fromUs) / 1000;
  return `+${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

/** One row of the connections table. */
export function connectionView(c: ForwardConnection, index: number): ConnectionView {
  const lost = c.state === 'failed' || (c.closeReason !== null && c.closeReason !== 'ended');
  const close = c.closeUs !== null ? `${clockTime(c.closeUs)} ${c.closeReason ?? ''}`.trim() : c.state === 'failed' ? (c.lastError ?? 'failed') : '—';
  return {
    id: `${c.callId} ${c.leg} ${c.startUs} ${index}`,
    key: callKey(LIVE_SOURCE, c.callId),
    callId: c.callId,
    leg: c.leg,
    state: c.state,
    connect: c.connectUs !== null ? clockTime(c.connectUs) : '—',
    firstByte: c.firstByteUs !== null && c.connectUs !== null ? afterMs(c.connectUs, c.firstByteUs) : '—',
    bytes: formatBytes(c.bytesSent),
    dropped: c.framesDropped > 0 ? `⚠ ${c.framesDropped}` : '0',
    close,
    tone: lost ? 'error' : c.framesDropped > 0 ? 'warn' : null,
    title: [
      `Call-ID ${c.callId}, ${c.leg} leg (what the ${c.leg} sent) to ${c.target} over ${c.tls ? 'TLS' : 'TCP'}: ${c.state} — click to select the call`,
      `first PCM ${clockTime(c.startUs)}; connected ${c.connectUs !== null ? clockTime(c.connectUs) : 'never'}${c.lastConnectUs !== null && c.lastConnectUs !== c.connectUs ? `, again ${clockTime(c.lastConnectUs)}` : ''}; first byte ${c.firstByteUs !== null ? clockTime(c.firstByteUs) : 'none yet'}`,
      `sent ${c.bytesSent} bytes in ${c.framesSent} frames, header included: ${SENT_MEANS}`,
      `dropped ${c.framesDropped} frames (${c.bytesDropped} bytes); held now ${c.queuedBytes} bytes, at most ${c.maxQueuedBytes}`,
      `${plural(c.reconnects, 'reconnect')}, ${plural(c.failures, 'failure')}${c.lastError ? `; last: ${c.lastError}` : ''}`,
      c.closeUs !== null ? `closed ${clockTime(c.closeUs)}: ${c.closeReason ?? ''}` : null,
    ]
      .filter((l) => l !== null)
      .join('\n'),
  };
}
