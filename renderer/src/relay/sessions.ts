/**
 * The oldest-sessions table and the "release orphans now" result, the pure
 * part: each session row as the panel shows it (the call it belongs to, age
 * and idle time read against the relay's timeouts) and the result line.
 * Unit-tested (test/unit/relay-ui.test.ts).
 */
import { DEFAULT_RELAY_TIMEOUTS, LIVE_SOURCE, callKey, type RelaySessionRow, type RelayTimeouts } from '../../../app/contract';

/** The units of a duration, spaced for tooltips ("3 min 05 s") or packed for the table ("1m05s"). */
const LONG = { ms: ' ms', s: ' s', m: ' min ', h: ' h ', d: ' d ' } as const;
const SHORT = { ms: 'ms', s: 's', m: 'm', h: 'h', d: 'd' } as const;

function duration(ms: number, u: typeof LONG | typeof SHORT): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}${u.ms}`;
  const s = Math.floor(ms / 1_000);
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}${u.s}`;
  if (s < 3_600) return `${Math.floor(s / 60)}${u.m}${two(s % 60)}${u.s}`;
  if (s < 86_400) return `${Math.floor(s / 3_600)}${u.h}${two(Math.floor((s % 3_600) / 60))}${u.m.trimEnd()}`;
  return `${Math.floor(s / 86_400)}${u.d}${two(Math.floor((s % 86_400) / 3_600))}${u.h.trimEnd()}`;
}

/** ms → "850 ms", "12 s", "3 min 05 s", "4 h 12 min", "3 d 04 h" (tooltips). */
export const formatDuration = (ms: number): string => duration(ms, LONG);

/** The table's compact form of the same: "850ms", "12s", "1m05s", "4h12m", "1d06h". */
export const formatDurationShort = (ms: number): string => duration(ms, SHORT);

export interface SessionView {
  /** The call store's key for this Call-ID (relay sessions are live calls): what selecting it selects. */
  key: string;
  callId: string;
  age: string;
  idle: string;
  state: RelaySessionRow['state'];
  via: RelaySessionRow['via'];
  streams: number;
  packets: number;
  ageTone: 'warn' | 'error' | null;
  idleTone: 'warn' | null;
  title: string;
}

/**
 * A session near or past what its timeouts allow stands out: older than 90 %
 * of the final-timeout (about to be cut), or — with the final-timeout off —
 * older than the default one would have let it live (a leak in the making);
 * idle past the media timeout (something keeps it open without media).
 */
export function sessionView(row: RelaySessionRow, t: RelayTimeouts): SessionView {
  const finalMs = t.finalTimeout * 1_000;
  const ageTone = finalMs === 0 ? (row.ageMs >= DEFAULT_RELAY_TIMEOUTS.finalTimeout * 1_000 ? 'error' : null) : row.ageMs >= finalMs * 0.9 ? 'warn' : null;
  const idleTone = row.idleMs !== null && t.timeout > 0 && row.idleMs >= t.timeout * 1_000 ? 'warn' : null;
  const lines = [
    `Call-ID ${row.callId} — click to select the call`,
    `Age ${formatDuration(row.ageMs)} since the offer; ${row.idleMs === null ? 'no packet yet' : `last packet ${formatDuration(row.idleMs)} ago`} (engine, now).`,
    `${row.state}, set up ${row.via === 'ng' ? 'over NG (an rtpengine-style control client)' : 'by our proxy rewriting the SDP'}; ${row.streams} stream${row.streams === 1 ? '' : 's'}, ${row.packets} packets.`,
  ];
  if (ageTone === 'error') lines.push(`Older than the default final-timeout (${DEFAULT_RELAY_TIMEOUTS.finalTimeout / 3_600} h), and the final-timeout is off: nothing will close it unless a BYE or delete comes.`);
  if (ageTone === 'warn') lines.push(`Close to the final-timeout (${formatDuration(finalMs)}): it will be closed with reason final-timeout.`);
  if (idleTone) lines.push(`Idle past the media timeout (${t.timeout} s).`);
  return {
    key: callKey(LIVE_SOURCE, row.callId),
    callId: row.callId,
    age: formatDurationShort(row.ageMs),
    idle: row.idleMs === null ? '—' : formatDurationShort(row.idleMs),
    state: row.state,
    via: row.via,
    streams: row.streams,
    packets: row.packets,
    ageTone,
    idleTone,
    title: lines.join('\n'),
  };
}

/** The result of "release orphans now", in one line. */
export function releasedText(released: number): string {
  if (released === 0) return 'no orphans: nothing released';
  return `released ${released} orphaned session${released === 1 ? '' : 's'}`;
}

export const RELEASE_TITLE =
  'Closes now (reason orphan) every relay session no dialog through our proxy holds any more — what a proxy restarted mid-call leaves behind — and gives their ports back. Sessions set up over NG are not touched.';
