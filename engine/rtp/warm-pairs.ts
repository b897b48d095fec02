import { readFileSync } from 'node:fs';

/**
 * How many released port pairs the relay keeps bound (warm) for the next
 * offer. Each warm pair holds two sockets, so the budget comes from the
 * process's open-file limit: half of what is left after 1,024 for
 * everything else (SIP, Redis, files, in-use relay sockets come out of the
 * other half), and never more than MAX_WARM_PAIRS.
 *
 * The pairs a relay needs warm to skip every bind: those quarantined at once,
 * released pairs/s × quarantine (1,000 calls/s × 2 pairs × 2 s = 4,000).
 */
export const MAX_WARM_PAIRS = 4_096;

export function warmPairBudget(limitsText: string | null): number {
  const soft = limitsText === null ? null : openFilesSoftLimit(limitsText);
  if (soft === null) return 0; // not Linux, or unreadable: bind per call, as before
  return Math.max(0, Math.min(MAX_WARM_PAIRS, Math.floor((soft - 1024) / 4)));
}

/** The soft "Max open files" of /proc/self/limits; null when absent or unlimited-looking garbage. */
export function openFilesSoftLimit(text: string): number | null {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m) return null;
  return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
}

export function readWarmPairBudget(file = '/proc/self/limits'): number {
  try {
    return warmPairBudget(readFileSync(file, 'latin1'));
  } catch {
    return 0;
  }
}
