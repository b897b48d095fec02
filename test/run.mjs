#!/usr/bin/env node
// Runs every test file through node's test runner with the TAP reporter, so
// the run ends with `# pass N` / `# fail N`. Files run one at a time: the
// integration and end-to-end tests drive real SIPp, Redis and Chromium on a
// 2-core box, and timing-sensitive scenarios must not fight each other.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const suites = process.argv.length > 2 ? process.argv.slice(2) : ['unit', 'integration', 'e2e'];
const files = suites.flatMap((s) => {
  const dir = join('test', s);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f)) : [];
});
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=1', ...files], { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 1));
