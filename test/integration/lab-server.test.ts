import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import WebSocket from 'ws';
import { startLab, type RunningLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { runSipp, startSipp } from '../helpers/sipp';
import type { CallDetail, CallSummary, ComponentStatus, LiveBatch, Snapshot } from '../../app/contract';
import { sipEntries } from '../helpers/lab';

let lab: RunningLab;
let uasPort: number;
const auth = () => ({ Authorization: `Bearer ${lab.token}` });

before(async () => {
  uasPort = await freePort();
  lab = await startLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] });
});
after(async () => {
  await lab.stop();
});

test('every API request needs the token', async () => {
  const none = await fetch(`${lab.base}/api/snapshot`);
  assert.equal(none.status, 401);
  const wrong = await fetch(`${lab.base}/api/snapshot`, { headers: { Authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);
  const metrics = await fetch(`${lab.base}/metrics`);
  assert.equal(metrics.status, 401);
  const query = await fetch(`${lab.base}/api/snapshot?token=${lab.token}`);
  assert.equal(query.status, 200);
});

test('GET /api/snapshot returns the engine state as JSON', async () => {
  const res = await fetch(`${lab.base}/api/snapshot`, { headers: auth() });
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const s = (await res.json()) as Snapshot;
  const byName = Object.fromEntries(s.components.map((c) => [c.name, c]));
  assert.equal(byName.proxy?.state, 'running');
  assert.equal(byName.relay?.state, 'running');
  assert.equal(byName.recorder?.state, 'stopped', 'the recorder waits for the console unless --record names a folder');
  assert.equal(s.relay?.ports.total, 10_000, "the test lab's relay range 20000-29999, every port counted");
  assert.equal(byName.publisher?.state, 'stopped');
  assert.match(byName.publisher?.detail ?? '', /--redis off/);
});

test('GET /metrics is Prometheus text', async () => {
  const res = await fetch(`${lab.base}/metrics`, { headers: auth() });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.match(text, /^# HELP callpath_up /m);
  assert.match(text, /^callpath_component_up\{component="proxy",state="running"\} 1$/m);
  assert.match(text, /^callpath_sip_trying_latency_seconds\{quantile="0.99"\} [\d.e-]+$/m);
  for (const line of text.trim().split('\n')) {
    assert.match(line, /^(# (HELP|TYPE) \w+ .+|[a-z_]+(\{[^}]*\})? -?[\d.e+-]+)$/, `bad exposition line: ${line}`);
  }
});

test('POST /api/components/proxy/stop really stops the proxy, and start brings it back', async () => {
  const stop = await fetch(`${lab.base}/api/components/proxy/stop`, { method: 'POST', headers: auth() });
  assert.equal(((await stop.json()) as ComponentStatus).state, 'stopped');
  // The UDP port is released: a SIPp call now gets no answer.
  const probe = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, timeoutSec: 2 });
  assert.equal(probe.successful, 0);
  const start = await fetch(`${lab.base}/api/components/proxy/start`, { method: 'POST', headers: auth() });
  assert.equal(((await start.json()) as ComponentStatus).state, 'running');
});

test('refuses bad component commands with 4xx and a reason', async () => {
  const bad = await fetch(`${lab.base}/api/components/proxy/restart`, { method: 'POST', headers: auth() });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /action must be/);
  const unknown = await fetch(`${lab.base}/api/components/pbx/start`, { method: 'POST', headers: auth() });
  assert.equal(unknown.status, 404);
  const get = await fetch(`${lab.base}/api/components/proxy/start`, { headers: auth() });
  assert.equal(get.status, 405);
  const limit = await fetch(`${lab.base}/api/calls?limit=-3`, { headers: auth() });
  assert.equal(limit.status, 400);
});

test('a Host header that is not loopback is refused (DNS rebinding)', async () => {
  const { request } = await import('node:http');
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: lab.server!.port, path: '/api/snapshot', headers: { Host: 'evil.example', ...auth() } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 421);
});

test('a SIPp call through the proxy appears in /api/calls with its captured messages', async () => {
  const uas = startSipp({ scenario: 'uas', port: uasPort });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, duration: 100, timeoutSec: 10 });
    assert.equal(r.successful, 1, r.stdout);
  } finally {
    await uas.stop();
  }
  await lab.settle();
  const list = (await (await fetch(`${lab.base}/api/calls`, { headers: auth() })).json()) as CallSummary[];
  assert.ok(list.length >= 1, 'the call is listed');
  const id = list[0]!.callId;
  const detail = (await (await fetch(`${lab.base}/api/calls/${encodeURIComponent(id)}`, { headers: auth() })).json()) as CallDetail;
  assert.equal(detail.callId, id);
  assert.ok(sipEntries(detail).length >= 2);
  assert.equal(sipEntries(detail)[0]!.label, 'INVITE');
  assert.equal(sipEntries(detail)[0]!.direction, 'in');
  const missing = await fetch(`${lab.base}/api/calls/nope`, { headers: auth() });
  assert.equal(missing.status, 404);
});

test('the WebSocket needs the token, answers commands and pushes batches a few times a second', async () => {
  const wsUrl = `ws://127.0.0.1:${lab.server!.port}/ws`;
  const refused = new WebSocket(wsUrl);
  const refusedErr = await new Promise<string>((resolve) => refused.on('error', (e) => resolve(e.message)));
  assert.match(refusedErr, /401/);

  const ws = new WebSocket(`${wsUrl}?token=${lab.token}`);
  const frames: { type: string; batch?: LiveBatch; id?: number; ok?: boolean; value?: unknown; error?: string }[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ type: 'invoke', id: 1, command: { cmd: 'getSnapshot' } }));
  ws.send(JSON.stringify({ type: 'invoke', id: 2, command: { cmd: 'setComponent', name: 'proxy', action: 'explode' } }));
  await new Promise((r) => setTimeout(r, 1100));
  ws.close();
  assert.equal(frames[0]?.type, 'hello');
  const r1 = frames.find((f) => f.type === 'result' && f.id === 1);
  assert.equal(r1?.ok, true);
  const r2 = frames.find((f) => f.type === 'result' && f.id === 2);
  assert.equal(r2?.ok, false);
  assert.match(r2?.error ?? '', /action must be/);
  const batches = frames.filter((f) => f.type === 'batch');
  assert.ok(batches.length >= 3 && batches.length <= 6, `expected ~4 batches in 1.1 s, got ${batches.length}`);
});

test('npm run lab refuses bad flags with exit code 2 and one line, no stack trace', () => {
  for (const args of [['--bogus'], ['--sip', '1.2.3:99999'], ['--rtp', '127.0.0.1:5-1'], ['--config', '/does/not/exist.json']]) {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // or the child would report to this test runner instead of exiting
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'app/lab/cli.ts', ...args], { encoding: 'utf8', timeout: 20_000, env });
    assert.equal(r.status, 2, `exit code for ${args.join(' ')}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.match(lines[0]!, /^callpath: /);
    assert.doesNotMatch(r.stderr, /\bat .+:\d+:\d+/);
  }
});
