import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyAction } from '../../renderer/src/keys';
import { useUi } from '../../renderer/src/store/ui';

const reset = () => useUi.setState({ selectedKey: 'c1', selectedMessage: null, messageOpen: false, diffBase: null, diff: null });

test('d is the compare key (and is left alone while typing)', () => {
  assert.equal(keyAction({ key: 'd', ctrlKey: false, metaKey: false, altKey: false, inEditable: false }), 'compare');
  assert.equal(keyAction({ key: 'd', ctrlKey: false, metaKey: false, altKey: false, inEditable: true }), null);
});

test('d marks the selected message, d on another opens the diff of the two in that order', () => {
  reset();
  const ui = () => useUi.getState();
  ui().markCompare();
  assert.equal(ui().diffBase, null, 'nothing selected: nothing to mark');
  ui().selectMessage(3);
  ui().markCompare();
  assert.equal(ui().diffBase, 3);
  ui().moveSelection(7);
  ui().markCompare();
  assert.deepEqual(ui().diff, { a: 3, b: 7 });
  assert.equal(ui().diffBase, null);
  ui().closeDiff();
  assert.equal(ui().diff, null);
});

test('d twice on the same message unmarks it; choosing another call drops the comparison', () => {
  reset();
  const ui = () => useUi.getState();
  ui().selectMessage(2);
  ui().markCompare();
  ui().markCompare();
  assert.equal(ui().diffBase, null);
  assert.equal(ui().diff, null);
  ui().markCompare();
  ui().selectCall('c2');
  assert.equal(ui().diffBase, null);
});

test('shift-click compares the selected message with the clicked one and selects it; with nothing selected it just opens it', () => {
  reset();
  const ui = () => useUi.getState();
  ui().compareWith(4);
  assert.equal(ui().diff, null);
  assert.equal(ui().selectedMessage, 4);
  assert.equal(ui().messageOpen, true);
  ui().compareWith(9);
  assert.deepEqual(ui().diff, { a: 4, b: 9 });
  assert.equal(ui().selectedMessage, 9);
});
