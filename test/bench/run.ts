/**
 * `npm run bench -- NAME [args]`: benchmarks print progress on stderr and one
 * JSON line last on stdout. They are not tests: they measure, side by side
 * with the real tool each part replaces, in one run (ratios, not absolutes).
 * Every run is appended to test/bench/results.jsonl with the commit, the date
 * and the machine (history.ts).
 *
 * `npm run bench` alone runs the whole suite, one part after the other;
 * `npm run bench -- report` prints the latest ratios of each part and draws
 * their history (test/bench/history.svg).
 */
import { appendRecord, gitCommit, machineNow, writeReport } from './history';

const BENCHES: Record<string, () => Promise<{ main(args: string[]): Promise<void> }>> = {
  sip: () => import('./sip'),
  rtp: () => import('./rtp'),
  record: () => import('./record'),
  publish: () => import('./publish'),
  ui: () => import('./ui'),
  export: () => import('./export'),
  fuzz: () => import('./fuzz'),
};

/** Runs one part, keeping the last JSON line it writes on stdout for the history. */
async function runPart(name: string, args: string[]): Promise<void> {
  const machine = machineNow();
  const write = process.stdout.write.bind(process.stdout);
  let last = '';
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const lines = text.split('\n').filter((l) => l.trim().startsWith('{'));
    if (lines.length > 0) last = lines[lines.length - 1]!;
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    await (await BENCHES[name]!()).main(args);
  } finally {
    process.stdout.write = write;
  }
  let result: unknown = null;
  try {
    result = JSON.parse(last);
  } catch {
    process.stderr.write(`bench ${name}: no JSON result line to record\n`);
    return;
  }
  appendRecord({ part: name, args, commit: gitCommit(), date: new Date().toISOString(), machine, result });
}

const [name, ...args] = process.argv.slice(2);
if (name === 'report') {
  process.stdout.write(writeReport() + '\n');
} else if (name === undefined) {
  for (const part of Object.keys(BENCHES)) {
    process.stderr.write(`\n===== bench ${part} =====\n`);
    await runPart(part, []);
  }
  process.stdout.write(writeReport() + '\n');
} else if (BENCHES[name]) {
  await runPart(name, args);
} else {
  process.stderr.write(`usage: npm run bench [-- ${Object.keys(BENCHES).join('|')}|report [args]]\n`);
  process.exit(2);
}
// A part's leftover handle (a child's pipe, a browser) must not keep the run from ending once its line is recorded.
process.exit(0);
