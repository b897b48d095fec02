import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import WebSocket from 'ws';
import { apiFromTransport, type ApplySettingsResult, type CallpathApi, type LabSettings, type Snapshot } from '../../app/contract';
import { DEFAULT_CONFIG } from '../../app/config';
import { Host } from '../../app/host';
import { createWsTransport } from '../../app/ws-transport';
import { startLab, type RunningLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { RawUdp, proxyAnswersOn, sipMessage } from '../helpers/raw-udp';
import { startRedis } from '../helpers/redis';

let lab: RunningLab;
let ua: RawUdp;
let transport: ReturnType<typeof createWsTransport>;
let api: CallpathApi;
const auth = () => ({ Authorization: `Bearer ${lab.token}` });

before(async () => {
  // An RTP range below the ephemeral ports freePort() hands out, so a new SIP port never clashes with it.
  lab = await startLab({ rtp: { host: '127.0.0.1', min: 20000, max: 20999 } });
  ua = await RawUdp.open();
  transport = createWsTransport(`ws://127.0.0.1:${lab.server!.port}/ws?token=${lab.token}`, {
    WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket,
    invokeTimeoutMs: 20_000,
  });
  api = apiFromTransport(transport);
});

after(async () => {
  transport?.close();
  await ua?.close();
  await lab?.stop();
});

async function snapshot(): Promise<Snapshot> {
  return (await (await fetch(`${lab.base}/api/snapshot`, { headers: auth() })).json()) as Snapshot;
}
const proxyOf = (s: Snapshot) => s.components.find((c) => c.name === 'proxy')!;

async function postSettings(body: string): Promise<{ status: number; json: ApplySettingsResult & { error?: string } }> {
  const res = await fetch(`${lab.base}/api/settings`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body });
  return { status: res.status, json: (await res.json()) as ApplySettingsResult & { error?: string } };
}

async function getSettings(): Promise<LabSettings> {
  const res = await fetch(`${lab.base}/api/settings`, { headers: auth() });
  assert.equal(res.status, 200);
  return (await res.json()) as LabSettings;
}

function holdUdpPort(): Promise<{ port: number; sock: Socket }> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve({ port: sock.address().port, sock }));
  });
}

test('applySettings over the lab WebSocket moves the SIP proxy to a new port: it answers there, and no longer on the old one', { timeout: 30_000 }, async () => {
  const oldPort = lab.sipPort;
  assert.equal(await proxyAnswersOn(oldPort, 5_000), true, 'the probe works on the port the proxy started on');
  const newPort = await freePort();
  const result = await api.applySettings({ sip: `127.0.0.1:${newPort}` });
  assert.ok(result.ok, result.ok ? '' : result.error);
  assert.deepEqual(result.changed, ['sip']);
  assert.deepEqual(result.restarted, ['proxy']);
  assert.deepEqual(result.failed, []);
  assert.equal(result.settings.sip, `127.0.0.1:${newPort}`);
  assert.equal((await api.getSettings()).sip, `127.0.0.1:${newPort}`);
  const proxy = proxyOf(await snapshot());
  assert.equal(proxy.state, 'running', proxy.error ?? '');
  assert.equal(proxy.endpoint, `udp+tcp 127.0.0.1:${newPort}`);
  assert.equal(await proxyAnswersOn(newPort, 5_000), true, 'the proxy answers on the new port');
  assert.equal(await proxyAnswersOn(oldPort, 1_500), false, 'nothing answers on the old port');
});

test('POST /api/settings applies a new T1 and route live, without restarting the proxy: it retransmits a new unanswered INVITE after the new T1 (RFC 3261 §17.1.1.2)', { timeout: 30_000 }, async () => {
  const uas = await RawUdp.open(); // never answers: the proxy's client transaction retransmits to it on Timer A
  try {
    const { status, json } = await postSettings(JSON.stringify({ t1: '150', route: `127.0.0.1:${uas.port}` }));
    assert.equal(status, 200, JSON.stringify(json));
    assert.ok(json.ok);
    assert.deepEqual(json.changed, ['route', 't1']);
    assert.deepEqual(json.restarted, [], 'timers and targets reach the running proxy without a restart');
    assert.deepEqual(json.live, ['route', 't1']);
    assert.equal(json.settings.t1, '150');
    const sipPort = Number(json.settings.sip.split(':').pop());
    assert.match(proxyOf(await snapshot()).detail ?? '', new RegExp(`routes to 127\\.0\\.0\\.1:${uas.port}`));

    const callId = `t1-${randomBytes(6).toString('hex')}`;
    await ua.send(
      sipMessage([
        `INVITE sip:bob@example.invalid SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-${randomBytes(6).toString('hex')}`,
        'Max-Forwards: 70',
        `From: <sip:alice@127.0.0.1:${ua.port}>;tag=${randomBytes(4).toString('hex')}`,
        'To: <sip:bob@example.invalid>',
        `Call-ID: ${callId}`,
        'CSeq: 1 INVITE',
        `Contact: <sip:alice@127.0.0.1:${ua.port}>`,
      ]),
      sipPort,
    );
    const isOurInvite = (t: string) => t.startsWith('INVITE ') && t.includes(callId);
    await uas.waitFor(isOurInvite, 5_000, 'the forwarded INVITE');
    const first = Date.now();
    await uas.waitFor(() => uas.inbox.filter(isOurInvite).length >= 2, 5_000, 'its first retransmission');
    const gap = Date.now() - first;
    // The default T1 would be 500 ms; 150 ms it is, give or take the scheduler.
    assert.ok(gap >= 100 && gap < 400, `first retransmission after ${gap} ms, T1 is 150 ms`);
  } finally {
    await uas.close();
    const back = await postSettings(JSON.stringify({ t1: '500', route: '' }));
    assert.equal(back.status, 200);
  }
});

test('a bad value is refused with the CLI error line naming the field, and changes nothing', { timeout: 30_000 }, async () => {
  const before = await getSettings();
  const proxyBefore = proxyOf(await snapshot());
  const { status, json } = await postSettings(JSON.stringify({ t1: '250', sip: '127.0.0.1:99999' }));
  assert.equal(status, 400);
  assert.deepEqual({ ok: json.ok, field: !json.ok && json.field, error: json.error }, { ok: false, field: 'sip', error: '--sip: 99999 is outside 0-65535' });
  assert.deepEqual(await getSettings(), before, 'not even the good t1 was applied');
  const proxyAfter = proxyOf(await snapshot());
  assert.equal(proxyAfter.state, 'running');
  assert.equal(proxyAfter.sinceUs, proxyBefore.sinceUs, 'the proxy was not restarted');

  // The same over the WebSocket: a value, not a thrown error.
  const ws = await api.applySettings({ maxCalls: 'lots' });
  assert.deepEqual(ws.ok ? null : [ws.field, ws.error], ['maxCalls', '--max-calls: "lots" is not a whole number']);

  // Shape errors, security settings and non-JSON bodies are 400 too; the host is unharmed.
  assert.match((await postSettings('{"token": "mine"}')).json.error ?? '', /"token" cannot be changed from the console/);
  assert.match((await postSettings('{"ui": "0.0.0.0:7070"}')).json.error ?? '', /"ui" cannot be changed/);
  assert.match((await postSettings('{"t1": 250}')).json.error ?? '', /t1 must be a string/);
  assert.equal((await postSettings('not json')).status, 400);
  assert.equal((await postSettings('x'.repeat(100_000))).status, 400);
  await assert.rejects(transport.invoke({ cmd: 'applySettings', patch: { noAuth: 'true' } } as never), /cannot be changed from the console/);
  assert.equal((await fetch(`${lab.base}/api/settings`)).status, 401, 'the token guards it like the rest');
  assert.equal((await fetch(`${lab.base}/api/settings`, { method: 'POST', body: '{"t1":"100"}' })).status, 401);
  assert.deepEqual(await getSettings(), before);
});

test('a SIP port already in use leaves the proxy failed with the error in the snapshot; the other settings stay applied, and a free port brings it back', { timeout: 30_000 }, async () => {
  const held = await holdUdpPort();
  try {
    const result = await api.applySettings({ sip: `127.0.0.1:${held.port}`, t4: '4500', maxCalls: '5000' });
    assert.ok(result.ok, result.ok ? '' : result.error);
    assert.deepEqual(result.restarted, ['proxy']);
    assert.equal(result.failed.length, 1);
    assert.equal(result.failed[0]!.name, 'proxy');
    assert.match(result.failed[0]!.error, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${held.port}: address in use`));
    assert.deepEqual(result.live, ['maxCalls']);
    const proxy = proxyOf(await snapshot());
    assert.equal(proxy.state, 'failed');
    assert.equal(proxy.error, result.failed[0]!.error, 'the snapshot shows the same error');
    const now = await getSettings();
    assert.deepEqual([now.sip, now.t4, now.maxCalls], [`127.0.0.1:${held.port}`, '4500', '5000']);
    assert.equal(lab.host.engine.calls.options.maxFinishedCalls, 5000, 'the call store bound changed live');
  } finally {
    held.sock.close();
  }
  const freeNow = await freePort();
  const fixed = await api.applySettings({ sip: `127.0.0.1:${freeNow}` });
  assert.ok(fixed.ok);
  assert.deepEqual([fixed.restarted, fixed.failed], [['proxy'], []]);
  const proxy = proxyOf(await snapshot());
  assert.deepEqual([proxy.state, proxy.error], ['running', null]);
  assert.equal(await proxyAnswersOn(freeNow, 5_000), true);
});

test('a stopped proxy stays stopped after new settings and uses them at its next start', { timeout: 30_000 }, async () => {
  assert.equal((await api.setComponent('proxy', 'stop')).state, 'stopped');
  const port = await freePort();
  const result = await api.applySettings({ sip: `127.0.0.1:${port}` });
  assert.ok(result.ok);
  assert.deepEqual([result.restarted, result.notRunning], [[], ['proxy']]);
  const proxy = proxyOf(await snapshot());
  assert.equal(proxy.state, 'stopped');
  assert.equal(proxy.endpoint, `udp+tcp 127.0.0.1:${port}`, 'the endpoint shows what the next start uses');
  assert.equal(await proxyAnswersOn(port, 1_000), false);
  assert.equal((await api.setComponent('proxy', 'start')).state, 'running');
  assert.equal(await proxyAnswersOn(port, 5_000), true);
});

test('redis from off to a URL gives a real publisher that connects; a new URL restarts it; off stops it', { timeout: 40_000 }, async () => {
  const publisher = () => api.getSnapshot().then((s) => s.components.find((c) => c.name === 'publisher')!);
  assert.match((await publisher()).detail ?? '', /disabled with --redis off/);
  const redis = await startRedis();
  try {
    const on = await api.applySettings({ redis: redis.url });
    assert.ok(on.ok);
    assert.deepEqual(on.notRunning, ['publisher'], 'it was stopped, so it stays stopped');
    const started = await api.setComponent('publisher', 'start');
    assert.equal(started.state, 'running', started.error ?? '');
    assert.equal(started.endpoint, redis.url);
    assert.match(started.detail ?? '', /^pubsub\+list \(--redis URL\): connected, 0 queued$/);

    const deadPort = await freePort();
    const moved = await api.applySettings({ redis: `redis://127.0.0.1:${deadPort}` });
    assert.ok(moved.ok);
    assert.deepEqual(moved.restarted, ['publisher']);
    assert.match(moved.failed[0]?.error ?? '', new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${deadPort}`));
    assert.equal((await publisher()).state, 'failed');

    const off = await api.applySettings({ redis: 'off' });
    assert.ok(off.ok);
    assert.deepEqual([off.stopped, off.restarted, off.failed], [['publisher'], [], []]);
    const p = await publisher();
    assert.deepEqual([p.state, p.endpoint, p.detail], ['stopped', null, 'disabled with --redis off']);
  } finally {
    await redis.stop();
  }
});

test('the Redis password is never shown in the settings, and sending the shown text back keeps the real URL', async () => {
  const host = new Host({ ...DEFAULT_CONFIG, ui: null, redis: 'redis://:s3cret@127.0.0.1:6390/2' });
  try {
    const shown = host.settings().redis;
    assert.equal(shown, 'redis://:***@127.0.0.1:6390/2');
    const r = await host.applySettings({ redis: shown, t1: '400' });
    assert.ok(r.ok);
    assert.deepEqual(r.changed, ['t1'], 'the redacted URL means unchanged');
    assert.equal(host.config.redis, 'redis://:s3cret@127.0.0.1:6390/2');
    assert.ok(!JSON.stringify(r).includes('s3cret'));
  } finally {
    await host.stop();
  }
});
