/**
 * A call as a standalone SVG ladder (generic fonts, no external resources):
 * lifelines per address:port, one arrow per message with its label and time,
 * retransmissions dashed in a warning colour. Arrows carry a `data-lane`
 * (sip today; rtp, publish and ng lanes join as those parts arrive). Pure.
 */
import { ladderOf, ms, type LadderInput } from './ladder';

const COL_W = 220;
const ROW_H = 28;
const LEFT = 110;
const TOP = 56;

/** Pixel size of a ladder with this many columns and arrows. */
export function svgLadderSize(columns: number, arrows: number): { width: number; height: number } {
  return { width: LEFT + Math.max(columns, 1) * COL_W, height: TOP + arrows * ROW_H + 24 };
}

export function svgLadder(callId: string, messages: readonly LadderInput[]): string {
  const { columns, arrows } = ladderOf(messages);
  const { width, height } = svgLadderSize(columns.length, arrows.length);
  const x = (i: number) => LEFT + i * COL_W + COL_W / 2;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace, sans-serif" font-size="12">`,
    `<title>${esc(`callpath ladder: ${callId}`)}</title>`,
    '<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="8" y="18" font-weight="bold">${esc(callId)}</text>`,
  ];
  columns.forEach((c, i) => {
    out.push(`<text class="column" x="${x(i)}" y="${TOP - 14}" text-anchor="middle">${esc(c)}</text>`);
    out.push(`<line x1="${x(i)}" y1="${TOP - 8}" x2="${x(i)}" y2="${height - 8}" stroke="#9aa4b2" stroke-dasharray="2 3"/>`);
  });
  arrows.forEach((a, k) => {
    const y = TOP + k * ROW_H + 14;
    const colour = a.retransmission ? '#d97706' : '#1f2937';
    const dash = a.retransmission ? ' stroke-dasharray="6 4"' : '';
    const x1 = x(a.from);
    const x2 = a.from === a.to ? x1 + 40 : x(a.to);
    out.push(`<text x="8" y="${y + 4}" fill="#6b7280">+${ms(a.atUs)} ms</text>`);
    out.push(
      `<line class="arrow" data-lane="sip" data-label="${esc(a.label)}" data-retransmission="${a.retransmission}" x1="${x1}" y1="${y}" x2="${x2}" y2="${y}" stroke="${colour}" stroke-width="1.5"${dash} marker-end="url(#head)"/>`,
    );
    out.push(`<text x="${(x1 + x2) / 2}" y="${y - 5}" text-anchor="middle" fill="${colour}">${esc(a.label)}${a.retransmission ? ' (retransmission)' : ''}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
