/**
 * The incidents panel's wording without a DOM (renderer/src/incidents/panel.ts):
 * what a user sees of each incident, which buttons it offers when, and for
 * the running one its verdict, checks, story and what the runner could not do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INCIDENT_IDS, INCIDENTS, type IncidentId, type IncidentStatus } from '../../app/contract';
import { incidentPanel, verdictText } from '../../renderer/src/incidents/panel';

const running = (id: IncidentId, over: Partial<IncidentStatus> = {}): IncidentStatus => ({
  ...INCIDENTS[id],
  phase: 'bad',
  quick: false,
  phaseSeconds: 42.4,
  checks: [
    { label: '100 Trying p99 < 200 ms', value: '812.3 ms', pass: false, where: 'engine, INVITE read → 100 Trying sent, calls since this phase began (42 s, 1200 calls)' },
    { label: 'no INVITE retransmitted', value: '0 calls retransmitted', pass: true, where: 'engine, calls since this phase began (42 s, 1200 calls)' },
  ],
  verdict: 'fail',
  log: ['publish mode → inline', '640 subscribers on call:*, slow'],
  error: null,
  restartEveryS: null,
  ...over,
});

test('with none running, the panel is one row per incident offering only "Reproduce"', () => {
  const view = incidentPanel(null);
  assert.equal(view.running, null);
  assert.deepEqual(view.rows.map((r) => r.id), [...INCIDENT_IDS]);
  for (const r of view.rows) {
    assert.equal(r.title, INCIDENTS[r.id].title);
    assert.equal(r.run.label, 'Reproduce');
    assert.equal(r.run.enabled, true);
    assert.match(r.run.title, /^Set up the bad configuration: /);
    assert.equal(r.fix, null, `${r.id}: nothing to fix before its bad configuration runs`);
    assert.equal(r.stop, null);
  }
});

test('incident 1 is labelled a reproduction of a known bad design, and only it', () => {
  const rows = incidentPanel(null).rows;
  const sync = rows.find((r) => r.id === 'sync-publish')!;
  assert.equal(sync.badge?.text, 'known bad design');
  assert.match(sync.badge!.title, /reproduction of a known bad design/);
  assert.ok(rows.filter((r) => r.id !== 'sync-publish').every((r) => r.badge === null));
  assert.match(incidentPanel(running('sync-publish')).running!.knownBad!, /not to be used/);
});

test('"Apply the fix" is offered once the bad phase runs, and only on that incident', () => {
  const view = incidentPanel(running('leaking-ports'));
  const leak = view.rows.find((r) => r.id === 'leaking-ports')!;
  assert.equal(leak.running, 'bad');
  assert.deepEqual({ label: leak.fix?.label, enabled: leak.fix?.enabled }, { label: 'Apply the fix', enabled: true });
  assert.match(leak.fix!.title, /final-timeout on/);
  assert.equal(leak.run.enabled, false, 'already reproducing');
  assert.equal(leak.stop?.enabled, true);
  for (const r of view.rows.filter((x) => x.id !== 'leaking-ports')) {
    assert.equal(r.fix, null);
    assert.equal(r.stop, null);
    assert.equal(r.run.enabled, true);
    assert.match(r.run.title, /Stops “2\. Leaking relay ports” first\./);
  }
});

test('with the fix applied, "Apply the fix" is shown done and "Reproduce" goes back to the bad configuration', () => {
  const row = incidentPanel(running('lossy-signalling', { phase: 'fixed' })).rows.find((r) => r.id === 'lossy-signalling')!;
  assert.equal(row.running, 'fixed');
  assert.deepEqual({ enabled: row.fix?.enabled, pressed: row.fix?.pressed }, { enabled: false, pressed: true });
  assert.equal(row.run.enabled, true);
  assert.match(row.run.title, /^Back to the bad configuration: 5 % of SIP datagrams dropped/);
});

test('a failing check is shown failing with its value, and the verdict names it', () => {
  const d = incidentPanel(running('sync-publish')).running!;
  assert.equal(d.verdict.state, 'fail');
  assert.equal(d.verdict.text, 'failing: 100 Trying p99 < 200 ms is 812.3 ms');
  assert.deepEqual(
    d.checks.map((c) => [c.mark, c.pass, c.text]),
    [
      ['✗', false, '✗ 100 Trying p99 < 200 ms: 812.3 ms'],
      ['✓', true, '✓ no INVITE retransmitted: 0 calls retransmitted'],
    ],
  );
  assert.match(d.checks[0]!.title, /INVITE read → 100 Trying sent/, 'where it is measured');
});

test('a check not judged yet shows "…", and the verdict says what it waits for', () => {
  const status = running('slow-pcm-consumer', {
    verdict: 'waiting',
    checks: [
      { label: 'relay loss = 0', value: '0 packets not relayed, 0 calls with media loss', pass: true, where: 'relay' },
      { label: 'every PCM frame reached the application', value: 'not forwarding', pass: null, where: "recorder's forwarding" },
    ],
  });
  const d = incidentPanel(status).running!;
  assert.equal(d.checks[1]!.text, '… every PCM frame reached the application: not forwarding');
  assert.equal(d.verdict.text, 'waiting: not judged yet: every PCM frame reached the application (not forwarding)');
  assert.match(verdictText({ verdict: 'pass', checks: [{ label: 'no retransmissions', value: '0 retransmissions in 0 calls', pass: true, where: '' }] }), /^passing: no retransmissions \(0 retransmissions in 0 calls\)$/);
});

test('the running incident shows its story, what this phase sets up, the fix to come, where to look, the log and the error', () => {
  const d = incidentPanel(running('leaking-ports', { error: 'relay not running: the incident needs the relay', restartEveryS: 6, quick: true, log: ['pool → 128 ports', 'final-timeout → off'] })).running!;
  assert.equal(d.heading, '2. Leaking relay ports');
  assert.equal(d.phaseLine, 'bad configuration for 42 s · the proxy and the built-in endpoints restart every 6 s · quick (shortened durations)');
  assert.match(d.story, /25,000 rtpengine ports/);
  assert.equal(d.phaseDoes, INCIDENTS['leaking-ports'].bad);
  assert.equal(d.otherPhase, `Apply the fix: ${INCIDENTS['leaking-ports'].fixed}`);
  assert.deepEqual(d.lookAt, INCIDENTS['leaking-ports'].lookAt);
  assert.deepEqual(d.log, ['pool → 128 ports', 'final-timeout → off']);
  assert.equal(d.error, 'relay not running: the incident needs the relay');
  assert.equal(d.knownBad, null);
});

test('the verdict title says which outcome each phase should have', () => {
  assert.match(incidentPanel(running('sync-publish')).running!.verdict.title, /should fail these checks/);
  assert.match(incidentPanel(running('sync-publish', { phase: 'fixed' })).running!.verdict.title, /should pass these checks/);
});
