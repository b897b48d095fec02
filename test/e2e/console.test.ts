import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { CallDetail, ComponentStatus, Snapshot } from '../../app/contract';
import { ensureRendererBuilt } from '../../app/lab/renderer-bundle';
import { openBrowser } from '../helpers/browser';
import { drawnArrows } from '../helpers/console';
import { startLab, type RunningLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { runSipp, startSipp } from '../helpers/sipp';
import { RawUdp, headerLines, isResponse, sipMessage } from '../helpers/raw-udp';
import { inTimeOrder, sipEntries } from '../helpers/lab';

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
  lab = await startLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] });
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
  assert.equal(await page.locator('[data-testid="toggle-relay"]').getAttribute('data-state'), 'running');
  assert.equal(await page.locator('[data-testid="toggle-recorder"]').getAttribute('data-state'), 'stopped', 'the recorder waits for a click unless --record names a folder');
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
  await lab.settle();
  const res = await fetch(`${lab.base}/api/calls/${encodeURIComponent(callId)}`, { headers: { Authorization: `Bearer ${lab.token}` } });
  const detail = (await res.json()) as CallDetail;
  // The SIP lane: SIPp's SDP also puts the relay's streams on the ladder's media lane.
  const arrows = page.locator('[data-testid="ladder-arrow"][data-lane="sip"]');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="ladder-arrow"][data-lane="sip"]').length === n, sipEntries(detail).length, { timeout: 10_000 });
  const labels = await arrows.evaluateAll((els) => els.map((e) => e.getAttribute('data-label')));
  assert.deepEqual(labels, inTimeOrder(sipEntries(detail)).map((m) => m.label), 'time order, as the ladder draws it');
  assert.equal(labels[0], 'INVITE');
  assert.equal(labels[1], '100 Trying');
  await arrows.first().click();
  const text = await page.locator('[data-testid="message-view"]').innerText();
  assert.match(text, /INVITE sip:/);
  await page.screenshot({ path: `${ARTIFACTS}/console-ladder.png` });
});

test('the message view highlights the start line, header names apart from values, Via/From/To/Call-ID/CSeq, and shows the SDP as its own section', async () => {
  const view = page.locator('[data-testid="message-view"]');
  await view.waitFor({ timeout: 5_000 });
  assert.equal(await view.locator('[data-testid="sip-start"] .sip-method').textContent(), 'INVITE');
  const keyNames = await view.locator('.sip-header.sip-key .hdr-name').allTextContents();
  for (const h of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) assert.ok(keyNames.includes(h), `${h} emphasised (got ${keyNames.join(', ')})`);
  const plainNames = await view.locator('.sip-header:not(.sip-key) .hdr-name').allTextContents();
  assert.ok(plainNames.includes('Max-Forwards') && !plainNames.includes('Via'), plainNames.join(', '));
  const via = view.locator('.sip-header[data-header="via"]').first();
  assert.match((await via.locator('.hdr-value').textContent()) ?? '', /^SIP\/2\.0\/UDP .*branch=z9hG4bK/);
  const nameColor = await via.locator('.hdr-name').evaluate((e) => getComputedStyle(e).color);
  const valueColor = await via.locator('.hdr-value').evaluate((e) => getComputedStyle(e).color);
  assert.notEqual(nameColor, valueColor, 'header name and value are drawn differently');
  const sdp = view.locator('[data-testid="message-sdp"]');
  assert.equal(await sdp.count(), 1, 'the SIPp INVITE carries SDP');
  assert.ok((await sdp.locator('.sdp-key[data-sdp-type="m"]').count()) >= 1);
  assert.ok((await sdp.locator('.sdp-key[data-sdp-type="c"]').count()) >= 1);
  assert.equal(await sdp.locator('[data-sdp-type="o"].sdp-key').count(), 0, 'o= is not highlighted');
  assert.match(await view.innerText(), /\nm=audio \d+ RTP\/AVP/);
  await view.screenshot({ path: `${ARTIFACTS}/console-message-view.png` });
});

/** data-index of the arrow marked selected, or null. */
async function selectedArrow(): Promise<string | null> {
  const sel = page.locator('[data-testid="ladder-arrow"][data-selected="true"]');
  return (await sel.count()) === 0 ? null : sel.first().getAttribute('data-index');
}

/** Waits (React renders after the key event) until the arrow with this data-index is the selected one. */
async function waitSelected(index: string | undefined): Promise<void> {
  await page.locator(`[data-testid="ladder-arrow"][data-index="${index}"][data-selected="true"]`).waitFor({ timeout: 5_000 });
  assert.equal(await page.locator('[data-testid="ladder-arrow"][data-selected="true"]').count(), 1, 'exactly one arrow is selected');
}

async function arrowIndexes(): Promise<string[]> {
  return page.locator('[data-testid="ladder-arrow"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-index') ?? ''));
}

/**
 * data-index of the entry the message view shows for an arrow: a SIP
 * message's own; for a media stream (one arrow, at its first report) its
 * latest report.
 */
function opens(detail: CallDetail, arrowIndex: string | undefined): string {
  const e = detail.entries.find((x) => String(x.index) === arrowIndex);
  assert.ok(e, `arrow ${arrowIndex} is an entry of the call`);
  if (e.lane !== 'media') return String(e.index);
  const reports = inTimeOrder(detail.entries.filter((x) => x.lane === 'media' && x.streamId === e.streamId));
  return String(reports[reports.length - 1]!.index);
}

test('keyboard: j/↓ select the next ladder arrow, k/↑ the previous, Enter opens it and Escape closes it', async () => {
  const callId = await page.locator('[data-testid="call-row"][aria-selected="true"]').getAttribute('data-call-id');
  assert.ok(callId);
  const detail = (await (await fetch(`${lab.base}/api/calls/${encodeURIComponent(callId)}`, { headers: { Authorization: `Bearer ${lab.token}` } })).json()) as CallDetail;
  // Every row of the ladder, in the order j/k move through them (SIP messages and the relay's streams).
  const order = await arrowIndexes();
  assert.ok(order.length >= 4, `a full call ladder (got ${order.length} arrows)`);
  // The previous test clicked the first arrow: it is selected and open.
  await waitSelected(order[0]);
  await page.keyboard.press('Escape');
  await page.locator('[data-testid="message-view"]').waitFor({ state: 'detached', timeout: 5_000 });
  assert.equal(await selectedArrow(), order[0], 'closing the message keeps the selection');

  await page.keyboard.press('j');
  await waitSelected(order[1]);
  assert.equal(await page.locator(`[data-testid="ladder-arrow"][data-index="${order[1]}"]`).getAttribute('aria-pressed'), 'true');
  await page.keyboard.press('ArrowDown');
  await waitSelected(order[2]);
  await page.keyboard.press('k');
  await waitSelected(order[1]);
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  await waitSelected(order[0]); // stops at the first arrow
  assert.equal(await page.locator('[data-testid="message-view"]').count(), 0, 'moving does not open a closed message');

  await page.keyboard.press('j');
  await page.keyboard.press('Enter');
  const view = page.locator('[data-testid="message-view"]');
  await view.waitFor({ timeout: 5_000 });
  assert.equal(await view.getAttribute('data-index'), opens(detail, order[1]));
  await page.keyboard.press('j');
  await page.locator(`[data-testid="message-view"][data-index="${opens(detail, order[2])}"]`).waitFor({ timeout: 5_000 });
  await page.screenshot({ path: `${ARTIFACTS}/console-ladder-keyboard.png` });
  await page.keyboard.press('Escape');
  await view.waitFor({ state: 'detached', timeout: 5_000 });
});

test('keyboard: / focuses the calls filter and keys typed there are not taken as shortcuts', async () => {
  const before = await selectedArrow();
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'calls-filter');
  await page.keyboard.type('jkt');
  assert.equal(await page.locator('[data-testid="calls-filter"]').inputValue(), 'jkt');
  assert.equal(await selectedArrow(), before, 'j/k in the field did not move the ladder');
  assert.equal(await page.locator('[data-testid="time-mode"]').getAttribute('data-mode'), 'relative', 't in the field did not switch the time');
  await page.locator('[data-testid="calls-filter"]').fill('');
  await page.keyboard.press('Escape');
  assert.notEqual(await page.evaluate(() => document.activeElement?.id), 'calls-filter', 'Escape leaves the field');
});

test('t cycles the ladder time display: relative → delta → absolute → relative, and shows the mode', async () => {
  const times = () => page.locator('[data-testid="ladder-time"]').allTextContents();
  const mode = () => page.locator('[data-testid="time-mode"]').getAttribute('data-mode');
  assert.equal(await mode(), 'relative');
  let t = await times();
  assert.equal(t[0], '+0.000 ms');
  assert.ok(t.every((s) => /^\+\d+\.\d{3} ms$/.test(s)), t.join(', '));

  await page.keyboard.press('t');
  await page.locator('[data-testid="time-mode"][data-mode="delta"]').waitFor({ timeout: 5_000 });
  t = await times();
  assert.equal(t[0], 'Δ0.000 ms');
  assert.ok(t.every((s) => /^Δ\d+\.\d{3} ms$/.test(s)), t.join(', '));

  await page.keyboard.press('t');
  await page.locator('[data-testid="time-mode"][data-mode="absolute"]').waitFor({ timeout: 5_000 });
  assert.match(await page.locator('[data-testid="time-mode"]').innerText(), /absolute/);
  t = await times();
  assert.ok(t.every((s) => /^\d{2}:\d{2}:\d{2}\.\d{6}$/.test(s)), t.join(', '));
  await page.screenshot({ path: `${ARTIFACTS}/console-ladder-absolute-time.png` });

  await page.keyboard.press('t');
  await page.locator('[data-testid="time-mode"][data-mode="relative"]').waitFor({ timeout: 5_000 });
});

test('? opens the keyboard help and Escape closes it', async () => {
  await page.keyboard.press('?');
  const help = page.locator('[data-testid="help-overlay"]');
  await help.waitFor({ timeout: 5_000 });
  const text = await help.innerText();
  for (const k of ['j', 'k', 'Enter', '/', 't', '?', 'Esc']) assert.ok(text.includes(k), `help lists ${k}`);
  await page.screenshot({ path: `${ARTIFACTS}/console-help.png` });
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'detached', timeout: 5_000 });
});

test('the 100 Trying arrow is annotated with its INVITE → 100 Trying delay; the header counts retransmissions', async () => {
  const callId = await page.locator('[data-testid="call-row"][aria-selected="true"]').getAttribute('data-call-id');
  assert.ok(callId);
  const res = await fetch(`${lab.base}/api/calls/${encodeURIComponent(callId)}`, { headers: { Authorization: `Bearer ${lab.token}` } });
  const detail = (await res.json()) as CallDetail;
  const invite = sipEntries(detail).find((m) => m.method === 'INVITE' && m.direction === 'in')!;
  const trying = sipEntries(detail).find((m) => m.status === 100 && m.direction === 'out' && m.dst === invite.src)!;
  const annot = page.locator(`[data-testid="ladder-arrow"][data-index="${trying.index}"] [data-testid="trying-delay"]`);
  assert.equal(Number(await annot.getAttribute('data-us')), trying.tsUs - invite.tsUs);
  assert.match(await annot.textContent() ?? '', /\d+\.\d{3} ms/);
  assert.equal(await page.locator('[data-testid="trying-delay"]').count() >= 1, true);
  const rtx = page.locator('[data-testid="ladder-retrans"]');
  assert.equal(Number(await rtx.getAttribute('data-count')), sipEntries(detail).filter((m) => m.retransmission).length);
});

test('d on one arrow then d on another diffs the two messages; shift-click compares with the selection', async () => {
  const callId = await page.locator('[data-testid="call-row"][aria-selected="true"]').getAttribute('data-call-id');
  assert.ok(callId);
  const res = await fetch(`${lab.base}/api/calls/${encodeURIComponent(callId)}`, { headers: { Authorization: `Bearer ${lab.token}` } });
  const detail = (await res.json()) as CallDetail;
  const inviteIn = sipEntries(detail).find((m) => m.method === 'INVITE' && m.direction === 'in')!;
  const inviteOut = sipEntries(detail).find((m) => m.method === 'INVITE' && m.direction === 'out')!;
  const trying = sipEntries(detail).find((m) => m.status === 100 && m.direction === 'out' && m.dst === inviteIn.src)!;
  const arrow = (i: number) => page.locator(`[data-testid="ladder-arrow"][data-index="${i}"]`);

  await arrow(inviteIn.index).click();
  await page.keyboard.press('d');
  await page.locator(`[data-testid="ladder-arrow"][data-index="${inviteIn.index}"][data-diff-base="true"]`).waitFor({ timeout: 5_000 });
  await arrow(inviteOut.index).click();
  await page.keyboard.press('d');
  const view = page.locator('[data-testid="diff-view"]');
  await view.waitFor({ timeout: 5_000 });
  assert.equal(await view.getAttribute('data-a'), String(inviteIn.index));
  assert.equal(await view.getAttribute('data-b'), String(inviteOut.index));
  assert.equal(await page.locator('[data-diff-base="true"]').count(), 0, 'the mark is consumed');
  const lines = async (op: string) => view.locator(`.diff-line[data-op="${op}"]`).evaluateAll((els) => els.map((e) => (e.textContent ?? '').replace(/^\d*\d*[+−\s]/, '')));
  const added = await view.locator('.diff-line[data-op="add"]').allTextContents();
  const removed = await view.locator('.diff-line[data-op="del"]').allTextContents();
  // The proxy's forwarded INVITE: its own Via on top, a Record-Route, Max-Forwards decremented (RFC 3261 §16.6).
  assert.ok(added.some((l) => l.includes(`Via: SIP/2.0/UDP 127.0.0.1:${lab.sipPort};branch=z9hG4bK`)), added.join('\n'));
  assert.ok(added.some((l) => l.includes('Record-Route:')), added.join('\n'));
  assert.ok(removed.some((l) => l.includes('Max-Forwards: 70')) && added.some((l) => l.includes('Max-Forwards: 69')), `${removed.join('\n')}\n--\n${added.join('\n')}`);
  const same = await lines('same');
  assert.ok(same.some((l) => l.includes(`Call-ID: ${callId}`)), 'unchanged lines are shown too');
  const bg = (op: string) => view.locator(`.diff-line[data-op="${op}"]`).first().evaluate((e) => getComputedStyle(e).backgroundColor);
  const [addBg, delBg, sameBg] = [await bg('add'), await bg('del'), await bg('same')];
  assert.notEqual(addBg, delBg);
  assert.notEqual(addBg, sameBg);
  assert.notEqual(delBg, sameBg);
  await page.screenshot({ path: `${ARTIFACTS}/console-message-diff.png` });
  await page.keyboard.press('Escape');
  await view.waitFor({ state: 'detached', timeout: 5_000 });

  // Shift-click: the selected forwarded INVITE against the 100 Trying.
  await arrow(trying.index).click({ modifiers: ['Shift'] });
  await view.waitFor({ timeout: 5_000 });
  assert.equal(await view.getAttribute('data-a'), String(inviteOut.index));
  assert.equal(await view.getAttribute('data-b'), String(trying.index));
  assert.match((await view.locator('.diff-line[data-op="add"]').first().textContent()) ?? '', /SIP\/2\.0 100 Trying/);
  await page.keyboard.press('Escape');
  await view.waitFor({ state: 'detached', timeout: 5_000 });
});

test('clicking a ladder column header renames it; the aliases persist in localStorage by address:port across a reload', async () => {
  const columns = page.locator('[data-testid="ladder-column"]');
  const all = await columns.evaluateAll((els) => els.map((e) => e.getAttribute('data-endpoint') ?? ''));
  // The SIP columns (those the SIP arrows use), in column order; the relay's streams add media columns of their own.
  const sipEnds = new Set(await page.locator('[data-testid="ladder-arrow"][data-lane="sip"]').evaluateAll((els) => els.flatMap((e) => [e.getAttribute('data-src') ?? '', e.getAttribute('data-dst') ?? ''])));
  const endpoints = all.filter((ep) => sipEnds.has(ep));
  assert.equal(endpoints.length, 3, `SIP columns ${endpoints.join(', ')} of ${all.join(', ')}`);
  assert.equal(endpoints[1], `127.0.0.1:${lab.sipPort}`, 'the proxy is the middle column');
  const names = ['UAC', 'callpath', 'UAS'];
  for (const [i, ep] of endpoints.entries()) {
    await page.locator(`[data-testid="ladder-column"][data-endpoint="${ep}"]`).click();
    const input = page.locator('[data-testid="ladder-column-input"]');
    await input.waitFor({ timeout: 5_000 });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'ladder-column-input');
    await input.fill(names[i]!);
    await page.keyboard.press('Enter');
    await page.locator(`[data-testid="ladder-column"][data-endpoint="${ep}"][data-alias="${names[i]}"]`).waitFor({ timeout: 5_000 });
  }
  assert.deepEqual(await page.locator('[data-testid="ladder-column-alias"]').allTextContents(), names);
  const header = await page.locator('.ladder-header').innerHTML();
  for (const ep of endpoints) assert.ok(header.includes(ep), `the address:port stays visible under the alias (${ep})`);
  const stored = JSON.parse((await page.evaluate(() => localStorage.getItem('callpath.aliases'))) ?? '{}') as Record<string, string>;
  assert.deepEqual(stored, Object.fromEntries(endpoints.map((ep, i) => [ep, names[i]!])));

  // Escape cancels an edit; typing j/k/t there is text, not shortcuts.
  await page.locator(`[data-testid="ladder-column"][data-endpoint="${endpoints[2]}"]`).click();
  await page.locator('[data-testid="ladder-column-input"]').fill('jkt');
  await page.keyboard.press('Escape');
  await page.locator(`[data-testid="ladder-column"][data-endpoint="${endpoints[2]}"][data-alias="UAS"]`).waitFor({ timeout: 5_000 });
  assert.equal(await page.locator('[data-testid="time-mode"]').getAttribute('data-mode'), 'relative');
  await page.locator('.ladder-panel').screenshot({ path: `${ARTIFACTS}/console-ladder-aliases.png` });

  // A reload (a fresh renderer) shows the same names on the call's ladder.
  const callId = await page.locator('[data-testid="call-row"][aria-selected="true"]').getAttribute('data-call-id');
  await page.reload();
  await page.locator(`[data-testid="call-row"][data-call-id="${callId}"]`).click();
  await page.locator('[data-testid="ladder-column-alias"]').first().waitFor({ timeout: 10_000 });
  assert.deepEqual(await page.locator('[data-testid="ladder-column-alias"]').allTextContents(), names);
});

test('the calls list is windowed, sortable, and narrowed by text, state, retransmission and 100 Trying filters', async () => {
  const total = 300;
  const uas = startSipp({ scenario: 'uas', port: uasPort });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: total, rate: 300, duration: 0, timeoutSec: 30 });
    assert.equal(r.successful, total, r.stdout);
  } finally {
    await uas.stop();
  }
  const count = page.locator('[data-testid="calls-count"]');
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="calls-count"]')?.getAttribute('data-matched')) >= n, total + 1, { timeout: 15_000 });
  const listed = Number(await count.getAttribute('data-matched'));
  const rows = page.locator('[data-testid="call-row"]');
  const rendered = await rows.count();
  assert.ok(rendered > 10 && rendered < 100, `only the rows in view are in the DOM (${rendered} of ${listed})`);

  // Scrolled to the bottom, the oldest call (the first test's) is rendered.
  const scroller = page.locator('[data-testid="calls-scroll"]');
  await scroller.evaluate((el) => (el.scrollTop = el.scrollHeight));
  const firstCall = await page.locator('[data-testid="call-row"][aria-selected="true"]').getAttribute('data-call-id');
  assert.ok(firstCall, 'the selected (first) call is on screen at the bottom of the list');
  assert.ok((await rows.count()) < 100);
  await page.screenshot({ path: `${ARTIFACTS}/console-calls-scrolled.png` });
  await scroller.evaluate((el) => (el.scrollTop = 0));

  // Sorting by Call-ID: the rendered rows are in Call-ID order; clicking again reverses.
  const ids = () => rows.evaluateAll((els) => els.map((e) => ({ id: e.getAttribute('data-call-id') ?? '', y: e.getBoundingClientRect().top })).sort((a, b) => a.y - b.y).map((e) => e.id));
  // The sort runs in the engine over every stored call: wait for its answer.
  const sortedAs = async (cmp: (a: string, b: string) => number) => {
    const deadline = Date.now() + 5_000;
    let shown = await ids();
    while (JSON.stringify(shown) !== JSON.stringify([...shown].sort(cmp)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      shown = await ids();
    }
    assert.deepEqual(shown, [...shown].sort(cmp));
  };
  await page.locator('[data-testid="sort-callId"]').click();
  await sortedAs((a, b) => a.localeCompare(b));
  await page.locator('[data-testid="sort-callId"]').click();
  await sortedAs((a, b) => b.localeCompare(a));
  await page.locator('[data-testid="sort-time"]').click();

  // Text filter by one Call-ID.
  const filter = page.locator('[data-testid="calls-filter"]');
  await filter.fill(firstCall);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="call-row"]').length === 1, undefined, { timeout: 5_000 });
  assert.equal(await rows.first().getAttribute('data-call-id'), firstCall);
  await page.waitForFunction(() => document.querySelector('[data-testid="calls-count"]')?.getAttribute('data-matched') === '1', null, { timeout: 5_000 });
  assert.equal(await count.getAttribute('data-stored'), String(listed), 'one match of every stored call');
  await page.screenshot({ path: `${ARTIFACTS}/console-calls-filtered.png` });
  await filter.fill('');

  // State: every SIPp call completed, none failed.
  await page.locator('[data-testid="calls-filter-state"]').selectOption('failed');
  await page.locator('[data-testid="calls-no-match"]').waitFor({ timeout: 5_000 });
  await page.locator('[data-testid="calls-filter-state"]').selectOption('all');
  await page.waitForFunction((n) => document.querySelector('[data-testid="calls-count"]')?.getAttribute('data-matched') === String(n), listed, { timeout: 5_000 });

  // No retransmissions on loopback, and no 100 Trying took a minute.
  await page.locator('[data-testid="calls-filter-rtx"]').check();
  await page.locator('[data-testid="calls-no-match"]').waitFor({ timeout: 5_000 });
  await page.locator('[data-testid="calls-filter-rtx"]').uncheck();
  await page.locator('[data-testid="calls-filter-trying"]').fill('60000');
  await page.locator('[data-testid="calls-no-match"]').waitFor({ timeout: 5_000 });
  await page.locator('[data-testid="calls-filter-trying"]').fill('0');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="call-row"]').length > 10, undefined, { timeout: 5_000 });
  await page.locator('[data-testid="calls-filter-clear"]').click();
  await page.waitForFunction((n) => document.querySelector('[data-testid="calls-count"]')?.getAttribute('data-matched') === String(n), listed, { timeout: 5_000 });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('INVITE retransmissions (the same bytes sent 3× to the proxy) are drawn dashed in the warning colour and counted in the ladder header', { timeout: 60_000 }, async () => {
  // A UAS that answers slowly (180 after 1.5 s), so the proxy's server transaction is still Proceeding when the copies arrive.
  const uas = startSipp({ scenario: fileURLToPath(new URL('../fixtures/sipp/uas-slow.xml', import.meta.url)), port: uasPort, extra: ['-m', '1'] });
  const ua = await RawUdp.open();
  const callId = `e2e-rtx-${randomBytes(6).toString('hex')}@127.0.0.1`;
  try {
    await sleep(400);
    const fromTag = randomBytes(4).toString('hex');
    const target = `sip:service@127.0.0.1:${lab.sipPort}`;
    const invite = sipMessage([
      `INVITE ${target} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-${randomBytes(6).toString('hex')}`,
      'Max-Forwards: 70',
      `From: <sip:raw@127.0.0.1:${ua.port}>;tag=${fromTag}`,
      `To: <${target}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 INVITE',
      `Contact: <sip:raw@127.0.0.1:${ua.port}>`,
    ]);
    // The identical bytes three times, 300 ms apart: a UAC's Timer A firing because our 100 Trying "was lost".
    for (let i = 0; i < 3; i++) {
      if (i > 0) await sleep(300);
      await ua.send(invite, lab.sipPort);
    }
    const ok = await ua.waitFor(isResponse(200, 'INVITE'), 15_000, '200 OK to the INVITE');
    const toLine = headerLines(ok, 'To')[0]!;
    const contact = /<([^>]+)>/.exec(headerLines(ok, 'Contact')[0] ?? '')?.[1];
    assert.ok(contact, ok);
    const rr = headerLines(ok, 'Record-Route').map((l) => l.slice('Record-Route:'.length).trim());
    const inDialog = (method: string, seq: number) =>
      sipMessage([
        `${method} ${contact} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-${randomBytes(6).toString('hex')}`,
        ...rr.map((r) => `Route: ${r}`),
        'Max-Forwards: 70',
        `From: <sip:raw@127.0.0.1:${ua.port}>;tag=${fromTag}`,
        toLine,
        `Call-ID: ${callId}`,
        `CSeq: ${seq} ${method}`,
      ]);
    await ua.send(inDialog('ACK', 1), lab.sipPort);
    await ua.send(inDialog('BYE', 2), lab.sipPort);
    await ua.waitFor(isResponse(200, 'BYE'), 15_000, '200 OK to the BYE');
  } finally {
    await ua.close();
    await uas.stop();
  }
  await lab.settle();
  const res = await fetch(`${lab.base}/api/calls/${encodeURIComponent(callId)}`, { headers: { Authorization: `Bearer ${lab.token}` } });
  const detail = (await res.json()) as CallDetail;
  const rtx = sipEntries(detail).filter((m) => m.retransmission);
  const rtxInvites = rtx.filter((m) => m.method === 'INVITE' && m.direction === 'in');
  assert.equal(rtxInvites.length, 2, `the 2nd and 3rd INVITE are captured as retransmissions: ${sipEntries(detail).map((m) => `${m.direction} ${m.label}${m.retransmission ? ' (rtx)' : ''}`).join(', ')}`);

  await page.locator('[data-testid="calls-filter"]').fill(callId);
  const row = page.locator(`[data-testid="call-row"][data-call-id="${callId}"]`);
  await row.waitFor({ timeout: 10_000 });
  await row.click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="ladder-arrow"][data-lane="sip"]').length === n, sipEntries(detail).length, { timeout: 10_000 });

  const drawn = await drawnArrows(page, 'sip');
  const rtxIdx = new Set(rtx.map((m) => m.index));
  for (const a of drawn) {
    if (rtxIdx.has(a.index)) {
      assert.equal(a.rtx, 'true', `arrow ${a.index} is marked a retransmission`);
      assert.notEqual(a.dash, 'none', `arrow ${a.index} is dashed`);
      assert.ok(a.warn, `arrow ${a.index} is in the warning colour`);
    } else {
      assert.equal(a.rtx, 'false', `arrow ${a.index} is not a retransmission`);
      assert.equal(a.dash, 'none', `arrow ${a.index} is solid`);
      assert.ok(!a.warn, `arrow ${a.index} is not in the warning colour`);
    }
  }
  const counter = page.locator('[data-testid="ladder-retrans"]');
  assert.equal(Number(await counter.getAttribute('data-count')), rtx.length);
  assert.equal((await counter.locator('b').textContent())?.trim(), String(rtx.length));
  assert.match((await counter.getAttribute('class')) ?? '', /\bwarn\b/);
  // The aliases named on the first call's ladder are on this one too (same proxy and UAS address:port).
  const aliases = await page.locator('[data-testid="ladder-column"]').evaluateAll((els) => Object.fromEntries(els.map((e) => [e.getAttribute('data-endpoint'), e.getAttribute('data-alias')])));
  assert.equal(aliases[`127.0.0.1:${lab.sipPort}`], 'callpath');
  assert.equal(aliases[`127.0.0.1:${uasPort}`], 'UAS');
  await page.screenshot({ path: `${ARTIFACTS}/console-ladder-retransmissions.png` });
  await page.locator('[data-testid="calls-filter"]').fill('');
});
