import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEY_HELP, blurAfterClick, isEditable, keyAction, stepSelection, type KeyPress } from '../../renderer/src/keys';
import { buildLadder, type LadderEvent } from '../../app/ladder';
import { formatArrowTime, nextTimeMode } from '../../renderer/src/ladder/time';

const press = (key: string, over: Partial<KeyPress> = {}): KeyPress => ({ key, ctrlKey: false, metaKey: false, altKey: false, inEditable: false, ...over });

test('maps arrows and j/k to moves, Enter to open, / t ? Escape to their actions', () => {
  assert.equal(keyAction(press('ArrowDown')), 'next');
  assert.equal(keyAction(press('j')), 'next');
  assert.equal(keyAction(press('ArrowUp')), 'prev');
  assert.equal(keyAction(press('k')), 'prev');
  assert.equal(keyAction(press('Enter')), 'open');
  assert.equal(keyAction(press('/')), 'focusFilter');
  assert.equal(keyAction(press('t')), 'cycleTime');
  assert.equal(keyAction(press('?')), 'help');
  assert.equal(keyAction(press('Escape')), 'escape');
  assert.equal(keyAction(press('x')), null);
});

test('never takes a key while a text field has focus, or with a modifier held', () => {
  for (const k of ['j', 'k', 't', '/', '?', 'Enter', 'ArrowDown', 'Escape']) assert.equal(keyAction(press(k, { inEditable: true })), null, k);
  assert.equal(keyAction(press('t', { ctrlKey: true })), null);
  assert.equal(keyAction(press('j', { metaKey: true })), null);
  assert.equal(keyAction(press('/', { altKey: true })), null);
  assert.equal(isEditable(null), false, 'no DOM, no target: not editable');
});

test('steps the selection through the ladder order and stops at both ends', () => {
  const order = [4, 0, 1, 7];
  assert.equal(stepSelection(order, null, 1), 4, 'down with nothing selected: the first arrow');
  assert.equal(stepSelection(order, null, -1), 7, 'up with nothing selected: the last arrow');
  assert.equal(stepSelection(order, 4, 1), 0);
  assert.equal(stepSelection(order, 1, -1), 0);
  assert.equal(stepSelection(order, 7, 1), 7);
  assert.equal(stepSelection(order, 4, -1), 4);
  assert.equal(stepSelection(order, 99, 1), 4, 'a stale selection restarts at the top');
  assert.equal(stepSelection([], 3, 1), null);
});

test('] / J and [ / K step between calls in list order (by key), in the help too', () => {
  assert.equal(keyAction(press(']')), 'nextCall');
  assert.equal(keyAction(press('J')), 'nextCall');
  assert.equal(keyAction(press('[')), 'prevCall');
  assert.equal(keyAction(press('K')), 'prevCall');
  assert.equal(keyAction(press(']', { inEditable: true })), null);
  const calls = ['c3', 'import-1/c3', 'c1'];
  assert.equal(stepSelection(calls, null, 1), 'c3', 'nothing selected: the first call');
  assert.equal(stepSelection(calls, 'c3', 1), 'import-1/c3', 'the same Call-ID from an import is the next call, not the same one');
  assert.equal(stepSelection(calls, 'import-1/c3', 1), 'c1');
  assert.equal(stepSelection(calls, 'c1', 1), 'c1', 'stops at the end');
  assert.equal(stepSelection(calls, 'c3', -1), 'c3');
  assert.ok(KEY_HELP.some((k) => k.keys.includes(']') && /next call/.test(k.action)));
  assert.ok(KEY_HELP.some((k) => k.keys.includes('[') && /previous call/.test(k.action)));
});

test('a mouse click on a button hands the focus back (Enter then reaches the ladder); a keyboard press or a dialog keeps it', () => {
  assert.equal(blurAfterClick(1, false), true, 'a mouse click on a toolbar button');
  assert.equal(blurAfterClick(2, false), true, 'a double click');
  assert.equal(blurAfterClick(0, false), false, 'Enter/Space on a focused button: its own, focus stays');
  assert.equal(blurAfterClick(1, true), false, 'inside a dialog the focus stays in the dialog');
});

test('the t key cycles absolute → relative → delta → absolute', () => {
  assert.equal(nextTimeMode('absolute'), 'relative');
  assert.equal(nextTimeMode('relative'), 'delta');
  assert.equal(nextTimeMode('delta'), 'absolute');
});

test('formats arrow times as wall clock with µs, +relative ms, or Δ since the previous row', () => {
  const start = Date.UTC(2026, 0, 2, 3, 4, 5, 678) * 1000 + 901;
  const abs = formatArrowTime('absolute', start, start, null);
  assert.match(abs, /^\d{2}:\d{2}:05\.678901$/);
  assert.equal(formatArrowTime('relative', start + 12_345, start, start), '+12.345 ms');
  assert.equal(formatArrowTime('delta', start + 12_345, start, start + 12_000), 'Δ0.345 ms');
  assert.equal(formatArrowTime('delta', start, start, null), 'Δ0.000 ms', 'the first row has no predecessor');
});

const UAC = '127.0.0.1:5061';
const PROXY = '127.0.0.1:5060';
const UAS = '127.0.0.1:5070';
function sip(index: number, tsUs: number, src: string, dst: string, label: string, o: Partial<LadderEvent> = {}): LadderEvent {
  return { index, lane: 'sip', tsUs, src, dst, label, owner: 'sip:1 INVITE', retransmission: false, ...o };
}

test('annotates each first 100 Trying with the gap since the INVITE it answers, and counts retransmissions', () => {
  const m = buildLadder([
    sip(0, 1_000, UAC, PROXY, 'INVITE', { method: 'INVITE', status: null, branch: 'z9hG4bK-a' }),
    sip(1, 1_150, PROXY, UAC, '100 Trying', { method: null, status: 100, branch: 'z9hG4bK-a' }),
    sip(2, 1_300, PROXY, UAS, 'INVITE', { method: 'INVITE', status: null, branch: 'z9hG4bK-b' }),
    sip(3, 1_900, UAS, PROXY, '100 Trying', { method: null, status: 100, branch: 'z9hG4bK-b' }),
    sip(4, 500_000, UAC, PROXY, 'INVITE', { method: 'INVITE', status: null, branch: 'z9hG4bK-a', retransmission: true }),
    sip(5, 500_100, PROXY, UAC, '100 Trying', { method: null, status: 100, branch: 'z9hG4bK-a', retransmission: true }),
  ]);
  assert.deepEqual(
    m.arrows.map((a) => a.tryingDelayUs),
    [null, 150, null, 600, null, null],
  );
  assert.equal(m.retransmissions, 2);
});

test('pairs 100 Trying by endpoints and label when method, status and branch are absent', () => {
  const m = buildLadder([sip(0, 10, UAC, PROXY, 'INVITE'), sip(1, 40, PROXY, UAC, '100 Trying'), sip(2, 50, PROXY, UAC, '180 Ringing')]);
  assert.deepEqual(
    m.arrows.map((a) => a.tryingDelayUs),
    [null, 30, null],
  );
});
