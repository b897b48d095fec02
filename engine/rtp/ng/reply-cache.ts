/**
 * Answers a retransmitted NG request with the reply already sent, instead of
 * running it twice. Kamailio's rtpengine module resends a request it got no
 * reply to, with the same cookie; an `offer` run twice would allocate a
 * second port pair. Pure; time injected; no I/O.
 *
 * Modelled on rtpengine's cookie cache (daemon/cookie_cache.c): a request
 * being worked on is marked, and a copy arriving meanwhile is not run again;
 * once replied, the reply is kept for a while. Where we differ, on purpose:
 * - the key is cookie and sender, not the cookie alone: a cookie is only
 *   unique per sender, and two proxies can pick the same one;
 * - entries expire after exactly `ttlMs` (rtpengine swaps two generations
 *   every 30 s, so keeps a reply 30 to 60 s), and there is a bound on the
 *   number of entries, the oldest going first, so a flood of distinct
 *   cookies cannot grow the process.
 *
 * Entries live in one Map in order of their last change, which is the order
 * of their timestamps (the clock is monotonic): expiry and eviction both take
 * from the front. Amortised O(1), no timer.
 */
import { formatHostPort, type HostPort } from '../../net/host-port';

export interface NgReplyCacheOptions {
  /** Most entries kept; the oldest is dropped to make room. */
  maxEntries: number;
  /** How long a reply (or an unfinished request) is remembered. */
  ttlMs: number;
  /** Injected monotonic clock (ms). */
  monoMs: () => number;
}

/** rtpengine keeps a reply at least 30 s; Kamailio gives up on a request well before (by default it waits 1 s, 5 times: rtpengine_tout_ms, rtpengine_retr). */
export const DEFAULT_NG_REPLY_TTL_MS = 30_000;

/**
 * - `new`: not seen; it is now marked in progress, run it and `finish()`.
 * - `in-progress`: a copy of a request still being worked on: drop it; the
 *   reply to the original carries the same cookie and answers both.
 * - `replied`: a retransmission: send `reply` again.
 */
export type NgCacheState = { state: 'new' } | { state: 'in-progress' } | { state: 'replied'; reply: Buffer };

interface Entry {
  at: number;
  reply: Buffer | null;
}

export class NgReplyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly o: NgReplyCacheOptions) {}

  get size(): number {
    this.expire(this.o.monoMs());
    return this.entries.size;
  }

  /** Looks a request up and, when it is new, marks it in progress. */
  begin(cookie: string, from: HostPort): NgCacheState {
    const now = this.o.monoMs();
    this.expire(now);
    const key = keyOf(cookie, from);
    const e = this.entries.get(key);
    if (e) return e.reply ? { state: 'replied', reply: e.reply } : { state: 'in-progress' };
    this.put(key, { at: now, reply: null });
    return { state: 'new' };
  }

  /** Remembers the reply sent (errors too, as rtpengine does: the retransmission gets the same answer). */
  finish(cookie: string, from: HostPort, reply: Buffer): void {
    const now = this.o.monoMs();
    this.expire(now);
    this.put(keyOf(cookie, from), { at: now, reply });
  }

  /** Forgets a request that will get no reply (the handler gave up): a retransmission is then run afresh. */
  abandon(cookie: string, from: HostPort): void {
    this.entries.delete(keyOf(cookie, from));
  }

  private put(key: string, e: Entry): void {
    // Deleting first moves the key to the back: the Map stays in timestamp order.
    this.entries.delete(key);
    while (this.entries.size >= this.o.maxEntries && this.entries.size > 0) {
      this.entries.delete(this.entries.keys().next().value!);
    }
    if (this.o.maxEntries > 0) this.entries.set(key, e);
  }

  private expire(now: number): void {
    for (const [key, e] of this.entries) {
      if (now - e.at < this.o.ttlMs) break;
      this.entries.delete(key);
    }
  }
}

function keyOf(cookie: string, from: HostPort): string {
  // A cookie is printable ASCII without spaces, so the space cannot be ambiguous.
  return formatHostPort(from) + ' ' + cookie;
}
