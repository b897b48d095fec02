/**
 * The calls list's media cells: how many streams a call has and how much of
 * their media was lost, from the call's `media` summary. Pure, unit-tested
 * (test/unit/relay-ui.test.ts).
 */
import { mediaLossRatio, type MediaSummary } from '../../../app/contract';

export interface MediaCells {
  streams: string;
  loss: string;
  /** `warn` when any packet was lost. */
  lossClass: string;
  title: string;
}

/** Loss as a percentage people read: "0%", "<0.1%", "0.4%", "12%". */
export function lossPercent(ratio: number): string {
  if (ratio <= 0) return '0%';
  const p = ratio * 100;
  if (p < 0.1) return '<0.1%';
  return p >= 10 ? `${Math.round(p)}%` : `${p.toFixed(1)}%`;
}

export function mediaCells(m: MediaSummary | null): MediaCells {
  if (!m) return { streams: '—', loss: '—', lossClass: 'muted', title: 'No media for this call (no relay, or SDP passed untouched)' };
  const ratio = mediaLossRatio(m) ?? 0;
  return {
    streams: String(m.streams),
    loss: lossPercent(ratio),
    lossClass: m.lost > 0 ? 'warn' : '',
    title: `${m.streams} stream${m.streams === 1 ? '' : 's'}: ${m.packets} packets received, ${m.lost} lost (${lossPercent(ratio)} of expected), from each stream's latest report`,
  };
}
