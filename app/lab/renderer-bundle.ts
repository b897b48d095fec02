import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function rendererDir(): string {
  return join(ROOT, 'out', 'renderer');
}

/**
 * The lab serves the built renderer. Build it on first use (or when sources
 * are newer) so `npm run lab` works straight after `npm ci`.
 */
export async function ensureRendererBuilt(say: (line: string) => void): Promise<{ ok: true } | { ok: false; error: string }> {
  const index = join(rendererDir(), 'index.html');
  if (existsSync(index) && newestMtime(join(ROOT, 'renderer')) <= statSync(index).mtimeMs) return { ok: true };
  say('callpath: building the console UI (vite)…');
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(ROOT, 'vite.renderer.config.ts'), '--logLevel', 'error'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0) return { ok: false, error: `building the console UI failed: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}` };
  return { ok: true };
}

function newestMtime(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}
