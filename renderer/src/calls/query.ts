/**
 * The calls list's filter and sort, the renderer's part: the filter and sort
 * types are the engine's (`engine/call/query.ts`, through the contract) and
 * the engine runs every query over all the calls it stores (`queryCalls`).
 * Here: what the list needs without a round trip, and the parsing of the
 * filter fields the user types.
 */
import { CALL_OUTCOMES, CALL_STATES, DEFAULT_SORT, NO_FILTER, filterError, isFilterActive, outcomeOf, type CallFilter, type CallOutcome, type CallSort, type CallSortKey, type CallSummary } from '../../../app/contract';

export { CALL_STATES, DEFAULT_SORT, NO_FILTER, filterError, isFilterActive, outcomeOf };

export type { CallFilter, CallSort, CallOutcome };
export type SortKey = CallSortKey;

const OUTCOME_LABEL: Record<CallOutcome, string> = { busy: 'busy (486/600)', cancelled: 'cancelled (487)', 'other-failure': 'other failure' };
export const OUTCOMES: readonly { value: CallOutcome; label: string }[] = CALL_OUTCOMES.map((value) => ({ value, label: OUTCOME_LABEL[value] }));

export const isDefaultSort = (s: CallSort): boolean => s.key === DEFAULT_SORT.key && s.dir === DEFAULT_SORT.dir;

/** Whether the list must come from an engine query (any filter, or another order than newest first). */
export const needsQuery = (f: CallFilter, s: CallSort): boolean => isFilterActive(f) || !isDefaultSort(s);

/** The state cell: "busy 486", "cancelled 487", "failed 503", "terminated 200", "early"… and its class. */
export function stateCell(c: Pick<CallSummary, 'state' | 'finalStatus'>): { text: string; className: string } {
  const outcome = outcomeOf(c);
  const status = c.finalStatus !== null && (c.state === 'failed' || c.state === 'terminated') ? ` ${c.finalStatus}` : '';
  if (outcome === 'busy') return { text: `busy${status}`, className: 'state-busy' };
  if (outcome === 'cancelled') return { text: `cancelled${status}`, className: 'state-cancelled' };
  return { text: `${c.state}${status}`, className: `state-${c.state}` };
}

/** A typed field's value: empty (off), a value, or refused (shown invalid, filter not applied). */
export type Parsed<T> = { ok: true; value: T | null } | { ok: false };

/** "100 Trying slower than" input → threshold (ms); empty is off; text or a negative is refused. */
export function parseThreshold(input: string): Parsed<number> {
  const s = input.trim();
  if (s === '') return { ok: true, value: null };
  const n = Number(s);
  return Number.isFinite(n) && n >= 0 ? { ok: true, value: n } : { ok: false };
}

/** A SIP status code, 100 to 699. */
export function parseStatus(input: string): Parsed<number> {
  const s = input.trim();
  if (s === '') return { ok: true, value: null };
  if (!/^\d{3}$/.test(s)) return { ok: false };
  const n = Number(s);
  return n >= 100 && n <= 699 ? { ok: true, value: n } : { ok: false };
}

/** A SIP method name (letters only), upper-cased. */
export function parseMethod(input: string): Parsed<string> {
  const s = input.trim();
  if (s === '') return { ok: true, value: null };
  return /^[A-Za-z]{1,32}$/.test(s) ? { ok: true, value: s.toUpperCase() } : { ok: false };
}

/** A `datetime-local` value ("2026-01-02T03:04:05") → µs since the epoch, read as local time. */
export function parseLocalTime(input: string): Parsed<number> {
  const s = input.trim();
  if (s === '') return { ok: true, value: null };
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(s)) return { ok: false };
  const ms = new Date(s).getTime();
  return Number.isFinite(ms) && ms >= 0 ? { ok: true, value: ms * 1000 } : { ok: false };
}

/** µs since the epoch → a `datetime-local` value in local time, to the second. */
export function formatLocalTime(us: number | null): string {
  if (us === null) return '';
  const d = new Date(Math.floor(us / 1000));
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Header click: same column flips the direction, another column starts with its natural one. */
export function nextSort(current: CallSort, key: SortKey): CallSort {
  if (current.key === key) return { key, dir: current.dir === 'asc' ? 'desc' : 'asc' };
  const numericDesc = key === 'time' || key === 'msgs' || key === 'rtx' || key === 'trying' || key === 'status' || key === 'streams' || key === 'loss';
  return { key, dir: numericDesc ? 'desc' : 'asc' };
}
