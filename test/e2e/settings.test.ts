import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Page } from 'playwright-core';
import type { LabSettings, Snapshot } from '../../app/contract';
import { ARTIFACTS, openConsole, type OpenConsole } from '../helpers/console';
import type { RunningLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { proxyAnswersOn } from '../helpers/raw-udp';

let c: OpenConsole;
let lab: RunningLab;
let page: Page;

before(async () => {
  // An RTP range below the ephemeral ports freePort() hands out, so a new SIP port never clashes with it.
  c = await openConsole({ rtp: { host: '127.0.0.1', min: 20000, max: 20999 } });
  ({ lab, page } = c);
});

after(async () => {
  await c?.close();
});

const auth = () => c.auth();
const settings = async () => (await (await fetch(`${lab.base}/api/settings`, { headers: auth() })).json()) as LabSettings;
const proxy = async () => ((await (await fetch(`${lab.base}/api/snapshot`, { headers: auth() })).json()) as Snapshot).components.find((c) => c.name === 'proxy')!;
const dialog = () => page.locator('[data-testid="settings-dialog"]');
const field = (name: string) => page.locator(`[data-testid="setting-${name}"]`);

test(', opens the settings with the current values; keys typed in a field stay in it, and Escape closes it', { timeout: 30_000 }, async () => {
  await page.keyboard.press('?');
  const help = page.locator('[data-testid="help-overlay"]');
  assert.match(await help.innerText(), /,\s+settings/, 'the help lists the , key');
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'detached', timeout: 5_000 });

  await page.keyboard.press(',');
  await field('sip').waitFor({ timeout: 5_000 });
  const host = await settings();
  for (const name of ['sip', 'route', 'rtp', 'ng', 'redis', 'record', 't1', 't2', 't4', 'maxCalls', 'maxCallMessages'] as const) {
    assert.equal(await field(name).inputValue(), host[name], `${name} shows the host's value`);
  }
  assert.equal(await page.locator('label[for="setting-t1"]').innerText(), 'T1 --t1', 'each field is labelled');
  assert.ok(await field('sip').evaluate((el) => el === document.activeElement), 'the first field has the focus');
  // ? and t are console shortcuts; typed here they are text.
  await field('record').fill('');
  await field('record').pressSequentially('/tmp/t?');
  assert.equal(await field('record').inputValue(), '/tmp/t?');
  assert.equal(await help.count(), 0, 'the help did not open');
  assert.match(await page.locator('[data-testid="settings-preview"]').innerText(), /recorder not running: used at its next start/);
  await page.keyboard.press('Escape');
  await dialog().waitFor({ state: 'detached', timeout: 5_000 });
  assert.equal((await settings()).record, host.record, 'Escape is Cancel: nothing was applied');
  assert.notEqual(host.record, '/tmp/t?');
});

test('a bad SIP port shows the host error under its field and changes nothing; a good port and T1 apply and restart the proxy', { timeout: 40_000 }, async () => {
  await page.locator('[data-testid="open-settings"]').click();
  await field('sip').waitFor({ timeout: 5_000 });
  const before = await settings();
  const proxyBefore = await proxy();

  await field('sip').fill('127.0.0.1:99999');
  assert.match(await page.locator('[data-testid="settings-preview"]').innerText(), /Apply restarts proxy/);
  await page.locator('[data-testid="settings-apply"]').click();
  const error = page.locator('[data-testid="setting-sip-error"]');
  await error.waitFor({ timeout: 10_000 });
  assert.equal(await error.innerText(), '--sip: 99999 is outside 0-65535');
  assert.equal(await field('sip').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('[data-testid="settings-result"]').getAttribute('data-state'), 'error');
  await page.screenshot({ path: `${ARTIFACTS}/settings-error.png` });
  assert.deepEqual(await settings(), before, 'the host changed nothing');
  assert.equal((await proxy()).sinceUs, proxyBefore.sinceUs, 'the proxy was not restarted');

  const port = await freePort();
  await field('sip').fill(`127.0.0.1:${port}`);
  assert.equal(await error.count(), 0, 'typing clears the field error');
  await field('t1').fill('250');
  await page.keyboard.press('Enter'); // Enter in a field applies
  const result = page.locator('[data-testid="settings-result"]');
  await result.waitFor({ timeout: 15_000 });
  assert.equal(await result.getAttribute('data-state'), 'ok', await result.innerText());
  assert.match(await result.innerText(), /restarted: proxy/);

  const now = await settings();
  assert.deepEqual([now.sip, now.t1], [`127.0.0.1:${port}`, '250']);
  const p = await proxy();
  assert.deepEqual([p.state, p.endpoint], ['running', `udp+tcp 127.0.0.1:${port}`]);
  assert.equal(await proxyAnswersOn(port), true, 'the proxy answers on the new port');
  assert.equal(await field('sip').inputValue(), `127.0.0.1:${port}`, 'the dialog shows the applied values');
  await page.locator('[data-testid="toggle-proxy"] + .component-info .component-endpoint', { hasText: String(port) }).waitFor({ timeout: 5_000 });
  await dialog().screenshot({ path: `${ARTIFACTS}/settings.png` });
  await page.locator('[data-testid="settings-cancel"]').click();
  await dialog().waitFor({ state: 'detached', timeout: 5_000 });
});

test('a port already in use: the result says the proxy failed with the engine error, and the control bar shows it failed', { timeout: 40_000 }, async () => {
  const held = createSocket('udp4');
  await new Promise<void>((resolve) => held.bind(0, '127.0.0.1', () => resolve()));
  const port = held.address().port;
  try {
    await page.locator('[data-testid="theme-toggle"]').click(); // the light theme gets a look too
    await page.keyboard.press(',');
    await field('sip').waitFor({ timeout: 5_000 });
    await field('sip').fill(`127.0.0.1:${port}`);
    await page.locator('[data-testid="settings-apply"]').click();
    const result = page.locator('[data-testid="settings-result"]');
    await result.waitFor({ timeout: 15_000 });
    const p = await proxy();
    assert.equal(p.state, 'failed');
    assert.match(p.error ?? '', /address in use/);
    assert.equal(await result.getAttribute('data-state'), 'error');
    assert.ok((await result.innerText()).includes(`proxy failed to restart: ${p.error}`), await result.innerText());
    await page.locator('[data-testid="toggle-proxy"][data-state="failed"]').waitFor({ timeout: 5_000 });
    await dialog().screenshot({ path: `${ARTIFACTS}/settings-light-failed.png` });
  } finally {
    held.close();
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="theme-toggle"]').click();
  }
});
