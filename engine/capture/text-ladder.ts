/**
 * A call as a monospace ladder followed by the raw messages — what goes into
 * a ticket. Retransmissions are drawn with dots and marked "R". Pure.
 */
import { ladderOf, ms, type LadderInput } from './ladder';

const COL = 24;
const TIME = 14;

export function textLadder(callId: string, messages: readonly (LadderInput & { raw: Buffer })[]): string {
  const { columns, arrows } = ladderOf(messages);
  const out: string[] = [`Call-ID: ${callId}`, `Messages: ${messages.length}`, ''];
  const width = TIME + COL * Math.max(columns.length - 1, 0) + 1;
  out.push(' '.repeat(TIME) + columns.map((c) => c.slice(0, COL - 2).padEnd(COL)).join('').trimEnd());
  for (const a of arrows) {
    const row = Array.from({ length: width }, () => ' ');
    columns.forEach((_, i) => (row[TIME + i * COL] = '|'));
    const left = Math.min(a.from, a.to);
    const right = Math.max(a.from, a.to);
    const x0 = TIME + left * COL + 1;
    const x1 = TIME + right * COL - 1;
    const fill = a.retransmission ? '.' : '-';
    for (let x = x0; x <= x1; x++) row[x] = fill;
    if (a.from === a.to) row[TIME + a.from * COL + 1] = '@';
    else if (a.to > a.from) row[x1] = '>';
    else row[x0] = '<';
    const label = (a.retransmission ? 'R ' : '') + a.label;
    const mid = Math.max(x0 + 1, Math.floor((x0 + x1 - label.length) / 2));
    for (let k = 0; k < label.length && mid + k < x1; k++) row[mid + k] = label[k]!;
    const time = `+${ms(a.atUs)}`.padStart(TIME - 2) + '  ';
    out.push(time + row.slice(TIME).join('').trimEnd());
  }
  out.push('', 'R = retransmission; times in ms from the first message', '');
  messages.forEach((m, i) => {
    out.push(`----- #${i + 1} +${ms(m.tsUs - (messages[0]?.tsUs ?? 0))} ms ${m.src} -> ${m.dst}${m.retransmission ? ' (retransmission)' : ''}`);
    out.push(m.raw.toString('utf8').replace(/\r\n/g, '\n').trimEnd(), '');
  });
  return out.join('\n');
}
