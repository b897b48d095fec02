import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';

/** A real redis-server (Debian) on a port of its own, stopped by PID. */
export interface TestRedis {
  port: number;
  url: string;
  child: ChildProcess;
  /** One command through redis-cli; its reply as text. */
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** On `port` when given (a Redis restarted where its clients expect it), else a free one. */
export async function startRedis(opts: { port?: number } = {}): Promise<TestRedis> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'callpath-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start on ${port}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    child,
    cli: (...args) =>
      new Promise((resolve, reject) =>
        execFile('redis-cli', ['-p', String(port), ...args], { timeout: 5_000 }, (err, out) => (err ? reject(err) : resolve(out))),
      ),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
