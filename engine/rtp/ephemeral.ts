import { readFileSync } from 'node:fs';

/**
 * The kernel's ephemeral port range (/proc/sys/net/ipv4/ip_local_port_range):
 * the ports the OS hands to any socket that binds port 0 or connects
 * without binding. A relay range that overlaps it competes with every
 * client socket on the box (Redis clients, DNS lookups, SIPp), and a port
 * one of them holds cannot be bound by the relay.
 */
export const EPHEMERAL_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';

export function readEphemeralRange(file = EPHEMERAL_RANGE_FILE): { min: number; max: number } | null {
  try {
    return parseEphemeralRange(readFileSync(file, 'latin1'));
  } catch {
    return null; // not Linux, or /proc not mounted: nothing to warn about
  }
}

export function parseEphemeralRange(text: string): { min: number; max: number } | null {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) return null;
  const min = Number(m[1]);
  const max = Number(m[2]);
  return min <= max ? { min, max } : null;
}

/** One line for the status when MIN-MAX overlaps the ephemeral range, null when it does not. */
export function ephemeralOverlap(min: number, max: number, eph: { min: number; max: number } | null): string | null {
  if (!eph || max < eph.min || min > eph.max) return null;
  const lo = Math.max(min, eph.min);
  const hi = Math.min(max, eph.max);
  return `ports ${lo}-${hi} of the relay range ${min}-${max} lie in the kernel's ephemeral range ${eph.min}-${eph.max} (${EPHEMERAL_RANGE_FILE}): any client socket on this box may take one, and the relay then skips it`;
}
