/**
 * How many SIP/TCP connections the proxy keeps, and for how long. Every
 * connection is a file descriptor of the one process that also serves the
 * console (HTTP API, WebSocket), writes recordings and exports and talks to
 * Redis. Without a bound, ~20,000 idle connections from one client took every
 * descriptor: the HTTP API reset its connections and new SIP/TCP connections
 * were accepted and closed unseen (libuv's EMFILE handling). So the total is
 * derived from the process's descriptor limit with room left for the console.
 */
import { readFileSync } from 'node:fs';

export interface TcpLimits {
  /** Connections open at once, incoming and outgoing. */
  maxConnections: number;
  /** Incoming connections open at once from one source address. */
  maxPerSource: number;
  /** A connection with nothing read or written for this long is closed (ms). */
  idleMs: number;
}

/** What a config asks for; null = derived from the descriptor limit. */
export interface TcpLimitSettings {
  maxConnections: number | null;
  maxPerSource: number | null;
  idleS: number;
}

export const DEFAULT_TCP_IDLE_S = 120;
/** The default total never exceeds this (Kamailio's `tcp_max_connections` default is 2048): each connection may buffer up to 64 KiB of an incomplete message. */
const MAX_DEFAULT_CONNECTIONS = 4096;
/** Used when the descriptor limit cannot be read (not Linux): the usual soft limit. */
const FALLBACK_NOFILE = 1024;

/**
 * The soft RLIMIT_NOFILE of this process — the limit `open()`, `accept()` and
 * `socket()` fail at with EMFILE — from /proc/self/limits ("Max open files").
 * Node has no getrlimit(); where /proc is missing, 1024 is assumed and said.
 */
export function readOpenFileLimit(readFile: (path: string) => string = (p) => readFileSync(p, 'latin1')): { soft: number; source: string } {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(readFile('/proc/self/limits'));
    if (m) return { soft: m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]), source: '/proc/self/limits' };
  } catch {
    // Not Linux, or /proc not mounted: fall through.
  }
  return { soft: FALLBACK_NOFILE, source: 'assumed (no /proc/self/limits)' };
}

/**
 * Defaults from a soft descriptor limit: the total leaves a quarter of the
 * descriptors (at least 256) to the rest of the process, up to 4,096; one
 * source address may hold a quarter of that. At a limit of 1,024: 768 and 192;
 * at 20,000: 4,096 and 1,024. A bound set by hand wins, but the total never
 * exceeds what the descriptor limit leaves (the point of the bound).
 */
export function resolveTcpLimits(s: TcpLimitSettings, softNoFile: number): TcpLimits {
  const room = Math.max(16, softNoFile - Math.max(256, Math.floor(softNoFile / 4)));
  const maxConnections = Math.min(s.maxConnections ?? MAX_DEFAULT_CONNECTIONS, room);
  const maxPerSource = Math.min(s.maxPerSource ?? Math.max(1, Math.floor(maxConnections / 4)), maxConnections);
  return { maxConnections, maxPerSource, idleMs: s.idleS * 1000 };
}
