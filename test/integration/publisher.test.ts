/**
 * Call events to a real Redis (issue #13): SIPp calls through the lab, the
 * publisher writing each call's new/early/answered/ended, and the reference
 * consumer (the story's application) proving each event arrived exactly
 * once — by pub/sub, by the per-call list when nobody listened, or by the
 * stream — with 0 and with 640 pattern subscribers on the same Redis.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { renderPrometheus } from '../../app/prometheus';
import { NO_FILTER } from '../../engine/call/query';
import type { PublishMode } from '../../engine/publish/stats';
import type { ConsumerComponent } from '../../engine/publish/consumer-component';
import { withLab, type RunningLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { startRedis } from '../helpers/redis';
import { runSipp, startSipp } from '../helpers/sipp';

const CALLS = 40;
const EVENTS = ['new', 'early', 'answered', 'ended'];

async function placeCalls(lab: RunningLab, uasPort: number, calls = CALLS): Promise<void> {
  const uas = startSipp({ scenario: 'uas', port: uasPort });
  try {
    await new Promise((r) => setTimeout(r, 400));
    const r = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls, rate: 40, duration: 100, timeoutSec: 30 });
    assert.equal(r.successful, calls, `SIPp: ${r.stdout.slice(-400)}`);
  } finally {
    await uas.stop();
  }
  await lab.settle();
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !ok(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every live call got exactly new, early, answered, ended, numbered 1–4, each once, by `via`; and its ladder says so. */
function assertDelivered(lab: RunningLab, via: 'pubsub' | 'list' | 'stream'): void {
  const consumer = lab.host.engine.impl<ConsumerComponent>('consumer');
  const calls = lab.host.listCalls(1000).filter((c) => c.source === 'live');
  assert.equal(calls.length, CALLS);
  for (const c of calls) {
    const got = consumer.received(c.callId) ?? [];
    assert.deepEqual(got.map((e) => [e.event, e.seq, e.via]), EVENTS.map((e, i) => [e, i + 1, via]), `${c.callId}: each event once, in order, via ${via}`);
    assert.ok(got.every((e) => e.latencyUs >= 0));
    assert.deepEqual(c.publish && [c.publish.replied, c.publish.failed, c.publish.delivered[via]], [4, 0, 4], `${c.callId}: the call's publish figures`);
    const lane = lab.host.getCall(c.callId)!.entries.filter((e) => e.lane === 'publish');
    assert.deepEqual(lane.filter((e) => e.phase === 'replied').map((e) => e.label.split(' ')[0]), EVENTS, 'the publish lane shows each event replied');
    assert.equal(lane.filter((e) => e.phase === 'delivered').length, 4, 'and delivered');
  }
  const s = lab.host.snapshot();
  assert.equal(s.consumer!.duplicates, 0);
  assert.equal(s.publisher!.events.created, CALLS * 4);
  assert.equal(s.publisher!.events.replied, CALLS * 4);
  assert.equal(s.publisher!.queue.dropped, 0);
  assert.ok(s.publisher!.latencyUs.total.count >= CALLS * 4 && s.publisher!.latencyUs.total.p50 > 0);
}

for (const [mode, subscribers] of [
  ['pubsub+list', 0],
  ['pubsub+list', 640],
  ['stream', 0],
  ['stream', 640],
] as [PublishMode, number][]) {
  test(`${mode} with ${subscribers} pattern subscribers: every call's events reach the application exactly once`, { timeout: 90_000 }, async (t) => {
    const redis = await startRedis();
    const uasPort = await freePort();
    try {
      await withLab({ redis: redis.url, publishMode: mode, route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] }, async (lab) => {
        assert.equal(lab.host.engine.status('publisher').state, 'running', lab.host.engine.status('publisher').error ?? '');
        assert.equal(lab.host.engine.status('consumer').state, 'running', lab.host.engine.status('consumer').error ?? '');
        if (subscribers > 0) {
          const load = await lab.host.setSubscriberLoad({ count: subscribers, patterns: 'same', slow: false });
          assert.equal(load?.connected, subscribers);
        }
        await placeCalls(lab, uasPort);
        const consumer = lab.host.engine.impl<ConsumerComponent>('consumer');
        await until('every event delivered', () => {
          const s = consumer.stats();
          return s !== null && s.received.pubsub + s.received.list + s.received.stream >= CALLS * 4;
        });
        await lab.settle();
        assertDelivered(lab, mode === 'stream' ? 'stream' : 'pubsub');
        const s = lab.host.snapshot().publisher!;
        if (mode === 'pubsub+list') {
          assert.equal(s.events.listFallbacks, 0, 'the application listened: no event needed its list');
          assert.equal(s.receivers.max, subscribers + 1, 'each PUBLISH reached the application and every pattern subscriber');
          assert.equal(s.numpat, 1, 'one pattern, whoever subscribed it');
          // NUMSUB asks about the last channel published to: nobody subscribed to a call by name, all hear it by pattern.
          await until('NUMSUB polled after a PUBLISH', () => lab.host.snapshot().publisher!.numsub !== null);
          const numsub = lab.host.snapshot().publisher!.numsub!;
          assert.match(numsub.channel, /^call:/);
          assert.equal(numsub.count, 0, 'pattern subscribers are not in NUMSUB');
          assert.match(renderPrometheus(lab.host.snapshot()), /^callpath_redis_numsub 0$/m);
        }
        // /metrics says the same as the snapshot.
        const m = renderPrometheus(lab.host.snapshot());
        assert.match(m, new RegExp(`^callpath_publisher_events_total\\{outcome="replied"\\} ${CALLS * 4}$`, 'm'));
        assert.match(m, /^callpath_publisher_dropped_total 0$/m);
        assert.match(m, new RegExp(`^callpath_publisher_connected\\{mode="${mode.replace('+', '\\+')}"\\} 1$`, 'm'));
        assert.match(m, new RegExp(`^callpath_consumer_received_total\\{via="${mode === 'stream' ? 'stream' : 'pubsub'}"\\} ${CALLS * 4}$`, 'm'));
        assert.match(m, /^callpath_publish_latency_seconds_count [1-9]/m);
        if (mode === 'pubsub+list') assert.match(m, new RegExp(`^callpath_publish_receivers\\{quantile="1"\\} ${subscribers + 1}$`, 'm'));
        t.diagnostic(`publish created→reply p50/p99 ${s.latencyUs.total.p50}/${s.latencyUs.total.p99} µs, Redis round trip p99 ${s.latencyUs.redis.p99} µs`);
      });
    } finally {
      await redis.stop();
    }
  });
}

test('pubsub+list with nobody listening: each event goes to its call list, and the application drains them when it starts', { timeout: 90_000 }, async () => {
  const redis = await startRedis();
  const uasPort = await freePort();
  try {
    await withLab({ redis: redis.url, publishMode: 'pubsub+list', route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] }, async (lab) => {
      await lab.host.engine.stop('consumer');
      await placeCalls(lab, uasPort);
      await until('every event replied', () => lab.host.snapshot().publisher!.events.replied >= CALLS * 4);
      const s = lab.host.snapshot().publisher!;
      assert.equal(s.events.listFallbacks, CALLS * 4, 'PUBLISH reached nobody, every time');
      const probe = new Redis(redis.url);
      try {
        const call = lab.host.listCalls(1)[0]!;
        assert.equal(await probe.llen(`call-mq:${call.callId}`), 4, 'the call list holds its four events');
        assert.ok((await probe.ttl(`call-mq:${call.callId}`)) > 0, 'and expires');
        // Not delivered yet: the call list filter finds them all.
        const undelivered = await lab.host.queryCalls({ ...NO_FILTER, notDelivered: true }, { key: 'time', dir: 'desc' }, 0, 1000);
        assert.equal(undelivered.matched, CALLS);
        assert.equal((await lab.host.engine.start('consumer')).state, 'running');
        await until('the lists drained', () => (lab.host.snapshot().consumer?.received.list ?? 0) >= CALLS * 4);
        assert.equal(await probe.exists(`call-mq:${call.callId}`), 0, 'drained lists are gone');
      } finally {
        probe.disconnect();
      }
      await lab.settle();
      assertDelivered(lab, 'list');
      assert.equal((await lab.host.queryCalls({ ...NO_FILTER, notDelivered: true }, { key: 'time', dir: 'desc' }, 0, 1000)).matched, 0);
    });
  } finally {
    await redis.stop();
  }
});
