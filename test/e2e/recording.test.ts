/**
 * The recorder in the console, in real Chromium, during a SIPp call with
 * G.711 through the proxy and the relay: start the recorder with a click,
 * stop the live call's recording with a click (the file and its figures
 * appear), start it again, and after the call the finished list offers both
 * WAVs, which the lab server serves to the page and nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, openConsole } from '../helpers/console';
import { freePort } from '../helpers/ports';
import { runSipp, startSipp } from '../helpers/sipp';

const MEDIA_UAC = join(import.meta.dirname, '..', 'fixtures', 'sipp', 'uac-g711-media.xml');

test('record a live call with a click, stop it, see the file and its figures, and play it from the page', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'callpath-e2e-rec-'));
  const uasPort = await freePort();
  const c = await openConsole({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }], rtp: { host: '127.0.0.1', min: 22700, max: 22799 }, dataDir });
  const page = c.page;
  const uas = startSipp({ scenario: 'uas', port: uasPort, extra: ['-rtp_echo', '-mi', '127.0.0.1', '-mp', String(await freePort())] });
  try {
    await page.locator('[data-testid="recorder-absent"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="toggle-recorder"]').click();
    await page.locator('[data-testid="toggle-recorder"][data-state="running"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="recorder-panel"][data-recorder="on"]').waitFor({ timeout: 10_000 });

    await new Promise((r) => setTimeout(r, 300));
    const call = runSipp({ scenario: MEDIA_UAC, remote: `127.0.0.1:${c.lab.sipPort}`, port: await freePort(), calls: 1, timeoutSec: 30, extra: ['-mi', '127.0.0.1', '-mp', String(await freePort())] });
    // A running recorder records the call from its first media; the panel lists it.
    await page.locator('[data-testid="recorder-active-row"]').first().waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="call-row"]').first().click();
    const button = page.locator('[data-testid="record-call"]');
    await page.locator('[data-testid="record-call"][data-recording="true"]').waitFor({ timeout: 10_000 });
    await page.waitForTimeout(1_000); // a second of audio
    await button.click();
    await page.locator('[data-testid="recorder-finished-row"]').first().waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="record-call"][data-recording="false"]').waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'console-recording-stopped.png') });
    // Start it again mid-call with the key.
    await page.keyboard.press('r');
    await page.locator('[data-testid="recorder-active-row"]').first().waitFor({ timeout: 10_000 });
    const r = await call;
    assert.equal(r.successful, 1, r.stdout.slice(-400));

    await page.waitForFunction(() => document.querySelectorAll('[data-testid="recorder-finished-row"]').length === 2, undefined, { timeout: 15_000 });
    const finished = c.lab.host.snapshot().recorder!.finished;
    assert.equal(finished.length, 2);
    for (const f of finished) assert.equal(f.error, null);
    assert.ok(finished[1]!.durationMs >= 900, `the first recording holds about a second: ${finished[1]!.durationMs} ms`);
    const recorded = await page.locator('[data-testid="recorder-figure-recorded"]').getAttribute('data-value');
    assert.equal(recorded, '2');

    // The page fetches the WAV from the lab server (the token cookie), as its player and its download link do.
    const href = await page.locator('[data-testid="recorder-finished-wav"]').first().getAttribute('href');
    assert.ok(href?.startsWith('/api/recorder/file?path='), `a download link: ${href}`);
    const got = await page.evaluate(async (url) => {
      const res = await fetch(url);
      const b = new Uint8Array(await res.arrayBuffer());
      return { status: res.status, type: res.headers.get('content-type'), riff: String.fromCharCode(...b.slice(0, 4)), size: b.length };
    }, href!);
    assert.deepEqual([got.status, got.type, got.riff], [200, 'audio/wav', 'RIFF']);
    assert.equal(got.size, 44 + finished[0]!.bytes);
    await page.locator('[data-testid="recorder-finished-play"]').first().waitFor({ timeout: 5_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'console-recorder-finished.png') });
  } catch (err) {
    await page.screenshot({ path: join(ARTIFACTS, 'console-recording-failed.png') });
    throw err;
  } finally {
    await uas.stop();
    await c.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
