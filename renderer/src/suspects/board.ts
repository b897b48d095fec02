/**
 * The suspects board's wording, pure (test/unit/suspects.test.ts): one chip
 * per suspect, its colour, and a title that gives every check with its
 * value, threshold and where it is measured, and what a click shows.
 */
import type { Suspect } from '../../../app/contract';

export interface SuspectChip {
  id: Suspect['id'];
  label: string;
  state: Suspect['state'];
  title: string;
  /** A click applies this filter to the calls list; null: nothing to show. */
  clickable: boolean;
}

const MARK: Record<Suspect['state'], string> = { green: '●', amber: '▲', red: '■', off: '○' };

export function suspectChip(s: Suspect): SuspectChip {
  const lines = [`${s.title}: ${s.question}`];
  if (s.off) lines.push(`off: ${s.off}`);
  for (const c of s.checks) lines.push(`${c.state === 'green' ? '✓' : c.state === 'amber' ? '▲' : '■'} ${c.label}: ${c.value} — ${c.threshold}; ${c.where}`);
  if (s.calls) lines.push(`Click: ${s.callsMeaning ?? 'the calls that tripped it'}, in the calls list.`);
  return { id: s.id, label: `${MARK[s.state]} ${s.title}`, state: s.state, title: lines.join('\n'), clickable: s.calls !== null };
}
