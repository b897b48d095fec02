import { create } from 'zustand';
import type { CallFilter } from '../../../app/contract';
import { SAVED_FILTERS_KEY, cleanName, parseSavedFilters, serializeSavedFilters, withSaved, withoutSaved, type SavedFilter } from '../calls/saved';

interface SavedFiltersSlice {
  /** Newest first. Replaced, never mutated. */
  saved: readonly SavedFilter[];
  /** Saves under `name` (replacing one of that name); false when the name is unusable. */
  save(name: string, filter: CallFilter): boolean;
  remove(name: string): void;
}

function load(): SavedFilter[] {
  try {
    return parseSavedFilters(localStorage.getItem(SAVED_FILTERS_KEY));
  } catch {
    return [];
  }
}

function persist(list: readonly SavedFilter[]): void {
  try {
    localStorage.setItem(SAVED_FILTERS_KEY, serializeSavedFilters(list));
  } catch {
    // Storage may be unavailable; the filters still work for this session.
  }
}

export const useSavedFilters = create<SavedFiltersSlice>()((set, get) => ({
  saved: load(),
  save(name, filter) {
    const clean = cleanName(name);
    if (clean === null) return false;
    const saved = withSaved(get().saved, clean, filter);
    persist(saved);
    set({ saved });
    return true;
  },
  remove(name) {
    const saved = withoutSaved(get().saved, name);
    persist(saved);
    set({ saved });
  },
}));
