#!/usr/bin/env node
// `npm start`: the desktop app when Electron and a display are available;
// otherwise one line saying why, then the headless lab console.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const require = createRequire(import.meta.url);
// The V8 flags `npm run lab` starts node with (package.json): single-threaded GC and 4 MB semi-spaces, for the
// 100 Trying tail (README, "How it is built"). V8 takes them only at process start, so the desktop app gets them here.
const v8Flags = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.lab.split(' ').filter((a) => /^--(single-threaded-gc|max-semi-space-size=)/.test(a));

function electronBinary() {
  const dir = join(root, 'node_modules', 'electron');
  const pathFile = join(dir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const bin = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(bin) ? bin : null;
}

function whyNoDesktop() {
  let bin = electronBinary();
  if (!bin && existsSync(join(root, 'node_modules', 'electron', 'install.js'))) {
    // package.json allowScripts keeps `npm ci` from downloading it; fetch on first start instead.
    console.log('callpath: fetching the Electron binary (first start)…');
    const r = spawnSync(process.execPath, ['install.js'], { cwd: join(root, 'node_modules', 'electron'), stdio: 'ignore', timeout: 300_000 });
    if (r.status === 0) bin = electronBinary();
  }
  if (!bin) return ['the Electron binary is missing and could not be downloaded', null];
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return ['no display (DISPLAY/WAYLAND_DISPLAY unset)', bin];
  return [null, bin];
}

const [why, bin] = whyNoDesktop();
if (why) {
  console.log(`callpath: ${why}; starting the headless lab console instead (npm run lab)`);
  const tsx = require.resolve('tsx');
  const child = spawn(process.execPath, [...v8Flags, '--import', tsx, join(root, 'app', 'lab', 'cli.ts'), ...args], { stdio: 'inherit' });
  forward(child);
} else {
  const build = spawnSync(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  const child = spawn(bin, [`--js-flags=${v8Flags.join(' ')}`, root, '--', ...args], { stdio: 'inherit' });
  forward(child);
}

function forward(child) {
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
