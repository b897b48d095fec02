/**
 * The ladder's time column, sngrep-style: one key cycles between wall-clock
 * time, time since the first message, and time since the previous message.
 */
import { formatMs } from '../../../app/ladder';
import { clockTime } from '../format';

export type TimeMode = 'absolute' | 'relative' | 'delta';
export const TIME_MODES: readonly TimeMode[] = ['absolute', 'relative', 'delta'];

export function nextTimeMode(m: TimeMode): TimeMode {
  return TIME_MODES[(TIME_MODES.indexOf(m) + 1) % TIME_MODES.length]!;
}

/** Short name for the gutter heading. */
export const TIME_MODE_LABEL: Record<TimeMode, string> = { absolute: 'time', relative: '+time', delta: 'Δtime' };

/**
 * One row's time text: "14:03:07.123456" (absolute), "+12.345 ms" (relative
 * to the first message) or "Δ0.150 ms" (since the previous row; the first row
 * is Δ0).
 */
export function formatArrowTime(mode: TimeMode, tsUs: number, startUs: number, prevTsUs: number | null): string {
  switch (mode) {
    case 'absolute':
      return `${clockTime(tsUs)}${String(Math.floor(tsUs) % 1000).padStart(3, '0')}`;
    case 'relative':
      return `+${formatMs(tsUs - startUs)} ms`;
    case 'delta':
      return `Δ${formatMs(prevTsUs === null ? 0 : tsUs - prevTsUs)} ms`;
  }
}
