import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Snapshot } from '../../app/contract';
import { emptyKernelStats } from '../../engine/metrics/kernel-udp';
import { tryingFigure, wireBadge, wireCounter } from '../../renderer/src/wire';

const S = (p99: number, count = 10) => ({ count, p50: p99 / 2, p90: p99, p99, max: p99 });
const WIRE_OFF: Snapshot['wire'] = {
  mode: 'off', on: false, reason: 'off (--wire off)', iface: null, filter: null, tcpDestinations: [], packets: 0, paired: 0,
  wireOnly: { in: 0, out: 0 }, engineOnly: { in: 0, out: 0 }, dropped: 0,
  gapUs: { in: S(0, 0), out: S(0, 0), negative: { in: 0, out: 0 } }, trying100: S(0, 0), clockOffsetUs: 0, clockSpreadUs: 0, waiting: 0, pauses: 0, paused: false,
};
const SIP = { trying100: S(120) } as unknown as NonNullable<Snapshot['sip']>;

test('the header shows the wire 100 Trying p99 when the tap is on, the engine one otherwise, and says which', () => {
  const on = { ...WIRE_OFF, on: true, reason: null, trying100: S(84_000) };
  assert.deepEqual([tryingFigure({ sip: SIP, wire: on })!.side, tryingFigure({ sip: SIP, wire: on })!.summary.p99], ['wire', 84_000]);
  assert.match(tryingFigure({ sip: SIP, wire: on })!.title, /last minute/);
  const off = tryingFigure({ sip: SIP, wire: WIRE_OFF })!;
  assert.deepEqual([off.side, off.summary.p99], ['engine', 120]);
  assert.match(off.title, /Wire tap: off \(--wire off\)/);
  assert.equal(tryingFigure({ sip: null, wire: on }), null);
});

test('a message shows the gap between its wire time and the engine time, or who alone saw it', () => {
  assert.equal(wireBadge({ direction: 'in', tsUs: 1_000, engineTsUs: undefined, seen: undefined }), null);
  const b = wireBadge({ direction: 'in', tsUs: 1_000, engineTsUs: 85_163, seen: 'both' })!;
  assert.equal(b.text, 'wire time · engine read it +84.163 ms');
  assert.match(b.title, /kernel's socket queue/);
  assert.equal(wireBadge({ direction: 'out', tsUs: 1_000, engineTsUs: 1_013, seen: 'both' })!.text, 'wire time · engine stamp +0.013 ms');
  const dropped = wireBadge({ direction: 'in', tsUs: 1_000, seen: 'wire' })!;
  assert.equal(dropped.warn, true);
  assert.match(dropped.text, /never read by the proxy/);
  assert.equal(wireBadge({ direction: 'out', tsUs: 1_000, seen: 'engine' })!.warn, true);
});

test('the wire counter gives the in-gap p99 or the one-line reason the tap is off, with the kernel figures', () => {
  const off = wireCounter({ wire: { ...WIRE_OFF, reason: 'dumpcap exited with code 1: You don\'t have permission to capture on that device' }, kernel: emptyKernelStats() });
  assert.equal(off.value, 'off');
  assert.match(off.title, /^Wire tap off: dumpcap exited with code 1: You don't have permission/);
  const on = wireCounter({ wire: { ...WIRE_OFF, on: true, reason: null, iface: 'lo', filter: 'udp port 5060', gapUs: { in: S(2_500), out: S(10), negative: { in: 0, out: 0 } }, wireOnly: { in: 3, out: 0 } }, kernel: emptyKernelStats() });
  assert.equal(on.value, '2.500 ms');
  assert.equal(on.warn, true, 'INVITEs on the wire that the proxy never read');
  assert.match(on.title, /on the wire only 3 in/);
});

test('the wire counter says what --watch is doing', () => {
  const watch = { iface: 'lo', filter: 'udp port 5070', on: true, reason: null, source: 'watch', packets: 13, messages: 13, skipped: {} };
  assert.match(wireCounter({ wire: WIRE_OFF, kernel: emptyKernelStats(), watch }).title, /\nWatching lo \(udp port 5070\): 13 SIP messages as source "watch"$/);
  assert.match(wireCounter({ wire: WIRE_OFF, kernel: emptyKernelStats(), watch: { ...watch, on: false, reason: 'dumpcap is not installed (Debian: wireshark-common)' } }).title, /\nWatch off: dumpcap is not installed/);
});
