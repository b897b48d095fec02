/**
 * SIP, SIPS and tel URIs. RFC 3261 §19.1, §25.1; RFC 3966 for tel.
 * Pure; returns undefined on anything malformed, never throws.
 */
import { NO_PARAMS, type Params } from './params';

export interface SipUri {
  readonly scheme: 'sip' | 'sips' | 'tel';
  /** User part as written (still %-escaped). For tel: the telephone-subscriber number. */
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** Host as written, lowercased; IPv6 references keep their brackets (`[2001:db8::1]`). Empty for tel. */
  readonly host: string;
  readonly port: number | undefined;
  /** URI parameters, lowercase names; valueless ones (`;lr`) map to null. */
  readonly params: Params;
  /** URI headers (`?subject=x&priority=urgent`), names as written. */
  readonly headers: ReadonlyMap<string, string>;
  /** The text that was parsed. */
  readonly raw: string;
}

/** Parses `sip:`, `sips:` or `tel:` URIs. */
export function parseUri(text: string): SipUri | undefined {
  const raw = text.trim();
  const colon = raw.indexOf(':');
  if (colon < 3 || colon > 4) return undefined;
  const scheme = raw.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') return undefined;
  for (let i = colon + 1; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3c || c === 0x3e || c === 0x22) return undefined;
  }
  if (scheme === 'tel') {
    const semi = raw.indexOf(';', colon + 1);
    const numEnd = semi < 0 ? raw.length : semi;
    const user = raw.slice(colon + 1, numEnd);
    if (!/^\+?[0-9A-Fa-f*#.()-]+$/.test(user) || !/[0-9A-Fa-f*#]/.test(user)) return undefined;
    const params = uriParams(raw, numEnd, raw.length);
    if (params === undefined) return undefined;
    return { scheme, user, password: undefined, host: '', port: undefined, params, headers: new Map(), raw };
  }

  const rest = colon + 1;
  const at = raw.indexOf('@', rest);
  let user: string | undefined;
  let password: string | undefined;
  let hostStart = rest;
  if (at >= 0) {
    const userinfo = raw.slice(rest, at);
    const pc = userinfo.indexOf(':');
    user = pc < 0 ? userinfo : userinfo.slice(0, pc);
    password = pc < 0 ? undefined : userinfo.slice(pc + 1);
    if (user.length === 0) return undefined;
    hostStart = at + 1;
  }
  const q = raw.indexOf('?', hostStart);
  const end = q < 0 ? raw.length : q;
  let i = hostStart;
  let host: string;
  if (raw.charCodeAt(i) === 0x5b) {
    const close = raw.indexOf(']', i);
    if (close < 0 || close > end) return undefined;
    host = raw.slice(i, close + 1);
    if (!isIpv6Reference(host)) return undefined;
    i = close + 1;
  } else {
    while (i < end) {
      const c = raw.charCodeAt(i);
      if (c === 0x3a || c === 0x3b) break;
      i++;
    }
    host = raw.slice(hostStart, i);
    if (!isHostname(host)) return undefined;
  }
  let port: number | undefined;
  if (i < end && raw.charCodeAt(i) === 0x3a) {
    const ps = ++i;
    while (i < end && raw.charCodeAt(i) >= 0x30 && raw.charCodeAt(i) <= 0x39) i++;
    port = parsePort(raw, ps, i);
    if (port === undefined) return undefined;
  }
  if (i < end && raw.charCodeAt(i) !== 0x3b) return undefined;
  const params = uriParams(raw, i, end);
  if (params === undefined) return undefined;
  const headers = new Map<string, string>();
  if (q >= 0) {
    for (const pair of raw.slice(q + 1).split('&')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) return undefined;
      headers.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  }
  return { scheme, user, password, host: host.toLowerCase(), port, params, headers, raw };
}

/** Port digits in s[a, b) as a number in 1..65535, else undefined. */
export function parsePort(s: string, a: number, b: number): number | undefined {
  if (b <= a || b - a > 5) return undefined;
  let n = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    n = n * 10 + (c - 0x30);
  }
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** hostname / IPv4address: alphanumerics, '-', '.', not empty. */
export function isHostname(h: string): boolean {
  if (h.length === 0 || h.length > 255) return false;
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
    if (!ok) return false;
  }
  return true;
}

/** `[` IPv6address `]` — hex digits, colons and an optional dotted IPv4 tail. */
export function isIpv6Reference(h: string): boolean {
  if (h.length < 4 || h.charCodeAt(0) !== 0x5b || h.charCodeAt(h.length - 1) !== 0x5d) return false;
  let colons = 0;
  for (let i = 1; i < h.length - 1; i++) {
    const c = h.charCodeAt(i);
    if (c === 0x3a) colons++;
    else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) || c === 0x2e)) return false;
  }
  return colons >= 2 && colons <= 7;
}

function uriParams(s: string, start: number, end: number): Params | undefined {
  if (start >= end) return NO_PARAMS;
  if (s.charCodeAt(start) !== 0x3b) return undefined;
  const out = new Map<string, string | null>();
  for (const part of s.slice(start + 1, end).split(';')) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    if (name.length === 0) return undefined;
    out.set(name, eq < 0 ? null : part.slice(eq + 1));
  }
  return out;
}
