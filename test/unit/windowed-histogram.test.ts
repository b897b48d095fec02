import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../engine/clock';
import { Histogram } from '../../engine/metrics/histogram';
import { WindowedHistogram } from '../../engine/metrics/windowed-histogram';

test('summarises only the values recorded in the last window, so the figure falls back when traffic stops', () => {
  const clock = createManualClock();
  const h = new WindowedHistogram(() => clock.monoMs(), 60);
  for (let i = 0; i < 99; i++) h.record(1000);
  h.record(50_000);
  let s = h.summary();
  assert.equal(s.count, 100);
  assert.equal(s.max, 50_000);
  assert.ok(s.p50 >= 1000 && s.p50 < 1020);

  clock.advanceMs(30_000);
  for (let i = 0; i < 100; i++) h.record(2000);
  s = h.summary();
  assert.equal(s.count, 200, 'both seconds are inside the window');
  assert.equal(s.max, 50_000);

  clock.advanceMs(30_500); // the first second is now 60.5 s old
  s = h.summary();
  assert.equal(s.count, 100, 'the first second left the window');
  assert.equal(s.max, 2000);

  clock.advanceMs(60_000);
  s = h.summary();
  assert.deepEqual(s, { count: 0, p50: 0, p90: 0, p99: 0, max: 0 }, 'no traffic for a minute: nothing to report');
});

test('a slot reused a window later holds only its new second', () => {
  const clock = createManualClock();
  const h = new WindowedHistogram(() => clock.monoMs(), 3);
  h.record(10);
  clock.advanceMs(3000); // same slot index, three seconds later
  h.record(20);
  const s = h.summary();
  assert.equal(s.count, 1);
  assert.equal(s.max, 20);
});

test('the merged window gives the same percentiles as one histogram fed the same values', () => {
  const clock = createManualClock();
  const w = new WindowedHistogram(() => clock.monoMs(), 10);
  const whole = new Histogram();
  for (let i = 0; i < 5000; i++) {
    const v = (i * 7919) % 20_000;
    w.record(v);
    whole.record(v);
    if (i % 700 === 0) clock.advanceMs(1000);
  }
  assert.deepEqual(w.summary(), whole.summary());
});

test('refuses a window that is not a whole number of seconds', () => {
  assert.throws(() => new WindowedHistogram(() => 0, 0), RangeError);
  assert.throws(() => new WindowedHistogram(() => 0, 1.5), RangeError);
});
