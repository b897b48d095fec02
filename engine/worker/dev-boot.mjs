// Starts a worker thread from TypeScript source (npm run lab, tests): the
// SIP worker, a relay shard. The entry's path comes in `workerData.devEntry`.
//
// The worker is bundled with esbuild first instead of running under tsx:
// tsx keeps function names by wrapping every closure in `__name()`, which
// gives each closure its own property store. On the SIP path that was 28 MB
// of the worker's heap at 1,000 calls/s and long GC pauses. (Node 20 also
// does not pass the parent's `--import tsx` hook to worker threads.)
// The Electron bundle runs its own built workers (sip-worker.js, rtp-shard.js) and never loads this.
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { workerData } from 'node:worker_threads';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const entry = workerData?.devEntry;
if (typeof entry !== 'string') throw new Error('dev-boot needs workerData.devEntry (the worker entry .ts file)');
const outfile = join(root, 'out', 'dev', `${basename(dirname(entry))}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.mjs`);
mkdirSync(dirname(outfile), { recursive: true });
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'error',
});
try {
  await import(pathToFileURL(outfile).href);
} finally {
  rmSync(outfile, { force: true }); // loaded; nothing reads it again
}
