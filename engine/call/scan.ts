/**
 * Queries over every stored call, run in the engine so that a filter, a sort
 * and "Export N calls…" see all the store holds, not the window a UI has.
 * The parts that read a call's entries (headers, methods, statuses,
 * addresses) are here; the scan is sliced so a regular expression over
 * 10,000 calls' headers does not hold the host's event loop.
 */
import type { SipCaptureEvent } from '../events';
import { canonicalName, parseMessage } from '../sip/message';
import type { CallRecord } from './model';
import { compareCalls, compileFilter, matchesFacts, needsEntries, type CallFacts, type CallFilter, type CallSort, type CompiledFilter, type Matcher } from './query';

/** The whole filter, entries included (engine side). */
export function matchesCall(c: CallRecord, facts: CallFacts, cf: CompiledFilter): boolean {
  if (!matchesFacts(facts, cf)) return false;
  const f = cf.filter;
  if (!needsEntries(f)) return true;
  const address = f.address.trim();
  let status = f.status === null;
  let method = f.method === null;
  let addr = address === '';
  let header = cf.header === null;
  for (const e of c.entries) {
    if (!addr && (('src' in e && e.src.includes(address)) || ('dst' in e && e.dst.includes(address)) || ('at' in e && e.at.includes(address)))) addr = true;
    if (e.kind !== 'sip') continue;
    if (!status && e.status === f.status) status = true;
    if (!method && e.method !== null && e.method.toUpperCase() === f.method!.toUpperCase()) method = true;
    if (!header && headerMatches(e, cf.header!)) header = true;
    if (status && method && addr && header) return true;
  }
  return status && method && addr && header;
}

/** Any header field of the message (by canonical name when one is asked for) whose value matches; read through the message layer. */
function headerMatches(e: SipCaptureEvent, h: { name: string | null; value: Matcher }): boolean {
  const r = parseMessage(e.raw, { stream: e.transport === 'tcp' });
  if (!r.ok) return false;
  const want = h.name === null ? null : canonicalName(h.name);
  for (const [name, value] of r.msg.fields()) {
    if (want !== null && name !== want) continue;
    if (h.value(value)) return true;
  }
  return false;
}

export interface CallQuery {
  filter: CallFilter;
  sort: CallSort;
  offset: number;
  limit: number;
}

/** Calls scanned between two yields to the event loop. */
const SCAN_SLICE = 1_000;
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * Every stored call that matches, sorted; the scan yields between slices.
 * Calls evicted while it runs are left out (they are no longer stored).
 */
export async function scanCalls(calls: () => Iterable<CallRecord>, stillStored: (c: CallRecord) => boolean, filter: CallFilter, sort: CallSort, facts: (c: CallRecord) => CallFacts): Promise<{ call: CallRecord; facts: CallFacts }[]> {
  const cf = compileFilter(filter);
  const all = [...calls()];
  const out: { call: CallRecord; facts: CallFacts }[] = [];
  for (let i = 0; i < all.length; i += SCAN_SLICE) {
    if (i > 0) await yieldToLoop();
    for (let k = i; k < Math.min(all.length, i + SCAN_SLICE); k++) {
      const c = all[k]!;
      if (!stillStored(c)) continue;
      const f = facts(c);
      if (matchesCall(c, f, cf)) out.push({ call: c, facts: f });
    }
  }
  const cmp = compareCalls(sort);
  out.sort((a, b) => cmp(a.facts, b.facts));
  return out;
}
