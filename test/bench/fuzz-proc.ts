/**
 * What the fuzz bench reads from /proc about the process it fuzzes, ours or
 * the reference's: resident memory and the kernel's drops on its UDP socket.
 * Read from outside, so a figure means the same for a Node process and for
 * Kamailio's tree of forked processes. Linux only: elsewhere each reads -1.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseProcNetUdp } from '../../engine/metrics/kernel-udp';

const mb = (kb: number) => Math.round(kb / 102.4) / 10;

/** Datagrams the kernel dropped on the socket bound to `port` (its receive buffer full), from /proc/net/udp as the engine reads it. */
export function kernelUdpDrops(port: number): number {
  try {
    const rows = parseProcNetUdp(readFileSync('/proc/net/udp', 'latin1'), port);
    return rows.length > 0 ? rows.reduce((n, r) => n + r.drops, 0) : -1;
  } catch {
    return -1; // not Linux
  }
}

/** One process's VmRSS (now) or VmHWM (its peak), MB. */
export function rssMb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? mb(Number(m[1])) : -1;
  } catch {
    return -1;
  }
}

/** A process and every descendant, from each /proc/PID/stat's parent pid (read once: a scan costs a few hundred file reads). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name may hold spaces and parentheses: the fields after its last ')' are fixed.
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // exited while we looked
    }
  }
  const out: number[] = [];
  for (let todo = [root]; todo.length > 0; ) {
    const pid = todo.pop()!;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * A tree's memory, MB: `rss` sums each process's VmRSS, so a page that several
 * share (Kamailio's shared-memory pool, the binary's text) counts once per
 * process; `pss` sums Pss, which splits each shared page among its users, so
 * the tree's shared memory counts once. Processes that have exited count 0.
 */
export function treeMemoryMb(pids: readonly number[]): { rss: number; pss: number } {
  let rss = 0;
  let pss = 0;
  for (const pid of pids) {
    try {
      rss += Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? 0);
      pss += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'))?.[1] ?? 0);
    } catch {
      // exited
    }
  }
  return { rss: mb(rss), pss: mb(pss) };
}

export type MemoryFigures = { before: number; after: number; peak: number };

/**
 * A tree's memory over a run: `before` at the first sample, `after` at the
 * last, `peak` the highest sample (sampled: a spike between two samples is
 * missed, where a single process's VmHWM would catch it).
 */
export class MemorySampler {
  private first: { rss: number; pss: number } | null = null;
  private last = { rss: -1, pss: -1 };
  private readonly peak = { rss: -1, pss: -1 };
  constructor(private readonly pids: readonly number[]) {}

  sample(): { rss: number; pss: number } {
    const now = treeMemoryMb(this.pids);
    this.first ??= now;
    this.last = now;
    this.peak.rss = Math.max(this.peak.rss, now.rss);
    this.peak.pss = Math.max(this.peak.pss, now.pss);
    return now;
  }

  figures(field: 'rss' | 'pss'): MemoryFigures {
    return { before: this.first?.[field] ?? -1, after: this.last[field], peak: this.peak[field] };
  }
}
