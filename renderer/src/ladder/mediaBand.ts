/**
 * The ladder's media lane as bands: each stream (its entries already folded
 * into one arrow by the ladder model, grouped by stream id) becomes one band
 * between its two columns, from its first report down the SIP time axis to
 * the row its latest report falls after — so a stream opened after the 200 OK
 * and closed after the BYE spans every message between them.
 *
 * The ladder is drawn in blocks of rows (LadderSvg), so a band is cut into
 * one piece per block it crosses. Pure geometry, unit-tested
 * (test/unit/ladder-media.test.ts).
 */
import type { LadderArrow, LadderModel } from '../../../app/ladder';

export interface MediaBand {
  /** The stream arrow's index (its first entry). */
  index: number;
  streamId: string;
  /** Row of its first report, and the last row at or before its latest report (≥ row). */
  row: number;
  lastRow: number;
  /** Column positions it spans, left to right. */
  left: number;
  right: number;
  direction: LadderArrow['direction'];
  lossy: boolean;
  closed: boolean;
  /** What a click on the band selects: the SIP entry whose SDP set it up, or the stream itself when that is not known. */
  selectIndex: number;
  /** Bands between the same columns over the same rows are set side by side: 0 for the first, 1 for the next… */
  slot: number;
}

/** Side-by-side bands beyond this many share the last slot. */
export const MAX_SLOTS = 4;

/**
 * The last row whose time is at or before `tsUs`, not above `fromRow`. The
 * arrows are in time order, so this is a binary search.
 */
export function rowAtOrBefore(arrows: readonly Pick<LadderArrow, 'tsUs'>[], tsUs: number, fromRow: number): number {
  let lo = fromRow;
  let hi = arrows.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (arrows[mid]!.tsUs <= tsUs) lo = mid;
    else hi = mid - 1;
  }
  return Math.max(fromRow, lo);
}

export function mediaBands(model: Pick<LadderModel, 'arrows'>): MediaBand[] {
  const bands: MediaBand[] = [];
  for (const a of model.arrows) {
    if (a.lane !== 'media' || !a.stream) continue;
    const left = Math.min(a.from, a.to);
    const right = Math.max(a.from, a.to);
    const row = a.row;
    const lastRow = rowAtOrBefore(model.arrows, a.stream.lastTsUs, row);
    const taken = new Set(bands.filter((b) => b.left === left && b.right === right && b.lastRow >= row && b.row <= lastRow).map((b) => b.slot));
    let slot = 0;
    while (taken.has(slot) && slot < MAX_SLOTS - 1) slot++;
    bands.push({
      index: a.index,
      streamId: a.stream.streamId,
      row,
      lastRow,
      left,
      right,
      direction: a.direction,
      lossy: a.stream.lost > 0,
      closed: a.stream.phase === 'closed',
      selectIndex: a.sdpIndex ?? a.index,
      slot,
    });
  }
  return bands;
}

/** The bands that cross rows [first, end). */
export function bandsInRows(bands: readonly MediaBand[], first: number, end: number): MediaBand[] {
  return bands.filter((b) => b.row < end && b.lastRow >= first);
}

/** What the drawing needs to know of the ladder's layout. */
export interface BandLayout {
  /** x of a column's lifeline. */
  colX: (position: number) => number;
  rowH: number;
  /** Where a row's arrow line sits, as a share of the row's height from its top. */
  lineAt: number;
  /** Width of a band drawn on one column (a stream whose both ends share it). */
  selfW: number;
  /** Inset (px) per side-by-side slot: wide enough that each band keeps a strip of its own to click. */
  slotInset: number;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A band's piece within rows [first, end): from its first report's arrow line
 * (or the block's top) to the bottom of its last row (or the block's bottom),
 * between its columns, narrowed by its slot. Null when the band misses the block.
 */
export function bandBox(b: MediaBand, first: number, end: number, l: BandLayout): Box | null {
  if (b.row >= end || b.lastRow < first) return null;
  const top = Math.max(b.row * l.rowH + l.rowH * l.lineAt, first * l.rowH);
  const bottom = Math.min((b.lastRow + 1) * l.rowH, end * l.rowH);
  const inset = b.slot * l.slotInset;
  const x1 = l.colX(b.left);
  const x2 = b.left === b.right ? x1 + l.selfW : l.colX(b.right);
  return { x: x1 + inset, y: top, width: Math.max(2, x2 - x1 - 2 * inset), height: Math.max(0, bottom - top) };
}
