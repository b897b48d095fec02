/**
 * What the recorder lost of each call reaches the call (engine/record/
 * drop-reports.ts, Recorder.reportDrops): packets dropped on the way to its
 * recording and PCM frames not forwarded, one report per call from the
 * once-a-second tick (the first at once, then at most every 5 s), none
 * lost when the recording stops between two ticks.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManualClock } from '../../engine/clock';
import { type CallDropReport, DropReports, REPORT_EVERY_US } from '../../engine/record/drop-reports';
import type { Forwarder } from '../../engine/record/forward/forwarder';
import { Recorder } from '../../engine/record/recorder';
import { g711Stream, tone } from '../helpers/g711-rtp';

const root = mkdtempSync(join(tmpdir(), 'callpath-drop-reports-'));
const recorders: Recorder[] = [];
after(async () => {
  for (const r of recorders) await r.close();
  rmSync(root, { recursive: true, force: true });
});

test("a call's drops are reported at once, then at most every 5 s, each report the drops since the previous one; `all` reports every call waiting", () => {
  const d = new DropReports();
  d.add('a', 3, 0);
  d.add('a', 0, 40);
  d.add('b', 0, 0);
  assert.equal(d.waiting, 1, 'nothing to say of b');
  assert.deepEqual(d.take(0), [{ callId: 'a', drops: 3, framesDropped: 40 }]);
  d.add('a', 1, 1);
  d.add('c', 2, 0);
  assert.deepEqual(d.take(1_000_000), [{ callId: 'c', drops: 2, framesDropped: 0 }], 'a waits: reported a second ago');
  d.add('a', 1, 0);
  assert.deepEqual(d.take(REPORT_EVERY_US), [{ callId: 'a', drops: 2, framesDropped: 1 }], 'then a with everything since its last report');
  d.add('a', 5, 0);
  assert.deepEqual(d.take(REPORT_EVERY_US + 1, true), [{ callId: 'a', drops: 5, framesDropped: 0 }], 'the last report waits for nothing');
  assert.equal(d.waiting, 0);
});

/** A forwarder that only says what it dropped per call. */
function forwarderDropping(batches: [string, number][][]): Pick<Forwarder, 'send' | 'end' | 'stats' | 'takeDropped'> {
  return { send: () => undefined, end: async () => undefined, stats: () => null as unknown as ReturnType<Forwarder['stats']>, takeDropped: () => new Map(batches.shift() ?? []) };
}

test("the recorder reports each call's packet drops and its forwarder's frames not forwarded from its once-a-second tick; a recording stopped between two ticks keeps its last counts", async () => {
  const clock = createManualClock(Date.UTC(2024, 4, 1, 9, 30, 15) * 1000);
  const reports: CallDropReport[] = [];
  const r = new Recorder({ dir: join(root, 'rec'), clock, queuePackets: 2, drainMs: 60_000, forwarder: forwarderDropping([[['a', 10], ['gone', 4]], [['a', 6]]]), onDrops: (x) => reports.push(x) });
  recorders.push(r);
  assert.ok((await r.start()).ok);
  const packets = g711Stream(tone(500, 1600)).packets;
  r.record({ callId: 'a' });
  r.record({ callId: 'quiet' });
  for (const p of packets.slice(0, 5)) r.push('a', 'caller', clock.nowUs(), p);
  r.push('quiet', 'caller', clock.nowUs(), packets[0]!);
  r.dropped('a', 'callee', 2);
  clock.advanceMs(1_000);
  r.drain();
  assert.deepEqual(reports, [
    { callId: 'a', drops: 3 + 2, framesDropped: 10 },
    { callId: 'gone', drops: 0, framesDropped: 4 },
  ], 'the full queue refused 3 of 5, the tap dropped 2; quiet lost nothing');
  reports.length = 0;
  for (const p of packets.slice(0, 4)) r.push('a', 'caller', clock.nowUs(), p);
  // Its recording stops before the next tick, and the relay's last report of its tap comes after that.
  await r.stopCall('a');
  r.dropped('a', 'caller', 3);
  r.dropped('never-recorded', 'caller', 9);
  clock.advanceMs(1_000);
  r.drain();
  assert.deepEqual(reports, [], 'a was reported a second ago: it waits');
  r.reportDrops(true);
  assert.deepEqual(reports, [{ callId: 'a', drops: 2 + 3, framesDropped: 6 }], 'nothing lost to the stop; a call never recorded is not reported');
  assert.equal(r.stats().totals.drops, 5 + 5, 'and the totals hold what the calls were told');
});
