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
}

export interface LadderModel {
  columns: LadderColumn[];
  arrows: LadderArrow[];
  /** tsUs of the first event, or null for an empty ladder. */
  startUs: number | null;
  /** µs between the first and the last event. */
  spanUs: number;
}

export const EMPTY_LADDER: LadderModel = { columns: [], arrows: [], startUs: null, spanUs: 0 };

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
  const arrows = ordered.map((e, row): LadderArrow => {
    const from = column(e.src);
    const to = column(e.dst);
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
    };
  });
  return { columns, arrows, startUs, spanUs: ordered[ordered.length - 1]!.tsUs - startUs };
}

/** µs → "12.345 ms" (ms with µs precision). */
export function formatRelMs(us: number): string {
  return `${(us / 1000).toFixed(3)} ms`;
}
