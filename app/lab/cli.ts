/**
 * `npm run lab -- [options]`: the engine headless, the console served to a
 * browser. Bad input is one line on stderr and exit code 2, never a trace.
 */
import { basename } from 'node:path';
import { readFileSync } from 'node:fs';
import { isLoopback, parseLabArgs, USAGE, formatHostPort } from '../config';
import { Host } from '../host';
import { generateToken } from './auth';
import { ensureRendererBuilt, rendererDir } from './renderer-bundle';
import { startLabServer } from './server';

export async function runLab(argv: readonly string[]): Promise<number> {
  const parsed = parseLabArgs(argv, process.env, (p) => readFileSync(p, 'utf8'));
  if (!parsed.ok) {
    process.stderr.write(`callpath: ${parsed.error}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const config = parsed.config;
  if (config.ui && config.auth && !config.token) config.token = generateToken();

  if (config.ui) {
    const built = await ensureRendererBuilt((line) => process.stdout.write(line + '\n'));
    if (!built.ok) {
      process.stderr.write(`callpath: ${built.error}\n`);
      return 1;
    }
  }

  const host = new Host(config);
  await host.start();
  for (const s of host.engine.statuses()) {
    const where = s.endpoint ? ` ${s.endpoint}` : '';
    const why = s.error ? ` — ${s.error}` : s.state === 'not-implemented' && s.detail ? ` — ${s.detail}` : '';
    process.stdout.write(`callpath: ${s.name} ${s.state}${where}${why}\n`);
  }
  const wire = host.wire.stats();
  process.stdout.write(wire.on ? `callpath: wire tap on ${wire.iface} (${wire.filter})\n` : `callpath: wire tap off — ${wire.reason}\n`);
  const watch = host.watch?.stats();
  if (watch) process.stdout.write(watch.on ? `callpath: watching ${watch.iface} (${watch.filter}) as source ${watch.source}\n` : `callpath: watch off — ${watch.reason}\n`);

  if (config.open) {
    let file: Buffer;
    try {
      file = readFileSync(config.open);
    } catch (err) {
      process.stderr.write(`callpath: cannot read capture ${config.open}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
      await host.stop();
      return 2;
    }
    try {
      const r = host.importCapture(file, basename(config.open));
      const skipped = Object.entries(r.skipped).map(([why, n]) => `${n} ${why}`).join(', ');
      process.stdout.write(`callpath: imported ${r.messages} SIP messages in ${r.calls} calls from ${config.open} (${r.format}) as ${r.source}${skipped ? `; skipped: ${skipped}` : ''}\n`);
    } catch (err) {
      // A file with nothing to show is said plainly; the console still starts.
      process.stderr.write(`callpath: ${(err as Error).message}\n`);
    }
  }

  let server: Awaited<ReturnType<typeof startLabServer>> | null = null;
  if (config.ui) {
    try {
      server = await startLabServer(host, { host: config.ui.host, port: config.ui.port, token: config.auth ? config.token : null, rendererDir: rendererDir() });
    } catch (err) {
      process.stderr.write(`callpath: cannot serve the console on ${formatHostPort(config.ui)}: ${(err as Error).message}\n`);
      await host.stop();
      return 1;
    }
    const note = isLoopback(config.ui.host) ? '' : ' (reachable from the network)';
    process.stdout.write(`callpath: console at ${server.url}${note}\n`);
  } else {
    process.stdout.write('callpath: console off (--ui off)\n');
  }

  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  process.stdout.write('callpath: stopping\n');
  await server?.close();
  await host.stop();
  return 0;
}

// Run when executed directly (tsx app/lab/cli.ts).
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('app/lab/cli.ts')) {
  runLab(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`callpath: unexpected failure: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
