/**
 * Mutation fuzzer (issue #12, "bad input, proven harmless"): mutated SIP at a
 * running lab, then proof that it still does its job; and the same UDP cases
 * at Kamailio in the same run, the reference (issue #16).
 *
 * The lab runs as its own process, started as `npm run lab` starts it, so a
 * crash is the process dying (or its API no longer answering), and its memory
 * is read from /proc. A UDP next hop beside it answers what the proxy forwards
 * (486 to INVITE, 200 to the rest), so the proxy's transactions end as they
 * would in a lab and forwarded messages do not pile up as retransmissions.
 *
 * UDP cases (fuzz-drive.ts, fuzz-mutations.ts), each a message of a corpus
 * (INVITE with SDP, 180, 200, ACK, BYE, CANCEL, OPTIONS, REGISTER) with a
 * fresh Call-ID and branch, mutated one way: byte flips; truncation (each
 * corpus message cut at every offset in turn); a header line duplicated or
 * removed; a 64 KB header; bad and huge Content-Length; NULs; invalid UTF-8;
 * CR/LF mixing; folded headers (a continuation line first, inside Via, CSeq,
 * Content-Length); empty and 65,507-byte datagrams; spans inserted, deleted
 * and duplicated. Every 1,000 cases (or 1 MB) a valid OPTIONS goes through the
 * proxy to the next hop and back: the sender waits for it, so the proxy is
 * measured at the rate it keeps up with, not at the rate the kernel drops
 * datagrams.
 *
 * TCP cases (fuzz-tcp.ts): hundreds of idle connections from one address past
 * the per-source bound, one byte per write, partial messages, a header then a
 * stall (--tcp-idle), Content-Length longer, shorter or missing, mutated and
 * split messages.
 *
 * At the end: the API answers, a fresh INVITE over UDP and over a new TCP
 * connection is forwarded to the next hop, and the lab's drops by reason,
 * RSS and Pss are printed.
 *
 * The reference (fuzz-kamailio.ts): then, never at the same time, Kamailio
 * 5.6 with the shared harness's routing and children (fuzz-kamailio.cfg) and
 * a next hop of its own gets the same UDP cases (same seed, count and
 * mutations, the same probe) and the same closing check, measured the same way
 * from outside: cases/s, crashes, probe timeouts, the kernel's drops on its
 * socket, memory, the fresh INVITE over UDP and TCP. It leaves out what has
 * no Kamailio equivalent or reading: caught throws (null, not 0), drops by
 * reason, the call store, and the TCP cases, which test our lab's own bounds.
 * Its memory is its processes (13 with -n 4) summed: `pss_mb` counts its shared-memory
 * pool once, `rss_mb` once per process. So `ratios` (ours ÷ Kamailio's) has
 * `cases_per_s` (above 1: we keep up with more), `pss_peak_mb` (the like-for-
 * like memory ratio: both process trees, shared pages once, peaks sampled at
 * each probe) and `rss_peak_mb` (our VmHWM over Kamailio's summed VmRSS, which
 * overstates Kamailio: read it beside pss_peak_mb, not alone).
 * Args: [CASES=1000000] [SEED=1].
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freshInviteForwarded, NextHop, sendUdpCases, sleep, Uac } from './fuzz-drive';
import { MUTATIONS, corpus } from './fuzz-mutations';
import { kernelUdpDrops, MemorySampler, processTree, rssMb, type MemoryFigures } from './fuzz-proc';
import { runFuzzReference, type FuzzReference } from './fuzz-kamailio';
import { runTcpCases, type TcpFigures } from './fuzz-tcp';
import { ROOT } from './shared-bench';

export { MUTATIONS };

export interface FuzzOptions {
  cases: number;
  seed: number;
  /** Idle connections opened from one address (the lab's per-source bound is a third fewer). */
  idleConnections: number;
  /** Connections for each other TCP case kind. */
  tcpCases: number;
  /** --tcp-idle given to the lab, s: stalled connections must be closed within the run. */
  tcpIdleS: number;
  log: (line: string) => void;
}

export interface FuzzResult {
  bench: 'fuzz';
  cases: { udp: number; tcp: number; total: number };
  seconds: number;
  cases_per_s: number;
  /** 1 when the lab process died or stopped answering its API. */
  crashes: number;
  /** Throws the proxy core caught (`sip.core internal-error: …`) and parser backstops (`sip.parse internal`): defects, though not crashes. */
  caught_throws: number;
  probe_timeouts: number;
  /** Datagrams the kernel dropped before the lab read them (receive buffer full): never seen by the parser. */
  kernel_udp_drops: number;
  mutations: Record<string, number>;
  drops: Record<string, number>;
  tcp: TcpFigures;
  /** The lab's call store at the end: what RSS after holds by design (bounded by --max-store-mb). */
  call_store: { stored: number; mb: number; max_mb: number } | null;
  fresh_invite_forwarded: { udp: boolean; tcp: boolean };
  api_alive: boolean;
  /** The lab process's VmRSS before and after, and its VmHWM. */
  rss_mb: { before: number; after: number; peak: number };
  /** Pss summed over the lab and its children, sampled at every probe: measured as the reference's `pss_mb` is. */
  pss_mb: MemoryFigures;
  lab_exit: string | null;
}

const TOKEN = 'fuzz-token';

// ------------------------------------------------------------------ the lab process

interface Lab {
  child: ChildProcess;
  pid: number;
  sipPort: number;
  apiBase: string;
  exited: () => string | null;
  stop(): Promise<void>;
}

async function startLabProcess(sinkPort: number, opts: FuzzOptions, perSource: number): Promise<Lab> {
  const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { lab: string } }).scripts.lab;
  const args = script.split(' ').slice(1);
  args.push('--sip', '127.0.0.1:0', '--route', `127.0.0.1:${sinkPort}`, '--ui', '127.0.0.1:0', '--token', TOKEN, '--redis', 'off', '--ng', 'off');
  args.push('--tcp-max-per-source', String(perSource), '--tcp-idle', String(opts.tcpIdleS));
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let exit: string | null = null;
  child.on('exit', (code, signal) => (exit = signal ? `signal ${signal}` : `code ${code}`));
  let out = '';
  child.stderr!.on('data', (d: Buffer) => opts.log(`lab: ${d.toString().trimEnd()}`));
  const started = new Promise<{ sip: number; api: string }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the lab did not start in 60 s:\n${out}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const sip = /proxy running udp\+tcp 127\.0\.0\.1:(\d+)/.exec(out);
      const api = /console at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (sip && api) {
        clearTimeout(t);
        resolve({ sip: Number(sip[1]), api: api[1]! });
      } else if (/proxy failed/.test(out) && api) {
        // The lab stays up with its proxy down (the console shows why): nothing to fuzz, so no need to wait 60 s.
        clearTimeout(t);
        reject(new Error(`the lab's proxy did not start:\n${out}`));
      }
    });
    child.on('exit', () => reject(new Error(`the lab exited at start (${exit}):\n${out}`)));
  });
  let ports: { sip: number; api: string };
  try {
    ports = await started;
  } catch (e) {
    // A lab left running would keep this process (and a test runner) alive for ever.
    child.kill('SIGKILL');
    throw e;
  }
  return {
    child,
    pid: child.pid!,
    sipPort: ports.sip,
    apiBase: ports.api,
    exited: () => exit,
    async stop() {
      if (exit !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([done, sleep(10_000)]);
      if (exit === null) child.kill('SIGKILL');
    },
  };
}

interface Snapshot {
  drops: { where: string; reason: string; count: number }[];
  calls?: { stored?: number; bytes?: number; maxBytes?: number };
}

async function snapshot(lab: Lab): Promise<Snapshot | null> {
  try {
    const res = await fetch(`${lab.apiBase}/api/snapshot`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5000) });
    return res.ok ? ((await res.json()) as Snapshot) : null;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------ the run

export async function runFuzz(o: FuzzOptions): Promise<FuzzResult> {
  const hop = await NextHop.open();
  const perSource = Math.max(1, Math.floor((o.idleConnections * 2) / 3));
  const lab = await startLabProcess(hop.sock.port, o, perSource).catch((e: unknown) => {
    hop.close();
    throw e;
  });
  const uac = await Uac.open();
  try {
    await sleep(1000);
    const rssBefore = rssMb(lab.pid);
    // The lab and its children (dumpcap for the wire tap), as the reference's memory is its whole tree.
    const memory = new MemorySampler(processTree(lab.pid));
    memory.sample();
    const seeds = corpus(uac.port, lab.sipPort);
    const started = performance.now();

    // ---- UDP: o.cases mutated datagrams, a probe every 1,000 (the lab's pace), a liveness check (the API) every 50,000
    const target = {
      port: lab.sipPort,
      alive: async () => lab.exited() === null && (await snapshot(lab)) !== null,
      memoryMb: () => {
        memory.sample();
        return rssMb(lab.pid);
      },
    };
    const udp = await sendUdpCases(uac, target, seeds, o);

    // ---- TCP, unless the lab is gone
    const tcp = await runTcpCases(lab.sipPort, seeds, o, perSource, udp.crashed);

    // ---- still doing its job: the API, and a fresh INVITE over UDP and over a new TCP connection forwarded
    await sleep(500);
    const api = lab.exited() === null ? await snapshot(lab) : null;
    const fresh = api ? await freshInviteForwarded(uac, hop, seeds, lab.sipPort) : { udp: false, tcp: false };
    await sleep(1500); // the worker's counters reach the snapshot every 250 ms
    const last = lab.exited() === null ? await snapshot(lab) : null;
    const drops: Record<string, number> = {};
    let caught = 0;
    for (const d of (last ?? api)?.drops ?? []) {
      drops[`${d.where} ${d.reason}`] = d.count;
      if ((d.where === 'sip.core' && d.reason.startsWith('internal-error')) || (d.where === 'sip.parse' && d.reason === 'internal')) caught += d.count;
    }
    memory.sample();
    const seconds = (performance.now() - started) / 1000;
    const crashes = udp.crashed || lab.exited() !== null || last === null ? 1 : 0;
    o.log(`fuzz: next hop got ${hop.forwarded} messages; the sender ${uac.responses} responses`);
    return {
      bench: 'fuzz',
      cases: { udp: udp.sent, tcp: tcp.cases, total: udp.sent + tcp.cases },
      seconds: Math.round(seconds * 10) / 10,
      cases_per_s: Math.round(udp.sent / udp.seconds),
      crashes,
      caught_throws: caught,
      probe_timeouts: udp.probeTimeouts,
      kernel_udp_drops: kernelUdpDrops(lab.sipPort),
      mutations: udp.mutations,
      drops,
      tcp: tcp.figures,
      fresh_invite_forwarded: fresh,
      api_alive: last !== null,
      rss_mb: { before: rssBefore, after: rssMb(lab.pid), peak: rssMb(lab.pid, 'VmHWM') },
      pss_mb: memory.figures('pss'),
      call_store: last?.calls ? { stored: last.calls.stored ?? -1, mb: Math.round((last.calls.bytes ?? 0) / 2 ** 20), max_mb: Math.round((last.calls.maxBytes ?? 0) / 2 ** 20) } : null,
      lab_exit: lab.exited(),
    };
  } finally {
    await lab.stop();
    uac.close();
    hop.close();
  }
}

/** The JSON line: our lab's figures as runFuzz gives them, the reference's measured in the same run, and ours ÷ theirs. */
export interface FuzzBenchLine extends FuzzResult {
  reference: FuzzReference | null;
  /** Why there is no reference (Kamailio missing or did not start), else absent. */
  reference_error?: string;
  ratios: { cases_per_s: number | null; rss_peak_mb: number | null; pss_peak_mb: number | null } | null;
}

const ratio = (ours: number, theirs: number): number | null => (ours >= 0 && theirs > 0 ? Math.round((ours / theirs) * 1000) / 1000 : null);

export async function main(args: string[]): Promise<void> {
  const cases = Number(args[0] ?? 1_000_000);
  const seed = Number(args[1] ?? 1);
  if (!Number.isInteger(cases) || cases < 1) throw new Error(`CASES must be a whole number, not ${args[0]}`);
  const full = cases >= 100_000;
  const log = (l: string) => process.stderr.write(l + '\n');
  const r = await runFuzz({ cases, seed, idleConnections: full ? 600 : 150, tcpCases: full ? 100 : 15, tcpIdleS: 3, log });
  // One after the other, never side by side: both share the box's two cores.
  log('\n== the reference: kamailio, the same UDP cases ==');
  let line: FuzzBenchLine;
  try {
    const ref = await runFuzzReference({ cases, seed, log });
    line = { ...r, reference: ref, ratios: { cases_per_s: ratio(r.cases_per_s, ref.cases_per_s), rss_peak_mb: ratio(r.rss_mb.peak, ref.rss_mb.peak), pss_peak_mb: ratio(r.pss_mb.peak, ref.pss_mb.peak) } };
  } catch (e) {
    log(`fuzz: no reference: ${(e as Error).message}`);
    line = { ...r, reference: null, reference_error: (e as Error).message.split('\n')[0], ratios: null };
  }
  process.stdout.write(JSON.stringify(line) + '\n');
  if (r.crashes > 0 || line.reference === null) process.exitCode = 1;
}
