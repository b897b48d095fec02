import { create } from 'zustand';
import { DEFAULT_SORT, NO_FILTER, nextSort, type CallFilter, type CallSort, type SortKey } from '../calls/query';

/** How the calls list is filtered and sorted (the calls themselves live in `useCalls`). */
interface CallsViewSlice {
  filter: CallFilter;
  sort: CallSort;
  setFilter(patch: Partial<CallFilter>): void;
  clearFilter(): void;
  sortBy(key: SortKey): void;
}

export const useCallsView = create<CallsViewSlice>()((set, get) => ({
  filter: NO_FILTER,
  sort: DEFAULT_SORT,
  setFilter(patch) {
    set({ filter: { ...get().filter, ...patch } });
  },
  clearFilter() {
    set({ filter: NO_FILTER });
  },
  sortBy(key) {
    set({ sort: nextSort(get().sort, key) });
  },
}));
