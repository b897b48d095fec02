import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { resolveRedis } from '../../engine/publish/redis-server';
import { freePort } from '../helpers/ports';
import { withLab } from '../helpers/lab';
import { startRedis } from '../helpers/redis';

// Every test probes a port of its own (`probePort`), never 6379: what runs there on this box is not the test's business.

function tmpDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'callpath-redis-auto-'));
}

/** A PID that exists and is not a zombie (a reparented child may not be reaped at once in a container). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Field 3 of /proc/PID/stat, after the parenthesised command name.
    return !/\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

async function ping(url: string): Promise<string> {
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

function listen(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  return new Promise((resolveListen, reject) => {
    const server = createServer(onConnection);
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolveListen({ server, port: typeof addr === 'object' && addr ? addr.port : 0 });
    });
  });
}

test('auto with no Redis on the probe port starts a private redis-server in the data folder, and stop() ends it by PID', { timeout: 30_000 }, async () => {
  const dataDir = tmpDataDir();
  const probePort = await freePort(); // nothing listens here
  const target = await resolveRedis('auto', { probePort, dataDir });
  try {
    assert.equal(target.origin, 'private');
    assert.ok(target.pid !== null && alive(target.pid), 'a running redis-server');
    const port = Number(new URL(target.url).port);
    assert.equal(target.url, `redis://127.0.0.1:${port}`);
    assert.notEqual(port, probePort);
    assert.equal(await ping(target.url), 'PONG');
    assert.ok(existsSync(join(dataDir, `redis-${port}`)), 'its own folder under the data folder');
  } finally {
    await target.stop();
  }
  assert.ok(await goneWithin(target.pid!, 1_000), `redis-server ${target.pid} is gone after stop()`);
  assert.deepEqual(readdirSync(dataDir), [], 'its folder is removed after a clean stop');
  await target.stop(); // a second stop is harmless
  rmSync(dataDir, { recursive: true, force: true });
});

test('auto uses a Redis already answering PING on the probe port and starts nothing', { timeout: 30_000 }, async () => {
  const redis = await startRedis();
  const dataDir = tmpDataDir();
  try {
    const target = await resolveRedis('auto', { probePort: redis.port, dataDir });
    assert.equal(target.origin, 'found');
    assert.equal(target.url, `redis://127.0.0.1:${redis.port}`);
    assert.equal(target.pid, null);
    assert.deepEqual(readdirSync(dataDir), [], 'no private server was started');
    await target.stop(); // a no-op: the Redis is not ours
    assert.equal(await ping(redis.url), 'PONG');
  } finally {
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('auto with something that is not Redis on the probe port and no redis-server binary rejects with one line saying what to do', { timeout: 30_000 }, async () => {
  const dataDir = tmpDataDir();
  const missing = join(dataDir, 'no-such', 'redis-server');
  // One that answers garbage, one that accepts and says nothing (the probe must not wait on it for long).
  const garbage = await listen((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  const silent = await listen(() => {});
  try {
    for (const { port } of [garbage, silent]) {
      const started = Date.now();
      const err = await resolveRedis('auto', { probePort: port, dataDir, command: missing, probeTimeoutMs: 300 }).then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e as Error,
      );
      assert.ok(err instanceof Error);
      assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.match(err.message, /redis-server/);
      assert.match(err.message, /--redis/);
      assert.match(err.message, /apt install redis-server/);
      assert.ok(Date.now() - started < 3_000, 'decided within the probe timeout, not a hang');
    }
    assert.deepEqual(readdirSync(dataDir), [], 'no folder left behind');
  } finally {
    garbage.server.close();
    silent.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a URL setting comes back as configured, untouched, without probing or starting anything', async () => {
  const dataDir = tmpDataDir();
  try {
    for (const url of ['redis://127.0.0.1:6390', 'rediss://:s3cret@10.0.0.5:6380/2']) {
      const target = await resolveRedis(url, { dataDir, command: join(dataDir, 'never-run') });
      assert.deepEqual({ url: target.url, origin: target.origin, pid: target.pid }, { url, origin: 'configured', pid: null });
      await target.stop();
    }
    assert.deepEqual(readdirSync(dataDir), []);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a private server that dies on its own is reported once through onExit, with one line why', { timeout: 30_000 }, async () => {
  const dataDir = tmpDataDir();
  const reasons: string[] = [];
  const target = await resolveRedis('auto', { probePort: await freePort(), dataDir, onExit: (why) => reasons.push(why) });
  try {
    process.kill(target.pid!, 'SIGKILL');
    const deadline = Date.now() + 5_000;
    while (reasons.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(reasons.length, 1);
    assert.match(reasons[0]!, new RegExp(`^private redis-server \\(pid ${target.pid}, port \\d+\\) killed by SIGKILL`));
    assert.ok(!reasons[0]!.includes('\n'));
  } finally {
    await target.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  assert.equal(reasons.length, 1, 'stop() after the death reports nothing more');
});

test('a process that exits with its private server still running takes the server with it (exit hook, by PID)', { timeout: 30_000 }, async () => {
  const dataDir = tmpDataDir();
  // .mts: outside the repo there is no package.json saying ESM, and the script awaits at top level.
  const script = join(dataDir, 'exits.mts');
  const module = resolve('engine/publish/redis-server.ts');
  writeFileSync(
    script,
    `import { resolveRedis } from ${JSON.stringify(module)};
const target = await resolveRedis('auto', { probePort: ${await freePort()}, dataDir: ${JSON.stringify(dataDir)} });
process.stdout.write(JSON.stringify({ pid: target.pid, url: target.url }) + '\\n');
process.exit(0);
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(killer);
  let pid: number | null = null;
  try {
    assert.equal(code, 0, err);
    ({ pid } = JSON.parse(out.trim()) as { pid: number });
    assert.ok(typeof pid === 'number' && pid > 0);
    assert.ok(await goneWithin(pid, 3_000), `redis-server ${pid} outlived the process that started it`);
    assert.deepEqual(readdirSync(dataDir).filter((f) => f.startsWith('redis-')), [], 'the exit hook removed its folder');
  } finally {
    if (pid !== null && alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the lab with --redis auto: nothing on the probe port gives a running publisher on a private redis-server that stops with the lab; a Redis there is used instead', { timeout: 60_000 }, async () => {
  const dataDir = tmpDataDir();
  const probePort = await freePort();
  try {
    let privateUrl = '';
    await withLab({ redis: 'auto', redisProbePort: probePort, dataDir }, async (lab) => {
      const s = lab.host.engine.status('publisher');
      assert.equal(s.state, 'running', s.error ?? '');
      assert.match(s.detail ?? '', /^pubsub\+list \(private redis-server\): connected/);
      const p = lab.host.snapshot().publisher!;
      assert.equal(p.origin, 'private');
      privateUrl = `redis://${p.endpoint.replace(/^redis:\/\//, '')}`;
      assert.notEqual(privateUrl, `redis://127.0.0.1:${probePort}`);
      assert.equal(await ping(privateUrl), 'PONG');
      assert.ok(readdirSync(dataDir).some((d) => d.startsWith('redis-')), 'its files are under the data folder');
    });
    await assert.rejects(ping(privateUrl), 'the private redis-server stopped with the lab');

    const running = await startRedis({ port: probePort });
    try {
      await withLab({ redis: 'auto', redisProbePort: probePort, dataDir }, async (lab) => {
        const p = lab.host.snapshot().publisher!;
        assert.equal(p.origin, 'found');
        assert.equal(p.endpoint, running.url);
        assert.match(lab.host.engine.status('publisher').detail ?? '', /^pubsub\+list \(one already running\): connected/);
      });
      assert.equal(await ping(running.url), 'PONG', 'a Redis we found is not ours to stop');
    } finally {
      await running.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
