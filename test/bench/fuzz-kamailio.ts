/**
 * The fuzz bench's reference (issue #16): Kamailio 5.6, started as the shared
 * harness's run-proxy.sh starts it (foreground -DD -E, -n 4 children, -m 512
 * -M 16, a pid file) but with fuzz-kamailio.cfg on ports of its own and TCP on,
 * in front of a next hop like our lab's, fed the same UDP cases as our lab
 * (the same Mutator, seed and count, the same probe every 1,000 cases) by the
 * same loop (fuzz-drive.ts), and measured from outside the same way.
 *
 * What it leaves out, and why:
 *   - caught throws: Kamailio counts none (a C proxy has no caught-exception
 *     backstop to count), so the figure is null, not 0;
 *   - drops by reason: Kamailio logs what it refuses, a line each (to a
 *     file, removed after a clean run), but keeps no count per reason;
 *   - the TCP cases (fuzz-tcp.ts): they test our lab's own bounds
 *     (--tcp-max-per-source, --tcp-idle, 100 Trying to a one-byte-per-write
 *     INVITE), which Kamailio's core has no match for; the fresh INVITE over
 *     a new TCP connection at the end is checked for both.
 * Crashed means the main process exited (a child that dies takes it down) or
 * three probes in a row went unanswered at a liveness check. Memory is the
 * main process and its children summed from /proc: `pss_mb` counts the
 * shared-memory pool once, `rss_mb` once per process that touched it; peaks
 * are the highest of samples taken at every probe.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshInviteForwarded, NextHop, sendUdpCases, sleep, Uac } from './fuzz-drive';
import { corpus } from './fuzz-mutations';
import { freePort } from '../helpers/ports';
import { kernelUdpDrops, MemorySampler, processTree, type MemoryFigures } from './fuzz-proc';

const CFG = join(import.meta.dirname, 'fuzz-kamailio.cfg');
/** The harness's KAM_CHILDREN default: receiver processes per listening socket (UDP and TCP here). */
const CHILDREN = 4;
/**
 * -b: the UDP receive buffer Kamailio may grow its socket to, set to the 8 MB
 * our lab asks for (the kernel caps both at net.core.rmem_max). With its
 * default (256 KB, the harness's) the bursts between two probes (up to 1 MB)
 * overflow it: the kernel drops cases and probes, and each lost probe's 1 s
 * wait, not Kamailio's parsing, becomes what cases/s measures.
 */
const RECV_BUFFER_BYTES = 8 << 20;

export interface FuzzReference {
  tool: 'kamailio';
  version: string;
  children: number;
  /** Processes measured: the main one and every child it forked. */
  processes: number;
  cases: { udp: number };
  /** The UDP cases' seconds, probe waits included. */
  seconds: number;
  cases_per_s: number;
  crashes: number;
  /** Kamailio has no caught-throw count: null says "not measurable", never 0. */
  caught_throws: null;
  probe_timeouts: number;
  kernel_udp_drops: number;
  mutations: Record<string, number>;
  fresh_invite_forwarded: { udp: boolean; tcp: boolean };
  /** A probe through it answered at the end (our lab's `api_alive`). */
  alive: boolean;
  /** VmRSS summed over the processes: the shared-memory pool (-m) counts once per process that touched it. */
  rss_mb: MemoryFigures;
  /** Pss summed: each shared page split among its users, so the tree's memory with shared pages counted once. */
  pss_mb: MemoryFigures;
  exit: string | null;
}

export function kamailioVersion(): string {
  const out = execFileSync('kamailio', ['-v'], { encoding: 'utf8' });
  return /version: kamailio (\S+)/.exec(out)?.[1] ?? 'unknown';
}

interface Kamailio {
  pid: number;
  port: number;
  dir: string;
  exited(): string | null;
  stop(): Promise<void>;
}

/**
 * Kamailio in the foreground, in a process group of its own so it and its
 * children can be stopped together. Its log goes to a file in a folder of its
 * own, which is also its working directory (-w): a child that crashes dumps
 * core there (hundreds of MB: the -m pool), not in / where Kamailio would chdir.
 */
function startKamailio(port: number, hopPort: number): Kamailio {
  const dir = mkdtempSync(join(tmpdir(), 'callpath-fuzz-kamailio-'));
  const log = openSync(join(dir, 'kamailio.log'), 'a');
  const args = ['-f', CFG, '-DD', '-E', '-n', String(CHILDREN), '-m', '512', '-M', '16', '-b', String(RECV_BUFFER_BYTES), '-P', join(dir, 'kamailio.pid'), '-Y', dir, '-w', dir];
  args.push('-l', `udp:127.0.0.1:${port}`, '-l', `tcp:127.0.0.1:${port}`, '-A', `NEXT_HOP="sip:127.0.0.1:${hopPort}"`);
  const child = spawn('kamailio', args, { detached: true, stdio: ['ignore', 'ignore', log] });
  closeSync(log);
  let exit: string | null = null;
  child.on('exit', (code, signal) => (exit = signal ? `signal ${signal}` : `code ${code}`));
  child.on('error', (e) => (exit = `not started: ${e.message}`));
  return {
    pid: child.pid ?? -1,
    port,
    dir,
    exited: () => exit,
    async stop() {
      if (exit === null) {
        // SIGTERM to the main process: it stops its children; the group gets SIGKILL only if that takes over 5 s.
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([done, sleep(5000)]);
        if (exit === null && child.pid) process.kill(-child.pid, 'SIGKILL');
      }
    },
  };
}

const tail = (file: string, n = 20) => {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
};

export async function runFuzzReference(o: { cases: number; seed: number; log: (line: string) => void }): Promise<FuzzReference> {
  const version = kamailioVersion();
  const hop = await NextHop.open();
  const uac = await Uac.open();
  const kam = await freePort()
    .then((port) => startKamailio(port, hop.sock.port))
    .catch((e: unknown) => {
      uac.close();
      hop.close();
      throw e;
    });
  const seeds = corpus(uac.port, kam.port);
  let checks = 0;
  /** Answering: one of three probes through it came back (ids past any case's, so they never collide). */
  const answers = async () => {
    for (let t = 0; t < 3; t++) if (kam.exited() === null && (await uac.probe(1e9 + checks++, kam.port, seeds))) return true;
    return false;
  };
  let keepLog = false;
  try {
    // Ready when a probe comes back through it to the next hop: 10 checks of up to 3 s.
    let ready = false;
    for (let t = 0; t < 10 && !ready && kam.exited() === null; t++) ready = await answers();
    if (!ready) throw new Error(`kamailio did not start (${kam.exited() ?? 'no answer to OPTIONS in 30 s'}):\n${tail(join(kam.dir, 'kamailio.log'))}`);
    const main = Number(readFileSync(join(kam.dir, 'kamailio.pid'), 'utf8').trim());
    if (main !== kam.pid) o.log(`fuzz: kamailio's pid file names ${main}, not the process we started (${kam.pid}); measuring ${main}'s tree`);
    // Kamailio forks its children at start and never again, so the tree is read once.
    const pids = processTree(main);
    await sleep(1000);
    const memory = new MemorySampler(pids);
    memory.sample();

    const target = { port: kam.port, alive: async () => kam.exited() === null && (await answers()), memoryMb: () => memory.sample().pss };
    const udp = await sendUdpCases(uac, target, seeds, o);
    await sleep(500);
    const alive = kam.exited() === null && (await answers());
    const fresh = alive ? await freshInviteForwarded(uac, hop, seeds, kam.port) : { udp: false, tcp: false };
    memory.sample();
    const crashes = udp.crashed || !alive || kam.exited() !== null ? 1 : 0;
    o.log(`fuzz: kamailio's next hop got ${hop.forwarded} messages; the sender ${uac.responses} responses`);
    keepLog = crashes > 0;
    if (keepLog) o.log(`fuzz: kamailio crashed or stopped answering (${kam.exited() ?? 'still running'}); its log, and a core if the kernel wrote one, are kept in ${kam.dir}:\n${tail(join(kam.dir, 'kamailio.log'))}`);
    return {
      tool: 'kamailio',
      version,
      children: CHILDREN,
      processes: pids.length,
      cases: { udp: udp.sent },
      seconds: Math.round(udp.seconds * 10) / 10,
      cases_per_s: Math.round(udp.sent / udp.seconds),
      crashes,
      caught_throws: null,
      probe_timeouts: udp.probeTimeouts,
      kernel_udp_drops: kernelUdpDrops(kam.port),
      mutations: udp.mutations,
      fresh_invite_forwarded: fresh,
      alive,
      rss_mb: memory.figures('rss'),
      pss_mb: memory.figures('pss'),
      exit: kam.exited(),
    };
  } finally {
    keepLog ||= kam.exited() !== null;
    await kam.stop();
    uac.close();
    hop.close();
    // The log (tens of MB: a line per refused message) is kept only when it may say why Kamailio died or went quiet.
    if (!keepLog) rmSync(kam.dir, { recursive: true, force: true });
  }
}
