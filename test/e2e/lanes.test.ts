/**
 * Every lane on one ladder in the real console: a call whose SIP entries come
 * with a media stream (opened, five stats reports, closed), a publish step
 * and a note — the lanes later parts will emit — drawn as one model in time
 * order, the stream as one arrow with its latest figures.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { ensureRendererBuilt } from '../../app/lab/renderer-bundle';
import type { CallEvent, MediaEvent, SipCaptureEvent } from '../../engine/events';
import { openBrowser } from '../helpers/browser';
import { startLab, type RunningLab } from '../helpers/lab';

let lab: RunningLab;
let browser: Awaited<ReturnType<typeof openBrowser>>;
let page: Page;

const UAC = '127.0.0.1:5091';
const PROXY = '127.0.0.1:5060';
const REDIS = '127.0.0.1:6379';

function sip(label: string, tsUs: number, src: string, dst: string, cseqMethod = 'INVITE'): SipCaptureEvent {
  const status = /^\d/.test(label) ? Number(label.slice(0, 3)) : null;
  const raw = Buffer.from(
    `${status ? `SIP/2.0 ${label}` : `${label} sip:bob@127.0.0.1 SIP/2.0`}\r\nVia: SIP/2.0/UDP ${UAC};branch=z9hG4bK-l\r\nFrom: <sip:alice@127.0.0.1>;tag=a\r\n` +
      `To: <sip:bob@127.0.0.1>${status ? ';tag=b' : ''}\r\nCall-ID: lanes-1\r\nCSeq: 1 ${cseqMethod}\r\nContent-Length: 0\r\n\r\n`,
  );
  return { kind: 'sip', tsUs, callId: 'lanes-1', direction: src === UAC ? 'in' : 'out', transport: 'udp', src, dst, cseqSeq: 1, cseqMethod, method: status ? null : label, status, label, branch: null, size: raw.length, raw, retransmission: false };
}

function media(phase: MediaEvent['phase'], tsUs: number, packets: number): MediaEvent {
  return {
    kind: 'media', tsUs, callId: 'lanes-1', phase, streamId: 'a-rtp', legTag: 'a', mediaIndex: 0, src: '127.0.0.1:40000', dst: '127.0.0.1:30000',
    codec: 'PCMU/8000', ssrc: 42, packets, bytes: packets * 172, lost: packets > 0 ? 2 : 0, jitterUs: 1_500, reason: phase === 'closed' ? 'bye' : null,
    sdp: { cseqSeq: 1, cseqMethod: 'INVITE', status: null },
  };
}

before(async () => {
  const built = await ensureRendererBuilt(() => undefined);
  assert.ok(built.ok, built.ok ? '' : built.error);
  lab = await startLab();
  const t = 1_800_000_000_000_000;
  const events: CallEvent[] = [
    sip('INVITE', t, UAC, PROXY),
    sip('100 Trying', t + 200, PROXY, UAC),
    { kind: 'publish', tsUs: t + 300, callId: 'lanes-1', phase: 'replied', event: 'new', target: 'call:lanes-1', src: PROXY, dst: REDIS, receivers: 0, sinceQueuedUs: 250, error: null },
    sip('200 OK', t + 5_000, PROXY, UAC),
    media('opened', t + 6_000, 0),
    ...[1, 2, 3, 4, 5].map((k) => media('stats', t + 6_000 + k * 1_000_000, k * 250)),
    { kind: 'note', tsUs: t + 9_000_000, callId: 'lanes-1', at: PROXY, text: 'Timer C fired' },
    media('closed', t + 11_000_000, 1_500),
  ];
  for (const e of events) lab.host.engine.events.emit(e);
  browser = await openBrowser();
  page = browser.page;
  await page.goto(`${lab.base}/?token=${lab.token}`);
});

after(async () => {
  await browser?.close();
  await lab?.stop();
});

test('a call with SIP, media, publish and note entries is one ladder, in time order, the stream one arrow with its last figures', { timeout: 30_000 }, async () => {
  await page.locator('[data-testid="call-row"][data-key="lanes-1"]').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="ladder-arrow"]').length === 6, undefined, { timeout: 10_000 });
  const arrows = await page.locator('[data-testid="ladder-arrow"]').evaluateAll((els) => els.map((e) => ({ lane: e.getAttribute('data-lane'), label: e.getAttribute('data-label'), owner: e.getAttribute('data-owner') })));
  assert.deepEqual(
    arrows.map((a) => a.lane),
    ['sip', 'sip', 'publish', 'sip', 'media', 'note'],
    'time order across lanes; seven media entries are one stream arrow',
  );
  const stream = arrows[4]!;
  assert.equal(stream.owner, 'stream:a-rtp');
  assert.match(stream.label ?? '', /1500 pkts, 2 lost/, 'the stream arrow says its latest figures');
  // The media entry opens with its own fields, not as a SIP message.
  await page.locator('[data-testid="ladder-arrow"][data-lane="media"]').click();
  const view = page.locator('[data-testid="message-view"]');
  await view.waitFor({ timeout: 5_000 });
  assert.equal(await view.getAttribute('data-lane'), 'media');
  const fields = (await page.locator('[data-testid="entry-fields"]').textContent()) ?? '';
  assert.match(fields, /PCMU\/8000/);
  assert.match(fields, /phaseclosed/, 'the stream opens at its latest entry');
  assert.match(fields, /packets1500/);
  await page.screenshot({ path: 'test/artifacts/lanes.png' });
});

test('after a mouse click on a toolbar button, Enter and the ladder keys act on the ladder; ] and [ move between calls', { timeout: 30_000 }, async () => {
  // A second call, newer, so ] / [ have somewhere to go.
  const t = 1_800_000_100_000_000;
  lab.host.engine.events.emit({ ...sip('INVITE', t, UAC, PROXY), callId: 'lanes-2' });
  await page.locator('[data-testid="call-row"][data-key="lanes-2"]').waitFor({ timeout: 10_000 });
  await page.locator('[data-testid="call-row"][data-key="lanes-1"]').click();
  await page.locator('[data-testid="ladder-arrow"]').first().click();
  await page.keyboard.press('Escape');
  await page.locator('[data-testid="message-view"]').waitFor({ state: 'detached', timeout: 5_000 });
  const mode = await page.locator('[data-testid="time-mode"]').getAttribute('data-mode');
  await page.locator('[data-testid="time-mode"]').click();
  const clicked = await page.locator('[data-testid="time-mode"]').getAttribute('data-mode');
  assert.notEqual(clicked, mode, 'the click did its job');
  await page.keyboard.press('Enter');
  await page.locator('[data-testid="message-view"]').waitFor({ timeout: 5_000 });
  assert.equal(await page.locator('[data-testid="time-mode"]').getAttribute('data-mode'), clicked, 'Enter opened the message instead of pressing the button again');
  await page.keyboard.press('Escape');
  const selectedKey = () => page.locator('[data-testid="call-row"][aria-selected="true"]').first().getAttribute('data-key');
  assert.equal(await selectedKey(), 'lanes-1');
  // The list is newest first: lanes-2 is above lanes-1, so [ goes up to it and ] comes back down.
  const selectedIs = (k: string) => page.waitForFunction((want) => document.querySelector('[data-testid="call-row"][aria-selected="true"]')?.getAttribute('data-key') === want, k, { timeout: 5_000 });
  await page.keyboard.press('[');
  await selectedIs('lanes-2');
  await page.keyboard.press(']');
  await selectedIs('lanes-1');
});
