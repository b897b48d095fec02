/**
 * Every stored call within reach from a freshly opened console: a 10,000-call
 * store (its oldest failures far outside any window a page lists first) is
 * filtered in the engine and exported in full; filters are saved across a
 * reload. Real lab server, real Chromium.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ensureRendererBuilt } from '../../app/lab/renderer-bundle';
import type { SipCaptureEvent } from '../../engine/events';
import { openBrowser } from '../helpers/browser';
import { startLab, type RunningLab } from '../helpers/lab';

const CALLS = 10_000;
let lab: RunningLab;
let browser: Awaited<ReturnType<typeof openBrowser>>;
let page: Page;
let scratch: string;

/** Call i: the first 500 are the oldest; among them every 10th is busy (486), every 25th cancelled (487). */
function outcome(i: number): number {
  if (i < 500 && i % 10 === 0) return 486;
  if (i < 500 && i % 25 === 0) return 487;
  return 200;
}

function sip(callId: string, label: string, tsUs: number, direction: 'in' | 'out', extra = ''): SipCaptureEvent {
  const status = /^\d/.test(label) ? Number(label.slice(0, 3)) : null;
  const raw = Buffer.from(
    `${status ? `SIP/2.0 ${label}` : `${label} sip:bob@127.0.0.1 SIP/2.0`}\r\nVia: SIP/2.0/UDP 127.0.0.1:5091;branch=z9hG4bK-${callId}\r\n` +
      `From: <sip:alice@127.0.0.1>;tag=a\r\nTo: <sip:bob@127.0.0.1>${status ? ';tag=b' : ''}\r\nCall-ID: ${callId}\r\nCSeq: 1 INVITE\r\n${extra}Content-Length: 0\r\n\r\n`,
  );
  return { kind: 'sip', tsUs, callId, direction, transport: 'udp', src: direction === 'in' ? '127.0.0.1:5091' : '127.0.0.1:5060', dst: direction === 'in' ? '127.0.0.1:5060' : '127.0.0.1:5091', cseqSeq: 1, cseqMethod: 'INVITE', method: status ? null : label, status, label, branch: null, size: raw.length, raw, retransmission: false };
}

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'callpath-full-store-'));
  const built = await ensureRendererBuilt(() => undefined);
  assert.ok(built.ok, built.ok ? '' : built.error);
  lab = await startLab({ maxCalls: 20_000 });
  const emit = (e: SipCaptureEvent) => lab.host.engine.events.emit(e);
  const t0 = 1_700_000_000_000_000;
  for (let i = 0; i < CALLS; i++) {
    const id = `call-${String(i).padStart(5, '0')}`;
    const t = t0 + i * 10_000;
    // One old call carries a header nobody lists: found only by searching the headers in the engine.
    emit(sip(id, 'INVITE', t, 'in', i === 123 ? 'X-Case: ticket-4242\r\n' : ''));
    emit(sip(id, '100 Trying', t + 200, 'out'));
    const status = outcome(i);
    emit(sip(id, status === 200 ? '200 OK' : status === 486 ? '486 Busy Here' : '487 Request Terminated', t + 5_000, 'out'));
  }
  browser = await openBrowser();
  page = browser.page;
  await page.goto(`${lab.base}/?token=${lab.token}`);
});

after(async () => {
  await browser?.close();
  await lab?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const countAttr = (name: string) => page.locator('[data-testid="calls-count"]').getAttribute(name);
const waitMatched = (n: number) =>
  page.waitForFunction((want) => document.querySelector('[data-testid="calls-count"]')?.getAttribute('data-matched') === String(want), n, { timeout: 15_000 });

test('a fresh page says how many calls the engine stores, and a filter reaches the oldest ones', { timeout: 60_000 }, async () => {
  await page.waitForFunction((n) => document.querySelector('[data-testid="calls-count"]')?.getAttribute('data-stored') === String(n), CALLS, { timeout: 15_000 });
  const failed = [...Array(CALLS).keys()].filter((i) => outcome(i) !== 200).length;
  await page.locator('[data-testid="calls-filter-state"]').selectOption('failed');
  await waitMatched(failed);
  assert.match((await page.locator('[data-testid="calls-count"]').textContent()) ?? '', new RegExp(`^${failed} of 10,000 stored`));
  // Busy (486) and cancelled (487) are told apart in the list.
  const states = await page.locator('[data-testid="call-state"]').allTextContents();
  assert.ok(states.some((s) => s.startsWith('busy 486')) && states.some((s) => s.startsWith('cancelled 487')), states.slice(0, 5).join(', '));
  await page.locator('[data-testid="calls-filter-state"]').selectOption('all');
  await waitMatched(CALLS);
});

test('"Export N calls…" with a filter exports every match in the engine, not a window', { timeout: 60_000 }, async () => {
  await page.locator('[data-testid="calls-filter"]').fill('call-01');
  await waitMatched(1_000); // call-01000 … call-01999
  const button = page.locator('[data-testid="export-calls"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="export-calls"]')?.textContent === 'Export 1,000 calls…', undefined, { timeout: 5_000 });
  await button.click();
  await page.locator('[data-testid="export-chooser"]').waitFor({ timeout: 5_000 });
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.keyboard.press('j')]);
  const file = join(scratch, download.suggestedFilename());
  await download.saveAs(file);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { schemaVersion: number; calls: { callId: string }[] };
  assert.equal(doc.calls.length, 1_000);
  assert.ok(doc.calls.every((c) => c.callId.startsWith('call-01')));
  await page.locator('[data-testid="calls-filter"]').fill('');
});

test('a header value nobody lists (X-Case) finds its call; a saved filter survives a reload', { timeout: 60_000 }, async () => {
  await page.locator('[data-testid="calls-filter-more"]').click();
  await page.locator('[data-testid="calls-filter-header-name"]').fill('X-Case');
  await page.locator('[data-testid="calls-filter-header-value"]').fill('ticket-42');
  await waitMatched(1);
  assert.equal(await page.locator('[data-testid="call-row"]').first().getAttribute('data-key'), 'call-00123');
  await page.locator('[data-testid="calls-saved-name"]').fill('ticket');
  await page.locator('[data-testid="calls-saved-save"]').click();
  await page.reload();
  await page.locator('[data-testid="calls-filter-more"]').click();
  await page.locator('[data-testid="calls-saved-pick"]').waitFor({ timeout: 10_000 });
  await page.locator('[data-testid="calls-saved-pick"]').selectOption({ label: 'ticket' });
  await waitMatched(1);
  assert.equal(await countAttr('data-stored'), String(CALLS));
});
