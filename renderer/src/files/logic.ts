/**
 * Export and import in the console, the pure part: which formats a chooser
 * offers, what a key press in it does, and the lines the UI shows.
 */
import { EXPORT_FORMAT_NAMES, MAX_EXPORT_CALLS, SELECTION_FORMAT_NAMES, type ExportFormatName, type ExportOutcome, type ImportOutcome } from '../../../app/contract';

/** One call exports in every format but `md` (its diagram is `mmd`). */
export const ONE_CALL_FORMATS: readonly ExportFormatName[] = EXPORT_FORMAT_NAMES.filter((f) => f !== 'md');

/** The formats offered for this many calls. */
export function formatsFor(callCount: number): readonly ExportFormatName[] {
  return callCount === 1 ? ONE_CALL_FORMATS : SELECTION_FORMAT_NAMES;
}

/** The Call-IDs an "Export N calls" exports: the ones shown, capped at the export limit. */
export function selectionIds(calls: readonly { callId: string }[]): string[] {
  return calls.slice(0, MAX_EXPORT_CALLS).map((c) => c.callId);
}

export type ChooserStep = { kind: 'move'; index: number } | { kind: 'pick'; index: number } | { kind: 'close' } | null;

/**
 * A key in the format chooser: arrows (and j/k) move, Enter picks, Escape
 * closes; a letter picks the format it starts, or — when several start with
 * it (pcap, png) — moves to the next of those, so Enter picks.
 */
export function chooserKey(formats: readonly string[], current: number, key: string): ChooserStep {
  const n = formats.length;
  if (n === 0) return key === 'Escape' ? { kind: 'close' } : null;
  switch (key) {
    case 'Escape':
      return { kind: 'close' };
    case 'ArrowDown':
      return { kind: 'move', index: (current + 1) % n };
    case 'ArrowUp':
      return { kind: 'move', index: (current - 1 + n) % n };
    case 'Home':
      return { kind: 'move', index: 0 };
    case 'End':
      return { kind: 'move', index: n - 1 };
    case 'Enter':
    case ' ':
      return current >= 0 && current < n ? { kind: 'pick', index: current } : null;
  }
  if (key.length !== 1) return null;
  const letter = key.toLowerCase();
  const matches = formats.map((f, i) => (f.startsWith(letter) ? i : -1)).filter((i) => i >= 0);
  if (matches.length === 0) return null;
  if (matches.length === 1) return { kind: 'pick', index: matches[0]! };
  return { kind: 'move', index: matches.find((i) => i > current) ?? matches[0]! };
}

/** 999 → "999 B", 12_345 → "12.3 kB", 4_200_000 → "4.2 MB" (SI units, as file managers show). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = bytes / 1000;
  let u = 0;
  while (v >= 999.95 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** Only the last part of a path (the desktop reports where the file went). */
function baseName(name: string): string {
  return name.split(/[\\/]/).pop() || name;
}

export function exportResultLine(outcome: ExportOutcome): string {
  if (!outcome.saved) return 'export cancelled';
  return `saved ${formatBytes(outcome.bytes)}${outcome.name ? ` as ${baseName(outcome.name)}` : ''}`;
}

export function exportErrorLine(message: string): string {
  return /^export failed/i.test(message) ? message : `export failed: ${message}`;
}

export function importResultLine(o: ImportOutcome): string {
  const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  const skipped = Object.entries(o.skipped).filter(([, n]) => n > 0);
  const skippedText = skipped.length === 0 ? 'nothing' : skipped.map(([why, n]) => `${why} ${n}`).join(', ');
  return `imported ${plural(o.messages, 'message')} in ${plural(o.calls, 'call')} (${o.format}); skipped: ${skippedText}`;
}

export function importErrorLine(message: string): string {
  return /^import failed/i.test(message) ? message : `import failed: ${message}`;
}

/** The progress bar shows once an export has run this long (ms). */
export const PROGRESS_AFTER_MS = 1000;
