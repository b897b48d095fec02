import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffLines, diffStats, messageLines, type DiffLine } from '../../renderer/src/ladder/diff';

const show = (d: DiffLine[]) => d.map((l) => `${l.op === 'same' ? ' ' : l.op === 'add' ? '+' : '-'}${l.text}`);
/** Applying the diff must give back both inputs. */
function roundTrip(a: string[], b: string[]): DiffLine[] {
  const d = diffLines(a, b);
  assert.deepEqual(d.filter((l) => l.op !== 'add').map((l) => l.text), a, 'the old side is the first input');
  assert.deepEqual(d.filter((l) => l.op !== 'del').map((l) => l.text), b, 'the new side is the second input');
  return d;
}

test('identical messages diff to all-same lines numbered on both sides', () => {
  const d = roundTrip(['a', 'b', 'c'], ['a', 'b', 'c']);
  assert.deepEqual(d.map((l) => [l.op, l.a, l.b]), [['same', 1, 1], ['same', 2, 2], ['same', 3, 3]]);
});

test('a changed header shows as the old line removed then the new line added, between unchanged lines', () => {
  const a = ['INVITE sip:bob SIP/2.0', 'Via: SIP/2.0/UDP a;branch=z9hG4bK-1', 'Max-Forwards: 70', 'CSeq: 1 INVITE'];
  const b = ['INVITE sip:bob SIP/2.0', 'Via: SIP/2.0/UDP p;branch=z9hG4bK-2', 'Via: SIP/2.0/UDP a;branch=z9hG4bK-1', 'Max-Forwards: 69', 'CSeq: 1 INVITE'];
  const d = roundTrip(a, b);
  assert.deepEqual(show(d), [
    ' INVITE sip:bob SIP/2.0',
    '+Via: SIP/2.0/UDP p;branch=z9hG4bK-2',
    ' Via: SIP/2.0/UDP a;branch=z9hG4bK-1',
    '-Max-Forwards: 70',
    '+Max-Forwards: 69',
    ' CSeq: 1 INVITE',
  ]);
  assert.deepEqual(diffStats(d), { added: 2, removed: 1, same: 3 });
  const mf = d.find((l) => l.text === 'Max-Forwards: 69')!;
  assert.deepEqual([mf.a, mf.b], [null, 4]);
});

test('keeps a longest common subsequence (classic ABCABBA / CBABAC: 4 lines kept)', () => {
  const d = roundTrip([...'ABCABBA'], [...'CBABAC']);
  assert.equal(diffStats(d).same, 4);
});

test('handles empty sides: everything added or everything removed', () => {
  assert.deepEqual(show(roundTrip([], ['x', 'y'])), ['+x', '+y']);
  assert.deepEqual(show(roundTrip(['x', 'y'], [])), ['-x', '-y']);
  assert.deepEqual(diffLines([], []), []);
});

test('matches repeated lines without losing any (property check on random inputs)', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let k = 0; k < 200; k++) {
    const gen = () => Array.from({ length: Math.floor(rnd() * 12) }, () => 'abcd'[Math.floor(rnd() * 4)]!);
    roundTrip(gen(), gen());
  }
});

test('splits raw messages on CRLF or LF without a phantom last line', () => {
  assert.deepEqual(messageLines('A\r\nB: 1\r\n\r\nv=0\r\n'), ['A', 'B: 1', '', 'v=0']);
  assert.deepEqual(messageLines('A\nB'), ['A', 'B']);
});

test('diffs two 2,000-line messages with one change in well under a second', () => {
  const a = Array.from({ length: 2000 }, (_, i) => `X-Line-${i}: ${i}`);
  const b = [...a];
  b[1000] = 'X-Changed: yes';
  const t0 = performance.now();
  const d = diffLines(a, b);
  assert.ok(performance.now() - t0 < 1000);
  assert.deepEqual(diffStats(d), { added: 1, removed: 1, same: 1999 });
});
