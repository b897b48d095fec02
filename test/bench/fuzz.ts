/**
 * Mutation fuzzer (issue #12, "bad input, proven harmless"): mutated SIP at a
 * running lab, then proof that it still does its job.
 *
 * The lab runs as its own process, started as `npm run lab` starts it, so a
 * crash is the process dying (or its API no longer answering), and its RSS is
 * read from /proc. A UDP next hop beside it answers what the proxy forwards
 * (486 to INVITE, 200 to the rest), so the proxy's transactions end as they
 * would in a lab and forwarded messages do not pile up as retransmissions.
 *
 * UDP cases, each a message of a corpus (INVITE with SDP, 180, 200, ACK, BYE,
 * CANCEL, OPTIONS, REGISTER) with a fresh Call-ID and branch, mutated one way:
 * byte flips; truncation (each corpus message cut at every offset in turn);
 * a header line duplicated or removed; a 64 KB header; bad and huge
 * Content-Length; NULs; invalid UTF-8; CR/LF mixing; folded headers (a
 * continuation line first, inside Via, CSeq, Content-Length); empty and
 * 65,507-byte datagrams; spans inserted, deleted and duplicated. Every 1,000
 * cases a valid OPTIONS goes through the proxy to the next hop and back: the
 * sender waits for it, so the lab is measured at the rate it keeps up with,
 * not at the rate the kernel drops datagrams.
 *
 * TCP cases: partial messages then a close, one byte per write (its 100
 * Trying must come back), a header then a stall (closed by --tcp-idle),
 * hundreds of idle connections from one address past the per-source bound
 * (refused and counted), Content-Length longer and shorter than the body or
 * missing, and mutated messages over connections of their own.
 *
 * At the end: the API answers, a fresh INVITE over UDP and over a new TCP
 * connection is forwarded to the next hop, and the lab's drops by reason
 * and RSS before and after are printed. Args: [CASES=1000000] [SEED=1].
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildResponse, parseMessage } from '../../engine/sip/message/index';
import { MAX_UDP, MUTATIONS, Mutator, corpus } from './fuzz-mutations';
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
  tcp: { idle_attempted: number; idle_refused_seen: number; one_byte_trying: boolean; per_source_cap: number; idle_s: number };
  /** The lab's call store at the end: what RSS after holds by design (bounded by --max-store-mb). */
  call_store: { stored: number; mb: number; max_mb: number } | null;
  fresh_invite_forwarded: { udp: boolean; tcp: boolean };
  api_alive: boolean;
  rss_mb: { before: number; after: number; peak: number };
  lab_exit: string | null;
}

const TOKEN = 'fuzz-token';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  const ports = await new Promise<{ sip: number; api: string }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the lab did not start in 60 s:\n${out}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const sip = /proxy running udp\+tcp 127\.0\.0\.1:(\d+)/.exec(out);
      const api = /console at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (sip && api) {
        clearTimeout(t);
        resolve({ sip: Number(sip[1]), api: api[1]! });
      }
    });
    child.on('exit', () => reject(new Error(`the lab exited at start (${exit}):\n${out}`)));
  });
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

/** Datagrams the kernel dropped on the lab's SIP socket (its receive buffer full): /proc/net/udp's last column. */
function kernelUdpDrops(port: number): number {
  try {
    const hex = ':' + port.toString(16).toUpperCase().padStart(4, '0');
    for (const line of readFileSync('/proc/net/udp', 'latin1').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(hex)) return Number(f[f.length - 1]);
    }
  } catch {
    // not Linux
  }
  return -1;
}

function rssMb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : -1;
  } catch {
    return -1;
  }
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

// ------------------------------------------------------------------ UDP: sender and next hop

async function udpSocket(onMessage?: (d: Buffer, port: number) => void): Promise<UdpSocket & { port: number }> {
  const s = createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
  if (onMessage) s.on('message', (d, r) => onMessage(d, r.port));
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve());
  });
  return Object.assign(s, { port: s.address().port });
}

function send(s: UdpSocket, data: Buffer, port: number): Promise<void> {
  return new Promise((resolve) => s.send(data, port, '127.0.0.1', () => resolve()));
}

/** The next hop: answers every forwarded request but ACK (486 to INVITE, 200 otherwise), remembers Call-IDs it was asked to watch. */
class NextHop {
  readonly seen = new Set<string>();
  readonly watch = new Set<string>();
  forwarded = 0;
  constructor(readonly sock: UdpSocket & { port: number }) {}

  handle(d: Buffer, port: number): void {
    this.forwarded++;
    const p = parseMessage(d);
    if (!p.ok) return;
    const m = p.msg;
    if (this.watch.has(m.callId)) this.seen.add(m.callId);
    if (!m.isRequest || m.method === 'ACK') return;
    const reply = buildResponse(m, m.method === 'INVITE' ? 486 : 200, m.method === 'INVITE' ? 'Busy Here' : 'OK', { toTag: 'hop' });
    this.sock.send(reply, port, '127.0.0.1');
  }
}

// ------------------------------------------------------------------ TCP cases

function tcpConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setNoDelay(true);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the peer closes (or resets) the connection, or after `ms` with false. */
function closedWithin(s: Socket, ms: number): Promise<boolean> {
  if (s.destroyed || s.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(t);
      resolve(true);
    };
    s.once('close', done);
    s.once('end', done);
  });
}

async function writeEach(s: Socket, parts: readonly Buffer[]): Promise<void> {
  for (const p of parts) {
    if (s.destroyed) return;
    await new Promise<void>((resolve) => s.write(p, () => resolve()));
  }
}

// ------------------------------------------------------------------ the run

export async function runFuzz(o: FuzzOptions): Promise<FuzzResult> {
  let hop!: NextHop;
  const hopSock = await udpSocket((d, port) => hop.handle(d, port));
  hop = new NextHop(hopSock);
  const perSource = Math.max(1, Math.floor((o.idleConnections * 2) / 3));
  const lab = await startLabProcess(hopSock.port, o, perSource);
  const probes = new Map<string, () => void>();
  let responses = 0;
  const uac = await udpSocket((d) => {
    responses++;
    const m = /^Call-ID: (probe-\d+)/m.exec(d.toString('latin1', 0, Math.min(d.length, 2048)));
    // Any final response will do (a 503 from overload control too): the lab has read up to the probe.
    if (m && /^SIP\/2\.0 [2-6]\d\d /.test(d.toString('latin1', 0, 12))) probes.get(m[1]!)?.();
  });
  const mutations: Record<string, number> = {};
  let probeTimeouts = 0;
  let tcpCases = 0;
  const result = { crashed: false };
  try {
    await sleep(1000);
    const rssBefore = rssMb(lab.pid);
    const seeds = corpus(uac.port, lab.sipPort);
    const m = new Mutator(o.seed, seeds.length);
    const started = performance.now();

    const probe = async (n: number): Promise<void> => {
      const id = `probe-${n}`;
      const text = seeds[6]!.replace(/CALLID@fuzz/g, id).replace(/BRANCH/g, `p${n}`);
      const got = new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 1000);
        probes.set(id, () => {
          clearTimeout(t);
          resolve(true);
        });
      });
      await send(uac, Buffer.from(text, 'utf8'), lab.sipPort);
      if (!(await got)) probeTimeouts++;
      probes.delete(id);
    };

    // ---- UDP: o.cases mutated datagrams, a probe every 1,000 (the lab's pace), a liveness check every 50,000
    let pending: Promise<void>[] = [];
    let bytesSinceProbe = 0;
    for (let i = 0; i < o.cases; i++) {
      const ix = i % seeds.length;
      const kind = MUTATIONS[m.int(MUTATIONS.length)]!;
      const base = Buffer.from(seeds[ix]!.replace(/CALLID/g, `c${i}`).replace(/BRANCH/g, `b${i}`), 'utf8');
      const data = m.mutate(base, ix, kind);
      mutations[kind] = (mutations[kind] ?? 0) + 1;
      pending.push(send(uac, data.length > MAX_UDP ? data.subarray(0, MAX_UDP) : data, lab.sipPort));
      bytesSinceProbe += data.length;
      if (pending.length >= 64) {
        await Promise.all(pending);
        pending = [];
      }
      // Paced by the lab: a probe every 1,000 cases or 1 MB (a socket buffer's worth), whichever comes first.
      if ((i + 1) % 1000 === 0 || bytesSinceProbe > 1 << 20) {
        await Promise.all(pending);
        pending = [];
        bytesSinceProbe = 0;
        await probe(i);
      }
      if ((i + 1) % 50_000 === 0) {
        const alive = lab.exited() === null && (await snapshot(lab)) !== null;
        o.log(`fuzz: ${i + 1} cases, ${Math.round((i + 1) / ((performance.now() - started) / 1000))}/s, RSS ${rssMb(lab.pid)} MB, ${probeTimeouts} probe timeouts, lab ${alive ? 'alive' : 'NOT ANSWERING'}`);
        if (!alive) {
          result.crashed = true;
          break;
        }
      }
    }
    await Promise.all(pending);
    const udpSeconds = (performance.now() - started) / 1000;

    // ---- TCP
    const tcp = { idle_attempted: o.idleConnections, idle_refused_seen: 0, one_byte_trying: false, per_source_cap: perSource, idle_s: o.tcpIdleS };
    if (!result.crashed) {
      const tcpSeed = (i: number, k = 0) => Buffer.from(seeds[k]!.replace(/CALLID/g, `t${i}`).replace(/BRANCH/g, `tb${i}`).replace('SIP/2.0/UDP', 'SIP/2.0/TCP'), 'utf8');
      const idle: Socket[] = [];
      try {
        // Hundreds of idle connections from one address: past the per-source bound they are refused (reset).
        for (let i = 0; i < o.idleConnections; i++) {
          try {
            const s = await tcpConnect(lab.sipPort);
            s.on('error', () => undefined);
            idle.push(s);
          } catch {
            tcp.idle_refused_seen++;
          }
        }
        await sleep(300);
        tcp.idle_refused_seen += idle.filter((s) => s.destroyed || s.readableEnded).length;
        tcpCases += o.idleConnections;
        for (const s of idle) s.destroy();
        await sleep(300);

        // One byte per write: the INVITE must still be read whole and answered 100 Trying on the connection.
        {
          const s = await tcpConnect(lab.sipPort);
          s.on('error', () => undefined);
          let inbound = '';
          s.on('data', (d: Buffer) => (inbound += d.toString('latin1')));
          const msg = tcpSeed(-1);
          await writeEach(s, [...msg].map((b) => Buffer.of(b)));
          for (let t = 0; t < 50 && !/^SIP\/2\.0 100 /m.test(inbound); t++) await sleep(100);
          tcp.one_byte_trying = /^SIP\/2\.0 100 /m.test(inbound);
          s.destroy();
          tcpCases++;
        }

        const m2 = new Mutator(o.seed + 1, seeds.length);
        const kinds = ['partial', 'stall', 'cl-longer', 'cl-shorter', 'cl-missing', 'mutated', 'split'] as const;
        const stalled: Socket[] = [];
        for (let i = 0; i < o.tcpCases * kinds.length; i++) {
          const kind = kinds[i % kinds.length]!;
          const k = m2.int(seeds.length);
          const msg = tcpSeed(i, k);
          const s = await tcpConnect(lab.sipPort).catch(() => null);
          if (!s) continue;
          s.on('error', () => undefined);
          s.on('data', () => undefined);
          const text = msg.toString('latin1');
          const bodyAt = msg.indexOf('\r\n\r\n') + 4;
          switch (kind) {
            case 'partial':
              await writeEach(s, [msg.subarray(0, m2.int(msg.length))]);
              s.end();
              break;
            case 'stall':
              // The header section and part of the body, then nothing: the idle bound closes it.
              await writeEach(s, [msg.subarray(0, bodyAt + m2.int(Math.max(1, msg.length - bodyAt)))]);
              stalled.push(s);
              continue;
            case 'cl-longer':
              await writeEach(s, [Buffer.from(text.replace(/Content-Length: (\d+)/, (_, n: string) => `Content-Length: ${Number(n) + 1 + m2.int(500)}`), 'latin1'), tcpSeed(i + 1e6)]);
              s.end();
              break;
            case 'cl-shorter':
              await writeEach(s, [Buffer.from(text.replace(/Content-Length: (\d+)/, (_, n: string) => `Content-Length: ${m2.int(Number(n) + 1)}`), 'latin1'), tcpSeed(i + 2e6)]);
              s.end();
              break;
            case 'cl-missing':
              await writeEach(s, [Buffer.from(text.replace(/Content-Length: \d+\r\n/, ''), 'latin1')]);
              s.end();
              break;
            case 'mutated':
              await writeEach(s, [m2.mutate(msg, k, MUTATIONS[m2.int(MUTATIONS.length)]!), tcpSeed(i + 3e6)]);
              s.end();
              break;
            case 'split': {
              // Two messages cut at arbitrary points into segments.
              const both = Buffer.concat([msg, tcpSeed(i + 4e6, m2.int(seeds.length))]);
              const parts: Buffer[] = [];
              for (let p = 0; p < both.length; ) {
                const n = 1 + m2.int(300);
                parts.push(both.subarray(p, p + n));
                p += n;
              }
              await writeEach(s, parts);
              s.end();
              break;
            }
          }
          tcpCases++;
          await closedWithin(s, 2000);
          s.destroy();
        }
        // Stalled connections are closed by the lab within --tcp-idle (plus the timer's slack).
        const closed = await Promise.all(stalled.map((s) => closedWithin(s, (o.tcpIdleS + 5) * 1000)));
        tcpCases += stalled.length;
        const open = closed.filter((c) => !c).length;
        if (open > 0) o.log(`fuzz: ${open} stalled TCP connections still open after --tcp-idle ${o.tcpIdleS} s + 5 s`);
        for (const s of stalled) s.destroy();
      } finally {
        for (const s of idle) s.destroy();
      }
    }

    // ---- still doing its job: the API, and a fresh INVITE over UDP and over a new TCP connection forwarded
    await sleep(500);
    const fresh = { udp: false, tcp: false };
    const api = lab.exited() === null ? await snapshot(lab) : null;
    if (api) {
      hop.watch.add('fresh-udp@fuzz');
      hop.watch.add('fresh-tcp@fuzz');
      await send(uac, Buffer.from(seeds[0]!.replace(/CALLID@fuzz/g, 'fresh-udp@fuzz').replace(/BRANCH/g, 'fresh-udp'), 'utf8'), lab.sipPort);
      const s = await tcpConnect(lab.sipPort).catch(() => null);
      if (s) {
        s.on('error', () => undefined);
        s.on('data', () => undefined);
        s.write(Buffer.from(seeds[0]!.replace(/CALLID@fuzz/g, 'fresh-tcp@fuzz').replace(/BRANCH/g, 'fresh-tcp').replace('SIP/2.0/UDP', 'SIP/2.0/TCP'), 'utf8'));
      }
      for (let t = 0; t < 50 && hop.seen.size < 2; t++) await sleep(100);
      fresh.udp = hop.seen.has('fresh-udp@fuzz');
      fresh.tcp = hop.seen.has('fresh-tcp@fuzz');
      s?.destroy();
    }
    await sleep(1500); // the worker's counters reach the snapshot every 250 ms
    const last = lab.exited() === null ? await snapshot(lab) : null;
    const drops: Record<string, number> = {};
    let caught = 0;
    for (const d of (last ?? api)?.drops ?? []) {
      drops[`${d.where} ${d.reason}`] = d.count;
      if ((d.where === 'sip.core' && d.reason.startsWith('internal-error')) || (d.where === 'sip.parse' && d.reason === 'internal')) caught += d.count;
    }
    const seconds = (performance.now() - started) / 1000;
    const crashes = result.crashed || lab.exited() !== null || last === null ? 1 : 0;
    o.log(`fuzz: next hop got ${hop.forwarded} messages; the sender ${responses} responses`);
    return {
      bench: 'fuzz',
      cases: { udp: o.cases, tcp: tcpCases, total: o.cases + tcpCases },
      seconds: Math.round(seconds * 10) / 10,
      cases_per_s: Math.round(o.cases / udpSeconds),
      crashes,
      caught_throws: caught,
      probe_timeouts: probeTimeouts,
      kernel_udp_drops: kernelUdpDrops(lab.sipPort),
      mutations,
      drops,
      tcp,
      fresh_invite_forwarded: fresh,
      api_alive: last !== null,
      rss_mb: { before: rssBefore, after: rssMb(lab.pid), peak: rssMb(lab.pid, 'VmHWM') },
      call_store: last?.calls ? { stored: last.calls.stored ?? -1, mb: Math.round((last.calls.bytes ?? 0) / 2 ** 20), max_mb: Math.round((last.calls.maxBytes ?? 0) / 2 ** 20) } : null,
      lab_exit: lab.exited(),
    };
  } finally {
    await lab.stop();
    uac.close();
    hopSock.close();
  }
}

export async function main(args: string[]): Promise<void> {
  const cases = Number(args[0] ?? 1_000_000);
  const seed = Number(args[1] ?? 1);
  if (!Number.isInteger(cases) || cases < 1) throw new Error(`CASES must be a whole number, not ${args[0]}`);
  const full = cases >= 100_000;
  const r = await runFuzz({
    cases,
    seed,
    idleConnections: full ? 600 : 150,
    tcpCases: full ? 100 : 15,
    tcpIdleS: 3,
    log: (l) => process.stderr.write(l + '\n'),
  });
  process.stdout.write(JSON.stringify(r) + '\n');
  if (r.crashes > 0) process.exitCode = 1;
}
