/**
 * The traffic panel's wording without a DOM (renderer/src/traffic/figures.ts):
 * every figure says it is the generator's own count and over what window,
 * and a saturated generator is called out so it is not taken for a slow proxy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ComponentStatus, TrafficStats } from '../../app/contract';
import { GENERATOR_BUSY_WARN_PCT, generatorWarning, trafficAbsentLine, trafficFigures } from '../../renderer/src/traffic/figures';

const stats = (over: Partial<TrafficStats> = {}): TrafficStats => ({
  spec: 'cps=5 hold=5 max=200 answer=1 busy=10 noanswer=5 cancel=5 loss=0',
  proxy: '127.0.0.1:5060',
  callee: '127.0.0.1:40000',
  calls: { placed: 100, answered: 80, active: 20, heldBack: 0, completed: 60, busy: 10, noAnswer: 5, cancelled: 5, failed: 0 },
  failures: {},
  placedPerSecond: 5,
  setupMs: { count: 50, p50: 1003.2, p99: 1010.5, max: 1020 },
  sip: { retransmitted: 0, lossDropped: 0, ackTimeouts: 0 },
  rtp: { sent: 10_000, received: 9_990, streams: 40 },
  generator: { busyPct: 6.5, loopDelayP99Ms: 0.8 },
  ports: [40000, 40001, 40002, 40003],
  ...over,
});

test("every traffic figure is the generator's own, says so, and gives its window", () => {
  const f = trafficFigures(stats(), { lastMinute: 0, total: 0 });
  assert.deepEqual(f.map((x) => x.id), ['placed', 'up', 'held-back', 'completed', 'mix', 'failed', 'setup', 'sip', 'rtp', 'generator', 'kernel-drops']);
  for (const x of f) assert.match(x.title, /generator|built-in/, x.id);
  const value = (id: string) => f.find((x) => x.id === id)!.value;
  assert.equal(value('placed'), '100 (5/s)');
  assert.equal(value('mix'), '10 · 5 · 5');
  assert.equal(value('setup'), '1003.2 / 1010.5 ms');
  assert.match(f.find((x) => x.id === 'setup')!.title, /last 10 s .* includes the ringing/);
  assert.ok(f.every((x) => x.tone === null), 'nothing to warn of');
});

test('failures list their reasons; calls held back by "max" warn', () => {
  const f = trafficFigures(stats({ calls: { ...stats().calls, failed: 3, heldBack: 7 }, failures: { '503 to the INVITE': 2, 'no response to the INVITE (Timer B)': 1 } }));
  const failed = f.find((x) => x.id === 'failed')!;
  assert.equal(failed.tone, 'error');
  assert.match(failed.title, /2 × 503 to the INVITE\n1 × no response to the INVITE \(Timer B\)/);
  assert.equal(f.find((x) => x.id === 'held-back')!.tone, 'warn');
});

test('a saturated generator is called out, so it is not taken for a slow proxy', () => {
  assert.equal(generatorWarning(stats()), null);
  const busy = stats({ generator: { busyPct: GENERATOR_BUSY_WARN_PCT + 5, loopDelayP99Ms: 40 } });
  assert.match(generatorWarning(busy)!, /generator's own thread is 85 % busy: slow calls may be the generator's, not the proxy's/);
  assert.equal(trafficFigures(busy).find((x) => x.id === 'generator')!.tone, 'error');
});

test("datagrams the kernel dropped on the generator's own sockets are the generator's: shown on its panel and warned of while they rise", () => {
  const quiet = trafficFigures(stats(), { lastMinute: 0, total: 12 }).find((x) => x.id === 'kernel-drops')!;
  assert.deepEqual([quiet.value, quiet.tone], ['0 · 12', null]);
  assert.match(quiet.title, /the kernel suspect leaves these out/i);
  assert.equal(generatorWarning(stats(), { lastMinute: 0, total: 12 }), null, 'an old drop is history');
  const dropping = { lastMinute: 65, total: 77 };
  assert.equal(trafficFigures(stats(), dropping).find((x) => x.id === 'kernel-drops')!.tone, 'error');
  assert.match(generatorWarning(stats(), dropping)!, /^the kernel dropped 65 datagrams on the generator's own sockets in the last minute: it fell behind reading/);
  assert.equal(trafficFigures(stats()).find((x) => x.id === 'kernel-drops')!.value, '—', 'no /proc: no figure');
});

test('off, one line says how to start it; failed, why', () => {
  assert.match(trafficAbsentLine(undefined), /Start "traffic" in the control bar \(or npm run lab -- --demo\)/);
  const failed = { name: 'traffic', state: 'failed', endpoint: null, error: 'the proxy is not running: the built-in traffic calls through it', detail: null, sinceUs: 0 } as ComponentStatus;
  assert.equal(trafficAbsentLine(failed), 'traffic failed: the proxy is not running: the built-in traffic calls through it');
});
