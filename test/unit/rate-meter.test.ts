/**
 * RateMeter (engine/metrics/rate.ts): the per-second rate the header shows
 * and the count over its whole window the Redis suspect's "last minute" of
 * list fallbacks reads; old seconds leave the window as time passes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateMeter } from '../../engine/metrics/rate';

test('the window counts the current second and the ones before it, and forgets a second once the window has passed it', () => {
  const m = new RateMeter(60);
  m.mark(1_000, 3); // second 1
  m.mark(30_500, 2); // second 30
  m.mark(60_900); // second 60
  assert.equal(m.inWindow(60_900), 6, 'seconds 1 to 60: all in a 60 s window');
  assert.equal(m.inWindow(61_000), 3, 'second 61: second 1 has left');
  assert.equal(m.inWindow(90_000), 1, 'second 90: only second 60 is left');
  assert.equal(m.inWindow(200_000), 0, 'long after: nothing');
  assert.equal(m.total, 6, 'the total since start keeps them all');
});

test('the rate is the mean over the completed seconds of the window, the current one left out', () => {
  const m = new RateMeter(5);
  for (let s = 0; s < 4; s++) m.mark(s * 1_000, 10);
  m.mark(4_200, 99);
  assert.equal(m.perSecond(4_500), 10, 'seconds 0–3 at 10 each; second 4 is not over yet');
});
