import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CallDetail, CallSummary, LadderEntry } from '../../app/contract';
import { openBrowser } from '../helpers/browser';
import { startLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { runSipp, startSipp } from '../helpers/sipp';
import { inTimeOrder, sipEntries } from '../helpers/lab';

interface ExpectedArrow {
  lane: string;
  index: number;
  label: string;
  src: string;
  dst: string;
}

/**
 * The arrows an export draws for a call's entries (every lane), in time
 * order: one per entry, except that a media stream is one arrow, placed at
 * its first report and showing its latest (label and endpoints).
 */
function exportedArrows(entries: readonly LadderEntry[]): ExpectedArrow[] {
  const ordered = inTimeOrder(entries);
  const latest = new Map<string, LadderEntry>();
  for (const e of ordered) if (e.lane === 'media') latest.set(e.streamId, e);
  const placed = new Set<string>();
  return ordered.flatMap((e): ExpectedArrow[] => {
    if (e.lane !== 'media') return [{ lane: e.lane, index: e.index, label: e.label, src: e.src, dst: e.dst }];
    if (placed.has(e.streamId)) return [];
    placed.add(e.streamId);
    const last = latest.get(e.streamId)!;
    return [{ lane: e.lane, index: e.index, label: last.label, src: last.src, dst: last.dst }];
  });
}

/** Columns as the ladder orders them: endpoints by first appearance along the arrows (a note sits on its own endpoint). */
function columnsOf(arrows: readonly ExpectedArrow[]): string[] {
  const out = new Set<string>();
  for (const a of arrows) for (const ep of a.lane === 'note' ? [a.src] : [a.src, a.dst]) out.add(ep);
  return [...out];
}

test('the SVG export of a real call is well-formed XML that Chromium renders, with every arrow in order; the PNG is the same drawing (issue #5)', async () => {
  const uasPort = await freePort();
  const lab = await startLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] });
  const uas = startSipp({ scenario: 'uas', port: uasPort });
  const browser = await openBrowser();
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, duration: 100, timeoutSec: 15 });
    assert.equal(r.successful, 1, r.stdout);
    await lab.settle();
    const auth = { Authorization: `Bearer ${lab.token}` };
    const [call] = (await (await fetch(`${lab.base}/api/calls`, { headers: auth })).json()) as CallSummary[];
    const id = encodeURIComponent(call!.callId);
    const detail = (await (await fetch(`${lab.base}/api/calls/${id}`, { headers: auth })).json()) as CallDetail;
    const res = await fetch(`${lab.base}/api/calls/${id}/ladder.svg`, { headers: auth });
    assert.match(res.headers.get('content-type') ?? '', /^image\/svg\+xml/);
    mkdirSync('test/artifacts', { recursive: true });
    const file = resolve('test/artifacts/ladder-export.svg');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));

    // Opened as a file, Chromium parses it with its XML parser: a syntax error becomes a <parsererror>.
    await browser.page.goto(pathToFileURL(file).href);
    const seen = await browser.page.evaluate(() => ({
      root: document.documentElement.tagName,
      parseErrors: document.getElementsByTagName('parsererror').length,
      arrows: [...document.querySelectorAll('line.arrow')].map((l) => `${l.getAttribute('data-lane')} ${l.getAttribute('data-index')} ${l.getAttribute('data-label')}`),
      lanes: [...new Set([...document.querySelectorAll('line.arrow')].map((l) => l.getAttribute('data-lane')))],
      columns: [...document.querySelectorAll('text.column')].map((t) => t.getAttribute('data-endpoint') ?? ''),
    }));
    assert.equal(seen.root, 'svg');
    assert.equal(seen.parseErrors, 0);
    // SIPp's SDP goes through the relay: the export draws the SIP messages and the relay's streams.
    const expected = exportedArrows(detail.entries);
    assert.deepEqual(seen.arrows, expected.map((a) => `${a.lane} ${a.index} ${a.label}`), 'time order, as every export draws it');
    assert.deepEqual(
      seen.arrows.filter((a) => a.startsWith('sip ')).map((a) => a.split(' ').slice(2).join(' ')),
      inTimeOrder(sipEntries(detail)).map((m) => m.label),
      'every SIP message, in time order',
    );
    assert.deepEqual(seen.lanes, ['sip', 'media']);
    assert.deepEqual(seen.columns, columnsOf(expected), 'a column per endpoint, by first appearance');
    const sipColumns = seen.columns.filter((ep) => sipEntries(detail).some((m) => m.src === ep || m.dst === ep));
    assert.equal(sipColumns.length, 3, 'UAC, callpath, UAS');
    assert.equal(sipColumns[1], `127.0.0.1:${lab.sipPort}`, 'the proxy is the middle SIP column');
    await browser.page.screenshot({ path: 'test/artifacts/ladder-export-svg.png' });

    // The PNG is the same drawing rasterized: the SVG's size, and not blank.
    const png = Buffer.from(await (await fetch(`${lab.base}/api/calls/${id}/ladder.png`, { headers: auth })).arrayBuffer());
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    const svgText = (await (await fetch(`${lab.base}/api/calls/${id}/ladder.svg`, { headers: auth })).text());
    const [, w, h] = /width="(\d+)" height="(\d+)"/.exec(svgText)!;
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [Number(w), Number(h)], 'IHDR width and height');
    writeFileSync('test/artifacts/ladder-export.png', png);
    const dark = await browser.page.evaluate(async (b64) => {
      const img = document.createElementNS('http://www.w3.org/1999/xhtml', 'img') as HTMLImageElement;
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElementNS('http://www.w3.org/1999/xhtml', 'canvas') as HTMLCanvasElement; // the page is an SVG document
      c.width = img.width;
      c.height = img.height;
      const g = c.getContext('2d')!;
      g.drawImage(img, 0, 0);
      const px = g.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i]! < 128 && px[i + 1]! < 128 && px[i + 2]! < 128) n++;
      return n;
    }, png.toString('base64'));
    assert.ok(dark > 1000, `the PNG has drawn lines and text (${dark} dark pixels)`);
  } finally {
    await browser.close();
    await uas.stop();
    await lab.stop();
  }
});
