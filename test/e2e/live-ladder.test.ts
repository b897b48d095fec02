import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { CallDetail, CallSummary } from '../../app/contract';
import { ARTIFACTS, drawnArrows, openConsole, type OpenConsole } from '../helpers/console';
import type { RunningLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { runSipp, screenRow, startSipp } from '../helpers/sipp';
import { inTimeOrder, sipEntries } from '../helpers/lab';

// A lab whose proxy retransmits quickly (T1 100 ms), routing to one UAS port:
// a late-answering SIPp UAS makes the proxy's own Timer A fire, and a stream of
// SIPp calls runs while a finished call's ladder is open.

let c: OpenConsole;
let lab: RunningLab;
let page: Page;
let uasPort: number;
let proxyAddr: string;
let uasAddr: string;
let slowCallId: string;

before(async () => {
  uasPort = await freePort();
  c = await openConsole({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }], timers: { T1: 100, T2: 4000, T4: 5000 } });
  ({ lab, page } = c);
  proxyAddr = `127.0.0.1:${lab.sipPort}`;
  uasAddr = `127.0.0.1:${uasPort}`;
});

after(async () => {
  await c?.close();
});

const auth = () => c.auth();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/sipp/${name}`, import.meta.url));

async function callDetail(callId: string): Promise<CallDetail> {
  return (await (await fetch(`${lab.base}/api/calls/${encodeURIComponent(callId)}`, { headers: auth() })).json()) as CallDetail;
}

test('a SIPp UAS that answers late makes the proxy retransmit its INVITE (Timer A); the ladder draws those arrows dashed in the warning colour, in captured order, and counts them', { timeout: 60_000 }, async () => {
  const uas = startSipp({ scenario: fixture('uas-late-answer.xml'), port: uasPort, extra: ['-m', '1'] });
  let uasResult;
  try {
    await sleep(300);
    const uac = await runSipp({ scenario: 'uac', remote: proxyAddr, port: await freePort(), calls: 1, duration: 200, timeoutSec: 20 });
    assert.equal(uac.successful, 1, uac.stdout);
    assert.equal(uac.retransmissions, 0, 'the UAC had its 100 Trying at once: every retransmission is the proxy’s');
  } finally {
    uasResult = await uas.stop();
  }
  assert.deepEqual([uasResult.successful, uasResult.unexpected], [1, 0], `the UAS absorbed the copies and completed the call:\n${uasResult.stdout}`);

  await lab.settle();
  const [call] = (await (await fetch(`${lab.base}/api/calls`, { headers: auth() })).json()) as CallSummary[];
  assert.ok(call);
  slowCallId = call.callId;
  const detail = await callDetail(slowCallId);
  const describe = sipEntries(detail).map((m) => `${m.index} ${m.direction} ${m.src}→${m.dst} ${m.label}${m.retransmission ? ' (rtx)' : ''}`).join('\n');
  const rtx = sipEntries(detail).filter((m) => m.retransmission);
  const firstOut = sipEntries(detail).find((m) => m.method === 'INVITE' && m.direction === 'out' && !m.retransmission)!;
  assert.ok(rtx.length >= 2, `a second of silence at T1 = 100 ms fires Timer A more than once:\n${describe}`);
  for (const m of rtx) {
    assert.deepEqual([m.method, m.direction, m.src, m.dst], ['INVITE', 'out', proxyAddr, uasAddr], `only the proxy's INVITE to the UAS is retransmitted:\n${describe}`);
    assert.equal(m.text, firstOut.text, 'a retransmission repeats the request as first sent (RFC 3261 §17.1.1.2)');
    assert.ok(m.index > firstOut.index);
  }
  assert.deepEqual(detail.retransmissionsByKind, { INVITE: rtx.length });
  // SIPp itself saw every one of them (its Retrans column for the INVITE it received).
  assert.deepEqual(screenRow(uasResult.dir, '----------> INVITE'), { messages: 1, retrans: rtx.length });

  const row = page.locator(`[data-testid="call-row"][data-call-id="${slowCallId}"]`);
  await row.waitFor({ timeout: 10_000 });
  await row.click();
  // The SIP lane: the UAC's SDP also puts the relay's stream on the ladder's media lane.
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="ladder-arrow"][data-lane="sip"]').length === n, sipEntries(detail).length, { timeout: 10_000 });
  const drawn = await drawnArrows(page, 'sip');
  assert.deepEqual(
    drawn.map((a) => [a.index, a.label, a.src, a.dst, a.rtx]),
    inTimeOrder(sipEntries(detail)).map((m) => [m.index, m.label, m.src, m.dst, String(m.retransmission)]),
    'one arrow per captured message, in order, between the captured endpoints',
  );
  const rtxIdx = new Set(rtx.map((m) => m.index));
  for (const a of drawn) {
    if (rtxIdx.has(a.index)) {
      assert.notEqual(a.dash, 'none', `arrow ${a.index} is dashed`);
      assert.ok(a.warn, `arrow ${a.index} is in the warning colour`);
      assert.match(a.title, /^INVITE \(retransmission\)\n/);
    } else {
      assert.equal(a.dash, 'none', `arrow ${a.index} is solid`);
      assert.ok(!a.warn, `arrow ${a.index} is not in the warning colour`);
    }
  }
  const counter = page.locator('[data-testid="ladder-retrans"]');
  assert.equal(Number(await counter.getAttribute('data-count')), rtx.length);
  assert.equal((await counter.locator('b').textContent())?.trim(), String(rtx.length));
  assert.match(await page.locator('.call-header-facts').innerText(), new RegExp(`retrans ${rtx.length} \\(INVITE ${rtx.length}\\)`));

  await page.locator(`[data-testid="ladder-arrow"][data-index="${rtx[0]!.index}"]`).click();
  await page.locator(`[data-testid="message-view"][data-index="${rtx[0]!.index}"]`).waitFor({ timeout: 5_000 });
  await page.screenshot({ path: `${ARTIFACTS}/console-ladder-proxy-retransmissions.png` });
});

/** What the open ladder shows: which call, its arrows, the selection and the open message. */
async function ladderState() {
  const view = page.locator('[data-testid="message-view"]');
  return {
    callId: await page.locator('.call-header .call-id').textContent(),
    arrows: await page.locator('[data-testid="ladder-arrow"]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-index')} ${e.getAttribute('data-label')} ${e.getAttribute('data-retransmission')}`)),
    selected: await page.locator('[data-testid="ladder-arrow"][data-selected="true"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-index'))),
    view: (await view.count()) === 1 ? [await view.getAttribute('data-index'), await view.innerText()] : null,
  };
}

const listed = async () => Number(await page.locator('[data-testid="calls-count"]').getAttribute('data-matched'));

test('a finished call’s ladder stays as it was — same arrows, selection and open message — while 200 more SIPp calls arrive and the list grows', { timeout: 90_000 }, async () => {
  const kept = await ladderState();
  assert.equal(kept.callId, slowCallId);
  assert.equal(kept.selected.length, 1);
  assert.ok(kept.view, 'the message view is open');
  const before = await listed();

  const uas = startSipp({ scenario: 'uas', port: uasPort });
  try {
    await sleep(300);
    // 50 calls/s, each up for 2 s: about a hundred are live at once.
    const run = runSipp({ scenario: 'uac', remote: proxyAddr, port: await freePort(), calls: 200, rate: 50, duration: 2000, timeoutSec: 60 });
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="calls-count"]')?.getAttribute('data-matched')) >= n, before + 50, { timeout: 30_000 });
    assert.deepEqual(await ladderState(), kept, 'mid-run, the ladder is untouched');
    const liveRow = page.locator('[data-testid="call-row"]:has(.state-confirmed)').first();
    await liveRow.waitFor({ timeout: 10_000 });
    const liveId = await liveRow.getAttribute('data-call-id');
    assert.ok(liveId, 'a call still in progress is listed');
    await page.screenshot({ path: `${ARTIFACTS}/console-calls-live.png` });

    const r = await run;
    assert.deepEqual([r.successful, r.failed], [200, 0], r.stdout);
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="calls-count"]')?.getAttribute('data-matched')) >= n, before + 200, { timeout: 30_000 });
    assert.equal(await listed(), before + 200);
    assert.deepEqual(await ladderState(), kept, 'after the run, the ladder is untouched');

    // The call seen live was updated in place: its row now says it ended. (The text filter is a
    // substring match, so SIPp's "5-PID@…" also lists "15-PID@…"; the row is found by its Call-ID.)
    await page.locator('[data-testid="calls-filter"]').fill(liveId);
    await page.locator(`[data-testid="call-row"][data-call-id="${liveId}"] .state-terminated`, { hasText: 'terminated 200' }).waitFor({ timeout: 10_000 });
    assert.deepEqual(await ladderState(), kept, 'filtering the list does not change the open ladder');
    await page.locator('[data-testid="calls-filter"]').fill('');
  } finally {
    await uas.stop();
  }
});

test('the light theme keeps the retransmissions dashed, in its own warning colour', { timeout: 30_000 }, async () => {
  const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const darkBg = await bg();
  const darkStroke = await page.locator('[data-testid="ladder-arrow"][data-retransmission="true"] .ladder-line').first().evaluate((e) => getComputedStyle(e).stroke);
  await page.locator('[data-testid="theme-toggle"]').click();
  try {
    await page.locator('html[data-theme="light"]').waitFor({ timeout: 5_000 });
    assert.notEqual(await bg(), darkBg);
    const light = await drawnArrows(page);
    for (const a of light.filter((x) => x.rtx === 'true')) {
      assert.notEqual(a.dash, 'none');
      assert.ok(a.warn, `arrow ${a.index} uses the light theme's --warn`);
    }
    assert.notEqual(await page.locator('[data-testid="ladder-arrow"][data-retransmission="true"] .ladder-line').first().evaluate((e) => getComputedStyle(e).stroke), darkStroke, 'the warning colour follows the theme');
    await page.screenshot({ path: `${ARTIFACTS}/console-light.png` });
  } finally {
    await page.locator('[data-testid="theme-toggle"]').click();
  }
});
