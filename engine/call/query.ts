/**
 * Call filters and sorts: the pure part, shared by the engine (which runs
 * queries over every stored call, `scan.ts`) and the renderer (which matches
 * live updates against the filter it shows). No Node, no I/O.
 */
import type { TimeWindow } from '../clock';
import { LIVE_SOURCE, WATCH_SOURCE } from '../events';
import { CALL_STATES, type CallState, type CallSummary, type MediaSummary, type RecorderSummary } from './model';

export type CallSortKey = 'time' | 'callId' | 'from' | 'to' | 'state' | 'msgs' | 'rtx' | 'trying' | 'status' | 'source' | 'streams' | 'loss';
export type SortDir = 'asc' | 'desc';
export interface CallSort {
  key: CallSortKey;
  dir: SortDir;
}
export const DEFAULT_SORT: CallSort = { key: 'time', dir: 'desc' };

/** How a failed call failed: 486/600 busy, 487 cancelled, anything else. */
export const CALL_OUTCOMES = ['busy', 'cancelled', 'other-failure'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

export interface CallFilter {
  /** Call-ID, From or To: a case-insensitive substring, or a regular expression with `regex`. '' matches all. */
  text: string;
  /** `text` and `header.value` are regular expressions (case-insensitive). */
  regex: boolean;
  /** Any header's value (or one header's, by name: "User-Agent", "Reason", "X-Anything") in any SIP message of the call. */
  header: { name: string; value: string } | null;
  state: CallState | 'all';
  outcome: CallOutcome | null;
  /** A response with this status anywhere in the call. */
  status: number | null;
  /** A request with this method anywhere in the call. */
  method: string | null;
  /** An address:port (substring) any entry of the call came from or went to. */
  address: string;
  /** The call started within [fromUs, toUs] (either may be null). */
  fromUs: number | null;
  toUs: number | null;
  /** One source only ("live", "import-1"); null = all. */
  source: string | null;
  retransmissionsOnly: boolean;
  /** Only calls whose 100 Trying took longer than this (ms); null = off. */
  tryingSlowerThanMs: number | null;
  /** Only calls with a call event slower than this from its SIP message to Redis's reply (ms); null = off. */
  publishSlowerThanMs: number | null;
  /** Only calls with a call event Redis acknowledged (or that was given up) and the reference consumer has not received. */
  notDelivered: boolean;
  /**
   * Only calls with a media stream that lost packets. Optional: a filter
   * written before media existed (a saved filter, an API client) has no such
   * field and means "off".
   */
  mediaLoss?: boolean;
  /** Only calls with a media stream whose latest running jitter reached this (ms); null or absent = off. Optional as `mediaLoss` is. */
  mediaJitterAtLeastMs?: number | null;
  /** Only calls the recorder dropped packets of, or did not forward PCM frames of. Optional as `mediaLoss` is. */
  recorderDrops?: boolean;
  /**
   * Only calls that were up at some moment of one of these windows (µs on
   * the engine clock), whatever they did then: the kernel suspect's link to
   * the calls up while the box's UDP drop counters rose. Optional as
   * `mediaLoss` is; null or absent = off; [] matches no call.
   */
  upDuring?: TimeWindow[] | null;
}

/** Windows a filter's `upDuring` may hold at most. */
export const MAX_UP_DURING_WINDOWS = 64;

export const NO_FILTER: CallFilter = {
  text: '',
  regex: false,
  header: null,
  state: 'all',
  outcome: null,
  status: null,
  method: null,
  address: '',
  fromUs: null,
  toUs: null,
  source: null,
  retransmissionsOnly: false,
  tryingSlowerThanMs: null,
  publishSlowerThanMs: null,
  notDelivered: false,
  mediaLoss: false,
  mediaJitterAtLeastMs: null,
  recorderDrops: false,
  upDuring: null,
};

/** The fields of a call a filter or a sort reads without its entries. */
export type CallFacts = Pick<CallSummary, 'callId' | 'source' | 'state' | 'from' | 'to' | 'startedUs' | 'updatedUs' | 'endedUs' | 'finalStatus' | 'messageCount' | 'retransmissions' | 'trying100Us' | 'publish' | 'media' | 'recorder'>;

/** Whether a stream of the call had a running jitter of `ms` or more at its latest report. */
export function jitterReached(m: MediaSummary | null, ms: number): boolean {
  return m !== null && m.streams > 0 && m.maxJitterUs >= ms * 1000;
}

/** Events of the call not (yet) received by the reference consumer: given up, or acknowledged by Redis and not seen by it. */
export function undelivered(p: CallSummary['publish']): number {
  if (!p) return 0;
  return p.failed + Math.max(0, p.replied - p.delivered.pubsub - p.delivered.list - p.delivered.stream);
}

/**
 * Lost / expected over a call's streams (0 to 1), as Wireshark's RTP stream
 * analysis puts it (expected = received + lost); null without media, 0 while
 * nothing was expected yet.
 */
export function mediaLossRatio(m: MediaSummary | null): number | null {
  if (!m) return null;
  const expected = m.packets + m.lost;
  return expected > 0 ? m.lost / expected : 0;
}

/** Whether the recorder lost anything of the call: a packet on the way to its recording, or a PCM frame not forwarded. */
export function hasRecorderDrops(r: RecorderSummary | null): boolean {
  return r !== null && (r.drops > 0 || r.framesDropped > 0);
}

/**
 * Whether the call was up at some moment of a window: it started by the
 * window's end and had not ended before its start. A call not ended is up
 * until now when it is this box's (live, watched); an imported one that
 * never ended, only until its last event (its times are its file's).
 */
export function upDuring(c: Pick<CallFacts, 'source' | 'startedUs' | 'updatedUs' | 'endedUs'>, windows: readonly TimeWindow[]): boolean {
  const end = c.endedUs ?? (c.source === LIVE_SOURCE || c.source === WATCH_SOURCE ? Infinity : c.updatedUs);
  return windows.some((w) => c.startedUs <= w.toUs && end >= w.fromUs);
}

export function isFilterActive(f: CallFilter): boolean {
  return (
    f.text.trim() !== '' ||
    f.header !== null ||
    f.state !== 'all' ||
    f.outcome !== null ||
    f.status !== null ||
    f.method !== null ||
    f.address.trim() !== '' ||
    f.fromUs !== null ||
    f.toUs !== null ||
    f.source !== null ||
    f.retransmissionsOnly ||
    f.tryingSlowerThanMs !== null ||
    f.publishSlowerThanMs !== null ||
    f.notDelivered ||
    f.mediaLoss === true ||
    (f.mediaJitterAtLeastMs !== undefined && f.mediaJitterAtLeastMs !== null) ||
    f.recorderDrops === true ||
    (f.upDuring !== undefined && f.upDuring !== null)
  );
}

/** Whether the filter reads the call's entries (headers, methods, statuses, addresses), which only the engine holds. */
export function needsEntries(f: CallFilter): boolean {
  return f.header !== null || f.status !== null || f.method !== null || f.address.trim() !== '';
}

export function outcomeOf(c: Pick<CallFacts, 'state' | 'finalStatus'>): CallOutcome | null {
  if (c.state !== 'failed') return null;
  if (c.finalStatus === 486 || c.finalStatus === 600) return 'busy';
  if (c.finalStatus === 487) return 'cancelled';
  return 'other-failure';
}

export type Matcher = (s: string) => boolean;

/**
 * Why a filter cannot run as it is — a regular expression that does not
 * compile — or null. The contract refuses such a filter with this line and
 * the console shows it, so `textMatcher` only ever sees ones that compile.
 */
export function filterError(f: CallFilter): string | null {
  if (!f.regex) return null;
  for (const [what, re] of [['text', f.text], ['header value', f.header?.value ?? '']] as const) {
    try {
      new RegExp(re, 'i');
    } catch (err) {
      return `${what}: not a regular expression: ${(err as Error).message}`;
    }
  }
  return null;
}

/** A filter's text as a test: substring (case-insensitive) or regular expression (checked by `filterError`). */
export function textMatcher(text: string, regex: boolean): Matcher | null {
  const t = regex ? text : text.trim();
  if (t === '') return null;
  if (regex) {
    const re = new RegExp(t, 'i');
    return (s) => re.test(s);
  }
  const needle = t.toLowerCase();
  return (s) => s.toLowerCase().includes(needle);
}

/** A filter compiled once for a whole scan. */
export interface CompiledFilter {
  filter: CallFilter;
  text: Matcher | null;
  header: { name: string | null; value: Matcher } | null;
}

export function compileFilter(f: CallFilter): CompiledFilter {
  const value = f.header ? textMatcher(f.header.value, f.regex) : null;
  return {
    filter: f,
    text: textMatcher(f.text, f.regex),
    header: f.header && value ? { name: f.header.name.trim() || null, value } : null,
  };
}

/** The part of a filter a summary answers. */
export function matchesFacts(c: CallFacts, cf: CompiledFilter): boolean {
  const f = cf.filter;
  if (f.state !== 'all' && c.state !== f.state) return false;
  if (f.outcome !== null && outcomeOf(c) !== f.outcome) return false;
  if (f.source !== null && c.source !== f.source) return false;
  if (f.retransmissionsOnly && c.retransmissions === 0) return false;
  if (f.tryingSlowerThanMs !== null && (c.trying100Us === null || c.trying100Us <= f.tryingSlowerThanMs * 1000)) return false;
  if (f.publishSlowerThanMs !== null && (c.publish === null || c.publish.slowestUs <= f.publishSlowerThanMs * 1000)) return false;
  if (f.notDelivered && undelivered(c.publish) === 0) return false;
  if (f.mediaLoss === true && (c.media === null || c.media.lost <= 0)) return false;
  if (f.mediaJitterAtLeastMs !== undefined && f.mediaJitterAtLeastMs !== null && !jitterReached(c.media, f.mediaJitterAtLeastMs)) return false;
  if (f.recorderDrops === true && !hasRecorderDrops(c.recorder)) return false;
  if (f.upDuring && !upDuring(c, f.upDuring)) return false;
  if (f.fromUs !== null && c.startedUs < f.fromUs) return false;
  if (f.toUs !== null && c.startedUs > f.toUs) return false;
  if (cf.text && !(cf.text(c.callId) || cf.text(c.from) || cf.text(c.to))) return false;
  return true;
}

/** States sort in the order a call goes through them. */
const stateOrder = (s: CallState) => CALL_STATES.indexOf(s);

type Value = number | string | null;
const valueOf: Record<CallSortKey, (c: CallFacts) => Value> = {
  time: (c) => c.startedUs,
  callId: (c) => c.callId,
  from: (c) => c.from,
  to: (c) => c.to,
  state: (c) => stateOrder(c.state),
  msgs: (c) => c.messageCount,
  rtx: (c) => c.retransmissions,
  trying: (c) => c.trying100Us,
  status: (c) => c.finalStatus,
  source: (c) => c.source,
  streams: (c) => c.media?.streams ?? null,
  loss: (c) => mediaLossRatio(c.media),
};

/** Compares by the sort key; missing values (no 100 Trying yet, no media) go last either way; ties fall back to newest first. */
export function compareCalls(sort: CallSort): (a: CallFacts, b: CallFacts) => number {
  const get = valueOf[sort.key];
  const sign = sort.dir === 'asc' ? 1 : -1;
  return (a, b) => {
    const va = get(a);
    const vb = get(b);
    if (va !== vb) {
      if (va === null) return 1;
      if (vb === null) return -1;
      const c = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
      if (c !== 0) return sign * c;
    }
    return b.startedUs - a.startedUs || (a.callId < b.callId ? -1 : a.callId > b.callId ? 1 : a.source < b.source ? -1 : a.source > b.source ? 1 : 0);
  };
}

