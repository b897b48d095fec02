/**
 * Redis publisher benchmark (issue #13): the story's incident side by side,
 * in one invocation, through the shared harness's `run-kamailio-redis.sh`
 * (its own redis-server on 6390, 640 PSUBSCRIBE clients on one pattern):
 *   - Kamailio with no Redis, and with a synchronous ndb_redis PUBLISH per INVITE;
 *   - callpath with --redis off, and publishing in pubsub+list, stream and inline;
 *   - callpath in pubsub+list against a Redis with no subscribers (it answers
 *     at once), with ioredis auto-pipelining off (the default) and on;
 *   - the story's own conditions: 640 *slow* pattern subscribers (the
 *     harness's `pub-psub640-slow`: they read slowly, so Redis's output
 *     buffers grow and every PUBLISH takes longer) at 100 calls/s, the rate
 *     that failed them: Kamailio's synchronous PUBLISH against callpath's
 *     inline mode (the same incident) and its default pubsub+list (the fix).
 * callpath runs with `--rtp off`: Kamailio here relays no media either (the
 * harness's SIPp calls carry SDP, and with the relay on callpath would also
 * be doing rtpengine's work; that comparison is `npm run bench -- sip`).
 * Per run: 100 Trying p50/p99 on the wire (the harness's capture of the UAC
 * leg), failed calls, retransmissions, CPU; for callpath also the publish
 * created → reply p50/p99 and delivered/created, read from the lab's own
 * /api/snapshot while it runs (the last answer before the harness stops it).
 * Args: [SECONDS=15] [RATE=1000] [PARTS=main,pipelining,slow] [SLOW_RATE=100]
 */
import { join } from 'node:path';
import type { Snapshot } from '../../app/contract';
import { freePort } from '../helpers/ports';
import { labCommand, runScript, sharedBench, type Json } from './shared-bench';

const TOKEN = 'bench-publish';

interface Row {
  impl: string;
  mode: string;
  ok: unknown;
  failed: unknown;
  retrans: unknown;
  t100_p50_ms: unknown;
  t100_p99_ms: unknown;
  cpu_pct: unknown;
  redis_publish_calls: unknown;
  publish?: { created: number; replied: number; failed: number; dropped: number; delivered: number; delivered_pct: number | null; p50_ms: number | null; p99_ms: number | null; redis_p99_ms: number | null; list_fallbacks: number };
}

function row(impl: string, mode: string, r: Json | null): Row {
  return {
    impl,
    mode,
    ok: r?.ok ?? null,
    failed: r?.failed ?? null,
    retrans: r?.retrans ?? null,
    t100_p50_ms: r?.t100_p50_ms ?? null,
    t100_p99_ms: r?.t100_p99_ms ?? null,
    cpu_pct: r?.cpu_sut_pct ?? null,
    redis_publish_calls: r?.redis_publish_calls ?? null,
  };
}

/** Polls the lab's snapshot while the harness runs it; keeps the last answer. */
function pollSnapshot(uiPort: number): { stop(): Snapshot | null } {
  let last: Snapshot | null = null;
  let running = true;
  const loop = async () => {
    while (running) {
      try {
        const r = await fetch(`http://127.0.0.1:${uiPort}/api/snapshot`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(2_000) });
        if (r.ok) last = (await r.json()) as Snapshot;
      } catch {
        // not up yet, or already stopped
      }
      await new Promise((res) => setTimeout(res, 500));
    }
  };
  void loop();
  return {
    stop: () => {
      running = false;
      return last;
    },
  };
}

function publishFigures(s: Snapshot | null): Row['publish'] {
  const p = s?.publisher;
  if (!p) return undefined;
  const c = s?.consumer;
  const delivered = c ? c.received.pubsub + c.received.list + c.received.stream : 0;
  const ms = (us: number, n: number) => (n === 0 ? null : Math.round(us / 10) / 100);
  return {
    created: p.events.created,
    replied: p.events.replied,
    failed: p.events.failed,
    dropped: p.queue.dropped,
    delivered,
    delivered_pct: p.events.created > 0 ? Math.round((delivered / p.events.created) * 10_000) / 100 : null,
    p50_ms: ms(p.latencyUs.total.p50, p.latencyUs.total.count),
    p99_ms: ms(p.latencyUs.total.p99, p.latencyUs.total.count),
    redis_p99_ms: ms(p.latencyUs.redis.p99, p.latencyUs.redis.count),
    list_fallbacks: p.events.listFallbacks,
  };
}

export async function main(args: string[]): Promise<void> {
  const seconds = args[0] ?? '15';
  const rate = args[1] ?? '1000';
  const parts = new Set((args[2] ?? 'main,pipelining,slow').split(','));
  const slowRate = args[3] ?? '100';
  if (!/^\d+$/.test(seconds) || !/^\d+$/.test(rate) || !/^\d+$/.test(slowRate) || [...parts].some((p) => !['main', 'pipelining', 'slow'].includes(p))) {
    throw new Error('usage: npm run bench -- publish [SECONDS] [RATE] [PARTS=main,pipelining,slow] [SLOW_RATE]');
  }
  const script = join(sharedBench(), 'sip', 'run-kamailio-redis.sh');
  const rows: Row[] = [];
  /** callpath under the harness in `harnessMode`, publishing in `mode` (off: --redis off), with its publisher's figures from the snapshot. */
  const callpath = async (mode: string, harnessMode: string, callsPerS: string, label: string, env: Record<string, string> = {}): Promise<Row> => {
    const uiPort = await freePort();
    const redis = mode === 'off' ? '--redis off' : `--redis redis://$REDIS_HOST:$REDIS_PORT --publish-mode ${mode}`;
    const sut = labCommand(`--sip 127.0.0.1:$SUT_PORT --route $UAS_HOST:$UAS_PORT --ui 127.0.0.1:${uiPort} --token ${TOKEN} --ng off --rtp off --wire off ${redis}`);
    process.stderr.write(`\n== callpath, ${label}, ${callsPerS} calls/s for ${seconds} s ==\n`);
    const poll = pollSnapshot(uiPort);
    const r = await runScript(script, [harnessMode, callsPerS, seconds], { SUT: 'cmd', SUT_CMD: sut, IMPL: 'callpath', ...env });
    return { ...row('callpath', label, r), publish: publishFigures(poll.stop()) };
  };

  if (parts.has('main')) for (const mode of ['off', 'pub-psub640']) {
    process.stderr.write(`\n== kamailio, ${mode}, ${rate} calls/s for ${seconds} s ==\n`);
    rows.push(row('kamailio', mode === 'off' ? 'redis off' : 'sync PUBLISH', await runScript(script, [mode, rate, seconds], { SUT: 'kamailio', IMPL: 'kamailio' })));
  }
  if (parts.has('main')) for (const mode of ['off', 'pubsub+list', 'stream', 'inline']) rows.push(await callpath(mode, mode === 'off' ? 'off' : 'pub-psub640', rate, mode === 'off' ? 'redis off' : mode));

  // ioredis auto-pipelining, off (the default) and on, against a Redis that answers at once (no subscribers).
  const pipelining: Record<string, Row> = {};
  if (parts.has('pipelining')) {
    for (const auto of ['off', 'on']) pipelining[auto] = await callpath('pubsub+list', 'pub-nosub', rate, `pubsub+list, auto-pipelining ${auto}`, { CALLPATH_AUTO_PIPELINING: auto });
  }

  // The story's conditions: slow subscribers at the rate that failed them.
  const slow: Row[] = [];
  if (parts.has('slow')) {
    process.stderr.write(`\n== kamailio, sync PUBLISH, 640 slow subscribers, ${slowRate} calls/s for ${seconds} s ==\n`);
    slow.push(row('kamailio', 'sync PUBLISH', await runScript(script, ['pub-psub640-slow', slowRate, seconds], { SUT: 'kamailio', IMPL: 'kamailio' })));
    for (const mode of ['inline', 'pubsub+list']) slow.push(await callpath(mode, 'pub-psub640-slow', slowRate, mode));
  }
  const num = (v: unknown) => (typeof v === 'number' ? v : null);

  const t99 = (impl: string, mode: string) => {
    const v = rows.find((r) => r.impl === impl && r.mode === mode)?.t100_p99_ms;
    return typeof v === 'number' ? v : null;
  };
  const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? Math.round((a / b) * 1000) / 1000 : null);
  const def = rows.find((r) => r.impl === 'callpath' && r.mode === 'pubsub+list');
  const slowT99 = (impl: string, mode: string) => num(slow.find((r) => r.impl === impl && r.mode === mode)?.t100_p99_ms);
  const result = {
    bench: 'publish',
    rate: Number(rate),
    seconds: Number(seconds),
    subscribers: 640,
    rows,
    // Target: the default mode's 100 Trying p99 within 10% of Redis off, and every event delivered.
    default_vs_off_t100_p99: ratio(t99('callpath', 'pubsub+list'), t99('callpath', 'redis off')),
    default_delivered_pct: def?.publish?.delivered_pct ?? null,
    inline_vs_kamailio_sync_t100_p99: ratio(t99('callpath', 'inline'), t99('kamailio', 'sync PUBLISH')),
    callpath_default_vs_kamailio_sync_t100_p99: ratio(t99('callpath', 'pubsub+list'), t99('kamailio', 'sync PUBLISH')),
    // No subscribers: what auto-pipelining changes when Redis answers at once (on / off).
    auto_pipelining: {
      off: pipelining.off,
      on: pipelining.on,
      ratio_cpu: ratio(num(pipelining.on?.cpu_pct), num(pipelining.off?.cpu_pct)),
      ratio_publish_p99: ratio(pipelining.on?.publish?.p99_ms ?? null, pipelining.off?.publish?.p99_ms ?? null),
      ratio_t100_p99: ratio(num(pipelining.on?.t100_p99_ms), num(pipelining.off?.t100_p99_ms)),
    },
    // 640 slow subscribers at SLOW_RATE: the incident (inline against Kamailio's synchronous PUBLISH) and the fix.
    slow_subscribers: {
      rate: Number(slowRate),
      rows: slow,
      inline_vs_kamailio_sync_t100_p99: ratio(slowT99('callpath', 'inline'), slowT99('kamailio', 'sync PUBLISH')),
      default_vs_kamailio_sync_t100_p99: ratio(slowT99('callpath', 'pubsub+list'), slowT99('kamailio', 'sync PUBLISH')),
    },
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}
