/**
 * Call events in the console, against a real Redis and SIPp calls: the
 * publish panel's figures move, a call's ladder shows its events replied and
 * delivered, the calls list says how each call's events arrived, the mode
 * switch changes the engine's delivery mode, and the subscriber load
 * connects its pattern subscribers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { ARTIFACTS, openConsole } from '../helpers/console';
import type { RunningLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { startRedis } from '../helpers/redis';
import { runSipp, startSipp } from '../helpers/sipp';

const EVENTS = ['new', 'early', 'answered', 'ended'];
/** Smaller than the story's 640 to keep the test quick; the control's default stays 640. */
const LOAD = 64;

async function placeCalls(lab: RunningLab, uasPort: number, calls: number): Promise<void> {
  const uas = startSipp({ scenario: 'uas', port: uasPort });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls, rate: 10, duration: 100, timeoutSec: 20 });
    assert.equal(r.successful, calls, r.stdout.slice(-400));
  } finally {
    await uas.stop();
  }
  await lab.settle();
}

const figure = (page: Page, id: string) => page.locator(`[data-testid="publish-figure-${id}"]`).getAttribute('data-value');
const figureIs = (page: Page, id: string, want: RegExp) =>
  page.waitForFunction(([i, src]) => new RegExp(src).test(document.querySelector(`[data-testid="publish-figure-${i}"]`)?.getAttribute('data-value') ?? ''), [id, want.source] as const, { timeout: 15_000 });

test('the publish panel, the ladder, the calls list, the mode switch and the subscriber load, against a real Redis', { timeout: 120_000 }, async () => {
  const redis = await startRedis();
  const uasPort = await freePort();
  const c = await openConsole({ redis: redis.url, publishMode: 'pubsub+list', route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] });
  const page = c.page;
  try {
    const panel = page.locator('[data-testid="publish-panel"]');
    await panel.waitFor({ timeout: 10_000 });
    await figureIs(page, 'link', /^connected$/);
    assert.equal(await figure(page, 'redis'), `configured ${redis.url}`);
    assert.equal(await figure(page, 'events'), '0 / 0');
    assert.equal(await page.locator('[data-testid="publish-mode"]').inputValue(), 'pubsub+list');
    assert.match((await page.locator('[data-testid="publish-figure-latency"]').getAttribute('title')) ?? '', /engine clock, over the last minute .* leaves out the application's receive time/);

    // Calls: every event replied and received, and the figures move.
    await placeCalls(c.lab, uasPort, 5);
    await figureIs(page, 'events', /^20 \/ 20$/);
    await figureIs(page, 'delivered', /^pubsub 20 · list 0 · stream 0$/);
    assert.match((await figure(page, 'latency')) ?? '', /^\d+\.\d\d \/ \d+\.\d\d \/ \d+\.\d\d ms$/);
    assert.equal(await figure(page, 'receivers'), '1', 'each PUBLISH reached the application');
    assert.equal(await figure(page, 'numpat'), '1');
    // The chart draws once two points (2 s apart) are in.
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="publish-chart"] path.recharts-line-curve')].some((p) => (p.getAttribute('d') ?? '').length > 0), undefined, { timeout: 10_000 });

    // The calls list: each call's events came via pubsub; none is "not delivered".
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="call-delivery"]')].filter((e) => e.textContent === 'pubsub').length === 5, undefined, { timeout: 10_000 });
    await page.locator('[data-testid="calls-filter-undelivered"]').check();
    await page.locator('[data-testid="calls-no-match"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="calls-filter-undelivered"]').uncheck();
    await page.locator('[data-testid="calls-filter-publish"]').fill('100000');
    await page.locator('[data-testid="calls-no-match"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="calls-filter-publish"]').fill('');

    // The ladder: new, early, answered, ended, each replied and delivered.
    await page.locator('[data-testid="call-row"]').first().click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="ladder-arrow"][data-lane="publish"]').length === 8, undefined, { timeout: 10_000 });
    const arrows = await page.locator('[data-testid="ladder-arrow"][data-lane="publish"]').evaluateAll((els) =>
      els.map((e) => ({ owner: e.getAttribute('data-owner'), label: e.getAttribute('data-label') ?? '', delivered: e.classList.contains('publish-delivered'), dst: e.getAttribute('data-dst') })),
    );
    const replied = arrows.filter((a) => !a.delivered);
    const delivered = arrows.filter((a) => a.delivered);
    assert.deepEqual(replied.map((a) => a.owner), EVENTS.map((e) => `publish:${e}`), 'the events in time order');
    for (const a of replied) assert.match(a.label, /^\w+ \(1 receiver\) · \d+\.\d\d ms$/);
    assert.deepEqual(delivered.map((a) => a.owner).sort(), EVENTS.map((e) => `publish:${e}`).sort());
    for (const a of delivered) {
      assert.match(a.label, /^\w+ delivered via pubsub · -?\d+\.\d\d ms$/);
      assert.equal(a.dst, 'application');
    }
    // A delivered arrow is drawn in its own colour, not the publish lane's.
    const [repliedStroke, deliveredStroke] = await Promise.all(
      ['[data-lane="publish"]:not(.publish-delivered)', '.publish-delivered'].map((sel) =>
        page.locator(`[data-testid="ladder-arrow"]${sel} .ladder-line`).first().evaluate((e) => getComputedStyle(e).stroke),
      ),
    );
    assert.notEqual(repliedStroke, deliveredStroke);
    await page.screenshot({ path: `${ARTIFACTS}/publish-pubsub.png` });
    await page.screenshot({ path: '/tmp/publish-pubsub.png' });

    // The mode switch changes the engine's mode; calls placed after it go by the stream.
    await page.locator('[data-testid="publish-mode"]').selectOption('stream');
    await page.locator('[data-testid="publish-mode-result"]').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('[data-testid="publish-mode-result"]').getAttribute('data-ok'), 'true', (await page.locator('[data-testid="publish-mode-result"]').textContent()) ?? '');
    assert.equal(c.lab.host.snapshot().publisher?.mode, 'stream');
    await page.locator('[data-testid="publish-mode"][data-mode="stream"]').waitFor({ timeout: 10_000 });
    await placeCalls(c.lab, uasPort, 2);
    await figureIs(page, 'delivered', /stream 8$/);
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="call-delivery"]')].filter((e) => e.textContent === 'stream').length === 2, undefined, { timeout: 10_000 });

    // Inline is marked as the incident it reproduces.
    assert.match((await page.locator('[data-testid="publish-mode"] option[value="inline"]').textContent()) ?? '', /reproduces the incident/);

    // The subscriber load: the story's default of 640, here 64 for speed.
    assert.equal(await page.locator('[data-testid="load-count"]').inputValue(), '640');
    await page.locator('[data-testid="load-count"]').fill(String(LOAD));
    await page.locator('[data-testid="load-start"]').click();
    await page.locator(`[data-testid="load-status"][data-connected="${LOAD}"]`).waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('[data-testid="load-status"]').textContent(), `connected ${LOAD} / ${LOAD} · failed 0 · dropped by Redis 0`);
    assert.equal(c.lab.host.snapshot().subscriberLoad?.connected, LOAD);
    await page.screenshot({ path: `${ARTIFACTS}/publish-load.png` });
    await page.screenshot({ path: '/tmp/publish-load.png' });
    await page.locator('[data-testid="load-stop"]').click();
    await page.locator('[data-testid="load-status"][data-connected="0"]').waitFor({ timeout: 10_000 });
    assert.equal(c.lab.host.snapshot().subscriberLoad, null);

    // Inline: the panel warns that it reproduces the incident, and shows the SIP workers waiting on Redis.
    await page.locator('[data-testid="publish-mode"]').selectOption('inline');
    await page.locator('[data-testid="publish-inline-warning"]').waitFor({ timeout: 15_000 });
    assert.equal(c.lab.host.snapshot().publisher?.mode, 'inline');
    assert.match((await page.locator('[data-testid="publish-inline-warning"]').textContent()) ?? '', /known bad design.*waits for Redis before it answers an INVITE/);
    await placeCalls(c.lab, uasPort, 2);
    await page.locator('[data-testid="publish-figure-inline"]').waitFor({ timeout: 10_000 });
    assert.match((await figure(page, 'inline')) ?? '', /^\d+ \/ \d+ · \d+ waiting$/);
    await page.screenshot({ path: '/tmp/publish-inline.png' });
  } finally {
    await c.close();
    await redis.stop();
  }
});

test('without Redis the publish panel says why the publisher has no figures', { timeout: 60_000 }, async () => {
  const c = await openConsole({ redis: null });
  try {
    const absent = c.page.locator('[data-testid="publish-absent"]');
    await absent.waitFor({ timeout: 10_000 });
    const line = (await absent.textContent()) ?? '';
    const status = c.lab.host.snapshot().components.find((s) => s.name === 'publisher');
    assert.match(line, /^Publisher /);
    assert.ok(status && line.includes(status.error ?? status.detail ?? status.state), `"${line}" says the component's own reason`);
    assert.equal(await c.page.locator('[data-testid="load-start"]').isDisabled(), true, 'no load without a publisher');
  } finally {
    await c.close();
  }
});
