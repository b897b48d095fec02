/**
 * The media slice in the console, in real Chromium, during a SIPp call with
 * G.711 through the proxy and the relay: the port pool panel moves while the
 * call is up and its session is listed, the BYE shows as a close, the call's
 * ladder draws its two streams as bands with their figures, and stopping the
 * relay from the control bar says media is no longer relayed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS, openConsole } from '../helpers/console';
import { freePort } from '../helpers/ports';
import { runSipp, startSipp } from '../helpers/sipp';

const MEDIA_UAC = join(import.meta.dirname, '..', 'fixtures', 'sipp', 'uac-g711-media.xml');

test('the port pool panel and the media lane move during a SIPp call with RTP, and the relay toggle stops relaying', { timeout: 120_000 }, async () => {
  const uasPort = await freePort();
  const c = await openConsole({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }], rtp: { host: '127.0.0.1', min: 22500, max: 22599 } });
  const page = c.page;
  const uas = startSipp({ scenario: 'uas', port: uasPort, extra: ['-rtp_echo', '-mi', '127.0.0.1', '-mp', String(await freePort())] });
  try {
    const gauge = page.locator('[data-testid="portpool-gauge"]');
    await gauge.waitFor({ timeout: 10_000 });
    assert.equal(await gauge.getAttribute('data-total'), '100');
    assert.equal(await gauge.getAttribute('data-in-use'), '0');
    await new Promise((r) => setTimeout(r, 300));
    const call = runSipp({ scenario: MEDIA_UAC, remote: `127.0.0.1:${c.lab.sipPort}`, port: await freePort(), calls: 1, timeoutSec: 30, extra: ['-mi', '127.0.0.1', '-mp', String(await freePort())] });

    // While the call is up: two pairs in use, and its session among the oldest.
    await page.waitForFunction(() => document.querySelector('[data-testid="portpool-gauge"]')?.getAttribute('data-in-use') === '4', undefined, { timeout: 10_000 });
    await page.locator('[data-testid="portpool-session"]').first().waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'console-port-pool-live.png') });
    const r = await call;
    assert.equal(r.successful, 1, r.stdout.slice(-400));

    // After the BYE: the ports are back (quarantined first) and the close is counted.
    await page.waitForFunction(() => document.querySelector('[data-testid="portpool-closed-bye"]')?.getAttribute('data-count') === '1', undefined, { timeout: 10_000 });
    await page.waitForFunction(() => document.querySelector('[data-testid="portpool-gauge"]')?.getAttribute('data-in-use') === '0', undefined, { timeout: 10_000 });

    // The call's ladder: one band per stream, with the packets that crossed.
    await page.locator('[data-testid="call-row"]').first().click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="media-band"]').length >= 2, undefined, { timeout: 10_000 });
    const streams = await page.locator('[data-testid="media-band"]').evaluateAll((els) => [...new Set(els.map((e) => e.getAttribute('data-stream')))].sort());
    assert.deepEqual(streams, ['m0-callee', 'm0-caller']);
    const labels = await page.locator('[data-testid="ladder-arrow"][data-lane="media"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-label') ?? ''));
    assert.ok(labels.some((l) => /PCMA\/8000 · 236 pkts/.test(l)), `a media arrow names the codec and the 236 packets: ${labels.join(' | ')}`);
    await page.screenshot({ path: join(ARTIFACTS, 'console-ladder-media.png') });

    // Stopping the relay from the control bar: the panel says media is not relayed.
    await page.locator('[data-testid="toggle-relay"]').click();
    await page.locator('[data-testid="toggle-relay"][data-state="stopped"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="portpool-absent"]').waitFor({ timeout: 10_000 });
    assert.match((await page.locator('[data-testid="portpool-absent"]').textContent()) ?? '', /media is not relayed/);
    assert.equal(c.lab.host.snapshot().relay, null);
  } finally {
    await uas.stop();
    await c.close();
  }
});
