import { useEffect, useRef, useState } from 'react';
import type { CallDetail } from '../../../app/contract';
import { useApi } from '../api';
import { useCalls } from '../store/calls';
import { describeError } from '../store/live';
import { mergeCallDetail, nextFromIndex } from './merge';

/** The ladder refetches a changing call at most this often. */
export const REFETCH_MIN_MS = 250;

export interface CallDetailState {
  /** undefined while the first fetch is in flight; null when the engine no longer has the call. */
  detail: CallDetail | null | undefined;
  error: string | null;
}

/**
 * Fetches `getCall(key)` and, whenever the call changes in a live batch
 * (its updatedUs or message count moves), fetches the entries that are new
 * since the last one held — throttled to one request per `REFETCH_MIN_MS`,
 * never more than one in flight. An answer that does not continue what is
 * held is thrown away and the whole call fetched again.
 */
export function useCallDetail(key: string): CallDetailState {
  const api = useApi();
  const version = useCalls((s) => {
    const c = s.byId.get(key);
    return c ? `${c.updatedUs}/${c.messageCount}/${c.state}` : '';
  });
  const [state, setState] = useState<CallDetailState>({ detail: undefined, error: null });
  const t = useRef({
    lastStartMs: -Infinity,
    inFlight: false,
    again: false,
    timer: null as ReturnType<typeof setTimeout> | null,
    alive: true,
    held: undefined as CallDetail | null | undefined,
  });

  useEffect(() => {
    const r = t.current;
    r.alive = true;
    return () => {
      r.alive = false;
      if (r.timer !== null) clearTimeout(r.timer);
      r.timer = null;
    };
  }, []);

  useEffect(() => {
    const r = t.current;
    const run = (): void => {
      r.timer = null;
      if (!r.alive) return;
      if (r.inFlight) {
        r.again = true;
        return;
      }
      r.inFlight = true;
      r.lastStartMs = performance.now();
      const from = nextFromIndex(r.held);
      api
        .getCall(key, from === 0 ? undefined : from)
        .then((fresh) => {
          if (!r.alive) return;
          const detail = fresh === null ? null : mergeCallDetail(r.held, fresh, from);
          if (detail === null && fresh !== null) {
            // Not a continuation: start over with the whole call.
            r.held = undefined;
            r.again = true;
            return;
          }
          if (detail !== r.held) {
            r.held = detail;
            setState({ detail, error: null });
          }
        })
        .catch((err: unknown) => {
          if (r.alive) setState((prev) => ({ detail: prev.detail ?? null, error: describeError(err) }));
        })
        .finally(() => {
          r.inFlight = false;
          if (r.again && r.alive) {
            r.again = false;
            schedule();
          }
        });
    };
    const schedule = (): void => {
      if (r.timer !== null) return; // the pending fetch will see this change too
      const wait = Math.max(0, r.lastStartMs + REFETCH_MIN_MS - performance.now());
      r.timer = setTimeout(run, wait);
    };
    schedule();
  }, [api, key, version]);

  return state;
}
