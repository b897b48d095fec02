import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import type { CallDetail, ComponentStatus, Snapshot } from '../../app/contract';
import { ensureRendererBuilt } from '../../app/lab/renderer-bundle';
import { openBrowser } from '../helpers/browser';
import { startLab, type RunningLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { runSipp, startSipp } from '../helpers/sipp';

const ARTIFACTS = 'test/artifacts';
let lab: RunningLab;
let browser: Awaited<ReturnType<typeof openBrowser>>;
let page: Page;
let uasPort: number;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const built = await ensureRendererBuilt(() => undefined);
  assert.ok(built.ok, built.ok ? '' : built.error);
  uasPort = await freePort();
  lab = await startLab({ route: [{ host: '127.0.0.1', port: uasPort }] });
  browser = await openBrowser();
  page = browser.page;
});

after(async () => {
  await browser?.close();
  await lab?.stop();
});

async function componentState(name: string): Promise<string | undefined> {
  const res = await fetch(`${lab.base}/api/snapshot`, { headers: { Authorization: `Bearer ${lab.token}` } });
  const s = (await res.json()) as Snapshot;
  return s.components.find((c: ComponentStatus) => c.name === name)?.state;
}

test('the console loads with the token URL and shows every component state', async () => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${lab.base}/?token=${lab.token}`);
  await page.locator('[data-testid="toggle-proxy"][data-state="running"]').waitFor({ timeout: 15_000 });
  assert.equal(await page.locator('[data-testid="toggle-relay"]').getAttribute('data-state'), 'not-implemented');
  assert.equal(await page.locator('[data-testid="toggle-publisher"]').getAttribute('data-state'), 'stopped');
  assert.deepEqual(errors, [], 'no console errors (CSP violations included)');
});

test('clicking the proxy toggle stops the engine proxy, clicking again starts it', async () => {
  await page.locator('[data-testid="toggle-proxy"]').click();
  await page.locator('[data-testid="toggle-proxy"][data-state="stopped"]').waitFor({ timeout: 10_000 });
  assert.equal(await componentState('proxy'), 'stopped', 'the engine, not just the UI, changed');
  await page.screenshot({ path: `${ARTIFACTS}/console-proxy-stopped.png` });
  await page.locator('[data-testid="toggle-proxy"]').click();
  await page.locator('[data-testid="toggle-proxy"][data-state="running"]').waitFor({ timeout: 10_000 });
  assert.equal(await componentState('proxy'), 'running');
});

test('a SIPp call appears live and its ladder has the captured messages in order', async () => {
  const uas = startSipp({ scenario: 'uas', port: uasPort });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, duration: 200, timeoutSec: 15 });
    assert.equal(r.successful, 1, r.stdout);
  } finally {
    await uas.stop();
  }
  const row = page.locator('[data-testid="call-row"]').first();
  await row.waitFor({ timeout: 10_000 });
  const callId = await row.getAttribute('data-call-id');
  assert.ok(callId);
  await row.click();
  const res = await fetch(`${lab.base}/api/calls/${encodeURIComponent(callId)}`, { headers: { Authorization: `Bearer ${lab.token}` } });
  const detail = (await res.json()) as CallDetail;
  const arrows = page.locator('[data-testid="ladder-arrow"]');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="ladder-arrow"]').length === n, detail.messages.length, { timeout: 10_000 });
  const labels = await arrows.evaluateAll((els) => els.map((e) => e.getAttribute('data-label')));
  assert.deepEqual(labels, detail.messages.map((m) => m.label));
  assert.equal(labels[0], 'INVITE');
  assert.equal(labels[1], '100 Trying');
  await arrows.first().click();
  const text = await page.locator('[data-testid="message-view"]').innerText();
  assert.match(text, /INVITE sip:/);
  await page.screenshot({ path: `${ARTIFACTS}/console-ladder.png` });
});
