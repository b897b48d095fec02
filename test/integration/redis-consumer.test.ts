/**
 * The reference consumer and the subscriber load against a real
 * redis-server. The test publishes by hand (its own ioredis client) exactly
 * what the publisher's modes write, so these tests do not depend on the
 * publisher: PUBLISH call:<id>; PUBLISH → 0 → RPUSH call-mq:<id> + EXPIRE;
 * XADD callpath:call-events MAXLEN ~ … * v 1 event … callId … json ….
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createMonotonicClock } from '../../engine/clock';
import { ReferenceConsumer, type ConsumerSources } from '../../engine/publish/consumer';
import { CONSUMER_GROUP, LIST_PATTERN, LIST_TTL_S, STREAM_KEY, STREAM_MAXLEN, channelOf, listOf } from '../../engine/publish/stats';
import { SubscriberLoad } from '../../engine/publish/subscriber-load';
import { freePort } from '../helpers/ports';
import { startRedis } from '../helpers/redis';

const clock = createMonotonicClock();
const EVENTS = ['new', 'early', 'answered', 'ended'] as const;
const CALLS = 50;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

function doc(callId: string, seq: number, event: string): string {
  return JSON.stringify({ v: 1, event, callId, seq, node: 'test', tsUs: clock.nowUs(), from: { uri: 'sip:a@x', tag: 'a' } });
}

function client(url: string): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
  r.on('error', () => {});
  return r;
}

function consumer(url: string, sources: ConsumerSources = 'all'): ReferenceConsumer {
  return new ReferenceConsumer(url, { nowUs: clock.nowUs, monoMs: clock.monoMs, sources, consumerName: 'test-consumer' });
}

/** Every call's four events, in order, exactly once, by `via`. */
function assertAllReceived(c: ReferenceConsumer, via: string): void {
  for (let i = 0; i < CALLS; i++) {
    const got = c.received(`call-${i}`);
    assert.ok(got, `call-${i} recorded`);
    assert.deepEqual(
      got.map((e) => [e.event, e.seq, e.via]),
      EVENTS.map((e, k) => [e, k + 1, via]),
    );
    for (const e of got) assert.ok(e.latencyUs >= 0 && e.latencyUs < 10_000_000, `latency ${e.latencyUs} µs`);
  }
}

async function clientCount(r: Redis): Promise<number> {
  const list = (await r.call('CLIENT', ['LIST'])) as string;
  return list.split('\n').filter((l) => l.trim() !== '').length;
}

test('pubsub: every event PUBLISHed on call:<id> is recorded once, via pubsub, and PUBLISH reaches exactly the consumer', { timeout: 30_000 }, async () => {
  const redis = await startRedis();
  const r = client(redis.url);
  const c = consumer(redis.url);
  try {
    await r.connect();
    await c.start();
    for (let i = 0; i < CALLS; i++) {
      for (let k = 0; k < EVENTS.length; k++) {
        assert.equal(await r.publish(channelOf(`call-${i}`), doc(`call-${i}`, k + 1, EVENTS[k]!)), 1, 'one receiver: the consumer');
      }
    }
    await until('200 pubsub events', () => c.stats().received.pubsub === CALLS * EVENTS.length);
    assertAllReceived(c, 'pubsub');
    const s = c.stats();
    assert.deepEqual([s.received.list, s.received.stream, s.duplicates, s.malformed, s.calls], [0, 0, 0, 0, CALLS]);
    assert.equal(s.connected, true, s.link);
    assert.equal(s.latencyUs.count, CALLS * EVENTS.length);
    console.log(`pubsub latency µs: ${JSON.stringify(s.latencyUs)}`);
  } finally {
    await c.stop();
    r.disconnect();
    await redis.stop();
  }
});

test('list: events that reached nobody are drained from call-mq:<id>, via list, in order, and the lists are gone afterwards', { timeout: 30_000 }, async () => {
  const redis = await startRedis();
  const r = client(redis.url);
  const c = consumer(redis.url, 'pubsub+list');
  try {
    await r.connect();
    for (let i = 0; i < CALLS; i++) {
      for (let k = 0; k < EVENTS.length; k++) {
        const id = `call-${i}`;
        const json = doc(id, k + 1, EVENTS[k]!);
        assert.equal(await r.publish(channelOf(id), json), 0, 'nobody subscribed yet');
        await r.rpush(listOf(id), json);
        await r.expire(listOf(id), LIST_TTL_S);
      }
    }
    assert.equal((await r.keys(LIST_PATTERN)).length, CALLS);
    const t0 = performance.now();
    await c.start();
    await until('200 list events', () => c.stats().received.list === CALLS * EVENTS.length);
    console.log(`drained ${CALLS} lists × ${EVENTS.length} events in ${(performance.now() - t0).toFixed(1)} ms (start included)`);
    assertAllReceived(c, 'list');
    assert.deepEqual(await r.keys(LIST_PATTERN), []);
    // A list pushed while the consumer runs is picked up by a later round.
    await r.rpush(listOf('late'), doc('late', 1, 'new'));
    await until('the late list', () => c.received('late')?.length === 1);
  } finally {
    await c.stop();
    r.disconnect();
    await redis.stop();
  }
});

test('stream: events XADDed while the consumer was away are read through the group, via stream, and acked', { timeout: 30_000 }, async () => {
  const redis = await startRedis();
  const r = client(redis.url);
  const c = consumer(redis.url, 'stream');
  const xadd = (id: string, seq: number, event: string) =>
    r.xadd(STREAM_KEY, 'MAXLEN', '~', STREAM_MAXLEN, '*', 'v', '1', 'event', event, 'callId', id, 'json', doc(id, seq, event));
  try {
    await r.connect();
    for (let i = 0; i < CALLS; i++) for (let k = 0; k < EVENTS.length; k++) await xadd(`call-${i}`, k + 1, EVENTS[k]!);
    await c.start();
    await until('200 stream events', () => c.stats().received.stream === CALLS * EVENTS.length);
    assertAllReceived(c, 'stream');
    // Live, through the blocking read.
    await xadd('live', 1, 'new');
    await until('the live event', () => c.received('live')?.length === 1);
    await until('nothing pending', async () => ((await r.xpending(STREAM_KEY, CONSUMER_GROUP)) as [number])[0] === 0, 3_000);
    const t0 = performance.now();
    await c.stop();
    const stopMs = performance.now() - t0;
    console.log(`stop() with an XREADGROUP BLOCK pending: ${stopMs.toFixed(1)} ms`);
    assert.ok(stopMs < 1_000, `stop does not wait for the BLOCK (${stopMs} ms)`);
    assert.equal(await clientCount(r), 1, 'only the test client is left');
  } finally {
    await c.stop();
    r.disconnect();
    await redis.stop();
  }
});

test('a repeated seq is counted as a duplicate and malformed input is counted by reason, never thrown', { timeout: 30_000 }, async () => {
  const redis = await startRedis();
  const r = client(redis.url);
  const c = consumer(redis.url);
  try {
    await r.connect();
    await c.start();
    const once = doc('dup', 1, 'new');
    await r.publish(channelOf('dup'), once);
    await r.publish(channelOf('dup'), once);
    await r.publish(channelOf('bad'), 'not json');
    await r.publish(channelOf('bad'), JSON.stringify({ v: 1, event: 'new', seq: 1, tsUs: 1 }));
    await r.publish(channelOf('bad'), JSON.stringify({ v: 1, event: 'new', callId: 'bad', tsUs: 1 }));
    await r.publish(channelOf('other'), doc('not-other', 1, 'new'));
    await r.rpush(listOf('bad-list'), 'not json');
    await r.xadd(STREAM_KEY, '*', 'v', '1', 'event', 'new', 'callId', 'x');
    await r.set(`${LIST_PATTERN.slice(0, -1)}a-string`, 'x');
    await until('every input counted', () => {
      const s = c.stats();
      return s.duplicates === 1 && s.malformed === 7;
    });
    const s = c.stats();
    assert.deepEqual(
      Object.entries(s.malformedBy).filter(([, n]) => n > 0),
      [['not-json', 2], ['no-callId', 1], ['no-seq', 1], ['wrong-call', 1], ['no-json-field', 1], ['not-a-list', 1]],
    );
    assert.equal(c.received('dup')?.length, 1);
    // Still reading after all that, and a key that is no list is counted once, not every round.
    await r.publish(channelOf('after'), doc('after', 1, 'new'));
    await until('a good event after the bad ones', () => c.received('after')?.length === 1);
    await sleep(300);
    assert.equal(c.stats().malformedBy['not-a-list'], 1);
  } finally {
    await c.stop();
    r.disconnect();
    await redis.stop();
  }
});

test('640 pattern subscribers: one pattern for all (same) or 640 (distinct), and stop() closes every connection', { timeout: 60_000 }, async () => {
  const redis = await startRedis();
  const r = client(redis.url);
  try {
    await r.connect();
    const baseline = await clientCount(r);
    /** PUBLISH n times, one at a time: the round trip seen here, and Redis's own µs per PUBLISH (INFO commandstats). */
    const publishUs = async (n: number): Promise<string> => {
      await r.config('RESETSTAT');
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await r.publish(channelOf(`probe-${i}`), doc(`probe-${i}`, 1, 'new'));
      const roundTrip = ((performance.now() - t0) * 1000) / n;
      const inRedis = /cmdstat_publish:.*usec_per_call=([\d.]+)/.exec(await r.info('commandstats'))?.[1];
      return `round trip ${roundTrip.toFixed(0)} µs, in Redis ${inRedis} µs`;
    };
    const alone = await publishUs(500);
    for (const patterns of ['same', 'distinct'] as const) {
      const load = new SubscriberLoad('127.0.0.1', redis.port, { count: 640, patterns, slow: false });
      try {
        const t0 = performance.now();
        await load.start();
        const openMs = performance.now() - t0;
        assert.equal(load.stats().connected, 640);
        assert.equal(await r.pubsub('NUMPAT'), patterns === 'same' ? 1 : 640);
        assert.equal(await clientCount(r), baseline + 640);
        assert.equal(await r.publish(channelOf('x'), doc('x', 1, 'new')), patterns === 'same' ? 640 : 0);
        const perPublish = await publishUs(500);
        if (patterns === 'same') await until('every copy read', () => load.stats().messages === 640 * 501);
        else assert.equal(load.stats().messages, 0);
        console.log(
          `${patterns}: 640 subscribers opened in ${openMs.toFixed(0)} ms; PUBLISH ${perPublish} (no subscribers: ${alone}); read ${load.stats().bytes} bytes`,
        );
        if (patterns === 'same') {
          // The consumer's own PSUBSCRIBE call:* is the same pattern again.
          const c = consumer(redis.url, 'pubsub+list');
          await c.start();
          try {
            assert.equal(await r.pubsub('NUMPAT'), 1);
            assert.equal(await r.publish(channelOf('x'), doc('x', 2, 'new')), 641);
          } finally {
            await c.stop();
          }
        }
      } finally {
        await load.stop();
      }
      assert.equal(load.stats().connected, 0);
      assert.equal(load.stats().droppedByRedis, 0);
      await until('Redis sees every connection closed', async () => (await clientCount(r)) === baseline, 5_000);
      assert.equal(await r.pubsub('NUMPAT'), 0);
    }
  } finally {
    r.disconnect();
    await redis.stop();
  }
});

test('slow subscribers are dropped by Redis at client-output-buffer-limit pubsub, and counted', { timeout: 60_000 }, async () => {
  const redis = await startRedis();
  const r = client(redis.url);
  const count = 32;
  const load = new SubscriberLoad('127.0.0.1', redis.port, { count, patterns: 'same', slow: true, slowCycle: { pauseMs: 1_000, readMs: 50 } });
  try {
    await r.connect();
    await r.config('SET', 'client-output-buffer-limit', 'pubsub 256kb 128kb 1');
    await load.start();
    const big = doc('big', 1, 'new').replace('"from"', `"pad":"${'x'.repeat(64 * 1024)}","from"`);
    let receivers = count;
    for (let i = 0; i < 400 && receivers > 0; i++) receivers = await r.publish(channelOf('big'), big);
    assert.equal(receivers, 0, 'Redis has dropped every slow subscriber');
    await until('every drop seen', () => load.stats().droppedByRedis === count, 10_000);
    console.log(`slow: ${count} dropped; read ${load.stats().bytes} bytes before that`);
    assert.equal(load.stats().connected, 0);
  } finally {
    await load.stop();
    r.disconnect();
    await redis.stop();
  }
});

/** A redis-server on a given port (the helper picks its own), stopped by PID. */
async function redisOn(port: number): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'callpath-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const probe = client(`redis://127.0.0.1:${port}`);
  await until('redis-server to come back', async () => probe.connect().then(() => true, () => false));
  probe.disconnect();
  return () =>
    new Promise((resolve) => {
      child.once('exit', () => {
        rmSync(dir, { recursive: true, force: true });
        resolve();
      });
      if (!child.kill('SIGTERM')) resolve();
    });
}

test('a Redis killed under the consumer is an error state, not a crash; it reconnects when Redis is back, and stop() resolves', { timeout: 60_000 }, async () => {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  const redis = await startRedis();
  const c = consumer(redis.url);
  let again: (() => Promise<void>) | null = null;
  try {
    await c.start();
    await redis.stop();
    await until('the consumer to notice', () => !c.stats().connected, 5_000);
    await sleep(1_500); // several failed rounds of every loop
    console.log(`with Redis gone: ${c.stats().link}`);
    again = await redisOn(redis.port);
    await until('all three connections back', () => c.stats().connected, 10_000);
    const r = client(redis.url);
    await r.connect();
    try {
      await until('resubscribed', async () => (await r.publish(channelOf('back'), doc('back', 1, 'new'))) === 1, 5_000);
      await r.xadd(STREAM_KEY, '*', 'v', '1', 'event', 'early', 'callId', 'back', 'json', doc('back', 2, 'early'));
      await r.rpush(listOf('back'), doc('back', 3, 'answered'));
      await until('pubsub, stream and list all read again', () => c.received('back')?.length === 3, 10_000);
      // The three loops recover at their own pace, so the order of arrival is theirs.
      assert.deepEqual(
        [...(c.received('back') ?? [])].sort((a, b) => a.seq - b.seq).map((e) => e.via),
        ['pubsub', 'stream', 'list'],
      );
    } finally {
      r.disconnect();
    }
    await again();
    again = null;
    await sleep(300);
    const t0 = performance.now();
    await c.stop();
    console.log(`stop() with Redis gone: ${(performance.now() - t0).toFixed(1)} ms`);
    await sleep(200);
    assert.deepEqual(rejections, []);
  } finally {
    process.off('unhandledRejection', onRejection);
    await c.stop();
    await again?.();
    await redis.stop();
  }
});

test('start() rejects with one line when Redis cannot be reached, within seconds', { timeout: 15_000 }, async () => {
  const port = await freePort();
  const c = consumer(`redis://127.0.0.1:${port}`);
  const t0 = performance.now();
  await assert.rejects(c.start(), (err: Error) => {
    assert.match(err.message, new RegExp(`^cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: `));
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
  assert.ok(performance.now() - t0 < 3_500);
  await c.stop();
  assert.equal(c.stats().link, 'stopped');
});
