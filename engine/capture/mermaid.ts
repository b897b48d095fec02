/**
 * A call as Mermaid `sequenceDiagram` text, for docs and issue trackers.
 * Retransmissions are dotted arrows marked "(retransmission)". Pure.
 */
import { ladderOf, ms, type LadderInput } from './ladder';

export function mermaidLadder(callId: string, messages: readonly LadderInput[]): string {
  const { columns, arrows } = ladderOf(messages);
  const lines = ['sequenceDiagram', `  %% callpath: Call-ID ${clean(callId)}`];
  columns.forEach((c, i) => lines.push(`  participant P${i} as ${clean(c)}`));
  for (const a of arrows) {
    const arrow = a.retransmission ? '-->>' : '->>';
    const text = `${clean(a.label)} +${ms(a.atUs)} ms${a.retransmission ? ' (retransmission)' : ''}`;
    lines.push(`  P${a.from}${arrow}P${a.to}: ${text}`);
  }
  return lines.join('\n') + '\n';
}

/** Mermaid ends a statement at ";" and starts entities at "#"; keep labels on one safe line. */
function clean(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/;/g, ',').replace(/#/g, 'No.').trim();
}
