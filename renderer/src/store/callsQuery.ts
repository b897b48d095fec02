/**
 * The calls list as an engine query: with a filter or a non-default sort, the
 * list is `queryCalls` over every call the engine stores. Asked again when the
 * filter changes (debounced) and, while live batches change calls, at most
 * once a second. Only the newest answer is kept.
 */
import { create } from 'zustand';
import { MAX_LIST_LIMIT, type CallFilter, type CallPage, type CallSort, type CallpathApi } from '../../../app/contract';
import { filterError, needsQuery } from '../calls/query';
import { useCalls } from './calls';
import { useCallsView } from './callsView';
import { useConnection } from './connection';
import { describeError } from './live';

/** Typing settles this long before the engine is asked. */
export const QUERY_DEBOUNCE_MS = 250;
/** While calls change, the query is asked again at most this often. */
export const QUERY_REFRESH_MS = 1000;

interface CallsQuerySlice {
  /** The answer to `query` (null until the first one, and in live mode). */
  page: CallPage | null;
  /** The filter and sort `page` answers. */
  query: { filter: CallFilter; sort: CallSort } | null;
  /** Why there is no answer: a bad regular expression, or the engine's refusal. */
  error: string | null;
  loading: boolean;
}

export const useCallsQuery = create<CallsQuerySlice>()(() => ({ page: null, query: null, error: null, loading: false }));

export function startCallsQuery(api: CallpathApi): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let lastAskMs = -Infinity;
  let seq = 0;
  let stopped = false;

  const ask = (): void => {
    timer = null;
    if (stopped) return;
    const { filter, sort } = useCallsView.getState();
    if (!needsQuery(filter, sort)) {
      seq++;
      useCallsQuery.setState({ page: null, query: null, error: null, loading: false });
      return;
    }
    const bad = filterError(filter);
    if (bad !== null) {
      seq++;
      useCallsQuery.setState({ page: null, query: null, error: bad, loading: false });
      return;
    }
    const mine = ++seq;
    lastAskMs = performance.now();
    useCallsQuery.setState({ loading: true });
    api
      .queryCalls(filter, sort, 0, MAX_LIST_LIMIT)
      .then((page) => {
        if (!stopped && mine === seq) useCallsQuery.setState({ page, query: { filter, sort }, error: null, loading: false });
      })
      .catch((err: unknown) => {
        if (!stopped && mine === seq) useCallsQuery.setState({ page: null, query: null, error: describeError(err), loading: false });
      });
  };
  const schedule = (delayMs: number): void => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(ask, delayMs);
  };

  // The filter or the sort changed: ask after the typing settles (a sort click needs no wait).
  const offView = useCallsView.subscribe((s, prev) => {
    if (s.filter !== prev.filter) schedule(QUERY_DEBOUNCE_MS);
    else if (s.sort !== prev.sort) schedule(0);
  });
  // Live batches changed calls: ask again, at most once a second (a pending ask covers it).
  const offCalls = useCalls.subscribe((s, prev) => {
    if (s.list === prev.list || timer !== null) return;
    const { filter, sort } = useCallsView.getState();
    if (!needsQuery(filter, sort)) return;
    schedule(Math.max(0, lastAskMs + QUERY_REFRESH_MS - performance.now()));
  });
  // Back online: the answer may be stale.
  const offConn = useConnection.subscribe((s, prev) => {
    if (s.status === 'connected' && prev.status !== 'connected') schedule(0);
  });

  return () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    offView();
    offCalls();
    offConn();
  };
}
