// Starts the SIP worker from TypeScript source (npm run lab, tests).
//
// The worker is bundled with esbuild first instead of running under tsx:
// tsx keeps function names by wrapping every closure in `__name()`, which
// gives each closure its own property store. On the SIP path that was 28 MB
// of the worker's heap at 1,000 calls/s and long GC pauses. (Node 20 also
// does not pass the parent's `--import tsx` hook to worker threads.)
// The Electron bundle runs its own built sip-worker.js and never loads this.
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const outfile = join(root, 'out', 'dev', `sip-worker-${process.pid}-${Date.now()}.mjs`);
mkdirSync(dirname(outfile), { recursive: true });
await build({
  entryPoints: [join(here, 'entry.ts')],
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
