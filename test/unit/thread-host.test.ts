import assert from 'node:assert/strict';
import test from 'node:test';
import type { DropCount } from '../../engine/metrics/drops';
import { ThreadHost, WorkerStartError, type ThreadHostOptions } from '../../engine/worker/thread-host';
import { decodeU32Batch, type FixtureReady, type FixtureStart, type FixtureStats } from '../fixtures/thread-host/service';

const WORKER = new URL('../fixtures/thread-host/worker.mjs', import.meta.url);
const NARROW_WORKER = new URL('../fixtures/thread-host/narrow-worker.mjs', import.meta.url);

function rig(over: Partial<ThreadHostOptions<FixtureStats>> = {}) {
  const events: number[] = [];
  const batches: number[] = [];
  const failures: Error[] = [];
  let stats: FixtureStats | null = null;
  let drops: DropCount[] = [];
  let failed: () => void = () => undefined;
  const failure = new Promise<void>((resolve) => (failed = resolve));
  const host = new ThreadHost<FixtureStart, FixtureStats, FixtureReady>({
    name: 'the fixture worker',
    url: WORKER,
    onCapture(batch, count) {
      const got = decodeU32Batch(batch);
      assert.equal(got.length, count, 'a batch holds the count it announces');
      batches.push(count);
      events.push(...got);
    },
    onStats(s, d) {
      stats = s;
      drops = d;
    },
    onFailure(err) {
      failures.push(err);
      failed();
    },
    ...over,
  });
  return { host, events, batches, failures, failure, stats: () => stats, drops: () => drops };
}

test('a worker\'s capture arrives in the order it was emitted, in batches, and a flush waits for all of it and the stats', async () => {
  const r = rig();
  try {
    const ready = await r.host.start({ mode: 'emit', count: 1000 });
    assert.ok(ready.threadId > 0, 'start resolves with what the worker reported');
    await r.host.flush();
    assert.deepEqual(r.events, Array.from({ length: 1000 }, (_, i) => i));
    assert.ok(r.batches.length >= 4, `1000 events at 256 a batch come in several batches (${r.batches.join(', ')})`);
    assert.deepEqual(r.stats(), { emitted: 1000 });
    assert.deepEqual(r.failures, []);
  } finally {
    await r.host.stop();
  }
});

test('capture still batched in the worker arrives before stop resolves', async () => {
  const r = rig();
  await r.host.start({ mode: 'emit', count: 5 }); // under every flush limit: waits for the 20 ms timer
  await r.host.stop();
  assert.deepEqual(r.events, [0, 1, 2, 3, 4]);
  assert.deepEqual(r.stats(), { emitted: 5 });
  assert.equal(r.host.running, false);
  assert.deepEqual(r.failures, [], 'a stopped worker\'s exit is not a failure');
});

test('when the main thread has not acknowledged maxInFlight batches, further capture is dropped and counted, not queued', async () => {
  const r = rig({ url: NARROW_WORKER });
  try {
    // 100 events emitted in one go: the worker cannot read an ack in between, so batches 3-10 find 2 in flight.
    await r.host.start({ mode: 'emit', count: 100 });
    await r.host.flush();
    assert.deepEqual(r.events, Array.from({ length: 20 }, (_, i) => i));
    assert.deepEqual(r.drops(), [{ where: 'capture', reason: 'main-thread-behind', count: 80 }]);
    assert.deepEqual(r.stats(), { emitted: 100 });
  } finally {
    await r.host.stop();
  }
});

test('a worker that cannot start rejects the start with its own message', async () => {
  const r = rig();
  try {
    await assert.rejects(r.host.start({ mode: 'fail' }), (err: Error) => {
      assert.ok(err instanceof WorkerStartError);
      assert.equal(err.message, 'address in use (fixture)');
      return true;
    });
    assert.deepEqual(r.failures, [], 'a failed start is the caller\'s error, not a runtime failure');
  } finally {
    await r.host.stop();
  }
});

test('a worker that exits after it started is reported as failed, with its exit code', async () => {
  const r = rig();
  try {
    await r.host.start({ mode: 'exit' });
    await r.failure;
    assert.equal(r.failures.length, 1);
    assert.equal(r.failures[0]!.message, 'the fixture worker exited (code 3)');
  } finally {
    await r.host.stop();
  }
});

test('a worker that never finishes stopping is terminated once the stop timeout has passed', async () => {
  const r = rig({ stopTimeoutMs: 300 });
  await r.host.start({ mode: 'deaf', count: 3 });
  const t0 = performance.now();
  await r.host.stop();
  const took = performance.now() - t0;
  assert.ok(took >= 250 && took < 2000, `stop took ${took.toFixed(0)} ms against a 300 ms timeout`);
  assert.deepEqual(r.events, [0, 1, 2], 'what it flushed before going deaf still arrived');
  assert.deepEqual(r.failures, []);
});

test('a worker that does not answer the start in time rejects it', async () => {
  const r = rig({ startTimeoutMs: 1 });
  try {
    await assert.rejects(r.host.start({ mode: 'emit' }), /the fixture worker did not start in time/);
  } finally {
    await r.host.stop();
  }
});
