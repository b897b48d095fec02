/**
 * The ladder (sequence diagram) view model, built from captured events before
 * anything is drawn: columns are "address:port" endpoints in order of first
 * appearance, arrows are typed by lane and carry their direction.
 *
 * Pure and DOM-free so it can be unit-tested and, later, fed by other lanes
 * (RTP, RTCP, publish, NG) next to SIP.
 */

export type LadderLane = 'sip' | 'rtp' | 'rtcp' | 'publish' | 'ng';
export type ArrowDirection = 'right' | 'left' | 'self';

/** What the model needs of one captured event (`CapturedMessage` fits as is). */
export interface LadderEvent {
  /** Stable index of the event within its call (used to select it). */
  index: number;
  lane: LadderLane;
  /** Wall-clock µs from the engine clock. */
  tsUs: number;
  src: string;
  dst: string;
  label: string;
  retransmission: boolean;
  /** SIP lane: request method, response status and Via branch, to pair a 100 Trying with its INVITE. */
  method?: string | null;
  status?: number | null;
  branch?: string | null;
}

export interface LadderColumn {
  /** "address:port", as captured. */
  endpoint: string;
  /** Position from the left, 0-based. */
  position: number;
}

export interface LadderArrow {
  /** `LadderEvent.index` of the event drawn. */
  index: number;
  /** Row from the top, 0-based, in time order. */
  row: number;
  lane: LadderLane;
  from: number;
  to: number;
  direction: ArrowDirection;
  label: string;
  /** µs since the first event of the ladder. */
  relUs: number;
  tsUs: number;
  retransmission: boolean;
  /** On a (first) 100 Trying: µs since the INVITE it answers arrived; otherwise null. */
  tryingDelayUs: number | null;
}

export interface LadderModel {
  columns: LadderColumn[];
  arrows: LadderArrow[];
  /** Arrows that are retransmissions. */
  retransmissions: number;
  /** tsUs of the first event, or null for an empty ladder. */
  startUs: number | null;
  /** µs between the first and the last event. */
  spanUs: number;
}

export const EMPTY_LADDER: LadderModel = { columns: [], arrows: [], retransmissions: 0, startUs: null, spanUs: 0 };

const isInvite = (e: LadderEvent) => e.lane === 'sip' && (e.method === 'INVITE' || (e.method === undefined && e.label === 'INVITE'));
const isTrying = (e: LadderEvent) => e.lane === 'sip' && (e.status === 100 || (e.status === undefined && e.label.startsWith('100 ')));

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

export function buildLadder(events: readonly LadderEvent[]): LadderModel {
  if (events.length === 0) return EMPTY_LADDER;
  // Time order; capture order breaks ties (stable sort on the index).
  const ordered = [...events].sort((a, b) => a.tsUs - b.tsUs || a.index - b.index);
  const positions = new Map<string, number>();
  const columns: LadderColumn[] = [];
  const column = (endpoint: string): number => {
    let p = positions.get(endpoint);
    if (p === undefined) {
      p = columns.length;
      positions.set(endpoint, p);
      columns.push({ endpoint, position: p });
    }
    return p;
  };
  const startUs = ordered[0]!.tsUs;
  const delays = tryingDelays(ordered);
  let retransmissions = 0;
  const arrows = ordered.map((e, row): LadderArrow => {
    const from = column(e.src);
    const to = column(e.dst);
    if (e.retransmission) retransmissions++;
    return {
      index: e.index,
      row,
      lane: e.lane,
      from,
      to,
      direction: from === to ? 'self' : to > from ? 'right' : 'left',
      label: e.label,
      relUs: e.tsUs - startUs,
      tsUs: e.tsUs,
      retransmission: e.retransmission,
      tryingDelayUs: delays.get(e.index) ?? null,
    };
  });
  return { columns, arrows, retransmissions, startUs, spanUs: ordered[ordered.length - 1]!.tsUs - startUs };
}

/** µs → "12.345 ms" (ms with µs precision). */
export function formatRelMs(us: number): string {
  return `${(us / 1000).toFixed(3)} ms`;
}
