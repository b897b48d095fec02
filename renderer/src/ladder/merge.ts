/**
 * A live ladder fetches only what is new (`getCall(key, fromIndex)`) and
 * appends it to what it holds, so a 10,000-entry call is not re-sent four
 * times a second. Pure, so the merge rules are unit-tested.
 */
import type { CallDetail } from '../../../app/contract';

/** The index to ask for next: one past the last entry held, or where the held call starts with nothing held. */
export function nextFromIndex(held: CallDetail | null | undefined): number {
  if (!held || held.entries.length === 0) return held ? held.entriesDropped : 0;
  return held.entries[held.entries.length - 1]!.index + 1;
}

/**
 * Merges an incremental answer into what is held. Entries the engine has
 * rotated out (below `entriesDropped`) go; new ones are appended in index
 * order. Returns null when the answer does not continue what is held (the
 * key was reused, say, after an eviction): fetch it all again.
 */
export function mergeCallDetail(held: CallDetail | null | undefined, fresh: CallDetail, fromIndex: number): CallDetail | null {
  if (!held || fromIndex === 0) return fresh;
  if (fresh.key !== held.key || fresh.startedUs !== held.startedUs || entriesEver(fresh) < fromIndex) return null;
  const firstNew = fresh.entries[0]?.index;
  if (firstNew !== undefined && firstNew < fromIndex) return null;
  const kept = fresh.entriesDropped > 0 ? held.entries.filter((m) => m.index >= fresh.entriesDropped) : held.entries;
  if (fresh.entries.length === 0 && kept.length === held.entries.length) return { ...fresh, entries: held.entries };
  return { ...fresh, entries: kept.concat(fresh.entries) };
}

/** Entries the call ever recorded, every lane (an entry's index is below this). */
export function entriesEver(d: Pick<CallDetail, 'laneCounts'>): number {
  let n = 0;
  for (const k of Object.values(d.laneCounts)) n += k;
  return n;
}
