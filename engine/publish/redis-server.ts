/**
 * Where the publisher finds Redis. `--redis URL` is used as given; `--redis
 * auto` (the default) uses a Redis already answering PING on
 * 127.0.0.1:6379, and otherwise starts a private `redis-server` (the system
 * binary, Debian package redis-server) on a free loopback port:
 *
 *   auto ─► PING 127.0.0.1:6379 ─ +PONG ─────────────────────► found
 *                │ refused, silent, or anything else
 *                ▼
 *           free port P ─► redis-server --port P ─ +PONG ────► private
 *                                   │ no binary, exit, or 5 s silent
 *                                   ▼
 *                          one-line Error (what to install, or --redis URL)
 *
 * The private server keeps nothing on disk (`--save '' --appendonly no`),
 * listens on loopback only, and runs in `<dataDir>/redis-<port>/`. It is
 * stopped by PID, never by name: by `stop()` (SIGTERM, SIGKILL after 3 s),
 * or, if this process exits with it still running, by a `process.on('exit')`
 * hook (SIGKILL). A server that dies on its own is reported once through
 * `onExit`. Nothing here restarts it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';

/** Where the Redis came from: `--redis URL`, one found answering on the probe port, or a redis-server we started. */
export type RedisOrigin = 'configured' | 'found' | 'private';

export interface RedisTarget {
  /** redis://127.0.0.1:PORT (or the configured URL). */
  url: string;
  origin: RedisOrigin;
  /** Stops the private redis-server (no-op otherwise). Never rejects. */
  stop(): Promise<void>;
  /** PID of the private server, or null. */
  pid: number | null;
}

export interface ResolveOptions {
  /** The app's data folder; a private server runs in `<dataDir>/redis-<port>/`. */
  dataDir: string;
  /** Where auto looks for a running Redis on 127.0.0.1 (default 6379; tests use a port of their own). */
  probePort?: number;
  /** The redis-server program (default 'redis-server', looked up on PATH). */
  command?: string;
  /** How long the probe waits for +PONG, ms (default 300). */
  probeTimeoutMs?: number;
  /** How long a private server has to answer PING after it is spawned, ms (default 5,000). */
  startTimeoutMs?: number;
  /** The private server ended on its own (not by `stop()`): called once, with one line why. */
  onExit?: (reason: string) => void;
}

const LOOPBACK = '127.0.0.1';
const DEFAULT_PROBE_PORT = 6379;
const PROBE_TIMEOUT_MS = 300;
const START_TIMEOUT_MS = 5_000;
/** Between SIGTERM and SIGKILL in `stop()`. */
const STOP_GRACE_MS = 3_000;
/** After SIGKILL, `stop()` gives up waiting for the exit event (it must never hang). */
const KILL_WAIT_MS = 2_000;
/** Between PINGs while a private server starts. */
const POLL_MS = 50;
/** Of the server's log kept for error lines. */
const TAIL_CHARS = 4_096;
/** The free port we picked can be taken before redis-server binds it; pick another this many times. */
const PORT_ATTEMPTS = 3;
const INSTALL_HINT = 'install redis-server (apt install redis-server) or pass --redis URL';
/** For a redis-server that is there but would not start: installing it again would not help. */
const FLAG_HINT = 'pass --redis URL or --redis off';

/** 'auto' or a URL → where to connect. Rejects with a one-line Error when auto finds nothing it can use. */
export async function resolveRedis(setting: string, opts: ResolveOptions): Promise<RedisTarget> {
  if (setting !== 'auto') return { url: setting, origin: 'configured', pid: null, stop: async () => {} };
  const probePort = opts.probePort ?? DEFAULT_PROBE_PORT;
  const probe = await probeRedis(probePort, opts.probeTimeoutMs ?? PROBE_TIMEOUT_MS);
  if (probe === 'redis') return { url: `redis://${LOOPBACK}:${probePort}`, origin: 'found', pid: null, stop: async () => {} };
  const there = probe === 'other' ? `no usable Redis on ${LOOPBACK}:${probePort} (something else answers there)` : `no Redis on ${LOOPBACK}:${probePort}`;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startPrivate(await freeLoopbackPort(), there, opts);
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt === PORT_ATTEMPTS) throw err;
    }
  }
}

/**
 * 'redis' when 127.0.0.1:port answers PING with +PONG in time; 'other' when
 * something accepts the connection but does not (a Redis that wants a
 * password answers -NOAUTH: we cannot use it either); 'none' when nothing
 * listens.
 */
function probeRedis(port: number, timeoutMs: number): Promise<'redis' | 'other' | 'none'> {
  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    let reply = '';
    const socket = createConnection({ host: LOOPBACK, port });
    const done = (result: 'redis' | 'other' | 'none') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(connected ? 'other' : 'none'), timeoutMs);
    socket.on('connect', () => {
      connected = true;
      socket.write('*1\r\n$4\r\nPING\r\n');
    });
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      const end = reply.indexOf('\r\n');
      if (end >= 0) done(reply.slice(0, end) === '+PONG' ? 'redis' : 'other');
      else if (reply.length > 64) done('other');
    });
    socket.on('error', () => done(connected ? 'other' : 'none'));
    socket.on('close', () => done(connected ? 'other' : 'none'));
  });
}

/** A TCP port free on loopback right now: the OS picks it for a listener we close at once. */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** redis-server could not bind the port we picked: someone took it in between. */
class PortTaken extends Error {}

/** Private servers still running, with their folders: what the exit hook ends. */
const running = new Map<ChildProcess, string>();
let exitHookInstalled = false;

/**
 * SIGKILL, not SIGTERM: an exit handler cannot wait for a graceful
 * shutdown, and the server keeps nothing on disk that one would save.
 */
function stopAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [child, dir] of running) {
      if (isRunning(child)) signal(child.pid!, 'SIGKILL');
      removeDir(dir);
    }
  });
}

async function startPrivate(port: number, there: string, opts: ResolveOptions): Promise<RedisTarget> {
  const command = opts.command ?? 'redis-server';
  const dir = join(opts.dataDir, `redis-${port}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`${there}, and cannot create ${dir} for a private redis-server: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  stopAllOnExit();
  const args = ['--port', String(port), '--bind', LOOPBACK, '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--daemonize', 'no'];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.set(child, dir);
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-TAIL_CHARS);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);

  // How it ended, if it has: a spawn error (no binary) wins over the exit that may follow it.
  const end: { spawnError: Error | null; exit: Error | null } = { spawnError: null, exit: null };
  const ended = () => end.spawnError ?? end.exit;
  let up = false;
  let stopping: Promise<void> | null = null;
  child.on('error', (err: NodeJS.ErrnoException) => {
    running.delete(child);
    removeDir(dir);
    end.spawnError = new Error(err.code === 'ENOENT' ? `${there} and no ${command} binary: ${INSTALL_HINT}` : `${there}, and cannot run ${command}: ${err.message}`);
  });
  child.on('exit', (code, sig) => {
    running.delete(child);
    removeDir(dir);
    const how = sig ? `killed by ${sig}` : `exited with code ${code}`;
    const said = lastLines(log);
    const line = `private redis-server (pid ${child.pid}, port ${port}) ${how}${said ? `: ${said}` : ''}`;
    end.exit = /address already in use/i.test(log) ? new PortTaken(line) : new Error(`${there}, and the ${line}; ${FLAG_HINT}`);
    if (up && stopping === null) opts.onExit?.(line);
  });

  const startTimeoutMs = opts.startTimeoutMs ?? START_TIMEOUT_MS;
  const deadline = Date.now() + startTimeoutMs;
  while ((await probeRedis(port, PROBE_TIMEOUT_MS)) !== 'redis') {
    const failed = ended();
    if (failed) throw failed;
    if (Date.now() > deadline) {
      await stopChild(child);
      const said = lastLines(log);
      throw new Error(`${there}, and the private redis-server (pid ${child.pid}) did not answer PING on ${LOOPBACK}:${port} within ${startTimeoutMs / 1000} s${said ? `: ${said}` : ''}; ${FLAG_HINT}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  // +PONG, yet ours has already exited: another server took the port first and answered for it.
  const failed = ended();
  if (failed) throw failed;
  up = true;

  // Running, it does not hold this process open by itself: the exit hook ends it.
  child.unref();
  (child.stdout as Socket).unref();
  (child.stderr as Socket).unref();
  return {
    url: `redis://${LOOPBACK}:${port}`,
    origin: 'private',
    pid: child.pid ?? null,
    stop: () => (stopping ??= stopChild(child)),
  };
}

/** SIGTERM by PID, SIGKILL after STOP_GRACE_MS; resolves once it has exited, or KILL_WAIT_MS after the SIGKILL. Never rejects. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  // Waiting for it must keep this process alive even though it was unref'd.
  child.ref();
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signal(child.pid!, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)));
  await Promise.race([gone, grace]);
  clearTimeout(timer);
  if (!isRunning(child)) return;
  signal(child.pid!, 'SIGKILL');
  const given = new Promise<void>((resolve) => (timer = setTimeout(resolve, KILL_WAIT_MS)));
  await Promise.race([gone, given]);
  clearTimeout(timer);
}

/** Spawned and not yet seen to exit (Node has not reaped it, so its PID is still ours). */
function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/** A signal to one PID; one that has just exited (ESRCH) is not an error. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // Left behind: an empty folder, harmless.
  }
}

/** The last lines redis-server logged, on one line, without its "pid:role date time level" prefix. */
function lastLines(log: string, n = 3): string {
  const lines = log
    .split('\n')
    .map((l) => l.replace(/^\d+:[A-Z] \d+ \w+ \d+ [\d:.]+ [-*#.] /, '').trim())
    .filter((l) => l !== '');
  return lines.slice(-n).join(' / ').slice(0, 400);
}
