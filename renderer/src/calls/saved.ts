/**
 * Saved filters: named call filters kept in localStorage under a versioned
 * key. What is read back is checked with the contract's own filter check, so
 * a stale or hand-edited entry is dropped, never sent to the engine. Pure.
 */
import { NO_FILTER, validateCallFilter, type CallFilter } from '../../../app/contract';

export const SAVED_FILTERS_KEY = 'callpath.savedFilters.v1';
export const MAX_SAVED_FILTERS = 50;
export const MAX_FILTER_NAME = 60;

export interface SavedFilter {
  name: string;
  filter: CallFilter;
}

/** The stored JSON → the saved filters that are still valid (unknown shapes, bad names and duplicates dropped). */
export function parseSavedFilters(raw: string | null): SavedFilter[] {
  if (raw === null) return [];
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return [];
  }
  if (typeof data !== 'object' || data === null || (data as { version?: unknown }).version !== 1) return [];
  const list = (data as { filters?: unknown }).filters;
  if (!Array.isArray(list)) return [];
  const out: SavedFilter[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue;
    const name = cleanName((item as { name?: unknown }).name);
    if (name === null || out.some((s) => s.name === name)) continue;
    const filter = validateCallFilter(withLaterFields((item as { filter?: unknown }).filter));
    if (!filter.ok) continue;
    out.push({ name, filter: filter.value });
    if (out.length === MAX_SAVED_FILTERS) break;
  }
  return out;
}

/**
 * Filter fields added after saved filters were first written. A filter saved
 * before them has no such key: it is read with the field off, as it worked
 * when saved. A key that is present is checked as it is.
 */
const LATER_FIELDS: Partial<CallFilter> = { publishSlowerThanMs: NO_FILTER.publishSlowerThanMs, notDelivered: NO_FILTER.notDelivered };

function withLaterFields(filter: unknown): unknown {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return filter;
  const missing = Object.entries(LATER_FIELDS).filter(([k]) => !Object.prototype.hasOwnProperty.call(filter, k));
  return missing.length === 0 ? filter : { ...filter, ...Object.fromEntries(missing) };
}

export function serializeSavedFilters(list: readonly SavedFilter[]): string {
  return JSON.stringify({ version: 1, filters: list });
}

/** A name as typed → trimmed, one line, at most MAX_FILTER_NAME characters; null when unusable. */
export function cleanName(input: unknown): string | null {
  if (typeof input !== 'string') return null;
  // eslint-disable-next-line no-control-regex
  const s = input.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  return s === '' || s.length > MAX_FILTER_NAME ? null : s;
}

/** Saves (or replaces, by name) a filter; a new list, newest first, at most MAX_SAVED_FILTERS. */
export function withSaved(list: readonly SavedFilter[], name: string, filter: CallFilter): SavedFilter[] {
  return [{ name, filter }, ...list.filter((s) => s.name !== name)].slice(0, MAX_SAVED_FILTERS);
}

export function withoutSaved(list: readonly SavedFilter[], name: string): SavedFilter[] {
  return list.filter((s) => s.name !== name);
}
