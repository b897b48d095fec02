/**
 * One benchmark run driven by several SIPp UACs at once, for rates above what
 * one SIPp instance is trusted to drive (the issue measured ~1,000–1,500
 * calls/s per instance here). The shared harness's run-proxy.sh binds one UAC
 * to port 5091, so this runs the same topology with K UACs: SIPp UACs on
 * 127.0.0.1:5101… → the SUT on 5060 → one SIPp UAS on 5090, the harness's own
 * scenarios (uac.xml, uas.xml) and its own parser (parse_sipp.js) per UAC.
 * Every UAC's CPU is reported, and the UAS's: the UAS stays one instance (both
 * proxies route to one next hop), so it is the generator's limit here and the
 * step says so when it is near a full core.
 * Latency above 1,000 calls/s comes from SIPp's own response-time traces (ms
 * resolution), as the harness's max-clean.sh does without its capture there.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { processTree } from './fuzz-proc';
import type { Json } from './shared-bench';

const SUT_PORT = 5060;
const UAS_PORT = 5090;
const UAC_PORT = 5101;
const UAC_MEDIA_PORT = 5201;
const HOLD_MS = 1000;
/** The calls/s one UAC is given at most: below what the issue measured one instance to top out at. */
export const PER_UAC_RATE = 1000;
/** A SIPp instance this busy (% of its one core) is the limit itself. */
export const GENERATOR_BOUND_PCT = 90;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const udpBound = (port: number): boolean => {
  try {
    return execFileSync('ss', ['-H', '-uln', `sport = :${port}`], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
};

/** utime + stime (clock ticks) of the given processes, from /proc. */
function ticks(pids: number[]): number {
  let t = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      t += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return t;
}

/** Busy and total jiffies of the whole box. */
function boxTicks(): [number, number] {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + f[4]!;
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return [total - idle, total];
}

const HZ = 100;

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

/** SIGTERM to the group, 5 s, then SIGKILL: the harness's sut_stop. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  await Promise.race([exited(child), sleep(5000)]);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** calls/s for each of k UACs, summing to rate. */
export function splitRate(rate: number, k: number): number[] {
  return Array.from({ length: k }, (_, i) => Math.floor(rate / k) + (i < rate % k ? 1 : 0));
}

const parse = (bench: string, ...dirs: string[]): Json => JSON.parse(execFileSync(process.execPath, [join(bench, 'sip', 'parse_sipp.js'), ...dirs], { encoding: 'utf8' })) as Json;

export interface FleetRun {
  /** The SUT in the foreground, as the harness's SUT_CMD (it gets SUT_PORT, UAS_HOST, UAS_PORT, BENCH_RUN_DIR). */
  sutCmd: string;
  impl: string;
  rate: number;
  seconds: number;
  env?: Record<string, string>;
}

/** One run at rate calls/s for seconds, with ceil(rate / PER_UAC_RATE) UACs; the figures run-proxy.sh gives, summed over the UACs. */
export async function fleetRun(bench: string, o: FleetRun): Promise<Json> {
  const k = Math.max(1, Math.ceil(o.rate / PER_UAC_RATE));
  const out = process.env.BENCH_OUT ?? '/tmp/callpath-bench';
  const run = join(out, 'sip', 'runs', `${new Date().toISOString().replace(/[:.]/g, '')}-${o.impl}-fleet${k}-r${o.rate}-s${o.seconds}-${process.pid}`);
  const uacDirs = Array.from({ length: k }, (_, i) => join(run, `uac-${i}`));
  for (const d of [join(run, 'uas'), join(run, 'rtt'), ...uacDirs]) mkdirSync(d, { recursive: true });
  const ports = [SUT_PORT, UAS_PORT, UAS_PORT + 3, ...uacDirs.map((_, i) => UAC_PORT + i)];
  const busy = ports.filter(udpBound);
  if (busy.length > 0) throw new Error(`UDP port(s) ${busy.join(', ')} already in use`);

  const children: ChildProcess[] = [];
  const sut = spawn('bash', ['-c', o.sutCmd], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore'],
    env: { ...process.env, ...o.env, SUT_PORT: String(SUT_PORT), UAS_HOST: '127.0.0.1', UAS_PORT: String(UAS_PORT), BENCH_RUN_DIR: run },
  });
  try {
    for (let i = 0; i < 300 && !udpBound(SUT_PORT); i++) {
      if (sut.exitCode !== null) throw new Error(`${o.impl} exited before binding UDP ${SUT_PORT} (run dir ${run})`);
      await sleep(100);
    }
    if (!udpBound(SUT_PORT)) throw new Error(`${o.impl} did not bind UDP ${SUT_PORT} within 30 s`);
    await sleep(500);
    const sipp = (cwd: string, args: string[]) => {
      const c = spawn('sipp', args, { cwd, stdio: ['ignore', 'ignore', 'ignore'] });
      children.push(c);
      return c;
    };
    const common = ['-i', '127.0.0.1', '-nostdin', '-buff_size', '1048576', '-trace_stat', '-fd', '1', '-trace_err', '-trace_screen'];
    const uas = sipp(join(run, 'uas'), ['-sf', join(bench, 'sip', 'uas.xml'), '-p', String(UAS_PORT), '-mp', String(UAS_PORT + 3), '-stf', 'uas-stat.csv', ...common]);
    for (let i = 0; i < 50 && !udpBound(UAS_PORT); i++) await sleep(100);
    const rates = splitRate(o.rate, k);
    const uacs = rates.map((r, i) =>
      sipp(uacDirs[i]!, [
        `127.0.0.1:${SUT_PORT}`,
        '-sf', join(bench, 'sip', 'uac.xml'), '-s', 'bench',
        '-p', String(UAC_PORT + i), '-mp', String(UAC_MEDIA_PORT + 4 * i),
        '-r', String(r), '-rp', '1000', '-m', String(r * o.seconds), '-d', String(HOLD_MS), '-l', String(r * (HOLD_MS / 1000 + 12) + 100),
        '-recv_timeout', '10000', '-timeout', `${o.seconds + 40}s`,
        '-stf', 'uac-stat.csv', '-trace_rtt', '-rtt_freq', '100', ...common,
      ]),
    );
    await sleep(1000);
    const window = o.seconds > 2 ? o.seconds - 2 : 1;
    const sample = () => ({ sut: ticks(processTree(sut.pid!)), uacs: uacs.map((u) => ticks([u.pid!])), uas: ticks([uas.pid!]), box: boxTicks(), at: performance.now() });
    const a = sample();
    await sleep(window * 1000);
    const b = sample();
    const secs = (b.at - a.at) / 1000;
    const pct = (t0: number, t1: number) => Math.round(((t1 - t0) / HZ / secs) * 1000) / 10;
    const sutAlive = sut.exitCode === null;
    await Promise.all(uacs.map(exited));
    await sleep(1200);
    uas.kill('SIGTERM');
    await exited(uas);

    const counts = uacDirs.map((d) => parse(bench, d));
    const sum = (key: string) => counts.reduce((s, c) => s + Number(c[key] ?? 0), 0);
    // parse_sipp.js merges every *_rtt.csv of a folder: one folder of links gives percentiles over all UACs' calls.
    for (const d of uacDirs) for (const f of readdirSync(d).filter((n) => n.endsWith('_rtt.csv'))) symlinkSync(join(d, f), join(run, 'rtt', f));
    const merged = parse(bench, join(run, 'rtt'), join(run, 'uas'));
    const uacCpu = uacs.map((_, i) => pct(a.uacs[i]!, b.uacs[i]!));
    const uasCpu = pct(a.uas, b.uas);
    return {
      impl: o.impl,
      rate: o.rate,
      seconds: o.seconds,
      uacs: k,
      uac_rates: rates,
      ok: sum('ok'),
      failed: sum('failed'),
      retrans: sum('retrans'),
      uas_retrans: merged.uas_retrans ?? null,
      sipp_t100_p99_ms: merged.sipp_t100_p99_ms ?? null,
      sipp_t200_p99_ms: merged.sipp_t200_p99_ms ?? null,
      cpu_sut_pct: pct(a.sut, b.sut),
      cpu_sipp_uac_pct: uacCpu,
      cpu_sipp_uas_pct: uasCpu,
      sys_busy_pct_of_2cores: Math.round(((b.box[0] - a.box[0]) / (b.box[1] - a.box[1])) * 1000) / 10,
      generator_bound: Math.max(uasCpu, ...uacCpu) >= GENERATOR_BOUND_PCT,
      sut_alive_end: sutAlive,
      run_dir: run,
    };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await stopGroup(sut);
  }
}
