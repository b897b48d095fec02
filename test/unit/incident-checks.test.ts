/**
 * The incidents' live checks (app/incidents/catalog.ts): each fails in its
 * incident's bad configuration and passes with the fix, waits while too few
 * calls are in, and says what it measured.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksOf, INCIDENT_IDS, INCIDENTS, verdictOf, type PhaseFigures } from '../../app/incidents/catalog';

const quiet: PhaseFigures = {
  seconds: 20, calls: 200, windowCalls: 100, trying100P99Ms: 1.2, trying100Where: 'engine', retransmittedCalls: 0, retransmissions: 0, inviteRetransmittedCalls: 0,
  answered: 200, refused503: 0, ended: 200, settled: 150, settledEnded: 150, oldestSessionS: 3, finalTimeoutS: 60, allocationFailures: 0, windowS: 10,
  portsInUse: 20, portsTotal: 128, relayDropped: 0, lossyCalls: 0, pcmFramesSent: 5000, pcmFramesDropped: 0,
};

test('every incident passes on a quiet lab, names its own suspect, and has its story and what to look at', () => {
  for (const id of INCIDENT_IDS) {
    assert.equal(verdictOf(checksOf(id, quiet)), 'pass', id);
    assert.ok(INCIDENTS[id].story.length > 50 && INCIDENTS[id].lookAt.length > 0, id);
  }
  assert.deepEqual(INCIDENT_IDS.map((id) => INCIDENTS[id].suspect), ['redis', 'relay', 'recorder', 'sip']);
});

test("incident 1 fails on the story's check and on callers re-sending INVITEs", () => {
  const c = checksOf('sync-publish', { ...quiet, trying100P99Ms: 1650, inviteRetransmittedCalls: 40 });
  assert.deepEqual(c.map((x) => x.pass), [false, false]);
  assert.equal(c[0]!.value, '1650.0 ms');
  assert.match(c[0]!.where, /wait on Redis included/);
});

test('incident 2: final-timeout off fails whatever the sessions; allocation failures fail at once, pass only over a whole window', () => {
  assert.equal(checksOf('leaking-ports', { ...quiet, finalTimeoutS: 0 })[0]!.pass, false);
  assert.equal(checksOf('leaking-ports', { ...quiet, oldestSessionS: 61 })[0]!.pass, false);
  assert.equal(checksOf('leaking-ports', { ...quiet, allocationFailures: 3 })[1]!.pass, false);
  assert.equal(checksOf('leaking-ports', { ...quiet, windowS: 4 })[1]!.pass, null, 'not a whole window yet');
});

test('incident 3: relay loss and PCM drops are separate checks; incident 4: calls complete while retransmissions fail', () => {
  const slow = checksOf('slow-pcm-consumer', { ...quiet, pcmFramesDropped: 30 });
  assert.deepEqual(slow.map((x) => x.pass), [true, false]);
  assert.equal(checksOf('slow-pcm-consumer', { ...quiet, pcmFramesSent: null, pcmFramesDropped: null })[1]!.pass, null, 'not forwarding: nothing to judge');
  const lossy = checksOf('lossy-signalling', { ...quiet, retransmissions: 9, retransmittedCalls: 5 });
  assert.deepEqual(lossy.map((x) => x.pass), [true, false]);
  assert.equal(checksOf('lossy-signalling', { ...quiet, settledEnded: 140 })[0]!.pass, false, '10 of 150 never ended');
});

test('too few calls, or under 10 s of the phase: the checks wait to pass, but fail at once', () => {
  const few = { ...quiet, calls: 5, windowCalls: 5, settled: 2, settledEnded: 2 };
  assert.equal(verdictOf(checksOf('sync-publish', few)), 'waiting');
  assert.equal(verdictOf(checksOf('lossy-signalling', few)), 'waiting');
  const young = { ...quiet, seconds: 0.3, windowS: 0.3, windowCalls: 30 };
  assert.equal(verdictOf(checksOf('sync-publish', young)), 'waiting', '30 calls in 0.3 s after the fix do not pass it yet');
  assert.equal(verdictOf(checksOf('sync-publish', { ...young, trying100P99Ms: 900 })), 'fail');
  assert.equal(verdictOf(checksOf('lossy-signalling', { ...young, retransmissions: 2 })), 'fail');
});
