import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import type { Snapshot } from '../../app/contract';
import { ensureRendererBuilt } from '../../app/lab/renderer-bundle';
import { openBrowser } from '../helpers/browser';
import { startLab, type RunningLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';

const ARTIFACTS = 'test/artifacts';
let lab: RunningLab;
let browser: Awaited<ReturnType<typeof openBrowser>>;
let page: Page;
let redisUrl: string;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const built = await ensureRendererBuilt(() => undefined);
  assert.ok(built.ok, built.ok ? '' : built.error);
  // A port nothing listens on: the publisher's first connect is refused.
  redisUrl = `redis://127.0.0.1:${await freePort()}`;
  lab = await startLab({ redis: redisUrl });
  browser = await openBrowser();
  page = browser.page;
});

after(async () => {
  await browser?.close();
  await lab?.stop();
});

async function publisherStatus() {
  const res = await fetch(`${lab.base}/api/snapshot`, { headers: { Authorization: `Bearer ${lab.token}` } });
  return ((await res.json()) as Snapshot).components.find((c) => c.name === 'publisher');
}

test('a publisher that cannot reach Redis shows state failed and the engine error in the control bar', { timeout: 30_000 }, async () => {
  const engine = await publisherStatus();
  assert.equal(engine?.state, 'failed');
  assert.ok(engine?.error, 'the engine reports why');
  await page.goto(`${lab.base}/?token=${lab.token}`);
  const toggle = page.locator('[data-testid="toggle-publisher"]');
  await page.locator('[data-testid="toggle-publisher"][data-state="failed"]').waitFor({ timeout: 15_000 });
  assert.equal(await toggle.locator('.toggle-state').textContent(), 'failed');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  assert.equal(await toggle.isDisabled(), false, 'a failed component can be started again');
  const box = page.locator('.component-failed').filter({ has: toggle });
  const error = box.locator('.component-error');
  assert.equal((await error.textContent())?.trim(), engine.error);
  assert.match(engine.error, new RegExp(`cannot reach Redis at ${redisUrl.replace(/[.]/g, '\\.')}`));
  assert.equal(await error.getAttribute('title'), engine.error, 'the full text is in the tooltip when it is cut off');
  assert.equal(await box.locator('.component-endpoint').textContent(), redisUrl);
  // The proxy is unaffected.
  assert.equal(await page.locator('[data-testid="toggle-proxy"]').getAttribute('data-state'), 'running');
  await page.locator('.control-bar').screenshot({ path: `${ARTIFACTS}/console-component-failed.png` });
});

test('starting the failed publisher again with Redis still down leaves it failed with the error shown', { timeout: 30_000 }, async () => {
  const toggle = page.locator('[data-testid="toggle-publisher"]');
  // Record what the toggle shows while the start is tried (busy "…" or "starting"), then back to failed.
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { __seen: string[] }).__seen = seen;
    const t = document.querySelector('[data-testid="toggle-publisher"]')!;
    new MutationObserver(() => seen.push(t.querySelector('.toggle-state')?.textContent ?? '')).observe(t, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  await toggle.click();
  await page.waitForFunction(
    () => {
      const seen = (window as unknown as { __seen: string[] }).__seen;
      const t = document.querySelector('[data-testid="toggle-publisher"]');
      return seen.length > 0 && t?.getAttribute('data-state') === 'failed' && !(t as HTMLButtonElement).disabled && t.querySelector('.toggle-state')?.textContent === 'failed';
    },
    undefined,
    { timeout: 15_000 },
  );
  const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
  assert.ok(seen.some((s) => s === '…' || s === 'starting'), `the toggle showed the attempt: ${seen.join(' → ')}`);
  assert.equal((await publisherStatus())?.state, 'failed');
  const text = await page.locator('.component-failed').filter({ has: toggle }).locator('.component-error').textContent();
  assert.match(text ?? '', /cannot reach Redis|Redis/);
});
