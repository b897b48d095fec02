/**
 * How the ladder draws a record-lane entry on screen: an arrow from the
 * relay's column to the recorder's ("record:DIR") saying what happened
 * (recording started, stopped) and to which file, with packets and drops
 * once stopped; drops in the warning colour. The exports keep the engine's
 * labels (engine/ladder/entries.ts); this is the screen's wording only.
 * Pure, unit-tested (test/unit/recorder-ui.test.ts).
 */
import type { LadderEntry, RecordEntry } from '../../../app/contract';
import { fileName } from '../recorder/figures';

/** Longest file name an arrow label carries; the tooltip has the whole path. */
const NAME_CHARS = 32;

/** A long file name with its middle cut: the start (time of day) and the end (hash, extension) tell recordings apart. */
export function shortFileName(name: string, max = NAME_CHARS): string {
  if (name.length <= max) return name;
  const tail = Math.floor((max - 1) / 2);
  return `${name.slice(0, max - 1 - tail)}…${name.slice(name.length - tail)}`;
}

const fileOf = (e: RecordEntry) => (e.path ? shortFileName(fileName(e.path)) : null);

/** "● recording started → 093015123456Z-a84b…-1f2e3d4c.wav"; "■ recording stopped · 12.3 s, 98765 bytes · 1234 pkts, ⚠ 3 dropped · file.wav". */
export function recordArrowLabel(e: RecordEntry): string {
  const file = fileOf(e);
  const dropped = e.dropped > 0 ? `, ⚠ ${e.dropped} dropped` : '';
  switch (e.phase) {
    case 'started':
      return `● recording started${file ? ` → ${file}` : ''}`;
    case 'stopped':
      return `■ recording stopped${e.detail ? ` · ${e.detail}` : ''} · ${e.packets} pkts${dropped}${file ? ` · ${file}` : ''}`;
    case 'dropped':
      return `⚠ recorder dropped ${e.dropped} pkts, ${e.framesDropped} PCM frames not forwarded`;
    default:
      return `recording ${e.phase}${e.packets > 0 ? ` · ${e.packets} pkts` : ''}${dropped}${file ? ` · ${file}` : ''}`;
  }
}

/** The arrow's extra class: packets the recorder dropped (it fell behind) in the warning colour. */
export function recordArrowTone(e: RecordEntry): string | undefined {
  return e.dropped > 0 || e.phase === 'dropped' ? 'record-dropped' : undefined;
}

/** A record arrow's tooltip: what happened, the whole file path, what the figures count. */
export function recordArrowTitle(e: RecordEntry): string {
  const lines = [recordArrowLabel(e), `${e.src} → ${e.dst}`];
  if (e.path) lines.push(`WAV ${e.path} (its JSON sidecar beside it)`);
  if (e.phase === 'started') lines.push('The recorder taps the relay from here on: the relay never waits on it.');
  if (e.phase === 'stopped') {
    lines.push(`Packets the recorder took from the relay for this call: ${e.packets}; refused by its full queue (the recorder fell behind; gaps in the WAV, the call itself lost nothing): ${e.dropped}.`);
    if (e.detail) lines.push(`Recorded (engine): ${e.detail}.`);
  } else if (e.phase === 'dropped') {
    lines.push(`Since the recorder's previous report for this call: ${e.dropped} packets dropped on the way to its recording (gaps in the WAV), ${e.framesDropped} PCM frames not forwarded to the application (it was slow or away). The call itself lost nothing.`);
  } else if (e.detail) {
    lines.push(e.detail);
  }
  return lines.join('\n');
}

/** The entries as the screen's ladder draws them: record entries with the labels above, the rest as they are (the same array when there are none). */
export function withRecordLabels(entries: readonly LadderEntry[]): LadderEntry[] {
  if (!entries.some((e) => e.lane === 'record')) return entries as LadderEntry[];
  return entries.map((e) => (e.lane === 'record' ? { ...e, label: recordArrowLabel(e) } : e));
}
