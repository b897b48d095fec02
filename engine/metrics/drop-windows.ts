/**
 * When a drop counter rose: the spans of engine time between two reads of
 * a counter that found it higher the second time. The kernel's UDP counters
 * are the whole box's, so no call caused them; what can be said is which
 * calls were up while they rose, and these windows are what the calls list
 * matches against (the call filter's `upDuring`).
 *
 * Overlapping and touching windows are merged (a counter read every second
 * that rises for ten seconds is one window); the newest MAX_DROP_WINDOWS
 * are kept, oldest first. Pure.
 */
import type { TimeWindow } from '../clock';

export const MAX_DROP_WINDOWS = 32;

export class DropWindows {
  private windows: TimeWindow[] = [];

  constructor(private readonly max = MAX_DROP_WINDOWS) {}

  /** A counter read at `fromUs` was higher when read again at `toUs`. */
  rose(fromUs: number, toUs: number): void {
    if (!(fromUs <= toUs)) return;
    let from = fromUs;
    let to = toUs;
    const kept: TimeWindow[] = [];
    for (const w of this.windows) {
      if (w.toUs < from || w.fromUs > to) kept.push(w);
      else {
        from = Math.min(from, w.fromUs);
        to = Math.max(to, w.toUs);
      }
    }
    kept.push({ fromUs: from, toUs: to });
    kept.sort((a, b) => a.fromUs - b.fromUs);
    this.windows = kept.length > this.max ? kept.slice(kept.length - this.max) : kept;
  }

  /** The windows, oldest first (copies). */
  list(): TimeWindow[] {
    return this.windows.map((w) => ({ ...w }));
  }
}
