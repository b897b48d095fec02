/**
 * A call as a monospace ladder followed by its SIP messages' bytes — what
 * goes into a ticket. Drawn from the one ladder model, in time order, every
 * lane: SIP arrows with dashes (retransmissions with dots, marked "R"), media
 * streams with "=" (one arrow per stream, its latest figures), publish and
 * record with "~", notes as "@" on their endpoint. A label too long for its
 * arrow is written after the last column. Pure.
 */
import { ladderEvents, type LadderCall } from '../ladder/entries';
import { buildLadder, columnTitle, formatMs, type LadderArrow } from '../ladder/model';

const MIN_COL = 24;
const TIME = 14;

const FILL: Record<LadderArrow['lane'], string> = { sip: '-', media: '=', publish: '~', record: '~', note: ' ' };

export function textLadder(call: LadderCall, columnNames: Readonly<Record<string, string>> = {}): string {
  const model = buildLadder(ladderEvents(call), { columnNames });
  const { columns, arrows } = model;
  const titles = columns.map(columnTitle);
  const col = Math.max(MIN_COL, ...titles.map((t) => t.length + 2));
  const sips = arrows.filter((a) => a.lane === 'sip');
  let others = 0;
  for (const e of call.entries) if (e.kind !== 'sip') others++;
  const out: string[] = [`Call-ID: ${call.callId}`, `Messages: ${sips.length}${others > 0 ? `; other entries: ${others}` : ''}`, ''];
  const width = TIME + col * Math.max(columns.length - 1, 0) + 1;
  out.push(' '.repeat(TIME) + titles.map((t) => t.padEnd(col)).join('').trimEnd());
  // One blank row with the lifelines, copied for each arrow.
  const blank: string[] = Array.from({ length: width }, () => ' ');
  for (let i = 0; i < columns.length; i++) blank[TIME + i * col] = '|';
  for (const a of arrows) {
    const row = blank.slice();
    const label = (a.retransmission ? 'R ' : '') + a.label;
    let after = '';
    if (a.from === a.to) {
      row[TIME + a.from * col + 1] = '@';
      after = label;
    } else {
      const left = Math.min(a.from, a.to);
      const right = Math.max(a.from, a.to);
      const x0 = TIME + left * col + 1;
      const x1 = TIME + right * col - 1;
      const fill = a.retransmission ? '.' : FILL[a.lane];
      for (let x = x0; x <= x1; x++) row[x] = fill;
      if (a.to > a.from) row[x1] = '>';
      else row[x0] = '<';
      if (label.length <= x1 - x0 - 3) {
        const mid = Math.floor((x0 + x1 - label.length) / 2) + 1;
        for (let k = 0; k < label.length; k++) row[mid + k] = label[k]!;
      } else after = label;
    }
    const time = `+${formatMs(a.relUs)}`.padStart(TIME - 2) + '  ';
    out.push((time + row.slice(TIME).join('') + (after ? `  ${after}` : '')).trimEnd());
  }
  out.push('', 'R = retransmission; = media stream; ~ publish/record; @ note; times in ms from the first entry', '');
  // The SIP messages' bytes, in the ladder's (time) order.
  const start = model.startUs ?? 0;
  const base = call.entriesDropped;
  sips.forEach((a, i) => {
    const e = call.entries[a.index - base];
    if (e?.kind !== 'sip') return;
    out.push(`----- #${i + 1} +${formatMs(e.tsUs - start)} ms ${titles[a.from]} -> ${titles[a.to]}${e.retransmission ? ' (retransmission)' : ''}`);
    out.push(e.raw.toString('utf8').replace(/\r\n/g, '\n').trimEnd(), '');
  });
  return out.join('\n');
}
