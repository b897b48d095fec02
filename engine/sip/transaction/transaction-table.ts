/**
 * Transaction matching (RFC 3261 §17.1.3, §17.2.3) and the bounded table of
 * live transactions.
 *
 * Key functions take plain fields: the caller extracts them from the parsed
 * message, so this layer never depends on the parser. Keys are prefixed by
 * side ("c" client, "s" server, "l" RFC 2543 server) so a request that loops
 * back to us with our own branch cannot hit one of our client transactions.
 */
import { hasMagicCookie } from './branch';
import type { TransactionKind } from './machine';

/**
 * Client side (§17.1.3): a response matches "if the response has the same value
 * of the branch parameter in the top Via header field as the branch parameter in
 * the top Via header field of the request that created the transaction" and "if
 * the method parameter in the CSeq header field matches the method of the request".
 * The CSeq method keeps a CANCEL's responses apart from the INVITE's, which share the branch.
 */
export function clientKey(branch: string, cseqMethod: string): string {
  return `c|${branch}|${cseqMethod}`;
}

/**
 * Server side, RFC 3261 requests (branch starts with z9hG4bK, §17.2.3): "the
 * branch parameter in the request is equal to the one in the top Via header
 * field of the request that created the transaction", "the sent-by value in the
 * top Via of the request is equal to the one in the request that created the
 * transaction", and "the method of the request matches the one that created the
 * transaction, except for ACK, where the method of the request that created the
 * transaction is INVITE". CANCEL keeps its own method, so it is its own transaction.
 *
 * `sentBy` is the top Via's host[:port]; the host is compared case-insensitively.
 */
export function serverKey(branch: string, sentBy: string, method: string): string {
  return `s|${branch}|${sentBy.toLowerCase()}|${method === 'ACK' ? 'INVITE' : method}`;
}

/** The facts §17.2.3 needs for a request without the magic cookie (RFC 2543 peers). */
export interface LegacyRequestFields {
  requestUri: string;
  toTag: string | undefined;
  fromTag: string | undefined;
  callId: string;
  cseqNumber: number;
  /** The request's method (the CSeq method). */
  method: string;
  /** The top Via header field value as received. */
  topVia: string;
}

/**
 * Server side, RFC 2543 requests (§17.2.3): INVITE matches on "Request-URI, To
 * tag, From tag, Call-ID, CSeq, and top Via"; ACK on the same fields with the
 * CSeq number only and the To tag "of the response sent by the server
 * transaction". Because the ACK carries the tag we added, the To tag is left out
 * of INVITE/ACK keys (a retransmitted INVITE has the same tag anyway); the proxy
 * core may compare it against the response it sent. Other methods match on all
 * fields including the To tag and the CSeq method.
 */
export function legacyServerKey(f: LegacyRequestFields): string {
  const inviteOrAck = f.method === 'INVITE' || f.method === 'ACK';
  const method = f.method === 'ACK' ? 'INVITE' : f.method;
  const toTag = inviteOrAck ? '' : (f.toTag ?? '');
  return `l|${f.requestUri}|${toTag}|${f.fromTag ?? ''}|${f.callId}|${f.cseqNumber} ${method}|${f.topVia}`;
}

/** Everything a server-side lookup may need; `legacy` is only read when the branch lacks the cookie. */
export interface ServerRequestFields {
  branch: string | undefined;
  sentBy: string;
  method: string;
  legacy?: Omit<LegacyRequestFields, 'method'>;
}

/**
 * The server transaction key for an incoming request, choosing the RFC 3261 or
 * RFC 2543 rule by the magic cookie. Returns undefined for a cookie-less request
 * without legacy fields (the caller answers it statelessly or rejects it).
 */
export function serverKeyFor(f: ServerRequestFields): string | undefined {
  if (hasMagicCookie(f.branch)) return serverKey(f.branch, f.sentBy, f.method);
  return f.legacy === undefined ? undefined : legacyServerKey({ ...f.legacy, method: f.method });
}

/**
 * The INVITE server transaction a CANCEL targets: "the CANCEL request matches
 * the INVITE ... if [it] would match using the transaction matching procedures
 * of Section 17.2.3" with the method taken as INVITE (RFC 3261 §9.2).
 */
export function cancelTargetKey(f: ServerRequestFields): string | undefined {
  return serverKeyFor({ ...f, method: 'INVITE' });
}

export type AddResult = 'added' | 'full' | 'duplicate';

export interface TransactionTableOptions {
  /** Live transactions allowed before `add` refuses (the proxy answers 503). Default 100,000. */
  max?: number;
}

export const DEFAULT_MAX_TRANSACTIONS = 100_000;

/**
 * Live transactions by key, bounded. The machine's `onTerminated` should call
 * `remove(key, tx)` so the table only holds live transactions.
 */
export class TransactionTable<T extends { readonly kind: TransactionKind }> {
  readonly max: number;
  readonly #map = new Map<string, T>();
  readonly #counts: Record<TransactionKind, number> = {
    'invite-client': 0,
    'non-invite-client': 0,
    'invite-server': 0,
    'non-invite-server': 0,
  };
  #rejected = 0;

  constructor(opts: TransactionTableOptions = {}) {
    this.max = opts.max ?? DEFAULT_MAX_TRANSACTIONS;
  }

  /** Register a new transaction. 'full' counts a rejection; 'duplicate' leaves the existing one. */
  add(key: string, tx: T): AddResult {
    if (this.#map.has(key)) return 'duplicate';
    if (this.#map.size >= this.max) {
      this.#rejected++;
      return 'full';
    }
    this.#map.set(key, tx);
    this.#counts[tx.kind]++;
    return 'added';
  }

  get(key: string): T | undefined {
    return this.#map.get(key);
  }

  /** Remove by key; with `tx`, only if that exact transaction is still the one stored. */
  remove(key: string, tx?: T): boolean {
    const cur = this.#map.get(key);
    if (cur === undefined || (tx !== undefined && cur !== tx)) return false;
    this.#map.delete(key);
    this.#counts[cur.kind]--;
    return true;
  }

  get size(): number {
    return this.#map.size;
  }

  /** Transactions refused because the table was full, since creation. */
  get rejected(): number {
    return this.#rejected;
  }

  /** Live transactions by kind (a copy). */
  counts(): Record<TransactionKind, number> {
    return { ...this.#counts };
  }

  values(): IterableIterator<T> {
    return this.#map.values();
  }
}
