/**
 * Serialize by splicing: the output is the original bytes with a few ranges
 * replaced, so untouched headers go out exactly as they came in (compact
 * names, folding, odd spacing and all). This is what a proxy does to a
 * request it forwards (RFC 3261 §16.6) and to a response it relays (§16.7).
 */
import { assemble, bodyBytes, latin1Bytes } from './bytes';
import { canonicalName, displayName, firstItemEnd, isWs } from './headers';
import { SPAN } from './message';
import type { Layout, SipMessage } from './message';
import { setViaParams } from './via';

export interface SpliceEdits {
  /** Replace the Request-URI (requests only; ignored on responses). RFC 3261 §16.6 step 2. */
  readonly requestUri?: string;
  /** A via-parm to insert as a new `Via:` line before the first Via line (it becomes the top Via). §16.6 step 8. */
  readonly prependVia?: string;
  /** A Record-Route value inserted before any existing Record-Route (else after the Via lines). §16.6 step 4. */
  readonly recordRoute?: string;
  /** Remove the top via-parm: only the first value if the first Via line holds several, else the line. §16.7 step 3. */
  readonly removeTopVia?: boolean;
  /**
   * Set params on the (original) top via-parm, replacing same-named ones
   * (`;rport` → `;rport=5060`). Ignored when removeTopVia is set.
   * RFC 3261 §18.2.1 (received), RFC 3581 §4 (rport).
   */
  readonly topViaParams?: ReadonlyArray<readonly [string, string | null]>;
  /** Remove the first Route value (same comma rule as Via). §16.4 / §16.12. */
  readonly removeFirstRoute?: boolean;
  /** Replace the value of the first field with this name, or append the field if absent (Max-Forwards). */
  readonly set?: ReadonlyArray<readonly [string, string]>;
  /** Remove every line of these fields. */
  readonly remove?: readonly string[];
  /** Append these fields after the last header. */
  readonly add?: ReadonlyArray<readonly [string, string]>;
  /** New body (Content-Length is rewritten). When absent the original body is kept. */
  readonly body?: Buffer | string;
}

/**
 * Returns the message with the edits applied, untouched bytes copied
 * verbatim. Content-Length is always made correct (rewritten when the body
 * changes, added when it was absent — RFC 3261 §18.3 requires it on streams).
 * Leading CRLFs are dropped. Overlapping edits: the one starting first wins.
 * Content-Length in `set`/`remove` is ignored (managed here).
 */
export function spliceMessage(msg: SipMessage, edits: SpliceEdits): Buffer {
  const L = msg.layout;
  const { head, names, spans } = L;
  const ops: Op[] = [];
  let tail = '';

  if (edits.requestUri !== undefined && msg.isRequest) ops.push(op(L.uriStart, L.uriEnd, latin1Bytes(edits.requestUri), 0));

  const firstVia = names.indexOf('via');
  if (edits.prependVia !== undefined) {
    const at = firstVia >= 0 ? lineStart(L, firstVia) : L.startLineEnd;
    ops.push(op(at, at, 'Via: ' + latin1Bytes(edits.prependVia) + '\r\n', 0));
  }
  if (edits.recordRoute !== undefined) {
    // "inserted into the copy before any existing Record-Route header field
    // values" (§16.6 step 4); with none, after the Via block (order across
    // different field names carries no meaning, §7.3.1).
    const line = 'Record-Route: ' + latin1Bytes(edits.recordRoute) + '\r\n';
    let rr = names.indexOf('record-route');
    if (rr < 0) rr = names.findIndex((n) => n !== 'via');
    if (rr >= 0) ops.push(op(lineStart(L, rr), lineStart(L, rr), line, 1));
    else tail += line;
  }
  if (firstVia >= 0) {
    if (edits.removeTopVia === true) ops.push(removeFirstValue(L, firstVia));
    else if (edits.topViaParams !== undefined && edits.topViaParams.length > 0) {
      const vs = spans[firstVia * SPAN + 1] as number;
      let fe = firstItemEnd(head, vs, spans[firstVia * SPAN + 2] as number);
      while (fe > vs && isWs(head.charCodeAt(fe - 1))) fe--;
      const params = edits.topViaParams.map(([n, v]) => [latin1Bytes(n), v === null ? null : latin1Bytes(v)] as const);
      ops.push(op(vs, fe, setViaParams(head.slice(vs, fe), params), 2));
    }
  }
  if (edits.removeFirstRoute === true) {
    const r = names.indexOf('route');
    if (r >= 0) ops.push(removeFirstValue(L, r));
  }
  if (edits.remove !== undefined && edits.remove.length > 0) {
    const drop = edits.remove.map(canonicalName);
    for (let i = 0; i < names.length; i++) {
      const n = names[i] as string;
      if (n !== 'content-length' && drop.includes(n)) ops.push(op(lineStart(L, i), spans[i * SPAN + 3] as number, '', 3));
    }
  }
  if (edits.set !== undefined) {
    for (const [name, value] of edits.set) {
      const key = canonicalName(name);
      if (key === 'content-length') continue;
      const i = names.indexOf(key);
      if (i >= 0) ops.push(op(spans[i * SPAN + 1] as number, spans[i * SPAN + 2] as number, latin1Bytes(value), 4));
      else tail += displayName(key) + ': ' + latin1Bytes(value) + '\r\n';
    }
  }
  if (edits.add !== undefined) {
    for (const [name, value] of edits.add) tail += displayName(canonicalName(name)) + ': ' + latin1Bytes(value) + '\r\n';
  }

  const body = edits.body !== undefined ? bodyBytes(edits.body) : L.buf.subarray(L.bodyStart, L.bodyEnd);
  const cl = names.indexOf('content-length');
  if (cl >= 0) {
    const vs = spans[cl * SPAN + 1] as number;
    const ve = spans[cl * SPAN + 2] as number;
    if (edits.body !== undefined || msg.contentLength !== body.length || ve - vs !== String(body.length).length) {
      ops.push(op(vs, ve, String(body.length), 5));
    }
  } else tail += 'Content-Length: ' + body.length + '\r\n';

  sortByPosition(ops);
  let out = '';
  let cursor = L.start;
  for (const o of ops) {
    if (o.s < cursor) continue;
    out += head.slice(cursor, o.s) + o.t;
    cursor = o.e;
  }
  out += head.slice(cursor, L.headEnd);
  // A datagram may end without terminating its last header line.
  if (out.charCodeAt(out.length - 1) !== 0x0a) out += '\r\n';
  out += tail + '\r\n';
  return assemble(out, body);
}

interface Op {
  readonly s: number;
  readonly e: number;
  readonly t: string;
  readonly ord: number;
}

function op(s: number, e: number, t: string, ord: number): Op {
  return { s, e, t, ord };
}

/** Insertion sort, in place: a splice has at most a handful of edits, and Array#sort allocated on every forwarded message. */
function sortByPosition(ops: Op[]): void {
  for (let i = 1; i < ops.length; i++) {
    const o = ops[i]!;
    let j = i - 1;
    while (j >= 0 && (ops[j]!.s > o.s || (ops[j]!.s === o.s && ops[j]!.ord > o.ord))) {
      ops[j + 1] = ops[j]!;
      j--;
    }
    ops[j + 1] = o;
  }
}

function lineStart(L: Layout, i: number): number {
  return L.spans[i * SPAN] as number;
}

/** Removes the first comma-separated value of header line i, or the whole line when it holds one value. */
function removeFirstValue(L: Layout, i: number): Op {
  const b = i * SPAN;
  const vs = L.spans[b + 1] as number;
  const ve = L.spans[b + 2] as number;
  const fe = firstItemEnd(L.head, vs, ve);
  let next = fe + 1;
  while (next < ve && isWs(L.head.charCodeAt(next))) next++;
  if (fe >= ve || next >= ve) return op(L.spans[b] as number, L.spans[b + 3] as number, '', 3);
  return op(vs, next, '', 3);
}
