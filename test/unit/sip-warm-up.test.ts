/**
 * The SIP worker's warm-up (engine/sip/worker/warm-up.ts): its synthetic
 * calls really go through the proxy's whole call path — INVITE to BYE, the
 * lease's SDP rewriting when the relay runs, none when it does not — so what
 * V8 compiles before the bind is the code the first real calls run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMonotonicClock } from '../../engine/clock';
import { DEFAULT_TIMER_VALUES } from '../../engine/sip/transaction/timers';
import { warmUp } from '../../engine/sip/worker/warm-up';

const clock = createMonotonicClock();

test('with the relay, every synthetic call completes (the BYE is answered) and both its offer and its answer are rewritten on lent ports', async () => {
  const r = await warmUp(clock, DEFAULT_TIMER_VALUES, true, 120);
  assert.equal(r.calls, 120);
  assert.equal(r.sdpRewritten, 240, 'the forwarded INVITE and the relayed 200 of each call name the relay');
});

test('without the relay, every synthetic call completes with its SDP untouched', async () => {
  const r = await warmUp(clock, DEFAULT_TIMER_VALUES, false, 120);
  assert.equal(r.calls, 120);
  assert.equal(r.sdpRewritten, 0);
});
