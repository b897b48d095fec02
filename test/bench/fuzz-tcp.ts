/**
 * The fuzz bench's TCP cases (issue #12), at our lab only: hundreds of idle
 * connections from one address past the per-source bound (refused and
 * counted), one byte per write (its 100 Trying must come back), partial
 * messages then a close, a header then a stall (closed by --tcp-idle),
 * Content-Length longer and shorter than the body or missing, two messages
 * split at arbitrary points, and mutated messages over connections of their
 * own. They test the lab's own bounds (--tcp-max-per-source, --tcp-idle),
 * which is why the Kamailio reference (fuzz-kamailio.ts) is not sent them.
 */
import { type Socket } from 'node:net';
import { sleep, tcpConnect } from './fuzz-drive';
import { MUTATIONS, Mutator } from './fuzz-mutations';

export interface TcpFigures {
  idle_attempted: number;
  idle_refused_seen: number;
  one_byte_trying: boolean;
  per_source_cap: number;
  idle_s: number;
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

/** Every TCP case against the proxy at `port` (none when `skip`: the lab is gone); `cases` counts the connections used. */
export async function runTcpCases(
  port: number,
  seeds: readonly string[],
  o: { seed: number; idleConnections: number; tcpCases: number; tcpIdleS: number; log: (line: string) => void },
  perSource: number,
  skip: boolean,
): Promise<{ figures: TcpFigures; cases: number }> {
  let cases = 0;
  const tcp = { idle_attempted: o.idleConnections, idle_refused_seen: 0, one_byte_trying: false, per_source_cap: perSource, idle_s: o.tcpIdleS };
  if (!skip) {
    const tcpSeed = (i: number, k = 0) => Buffer.from(seeds[k]!.replace(/CALLID/g, `t${i}`).replace(/BRANCH/g, `tb${i}`).replace('SIP/2.0/UDP', 'SIP/2.0/TCP'), 'utf8');
    const idle: Socket[] = [];
    try {
      // Hundreds of idle connections from one address: past the per-source bound they are refused (reset).
      for (let i = 0; i < o.idleConnections; i++) {
        try {
          const s = await tcpConnect(port);
          s.on('error', () => undefined);
          idle.push(s);
        } catch {
          tcp.idle_refused_seen++;
        }
      }
      await sleep(300);
      tcp.idle_refused_seen += idle.filter((s) => s.destroyed || s.readableEnded).length;
      cases += o.idleConnections;
      for (const s of idle) s.destroy();
      await sleep(300);

      // One byte per write: the INVITE must still be read whole and answered 100 Trying on the connection.
      {
        const s = await tcpConnect(port);
        s.on('error', () => undefined);
        let inbound = '';
        s.on('data', (d: Buffer) => (inbound += d.toString('latin1')));
        const msg = tcpSeed(-1);
        await writeEach(s, [...msg].map((b) => Buffer.of(b)));
        for (let t = 0; t < 50 && !/^SIP\/2\.0 100 /m.test(inbound); t++) await sleep(100);
        tcp.one_byte_trying = /^SIP\/2\.0 100 /m.test(inbound);
        s.destroy();
        cases++;
      }

      const m2 = new Mutator(o.seed + 1, seeds.length);
      const kinds = ['partial', 'stall', 'cl-longer', 'cl-shorter', 'cl-missing', 'mutated', 'split'] as const;
      const stalled: Socket[] = [];
      for (let i = 0; i < o.tcpCases * kinds.length; i++) {
        const kind = kinds[i % kinds.length]!;
        const k = m2.int(seeds.length);
        const msg = tcpSeed(i, k);
        const s = await tcpConnect(port).catch(() => null);
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
        cases++;
        await closedWithin(s, 2000);
        s.destroy();
      }
      // Stalled connections are closed by the proxy within --tcp-idle (plus the timer's slack).
      const closed = await Promise.all(stalled.map((s) => closedWithin(s, (o.tcpIdleS + 5) * 1000)));
      cases += stalled.length;
      const open = closed.filter((c) => !c).length;
      if (open > 0) o.log(`fuzz: ${open} stalled TCP connections still open after --tcp-idle ${o.tcpIdleS} s + 5 s`);
      for (const s of stalled) s.destroy();
    } finally {
      for (const s of idle) s.destroy();
    }
  }
  return { figures: tcp, cases };
}
