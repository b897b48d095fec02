import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Engine } from '../../engine/engine';
import { createProxy } from '../../engine/sip/proxy-component';
import { Relay } from '../../engine/rtp/relay';
import { DEFAULT_RELAY_TIMEOUTS } from '../../engine/rtp/stats';
import { SubscriberLoadThread } from '../../engine/publish/subscriber-load-thread';
import { IPC } from '../../app/contract';
import { startRedis } from '../helpers/redis';

// The Electron binary cannot run here, so check what it would load: the
// bundles electron-vite builds (npm test builds them first).
const OUT = resolve('out');
/** The worker threads' own bundles, beside main's index.js (electron.vite.config.ts). */
const WORKERS = ['sip-worker.js', 'rtp-shard.js', 'traffic-worker.js', 'subscriber-load.js'];

before(() => {
  if (!WORKERS.every((w) => existsSync(join(OUT, 'main', w)))) {
    const r = spawnSync(process.execPath, [join('node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], { stdio: 'ignore' });
    assert.equal(r.status, 0, 'electron-vite build');
  }
});

test('the desktop bundle has main, a CommonJS preload and the renderer', () => {
  for (const f of ['main/index.js', 'preload/index.cjs', 'renderer/index.html']) assert.ok(existsSync(join(OUT, f)), f);
  const html = readFileSync(join(OUT, 'renderer', 'index.html'), 'utf8');
  assert.match(html, /Content-Security-Policy/);
  assert.doesNotMatch(html, /<script>(?!<\/script>)/, 'no inline script (the CSP forbids it)');
});

test('the sandboxed preload requires nothing but electron', async () => {
  const preload = readFileSync(join(OUT, 'preload', 'index.cjs'), 'utf8');
  const required = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(required)], ['electron']);
  // And it runs: with a stand-in electron it exposes exactly the contract transport.
  const exposed: Record<string, unknown> = {};
  const invoked: unknown[][] = [];
  const req = createRequire(import.meta.url);
  const Module = req('node:module') as { _load: (id: string, ...rest: unknown[]) => unknown };
  const load = Module._load;
  Module._load = (id: string, ...rest: unknown[]) =>
    id === 'electron'
      ? { contextBridge: { exposeInMainWorld: (k: string, v: unknown) => (exposed[k] = v) }, ipcRenderer: { invoke: (...args: unknown[]) => (invoked.push(args), Promise.resolve()), on() {}, send() {}, removeListener() {} } }
      : load(id, ...rest);
  try {
    req(join(OUT, 'preload', 'index.cjs'));
  } finally {
    Module._load = load;
  }
  const bridge = exposed.callpathBridge as Record<string, unknown>;
  assert.deepEqual(Object.keys(bridge).sort(), ['exportCalls', 'host', 'invoke', 'onConnection', 'openCapture', 'showRecording', 'subscribe']);
  assert.equal(bridge.host, 'electron');
  // "show in folder" asks main over its own channel with the path alone (main checks it against the recorder's list).
  await (bridge.showRecording as (p: string) => Promise<void>)('/data/recordings/a.wav');
  assert.deepEqual(invoked, [[IPC.showRecording, '/data/recordings/a.wav']]);
});

test('the bundled SIP worker the desktop app loads starts and stops the proxy', async () => {
  const engine = new Engine({
    proxy: (ctx) =>
      createProxy(ctx, {
        listen: { host: '127.0.0.1', port: 0 },
        route: null,
        timers: { T1: 500, T2: 4000, T4: 5000 },
        workerUrl: pathToFileURL(join(OUT, 'main', 'sip-worker.js')),
      }),
  });
  const started = await engine.start('proxy');
  assert.equal(started.state, 'running', started.error ?? '');
  assert.equal((await engine.stop('proxy')).state, 'stopped');
});

test('the bundled relay shard the desktop app loads takes an offer: relay ports bound, the SDP rewritten, the session deleted', async () => {
  let relay: Relay | null = null;
  const engine = new Engine({
    relay: (ctx) =>
      (relay = new Relay(ctx, () => ({
        ng: null,
        host: '127.0.0.1',
        min: 23500,
        max: 23599,
        timeouts: DEFAULT_RELAY_TIMEOUTS,
        quarantineMs: 2_000,
        shards: 1,
        strictSource: false,
        shardWorkerUrl: pathToFileURL(join(OUT, 'main', 'rtp-shard.js')),
      }))),
  });
  const started = await engine.start('relay');
  try {
    assert.equal(started.state, 'running', started.error ?? '');
    const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', ''].join('\r\n');
    const r = await relay!.offer({ callId: 'bundle-call', fromTag: 'a', toTag: null, sdp, ref: null, via: 'ng' });
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.match(r.sdp, /^m=audio 235\d\d RTP\/AVP 0\r$/m);
    assert.equal(relay!.stats()!.ports.inUse, 4);
    assert.equal(await relay!.delete('bundle-call', 'delete'), true);
  } finally {
    // A failed assertion must fail the file, not leave the shard's thread holding it open (and the run hanging).
    assert.equal((await engine.stop('relay')).state, 'stopped');
  }
});

test('the bundled subscriber-load thread the desktop app loads subscribes its connections on a real Redis and reads what is published', async () => {
  const redis = await startRedis();
  const load = new SubscriberLoadThread('127.0.0.1', redis.port, { count: 16, patterns: 'same', slow: false }, pathToFileURL(join(OUT, 'main', 'subscriber-load.js')));
  try {
    await load.start();
    assert.equal(load.stats().connected, 16);
    assert.equal((await redis.cli('PUBLISH', 'call:bundle', '{}')).trim(), '16', 'Redis delivered the message to the 16 connections');
    // Its figures come once a second from the thread.
    const deadline = Date.now() + 5_000;
    while (load.stats().messages < 16 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    assert.equal(load.stats().messages, 16);
  } finally {
    await load.stop();
    await redis.stop();
  }
});
