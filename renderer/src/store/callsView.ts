import { create } from 'zustand';
import { resizeColumn, type ColumnKey, type ColumnWidths } from '../calls/columns';
import { DEFAULT_SORT, NO_FILTER, nextSort, type CallFilter, type CallSort, type SortKey } from '../calls/query';

/** How the calls list is filtered, sorted and laid out (the calls themselves live in `useCalls` / `useCallsQuery`). */
interface CallsViewSlice {
  filter: CallFilter;
  sort: CallSort;
  /** Typed filter fields that do not parse (shown invalid; their part of the filter is off). */
  invalid: readonly string[];
  /** Column widths set by dragging (px); the rest keep their defaults. */
  widths: ColumnWidths;
  /** Bumped when the whole filter is replaced, so typed fields show the new one (an invalid draft included). */
  generation: number;
  setFilter(patch: Partial<CallFilter>): void;
  /** Replaces the whole filter (a saved one picked). */
  replaceFilter(filter: CallFilter): void;
  clearFilter(): void;
  setInvalid(field: string, bad: boolean): void;
  sortBy(key: SortKey): void;
  resize(key: ColumnKey, startPx: number, dx: number): void;
}

export const useCallsView = create<CallsViewSlice>()((set, get) => ({
  filter: NO_FILTER,
  sort: DEFAULT_SORT,
  invalid: [],
  widths: {},
  generation: 0,
  setFilter(patch) {
    set({ filter: { ...get().filter, ...patch } });
  },
  replaceFilter(filter) {
    set({ filter, invalid: [], generation: get().generation + 1 });
  },
  clearFilter() {
    set({ filter: NO_FILTER, invalid: [], generation: get().generation + 1 });
  },
  setInvalid(field, bad) {
    const invalid = get().invalid;
    if (invalid.includes(field) === bad) return;
    set({ invalid: bad ? [...invalid, field] : invalid.filter((f) => f !== field) });
  },
  sortBy(key) {
    set({ sort: nextSort(get().sort, key) });
  },
  resize(key, startPx, dx) {
    const widths = resizeColumn(get().widths, key, startPx, dx);
    if (widths !== get().widths) set({ widths });
  },
}));
