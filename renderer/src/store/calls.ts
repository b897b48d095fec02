import { create } from 'zustand';
import type { CallSummary } from '../../../app/contract';

/** Calls kept in the renderer; the engine holds the rest. */
export const MAX_CALLS_KEPT = 2000;
/** Asked for at start and on every re-list. */
export const LIST_LIMIT = 500;

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

const newestFirst = (a: CallSummary, b: CallSummary) => b.startedUs - a.startedUs || (a.callId < b.callId ? -1 : 1);

function finish(byId: Map<string, CallSummary>): Pick<CallsSlice, 'byId' | 'list'> {
  let list = [...byId.values()].sort(newestFirst);
  if (list.length > MAX_CALLS_KEPT) {
    for (const c of list.slice(MAX_CALLS_KEPT)) byId.delete(c.callId);
    list = list.slice(0, MAX_CALLS_KEPT);
  }
  return { byId, list };
}

/** Keeps whichever copy of a call is the more recent. */
function fresher(a: CallSummary | undefined, b: CallSummary): CallSummary {
  return a && a.updatedUs > b.updatedUs ? a : b;
}

export const useCalls = create<CallsSlice>()((set, get) => ({
  byId: new Map(),
  list: [],
  loaded: false,
  upsert(calls) {
    const byId = new Map(get().byId);
    for (const c of calls) byId.set(c.callId, fresher(byId.get(c.callId), c));
    set(finish(byId));
  },
  replaceFromList(calls) {
    const prev = get().byId;
    const byId = new Map<string, CallSummary>();
    for (const c of calls) byId.set(c.callId, fresher(prev.get(c.callId), c));
    // Calls newer than the listed window (arrived while the list was in flight) stay.
    const oldestListed = calls.length > 0 ? Math.min(...calls.map((c) => c.startedUs)) : -Infinity;
    for (const c of prev.values()) if (!byId.has(c.callId) && c.startedUs >= oldestListed) byId.set(c.callId, c);
    set({ ...finish(byId), loaded: true });
  },
}));
