/**
 * The built-in traffic in the console, in real Chromium, with no SIP gear:
 * start "traffic" in the control bar, watch the generator's own figures
 * move, open a call it placed and see its SIP and media lanes, change its
 * spec live in the settings dialog, stop it with a click.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS, openConsole } from '../helpers/console';

test('start the built-in traffic with a click: calls through the proxy and the relay, the generator figures, a ladder with media, a live spec change, and stop', { timeout: 90_000 }, async () => {
  const c = await openConsole();
  const page = c.page;
  try {
    assert.ok((await c.lab.host.applySettings({ traffic: 'cps=10 hold=3 answer=0.3 busy=10 noanswer=0 cancel=0 loss=0' })).ok);
    await page.locator('[data-testid="traffic-absent"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="toggle-traffic"]').click();
    await page.locator('[data-testid="toggle-traffic"][data-state="running"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="traffic-panel"][data-traffic="running"]').waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => Number((document.querySelector('[data-testid="traffic-figure-completed"]')?.getAttribute('data-value') ?? '0').split(' ')[0]) >= 3, undefined, { timeout: 20_000 });
    assert.match((await page.locator('[data-testid="traffic-spec"]').innerText()).trim(), /^cps=10 hold=3 /);
    assert.equal(await page.locator('[data-testid="traffic-figure-failed"]').getAttribute('data-value'), '0', 'every call ended as the mix says');
    // The suspects board: the SIP path and the relay carry the traffic and stay green; parts not running are off.
    assert.equal(await page.locator('[data-testid="suspect-sip"]').getAttribute('data-state'), 'green', await page.locator('[data-testid="suspect-sip"]').getAttribute('title') ?? '');
    assert.equal(await page.locator('[data-testid="suspect-relay"]').getAttribute('data-state'), 'green', await page.locator('[data-testid="suspect-relay"]').getAttribute('title') ?? '');
    assert.equal(await page.locator('[data-testid="suspect-redis"]').getAttribute('data-state'), 'off');
    const placed = await page.locator('[data-testid="traffic-figure-placed"]').getAttribute('data-value');
    assert.match(placed ?? '', /^\d+ \(\d+(\.\d)?\/s\)$/);

    // A call it placed, answered: its ladder has the SIP messages and the media streams both ways.
    const answered = c.lab.host.listCalls(100).find((x) => x.finalStatus === 200)!;
    assert.ok(answered, 'an answered call in the list');
    await page.locator(`[data-testid="call-row"][data-call-id="${answered.callId}"]`).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="media-band"]').length >= 2, undefined, { timeout: 10_000 });
    const sip = await page.locator('[data-testid="ladder-arrow"][data-lane="sip"]').count();
    assert.ok(sip >= 5, `INVITE, 100, 180, 200, ACK… on the ladder: ${sip}`);
    await page.screenshot({ path: join(ARTIFACTS, 'console-traffic.png') });

    // The spec changes live from the settings dialog: the generator takes it without a restart.
    await page.locator('[data-testid="open-settings"]').click();
    await page.locator('[data-testid="setting-traffic"]').fill('cps=4 hold=1 answer=0.1 busy=0 noanswer=0 cancel=0 loss=0');
    await page.locator('[data-testid="settings-apply"]').click();
    await page.waitForFunction(() => (document.querySelector('[data-testid="traffic-spec"]')?.textContent ?? '').startsWith('cps=4 '), undefined, { timeout: 10_000 });
    await page.keyboard.press('Escape');

    await page.locator('[data-testid="toggle-traffic"]').click();
    await page.locator('[data-testid="toggle-traffic"][data-state="stopped"]').waitFor({ timeout: 15_000 });
    await page.locator('[data-testid="traffic-absent"]').waitFor({ timeout: 10_000 });
  } finally {
    await c.close();
  }
});
