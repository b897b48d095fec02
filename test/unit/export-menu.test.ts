import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SELECTION_FORMAT_NAMES, validateExportRequest } from '../../app/contract';
import { ONE_CALL_FORMATS, chooserKey, exportErrorLine, exportResultLine, formatBytes, formatsFor, importResultLine, selectionIds } from '../../renderer/src/files/logic';
import { KEY_HELP, keyAction } from '../../renderer/src/keys';

test('one call is offered pcap, txt, svg, png, mmd, json; several the selection formats; each passes the contract check', () => {
  assert.deepEqual([...ONE_CALL_FORMATS], ['pcap', 'txt', 'svg', 'png', 'mmd', 'json']);
  assert.deepEqual(formatsFor(1), ONE_CALL_FORMATS);
  assert.deepEqual(formatsFor(3), SELECTION_FORMAT_NAMES);
  for (const format of formatsFor(1)) assert.ok(validateExportRequest({ callIds: ['a'], format }).ok, format);
  for (const format of formatsFor(2)) assert.ok(validateExportRequest({ callIds: ['a', 'b'], format }).ok, format);
});

test('the selection is capped at 10,000 Call-IDs, in list order', () => {
  const calls = Array.from({ length: 10_050 }, (_, i) => ({ callId: `c${i}` }));
  const ids = selectionIds(calls);
  assert.equal(ids.length, 10_000);
  assert.equal(ids[0], 'c0');
  assert.deepEqual(selectionIds(calls.slice(0, 2)), ['c0', 'c1']);
});

test('chooser keys: arrows wrap, Enter picks, Escape closes, a unique first letter picks, a shared one cycles', () => {
  const f = ONE_CALL_FORMATS; // pcap txt svg png mmd json
  assert.deepEqual(chooserKey(f, 0, 'ArrowDown'), { kind: 'move', index: 1 });
  assert.deepEqual(chooserKey(f, 0, 'ArrowUp'), { kind: 'move', index: 5 });
  assert.deepEqual(chooserKey(f, 5, 'ArrowDown'), { kind: 'move', index: 0 });
  assert.deepEqual(chooserKey(f, 2, 'Enter'), { kind: 'pick', index: 2 });
  assert.deepEqual(chooserKey(f, 2, 'Escape'), { kind: 'close' });
  assert.deepEqual(chooserKey(f, 0, 'j'), { kind: 'pick', index: 5 });
  assert.deepEqual(chooserKey(f, 0, 'T'), { kind: 'pick', index: 1 });
  assert.deepEqual(chooserKey(f, 0, 'p'), { kind: 'move', index: 3 }, 'pcap → png');
  assert.deepEqual(chooserKey(f, 3, 'p'), { kind: 'move', index: 0 }, 'png → pcap');
  assert.deepEqual(chooserKey(f, 1, 'p'), { kind: 'move', index: 3 });
  assert.equal(chooserKey(f, 0, 'x'), null);
  assert.equal(chooserKey(f, 0, 'Shift'), null);
  assert.deepEqual(chooserKey(SELECTION_FORMAT_NAMES, 0, 'm'), { kind: 'pick', index: 3 });
});

test('bytes and result lines', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(12_345), '12.3 kB');
  assert.equal(formatBytes(999_990), '1.0 MB');
  assert.equal(formatBytes(4_200_000), '4.2 MB');
  assert.equal(exportResultLine({ saved: true, bytes: 12_300, name: '/home/me/call-abc.pcap' }), 'saved 12.3 kB as call-abc.pcap');
  assert.equal(exportResultLine({ saved: false, bytes: 0, name: null }), 'export cancelled');
  assert.equal(exportErrorLine('export failed: no such call'), 'export failed: no such call');
  assert.equal(exportErrorLine('socket closed'), 'export failed: socket closed');
  assert.equal(
    importResultLine({ format: 'pcapng', messages: 7, calls: 1, skipped: { 'not SIP': 3, truncated: 0 } }),
    'imported 7 messages in 1 call (pcapng); skipped: not SIP 3',
  );
  assert.equal(importResultLine({ format: 'pcap', messages: 1, calls: 2, skipped: {} }), 'imported 1 message in 2 calls (pcap); skipped: nothing');
});

test('e is the export key and is in the help', () => {
  const press = { ctrlKey: false, metaKey: false, altKey: false, inEditable: false };
  assert.equal(keyAction({ key: 'e', ...press }), 'export');
  assert.equal(keyAction({ key: 'e', ...press, inEditable: true }), null);
  assert.ok(KEY_HELP.some((k) => k.keys === 'e' && /export/.test(k.action)));
});
