/**
 * name-addr / addr-spec with header parameters, as in From, To, Contact,
 * Route, Record-Route. RFC 3261 §20.10, §25.1:
 *   (name-addr / addr-spec) *(SEMI param)
 *   name-addr = [ display-name ] LAQUOT addr-spec RAQUOT
 *   display-name = *(token LWS) / quoted-string
 */
import { isTokenCode, isWs } from './headers';
import { parseParams, quotedEnd, unquote } from './params';
import type { Params } from './params';

export interface NameAddr {
  /** Display name with quotes and escapes removed; undefined when absent. */
  readonly displayName: string | undefined;
  /** The URI text (inside `<>` when bracketed). Parse with `parseUri` when needed. */
  readonly uri: string;
  /** Whether the URI was written inside `<...>`. */
  readonly bracketed: boolean;
  /** Header parameters after the address (`;tag=`, `;expires=`), lowercase names. */
  readonly params: Params;
  /** Shortcut for `params.get('tag')` when it has a value. */
  readonly tag: string | undefined;
  readonly raw: string;
}

/** Parses one name-addr or addr-spec with header params. Undefined on malformed input. */
export function parseNameAddr(text: string): NameAddr | undefined {
  const s = text;
  let end = s.length;
  while (end > 0 && isWs(s.charCodeAt(end - 1))) end--;
  let i = 0;
  while (i < end && isWs(s.charCodeAt(i))) i++;
  if (i >= end) return undefined;
  const rawStart = i;

  let displayName: string | undefined;
  let uri: string;
  let bracketed = false;
  let after: number;

  const first = s.charCodeAt(i);
  if (first === 0x22) {
    const close = quotedEnd(s, i, end);
    if (close < 0) return undefined;
    displayName = unquote(s.slice(i, close));
    i = close;
    while (i < end && isWs(s.charCodeAt(i))) i++;
    if (s.charCodeAt(i) !== 0x3c) return undefined;
  } else {
    // Either `token token <uri>` or a bare addr-spec.
    const lt = s.indexOf('<', i);
    if (lt >= 0 && lt < end && !hasUriSchemeBefore(s, i, lt)) {
      let k = i;
      while (k < lt) {
        const c = s.charCodeAt(k);
        if (!isTokenCode(c) && !isWs(c)) return undefined;
        k++;
      }
      const name = s.slice(i, lt).trim();
      displayName = name.length > 0 ? name.replace(/\s+/g, ' ') : undefined;
      i = lt;
    }
  }

  if (s.charCodeAt(i) === 0x3c) {
    const gt = s.indexOf('>', i + 1);
    if (gt < 0 || gt >= end) return undefined;
    uri = s.slice(i + 1, gt);
    bracketed = true;
    after = gt + 1;
  } else {
    // addr-spec: "any semicolon-delimited parameters are header-parameters,
    // not URI parameters" (RFC 3261 §20.10).
    let k = i;
    while (k < end) {
      const c = s.charCodeAt(k);
      if (c === 0x3b || isWs(c)) break;
      if (c === 0x2c || c === 0x3f || c === 0x22 || c === 0x3c || c === 0x3e) return undefined;
      k++;
    }
    uri = s.slice(i, k);
    after = k;
  }
  if (!isAbsoluteUri(uri)) return undefined;
  const params = parseParams(s, after, end);
  if (params === undefined) return undefined;
  const tag = params.get('tag');
  return {
    displayName,
    uri,
    bracketed,
    params,
    tag: tag === null || tag === undefined ? undefined : tag,
    raw: s.slice(rawStart, end),
  };
}

/** `scheme ":" rest` with a valid scheme and no whitespace or angle brackets. */
function isAbsoluteUri(u: string): boolean {
  const colon = u.indexOf(':');
  if (colon < 1 || colon === u.length - 1) return false;
  const c0 = u.charCodeAt(0);
  if (!((c0 >= 0x61 && c0 <= 0x7a) || (c0 >= 0x41 && c0 <= 0x5a))) return false;
  for (let k = 1; k < colon; k++) {
    const c = u.charCodeAt(k);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e;
    if (!ok) return false;
  }
  for (let k = colon + 1; k < u.length; k++) {
    const c = u.charCodeAt(k);
    if (c <= 0x20 || c === 0x7f || c === 0x3c || c === 0x3e || c === 0x22) return false;
  }
  return true;
}

/** True when a ':' appears in s[a, b) before any whitespace — i.e. the text before '<' is an addr-spec, not a display name. */
function hasUriSchemeBefore(s: string, a: number, b: number): boolean {
  for (let k = a; k < b; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x3a) return true;
    if (isWs(c)) return false;
  }
  return false;
}
