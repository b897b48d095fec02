import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { CallSummary } from '../../app/contract';
import { ensureRendererBuilt } from '../../app/lab/renderer-bundle';
import { openBrowser } from '../helpers/browser';
import { startLab, type RunningLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { runSipp, startSipp } from '../helpers/sipp';

const ARTIFACTS = 'test/artifacts';
let lab: RunningLab;
let browser: Awaited<ReturnType<typeof openBrowser>>;
let page: Page;
let callId: string;
let scratch: string;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  scratch = mkdtempSync(join(tmpdir(), 'callpath-export-ui-'));
  const built = await ensureRendererBuilt(() => undefined);
  assert.ok(built.ok, built.ok ? '' : built.error);
  const uasPort = await freePort();
  lab = await startLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] });
  const uas = startSipp({ scenario: 'uas', port: uasPort });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 2, duration: 100, timeoutSec: 15 });
    assert.equal(r.successful, 2, r.stdout);
  } finally {
    await uas.stop();
  }
  await lab.settle();
  browser = await openBrowser();
  page = browser.page;
});

after(async () => {
  await browser?.close();
  await lab?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const auth = () => ({ Authorization: `Bearer ${lab.token}` });

async function openConsole(p: Page, base: string, token: string): Promise<void> {
  await p.goto(`${base}/?token=${token}`);
  await p.locator('[data-testid="toggle-proxy"][data-state="running"]').waitFor({ timeout: 15_000 });
}

test('e on the selected call opens the format chooser; pcap downloads a libpcap file', async () => {
  await openConsole(page, lab.base, lab.token);
  const row = page.locator('[data-testid="call-row"]').first();
  await row.waitFor({ timeout: 10_000 });
  callId = (await row.getAttribute('data-call-id')) ?? '';
  assert.ok(callId);
  await row.click();
  await page.locator('[data-testid="ladder-arrow"]').first().waitFor({ timeout: 10_000 });

  // Escape closes the chooser without exporting.
  await page.keyboard.press('e');
  const chooser = page.locator('[data-testid="export-chooser"]');
  await chooser.waitFor({ timeout: 5_000 });
  const formats = await chooser.locator('[data-testid="export-format"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-format')));
  assert.deepEqual(formats, ['pcap', 'txt', 'svg', 'png', 'mmd', 'json']);
  await page.screenshot({ path: `${ARTIFACTS}/export-chooser.png` });
  await page.keyboard.press('Escape');
  await chooser.waitFor({ state: 'detached', timeout: 5_000 });

  // Arrows move, and ↓ on the chooser does not move the ladder selection behind it.
  await page.keyboard.press('e');
  await chooser.waitFor({ timeout: 5_000 });
  await page.keyboard.press('ArrowDown');
  await chooser.locator('[data-format="txt"][aria-selected="true"]').waitFor({ timeout: 5_000 });
  await page.keyboard.press('ArrowUp');
  await chooser.locator('[data-format="pcap"][aria-selected="true"]').waitFor({ timeout: 5_000 });
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), page.keyboard.press('Enter')]);
  assert.match(download.suggestedFilename(), /\.pcap$/);
  const file = join(scratch, download.suggestedFilename());
  await download.saveAs(file);
  const bytes = readFileSync(file);
  assert.deepEqual([...bytes.subarray(0, 4)], [0xd4, 0xc3, 0xb2, 0xa1], 'libpcap magic (little-endian, µs)');
  const status = page.locator('[data-testid="files-status"][data-state="ok"]');
  await status.waitFor({ timeout: 10_000 });
  const line = await status.textContent();
  assert.match(line ?? '', new RegExp(`^saved \\d+(\\.\\d)? (B|kB) as ${download.suggestedFilename().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  assert.equal(await chooser.count(), 0, 'the chooser closed');
  await page.screenshot({ path: `${ARTIFACTS}/export-saved.png` });
});

test('the ? help lists e', async () => {
  await page.keyboard.press('?');
  const help = page.locator('[data-testid="help-overlay"]');
  await help.waitFor({ timeout: 5_000 });
  assert.match(await help.innerText(), /\be\b\s+export the selected call/);
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'detached', timeout: 5_000 });
});

test('"Export N calls…" exports the calls matching the filter; j picks json', async () => {
  // Narrow the list to the call (the filter is what the button exports).
  await page.locator('[data-testid="calls-filter"]').fill(callId);
  const button = page.locator('[data-testid="export-calls"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="export-calls"]')?.textContent === 'Export 1 call…', undefined, { timeout: 5_000 });
  await page.locator('[data-testid="calls-filter"]').fill('');
  await page.waitForFunction(() => /^Export \d+ calls?…$/.test(document.querySelector('[data-testid="export-calls"]')?.textContent ?? ''), undefined, { timeout: 5_000 });
  const all = (await (await fetch(`${lab.base}/api/calls`, { headers: auth() })).json()) as CallSummary[];
  assert.equal(all.length, 2, 'two SIPp calls');
  assert.equal(await button.textContent(), 'Export 2 calls…');

  await button.click();
  const chooser = page.locator('[data-testid="export-chooser"]');
  await chooser.waitFor({ timeout: 5_000 });
  const formats = await chooser.locator('[data-testid="export-format"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-format')));
  assert.deepEqual(formats, ['pcap', 'json', 'txt', 'md', 'svg']);
  await page.screenshot({ path: `${ARTIFACTS}/export-selection-chooser.png` });
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), page.keyboard.press('j')]);
  assert.match(download.suggestedFilename(), /\.json$/);
  const file = join(scratch, download.suggestedFilename());
  await download.saveAs(file);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { schemaVersion: number; calls: { callId: string }[] };
  assert.equal(doc.schemaVersion, 4);
  assert.deepEqual(doc.calls.map((c) => c.callId).sort(), all.map((c) => c.callId).sort(), 'both calls, and only them');
  assert.ok(doc.calls.some((c) => c.callId === callId), 'the selected call is in the export');
  await page.locator('[data-testid="files-status"][data-state="ok"]').waitFor({ timeout: 10_000 });
});

test('"Open capture…" on a fresh lab imports a pcap exported from this one, and the call is listed', async () => {
  const res = await fetch(`${lab.base}/api/calls/${encodeURIComponent(callId)}/ladder.pcap`, { headers: auth() });
  assert.equal(res.status, 200);
  const pcap = join(scratch, 'from-first-lab.pcap');
  writeFileSync(pcap, Buffer.from(await res.arrayBuffer()));

  const second = await startLab({ token: 'second-token' });
  const page2 = await browser.context.newPage();
  try {
    await openConsole(page2, second.base, second.token);
    await page2.locator('[data-testid="calls-empty"]').waitFor({ timeout: 10_000 });
    const [chooser] = await Promise.all([page2.waitForEvent('filechooser', { timeout: 10_000 }), page2.locator('[data-testid="open-capture"]').click()]);
    await chooser.setFiles(pcap);
    const status = page2.locator('[data-testid="files-status"][data-state="ok"]');
    await status.waitFor({ timeout: 15_000 });
    assert.match((await status.textContent()) ?? '', /^imported \d+ messages? in 1 call \(pcap, source import-\d+\); skipped: /);
    await page2.locator(`[data-testid="call-row"][data-call-id="${callId}"]`).waitFor({ timeout: 10_000 });
    await page2.locator(`[data-testid="call-row"][data-call-id="${callId}"]`).click();
    await page2.locator('[data-testid="ladder-arrow"]').first().waitFor({ timeout: 10_000 });
    await page2.screenshot({ path: `${ARTIFACTS}/import-capture.png` });
  } finally {
    await page2.close();
    await second.stop();
  }
});
