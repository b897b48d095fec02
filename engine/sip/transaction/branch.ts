/**
 * Via branch ids: "The branch ID inserted by an element compliant with this
 * specification MUST always begin with the characters "z9hG4bK"" and "MUST be
 * unique across space and time for all requests sent by the UA" (RFC 3261 §8.1.1.7).
 *
 * A random per-process prefix (drawn once) plus a counter: unique within the
 * process by construction, across restarts and hosts by the 64-bit prefix,
 * and cheap per call (no crypto, one short string concat).
 */
import { randomBytes } from 'node:crypto';

export const MAGIC_COOKIE = 'z9hG4bK';

/** Returns a generator of fresh branch ids, e.g. `z9hG4bK3f9a0c1d2e4b5a6c.1k`. */
export function createBranchGenerator(prefix: string = randomBytes(8).toString('hex')): () => string {
  const head = `${MAGIC_COOKIE}${prefix}.`;
  let counter = 0;
  return () => {
    counter = counter === Number.MAX_SAFE_INTEGER ? 0 : counter + 1;
    return head + counter.toString(36);
  };
}

/** The process-wide generator. */
export const newBranch: () => string = createBranchGenerator();

/** Whether a branch was minted by an RFC 3261 element (else match by the RFC 2543 rules). */
export function hasMagicCookie(branch: string | undefined): branch is string {
  return branch !== undefined && branch.startsWith(MAGIC_COOKIE);
}
