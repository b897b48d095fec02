/**
 * The wire tap in the console (issue #12): with `--wire` on, the header's
 * 100 Trying p99 says it is the wire's, over the last minute, the wire
 * counter shows the queue-wait p99, and an opened message shows its wire time
 * with the engine's gap beside it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARTIFACTS, openConsole } from '../helpers/console';
import { freePort } from '../helpers/ports';
import { runSipp, startSipp } from '../helpers/sipp';

test('with the wire tap on, the header says the 100 Trying p99 is the wire\'s and a message shows its engine gap', { timeout: 90_000 }, async () => {
  const uasPort = await freePort();
  const c = await openConsole({ wire: 'auto', route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] });
  const uas = startSipp({ scenario: 'uas', port: uasPort });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${c.lab.sipPort}`, port: await freePort(), calls: 3, rate: 10, duration: 100, timeoutSec: 15 });
    assert.equal(r.successful, 3, r.stdout);
    const page = c.page;
    const trying = page.locator('[data-testid="counter-trying"]');
    // Live batches come 4 times a second: wait for the one that counts all three INVITEs.
    await page.waitForFunction(() => /\(3 INVITEs\)/.test(document.querySelector('[data-testid="counter-trying"]')?.getAttribute('title') ?? ''), undefined, { timeout: 10_000 });
    assert.match((await trying.locator('.counter-value').textContent()) ?? '', /^\d+\.\d{3} ms$/);
    assert.equal(await trying.locator('.counter-label').textContent(), '100 Trying p99 · wire');
    assert.match((await trying.getAttribute('title')) ?? '', /On the wire .* over the last minute \(3 INVITEs\)/);
    assert.match((await page.locator('[data-testid="counter-wire"] .counter-value').textContent()) ?? '', /^\d+\.\d{3} ms$/);

    await page.locator('[data-testid="call-row"]').first().click();
    await page.locator('[data-testid="ladder-arrow"]').first().waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="ladder-arrow"][data-label="INVITE"]').first().click();
    const wire = page.locator('[data-testid="message-view"] [data-testid="message-wire"]');
    assert.match((await wire.textContent()) ?? '', /^wire time · engine read it \+\d+\.\d{3} ms$/);
    assert.match((await wire.getAttribute('title')) ?? '', /kernel's socket queue/);
    await page.screenshot({ path: `${ARTIFACTS}/console-wire-tap.png` });
  } finally {
    await uas.stop();
    await c.close();
  }
});
