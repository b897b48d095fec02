/**
 * Header parameters: `*( SEMI generic-param )`, RFC 3261 §25.1.
 * generic-param = token [ EQUAL gen-value ]; gen-value = token / host / quoted-string.
 * SEMI and EQUAL allow surrounding whitespace.
 */
import { isTokenCode, isWs, lowerAscii } from './headers';

/** Parameter map: lowercase name → value as written (quotes kept), or `null` for a valueless parameter (`;lr`, `;rport`). */
export type Params = ReadonlyMap<string, string | null>;

/** The empty list, shared: most Request-URIs and an initial INVITE's To have no parameters. */
export const NO_PARAMS: Params = new Map();

/**
 * Parses `;a=b;c` from s[start, end). Returns the map, or undefined when the
 * text is not a well-formed parameter list. A valueless param maps to null.
 */
export function parseParams(s: string, start: number, end: number): Params | undefined {
  let i = start;
  while (i < end && isWs(s.charCodeAt(i))) i++;
  if (i >= end) return NO_PARAMS;
  const out = new Map<string, string | null>();
  for (;;) {
    while (i < end && isWs(s.charCodeAt(i))) i++;
    if (i >= end) return out;
    if (s.charCodeAt(i) !== 0x3b) return undefined; // ';'
    i++;
    while (i < end && isWs(s.charCodeAt(i))) i++;
    const nameStart = i;
    while (i < end && isTokenCode(s.charCodeAt(i))) i++;
    if (i === nameStart) return undefined;
    const name = lowerAscii(s.slice(nameStart, i));
    let j = i;
    while (j < end && isWs(s.charCodeAt(j))) j++;
    if (j < end && s.charCodeAt(j) === 0x3d) {
      // '='
      j++;
      while (j < end && isWs(s.charCodeAt(j))) j++;
      const valueStart = j;
      if (j < end && s.charCodeAt(j) === 0x22) {
        const close = quotedEnd(s, j, end);
        if (close < 0) return undefined;
        j = close;
      } else {
        // token / host (IPv6 reference allowed: brackets and colons)
        while (j < end) {
          const c = s.charCodeAt(j);
          if (isTokenCode(c) || c === 0x3a || c === 0x5b || c === 0x5d) j++;
          else break;
        }
        if (j === valueStart) return undefined;
      }
      out.set(name, s.slice(valueStart, j));
      i = j;
    } else {
      out.set(name, null);
    }
  }
}

/**
 * Given s[i] === '"', returns the index just past the closing quote, or -1 if
 * the quoted string is unterminated. Honours `\` escapes (quoted-pair).
 */
export function quotedEnd(s: string, i: number, end: number): number {
  for (let j = i + 1; j < end; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
  return -1;
}

/** Removes the surrounding quotes and `\` escapes of a quoted-string. RFC 3261 §25.1 quoted-pair. */
export function unquote(q: string): string {
  if (q.length < 2 || q.charCodeAt(0) !== 0x22) return q;
  const inner = q.slice(1, -1);
  return inner.includes('\\') ? inner.replace(/\\(.)/gs, '$1') : inner;
}

/** Quotes a display name, escaping `"` and `\`. */
export function quote(s: string): string {
  return '"' + s.replace(/["\\]/g, '\\$&') + '"';
}
