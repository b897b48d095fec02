/**
 * Column aliases: a name ("UAC", "callpath", "UAS") an engineer gives an
 * address:port, shown on every ladder that has that endpoint. Pure helpers;
 * the store persists the map in localStorage.
 */

export type Aliases = Readonly<Record<string, string>>;

export const ALIASES_KEY = 'callpath.aliases';
export const ALIAS_MAX = 24;

/** The stored map, keeping only string → non-empty string entries; anything unreadable is an empty map. */
export function parseAliases(raw: string | null): Aliases {
  if (!raw) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return {};
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, a] of Object.entries(v)) {
    if (typeof a !== 'string') continue;
    const clean = cleanAlias(a);
    if (clean !== '') out[k] = clean;
  }
  return out;
}

/** Trimmed, inner whitespace collapsed, at most ALIAS_MAX characters. */
export function cleanAlias(alias: string): string {
  return alias.trim().replace(/\s+/g, ' ').slice(0, ALIAS_MAX);
}

/** A new map with `endpoint` renamed; an empty alias removes it. Returns the same map when nothing changes. */
export function withAlias(aliases: Aliases, endpoint: string, alias: string): Aliases {
  const clean = cleanAlias(alias);
  if ((aliases[endpoint] ?? '') === clean) return aliases;
  const next: Record<string, string> = { ...aliases };
  if (clean === '') delete next[endpoint];
  else next[endpoint] = clean;
  return next;
}
