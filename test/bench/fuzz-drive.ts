/**
 * The fuzz bench's UDP half, the same for every proxy it fuzzes (our lab and
 * the reference Kamailio), so both get the same cases measured the same way:
 * the sender (UAC) with its OPTIONS probe, the next hop that answers what the
 * proxy forwards, the loop that sends CASES mutated datagrams paced by the
 * probe, and the closing check that a fresh INVITE over UDP and over a new TCP
 * connection still reaches the next hop.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { buildResponse, parseMessage } from '../../engine/sip/message/index';
import { MAX_UDP, MUTATIONS, Mutator } from './fuzz-mutations';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type UdpSock = UdpSocket & { port: number };

export async function udpSocket(onMessage?: (d: Buffer, port: number) => void): Promise<UdpSock> {
  const s = createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
  if (onMessage) s.on('message', (d, r) => onMessage(d, r.port));
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve());
  });
  return Object.assign(s, { port: s.address().port });
}

export function send(s: UdpSocket, data: Buffer, port: number): Promise<void> {
  return new Promise((resolve) => s.send(data, port, '127.0.0.1', () => resolve()));
}

export function tcpConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setNoDelay(true);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** The next hop: answers every forwarded request but ACK (486 to INVITE, 200 otherwise), remembers Call-IDs it was asked to watch. */
export class NextHop {
  readonly seen = new Set<string>();
  readonly watch = new Set<string>();
  forwarded = 0;
  private constructor(readonly sock: UdpSock) {}

  static async open(): Promise<NextHop> {
    let hop!: NextHop;
    hop = new NextHop(await udpSocket((d, port) => hop.handle(d, port)));
    return hop;
  }

  private handle(d: Buffer, port: number): void {
    this.forwarded++;
    const p = parseMessage(d);
    if (!p.ok) return;
    const m = p.msg;
    if (this.watch.has(m.callId)) this.seen.add(m.callId);
    if (!m.isRequest || m.method === 'ACK') return;
    const reply = buildResponse(m, m.method === 'INVITE' ? 486 : 200, m.method === 'INVITE' ? 'Busy Here' : 'OK', { toTag: 'hop' });
    this.sock.send(reply, port, '127.0.0.1');
  }

  close(): void {
    this.sock.close();
  }
}

/** The sender of every UDP case, and of the OPTIONS probe whose final response it waits for. */
export class Uac {
  responses = 0;
  private readonly probes = new Map<string, () => void>();
  private constructor(readonly sock: UdpSock) {}

  static async open(): Promise<Uac> {
    let uac!: Uac;
    uac = new Uac(await udpSocket((d) => uac.handle(d)));
    return uac;
  }

  get port(): number {
    return this.sock.port;
  }

  private handle(d: Buffer): void {
    this.responses++;
    const m = /^Call-ID: (probe-\d+)/m.exec(d.toString('latin1', 0, Math.min(d.length, 2048)));
    // Any final response will do (a 503 from overload control too): the proxy has read up to the probe.
    if (m && /^SIP\/2\.0 [2-6]\d\d /.test(d.toString('latin1', 0, 12))) this.probes.get(m[1]!)?.();
  }

  /** A valid OPTIONS (corpus message 6) through the proxy at `port`: true when a final response came back within 1 s. */
  async probe(n: number, port: number, seeds: readonly string[]): Promise<boolean> {
    const id = `probe-${n}`;
    const text = seeds[6]!.replace(/CALLID@fuzz/g, id).replace(/BRANCH/g, `p${n}`);
    const got = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 1000);
      this.probes.set(id, () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    await send(this.sock, Buffer.from(text, 'utf8'), port);
    const ok = await got;
    this.probes.delete(id);
    return ok;
  }

  close(): void {
    this.sock.close();
  }
}

/** The proxy being fuzzed, as the loop sees it from outside. */
export interface Target {
  port: number;
  /** Still doing its job; asked every 50,000 cases and after a probe went unanswered, and false ends the run as a crash. */
  alive(): Promise<boolean>;
  /** Its memory now, MB, for the progress line; asked at every probe, so a target may keep a sampled peak. */
  memoryMb(): number;
}

export interface UdpCases {
  /** Cases sent: all of them unless the proxy stopped answering first. */
  sent: number;
  mutations: Record<string, number>;
  probeTimeouts: number;
  /** From the first case to the last send, probes' waits included: cases/s is the pace the proxy kept up with. */
  seconds: number;
  crashed: boolean;
}

/**
 * `cases` datagrams, each corpus message `i % seeds.length` with a fresh
 * Call-ID and branch, mutated one way drawn from a Mutator seeded with `seed`:
 * two targets given the same seed and count get the same mutations in the same
 * order (the bytes differ only in the ports the corpus names).
 */
export async function sendUdpCases(uac: Uac, target: Target, seeds: readonly string[], o: { cases: number; seed: number; log: (line: string) => void }): Promise<UdpCases> {
  const m = new Mutator(o.seed, seeds.length);
  const mutations: Record<string, number> = {};
  let probeTimeouts = 0;
  let crashed = false;
  let sent = 0;
  const started = performance.now();
  let pending: Promise<void>[] = [];
  let bytesSinceProbe = 0;
  for (let i = 0; i < o.cases; i++) {
    const ix = i % seeds.length;
    const kind = MUTATIONS[m.int(MUTATIONS.length)]!;
    const base = Buffer.from(seeds[ix]!.replace(/CALLID/g, `c${i}`).replace(/BRANCH/g, `b${i}`), 'utf8');
    const data = m.mutate(base, ix, kind);
    mutations[kind] = (mutations[kind] ?? 0) + 1;
    sent++;
    pending.push(send(uac.sock, data.length > MAX_UDP ? data.subarray(0, MAX_UDP) : data, target.port));
    bytesSinceProbe += data.length;
    if (pending.length >= 64) {
      await Promise.all(pending);
      pending = [];
    }
    // Paced by the proxy: a probe every 1,000 cases or 1 MB (a socket buffer's worth), whichever comes first,
    // so it is measured at the rate it keeps up with, not at the rate the kernel drops datagrams.
    if ((i + 1) % 1000 === 0 || bytesSinceProbe > 1 << 20) {
      await Promise.all(pending);
      pending = [];
      bytesSinceProbe = 0;
      const answered = await uac.probe(i, target.port, seeds);
      if (!answered) probeTimeouts++;
      target.memoryMb();
      // A probe lost: if the proxy is gone, stop now rather than wait a second at every probe to come.
      if (!answered && !(await target.alive())) {
        o.log(`fuzz: ${i + 1} cases, probe unanswered and NOT ANSWERING`);
        crashed = true;
        break;
      }
    }
    if ((i + 1) % 50_000 === 0) {
      const alive = await target.alive();
      o.log(`fuzz: ${i + 1} cases, ${Math.round((i + 1) / ((performance.now() - started) / 1000))}/s, ${target.memoryMb()} MB, ${probeTimeouts} probe timeouts, ${alive ? 'alive' : 'NOT ANSWERING'}`);
      if (!alive) {
        crashed = true;
        break;
      }
    }
  }
  await Promise.all(pending);
  return { sent, mutations, probeTimeouts, seconds: (performance.now() - started) / 1000, crashed };
}

/** A fresh INVITE (corpus message 0) over UDP and over a new TCP connection: did each reach the next hop within 5 s? */
export async function freshInviteForwarded(uac: Uac, hop: NextHop, seeds: readonly string[], port: number): Promise<{ udp: boolean; tcp: boolean }> {
  hop.watch.add('fresh-udp@fuzz');
  hop.watch.add('fresh-tcp@fuzz');
  await send(uac.sock, Buffer.from(seeds[0]!.replace(/CALLID@fuzz/g, 'fresh-udp@fuzz').replace(/BRANCH/g, 'fresh-udp'), 'utf8'), port);
  const s = await tcpConnect(port).catch(() => null);
  if (s) {
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.write(Buffer.from(seeds[0]!.replace(/CALLID@fuzz/g, 'fresh-tcp@fuzz').replace(/BRANCH/g, 'fresh-tcp').replace('SIP/2.0/UDP', 'SIP/2.0/TCP'), 'utf8'));
  }
  for (let t = 0; t < 50 && !(hop.seen.has('fresh-udp@fuzz') && hop.seen.has('fresh-tcp@fuzz')); t++) await sleep(100);
  s?.destroy();
  return { udp: hop.seen.has('fresh-udp@fuzz'), tcp: hop.seen.has('fresh-tcp@fuzz') };
}
