import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { startRedis } from '../helpers/redis';

test('the publisher connects to a real Redis and shows it; stop and start really disconnect and reconnect', async () => {
  const redis = await startRedis();
  const lab = await startLab({ redis: redis.url }, { ui: false });
  try {
    const s = lab.host.engine.status('publisher');
    assert.equal(s.state, 'running', s.error ?? '');
    assert.equal(s.endpoint, redis.url);
    assert.match(s.detail ?? '', /^pubsub\+list \(--redis URL\): connected, 0 queued$/);
    const clients = async () => (await redis.cli('CLIENT', 'LIST')).split('\n').filter((l) => l.includes('addr=')).length;
    const before = await clients();
    assert.equal((await lab.host.engine.stop('publisher')).state, 'stopped');
    assert.equal(lab.host.engine.status('publisher').detail, 'pubsub+list: not connected, 0 queued');
    assert.equal(await clients(), before - 1, 'stopping closes the publisher\'s connection');
    assert.equal((await lab.host.engine.start('publisher')).state, 'running');
    assert.equal(await clients(), before);
  } finally {
    await lab.stop();
    await redis.stop();
  }
});

test('a dead Redis is a clear failed state within seconds, and the SIP proxy keeps running', async () => {
  const port = await freePort(); // nothing listens here
  const started = Date.now();
  const lab = await startLab({ redis: `redis://127.0.0.1:${port}` }, { ui: false });
  try {
    assert.ok(Date.now() - started < 10_000, 'start-up does not hang on Redis');
    const s = lab.host.engine.status('publisher');
    assert.equal(s.state, 'failed');
    assert.match(s.error ?? '', new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port}`));
    assert.equal(lab.host.engine.status('proxy').state, 'running');
  } finally {
    await lab.stop();
  }
});
