/**
 * dumpcap (Wireshark's capture engine) as a child process, streaming pcapng
 * to us on a pipe: `-w -` writes each packet as it is captured, `-q` keeps
 * its per-packet count off stderr, `-p` leaves the interface out of
 * promiscuous mode, `-B` gives the kernel a larger capture buffer so a burst
 * is not lost before dumpcap reads it, `-s` caps what each packet keeps (a
 * SIP message over UDP fits in 64 KiB).
 *
 * Started and stopped by PID, never by name; a child still running when this
 * process exits is killed then (`process.on('exit')`), so no dumpcap is ever
 * left behind. If dumpcap is missing or cannot capture (not root and no
 * cap_net_raw), `start` rejects with one line saying why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { PcapngStream, type CapturedPacket } from '../capture/pcap-read';

export interface DumpcapOptions {
  iface: string;
  /** A BPF filter (tcpdump syntax). */
  filter: string;
  /** Kernel capture buffer, MiB. */
  bufferMiB?: number;
  /** Bytes kept of each packet (default SNAPLEN). */
  snaplen?: number;
  /** Hand on packets the snaplen cut (with `fullLength`) instead of skipping them: the tap pairs them by head and length. */
  keepCut?: boolean;
  /** The program (tests point it elsewhere). */
  command?: string;
}

/**
 * Bytes kept of each packet. Not 65,535: on loopback (MTU 65,536) a snaplen
 * that large made every datagram the SIP worker sent cost it ~15 µs more in
 * the kernel's capture path — measured at 1,000 calls/s, the worker's CPU
 * went from 38 % to 61 % and 100 Trying p99 from 2.7 to 8 ms with a dumpcap
 * writing to /dev/null — while 1,500 to 16,384 cost nothing measurable. A
 * SIP datagram longer than this is cut, and paired by its head and length.
 */
export const SNAPLEN = 16_384;

/** dumpcap's nice value (0 is ours): the tap yields the CPU to signalling. */
const DUMPCAP_NICE = 10;

const running = new Set<ChildProcess>();
/** dumpcap writes its pcapng header as soon as the interface is open; one that has not by then is stuck. */
const START_TIMEOUT_MS = 10_000;
let exitHookInstalled = false;

function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) if (child.pid !== undefined) signal(child.pid, 'SIGKILL');
  });
}

export class DumpcapStream {
  private child: ChildProcess | null = null;
  private readonly reader: PcapngStream;
  private stderr = '';
  /** Packets read and bytes of pcapng received. */
  packets = 0;
  bytes = 0;

  constructor(
    private readonly options: DumpcapOptions,
    private readonly onPackets: (packets: CapturedPacket[]) => void,
    /** dumpcap ended on its own (not by `stop`): one line why. */
    private readonly onExit: (reason: string) => void,
  ) {
    this.reader = new PcapngStream(undefined, options.keepCut ?? false);
  }

  get skipped(): Record<string, number> {
    return this.reader.skipped;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  args(): string[] {
    const o = this.options;
    return ['-i', o.iface, '-f', o.filter, '-q', '-p', '-s', String(o.snaplen ?? SNAPLEN), '-B', String(o.bufferMiB ?? 16), '-w', '-'];
  }

  /**
   * Resolves once dumpcap captures: its pcapng header arrives (it writes the
   * header when the interface is open, before any packet; its "Capturing on"
   * line on stderr comes before it knows the interface works). Rejects with
   * one line why it cannot.
   */
  start(): Promise<void> {
    killAllOnExit();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const child = spawn(this.options.command ?? 'dumpcap', this.args(), { stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      running.add(child);
      // Below the proxy: on a saturated box dumpcap starves first (its kernel buffer then drops
      // packets for it alone, and those messages go on with engine time), not the SIP worker.
      if (child.pid !== undefined) {
        try {
          setPriority(child.pid, DUMPCAP_NICE);
        } catch {
          // Not permitted here: it runs at our priority.
        }
      }
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(new Error(`dumpcap did not start capturing on ${this.options.iface} within ${START_TIMEOUT_MS / 1000} s`));
        void this.stop();
      }, START_TIMEOUT_MS);
      timer.unref();
      child.stdout!.on('data', (chunk: Buffer) => {
        this.bytes += chunk.length;
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve();
        }
        const packets = this.reader.push(chunk);
        if (packets.length > 0) {
          this.packets += packets.length;
          this.onPackets(packets);
        }
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        if (this.stderr.length < 4096) this.stderr += chunk.toString('utf8');
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        running.delete(child);
        const why = err.code === 'ENOENT' ? `${this.options.command ?? 'dumpcap'} is not installed (Debian: wireshark-common)` : `cannot run dumpcap: ${err.message}`;
        if (!settled) {
          settled = true;
          reject(new Error(why));
        }
      });
      child.on('exit', (code, signal) => {
        running.delete(child);
        const stopped = this.child !== child;
        if (this.child === child) this.child = null;
        const why = this.reason(code, signal);
        if (!settled) {
          settled = true;
          reject(new Error(why));
        } else if (!stopped) this.onExit(why);
      });
    });
  }

  /** One line from dumpcap's stderr: its error, not the "Capturing on" banner. */
  private reason(code: number | null, signal: NodeJS.Signals | null): string {
    const lines = this.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('Capturing on') && !l.startsWith('File:'));
    const line = lines.find((l) => /permission|denied|don't have|not permitted|no such device|error|invalid|can't|cannot/i.test(l)) ?? lines[0];
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    return line ? `dumpcap ${how}: ${line.slice(0, 200)}` : `dumpcap ${how}`;
  }

  /** Suspends dumpcap (SIGSTOP): it costs nothing while the kernel drops what it would have read. */
  pause(): void {
    if (this.child?.pid !== undefined && !this.paused) signal(this.child.pid, 'SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (this.child?.pid !== undefined && this.paused) signal(this.child.pid, 'SIGCONT');
    this.paused = false;
  }

  private paused = false;

  /** Kills dumpcap by its PID and waits for it to be gone (SIGKILL after 2 s). */
  async stop(): Promise<void> {
    const child = this.child;
    this.resume(); // a stopped process would not act on SIGTERM
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.pid !== undefined) signal(child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) signal(child.pid, 'SIGKILL');
    }, 2_000);
    await gone;
    clearTimeout(timer);
    running.delete(child);
  }
}

/** A signal to one PID; one that has just exited (ESRCH) is not an error. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
