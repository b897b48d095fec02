import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SippResult {
  code: number | null;
  successful: number;
  failed: number;
  retransmissions: number;
  unexpected: number;
  stdout: string;
  dir: string;
}

export interface SippOptions {
  /** Built-in scenario name (uac, uas, ...) or a path to an XML scenario. */
  scenario: string;
  port: number;
  /** Remote host:port for a UAC. */
  remote?: string;
  transport?: 'u1' | 't1';
  rate?: number;
  calls?: number;
  /** Pause (ms) in the built-in scenarios. */
  duration?: number;
  extra?: string[];
  timeoutSec?: number;
  /** Ends the run early: SIPp gets SIGUSR1, dumps its statistics and exits cleanly. */
  stop?: AbortSignal;
}

/** SIPp from Debian's sip-tester, run to completion; the summary comes from its -trace_stat CSV and screen. */
export function runSipp(o: SippOptions): Promise<SippResult> {
  const args = scenarioArgs(o.scenario);
  if (o.remote) args.push(o.remote);
  args.push('-i', '127.0.0.1', '-p', String(o.port), '-t', o.transport ?? 'u1');
  if (o.rate) args.push('-r', String(o.rate));
  if (o.calls) args.push('-m', String(o.calls));
  if (o.duration !== undefined) args.push('-d', String(o.duration));
  if (o.timeoutSec) args.push('-timeout', `${o.timeoutSec}s`, '-timeout_error');
  args.push(...(o.extra ?? []));
  return runSippArgs(args, o.stop);
}

/**
 * SIPp with exactly `args` (what follows `sipp` on a command line, e.g. a
 * command the console prints), plus only the bookkeeping flags the summary
 * reads (no keyboard, statistics CSV, screen and error files); run to completion.
 */
export function runSippArgs(args: readonly string[], stop?: AbortSignal): Promise<SippResult> {
  const dir = mkdtempSync(join(tmpdir(), 'callpath-sipp-'));
  const all = [...args, ...bookkeeping(dir), '-trace_err', '-error_file', join(dir, 'errors.log')];
  return new Promise((resolve, reject) => {
    const child = spawn('sipp', all, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, ...summary(dir), stdout: out, dir }));
    stop?.addEventListener('abort', () => child.kill('SIGUSR1'), { once: true });
  });
}

export interface RunningSipp {
  child: ChildProcess;
  dir: string;
  /** Its cumulative counts as of the last statistics dump (-fd 1: every second). */
  counts(): Omit<SippResult, 'code' | 'stdout' | 'dir'>;
  stop(): Promise<SippResult>;
}

/** A SIPp server left running (UAS); stop() kills it by PID. */
export function startSipp(o: SippOptions): RunningSipp {
  return startSippArgs([...scenarioArgs(o.scenario), '-i', '127.0.0.1', '-p', String(o.port), '-t', o.transport ?? 'u1', ...(o.extra ?? [])]);
}

/** Like `runSippArgs`, left running (a UAS), with its message trace; stop() ends it by PID. */
export function startSippArgs(args: readonly string[]): RunningSipp {
  const dir = mkdtempSync(join(tmpdir(), 'callpath-sipp-'));
  const all = [...args, ...bookkeeping(dir), '-fd', '1', '-trace_msg', '-message_file', join(dir, 'messages.log')];
  const child = spawn('sipp', all, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return {
    child,
    dir,
    counts: () => summary(dir),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, ...summary(dir), stdout: out, dir });
        child.once('exit', (code) => resolve({ code, ...summary(dir), stdout: out, dir }));
        child.kill('SIGUSR1'); // SIPp dumps its screen and exits cleanly on SIGUSR1
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

/** A command line as the console prints it ("sipp -sn uac 127.0.0.1:5060 -r 10") → the arguments after `sipp`. */
export function sippArgv(command: string): string[] {
  const [bin, ...args] = command.trim().split(/\s+/);
  if (bin !== 'sipp') throw new Error(`not a SIPp command: ${command}`);
  return args;
}

/**
 * One row of SIPp's scenario screen (-trace_screen), e.g. "----------> INVITE"
 * (a UAS receiving it): how many it handled and how many retransmissions of it
 * it counted. The first screen in the file; null when there is no such row.
 */
export function screenRow(dir: string, label: string): { messages: number; retrans: number } | null {
  let text: string;
  try {
    text = readFileSync(join(dir, 'screen.log'), 'utf8');
  } catch {
    return null;
  }
  const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^\\s*${escaped}\\s+(?:E-RTD\\d+\\s+)?(\\d+)\\s+(\\d+)`, 'm').exec(text);
  return m ? { messages: Number(m[1]), retrans: Number(m[2]) } : null;
}

function bookkeeping(dir: string): string[] {
  return ['-nostdin', '-trace_stat', '-stf', join(dir, 'stat.csv'), '-trace_screen', '-screen_file', join(dir, 'screen.log')];
}

function scenarioArgs(s: string): string[] {
  return s.endsWith('.xml') ? ['-sf', s] : ['-sn', s];
}

/** Last line of SIPp's statistics CSV: cumulative successful/failed calls and retransmissions. */
function summary(dir: string): { successful: number; failed: number; retransmissions: number; unexpected: number } {
  try {
    const file = readdirSync(dir).find((f) => f.endsWith('.csv'));
    if (!file) return { successful: 0, failed: 0, retransmissions: 0, unexpected: 0 };
    const lines = readFileSync(join(dir, file), 'utf8').trim().split('\n');
    const header = lines[0]!.split(';');
    const last = lines[lines.length - 1]!.split(';');
    const col = (name: string) => Number(last[header.indexOf(name)] ?? 0);
    return {
      successful: col('SuccessfulCall(C)'),
      failed: col('FailedCall(C)'),
      retransmissions: col('Retransmissions(C)'),
      unexpected: col('FailedUnexpectedMessage(C)'),
    };
  } catch {
    return { successful: 0, failed: 0, retransmissions: 0, unexpected: 0 };
  }
}
