/**
 * The branch a proxy puts in its Via, built so a loop can be told from a
 * spiral (RFC 3261 §16.6 step 8, §16.3 step 4).
 *
 * §16.6 step 8 suggests a branch in two parts: one unique per transaction,
 * and a hash of what makes a request "the same request" to a proxy — the To
 * tag, From tag, Call-ID, the Request-URI as received, the top Via as
 * received, the CSeq number, Proxy-Require and Proxy-Authorization. When a
 * request comes back carrying our sent-by (§16.3 step 4), the same hash over
 * it names a loop when it matches the one in our Via: nothing that matters
 * changed on the way round. A spiral — the request routed back to us with a
 * new Request-URI, say — hashes differently and is forwarded.
 *
 * One departure, the one every proxy makes: "the top Via as received" is
 * read, on the returning request, from the Via just below ours (the one that
 * was on top when we first received it), not from its current top Via, which
 * the next hop wrote; and of that Via only its sent-by and branch, since we
 * add `received` and `rport` to it when we forward (§18.2.1, RFC 3581).
 */
import { randomBytes } from 'node:crypto';
import type { SipMessage, Via } from '../message';
import { MAGIC_COOKIE } from '../transaction';

/** Every branch this proxy mints starts with this: a response whose top Via lacks it is not ours (§16.7 step 1). */
export const PROXY_BRANCH_MARK = `${MAGIC_COOKIE}cp`;

/** A Via's sent-by as compared (host[:port]). */
export function sentByOf(v: Via): string {
  return v.port === undefined ? v.host : `${v.host}:${v.port}`;
}

/**
 * The loop-detection hash of a request as received: two FNV-1a passes over
 * the §16.6 step 8 fields (64 bits in all), base 36. `receivedTopVia` is the
 * Via that was on top when this proxy received the request.
 */
export function loopHash(msg: SipMessage, receivedTopVia: Via | undefined): string {
  let text = (msg.to.tag ?? '') + '\n' + (msg.from.tag ?? '') + '\n' + msg.callId + '\n' + (msg.uri ?? '') + '\n' + (receivedTopVia ? sentByOf(receivedTopVia) + ';' + (receivedTopVia.branch ?? '') : '') + '\n' + msg.cseq.seq;
  if (msg.hasHeader('proxy-require')) text += '\n' + msg.headerValues('proxy-require').join(',');
  if (msg.hasHeader('proxy-authorization')) text += '\n' + msg.headers('proxy-authorization').join('\n');
  return fnv1a(text, 0x811c9dc5).toString(36) + fnv1a(text, 0x01000193).toString(36);
}

/** Branches for forwarded requests: mark + loop hash + "." + a per-process prefix and counter (unique across space and time, §8.1.1.7). */
export function createProxyBranchGenerator(prefix: string = randomBytes(6).toString('hex')): (hash: string) => string {
  let counter = 0;
  return (hash) => {
    counter = counter === Number.MAX_SAFE_INTEGER ? 0 : counter + 1;
    return PROXY_BRANCH_MARK + hash + '.' + prefix + counter.toString(36);
  };
}

/**
 * §16.3 step 4: `loop` when a Via with our sent-by carries the hash this
 * request has now, `spiral` when our sent-by is there but every such hash
 * differs, `none` when the request has not been here.
 */
export function loopCheck(msg: SipMessage, selfSentBy: string): 'loop' | 'spiral' | 'none' {
  const vias = msg.vias();
  let seen = false;
  for (let i = 0; i < vias.length; i++) {
    const v = vias[i]!;
    if (sentByOf(v) !== selfSentBy) continue;
    seen = true;
    if (v.branch?.startsWith(PROXY_BRANCH_MARK + loopHash(msg, vias[i + 1]) + '.')) return 'loop';
  }
  return seen ? 'spiral' : 'none';
}

function fnv1a(s: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
