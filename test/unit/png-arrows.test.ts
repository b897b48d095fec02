import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Resvg } from '@resvg/resvg-js';
import type { CallRecord } from '../../engine/call/model';
import type { SipCaptureEvent } from '../../engine/events';
import { exportCall } from '../../engine/capture/export-call';
import { svgLadder } from '../../engine/capture/svg-ladder';

const UAC = '127.0.0.1:5091';
const PROXY = '127.0.0.1:5060';

function sip(tsUs: number, src: string, dst: string, label: string): SipCaptureEvent {
  const raw = Buffer.from(`${label}\r\n\r\n`);
  return { kind: 'sip', tsUs, callId: 'png', direction: 'in', transport: 'udp', src, dst, cseqSeq: 1, cseqMethod: 'INVITE', method: null, status: null, label, branch: null, size: raw.length, raw, retransmission: false };
}

/** One rightward arrow (UAC → proxy) and one leftward (proxy → UAC). */
const call = { key: 'png', callId: 'png', source: 'live', entriesDropped: 0, entries: [sip(1_000, UAC, PROXY, 'INVITE'), sip(2_000, PROXY, UAC, '180 Ringing')] } as unknown as CallRecord;

interface Raster {
  width: number;
  height: number;
  pixels: Buffer | Uint8Array;
}

const dark = (r: Raster, x: number, y: number) => {
  const o = (y * r.width + x) * 4;
  return r.pixels[o]! < 110 && r.pixels[o + 1]! < 110 && r.pixels[o + 2]! < 110;
};

/** Dark pixels of column x within `band` px of row y. */
function columnMass(r: Raster, x: number, y: number, band = 7): number {
  let n = 0;
  for (let yy = y - band; yy <= y + band; yy++) if (dark(r, x, yy)) n++;
  return n;
}

function windowMass(r: Raster, x0: number, x1: number, y: number): number {
  let n = 0;
  for (let x = Math.min(x0, x1); x <= Math.max(x0, x1); x++) n += columnMass(r, x, y);
  return n;
}

/**
 * Where an arrow's head is, read off the pixels: the dark mass next to its
 * destination against next to its source, the mass beyond the destination
 * (a head drawn backwards pokes out there), and on which side of the
 * destination the head's base (its tallest column) sits.
 */
function headAt(r: Raster, xs: number, xd: number, y: number) {
  const toSource = Math.sign(xs - xd);
  const W = 16;
  let baseX = xd;
  let tallest = -1;
  for (let x = xd - W; x <= xd + W; x++) {
    const h = columnMass(r, x, y);
    if (h > tallest) [tallest, baseX] = [h, x];
  }
  return {
    nearDestination: windowMass(r, xd, xd + toSource * W, y),
    nearSource: windowMass(r, xs, xs - toSource * W, y),
    beyondDestination: windowMass(r, xd - toSource * 2, xd - toSource * W, y),
    baseSide: Math.sign(baseX - xd) === toSource ? 'source' : 'beyond',
    tallest,
  };
}

/** The arrows of a ladder SVG: source and destination column x and the row's y. */
function arrowsOf(svg: string): { label: string; xs: number; xd: number; y: number }[] {
  const columnX = new Map([...svg.matchAll(/<text class="column"[^>]*? x="([\d.]+)"[^>]*>([^<]*)</g)].map((m) => [m[2]!, Number(m[1])]));
  const x = (endpoint: string) => columnX.get(endpoint)!;
  return [...svg.matchAll(/<line class="arrow"[^>]*?data-label="([^"]+)"[^>]*? y1="([\d.]+)"/g)].map((m) => {
    const e = call.entries.find((c) => c.kind === 'sip' && c.label === m[1])!;
    const [src, dst] = e.kind === 'sip' ? [e.src, e.dst] : ['', ''];
    return { label: m[1]!, xs: x(src), xd: x(dst), y: Math.round(Number(m[2])) };
  });
}

/** Asserts, on the rendered pixels, that every arrow's head sits at its destination and points there. */
function assertHeadsPointAtDestination(svg: string): void {
  const r = new Resvg(svg, { background: '#ffffff' }).render();
  const arrows = arrowsOf(svg);
  assert.equal(arrows.length, 2);
  assert.deepEqual(
    arrows.map((a) => Math.sign(a.xd - a.xs)),
    [1, -1],
    'one rightward and one leftward arrow',
  );
  for (const a of arrows) {
    const h = headAt(r, a.xs, a.xd, a.y);
    assert.ok(h.tallest >= 7, `${a.label}: a head is drawn (${JSON.stringify(h)})`);
    assert.ok(h.nearDestination >= h.nearSource + 20, `${a.label}: the dark mass (line plus head) sits at the destination end (${JSON.stringify(h)})`);
    assert.ok(h.beyondDestination <= 2, `${a.label}: nothing pokes out beyond the destination (${JSON.stringify(h)})`);
    assert.equal(h.baseSide, 'source', `${a.label}: the head's base faces the source, its tip the destination (${JSON.stringify(h)})`);
  }
}

test('the PNG draws each arrowhead at its destination, pointing there, rightward and leftward alike', () => {
  assertHeadsPointAtDestination(svgLadder(call));
});

test('the PNG export is that same SVG rendered', () => {
  const png = exportCall(call, 'png', { columnNames: {}, json: () => null });
  assert.equal(png.contentType, 'image/png');
  const ours = new Resvg(svgLadder(call), { background: '#ffffff' }).render().asPng();
  assert.ok(png.body.equals(ours));
});

test('the pixel check catches a head drawn backwards (the old marker with orient="auto-start-reverse")', () => {
  // The previous export's arrowhead: a marker resvg draws unrotated, so a leftward head points right.
  const marker = svgLadder(call)
    .replace('<rect ', '<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>\n<rect ')
    .replace(/<polygon class="head"[^>]*\/>\n/g, '')
    .replace(/(<line class="arrow"[^>]*?) x2="([\d.]+)"([^>]*?)\/>/g, (_m, head: string, _x2: string, tail: string) => `${head} x2="__X2__"${tail} marker-end="url(#head)"/>`);
  // Lines back to full length, to the destination column, as the old export drew them.
  const arrows = arrowsOf(svgLadder(call));
  let k = 0;
  const old = marker.replace(/__X2__/g, () => String(arrows[k++]!.xd));
  assert.throws(() => assertHeadsPointAtDestination(old), /180 Ringing/);
});
