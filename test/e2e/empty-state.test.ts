import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { ApplySettingsResult, CallDetail, CallSummary } from '../../app/contract';
import { suggestedUasPort } from '../../renderer/src/calls/sippHint';
import type { openBrowser } from '../helpers/browser';
import { ARTIFACTS, openConsole, type OpenConsole } from '../helpers/console';
import type { RunningLab } from '../helpers/lab';
import { freePort, isPortFree } from '../helpers/ports';
import { runSippArgs, sippArgv, startSippArgs, type SippResult } from '../helpers/sipp';
import { sipEntries } from '../helpers/lab';

// The empty calls list prints the SIPp commands that put calls through the proxy;
// these tests run what it prints, as printed, and check that the calls succeed.

let c: OpenConsole;
let lab: RunningLab;
let browser: Awaited<ReturnType<typeof openBrowser>>;
let page: Page;
let sipPort: number;
/** Where the no-route hint will put the UAS (it is derived from the proxy port, so the test picks one that is free). */
let uasPort: number;
let routePort: number;
const printed: { noRoute?: Commands; route?: Commands } = {};

interface Commands {
  uas: string[];
  uac: string;
}

before(async () => {
  for (let i = 0; ; i++) {
    sipPort = await freePort();
    uasPort = suggestedUasPort(sipPort);
    if (await isPortFree(uasPort)) break;
    assert.ok(i < 20, 'a proxy port whose suggested UAS port is free');
  }
  routePort = await freePort();
  // An explicit SIP port: the RTP range sits below the ephemeral ports so the two cannot clash.
  c = await openConsole({ sip: { host: '127.0.0.1', port: sipPort }, rtp: { host: '127.0.0.1', min: 20000, max: 20999 } });
  ({ lab, browser, page } = c);
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: lab.base });
});

after(async () => {
  await c?.close();
});

const auth = () => c.auth();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function shownCommands(mode: 'route' | 'request-uri'): Promise<Commands> {
  await page.locator(`[data-testid="calls-empty"][data-mode="${mode}"]`).waitFor({ timeout: 10_000 });
  const cmds = await page.locator('[data-testid="calls-empty-cmd"]').evaluateAll((els) => els.map((e) => ({ role: e.getAttribute('data-role'), text: e.textContent ?? '' })));
  return { uas: cmds.filter((c) => c.role === 'uas').map((c) => c.text), uac: cmds.filter((c) => c.role === 'uac').map((c) => c.text).join(' | ') };
}

async function setRoute(route: string): Promise<void> {
  const res = await fetch(`${lab.base}/api/settings`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ route }) });
  const r = (await res.json()) as ApplySettingsResult;
  assert.equal(res.status, 200, JSON.stringify(r));
  // Targets reach the running proxy live (no restart): the next new call takes the new route.
  assert.ok(r.ok && r.live.includes('route') && r.restarted.length === 0 && r.failed.length === 0, JSON.stringify(r));
}

async function listCalls(): Promise<CallSummary[]> {
  return (await (await fetch(`${lab.base}/api/calls`, { headers: auth() })).json()) as CallSummary[];
}

async function callDetail(callId: string): Promise<CallDetail> {
  return (await (await fetch(`${lab.base}/api/calls/${encodeURIComponent(callId)}`, { headers: auth() })).json()) as CallDetail;
}

/**
 * Runs the printed commands exactly, adding only SIPp's bookkeeping flags and,
 * for the UAC, `-m 3` (stop after three calls) and a timeout so a failure ends
 * the run. The UAS counts a call successful only after its scenario's closing
 * 4 s pause, so it is given until its counts show the UAC's calls.
 */
async function runPrinted(cmds: Commands): Promise<{ uac: SippResult; uas: SippResult[] }> {
  const uases = cmds.uas.map((c) => startSippArgs(sippArgv(c)));
  try {
    await sleep(300);
    const uac = await runSippArgs([...sippArgv(cmds.uac), '-m', '3', '-timeout', '20s', '-timeout_error']);
    const deadline = Date.now() + 10_000;
    while (uases.reduce((n, u) => n + u.counts().successful, 0) < uac.successful && Date.now() < deadline) await sleep(250);
    return { uac, uas: await Promise.all(uases.map((u) => u.stop())) };
  } finally {
    await Promise.all(uases.map((u) => u.stop()));
  }
}

/** The calls that are new since `before`, each with its messages. */
async function newCalls(before: Set<string>): Promise<CallDetail[]> {
  await lab.settle();
  const fresh = (await listCalls()).filter((c) => !before.has(c.callId));
  return Promise.all(fresh.map((c) => callDetail(c.callId)));
}

test('without --route the empty calls list prints a UAS and a UAC whose Request-URI names the UAS and whose packets go to the proxy (-rsa); copy puts a command on the clipboard', { timeout: 30_000 }, async () => {
  const cmds = await shownCommands('request-uri');
  assert.deepEqual(cmds, {
    uas: [`sipp -sn uas -i 127.0.0.1 -p ${uasPort}`],
    uac: `sipp -sn uac 127.0.0.1:${uasPort} -rsa 127.0.0.1:${sipPort} -r 10`,
  });
  const empty = page.locator('[data-testid="calls-empty"]');
  assert.match(await empty.innerText(), new RegExp(`No --route: the proxy \\(127\\.0\\.0\\.1:${sipPort}\\) routes by Request-URI`));
  printed.noRoute = cmds;

  const copy = page.locator('[data-testid="calls-empty-copy"]').last();
  await copy.click();
  await page.locator('[data-testid="calls-empty-copy"][data-state="copied"]').waitFor({ timeout: 5_000 });
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), cmds.uac);
  await page.screenshot({ path: `${ARTIFACTS}/console-empty.png` });
});

test('a --route applied while the list is empty (settings API) turns the hint into a UAS at the route target and a UAC at the proxy', { timeout: 30_000 }, async () => {
  await setRoute(`127.0.0.1:${routePort}`);
  const cmds = await shownCommands('route');
  assert.deepEqual(cmds, { uas: [`sipp -sn uas -i 127.0.0.1 -p ${routePort}`], uac: `sipp -sn uac 127.0.0.1:${sipPort} -r 10` });
  assert.match(await page.locator('[data-testid="calls-empty"]').innerText(), new RegExp(`Point SIPp at the proxy \\(127\\.0\\.0\\.1:${sipPort}\\); it routes to --route 127\\.0\\.0\\.1:${routePort}`));
  printed.route = cmds;
  await page.screenshot({ path: `${ARTIFACTS}/console-empty-route.png` });
});

/** Runs printed commands (3 calls) and returns the new calls, each checked to have succeeded at both SIPp ends and in the proxy. */
async function threeCallsAsPrinted(cmds: Commands): Promise<CallDetail[]> {
  const before = new Set((await listCalls()).map((c) => c.callId));
  const r = await runPrinted(cmds);
  assert.deepEqual([r.uac.successful, r.uac.failed], [3, 0], r.uac.stdout);
  assert.deepEqual([r.uas[0]!.successful, r.uas[0]!.unexpected], [3, 0], r.uas[0]!.stdout);
  const calls = await newCalls(before);
  assert.equal(calls.length, 3);
  for (const c of calls) assert.deepEqual([c.state, c.finalStatus], ['terminated', 200], c.callId);
  return calls;
}

test('the --route commands, run as printed, put three calls through the proxy to the UAS at the route target', { timeout: 60_000 }, async () => {
  assert.ok(printed.route, 'the route hint was read');
  const calls = await threeCallsAsPrinted(printed.route);
  for (const c of calls) {
    assert.ok(sipEntries(c).some((m) => m.method === 'INVITE' && m.direction === 'out' && m.dst === `127.0.0.1:${routePort}`), `${c.callId}: the proxy forwarded the INVITE to the route target`);
  }
  // The list replaces the hint as soon as calls exist.
  await page.locator('[data-testid="call-row"]').first().waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('[data-testid="calls-empty"]').count(), 0);
});

test('without --route again, the no-route commands run as printed put three calls through the proxy by Request-URI; a UAC naming the proxy itself gets no route (404)', { timeout: 60_000 }, async () => {
  assert.ok(printed.noRoute, 'the no-route hint was read');
  await setRoute('');
  const earlier = new Set((await listCalls()).map((c) => c.callId));
  const calls = await threeCallsAsPrinted(printed.noRoute);
  for (const c of calls) {
    const inviteIn = sipEntries(c).find((m) => m.method === 'INVITE' && m.direction === 'in')!;
    assert.equal(inviteIn.dst, `127.0.0.1:${sipPort}`, 'the UAC sent to the proxy');
    assert.match(inviteIn.text, new RegExp(`^INVITE sip:[^@\\s]+@127\\.0\\.0\\.1:${uasPort} SIP/2\\.0`), 'its Request-URI names the UAS');
    assert.ok(sipEntries(c).some((m) => m.method === 'INVITE' && m.direction === 'out' && m.dst === `127.0.0.1:${uasPort}`), `${c.callId}: the proxy forwarded the INVITE to the UAS`);
  }

  // Why the hint does not say `sipp -sn uac PROXY` here: that Request-URI is the proxy itself.
  const loop = await runSippArgs(['-sn', 'uac', `127.0.0.1:${sipPort}`, '-i', '127.0.0.1', '-m', '1', '-timeout', '10s', '-timeout_error']);
  assert.equal(loop.successful, 0, loop.stdout);
  const [looped] = await newCalls(new Set([...earlier, ...calls.map((c) => c.callId)]));
  assert.ok(looped, 'the looping call was captured');
  const labels = sipEntries(looped).map((m) => `${m.direction} ${m.label}`);
  assert.equal(looped.finalStatus, 404, labels.join(', '));
  assert.ok(labels.includes('out 404 Not Found - No Route Beyond This Proxy'), labels.join(', '));
});
