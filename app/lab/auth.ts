import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'callpath_token';

export function generateToken(): string {
  return randomBytes(24).toString('hex');
}

/**
 * Token from `Authorization: Bearer T`, `?token=T`, or the cookie the server
 * sets after a first authenticated page load (so assets and reloads work
 * without the token in every URL, like Jupyter).
 */
export function presentedToken(req: IncomingMessage, url: URL): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const q = url.searchParams.get('token');
  if (q) return q;
  const cookie = req.headers.cookie;
  if (cookie) {
    for (const part of cookie.split(';')) {
      const [k, ...v] = part.trim().split('=');
      if (k === TOKEN_COOKIE) return decodeURIComponent(v.join('='));
    }
  }
  return null;
}

export function tokenMatches(presented: string | null, expected: string): boolean {
  if (presented === null) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * DNS-rebinding guard: a page on evil.example resolving to 127.0.0.1 sends
 * `Host: evil.example`. On a loopback bind only loopback names are accepted.
 */
export function hostHeaderAllowed(hostHeader: string | undefined, boundHost: string, port: number): boolean {
  if (!hostHeader) return false;
  if (!isLoopbackHost(boundHost)) return true;
  const allowed = ['127.0.0.1', 'localhost', '[::1]', boundHost.includes(':') ? `[${boundHost}]` : boundHost];
  return allowed.some((h) => hostHeader === `${h}:${port}` || (port === 80 && hostHeader === h));
}

function isLoopbackHost(h: string): boolean {
  return h === '::1' || h === 'localhost' || h.startsWith('127.');
}
