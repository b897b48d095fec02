import type { CallRecord } from '../call/model';

/**
 * The one list of export formats. One call exports in any ladder format; a
 * selection of calls goes into one file, so only in formats that hold many
 * calls (Mermaid's is `md`: one fenced block per call).
 */
export const EXPORT_FORMATS = ['pcap', 'txt', 'svg', 'png', 'mmd', 'json', 'md'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const CALL_FORMATS = ['pcap', 'txt', 'svg', 'png', 'mmd', 'json'] as const;
export type CallFormat = (typeof CALL_FORMATS)[number];

export const SELECTION_FORMATS = ['pcap', 'json', 'txt', 'md', 'svg'] as const;
export type SelectionFormat = (typeof SELECTION_FORMATS)[number];

export const isCallFormat = (f: string): f is CallFormat => (CALL_FORMATS as readonly string[]).includes(f);
export const isSelectionFormat = (f: string): f is SelectionFormat => (SELECTION_FORMATS as readonly string[]).includes(f);

/**
 * `schemaVersion` of the JSON export. 2: a call's `entries` of every lane (one `LadderEntry` union), calls keyed by
 * source. 3: a SIP entry may carry `engineTsUs` and `seen` (the wire tap: `tsUs` is then the wire's time). 4: a record
 * entry may be `dropped` with `framesDropped`, and a call carries `recorder` (its recording's drops); a 3 reads as
 * before, with no recorder drops.
 */
export const EXPORT_SCHEMA_VERSION = 4;

/** The media type of each export format (one call or a selection alike). */
export const CONTENT_TYPES: Record<ExportFormat, string> = {
  pcap: 'application/vnd.tcpdump.pcap',
  txt: 'text/plain; charset=utf-8',
  svg: 'image/svg+xml; charset=utf-8',
  png: 'image/png',
  mmd: 'text/vnd.mermaid; charset=utf-8',
  json: 'application/json; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
};

/** What an export needs beside the calls: the console's column names, and the host's JSON for a call. */
export interface ExportOptions {
  /** Endpoint ("address:port") → name, titling the ladders' columns. */
  columnNames: Readonly<Record<string, string>>;
  /** A call as the JSON export carries it (one call: the whole document, with its `schemaVersion`). */
  json: (c: CallRecord) => unknown;
}
