/**
 * Feeds the stores from the contract: the initial snapshot and call list, then
 * live batches. Batches arrive ~4×/s but may bunch up; they are coalesced and
 * written to the stores at most once per animation frame. Pending work is
 * bounded, so a hidden window (no frames) cannot grow memory.
 */
import type { CallSummary, CallpathApi, LiveBatch, Snapshot } from '../../../app/contract';
import { useCalls, LIST_LIMIT, MAX_CALLS_KEPT } from './calls';
import { useConnection } from './connection';
import { HISTORY_POINTS, pointOf, useSnapshot, type MetricPoint } from './snapshot';

export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Re-lists the calls through the running live feed (after an import, say); a no-op before `startLive`. */
let relistHook: (() => void) | null = null;
export function requestRelist(): void {
  relistHook?.();
}

export function startLive(api: CallpathApi): () => void {
  let snapshot: Snapshot | null = null;
  let points: MetricPoint[] = [];
  let calls = new Map<string, CallSummary>();
  let relistWanted = false;
  let lastSeq: number | null = null;
  let frame: number | null = null;
  let stopped = false;

  let listing = false;
  let listAgain = false;
  const relist = (): void => {
    if (listing) {
      listAgain = true;
      return;
    }
    listing = true;
    api
      .listCalls(LIST_LIMIT)
      .then((list) => {
        if (!stopped) useCalls.getState().replaceFromList(list);
      })
      .catch((err: unknown) => useConnection.getState().setError(`listCalls: ${describeError(err)}`))
      .finally(() => {
        listing = false;
        if (listAgain && !stopped) {
          listAgain = false;
          relist();
        }
      });
  };

  relistHook = relist;

  const refreshSnapshot = (): void => {
    api
      .getSnapshot()
      .then((s) => {
        // A batch that arrived meanwhile is at least as new: keep it.
        if (!stopped && useSnapshot.getState().snapshot === null) useSnapshot.getState().apply(s, []);
        useConnection.getState().setConnected(true);
      })
      .catch((err: unknown) => useConnection.getState().setError(`getSnapshot: ${describeError(err)}`));
  };

  // A batch is applied over two frames: the snapshot (header, controls, chart) in one, the calls
  // (a merge into a list of up to 10,000 and its rows) in the next, so neither frame carries both.
  let callsFrame: number | null = null;
  const flushCalls = (): void => {
    callsFrame = null;
    if (stopped) return;
    if (calls.size > 0) useCalls.getState().upsert(calls.values());
    calls = new Map();
    if (relistWanted) {
      relistWanted = false;
      relist();
    }
  };
  const flush = (): void => {
    frame = null;
    if (stopped) return;
    if (snapshot) useSnapshot.getState().apply(snapshot, points);
    snapshot = null;
    points = [];
    if ((calls.size > 0 || relistWanted) && callsFrame === null) callsFrame = requestAnimationFrame(flushCalls);
  };

  const onBatch = (batch: LiveBatch): void => {
    if (stopped) return;
    useConnection.getState().setConnected(true);
    // A gap in the sequence means upserts were lost: the list may be stale.
    if (lastSeq !== null && batch.seq !== lastSeq + 1) relistWanted = true;
    lastSeq = batch.seq;
    snapshot = batch.snapshot;
    points.push(pointOf(batch.snapshot));
    if (points.length > HISTORY_POINTS) points = points.slice(-HISTORY_POINTS);
    for (const c of batch.calls) calls.set(c.callId, c);
    if (batch.callsOmitted > 0) relistWanted = true;
    if (calls.size > MAX_CALLS_KEPT) {
      calls = new Map();
      relistWanted = true;
    }
    if (frame === null) frame = requestAnimationFrame(flush);
  };

  const offBatch = api.subscribe(onBatch);
  let wasConnected = false;
  const offConnection = api.onConnection((connected) => {
    useConnection.getState().setConnected(connected);
    if (connected && !wasConnected) {
      // (Re)connected: batches missed meanwhile are gone, so catch up.
      lastSeq = null;
      refreshSnapshot();
      relist();
    }
    wasConnected = connected;
  });
  useConnection.setState({ host: api.host });
  if (!wasConnected) {
    refreshSnapshot();
    relist();
  }

  return () => {
    stopped = true;
    if (relistHook === relist) relistHook = null;
    if (frame !== null) cancelAnimationFrame(frame);
    if (callsFrame !== null) cancelAnimationFrame(callsFrame);
    offBatch();
    offConnection();
  };
}
