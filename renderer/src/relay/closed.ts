/**
 * Sessions the relay closed, by reason (the engine's closed set,
 * `CLOSE_REASONS`), as the port-pool panel lists them: each reason with what
 * it means, coloured by what it says about the calls. Pure, unit-tested
 * (test/unit/relay-ui.test.ts).
 */
import { CLOSE_REASONS, type CloseReason } from '../../../app/contract';

export interface ClosedCount {
  reason: CloseReason;
  count: number;
  title: string;
  /** Ordinary endings plain; endings nobody signalled in the warning colour. */
  tone: 'warn' | null;
}

const MEANS: Record<CloseReason, string> = {
  bye: 'the dialog ended with a BYE through our proxy',
  cancel: 'the caller cancelled before an answer (CANCEL through our proxy)',
  rejected: 'the offer got a final error response',
  delete: 'an NG delete command',
  timeout: 'no media in either direction for --timeout seconds: nobody ended the call',
  'silent-timeout': 'media in one direction only for --silent-timeout seconds',
  'offer-timeout': 'offered and never answered for --offer-timeout seconds',
  'final-timeout': 'reached its absolute lifetime (--final-timeout): a session nobody deleted, cut before it leaked its ports',
  manual: 'the relay was stopped, or the session released from the console',
  orphan: '"release orphans now": no dialog through our proxy held it any more',
  shutdown: 'the engine stopped',
};

/** Reasons that mean nobody ended the session through signalling: worth a look. */
const UNSIGNALLED: ReadonlySet<CloseReason> = new Set(['timeout', 'silent-timeout', 'offer-timeout', 'final-timeout', 'orphan']);

/** The reasons with at least one session, in the engine's order, and the total. */
export function closedByReason(closed: Record<CloseReason, number>): { total: number; list: ClosedCount[] } {
  const list: ClosedCount[] = [];
  let total = 0;
  for (const reason of CLOSE_REASONS) {
    const count = closed[reason] ?? 0;
    total += count;
    if (count === 0) continue;
    list.push({ reason, count, title: `${reason}: ${count} session${count === 1 ? '' : 's'} since the relay started (engine) — ${MEANS[reason]}.`, tone: UNSIGNALLED.has(reason) ? 'warn' : null });
  }
  return { total, list };
}
