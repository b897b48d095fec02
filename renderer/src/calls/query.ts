/**
 * Filtering and sorting of the calls list: pure functions over
 * `CallSummary`, so the list view stays a thin renderer and the rules are
 * unit-tested.
 */
import type { CallState, CallSummary } from '../../../app/contract';

export const CALL_STATES: readonly CallState[] = ['trying', 'early', 'confirmed', 'terminated', 'failed'];

export interface CallFilter {
  /** Case-insensitive substring of Call-ID, From or To; '' matches all. */
  text: string;
  state: CallState | 'all';
  retransmissionsOnly: boolean;
  /** Keep only calls whose 100 Trying took longer than this (ms); null = off. */
  tryingSlowerThanMs: number | null;
}

export const NO_FILTER: CallFilter = { text: '', state: 'all', retransmissionsOnly: false, tryingSlowerThanMs: null };

export function isFilterActive(f: CallFilter): boolean {
  return f.text.trim() !== '' || f.state !== 'all' || f.retransmissionsOnly || f.tryingSlowerThanMs !== null;
}

export function matchesFilter(c: CallSummary, f: CallFilter, needle = f.text.trim().toLowerCase()): boolean {
  if (f.state !== 'all' && c.state !== f.state) return false;
  if (f.retransmissionsOnly && c.retransmissions === 0) return false;
  if (f.tryingSlowerThanMs !== null && (c.trying100Us === null || c.trying100Us <= f.tryingSlowerThanMs * 1000)) return false;
  if (needle !== '') {
    return c.callId.toLowerCase().includes(needle) || c.from.toLowerCase().includes(needle) || c.to.toLowerCase().includes(needle);
  }
  return true;
}

export function filterCalls(list: readonly CallSummary[], f: CallFilter): readonly CallSummary[] {
  if (!isFilterActive(f)) return list;
  const needle = f.text.trim().toLowerCase();
  return list.filter((c) => matchesFilter(c, f, needle));
}

/** "100 Trying slower than" input → threshold (ms), or null when empty or not a non-negative number. */
export function parseThresholdMs(input: string): number | null {
  const s = input.trim();
  if (s === '') return null;
  const n = Number(s);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

export type SortKey = 'time' | 'callId' | 'from' | 'to' | 'state' | 'msgs' | 'rtx' | 'trying';
export type SortDir = 'asc' | 'desc';
export interface CallSort {
  key: SortKey;
  dir: SortDir;
}

/** The store's own order (newest first): sorting it again is skipped. */
export const DEFAULT_SORT: CallSort = { key: 'time', dir: 'desc' };

const STATE_ORDER: Record<CallState, number> = { trying: 0, early: 1, confirmed: 2, terminated: 3, failed: 4 };

type Value = number | string | null;
const valueOf: Record<SortKey, (c: CallSummary) => Value> = {
  time: (c) => c.startedUs,
  callId: (c) => c.callId,
  from: (c) => c.from,
  to: (c) => c.to,
  state: (c) => STATE_ORDER[c.state],
  msgs: (c) => c.messageCount,
  rtx: (c) => c.retransmissions,
  trying: (c) => c.trying100Us,
};

/** Compares by the sort key; missing values (no 100 Trying yet) go last either way; ties fall back to newest first. */
export function compareCalls(sort: CallSort): (a: CallSummary, b: CallSummary) => number {
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
    return b.startedUs - a.startedUs || (a.callId < b.callId ? -1 : a.callId > b.callId ? 1 : 0);
  };
}

/** Sorted copy; the input (newest first) is returned as is for the default sort. */
export function sortCalls(list: readonly CallSummary[], sort: CallSort): readonly CallSummary[] {
  if (sort.key === DEFAULT_SORT.key && sort.dir === DEFAULT_SORT.dir) return list;
  return [...list].sort(compareCalls(sort));
}

/** Header click: same column flips the direction, another column starts with its natural one. */
export function nextSort(current: CallSort, key: SortKey): CallSort {
  if (current.key === key) return { key, dir: current.dir === 'asc' ? 'desc' : 'asc' };
  const numericDesc = key === 'time' || key === 'msgs' || key === 'rtx' || key === 'trying';
  return { key, dir: numericDesc ? 'desc' : 'asc' };
}
