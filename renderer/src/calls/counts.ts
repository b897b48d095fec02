/**
 * The lines that say how much of the engine's call store the console shows:
 * the calls list's count and the header's store figures. Pure, unit-tested.
 */
import type { EvictionReason, StoreStats } from '../../../app/contract';

const n = (x: number) => x.toLocaleString('en-US');

export interface ListCounts {
  /** True when the list is an engine query's answer (a filter or a sort is active). */
  queried: boolean;
  /** Rows the list holds. */
  shown: number;
  /** Calls that match (a query), or null when not queried. */
  matched: number | null;
  /** Calls the engine stores now, and evicted since start (null before the first snapshot). */
  stored: number | null;
  evicted: number | null;
}

/**
 * "12 of 10,000 stored (3,400 evicted)"; with no filter "10,000 stored";
 * when the list holds fewer rows than match (its 10,000 limit) it says so.
 */
export function listCountText(c: ListCounts): string {
  const stored = c.stored ?? c.shown;
  const evicted = c.evicted !== null && c.evicted > 0 ? ` (${n(c.evicted)} evicted)` : '';
  if (c.queried) {
    const matched = c.matched ?? c.shown;
    const more = matched > c.shown ? ` · list shows the first ${n(c.shown)}` : '';
    return `${n(matched)} of ${n(stored)} stored${evicted}${more}`;
  }
  const more = stored > c.shown ? ` · list shows the newest ${n(c.shown)}` : '';
  return `${n(stored)} stored${evicted}${more}`;
}

/** 120 MiB, 512 MiB, 1.5 GiB, 900 KiB (binary units; no decimals from 10 up). */
export function shortBytes(bytes: number): string {
  // Binary units, as --max-store-mb counts them: a 512 MiB budget reads "512 MiB", not "537 MB".
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 || v >= 10 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

const REASON_LABEL: Record<EvictionReason, string> = {
  'finished-limit': 'finished limit',
  'active-limit': 'active limit',
  idle: 'idle',
  bytes: 'bytes',
};

/** The header's store figure: "2,000 active of 10,000 stored · 120 MB / 512 MB · 3,400 evicted (bytes 3,000, idle 400)". */
export function storeLine(s: StoreStats): string {
  const reasons = (Object.entries(s.evictedBy) as [EvictionReason, number][])
    .filter(([, k]) => k > 0)
    .map(([r, k]) => `${REASON_LABEL[r] ?? r} ${n(k)}`);
  const evicted = s.evicted > 0 ? ` · ${n(s.evicted)} evicted${reasons.length > 0 ? ` (${reasons.join(', ')})` : ''}` : ' · none evicted';
  return `${n(s.active)} active of ${n(s.stored)} stored · ${shortBytes(s.bytes)} / ${shortBytes(s.maxBytes)}${evicted}`;
}

/** The tooltip: where the figures are measured, and what else the store let go. */
export function storeTitle(s: StoreStats): string {
  const lines = [
    'Measured in the engine call store, since the engine started:',
    `calls active ${n(s.active)}, stored ${n(s.stored)} (all sources: ${s.sources.map((x) => x.name).join(', ') || 'none'})`,
    `bytes held ${n(s.bytes)} of a ${n(s.maxBytes)}-byte budget`,
    `calls evicted ${n(s.evicted)}${s.evicted > 0 ? `: ${(Object.entries(s.evictedBy) as [EvictionReason, number][]).map(([r, k]) => `${r} ${n(k)}`).join(', ')}` : ''}`,
    `entries rotated out of long calls ${n(s.entriesDropped)}`,
  ];
  return lines.join('\n');
}
