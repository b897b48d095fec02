import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The read-only reference harness (shared/bench), beside the checkout unless CALLPATH_SHARED_BENCH says otherwise. */
export function sharedBench(): string {
  const dir = process.env.CALLPATH_SHARED_BENCH ?? resolve(ROOT, '..', 'shared', 'bench');
  if (!existsSync(join(dir, 'sip', 'compare.sh'))) throw new Error(`reference harness not found at ${dir} (set CALLPATH_SHARED_BENCH)`);
  return dir;
}

/**
 * Our lab in the foreground, as the harness wants a SUT (it sets SUT_PORT,
 * UAS_HOST, UAS_PORT): started exactly as `npm run lab` starts it, node's V8
 * flags included, so the benchmark measures what a user runs.
 */
export function labCommand(flags: string): string {
  const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { lab: string } }).scripts.lab;
  if (!script.startsWith('node ')) throw new Error(`package.json "lab" should start with node: ${script}`);
  return `cd ${ROOT} && exec ${process.execPath} ${script.slice('node '.length)} ${flags}`;
}

export type Json = Record<string, unknown>;

/** Runs a harness script; progress goes to our stderr; resolves with its last stdout line parsed. */
export async function runScript(script: string, args: string[], env: Record<string, string>): Promise<Json | null> {
  return (await runScriptAll(script, args, env)).last;
}

/** Like runScript, and also every per-run JSON line the script printed ("kamailio: {…}", "sut: {…}", "rate 500: {…}"). */
export function runScriptAll(script: string, args: string[], env: Record<string, string>): Promise<{ last: Json | null; runs: { tag: string; run: Json }[] }> {
  return new Promise((resolveRun) => {
    const child = spawn('bash', [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    // The per-run lines come on the script's stderr, its result last on stdout; both are progress for us.
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      process.stderr.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      process.stderr.write(d);
    });
    child.on('exit', () => {
      const lines = out.trim().split('\n');
      const runs: { tag: string; run: Json }[] = [];
      for (const l of [...err.split('\n'), ...lines]) {
        const m = /^([a-z][\w ]*): (\{.*\})$/.exec(l);
        if (!m) continue;
        try {
          runs.push({ tag: m[1]!, run: JSON.parse(m[2]!) as Json });
        } catch {
          // not a run line
        }
      }
      let last: Json | null = null;
      try {
        last = JSON.parse(lines[lines.length - 1] ?? '') as Json;
      } catch {
        last = null;
      }
      resolveRun({ last, runs });
    });
  });
}
