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
  const dir = mkdtempSync(join(tmpdir(), 'callpath-sipp-'));
  const args = scenarioArgs(o.scenario);
  if (o.remote) args.push(o.remote);
  args.push('-i', '127.0.0.1', '-p', String(o.port), '-t', o.transport ?? 'u1', '-nostdin', '-trace_stat', '-stf', join(dir, 'stat.csv'));
  args.push('-trace_screen', '-screen_file', join(dir, 'screen.log'), '-trace_err', '-error_file', join(dir, 'errors.log'));
  if (o.rate) args.push('-r', String(o.rate));
  if (o.calls) args.push('-m', String(o.calls));
  if (o.duration !== undefined) args.push('-d', String(o.duration));
  if (o.timeoutSec) args.push('-timeout', `${o.timeoutSec}s`, '-timeout_error');
  args.push(...(o.extra ?? []));
  return new Promise((resolve, reject) => {
    const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, ...summary(dir), stdout: out, dir }));
    o.stop?.addEventListener('abort', () => child.kill('SIGUSR1'), { once: true });
  });
}

/** A SIPp server left running (UAS); stop() kills it by PID. */
export function startSipp(o: SippOptions): { child: ChildProcess; dir: string; stop(): Promise<SippResult> } {
  const dir = mkdtempSync(join(tmpdir(), 'callpath-sipp-'));
  const args = scenarioArgs(o.scenario);
  args.push('-i', '127.0.0.1', '-p', String(o.port), '-t', o.transport ?? 'u1', '-nostdin', '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1');
  args.push('-trace_screen', '-screen_file', join(dir, 'screen.log'), '-trace_msg', '-message_file', join(dir, 'messages.log'));
  args.push(...(o.extra ?? []));
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return {
    child,
    dir,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, ...summary(dir), stdout: out, dir });
        child.once('exit', (code) => resolve({ code, ...summary(dir), stdout: out, dir }));
        child.kill('SIGUSR1'); // SIPp dumps its screen and exits cleanly on SIGUSR1
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
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
