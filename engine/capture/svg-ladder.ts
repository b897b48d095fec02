/**
 * A call as a standalone SVG ladder (generic fonts, no external resources),
 * drawn from the one ladder model (`engine/ladder/model.ts`) in time order:
 * lifelines per address:port (titled with the column's name when given), one
 * arrow per entry of every lane with its label and time, retransmissions
 * dashed in a warning colour, a media stream one thick arrow with its latest
 * figures. Each arrow's `<line class="arrow">` carries the model's lane,
 * owner and index as `data-*` attributes.
 *
 * Arrowheads are explicit polygons pointing the way their arrow goes, not
 * markers: resvg (the PNG export) ignores `orient="auto-start-reverse"` and
 * `context-stroke`, which drew every leftward head pointing right. Pure.
 */
import { ladderEvents, type LadderCall } from '../ladder/entries';
import type { Lane } from '../events';
import { buildLadder, columnTitle, formatMs, type LadderArrow, type LadderModel } from '../ladder/model';

const COL_W = 220;
const ROW_H = 28;
const LEFT = 110;
const TOP = 56;
/** Arrowhead length and half-width, px. */
const HEAD = 10;
const HEAD_HALF = 5;
/** Width and drop of a self arrow's loop, px. */
const SELF_W = 40;
const SELF_DROP = 10;
/** Characters a column title can hold at 12 px monospace before it is squeezed to fit. */
const TITLE_FITS = 28;

const LANE_COLOUR: Record<Lane, string> = { sip: '#1f2937', media: '#2563eb', publish: '#7c3aed', record: '#059669', note: '#6b7280' };
const RETRANSMISSION_COLOUR = '#d97706';

/** Pixel size of a ladder with this many columns and arrows. */
export function svgLadderSize(columns: number, arrows: number): { width: number; height: number } {
  return { width: LEFT + Math.max(columns, 1) * COL_W, height: TOP + arrows * ROW_H + 24 };
}

/** One call as SVG, columns titled by `columnNames` (endpoint → name) where given. */
export function svgLadder(call: LadderCall, columnNames: Readonly<Record<string, string>> = {}): string {
  return svgOfModel(call.callId, buildLadder(ladderEvents(call), { columnNames }));
}

/** A built ladder model as SVG, titled with the Call-ID. */
export function svgOfModel(callId: string, model: LadderModel): string {
  const { columns, arrows } = model;
  const { width, height } = svgLadderSize(columns.length, arrows.length);
  const x = (i: number) => LEFT + i * COL_W + COL_W / 2;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace, sans-serif" font-size="12">`,
    `<title>${esc(`callpath ladder: ${callId}`)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="8" y="18" font-weight="bold">${esc(callId)}</text>`,
  ];
  for (const c of columns) {
    const title = columnTitle(c);
    const squeeze = title.length > TITLE_FITS ? ` textLength="${COL_W - 12}" lengthAdjust="spacingAndGlyphs"` : '';
    const name = c.name === null ? '' : ` data-name="${esc(c.name)}"`;
    out.push(`<text class="column" data-endpoint="${esc(c.endpoint)}"${name} x="${x(c.position)}" y="${TOP - 14}" text-anchor="middle"${squeeze}>${esc(title)}</text>`);
    out.push(`<line x1="${x(c.position)}" y1="${TOP - 8}" x2="${x(c.position)}" y2="${height - 8}" stroke="#9aa4b2" stroke-dasharray="2 3"/>`);
  }
  for (const a of arrows) out.push(...arrowSvg(a, TOP + a.row * ROW_H + 14, x(a.from), x(a.to)));
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function arrowSvg(a: LadderArrow, y: number, x1: number, x2: number): string[] {
  const colour = a.retransmission ? RETRANSMISSION_COLOUR : LANE_COLOUR[a.lane];
  const dash = a.retransmission ? ' stroke-dasharray="6 4"' : a.lane === 'note' ? ' stroke-dasharray="2 2"' : '';
  const width = a.lane === 'media' ? 3 : 1.5;
  const media = a.stream
    ? ` data-stream="${esc(a.stream.streamId)}" data-packets="${a.stream.packets}" data-lost="${a.stream.lost}" data-jitter-us="${a.stream.jitterUs}" data-sdp-index="${a.sdpIndex ?? ''}"`
    : '';
  const data = `class="arrow" data-lane="${a.lane}" data-owner="${esc(a.owner)}" data-index="${a.index}" data-direction="${a.direction}" data-label="${esc(a.label)}" data-retransmission="${a.retransmission}"${media}`;
  const stroke = `stroke="${colour}" stroke-width="${width}"${dash}`;
  const out = [`<text x="8" y="${y + 4}" fill="#6b7280">+${formatMs(a.relUs)} ms</text>`];
  let labelX: number;
  let anchor = 'middle';
  if (a.direction === 'self') {
    // Out to the right, down, and back with the head pointing left at the lifeline.
    const yEnd = y + SELF_DROP;
    out.push(`<line ${data} x1="${x1}" y1="${y}" x2="${x1 + SELF_W}" y2="${y}" ${stroke}/>`);
    out.push(`<path d="M${x1 + SELF_W},${y} V${yEnd} H${x1 + HEAD}" fill="none" ${stroke}/>`);
    out.push(head(x1, yEnd, -1, colour));
    labelX = x1 + SELF_W + 6;
    anchor = 'start';
  } else {
    const dir = a.direction === 'right' ? 1 : -1;
    out.push(`<line ${data} x1="${x1}" y1="${y}" x2="${x2 - dir * HEAD}" y2="${y}" ${stroke}/>`);
    out.push(head(x2, y, dir, colour));
    labelX = (x1 + x2) / 2;
  }
  out.push(`<text x="${labelX}" y="${y - 5}" text-anchor="${anchor}" fill="${colour}">${esc(a.label)}${a.retransmission ? ' (retransmission)' : ''}</text>`);
  return out;
}

/** A filled triangle with its tip at (tipX, y), pointing right (dir 1) or left (dir -1). */
function head(tipX: number, y: number, dir: 1 | -1, colour: string): string {
  const base = tipX - dir * HEAD;
  return `<polygon class="head" points="${tipX},${y} ${base},${y - HEAD_HALF} ${base},${y + HEAD_HALF}" fill="${colour}"/>`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
