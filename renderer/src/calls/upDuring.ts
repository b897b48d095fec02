/**
 * The calls list's words for an `upDuring` filter (the kernel suspect's
 * link): the chip says which time windows the calls were up in, and its
 * title that being up then is all the filter says of a call. Pure,
 * unit-tested (test/unit/calls-query.test.ts).
 */
import type { TimeWindow } from '../../../app/contract';
import { clockTime } from '../format';

/** Windows the chip names; the title lists them all. */
const SHOWN = 2;

const span = (w: TimeWindow) => `${clockTime(w.fromUs)}–${clockTime(w.toUs)}`;

export function upDuringChip(windows: readonly TimeWindow[]): { text: string; title: string } {
  if (windows.length === 0) return { text: 'up during: no window', title: 'Calls up during no time window: none match.' };
  const newest = windows.slice(-SHOWN).map(span).join(', ');
  const more = windows.length - SHOWN;
  return {
    text: `up during ${newest}${more > 0 ? ` (+${more} earlier)` : ''}`,
    title: [
      'Calls that were up (started by the end of a window, not ended before its start) at some moment of these windows:',
      ...windows.map((w) => `  ${span(w)}`),
      "The kernel suspect links here: its UDP drop counters are the whole box's, so these calls were up while they rose, not their cause.",
    ].join('\n'),
  };
}
