import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DEFAULT_CONFIG, applySettingsPatch, parseLabArgs, settingsOf, type LabConfig } from '../../app/config';
import { SETTING_NAMES, validateCommand, type SettingName, type SettingsPatch } from '../../app/contract';
import { createManualClock } from '../../engine/clock';
import { CallStore } from '../../engine/call/store';
import type { SipCaptureEvent } from '../../engine/events';
import type { ComponentImpl } from '../../engine/component';
import { EventStream } from '../../engine/events';
import { ManagedComponent } from '../../engine/lifecycle';

const config = (overrides: Partial<LabConfig> = {}): LabConfig => ({ ...DEFAULT_CONFIG, timers: { ...DEFAULT_CONFIG.timers }, ...overrides });

function refused(patch: SettingsPatch, base = config()): { field: SettingName | null; error: string } {
  const r = applySettingsPatch(base, patch);
  assert.equal(r.ok, false, `expected ${JSON.stringify(patch)} to be refused`);
  if (r.ok) throw new Error('unreachable');
  assert.ok(!r.error.includes('\n'), `one line: ${r.error}`);
  return { field: r.field, error: r.error };
}

// ---------- the contract's validator ----------

test('getSettings and applySettings are accepted in their exact shape', () => {
  assert.deepEqual(validateCommand({ cmd: 'getSettings' }), { ok: true, value: { cmd: 'getSettings' } });
  assert.deepEqual(validateCommand({ cmd: 'applySettings', patch: { t1: '250', route: '' } }), { ok: true, value: { cmd: 'applySettings', patch: { t1: '250', route: '' } } });
});

test('the settings commands refuse extra keys, unknown settings and values that are not one line of text', () => {
  const cases: [unknown, RegExp][] = [
    [{ cmd: 'getSettings', x: 1 }, /getSettings takes no arguments/],
    [{ cmd: 'applySettings' }, /patch must be an object/],
    [{ cmd: 'applySettings', patch: {}, extra: true }, /takes only "patch"/],
    [{ cmd: 'applySettings', patch: [] }, /patch must be an object/],
    [{ cmd: 'applySettings', patch: 't1=5' }, /patch must be an object/],
    [{ cmd: 'applySettings', patch: {} }, /names no settings/],
    [{ cmd: 'applySettings', patch: { sipp: '127.0.0.1:5060' } }, /unknown setting "sipp"/],
    [{ cmd: 'applySettings', patch: JSON.parse('{"__proto__": "x"}') }, /unknown setting "__proto__"/],
    [{ cmd: 'applySettings', patch: { t1: 250 } }, /t1 must be a string, as --t1 takes it/],
    [{ cmd: 'applySettings', patch: { redis: null } }, /redis must be a string/],
    [{ cmd: 'applySettings', patch: { record: '/tmp/a\nb' } }, /one line of printable text/],
    [{ cmd: 'applySettings', patch: { record: 'x'.repeat(5000) } }, /longer than 2048/],
  ];
  for (const [input, why] of cases) {
    const v = validateCommand(input);
    assert.equal(v.ok, false, JSON.stringify(input));
    assert.match(v.ok ? '' : v.error, why, JSON.stringify(input));
  }
});

test('the UI can never change its own address, token or auth through applySettings', () => {
  for (const key of ['ui', 'token', 'noAuth', 'auth']) {
    const v = validateCommand({ cmd: 'applySettings', patch: { [key]: 'x' } });
    assert.equal(v.ok, false, key);
    assert.match(v.ok ? '' : v.error, /cannot be changed from the console/, key);
  }
  assert.ok(!(SETTING_NAMES as readonly string[]).some((n) => ['ui', 'token', 'noAuth', 'auth'].includes(n)));
});

// ---------- the config patch ----------

test('settings are shown as the strings the CLI flags take', () => {
  assert.deepEqual(settingsOf(DEFAULT_CONFIG), {
    sip: '127.0.0.1:5060',
    route: '',
    rtp: '127.0.0.1:16384-32767',
    ng: '127.0.0.1:2223',
    timeout: '60',
    silentTimeout: '3600',
    offerTimeout: '3600',
    finalTimeout: '14400',
    redis: 'auto',
    publishMode: 'pubsub+list',
    record: join(DEFAULT_CONFIG.dataDir, 'recordings'),
    recordMix: 'stereo',
    traffic: 'cps=5 hold=5 max=200 answer=1 busy=10 noanswer=5 cancel=5 loss=0 rtp=1',
    t1: '500',
    t2: '4000',
    t4: '5000',
    timerC: '180',
    maxCalls: '10000',
    maxCallMessages: '500',
    maxStoreMb: '512',
    maxCallIdle: '3600',
  });
  const r = parseLabArgs(['--sip', '[::1]:5070', '--route', '127.0.0.1:5090/tcp,127.0.0.1:5091', '--rtp', '[::1]:20000-20999', '--ng', 'off', '--redis', 'off', '--record', '/tmp/rec'], {}, () => '');
  assert.ok(r.ok);
  const s = settingsOf(r.config);
  assert.deepEqual([s.sip, s.route, s.rtp, s.ng, s.redis, s.record], ['[::1]:5070', '127.0.0.1:5090/tcp,127.0.0.1:5091', '[::1]:20000-20999', 'off', 'off', '/tmp/rec']);
  // What is shown parses back to the same config, and changes nothing.
  const back = applySettingsPatch(r.config, s);
  assert.ok(back.ok);
  assert.deepEqual(back.config, r.config);
  assert.deepEqual(back.changed, []);
});

test('each setting is parsed into the config by the CLI parser, and only the changed ones are reported', () => {
  const base = config();
  const patch: SettingsPatch = {
    sip: 'localhost:5070',
    route: '127.0.0.1:5090, 127.0.0.1:5091/tcp',
    rtp: '127.0.0.1:20000-20999',
    ng: 'off',
    timeout: '30',
    silentTimeout: '600',
    offerTimeout: '120',
    finalTimeout: '0',
    redis: 'rediss://10.0.0.5:6380',
    publishMode: 'stream',
    record: '/var/rec',
    recordMix: 'mono',
    traffic: 'cps=50 loss=2',
    t1: '250',
    t2: '8000',
    t4: '6000',
    timerC: '30',
    maxCalls: '42',
    maxCallMessages: '1000',
    maxStoreMb: '64',
    maxCallIdle: '0',
  };
  const r = applySettingsPatch(base, patch);
  assert.ok(r.ok, r.ok ? '' : r.error);
  const c = r.config;
  assert.deepEqual(c.sip, { host: '127.0.0.1', port: 5070 });
  assert.deepEqual(c.route, [{ host: '127.0.0.1', port: 5090, transport: 'udp' }, { host: '127.0.0.1', port: 5091, transport: 'tcp' }]);
  assert.deepEqual(c.rtp, { host: '127.0.0.1', min: 20000, max: 20999 });
  assert.equal(c.ng, null);
  assert.deepEqual(c.relayTimeouts, { timeout: 30, silentTimeout: 600, offerTimeout: 120, finalTimeout: 0 });
  assert.equal(c.redis, 'rediss://10.0.0.5:6380');
  assert.equal(c.publishMode, 'stream');
  assert.equal(c.record, '/var/rec');
  assert.deepEqual(c.timers, { T1: 250, T2: 8000, T4: 6000 });
  assert.equal(c.timerCS, 30);
  assert.equal(c.maxCalls, 42);
  assert.equal(c.maxCallMessages, 1000);
  assert.equal(c.maxStoreMb, 64);
  assert.equal(c.maxCallIdleS, 0);
  assert.deepEqual([c.traffic.cps, c.traffic.lossPct, c.traffic.holdS], [50, 2, 5], 'the keys left out keep their values');
  assert.deepEqual(r.changed, [...SETTING_NAMES]);
  assert.deepEqual(base, config(), 'the config given is not modified');

  // Same value in another spelling is no change; "off" and "" switch things off.
  const same = applySettingsPatch(base, { sip: 'localhost:5060', t1: '500' });
  assert.ok(same.ok);
  assert.deepEqual(same.changed, []);
  const off = applySettingsPatch({ ...base, route: [{ host: '127.0.0.1', port: 5090, transport: 'udp' }], record: '/r' }, { route: ' ', redis: 'off', record: 'off' });
  assert.ok(off.ok);
  assert.equal(off.config.route, null);
  assert.equal(off.config.redis, null);
  assert.equal(off.config.record, null);
  assert.equal(off.config.recordOff, true);
  assert.deepEqual(off.changed, ['route', 'redis', 'record']);
  // "auto" is a value of its own, kept as the literal string, and shown back as itself.
  const auto = applySettingsPatch(off.config, { redis: 'auto' });
  assert.ok(auto.ok);
  assert.equal(auto.config.redis, 'auto');
  assert.equal(settingsOf(auto.config).redis, 'auto');
  assert.deepEqual(auto.changed, ['redis']);
});

test('a bad value is refused with the CLI error line and the field it is about', () => {
  const cases: [SettingsPatch, SettingName, RegExp][] = [
    [{ sip: 'nohost' }, 'sip', /^--sip: "nohost" is not HOST:PORT/],
    [{ sip: 'example.com:5060' }, 'sip', /^--sip: "example\.com" is not an IP address/],
    [{ sip: '127.0.0.1:70000' }, 'sip', /^--sip: 70000 is outside 0-65535/],
    [{ route: '127.0.0.1:0' }, 'route', /^--route: 0 is outside 1-65535/],
    [{ route: '127.0.0.1:5090/sctp' }, 'route', /^--route: "127\.0\.0\.1:5090\/sctp" is not HOST:PORT/],
    [{ rtp: '127.0.0.1:40000-30000' }, 'rtp', /impossible port range 40000-30000/],
    [{ rtp: '127.0.0.1:30000-30001' }, 'rtp', /fewer than 4 ports/],
    [{ ng: '127.0.0.1' }, 'ng', /^--ng: "127\.0\.0\.1" is not HOST:PORT/],
    [{ redis: 'http://x' }, 'redis', /^--redis: "http:\/\/x" must start with redis:\/\//],
    [{ redis: 'not a url' }, 'redis', /is not a URL/],
    [{ publishMode: 'sync' }, 'publishMode', /^--publish-mode: "sync" is not one of pubsub\+list, stream, inline/],
    [{ record: '  ' }, 'record', /^--record needs a directory or "off"/],
    [{ t1: 'fast' }, 't1', /^--t1: "fast" is not a whole number/],
    [{ t1: '0' }, 't1', /^--t1: 0 is outside 1-600000/],
    [{ t2: '-5' }, 't2', /^--t2: "-5" is not a whole number/],
    [{ t4: '600001' }, 't4', /^--t4: 600001 is outside/],
    [{ maxCalls: '0' }, 'maxCalls', /^--max-calls: 0 is outside 1-10000000/],
    [{ maxCallMessages: '9' }, 'maxCallMessages', /^--max-call-messages: 9 is outside 10-100000/],
  ];
  for (const [patch, field, line] of cases) {
    const r = refused(patch);
    assert.equal(r.field, field, JSON.stringify(patch));
    assert.match(r.error, line, JSON.stringify(patch));
  }
});

test('rules between settings are checked against the merged config and blame the field the patch set', () => {
  // T1 above the current T2, and T2 below the current T1 (RFC 3261 §17.1.2.2 doubles T1 up to T2).
  assert.deepEqual(refused({ t1: '5000' }), { field: 't1', error: '--t1 (5000 ms) must not exceed --t2 (4000 ms)' });
  assert.deepEqual(refused({ t2: '100' }), { field: 't2', error: '--t1 (500 ms) must not exceed --t2 (100 ms)' });
  assert.ok(applySettingsPatch(config(), { t1: '5000', t2: '9000' }).ok, 'both together are fine');
  assert.match(refused({ sip: '127.0.0.1:31000' }).error, /--sip port 31000 lies inside the --rtp range 16384-32767/);
  assert.equal(refused({ rtp: '127.0.0.1:5000-5100' }).field, 'rtp');
  assert.deepEqual(refused({ ng: '127.0.0.1:5060' }), { field: 'ng', error: '--ng and --sip both use port 5060' });
  assert.match(refused({ sip: '127.0.0.1:7070' }).error, /--ui and --sip both use port 7070/);
  // The first bad field wins and nothing is half-applied.
  const r = refused({ t1: '100', maxCalls: 'many' });
  assert.equal(r.field, 'maxCalls');
});

test('the CLI still reads the same flags through the shared parsers', () => {
  const r = parseLabArgs(['--t1', '100', '--t2', '200', '--max-call-messages', '20', '--route', ''], {}, () => '');
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.deepEqual(r.config.timers, { T1: 100, T2: 200, T4: 5000 });
  assert.equal(r.config.maxCallMessages, 20);
  assert.equal(r.config.route, null, 'an empty --route routes by Request-URI, as the dialog shows it');
  const bad = parseLabArgs(['--t1', '300', '--t2', '200'], {}, () => '');
  assert.ok(!bad.ok && bad.error === '--t1 (300 ms) must not exceed --t2 (200 ms)');
});

// ---------- live call-store bounds ----------

function sip(callId: string, label: string, tsUs: number, extra: Partial<SipCaptureEvent> = {}): SipCaptureEvent {
  const status = /^\d{3}/.test(label) ? Number(label.slice(0, 3)) : null;
  const raw = Buffer.from(`${label}\r\nFrom: <sip:a@a>\r\nTo: <sip:b@b>\r\n\r\n`);
  return {
    kind: 'sip', transport: 'udp', src: '127.0.0.1:1', dst: '127.0.0.1:2', callId, cseqSeq: 1, label, direction: 'in', tsUs,
    cseqMethod: 'INVITE', method: status === null ? label : null, status, branch: null, size: raw.length, raw, retransmission: false, ...extra,
  };
}

test('lowering the call-store bounds while running evicts the oldest finished calls and rotates long calls, counted', () => {
  const store = new CallStore({ maxFinishedCalls: 10, maxActiveCalls: 100, maxMessagesPerCall: 100 });
  for (let i = 0; i < 5; i++) {
    store.record(sip(`c${i}`, 'INVITE', i * 10, { direction: 'in' }));
    store.record(sip(`c${i}`, '486 Busy Here', i * 10 + 1, { direction: 'out' }));
  }
  for (let m = 0; m < 30; m++) store.record(sip('long', 'INFO', 100 + m, { direction: 'in', cseqMethod: 'INFO', cseqSeq: m }));
  store.setLimits({ maxFinishedCalls: 2, maxMessagesPerCall: 12 });
  assert.deepEqual(store.list(100).map((c) => c.callId), ['long', 'c4', 'c3']);
  assert.equal(store.evicted['finished-limit'], 3);
  const long = store.get('long')!;
  assert.equal(long.entries.length, 12);
  assert.equal(long.entriesDropped, 18);
  assert.equal((long.entries[0] as SipCaptureEvent).cseqSeq, 18, 'the oldest went, the newest stayed');
  // The new bound holds for what comes next too.
  store.record(sip('long', 'INFO', 200, { direction: 'in', cseqMethod: 'INFO', cseqSeq: 30 }));
  assert.equal(store.get('long')!.entries.length, 12);
  store.record(sip('c9', 'INVITE', 300, { direction: 'in' }));
  store.record(sip('c9', '486 Busy Here', 301, { direction: 'out' }));
  assert.equal(store.get('c3'), undefined);
  // A store made with the defaults does not change the defaults for the next one.
  const a = new CallStore();
  a.setLimits({ maxFinishedCalls: 1 });
  assert.equal(new CallStore().options.maxFinishedCalls, 10_000);
});

// ---------- restart for new settings ----------

function fakePart(log: string[], failStart: () => boolean = () => false): ComponentImpl {
  return {
    name: 'proxy',
    endpoint: null,
    async start() {
      log.push('start');
      await new Promise((r) => setTimeout(r, 5));
      if (failStart()) throw new Error('cannot listen on 127.0.0.1:5060: EADDRINUSE');
    },
    async stop() {
      log.push('stop');
      await new Promise((r) => setTimeout(r, 5));
    },
  };
}

test('restartIfUp restarts a running part as one step; a stop queued before it wins and the part stays stopped', async () => {
  const log: string[] = [];
  const part = new ManagedComponent(fakePart(log), createManualClock(0), new EventStream());
  await part.start();
  log.length = 0;
  const r = await part.restartIfUp();
  assert.deepEqual([r.restarted, r.status.state, log.join(',')], [true, 'running', 'stop,start']);
  // A user's stop queued first: the restart sees a stopped part and leaves it so.
  log.length = 0;
  const [stopped, again] = await Promise.all([part.stop(), part.restartIfUp()]);
  assert.equal(stopped.state, 'stopped');
  assert.deepEqual([again.restarted, again.status.state, log.join(',')], [false, 'stopped', 'stop']);
  // A start queued after the restart runs after it, never in the middle.
  await part.start();
  log.length = 0;
  await Promise.all([part.restartIfUp(), part.stop(), part.start()]);
  assert.equal(log.join(','), 'stop,start,stop,start');
});

test('a restart that fails leaves the part failed with the error; the next restart with good settings brings it back', async () => {
  let bad = false;
  const part = new ManagedComponent(fakePart([], () => bad), createManualClock(0), new EventStream());
  await part.start();
  bad = true;
  const r = await part.restartIfUp();
  assert.equal(r.restarted, true);
  assert.equal(r.status.state, 'failed');
  assert.match(r.status.error ?? '', /EADDRINUSE/);
  bad = false;
  const fixed = await part.restartIfUp();
  assert.deepEqual([fixed.restarted, fixed.status.state, fixed.status.error], [true, 'running', null]);
});
