import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SETTING_COMPONENT, SETTING_NAMES, type ApplySettingsResult, type LabSettings } from '../../app/contract';
import { KEY_HELP, keyAction, type KeyPress } from '../../renderer/src/keys';
import { SETTING_GROUPS, patchOf, previewLine, resultLine } from '../../renderer/src/settings/logic';

const press = (key: string, extra: Partial<KeyPress> = {}): KeyPress => ({ key, ctrlKey: false, metaKey: false, altKey: false, inEditable: false, ...extra });

const current: LabSettings = {
  sip: '127.0.0.1:5060', route: '', rtp: '127.0.0.1:30000-39999', ng: 'off', timeout: '60', silentTimeout: '3600', offerTimeout: '3600', finalTimeout: '14400', redis: 'off', publishMode: 'pubsub+list', record: 'off', recordMix: 'stereo', traffic: 'cps=5 hold=5 max=200 answer=1 busy=10 noanswer=5 cancel=5 loss=0',
  t1: '500', t2: '4000', t4: '5000', timerC: '180', maxCalls: '10000', maxCallMessages: '500', maxStoreMb: '512', maxCallIdle: '3600',
};

test(', opens the settings, but not while typing in a field; the help lists it', () => {
  assert.equal(keyAction(press(',')), 'settings');
  assert.equal(keyAction(press(',', { inEditable: true })), null);
  assert.equal(keyAction(press(',', { ctrlKey: true })), null);
  assert.ok(KEY_HELP.some((k) => k.keys === ',' && /settings/.test(k.action)));
});

test('the dialog shows every setting exactly once, grouped under the component it restarts', () => {
  const shown = SETTING_GROUPS.flatMap((g) => g.fields.map((f) => f.name));
  assert.deepEqual([...shown].sort(), [...SETTING_NAMES].sort());
  for (const g of SETTING_GROUPS) for (const f of g.fields) assert.equal(SETTING_COMPONENT[f.name], g.component, f.name);
});

test('Apply sends only the fields the user changed', () => {
  assert.deepEqual(patchOf(current, current), {});
  assert.deepEqual(patchOf(current, { ...current, t1: '250', route: '127.0.0.1:5090' }), { route: '127.0.0.1:5090', t1: '250' });
});

test('before Apply the dialog says which components restart and which only take it at their next start', () => {
  const states = { proxy: 'running', relay: 'not-implemented', recorder: 'not-implemented', publisher: 'stopped' } as const;
  assert.equal(previewLine({}, states), 'Nothing to apply.');
  assert.equal(previewLine({ t1: '250', sip: '127.0.0.1:5070' }, states), 'Apply restarts proxy.');
  assert.equal(previewLine({ redis: 'redis://127.0.0.1:6379', rtp: '127.0.0.1:20000-20999' }, states), 'relay, publisher not running: used at their next start.');
  assert.equal(previewLine({ t1: '250', maxCalls: '5' }, { ...states, proxy: 'failed' }), 'Apply restarts proxy; finished calls kept applied live.');
  // A running proxy takes timers, Timer C and targets live: calls in flight keep their transactions.
  assert.equal(previewLine({ t1: '250', timerC: '60', route: '127.0.0.1:5090' }, states), 'targets and T1 and Timer C applied live.');
  assert.equal(previewLine({ t1: '250' }, { ...states, proxy: 'stopped' }), 'proxy not running: used at its next start.');
});

test('after Apply one line says what restarted, what failed and why, or the refusal', () => {
  const ok: ApplySettingsResult = { ok: true, settings: current, changed: ['sip', 't1'], restarted: ['proxy'], failed: [], notRunning: [], stopped: [], live: [] };
  assert.equal(resultLine(ok), 'Applied (--sip --t1) — restarted: proxy.');
  assert.equal(
    resultLine({ ...ok, failed: [{ name: 'proxy', error: 'cannot listen on 127.0.0.1:5070: address in use' }] }),
    'Applied (--sip --t1) — proxy failed to restart: cannot listen on 127.0.0.1:5070: address in use.',
  );
  assert.equal(resultLine({ ...ok, changed: ['redis', 'maxCalls'], restarted: [], stopped: ['publisher'], live: ['maxCalls'] }), 'Applied (--redis --max-calls) — stopped: publisher; applied live: finished calls kept.');
  assert.equal(resultLine({ ...ok, changed: [], restarted: [] }), 'Nothing changed.');
  assert.equal(resultLine({ ok: false, field: 'sip', error: '--sip: 99999 is outside 0-65535', settings: current }), '--sip: 99999 is outside 0-65535');
});
