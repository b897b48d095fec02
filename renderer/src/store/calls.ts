import { create } from 'zustand';
import { MAX_LIST_LIMIT, type CallSummary } from '../../../app/contract';

/** Calls kept in the renderer (the list is virtualized); the engine holds the rest. */
export const MAX_CALLS_KEPT = 10_000;
/** Asked for at start and on every re-list: every call the engine stores, up to the contract's limit. */
export const LIST_LIMIT = MAX_LIST_LIMIT;

/** Everything is keyed by `CallSummary.key`: the same Call-ID can be stored twice (live and imported). */
interface CallsSlice {
  byId: ReadonlyMap<string, CallSummary>;
  /** Newest first. Replaced on every write. */
  list: readonly CallSummary[];
  /** True once the first listCalls answered. */
  loaded: boolean;
  /** Batch upserts (newest first, as the batch sends them). */
  upsert(calls: Iterable<CallSummary>): void;
  /** A full listCalls answer: the newest `LIST_LIMIT` calls. */
  replaceFromList(calls: readonly CallSummary[]): void;
}

export const newestFirst = (a: CallSummary, b: CallSummary) => b.startedUs - a.startedUs || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

function finish(byId: Map<string, CallSummary>): Pick<CallsSlice, 'byId' | 'list'> {
  return capped(byId, [...byId.values()].sort(newestFirst));
}

function capped(byId: Map<string, CallSummary>, list: CallSummary[]): Pick<CallsSlice, 'byId' | 'list'> {
  if (list.length > MAX_CALLS_KEPT) {
    for (let i = MAX_CALLS_KEPT; i < list.length; i++) byId.delete(list[i]!.key);
    list = list.slice(0, MAX_CALLS_KEPT);
  }
  return { byId, list };
}

/** Keeps whichever copy of a call is the more recent. */
function fresher(a: CallSummary | undefined, b: CallSummary): CallSummary {
  return a && a.updatedUs > b.updatedUs ? a : b;
}

/**
 * Applies upserts to a newest-first list in O(n + k log k): changed calls are
 * swapped in place (their start time does not move), new ones are sorted and
 * merged. Falls back to a full sort if a start time did move.
 */
export function mergeNewestFirst(
  list: readonly CallSummary[],
  prevById: ReadonlyMap<string, CallSummary>,
  updates: Iterable<CallSummary>,
): { byId: Map<string, CallSummary>; list: CallSummary[] } {
  const byId = new Map(prevById);
  const added: CallSummary[] = [];
  let moved = false;
  for (const u of updates) {
    const prev = byId.get(u.key);
    const next = fresher(prev, u);
    if (prev === undefined) added.push(next);
    else if (prev.startedUs !== next.startedUs) moved = true;
    byId.set(u.key, next);
  }
  if (moved) return { byId, list: [...byId.values()].sort(newestFirst) };
  const kept = list.map((c) => byId.get(c.key) ?? c);
  if (added.length === 0) return { byId, list: kept };
  // The same call can be in `updates` twice; the map holds its freshest copy.
  const unique = [...new Set(added.map((c) => c.key))].map((id) => byId.get(id)!).sort(newestFirst);
  const out: CallSummary[] = [];
  let i = 0;
  let j = 0;
  while (i < kept.length && j < unique.length) out.push(newestFirst(kept[i]!, unique[j]!) <= 0 ? kept[i++]! : unique[j++]!);
  while (i < kept.length) out.push(kept[i++]!);
  while (j < unique.length) out.push(unique[j++]!);
  return { byId, list: out };
}

export const useCalls = create<CallsSlice>()((set, get) => ({
  byId: new Map(),
  list: [],
  loaded: false,
  upsert(calls) {
    const { byId, list } = mergeNewestFirst(get().list, get().byId, calls);
    set(capped(byId, list));
  },
  replaceFromList(calls) {
    const prev = get().byId;
    const byId = new Map<string, CallSummary>();
    for (const c of calls) byId.set(c.key, fresher(prev.get(c.key), c));
    // Calls newer than the listed window (arrived while the list was in flight) stay.
    let oldestListed = calls.length > 0 ? Infinity : -Infinity;
    for (const c of calls) if (c.startedUs < oldestListed) oldestListed = c.startedUs;
    for (const c of prev.values()) if (!byId.has(c.key) && c.startedUs >= oldestListed) byId.set(c.key, c);
    set({ ...finish(byId), loaded: true });
  },
}));
