import { create } from 'zustand';
import type { ComponentStatus, Snapshot } from '../../../app/contract';
import { publishPointOf, type PublishPoint } from '../publish/figures';
import { relayPointOf, type RelayPoint } from '../relay/series';
import { tryingFigure } from '../wire';

function tryingP99Ms(s: Snapshot): number | null {
  const f = tryingFigure(s);
  return f ? f.summary.p99 / 1000 : null;
}

/** One point of the live charts (the signalling chart, the publish panel's and the port pool's). */
export interface MetricPoint extends PublishPoint, RelayPoint {
  /** Seconds since the engine started. */
  t: number;
  callsPerSecond: number | null;
  /** 100 Trying p99, ms, on the wire when the tap is on (`tryingFigure`); null while the proxy is absent (its section of the snapshot is null). */
  trying100P99Ms: number | null;
}

/** ~2 minutes at one point every two seconds. */
export const HISTORY_POINTS = 60;
/**
 * The chart keeps one point per this many seconds, though batches come 4
 * times a second: a recharts redraw (its store's selectors, path lengths,
 * axis ticks) is the UI's biggest single task — ~12 ms of script on the
 * bench box, in one piece — so it happens every two seconds, not per batch.
 */
export const HISTORY_STEP_S = 2;

interface SnapshotSlice {
  snapshot: Snapshot | null;
  /** Fixed window, oldest first; replaced (never mutated) on every write. */
  history: MetricPoint[];
  apply(snapshot: Snapshot, points: readonly MetricPoint[]): void;
  /** A component status from a setComponent result, ahead of the next batch. */
  applyComponent(status: ComponentStatus): void;
}

export function pointOf(s: Snapshot): MetricPoint {
  return {
    t: Math.round((s.nowUs - s.startedUs) / 1000) / 1000,
    callsPerSecond: s.sip ? s.sip.callsPerSecond : null,
    trying100P99Ms: tryingP99Ms(s),
    ...publishPointOf(s),
    ...relayPointOf(s),
  };
}

export const useSnapshot = create<SnapshotSlice>()((set, get) => ({
  snapshot: null,
  history: [],
  apply(snapshot, points) {
    const prev = get().history;
    const last = prev[prev.length - 1];
    const fresh = last === undefined ? points.slice(-1) : points.filter((p) => p.t >= last.t + HISTORY_STEP_S || p.t < last.t);
    const history = fresh.length === 0 ? prev : appendWindow(prev, fresh.slice(-1), HISTORY_POINTS);
    // Time going backwards means the engine restarted: its history starts over.
    for (let i = history.length - 1; i > 0; i--) {
      if (history[i]!.t < history[i - 1]!.t) {
        set({ snapshot, history: history.slice(i) });
        return;
      }
    }
    set({ snapshot, history });
  },
  applyComponent(status) {
    const s = get().snapshot;
    if (!s) return;
    set({ snapshot: { ...s, components: s.components.map((c) => (c.name === status.name ? status : c)) } });
  },
}));

export function appendWindow<T>(prev: readonly T[], add: readonly T[], max: number): T[] {
  const all = prev.length + add.length > max ? [...prev, ...add].slice(-max) : [...prev, ...add];
  return all;
}
