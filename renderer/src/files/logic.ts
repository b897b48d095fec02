/**
 * Export and import in the console, the pure part: which formats a chooser
 * offers, what a key press in it does, and the lines the UI shows.
 */
import { ALIAS_MAX_LENGTH, EXPORT_FORMATS, MAX_COLUMN_NAMES, MAX_EXPORT_CALLS, SELECTION_FORMATS, type CallFilter, type CallSort, type ExportFormat, type ExportOutcome, type ExportRequest, type ImportOutcome, type SelectionFormat } from '../../../app/contract';

/** One call exports in every format but `md` (its diagram is `mmd`). */
export const ONE_CALL_FORMATS: readonly ExportFormat[] = EXPORT_FORMATS.filter((f) => f !== 'md');

/** The formats offered for this many calls. */
export function formatsFor(callCount: number): readonly ExportFormat[] {
  return callCount === 1 ? ONE_CALL_FORMATS : SELECTION_FORMATS;
}

/** The call keys an "Export N calls" exports: the ones shown, capped at the export limit. */
export function selectionKeys(calls: readonly { key: string }[]): string[] {
  return calls.slice(0, MAX_EXPORT_CALLS).map((c) => c.key);
}

/** What an export covers: calls by key, or every stored call a query matches (`count` of them, for the title). */
export type ExportTarget = { kind: 'keys'; keys: string[] } | { kind: 'query'; query: { filter: CallFilter; sort: CallSort }; count: number };

export const targetCount = (t: ExportTarget): number => (t.kind === 'keys' ? t.keys.length : t.count);

/** The formats offered for a target: a query exports as one file of many calls. */
export function formatsForTarget(t: ExportTarget): readonly ExportFormat[] {
  return t.kind === 'query' ? SELECTION_FORMATS : formatsFor(t.keys.length);
}

/** The column names the console gives endpoints, as the contract takes them (at most MAX_COLUMN_NAMES, each short enough). */
export function columnNamesOf(aliases: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const [endpoint, name] of Object.entries(aliases)) {
    if (n === MAX_COLUMN_NAMES) break;
    if (endpoint === '' || name === '' || name.length > ALIAS_MAX_LENGTH) continue;
    out[endpoint] = name;
    n++;
  }
  return out;
}

/** The request for a target in a format, with the console's column names. */
export function exportRequestOf(t: ExportTarget, format: ExportFormat, aliases: Readonly<Record<string, string>>): ExportRequest {
  const columnNames = columnNamesOf(aliases);
  if (t.kind === 'keys') return { keys: t.keys, format, columnNames };
  return { query: t.query, format: format as SelectionFormat, columnNames };
}

export type ChooserStep = { kind: 'move'; index: number } | { kind: 'pick'; index: number } | { kind: 'close' } | null;

/**
 * Each format's own key in the chooser (pcap and png both start with p; mmd and
 * md never share a chooser: one call offers mmd, several md).
 */
export const FORMAT_KEYS: Readonly<Record<ExportFormat, string>> = { pcap: 'p', txt: 't', svg: 's', png: 'n', mmd: 'm', json: 'j', md: 'm' };

/** A key in the format chooser: arrows move, Enter picks, Escape closes, a format's own key picks it. */
export function chooserKey(formats: readonly ExportFormat[], current: number, key: string): ChooserStep {
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
  const index = formats.findIndex((f) => FORMAT_KEYS[f] === key.toLowerCase());
  return index === -1 ? null : { kind: 'pick', index };
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

/** A file with no SIP call in it is an import error, not "imported 0 messages". */
export function importFailed(o: ImportOutcome): boolean {
  return o.calls === 0 || o.messages === 0;
}

export function importResultLine(o: ImportOutcome): string {
  const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  const skipped = Object.entries(o.skipped).filter(([, n]) => n > 0);
  const skippedText = skipped.length === 0 ? 'nothing' : skipped.map(([why, n]) => `${why} ${n}`).join(', ');
  if (importFailed(o)) return `import failed: no SIP calls in the file (${o.format}); skipped: ${skippedText}`;
  return `imported ${plural(o.messages, 'message')} in ${plural(o.calls, 'call')} (${o.format}, source ${o.source}); skipped: ${skippedText}`;
}

export function importErrorLine(message: string): string {
  return /^import failed/i.test(message) ? message : `import failed: ${message}`;
}

/** The progress bar shows once an export has run this long (ms). */
export const PROGRESS_AFTER_MS = 1000;
