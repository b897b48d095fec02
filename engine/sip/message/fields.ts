/**
 * Small single-value fields: CSeq (RFC 3261 §20.16), Max-Forwards (§20.22),
 * Content-Length (§20.14). Parsed from offsets so the hot path does not slice.
 */
import { isTokenCode, isWs } from './headers';

export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** `CSeq = 1*DIGIT LWS Method`; the number must be below 2**31 (§8.1.1.5). */
export function parseCSeq(s: string, start = 0, end = s.length): CSeq | undefined {
  let i = start;
  while (i < end && isWs(s.charCodeAt(i))) i++;
  while (end > i && isWs(s.charCodeAt(end - 1))) end--;
  const ds = i;
  let seq = 0;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    seq = seq * 10 + (c - 0x30);
    i++;
  }
  if (i === ds || i - ds > 10 || seq >= 2 ** 31) return undefined;
  const ws = i;
  while (i < end && isWs(s.charCodeAt(i))) i++;
  if (i === ws) return undefined;
  const ms = i;
  while (i < end && isTokenCode(s.charCodeAt(i))) i++;
  if (i === ms || i !== end) return undefined;
  return { seq, method: s.slice(ms, end) };
}

/** `1*DIGIT` (surrounding whitespace allowed) as a number; -1 when malformed or absurdly long. */
export function parseDigits(s: string, start = 0, end = s.length): number {
  let i = start;
  while (i < end && isWs(s.charCodeAt(i))) i++;
  while (end > i && isWs(s.charCodeAt(end - 1))) end--;
  if (i === end || end - i > 9) return -1;
  let n = 0;
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n;
}
