/**
 * One header read straight from a message's bytes, without parsing the rest:
 * for messages already parsed once and stored as bytes (the call store reads
 * From and To, an export the top Via's branch). A whole parse per stored
 * message made a 100,000-message JSON export three times slower and cost the
 * host thread a parse per captured response.
 *
 * Only the head is read (up to the blank line, at most 8 KiB when there is
 * none); folded header lines are not joined, so a folded value reads as its
 * first line.
 */
import { COMPACT_FORMS, canonicalName, firstItemEnd } from './headers';

/** Long name → compact form ("via" → "v"). */
const COMPACT_OF = new Map(Object.entries(COMPACT_FORMS).map(([short, long]) => [long, short]));

/** The value of the first header line with this name (long or compact form), or null. */
export function peekHeader(raw: Buffer, name: string): string | null {
  const want = canonicalName(name);
  // A header's name starts with the first letter of its long or its compact form.
  const firsts = `${want[0]}${COMPACT_OF.get(want) ?? ''}`;
  let end = raw.indexOf('\r\n\r\n');
  if (end < 0) end = Math.min(raw.length, 8192);
  const head = raw.toString('latin1', 0, end);
  for (let i = head.indexOf('\r\n'); i >= 0 && i < head.length; ) {
    const start = i + 2;
    const next = head.indexOf('\r\n', start);
    const stop = next < 0 ? head.length : next;
    i = next;
    if (!firsts.includes((head[start] ?? '').toLowerCase())) continue;
    const colon = head.indexOf(':', start);
    if (colon > start && colon < stop && canonicalName(head.slice(start, colon).trim()) === want) {
      // Header values are UTF-8 (RFC 3261 §25.1); the head was read as latin1 to keep offsets in bytes.
      return Buffer.from(head.slice(colon + 1, stop), 'latin1').toString('utf8').trim();
    }
  }
  return null;
}

/** `;branch=` in a via-parm (parameter names are case-insensitive, RFC 3261 §7.3.1). */
const BRANCH_PARAM = /;[ \t]*branch[ \t]*=[ \t]*([^;,\s]+)/i;

/**
 * The top Via's branch: the first via-parm of the first Via line. Only the
 * parameter is read, not the whole via-parm (host, port, every parameter):
 * this runs for every message of a 100,000-message export.
 */
export function topViaBranchOf(raw: Buffer): string | null {
  const value = peekHeader(raw, 'via');
  if (value === null) return null;
  return BRANCH_PARAM.exec(value.slice(0, firstItemEnd(value, 0, value.length)))?.[1] ?? null;
}
