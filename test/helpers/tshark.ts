import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Dumpcap {
  child: ChildProcess;
  file: string;
  /** What dumpcap wrote to stderr so far (its "Capturing on" banner and, after stop, the packet counts). */
  stderr(): string;
  /** SIGTERM by PID, then waits for dumpcap to exit (SIGKILL after 5 s); safe to call twice. */
  stop(): Promise<void>;
}

/**
 * dumpcap on the loopback interface with a capture (BPF) filter, writing pcapng.
 * Resolves once dumpcap reports "Capturing on" and the file holds its header,
 * plus a short settle so the first packets of the test are not missed.
 */
export async function startDumpcap(o: { filter: string; file: string; iface?: string; readyMs?: number }): Promise<Dumpcap> {
  const child = spawn('dumpcap', ['-q', '-i', o.iface ?? 'lo', '-f', o.filter, '-w', o.file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  let exited: Promise<void> | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const stop = (): Promise<void> => {
    if (exited) return exited;
    exited = (async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitPromise;
        clearTimeout(t);
      }
    })();
    return exited;
  };
  const dc: Dumpcap = { child, file: o.file, stderr: () => err, stop };

  const deadline = Date.now() + (o.readyMs ?? 5000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`dumpcap exited early (${child.exitCode ?? child.signalCode}): ${err}`);
    const headerWritten = existsSync(o.file) && statSync(o.file).size > 0;
    if (err.includes('Capturing on') && headerWritten) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`dumpcap not capturing after ${o.readyMs ?? 5000} ms: ${err}`);
    }
    await sleep(25);
  }
  await sleep(200);
  return dc;
}

/** One SIP-over-UDP frame as tshark dissects it. */
export interface WireSip {
  frame: number;
  /** frame.time_epoch in µs (exact: parsed from the decimal string, not through a float). */
  tsUs: number;
  src: string;
  dst: string;
  callId: string;
  cseq: string;
  method: string | null;
  status: number | null;
  /** UDP payload length: udp.length − 8. */
  size: number;
}

const FIELDS = ['frame.number', 'frame.time_epoch', 'ip.src', 'udp.srcport', 'ip.dst', 'udp.dstport', 'sip.Call-ID', 'sip.CSeq', 'sip.Method', 'sip.Status-Code', 'udp.length'];

/** Wall-clock µs from tshark's "1700000000.123456789" without float rounding. */
export function epochToUs(s: string): number {
  const [sec, frac = ''] = s.trim().split('.');
  return Number(sec) * 1_000_000 + Number((frac + '000000').slice(0, 6));
}

/** Every frame tshark decodes as SIP in `file`, in capture order. */
export async function readSipFrames(file: string): Promise<WireSip[]> {
  const args = ['-r', file, '-n', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=f', ...FIELDS.flatMap((f) => ['-e', f]), '-Y', 'sip'];
  const { stdout } = await run('tshark', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const [frame, ts, ipSrc, sport, ipDst, dport, callId, cseq, method, status, udpLen] = line.split('\t');
      return {
        frame: Number(frame),
        tsUs: epochToUs(ts ?? ''),
        src: `${ipSrc}:${sport}`,
        dst: `${ipDst}:${dport}`,
        callId: callId ?? '',
        cseq: cseq ?? '',
        method: method ? method : null,
        status: status ? Number(status) : null,
        size: Number(udpLen) - 8,
      };
    });
}

/** Frames matching a display filter, one summary line each (frame number, src, dst, info); empty when none. */
export async function framesMatching(file: string, displayFilter: string): Promise<string[]> {
  const { stdout } = await run('tshark', ['-r', file, '-n', '-T', 'fields', '-E', 'separator=/t', '-e', 'frame.number', '-e', '_ws.col.Info', '-e', '_ws.expert.message', '-Y', displayFilter], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.split('\n').filter((l) => l.trim() !== '');
}
