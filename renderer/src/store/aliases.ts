import { create } from 'zustand';
import { ALIASES_KEY, parseAliases, withAlias, type Aliases } from '../ladder/aliases';

interface AliasesSlice {
  /** address:port → alias. Replaced, never mutated. */
  aliases: Aliases;
  setAlias(endpoint: string, alias: string): void;
}

function load(): Aliases {
  try {
    return parseAliases(localStorage.getItem(ALIASES_KEY));
  } catch {
    return {};
  }
}

export const useAliases = create<AliasesSlice>()((set, get) => ({
  aliases: load(),
  setAlias(endpoint, alias) {
    const next = withAlias(get().aliases, endpoint, alias);
    if (next === get().aliases) return;
    try {
      localStorage.setItem(ALIASES_KEY, JSON.stringify(next));
    } catch {
      // Storage may be unavailable; the alias still applies for this session.
    }
    set({ aliases: next });
  },
}));
