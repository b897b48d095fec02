/**
 * The calls list's columns: which are shown, their widths (resizable by a
 * drag handle) and the CSS grid template the rows share. Pure, unit-tested.
 */
import type { SortKey } from './query';

/** A column's id: a key the engine sorts by, or a column it cannot sort (the publish cell). */
export type ColumnKey = SortKey | 'delivery';

/** Whether clicking the column's header sorts the list (the engine has a sort for it). */
export const sortsBy = (key: ColumnKey): key is SortKey => key !== 'delivery';

export interface Column {
  key: ColumnKey;
  label: string;
  title?: string;
  num?: boolean;
  /** Default width, px. */
  width: number;
}

export const COLUMNS: readonly Column[] = [
  { key: 'time', label: 'time', title: 'Call start', width: 100 },
  { key: 'source', label: 'source', title: 'Where the call came from: live, or the imported file', width: 90 },
  { key: 'callId', label: 'Call-ID', width: 180 },
  { key: 'from', label: 'From', width: 140 },
  { key: 'to', label: 'To', width: 140 },
  { key: 'state', label: 'state', width: 110 },
  { key: 'msgs', label: 'msgs', title: 'Messages captured', num: true, width: 44 },
  { key: 'rtx', label: 'rtx', title: 'Retransmissions', num: true, width: 40 },
  { key: 'trying', label: '100 ms', title: 'INVITE received → 100 Trying sent, ms', num: true, width: 60 },
  { key: 'streams', label: 'streams', title: 'Media streams the relay reported for the call (— none)', num: true, width: 52 },
  { key: 'loss', label: 'loss', title: 'Media packets lost over all streams, % of expected (Wireshark: expected = received + lost); — no media', num: true, width: 60 },
  {
    key: 'delivery',
    label: 'publish',
    title: "How the call's events reached the application (the reference consumer): via pubsub / list / stream, late, not delivered; — nothing published",
    width: 100,
  },
];

export const MIN_COLUMN_PX = 32;
export const MAX_COLUMN_PX = 800;

export type ColumnWidths = Readonly<Partial<Record<ColumnKey, number>>>;

/** The columns shown: the Source column only when calls come from more than one source. */
export function visibleColumns(sourceCount: number): readonly Column[] {
  return sourceCount > 1 ? COLUMNS : COLUMNS.filter((c) => c.key !== 'source');
}

/** A column's width after dragging its handle `dx` px from `startPx`, clamped; a new object (the old one is kept). */
export function resizeColumn(widths: ColumnWidths, key: ColumnKey, startPx: number, dx: number): ColumnWidths {
  const w = Math.round(Math.min(MAX_COLUMN_PX, Math.max(MIN_COLUMN_PX, startPx + dx)));
  if (widths[key] === w) return widths;
  return { ...widths, [key]: w };
}

export const widthOf = (widths: ColumnWidths, c: Column): number => widths[c.key] ?? c.width;

/** The grid template of the header and every row. */
export function gridTemplate(columns: readonly Column[], widths: ColumnWidths): string {
  return columns.map((c) => `${widthOf(widths, c)}px`).join(' ');
}
