import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mermaidLadder } from '../../engine/capture/mermaid';
import { textLadder } from '../../engine/capture/text-ladder';

const m = (tsUs: number, src: string, dst: string, label: string, retransmission = false) => ({ tsUs, src, dst, label, retransmission, raw: Buffer.from(`${label} sip:x SIP/2.0\r\nCall-ID: c1\r\n\r\n`) });
const call = [
  m(1_000_000, '127.0.0.1:5091', '127.0.0.1:5060', 'INVITE'),
  m(1_000_300, '127.0.0.1:5060', '127.0.0.1:5091', '100 Trying'),
  m(1_000_500, '127.0.0.1:5060', '127.0.0.1:5090', 'INVITE'),
  m(1_000_900, '127.0.0.1:5090', '127.0.0.1:5060', '180 Ringing;x#1'),
  m(1_500_900, '127.0.0.1:5091', '127.0.0.1:5060', 'INVITE', true),
];

/** The subset of Mermaid's sequenceDiagram grammar we emit; anything else is a bug. */
const MERMAID_LINE = [/^sequenceDiagram$/, /^ {2}%% .*$/, /^ {2}participant P\d+ as [^;#\n]+$/, /^ {2}P\d+(->>|-->>)P\d+: [^;#\n]+$/];

test('Mermaid output is a sequenceDiagram our grammar accepts, one arrow per message, retransmissions dotted', () => {
  const text = mermaidLadder('c1;evil#', call);
  const lines = text.trimEnd().split('\n');
  for (const line of lines) assert.ok(MERMAID_LINE.some((re) => re.test(line)), `not valid Mermaid: ${JSON.stringify(line)}`);
  assert.equal(lines.filter((l) => l.startsWith('  participant')).length, 3, 'columns are distinct addresses');
  const arrows = lines.filter((l) => /P\d+-*>>P\d+/.test(l));
  assert.equal(arrows.length, call.length);
  assert.match(arrows[4]!, /^ {2}P0-->>P1: INVITE \+500\.900 ms \(retransmission\)$/);
  assert.match(arrows[1]!, /^ {2}P1->>P0: 100 Trying \+0\.300 ms$/);
});

test('the text ladder draws arrows between address columns in order, marks retransmissions, then lists raw messages', () => {
  const text = textLadder('c1', call);
  const lines = text.split('\n');
  assert.equal(lines[0], 'Call-ID: c1');
  const header = lines[3]!;
  assert.ok(header.indexOf('127.0.0.1:5091') < header.indexOf('127.0.0.1:5060') && header.indexOf('127.0.0.1:5060') < header.indexOf('127.0.0.1:5090'));
  const rows = lines.slice(4, 4 + call.length);
  assert.match(rows[0]!, /\+0\.000 +\|-+INVITE-+>\|/);
  assert.match(rows[1]!, /\+0\.300 +\|<-+100 Trying-+\|/);
  assert.match(rows[4]!, /\+500\.900 +\|\.+R INVITE\.+>\|/);
  assert.equal((text.match(/^----- #\d+/gm) ?? []).length, call.length);
});

test('the pcap selection merge keeps time order across calls, even when calls interleave', async () => {
  const { mergeByTime } = await import('../../engine/capture/export-stream');
  const a = [1, 4, 9, 10].map((tsUs) => ({ tsUs, from: 'a' }));
  const b = [2, 3, 11].map((tsUs) => ({ tsUs, from: 'b' }));
  const c = [0, 5].map((tsUs) => ({ tsUs, from: 'c' }));
  const next = mergeByTime([a, [], b, c]);
  const got = [...next(4), ...next(4), ...next(4)];
  assert.deepEqual(got.map((x) => x.tsUs), [0, 1, 2, 3, 4, 5, 9, 10, 11]);
  assert.deepEqual(next(4), []);
});
