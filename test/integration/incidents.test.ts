/**
 * The four incidents of the story, each run headless through the API with
 * shortened durations (#16): in the bad configuration the incident's own
 * suspect turns red while every other suspect stays green (or off), and a
 * check fails; with the fix the checks pass. A real redis-server, the
 * built-in traffic, the real relay and recorder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncidentId, IncidentStatus, Snapshot, SuspectId } from '../../app/contract';
import { startLab, type RunningLab } from '../helpers/lab';
import { startRedis, type TestRedis } from '../helpers/redis';
import { until } from '../helpers/until';
import { LIVE_SOURCE } from '../../engine/events';

/** Every suspect's state and the checks that are not green, for messages. */
const board = (s: Snapshot) => s.suspects.map((x) => `${x.id}:${x.state}${x.checks.filter((c) => c.state !== 'green').map((c) => ` [${c.label}=${c.value}]`).join('')}`).join(' ');

async function withIncidentLab(fn: (lab: RunningLab, redis: TestRedis) => Promise<void>): Promise<void> {
  const redis = await startRedis();
  const lab = await startLab({ redis: redis.url }, { ui: false });
  try {
    await fn(lab, redis);
  } finally {
    await lab.host.invoke({ cmd: 'stopIncident' }).catch(() => undefined);
    await lab.stop();
    await redis.stop();
  }
}

const run = (lab: RunningLab, id: IncidentId, phase: 'bad' | 'fixed') => lab.host.invoke({ cmd: 'runIncident', id, phase, quick: true }) as Promise<IncidentStatus>;

/** Waits until the incident's own suspect is red and no other suspect is amber or red; returns that snapshot. */
/** `amberOk`: suspects that may be amber meanwhile (never red). */
async function ownSuspectRed(lab: RunningLab, own: SuspectId, ms: number, also: (s: Snapshot) => boolean = () => true, amberOk: SuspectId[] = []): Promise<Snapshot> {
  let last = '';
  try {
    return await until(`${own} red, the others green`, () => {
      const s = lab.host.snapshot();
      last = board(s);
      const mine = s.suspects.find((x) => x.id === own)!;
      const others = s.suspects.filter((x) => x.id !== own);
      return mine.state === 'red' && others.every((x) => x.state === 'green' || x.state === 'off' || (x.state === 'amber' && amberOk.includes(x.id))) && also(s) ? s : null;
    }, ms);
  } catch (err) {
    throw new Error(`${(err as Error).message}; the board: ${last}`);
  }
}

async function verdict(lab: RunningLab, want: 'pass' | 'fail', ms: number): Promise<IncidentStatus> {
  let last = '';
  try {
    return await until(`the incident's checks ${want}`, () => {
      const i = lab.host.snapshot().incident!;
      last = JSON.stringify(i.checks.map((c) => [c.label, c.value, c.pass]));
      return i.verdict === want ? i : null;
    }, ms);
  } catch (err) {
    throw new Error(`${(err as Error).message}; checks: ${last}`);
  }
}

/** 100 Trying p99 (engine, ms) and calls whose caller re-sent its INVITE, over the live calls whose INVITE arrived in [fromUs, toUs). */
function callsBetween(lab: RunningLab, fromUs: number, toUs: number): { calls: number; trying100P99Ms: number; reSent: number } {
  const trying: number[] = [];
  let reSent = 0;
  for (const c of lab.host.engine.calls.values()) {
    if (c.source !== LIVE_SOURCE || c.inviteInUs === null || c.inviteInUs < fromUs || c.inviteInUs >= toUs) continue;
    if (c.timings.trying100Us !== null) trying.push(c.timings.trying100Us);
    if (c.entries.some((e) => e.kind === 'sip' && e.retransmission && e.method === 'INVITE' && e.direction === 'in')) reSent++;
  }
  trying.sort((a, b) => a - b);
  return { calls: trying.length, trying100P99Ms: trying.length > 0 ? trying[Math.ceil(trying.length * 0.99) - 1]! / 1000 : NaN, reSent };
}

const redisCheck = (s: Snapshot, label: string) => s.suspects.find((x) => x.id === 'redis')!.checks.find((c) => c.label === label);

test('incident 1, synchronous publish: inline mode with 640 subscribers turns only Redis red (the application at most amber: its events come late), 100 Trying is late and INVITEs are retransmitted; the mode alone frees the calls and leaves Redis amber on the 641-way fan-out; the whole fix passes the check, and within the board\'s minute Redis and the application are green again', { timeout: 300_000 }, async (t) => {
  await withIncidentLab(async (lab) => {
    const trafficBefore = lab.host.settings().traffic;
    const started = await run(lab, 'sync-publish', 'bad');
    assert.equal(started.error, null, started.log.join('\n'));
    const running = lab.host.snapshot();
    assert.equal(running.publisher!.mode, 'inline');
    assert.equal(running.publisher!.inline?.workers, 1, 'one simulated SIP worker, offered more INVITEs than it can publish for (Little\'s law)');
    assert.match(lab.host.settings().traffic, /^cps=200 /);
    assert.equal(running.subscriberLoad?.connected, 640);
    const waited = (s: Snapshot) => redisCheck(s, "SIP worker's wait on Redis p99")?.state === 'red';
    // The application may be amber: Redis's stalls make its events late (more than 1 s after their SIP message) too.
    await ownSuspectRed(lab, 'redis', 45_000, waited, ['application']);
    const bad = await verdict(lab, 'fail', 30_000);
    assert.ok(bad.checks.some((c) => c.pass === false), JSON.stringify(bad.checks));
    // Little's law, measured: offered more INVITEs than one worker can publish for, it is busy all the time.
    await until('the worker busy ≥ 90 %', () => {
      const busy = redisCheck(lab.host.snapshot(), 'simulated SIP workers busy waiting on Redis');
      return busy && parseInt(busy.value, 10) >= 90 ? busy : null;
    }, 30_000);

    // Half the fix, by hand as a user would in the settings: publishing leaves the SIP worker, the 640 stay subscribed.
    const applied = await lab.host.applySettings({ publishMode: 'pubsub+list' });
    assert.ok(applied.ok, JSON.stringify(applied));
    const switchedUs = lab.host.engine.clock.nowUs();
    let last = '';
    const half = await until('Redis amber on the fan-out alone', () => {
      const s = lab.host.snapshot();
      last = board(s);
      const redis = s.suspects.find((x) => x.id === 'redis')!;
      const fan = redisCheck(s, 'receivers per PUBLISH p99');
      return redis.state === 'amber' && fan?.state === 'amber' && lab.host.engine.clock.nowUs() - switchedUs > 15_000_000 ? s : null;
    }, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; the board: ${last}`);
    });
    assert.equal(redisCheck(half, 'receivers per PUBLISH p99')!.value, '641', 'the application and the 640: every PUBLISH reaches them all');
    assert.equal(redisCheck(half, "SIP worker's wait on Redis p99"), undefined, 'nothing on the SIP path waits on Redis any more');
    assert.notEqual(half.suspects.find((x) => x.id === 'sip')!.state, 'red', board(half));
    // Calls placed from 2 s after the switch (the queue the worker left behind has drained by then) to now.
    const freed = callsBetween(lab, switchedUs + 2_000_000, lab.host.engine.clock.nowUs());
    assert.ok(freed.calls >= 1_000, `200 calls/s for over 10 s: ${JSON.stringify(freed)}`);
    assert.ok(freed.trying100P99Ms < 200 && freed.reSent === 0, `the mode alone frees the calls: ${JSON.stringify(freed)}`);
    t.diagnostic(`mode alone: ${JSON.stringify(freed)}; Redis ${board(half)}`);

    // The whole fix: the 640 unsubscribe, the application's one connection is left.
    await run(lab, 'sync-publish', 'fixed');
    const f = lab.host.snapshot();
    assert.equal(f.publisher!.mode, 'pubsub+list');
    assert.equal(f.subscriberLoad, null, 'the 640 pattern subscriptions are gone');
    const fixed = await verdict(lab, 'pass', 30_000);
    assert.ok(fixed.checks.every((c) => c.pass === true), JSON.stringify(fixed.checks));
    const after = lab.host.snapshot();
    assert.notEqual(after.suspects.find((x) => x.id === 'redis')!.state, 'red', `the SIP path no longer waits on Redis: ${board(after)}`);
    assert.notEqual(after.suspects.find((x) => x.id === 'sip')!.state, 'red', board(after));
    // Once the bad phase's slow publishes, its late events and the 641-way PUBLISHes leave the last minute, Redis and the application are green.
    await until('Redis and the application green', () => {
      const s = lab.host.snapshot();
      last = board(s);
      return ['redis', 'application'].every((id) => s.suspects.find((x) => x.id === id)!.state === 'green') ? s : null;
    }, 90_000).catch((err: Error) => {
      throw new Error(`${err.message}; the board: ${last}`);
    });
    const green = lab.host.snapshot();
    assert.equal(redisCheck(green, 'receivers per PUBLISH p99')!.value, '1', 'one application, one connection');
    assert.match(redisCheck(green, "events sent to the call's list (PUBLISH reached nobody)")!.value, /^0 /, 'the application heard every event');
    await lab.host.invoke({ cmd: 'stopIncident' });
    const stopped = lab.host.snapshot();
    assert.equal(stopped.incident, null);
    assert.equal(stopped.subscriberLoad, null, 'no load left behind');
    assert.equal(stopped.traffic, null, 'and its traffic');
    assert.equal(lab.host.settings().publishMode, 'pubsub+list', 'settings back as they were');
    assert.equal(lab.host.settings().traffic, trafficBefore, 'the traffic too, RTP on again');
    await lab.host.applySettings({ publishMode: 'inline' });
    assert.equal(lab.host.snapshot().publisher!.inline?.workers, 8, 'and the simulated workers: the default again');
  });
});

test('incident 1 back to its bad phase after the fix: the 640 subscribe again', { timeout: 120_000 }, async () => {
  await withIncidentLab(async (lab) => {
    await run(lab, 'sync-publish', 'fixed');
    assert.equal(lab.host.snapshot().subscriberLoad, null, 'the fix runs without them');
    await run(lab, 'sync-publish', 'bad');
    const s = lab.host.snapshot();
    assert.equal(s.publisher!.mode, 'inline');
    assert.equal(s.subscriberLoad?.connected, 640);
    await lab.host.invoke({ cmd: 'stopIncident' });
    assert.equal(lab.host.snapshot().subscriberLoad, null);
  });
});

test('incident 2, leaking ports: proxy restarts with final-timeout off fill the pool and calls get 503, only the Relay suspect red; with the timeouts on the sessions are reclaimed and the checks pass', async () => {
  await withIncidentLab(async (lab) => {
    const before = lab.host.settings();
    const started = await run(lab, 'leaking-ports', 'bad');
    assert.equal(started.error, null, started.log.join('\n'));
    assert.equal(lab.host.snapshot().relay!.ports.total, 128, 'a pool of 64 pairs');
    const red = await ownSuspectRed(lab, 'relay', 60_000, (s) => s.relay!.ports.allocationFailures > 0);
    assert.ok(red.relay!.ports.inUse + red.relay!.ports.lent >= 0.9 * 128, `ports in use climbed to the pool: ${JSON.stringify(red.relay!.ports)}`);
    const bad = await verdict(lab, 'fail', 10_000);
    assert.equal(bad.checks[0]!.pass, false, 'final-timeout off: nothing bounds a session');
    await run(lab, 'leaking-ports', 'fixed');
    const fixed = await verdict(lab, 'pass', 60_000);
    assert.ok(fixed.checks.every((c) => c.pass === true), JSON.stringify(fixed.checks));
    const closed = lab.host.snapshot().relay!.sessions.closed;
    assert.ok(closed.timeout > 0, `the leaked sessions were reclaimed by the no-media timeout: ${JSON.stringify(closed)}`);
    await lab.host.invoke({ cmd: 'stopIncident' });
    const s = lab.host.settings();
    assert.equal(s.rtp, before.rtp, 'the range is back');
    assert.equal(s.finalTimeout, before.finalTimeout, 'and final-timeout');
  });
});

test('incident 3, slow PCM consumer: the recorder drops frames for the slow application and only its suspect turns red, the relay loses nothing; at full speed every frame arrives', async () => {
  await withIncidentLab(async (lab) => {
    const started = await run(lab, 'slow-pcm-consumer', 'bad');
    assert.equal(started.error, null, started.log.join('\n'));
    const red = await ownSuspectRed(lab, 'recorder', 60_000);
    assert.ok(red.recorder!.forwarding!.totals.framesDropped > 0, 'frames dropped for the slow application');
    const bad = await until('both checks judged', () => {
      const i = lab.host.snapshot().incident!;
      return i.checks.every((c) => c.pass !== null) ? i : null;
    }, 30_000);
    assert.equal(bad.verdict, 'fail', JSON.stringify(bad.checks));
    const relayLoss = bad.checks.find((c) => c.label === 'relay loss = 0')!;
    assert.equal(relayLoss.pass, true, `the relay lost nothing while the recorder dropped: ${relayLoss.value}`);
    await run(lab, 'slow-pcm-consumer', 'fixed');
    const fixed = await verdict(lab, 'pass', 30_000);
    assert.ok(fixed.checks.every((c) => c.pass === true), JSON.stringify(fixed.checks));
    await lab.host.invoke({ cmd: 'stopIncident' });
    assert.equal(lab.host.engine.status('recorder').state, 'stopped', 'the recorder it started is stopped');
  });
});

test('incident 4, lossy signalling: 5 % loss turns only the SIP path red with retransmissions, calls still complete; without loss no retransmissions', async () => {
  await withIncidentLab(async (lab) => {
    const started = await run(lab, 'lossy-signalling', 'bad');
    assert.equal(started.error, null, started.log.join('\n'));
    await ownSuspectRed(lab, 'sip', 30_000);
    const bad = await until('calls judged complete while retransmissions fail the check', () => {
      const i = lab.host.snapshot().incident!;
      return i.checks.every((c) => c.pass !== null) ? i : null;
    }, 30_000);
    assert.equal(bad.checks.find((c) => c.label === 'calls complete despite the loss')!.pass, true, JSON.stringify(bad.checks));
    assert.equal(bad.checks.find((c) => c.label === 'no retransmissions')!.pass, false);
    assert.equal(bad.verdict, 'fail');
    await run(lab, 'lossy-signalling', 'fixed');
    const fixed = await verdict(lab, 'pass', 30_000);
    assert.ok(fixed.checks.every((c) => c.pass === true), JSON.stringify(fixed.checks));
  });
});

test('over HTTP: POST /api/incidents/{id}/{phase}[?quick=1] runs one, a wrong id or phase is a 400 naming the right ones, POST /api/incidents/stop ends it', async () => {
  const lab = await startLab({});
  try {
    const post = (path: string) => fetch(`${lab.base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${lab.token}` } });
    const wrong = await post('/api/incidents/no-such/bad');
    assert.equal(wrong.status, 400);
    assert.match(((await wrong.json()) as { error: string }).error, /sync-publish, leaking-ports, slow-pcm-consumer, lossy-signalling/);
    assert.equal((await post('/api/incidents/lossy-signalling/worse')).status, 400);
    const ran = await post('/api/incidents/lossy-signalling/bad?quick=1');
    assert.equal(ran.status, 200);
    const status = (await ran.json()) as IncidentStatus;
    assert.deepEqual([status.id, status.phase, status.quick, status.error], ['lossy-signalling', 'bad', true, null]);
    assert.match(lab.host.settings().traffic, /loss=5 rtp=1$/, 'its traffic with the loss');
    assert.equal(lab.host.engine.status('traffic').state, 'running');
    assert.equal((await post('/api/incidents/stop')).status, 200);
    assert.equal(lab.host.snapshot().incident, null);
  } finally {
    await lab.stop();
  }
});
