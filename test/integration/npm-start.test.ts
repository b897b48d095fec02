/**
 * `npm start` where the desktop app cannot open (no Electron binary and no
 * network to fetch it, or no display — this machine, an SSH session on a lab
 * box): one line saying why, then the headless lab console, which serves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { freePort } from '../helpers/ports';

test('npm start says in one line why there is no desktop window and falls back to the lab console, which answers', { timeout: 120_000 }, async () => {
  const [sip, ui] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  delete env.NODE_TEST_CONTEXT;
  const args = ['main/start.mjs', '--sip', `127.0.0.1:${sip}`, '--ui', `127.0.0.1:${ui}`, '--rtp', '127.0.0.1:20000-20999', '--token', 'start-test', '--redis', 'off', '--ng', 'off'];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const deadline = Date.now() + 100_000;
    while (!/console at http/.test(out)) {
      assert.equal(child.exitCode, null, `npm start exited early:\n${out}`);
      assert.ok(Date.now() < deadline, `no console URL:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const reasons = out.split('\n').filter((l) => /starting the headless lab console instead/.test(l));
    assert.equal(reasons.length, 1, `one line says why:\n${out}`);
    assert.match(reasons[0]!, /^callpath: (the Electron binary is missing and could not be downloaded|no display \(DISPLAY\/WAYLAND_DISPLAY unset\)); /);
    assert.doesNotMatch(out, /\bat .+:\d+:\d+/, 'no stack trace');
    const res = await fetch(`http://127.0.0.1:${ui}/api/snapshot`, { headers: { Authorization: 'Bearer start-test' } });
    assert.equal(res.status, 200);
    const snap = (await res.json()) as { components: { name: string; state: string }[] };
    assert.equal(snap.components.find((c) => c.name === 'proxy')?.state, 'running', 'the console it fell back to runs the engine');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
});
