import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SELECTION_FORMATS, validateExportRequest } from '../../app/contract';
import { FORMAT_KEYS, ONE_CALL_FORMATS, chooserKey, columnNamesOf, exportErrorLine, exportResultLine, formatBytes, formatsFor, importFailed, importResultLine, selectionKeys } from '../../renderer/src/files/logic';
import { KEY_HELP, keyAction } from '../../renderer/src/keys';

test('one call is offered pcap, txt, svg, png, mmd, json; several the selection formats; each passes the contract check', () => {
  assert.deepEqual([...ONE_CALL_FORMATS], ['pcap', 'txt', 'svg', 'png', 'mmd', 'json']);
  assert.deepEqual(formatsFor(1), ONE_CALL_FORMATS);
  assert.deepEqual(formatsFor(3), SELECTION_FORMATS);
  for (const format of formatsFor(1)) assert.ok(validateExportRequest({ keys: ['a'], format }).ok, format);
  for (const format of formatsFor(2)) assert.ok(validateExportRequest({ keys: ['a', 'b'], format }).ok, format);
});

test('the selection is capped at 10,000 call keys, in list order, by key (a Call-ID can be stored twice)', () => {
  const calls = Array.from({ length: 10_050 }, (_, i) => ({ key: i % 2 ? `import-1/c${i}` : `c${i}` }));
  const keys = selectionKeys(calls);
  assert.equal(keys.length, 10_000);
  assert.equal(keys[0], 'c0');
  assert.deepEqual(selectionKeys(calls.slice(0, 2)), ['c0', 'import-1/c1']);
});

test('chooser keys: arrows wrap, Enter picks, Escape closes, each format answers its own key', () => {
  const f = ONE_CALL_FORMATS; // pcap txt svg png mmd json
  assert.deepEqual(chooserKey(f, 0, 'ArrowDown'), { kind: 'move', index: 1 });
  assert.deepEqual(chooserKey(f, 0, 'ArrowUp'), { kind: 'move', index: 5 });
  assert.deepEqual(chooserKey(f, 5, 'ArrowDown'), { kind: 'move', index: 0 });
  assert.deepEqual(chooserKey(f, 2, 'Enter'), { kind: 'pick', index: 2 });
  assert.deepEqual(chooserKey(f, 2, 'Escape'), { kind: 'close' });
  assert.deepEqual(chooserKey(f, 0, 'j'), { kind: 'pick', index: 5 });
  assert.deepEqual(chooserKey(f, 0, 'T'), { kind: 'pick', index: 1 });
  assert.deepEqual(chooserKey(f, 3, 'p'), { kind: 'pick', index: 0 }, 'p is pcap wherever the cursor is');
  assert.deepEqual(chooserKey(f, 0, 'n'), { kind: 'pick', index: 3 }, 'n is png');
  assert.equal(chooserKey(f, 0, 'x'), null);
  assert.equal(chooserKey(f, 0, 'Shift'), null);
  assert.deepEqual(chooserKey(SELECTION_FORMATS, 0, 'm'), { kind: 'pick', index: 3 });
  assert.equal(chooserKey(SELECTION_FORMATS, 0, 'n'), null, 'no png for several calls');
});

test('no two formats of a chooser share a key', () => {
  for (const formats of [ONE_CALL_FORMATS, SELECTION_FORMATS]) {
    const keys = formats.map((f) => FORMAT_KEYS[f]);
    assert.equal(new Set(keys).size, keys.length, formats.join(' '));
    formats.forEach((f, i) => assert.deepEqual(chooserKey(formats, 0, FORMAT_KEYS[f]), { kind: 'pick', index: i }, f));
  }
});

test('column names: the console aliases as the contract takes them, at most 256', () => {
  assert.deepEqual(columnNamesOf({}), {});
  assert.deepEqual(columnNamesOf({ 'a:1': 'UAC', 'b:2': '', '': 'x' }), { 'a:1': 'UAC' });
  const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`10.0.0.${i}:5060`, `n${i}`]));
  const out = columnNamesOf(many);
  assert.equal(Object.keys(out).length, 256);
  assert.ok(validateExportRequest({ keys: ['a'], format: 'txt', columnNames: out }).ok);
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
    importResultLine({ format: 'pcapng', messages: 7, calls: 1, source: 'import-1', skipped: { 'not SIP': 3, truncated: 0 } }),
    'imported 7 messages in 1 call (pcapng, source import-1); skipped: not SIP 3',
  );
  assert.equal(importResultLine({ format: 'pcap', messages: 1, calls: 2, source: 'import-2', skipped: {} }), 'imported 1 message in 2 calls (pcap, source import-2); skipped: nothing');
  const empty = { format: 'pcap', messages: 0, calls: 0, source: 'import-3', skipped: { 'not SIP': 12 } };
  assert.equal(importFailed(empty), true);
  assert.equal(importResultLine(empty), 'import failed: no SIP calls in the file (pcap); skipped: not SIP 12');
});

test('e is the export key and is in the help', () => {
  const press = { ctrlKey: false, metaKey: false, altKey: false, inEditable: false };
  assert.equal(keyAction({ key: 'e', ...press }), 'export');
  assert.equal(keyAction({ key: 'e', ...press, inEditable: true }), null);
  assert.ok(KEY_HELP.some((k) => k.keys === 'e' && /export/.test(k.action)));
});
