/**
 * A call as Mermaid `sequenceDiagram` text, for docs and issue trackers,
 * drawn from the one ladder model in time order. Participants are titled with
 * the column's name when given ("UAC (127.0.0.1:5091)"). SIP and publish/
 * record arrows are `->>`, retransmissions dotted `-->>` and marked, a media
 * stream one async arrow `-)` with its latest figures, a note a `Note over`.
 * Pure.
 */
import { ladderEvents, type LadderCall } from '../ladder/entries';
import { buildLadder, columnTitle, formatMs } from '../ladder/model';

export function mermaidLadder(call: LadderCall, columnNames: Readonly<Record<string, string>> = {}): string {
  const { columns, arrows } = buildLadder(ladderEvents(call), { columnNames });
  const lines = ['sequenceDiagram', `  %% callpath: Call-ID ${clean(call.callId)}`];
  for (const c of columns) lines.push(`  participant P${c.position} as ${clean(columnTitle(c))}`);
  for (const a of arrows) {
    const text = `${clean(a.label)} +${formatMs(a.relUs)} ms${a.retransmission ? ' (retransmission)' : ''}`;
    if (a.lane === 'note') {
      lines.push(`  Note over P${a.from}: ${text}`);
      continue;
    }
    const arrow = a.retransmission ? '-->>' : a.lane === 'media' ? '-)' : '->>';
    lines.push(`  P${a.from}${arrow}P${a.to}: ${text}`);
  }
  return lines.join('\n') + '\n';
}

/** Mermaid ends a statement at ";" and starts entities at "#"; keep labels on one safe line. */
function clean(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/;/g, ',').replace(/#/g, 'No.').trim();
}
