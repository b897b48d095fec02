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

/** Calls-list writes are at least this far apart (batches come every 250 ms). */
export const CALLS_MIN_INTERVAL_MS = 500;

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
  // The calls are written at most every CALLS_MIN_INTERVAL_MS: under a flood every row in view is
  // replaced on each write, the costliest frame the console draws, and nobody reads rows at 4/s.
  let callsFrame: number | null = null;
  let callsTimer: ReturnType<typeof setTimeout> | null = null;
  let lastCallsWriteMs = -Infinity;
  const scheduleCalls = (): void => {
    if (callsFrame !== null || callsTimer !== null) return;
    const wait = lastCallsWriteMs + CALLS_MIN_INTERVAL_MS - performance.now();
    if (wait <= 0) {
      callsFrame = requestAnimationFrame(flushCalls);
      return;
    }
    callsTimer = setTimeout(() => {
      callsTimer = null;
      // A snapshot frame already pending schedules the calls after itself.
      if (!stopped && frame === null) callsFrame = requestAnimationFrame(flushCalls);
    }, wait);
  };
  // rAF time of the last frame that wrote the snapshot, and of the last that wrote the calls.
  let snapshotFrameTs = -1;
  let callsFrameTs = -1;
  const flushCalls = (ts: number): void => {
    callsFrame = null;
    if (stopped) return;
    if (ts === snapshotFrameTs) {
      callsFrame = requestAnimationFrame(flushCalls); // not in the snapshot's frame
      return;
    }
    callsFrameTs = ts;
    lastCallsWriteMs = performance.now();
    if (calls.size > 0) useCalls.getState().upsert(calls.values());
    calls = new Map();
    if (relistWanted) {
      relistWanted = false;
      relist();
    }
  };
  const flush = (ts: number): void => {
    frame = null;
    if (stopped) return;
    if (ts === callsFrameTs) {
      frame = requestAnimationFrame(flush); // not in the calls' frame
      return;
    }
    snapshotFrameTs = ts;
    if (snapshot) useSnapshot.getState().apply(snapshot, points);
    snapshot = null;
    points = [];
    if (calls.size > 0 || relistWanted) scheduleCalls();
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
    for (const c of batch.calls) calls.set(c.key, c);
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
    if (callsTimer !== null) clearTimeout(callsTimer);
    offBatch();
    offConnection();
  };
}
