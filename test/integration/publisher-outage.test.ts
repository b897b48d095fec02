/**
 * The publisher under a Redis that dies or answers late (issue #13):
 * - killed mid-run and restarted on its port: SIP keeps answering at once,
 *   the events made meanwhile wait in the bounded queue and go out in order
 *   when Redis is back; only those beyond the bound are dropped, the oldest,
 *   counted;
 * - a Redis whose replies come 700 ms late (a delaying TCP proxy in front of
 *   a real redis-server): `inline` turns that into late 100 Trying and INVITE
 *   retransmissions, the story's incident; `pubsub+list` under the same Redis
 *   shows neither.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { CallSummary } from '../../engine/call/model';
import { NO_FILTER } from '../../engine/call/query';
import type { CallEventDoc } from '../../engine/publish/call-events';
import type { ConsumerComponent } from '../../engine/publish/consumer-component';
import type { PublishMode } from '../../engine/publish/stats';
import { startDelayProxy } from '../helpers/delay-proxy';
import { withLab, type RunningLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { startRedis } from '../helpers/redis';
import { runSipp, startSipp, type SippResult } from '../helpers/sipp';

const EVENTS = ['new', 'early', 'answered', 'ended'];

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  for (const deadline = Date.now() + ms; !(await ok()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function placeCalls(lab: RunningLab, uasPort: number, calls: number, rate: number): Promise<SippResult> {
  const uas = startSipp({ scenario: 'uas', port: uasPort });
  try {
    await new Promise((r) => setTimeout(r, 400));
    const r = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls, rate, duration: 100, timeoutSec: 60 });
    assert.equal(r.successful, calls, `SIPp: ${r.stdout.slice(-400)}`);
    return r;
  } finally {
    await uas.stop();
  }
}

const liveCalls = (lab: RunningLab): CallSummary[] => lab.host.listCalls(1000).filter((c) => c.source === 'live');

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

test('Redis killed mid-run and restarted: SIP keeps answering, queued events go out in order afterwards, only the oldest beyond the bound are dropped, counted', { timeout: 120_000 }, async (t) => {
  let redis = await startRedis();
  const port = redis.port;
  const uasPort = await freePort();
  const QUEUE = 60;
  const DOWN_CALLS = 20; // 80 events while Redis is away: 20 beyond the bound
  try {
    await withLab({ redis: redis.url, publishQueue: QUEUE, route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] }, async (lab) => {
      assert.equal(lab.host.engine.status('publisher').state, 'running', lab.host.engine.status('publisher').error ?? '');
      const before = await placeCalls(lab, uasPort, 10, 20);
      await lab.settle();
      await until('the first calls published and delivered', () => lab.host.snapshot().publisher!.events.replied === 40 && lab.host.snapshot().consumer?.received.pubsub === 40);
      // The application goes away for the outage: what the publisher writes when Redis is back lands in the call lists, in write order.
      await lab.host.engine.stop('consumer');
      const upCalls = new Set(liveCalls(lab).map((c) => c.callId));
      const upTrying = liveCalls(lab).map((c) => c.trying100Us!);

      redis.child.kill('SIGKILL');
      await until('the publisher to see Redis gone', () => !lab.host.snapshot().publisher!.connected);
      const during = await placeCalls(lab, uasPort, DOWN_CALLS, 20);
      await lab.settle();
      const downCalls = liveCalls(lab).filter((c) => !upCalls.has(c.callId));
      assert.equal(downCalls.length, DOWN_CALLS);

      // SIP did not notice: no retransmission either way, 100 Trying as fast as with Redis up.
      assert.equal(during.retransmissions, 0, 'SIPp retransmitted nothing while Redis was down');
      assert.ok(downCalls.every((c) => c.retransmissions === 0 && c.state === 'terminated'));
      const downTrying = downCalls.map((c) => c.trying100Us!);
      t.diagnostic(`INVITE→100 Trying (engine) p50/max µs: Redis up ${quantile(upTrying, 0.5)}/${Math.max(...upTrying)}, Redis down ${quantile(downTrying, 0.5)}/${Math.max(...downTrying)}; SIPp retransmissions ${before.retransmissions}/${during.retransmissions}`);
      assert.ok(Math.max(...downTrying) < 50_000, `100 Trying within 50 ms while Redis was down (max ${Math.max(...downTrying)} µs)`);

      let s = lab.host.snapshot().publisher!;
      assert.equal(s.queue.depth, QUEUE, 'the queue holds its bound');
      assert.equal(s.queue.dropped, DOWN_CALLS * 4 - QUEUE, 'the events beyond the bound were dropped');
      assert.equal(lab.host.engine.status('publisher').state, 'running', 'an outage is not a failure of the publisher');
      assert.match(lab.host.engine.status('publisher').detail ?? '', /reconnecting|error/);

      // Which events were dropped, per call, as the calls list shows it: the oldest.
      const dropped = downCalls.reduce((n, c) => n + (c.publish?.failed ?? 0), 0);
      assert.equal(dropped, DOWN_CALLS * 4 - QUEUE);

      redis = await startRedis({ port });
      await until('the queue written out', () => {
        const p = lab.host.snapshot().publisher!;
        return p.connected && p.queue.depth === 0 && p.queue.inflight === 0;
      }, 30_000);
      s = lab.host.snapshot().publisher!;
      assert.equal(s.queue.dropped, DOWN_CALLS * 4 - QUEUE, 'nothing more was dropped');
      assert.equal(s.events.replied, 40 + QUEUE);

      // In the restarted Redis: exactly the QUEUE newest events of the outage, each call's in seq order, in the order they were made.
      const r = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await r.connect();
      try {
        const keys = await r.keys('call-mq:*');
        const docs: CallEventDoc[] = [];
        for (const k of keys) {
          const list = (await r.lrange(k, 0, -1)).map((j) => JSON.parse(j) as CallEventDoc);
          const seqs = list.map((d) => d.seq);
          assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${k}: in seq order`);
          assert.ok(list.every((d, i) => i === 0 || d.seq === list[i - 1]!.seq + 1), `${k}: no gap after the first kept event`);
          assert.ok(list.every((d) => EVENTS[d.seq - 1] === d.event));
          assert.ok((await r.ttl(k)) > 0, `${k} expires`);
          docs.push(...list);
        }
        assert.equal(docs.length, QUEUE, 'every event the queue held, once');
        // The relay runs in the lab: once it has a call's session, its events name the relay ports each side sends to.
        const answered = docs.filter((d) => d.event === 'answered');
        assert.ok(answered.length > 0 && answered.every((d) => d.relay !== null && /^127\.0\.0\.1:2\d{4}$/.test(d.relay.caller) && /^127\.0\.0\.1:2\d{4}$/.test(d.relay.callee)), JSON.stringify(answered[0]));
        assert.ok(docs.every((d) => !upCalls.has(d.callId)), 'events of calls before the outage were not written twice');
        // The dropped ones are the oldest: every kept event is at least as new as every dropped one (each call's publish lane says which).
        const keptOldest = Math.min(...docs.map((d) => d.tsUs));
        const lost = downCalls.flatMap((c) => lab.host.getCall(c.callId)!.entries.filter((e) => e.lane === 'publish' && e.phase === 'failed').map((e) => e.tsUs));
        assert.equal(lost.length, DOWN_CALLS * 4 - QUEUE, 'each dropped event is on its call\'s ladder');
        assert.ok(lost.every((ts) => ts <= keptOldest), 'only the oldest were dropped');
      } finally {
        r.disconnect();
      }

      // The application comes back and drains them; the calls list says which calls lost events.
      await lab.host.engine.start('consumer');
      const consumer = lab.host.engine.impl<ConsumerComponent>('consumer');
      await until('the lists drained', () => (consumer.stats()?.received.list ?? 0) === QUEUE);
      await lab.settle();
      const notDelivered = (await lab.host.queryCalls({ ...NO_FILTER, notDelivered: true }, { key: 'time', dir: 'desc' }, 0, 1000)).calls;
      const lossy = liveCalls(lab).filter((c) => (c.publish?.failed ?? 0) > 0);
      assert.ok(lossy.length > 0 && lossy.every((c) => !upCalls.has(c.callId)));
      assert.deepEqual(notDelivered.map((c) => c.callId).sort(), lossy.map((c) => c.callId).sort(), '"not delivered" lists exactly the calls that lost events');
    });
  } finally {
    await redis.stop();
  }
});

for (const mode of ['inline', 'pubsub+list'] as PublishMode[]) {
  const bad = mode === 'inline';
  test(
    bad
      ? 'inline under a Redis that answers 700 ms late: 100 Trying waits for it and the INVITEs are retransmitted, the incident on the ladder'
      : 'pubsub+list under the same late Redis: 100 Trying at once and no retransmission; only the publish timings show Redis is slow',
    { timeout: 120_000 },
    async (t) => {
      const redis = await startRedis();
      const late = await startDelayProxy({ host: '127.0.0.1', port: redis.port }, 700);
      const uasPort = await freePort();
      try {
        await withLab({ redis: late.url, publishMode: mode, wire: 'auto', route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] }, async (lab) => {
          assert.equal(lab.host.engine.status('publisher').state, 'running', lab.host.engine.status('publisher').error ?? '');
          const r = await placeCalls(lab, uasPort, 20, 5);
          await lab.settle();
          await until('every event replied', () => lab.host.snapshot().publisher!.events.replied >= 80, 20_000);
          const calls = liveCalls(lab);
          assert.equal(calls.length, 20);
          // As the wire sees it: the engine stamps an INVITE when a simulated worker takes it, after its wait, as Kamailio's did.
      assert.equal(lab.host.snapshot().wire.on, true, lab.host.snapshot().wire.reason ?? '');
      const trying = calls.map((c) => c.trying100Us!);
          const rtx = calls.reduce((n, c) => n + c.retransmissions, 0);
          const p = lab.host.snapshot().publisher!;
          t.diagnostic(`${mode}: INVITE→100 Trying (wire) p50/max ${quantile(trying, 0.5)}/${Math.max(...trying)} µs; retransmissions on the ladder ${rtx}, SIPp ${r.retransmissions}; publish created→reply p50 ${p.latencyUs.total.p50} µs (wait ${p.latencyUs.wait.p50}, Redis ${p.latencyUs.redis.p50}), list fallbacks ${p.events.listFallbacks}`);
          assert.ok(p.latencyUs.redis.p50 >= 650_000, `Redis answered late in both modes (p50 ${p.latencyUs.redis.p50} µs)`);
          if (bad) {
            assert.ok(quantile(trying, 0.5) >= 500_000, `100 Trying waited for Redis (p50 ${quantile(trying, 0.5)} µs)`);
            assert.ok(r.retransmissions > 0 && rtx > 0, 'INVITEs were retransmitted, and the ladder shows it');
            const call = lab.host.getCall(calls.find((c) => c.retransmissions > 0)!.callId)!;
            assert.ok(call.entries.some((e) => e.lane === 'sip' && e.retransmission && e.label === 'INVITE'), 'a retransmitted INVITE on the ladder');
            assert.ok(call.entries.some((e) => e.lane === 'publish' && e.label.startsWith('new')), 'next to the publish that held it');
          } else {
            assert.ok(Math.max(...trying) < 100_000, `100 Trying did not wait for Redis (max ${Math.max(...trying)} µs)`);
            assert.equal(r.retransmissions, 0);
            assert.equal(rtx, 0);
          }
        });
      } finally {
        await late.stop();
        await redis.stop();
      }
    },
  );
}
