/**
 * The one ladder (sequence diagram) view model, for the screen and for every
 * export, built from a call's entries of every lane before anything is drawn
 * — sngrep's `call_flow_arrow` list:
 *
 *   columns  "address:port" endpoints in order of first appearance (in time
 *            order), each with an optional name given in the console;
 *   arrows   one per entry, in time order (tsUs, then capture index), each
 *            with its lane, its owner, and its direction (right, left, self).
 *
 * A media stream is one arrow, not one per report: its `opened`, `stats` and
 * `closed` entries fold into the arrow placed at its first entry, carrying
 * the latest figures, and pointing back (`sdpIndex`, `sdpRow`) to the SIP
 * arrow whose SDP set it up. A note sits on one endpoint: a self arrow.
 *
 * Pure, with no Node or DOM imports: the renderer bundles this file.
 */
import type { Lane } from '../events';

export type ArrowDirection = 'right' | 'left' | 'self';

/**
 * What the model needs of one entry. The contract's `LadderEntry` (every
 * lane) fits as is; the exports build these from a `CallRecord`.
 */
export interface LadderEvent {
  /** Stable index of the entry within its call, across lanes (used to select it). */
  index: number;
  lane: Lane;
  /** Wall-clock µs from the engine clock. */
  tsUs: number;
  src: string;
  dst: string;
  label: string;
  /** What the arrow belongs to: "sip:1 INVITE", "stream:ID", "publish:answered", "record", "note". */
  owner: string;
  /** SIP lane. Absent means false. */
  retransmission?: boolean;
  /** SIP lane: request method, response status and Via branch, to pair a 100 Trying with its INVITE. */
  method?: string | null;
  status?: number | null;
  branch?: string | null;
  /** Media lane ("opened" | "stats" | "closed"); publish and record lanes have phases of their own. */
  phase?: string;
  /** Media lane: entries with the same stream id fold into one arrow. */
  streamId?: string;
  packets?: number;
  lost?: number;
  jitterUs?: number;
  /** Media lane: index of the SIP entry whose SDP set the stream up. */
  sdpIndex?: number | null;
}

export interface LadderColumn {
  /** "address:port", as captured. */
  endpoint: string;
  /** Position from the left, 0-based. */
  position: number;
  /** The name given to the endpoint ("UAC"), or null. */
  name: string | null;
}

/** A media stream's latest figures (from its last entry). */
export interface LadderStream {
  streamId: string;
  /** Phase of the last entry: "opened", "stats" or "closed". */
  phase: string;
  packets: number;
  lost: number;
  /** RFC 3550 interarrival jitter, µs. */
  jitterUs: number;
  /** Entries folded into this arrow (opened + stats + closed). */
  reports: number;
  /** Index and time of the last entry folded in. */
  lastIndex: number;
  lastTsUs: number;
}

export interface LadderArrow {
  /** `LadderEvent.index` of the entry drawn (a stream: its first entry). */
  index: number;
  /** Row from the top, 0-based, in time order. */
  row: number;
  lane: Lane;
  owner: string;
  from: number;
  to: number;
  direction: ArrowDirection;
  label: string;
  /** µs since the first entry of the ladder. */
  relUs: number;
  tsUs: number;
  retransmission: boolean;
  /** On a (first) 100 Trying: µs since the INVITE it answers arrived; otherwise null. */
  tryingDelayUs: number | null;
  /** Media lane: the stream's latest figures; null on every other lane. */
  stream: LadderStream | null;
  /** Media lane: index and row of the SIP arrow whose SDP set the stream up (null when unknown or not in the ladder). */
  sdpIndex: number | null;
  sdpRow: number | null;
}

export interface LadderModel {
  columns: LadderColumn[];
  arrows: LadderArrow[];
  /** Arrows that are retransmissions. */
  retransmissions: number;
  /** tsUs of the first entry, or null for an empty ladder. */
  startUs: number | null;
  /** µs between the first and the last entry (folded stream reports included). */
  spanUs: number;
}

export interface LadderOptions {
  /** Endpoint ("address:port") → name, as given in the console. */
  columnNames?: Readonly<Record<string, string>>;
}

export const EMPTY_LADDER: LadderModel = { columns: [], arrows: [], retransmissions: 0, startUs: null, spanUs: 0 };

const isInvite = (e: LadderEvent) => e.lane === 'sip' && (e.method === 'INVITE' || (e.method === undefined && e.label === 'INVITE'));
const isTrying = (e: LadderEvent) => e.lane === 'sip' && (e.status === 100 || (e.status === undefined && e.label.startsWith('100 ')));

/** Time order; capture order (the index) breaks ties. */
export const byTime = (a: { tsUs: number; index: number }, b: { tsUs: number; index: number }): number => a.tsUs - b.tsUs || a.index - b.index;

/**
 * The INVITE a 100 Trying answers: the earliest earlier INVITE sent the other
 * way between the same two endpoints, on the same Via branch when both carry
 * one (the proxy's own INVITE to the UAS has a different branch).
 *
 * One pass with a per-endpoint-pair index, so a 10,000-message ladder with
 * thousands of INVITEs does not cost a quadratic scan.
 */
function tryingDelays(ordered: readonly LadderEvent[]): Map<number, number> {
  interface PairInvites {
    /** Earliest INVITE of the pair, any branch. */
    first: number;
    /** Earliest INVITE without a branch, or null. */
    branchless: number | null;
    /** Earliest INVITE per branch. */
    byBranch: Map<string, number>;
  }
  const pairs = new Map<string, PairInvites>();
  const out = new Map<number, number>();
  for (const e of ordered) {
    if (isInvite(e)) {
      const key = `${e.src}>${e.dst}`;
      let p = pairs.get(key);
      if (!p) pairs.set(key, (p = { first: e.tsUs, branchless: null, byBranch: new Map() }));
      if (!e.branch) p.branchless ??= e.tsUs;
      else if (!p.byBranch.has(e.branch)) p.byBranch.set(e.branch, e.tsUs);
      continue;
    }
    if (e.retransmission || !isTrying(e)) continue;
    const p = pairs.get(`${e.dst}>${e.src}`);
    if (!p) continue;
    let at: number | null = p.first;
    if (e.branch) {
      const same = p.byBranch.get(e.branch) ?? null;
      at = same === null ? p.branchless : p.branchless === null ? same : Math.min(same, p.branchless);
    }
    if (at !== null) out.set(e.index, e.tsUs - at);
  }
  return out;
}

/** A stream's entries, in time order: the first places the arrow, the last gives its figures. */
interface StreamFold {
  first: LadderEvent;
  last: LadderEvent;
  reports: number;
  sdpIndex: number | null;
}

/** Media entries by stream id (an entry without one is a stream of its own). */
function foldStreams(ordered: readonly LadderEvent[]): Map<string, StreamFold> {
  const folds = new Map<string, StreamFold>();
  for (const e of ordered) {
    if (e.lane !== 'media') continue;
    const id = e.streamId ?? `#${e.index}`;
    const f = folds.get(id);
    if (!f) folds.set(id, { first: e, last: e, reports: 1, sdpIndex: e.sdpIndex ?? null });
    else {
      f.last = e;
      f.reports++;
      if (e.sdpIndex !== undefined && e.sdpIndex !== null) f.sdpIndex = e.sdpIndex;
    }
  }
  return folds;
}

export function buildLadder(events: readonly LadderEvent[], options: LadderOptions = {}): LadderModel {
  if (events.length === 0) return EMPTY_LADDER;
  const names = options.columnNames ?? {};
  const ordered = [...events].sort(byTime);
  const positions = new Map<string, number>();
  const columns: LadderColumn[] = [];
  const column = (endpoint: string): number => {
    let p = positions.get(endpoint);
    if (p === undefined) {
      p = columns.length;
      positions.set(endpoint, p);
      const name = Object.prototype.hasOwnProperty.call(names, endpoint) ? names[endpoint]! : '';
      columns.push({ endpoint, position: p, name: name === '' ? null : name });
    }
    return p;
  };
  const startUs = ordered[0]!.tsUs;
  const delays = tryingDelays(ordered);
  const streams = foldStreams(ordered);
  let retransmissions = 0;
  const arrows: LadderArrow[] = [];
  for (const e of ordered) {
    let stream: LadderStream | null = null;
    let sdpIndex: number | null = null;
    // What is drawn: the entry itself, or for a stream its latest report (latched addresses, label).
    let shown = e;
    if (e.lane === 'media') {
      const f = streams.get(e.streamId ?? `#${e.index}`)!;
      if (f.first !== e) continue;
      shown = f.last;
      sdpIndex = f.sdpIndex;
      stream = {
        streamId: e.streamId ?? '',
        phase: f.last.phase ?? 'opened',
        packets: f.last.packets ?? 0,
        lost: f.last.lost ?? 0,
        jitterUs: f.last.jitterUs ?? 0,
        reports: f.reports,
        lastIndex: f.last.index,
        lastTsUs: f.last.tsUs,
      };
    }
    const from = column(shown.src);
    // A note sits on the endpoint that wrote it.
    const to = e.lane === 'note' ? from : column(shown.dst);
    const retransmission = e.retransmission === true;
    if (retransmission) retransmissions++;
    arrows.push({
      index: e.index,
      row: arrows.length,
      lane: e.lane,
      owner: shown.owner,
      from,
      to,
      direction: from === to ? 'self' : to > from ? 'right' : 'left',
      label: shown.label,
      relUs: e.tsUs - startUs,
      tsUs: e.tsUs,
      retransmission,
      tryingDelayUs: delays.get(e.index) ?? null,
      stream,
      sdpIndex,
      sdpRow: null,
    });
  }
  if (streams.size > 0) {
    const rowOfIndex = new Map<number, number>();
    for (const a of arrows) rowOfIndex.set(a.index, a.row);
    for (const a of arrows) if (a.sdpIndex !== null) a.sdpRow = rowOfIndex.get(a.sdpIndex) ?? null;
  }
  return { columns, arrows, retransmissions, startUs, spanUs: ordered[ordered.length - 1]!.tsUs - startUs };
}

/** A column as exports title it: "UAC (127.0.0.1:5091)", or the endpoint alone. */
export function columnTitle(c: LadderColumn): string {
  return c.name === null ? c.endpoint : `${c.name} (${c.endpoint})`;
}

/** µs → "12.345" (ms, with µs precision unless fewer digits are asked for): the one µs→ms formatter. */
export function formatMs(us: number, digits = 3): string {
  return (us / 1000).toFixed(digits);
}

/** µs → "12.345 ms". */
export function formatRelMs(us: number): string {
  return `${formatMs(us)} ms`;
}
