/**
 * Via values. RFC 3261 §20.42, §25.1:
 *   via-parm = sent-protocol LWS sent-by *( SEMI via-params )
 *   sent-protocol = protocol-name SLASH protocol-version SLASH transport
 *   sent-by = host [ COLON port ]
 */
import { isTokenCode, isWs, lowerAscii, splitList } from './headers';
import { parseParams } from './params';
import type { Params } from './params';
import { isHostname, isIpv6Reference, parsePort } from './uri';

export interface Via {
  /** `SIP/2.0` (name and version uppercased). */
  readonly protocol: string;
  /** Transport uppercased: `UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS`. */
  readonly transport: string;
  /** sent-by host as written, lowercased; IPv6 keeps brackets. */
  readonly host: string;
  readonly port: number | undefined;
  /** Lowercase names; valueless params (`;rport`) map to null. */
  readonly params: Params;
  /** `params.get('branch')` when it has a value. */
  readonly branch: string | undefined;
  /** The via-parm text as written (trimmed). */
  readonly raw: string;
}

/** Parses one via-parm in s[start, end). */
export function parseViaValue(s: string, start = 0, end = s.length): Via | undefined {
  let i = start;
  while (i < end && isWs(s.charCodeAt(i))) i++;
  while (end > i && isWs(s.charCodeAt(end - 1))) end--;
  const rawStart = i;
  const name = token(s, i, end);
  if (name === i) return undefined;
  const protoName = s.slice(i, name);
  i = slash(s, name, end);
  if (i < 0) return undefined;
  const ver = token(s, i, end);
  if (ver === i) return undefined;
  const protoVer = s.slice(i, ver);
  i = slash(s, ver, end);
  if (i < 0) return undefined;
  const tr = token(s, i, end);
  if (tr === i) return undefined;
  const transport = upper(s.slice(i, tr));
  i = tr;
  const lws = i;
  while (i < end && isWs(s.charCodeAt(i))) i++;
  if (i === lws) return undefined;

  let host: string;
  if (s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf(']', i);
    if (close < 0 || close >= end) return undefined;
    host = s.slice(i, close + 1);
    if (!isIpv6Reference(host)) return undefined;
    i = close + 1;
  } else {
    const hs = i;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c === 0x3a || c === 0x3b || isWs(c)) break;
      i++;
    }
    host = s.slice(hs, i);
    if (!isHostname(host)) return undefined;
  }
  let j = i;
  while (j < end && isWs(s.charCodeAt(j))) j++;
  let port: number | undefined;
  if (j < end && s.charCodeAt(j) === 0x3a) {
    j++;
    while (j < end && isWs(s.charCodeAt(j))) j++;
    const ps = j;
    while (j < end && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x39) j++;
    port = parsePort(s, ps, j);
    if (port === undefined) return undefined;
    i = j;
  }
  const params = parseParams(s, i, end);
  if (params === undefined) return undefined;
  const branch = params.get('branch');
  return {
    protocol: protoName === 'SIP' && protoVer === '2.0' ? 'SIP/2.0' : (protoName + '/' + protoVer).toUpperCase(),
    transport,
    host: lowerAscii(host),
    port,
    params,
    branch: branch === null || branch === undefined ? undefined : branch,
    raw: s.slice(rawStart, end),
  };
}

/** Parses a whole Via field value (possibly several comma-separated via-parms). Undefined if any is malformed. */
export function parseVia(value: string): Via[] | undefined {
  const ranges = splitList(value, 0, value.length);
  if (ranges.length === 0) return undefined;
  const out: Via[] = [];
  for (let k = 0; k < ranges.length; k += 2) {
    const v = parseViaValue(value, ranges[k] as number, ranges[k + 1] as number);
    if (v === undefined) return undefined;
    out.push(v);
  }
  return out;
}

/**
 * Returns `raw` (one via-parm) with the given params set: existing params of
 * the same name are replaced in place (so a valueless `;rport` becomes
 * `;rport=5060`), new ones are appended. `null` writes a valueless param.
 * RFC 3261 §18.2.1 (received), RFC 3581 §4 (rport).
 */
export function setViaParams(raw: string, params: ReadonlyArray<readonly [string, string | null]>): string {
  let out = raw;
  for (const [name, value] of params) {
    const text = value === null ? ';' + name : ';' + name + '=' + value;
    const seg = findParam(out, name.toLowerCase());
    out = seg < 0 ? out + text : out.slice(0, seg) + text + out.slice(paramEnd(out, seg));
  }
  return out;
}

/** Index of the ';' that starts param `name` (lowercase) in a via-parm, or -1. */
function findParam(s: string, name: string): number {
  let i = s.indexOf(';');
  while (i >= 0) {
    let k = i + 1;
    while (k < s.length && isWs(s.charCodeAt(k))) k++;
    const ns = k;
    while (k < s.length && isTokenCode(s.charCodeAt(k))) k++;
    if (k - ns === name.length && s.slice(ns, k).toLowerCase() === name) return i;
    i = s.indexOf(';', paramEnd(s, i));
  }
  return -1;
}

/** End of the param starting at the ';' at index i: the next top-level ';' or the end. */
function paramEnd(s: string, i: number): number {
  for (let k = i + 1; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x22) {
      for (k++; k < s.length; k++) {
        const d = s.charCodeAt(k);
        if (d === 0x5c) k++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x3b) {
      let e = k;
      while (e > i && isWs(s.charCodeAt(e - 1))) e--;
      return e;
    }
  }
  let e = s.length;
  while (e > i && isWs(s.charCodeAt(e - 1))) e--;
  return e;
}

function upper(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) return s.toUpperCase();
  }
  return s;
}

function token(s: string, i: number, end: number): number {
  while (i < end && isTokenCode(s.charCodeAt(i))) i++;
  return i;
}

/** Skips `SWS "/" SWS`; returns the index after, or -1. */
function slash(s: string, i: number, end: number): number {
  while (i < end && isWs(s.charCodeAt(i))) i++;
  if (s.charCodeAt(i) !== 0x2f) return -1;
  i++;
  while (i < end && isWs(s.charCodeAt(i))) i++;
  return i;
}

