/**
 * Header names: compact forms, canonical (lowercase long) names, display
 * names for serialization, and which headers are comma-separated lists.
 *
 * RFC 3261 §7.3.1: "field names are always case-insensitive"; §7.3.3 defines
 * the compact forms; §20 lists which fields are `#`-lists.
 */

/** Compact form (single letter, lowercase) → canonical lowercase long name. RFC 3261 §7.3.3, RFC 3265, 3515, 3892, 4028, 3841. */
export const COMPACT_FORMS: Readonly<Record<string, string>> = {
  i: 'call-id',
  f: 'from',
  t: 'to',
  v: 'via',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
  k: 'supported',
  s: 'subject',
  e: 'content-encoding',
  o: 'event',
  r: 'refer-to',
  b: 'referred-by',
  x: 'session-expires',
  u: 'allow-events',
  a: 'accept-contact',
  j: 'reject-contact',
  d: 'request-disposition',
  y: 'identity',
  n: 'identity-info',
};

/** Properly cased names used when we write a header of our own. */
const DISPLAY: Readonly<Record<string, string>> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  rack: 'RAck',
  rseq: 'RSeq',
};

/**
 * Fields whose value is a single item that may legitimately contain commas
 * (credentials, challenges, dates, free text) or that RFC 3261 does not define
 * as a `#` list. Everything else is treated as a comma list.
 */
const NOT_LISTS: ReadonlySet<string> = new Set([
  'www-authenticate',
  'authorization',
  'proxy-authenticate',
  'proxy-authorization',
  'authentication-info',
  'date',
  'call-id',
  'cseq',
  'from',
  'to',
  'content-length',
  'content-type',
  'content-disposition',
  'max-forwards',
  'min-expires',
  'expires',
  'subject',
  'user-agent',
  'server',
  'organization',
  'retry-after',
  'timestamp',
  'reply-to',
  'priority',
  'mime-version',
  'refer-to',
  'referred-by',
  'event',
  'subscription-state',
  'session-expires',
  'min-se',
  'replaces',
  'rack',
  'rseq',
  'identity',
  'identity-info',
]);

/** Canonical lowercase long name for a header name as written (any case, compact or long). */
export function canonicalName(name: string): string {
  const lower = lowerAscii(name);
  if (lower.length === 1) return COMPACT_FORMS[lower] ?? lower;
  return lower;
}

/** toLowerCase only when there is an uppercase ASCII letter (avoids an allocation). */
export function lowerAscii(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return s.toLowerCase();
  }
  return s;
}

/** `call-id` → `Call-ID`, `record-route` → `Record-Route`. */
export function displayName(canonical: string): string {
  const known = DISPLAY[canonical];
  if (known !== undefined) return known;
  let out = '';
  let up = true;
  for (let i = 0; i < canonical.length; i++) {
    const ch = canonical[i] as string;
    out += up ? ch.toUpperCase() : ch;
    up = ch === '-';
  }
  return out;
}

/** Whether values of this (canonical) header are split on top-level commas. */
export function isListHeader(canonical: string): boolean {
  return !NOT_LISTS.has(canonical);
}

/** RFC 3261 §25.1 `token` characters: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~". */
export function isTokenCode(c: number): boolean {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) return true;
  switch (c) {
    case 0x2d: // -
    case 0x2e: // .
    case 0x21: // !
    case 0x25: // %
    case 0x2a: // *
    case 0x5f: // _
    case 0x2b: // +
    case 0x60: // `
    case 0x27: // '
    case 0x7e: // ~
      return true;
    default:
      return false;
  }
}

/** True when s[start, end) is a non-empty token. */
export function isToken(s: string, start = 0, end = s.length): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) if (!isTokenCode(s.charCodeAt(i))) return false;
  return true;
}

export function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/**
 * Splits s[start, end) on commas that are outside quoted strings (with `\`
 * escapes) and outside `<...>`. Returns flat [s0, e0, s1, e1, ...] offsets of
 * the trimmed items; empty items are dropped. RFC 3261 §7.3.1.
 */
export function splitList(s: string, start: number, end: number): number[] {
  const out: number[] = [];
  let itemStart = start;
  let inQuote = false;
  let inAngle = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === 0x3c) inAngle = true;
    else if (c === 0x3e) inAngle = false;
    else if (c === 0x2c && !inAngle) {
      pushTrimmed(s, itemStart, i, out);
      itemStart = i + 1;
    }
  }
  pushTrimmed(s, itemStart, end, out);
  return out;
}

/** End offset (exclusive) of the first top-level list item in s[start, end), i.e. the index of the separating comma or `end`. */
export function firstItemEnd(s: string, start: number, end: number): number {
  let inQuote = false;
  let inAngle = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === 0x3c) inAngle = true;
    else if (c === 0x3e) inAngle = false;
    else if (c === 0x2c && !inAngle) return i;
  }
  return end;
}

function pushTrimmed(s: string, a: number, b: number, out: number[]): void {
  while (a < b && isWs(s.charCodeAt(a))) a++;
  while (b > a && isWs(s.charCodeAt(b - 1))) b--;
  if (b > a) out.push(a, b);
}

/** Replaces folded line breaks (CRLF/LF followed by SP/HT, and the whitespace around them) with one SP. RFC 3261 §7.3.1. */
export function unfold(value: string): string {
  return value.replace(/[ \t]*\r?\n[ \t]*/g, ' ');
}
