/**
 * The set of recordings (engine/record/recorder.ts): started after repairing
 * what a crash left, refusing with the reason when its folder cannot be
 * written, recording and stopping calls by Call-ID, counting what it cannot
 * place, bounded in recordings and in the finished list.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManualClock } from '../../engine/clock';
import { Recorder, type RecorderOptions } from '../../engine/record/recorder';
import { TapWriter } from '../../engine/rtp/shard/tap';
import { wavHeader } from '../../engine/record/wav';
import { g711Stream, soxChannel, soxDecode, soxi, tone } from '../helpers/g711-rtp';

const root = mkdtempSync(join(tmpdir(), 'callpath-recorder-'));
const mounts: string[] = [];
const recorders: Recorder[] = [];
after(async () => {
  for (const r of recorders) await r.close();
  for (const m of mounts) spawnSync('umount', [m]);
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function recorder(over: Partial<RecorderOptions> = {}) {
  const clock = createManualClock(Date.UTC(2024, 4, 1, 9, 30, 15) * 1000);
  const r = new Recorder({ dir: join(root, `d${n++}`), clock, ...over });
  recorders.push(r);
  return { r, clock };
}

const call = (callId: string) => ({ callId, fromUri: 'sip:alice@atlanta.com', fromTag: 'f1', toUri: 'sip:bob@biloxi.com', toTag: 't1' });

test('an unwritable folder puts the recorder in its error state with the reason; record is refused with it and pushes are only counted', async () => {
  const file = join(root, 'not-a-folder');
  writeFileSync(file, 'x');
  const dir = join(file, 'rec');
  const { r } = recorder({ dir });
  const started = await r.start();
  const reason = `cannot write recordings to ${dir}: part of the path is not a folder (ENOTDIR)`;
  assert.deepEqual({ ok: started.ok, reason: !started.ok && started.reason }, { ok: false, reason });
  const s = r.stats();
  assert.equal(s.state, 'error');
  assert.equal(s.error, reason);
  assert.deepEqual(r.record(call('c1')), { ok: false, reason });
  assert.equal(r.isRecording('c1'), false);
  assert.equal(r.push('c1', 'caller', 0, Buffer.alloc(172)), false);
  assert.equal(r.stats().totals.unknownCall, 1);
  assert.equal(r.stats().totals.refused, 1);
});

test('a folder the process may not write (read-only mount, or no permission) is reported with its errno', async (t) => {
  const isRoot = process.getuid?.() === 0;
  let dir: string;
  if (isRoot) {
    dir = mkdtempSync(join(root, 'ro-'));
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', dir]).status !== 0) return t.skip('cannot mount a tmpfs here');
    mounts.push(dir);
  } else {
    dir = join(root, 'locked');
    mkdirSync(dir);
    chmodSync(dir, 0o555);
  }
  const { r } = recorder({ dir });
  const started = await r.start();
  const what = isRoot ? 'read-only file system (EROFS)' : 'permission denied (EACCES)';
  assert.equal(!started.ok && started.reason, `cannot write recordings to ${dir}: ${what}`);
  assert.equal(r.stats().state, 'error');
});

test('start() repairs a WAV a crash left unfinished (header sizes 0) in DIR/YYYY-MM-DD and reports it', async () => {
  const { r } = recorder();
  const dir = r.stats().dir;
  const day = join(dir, '2023-12-31');
  mkdirSync(day, { recursive: true });
  const path = join(day, '235959.000Z-crashed-00000000.wav');
  const samples = Buffer.alloc(1600 * 2, 0x11);
  writeFileSync(path, Buffer.concat([wavHeader({ channels: 1, dataBytes: 0 }), samples]));
  const started = await r.start();
  assert.ok(started.ok);
  assert.equal(started.repair.repaired.length, 1);
  assert.equal(started.repair.repaired[0]!.path, path);
  assert.equal(started.repair.repaired[0]!.dataBytes, 3200);
  assert.equal(soxi('-s', path), '1600');
  assert.equal(r.stats().repair?.repaired.length, 1);
  assert.equal(r.stats().state, 'on');
});

test('records a call by Call-ID, idempotently; stopping it lists the WAV and sidecar, newest first, and the totals add up', async () => {
  const { r, clock } = recorder();
  assert.deepEqual(r.record(call('early')), { ok: false, reason: 'the recorder is off' }, 'nothing is written before the repair has run');
  assert.ok((await r.start()).ok);
  const start = clock.nowUs();
  assert.deepEqual(r.record({ ...call('c1'), payloads: { caller: new Map([[96, { name: 'PCMU', rate: 8000 }]]) } }), { ok: true });
  assert.deepEqual(r.record(call('c1')), { ok: true }, 'already recording is success');
  assert.equal(r.isRecording('c1'), true);
  assert.equal(r.stats().active.length, 1);

  const s = g711Stream(tone(1000, 1600), { pt: 96 });
  s.packets.forEach((p, i) => assert.equal(r.push('c1', 'caller', start + i * 20_000, p), true));
  assert.equal(r.push('nobody', 'callee', start, s.packets[0]!), false);
  r.drain();
  const active = r.stats().active[0]!;
  assert.equal(active.callId, 'c1');
  assert.equal(active.state, 'recording');
  assert.deepEqual(active.caller, { packets: 10, drops: 0 });

  clock.advanceMs(500);
  const summary = await r.stopCall('c1');
  assert.ok(summary !== null);
  assert.equal(summary.error, null);
  assert.equal(summary.endUs, start + 500_000);
  assert.equal(r.isRecording('c1'), false);
  assert.equal(await r.stopCall('c1'), null, 'stopping a call not being recorded is nothing');
  assert.deepEqual(soxChannel(summary.wav, 1), soxDecode('PCMU', s.payloads));
  assert.equal(JSON.parse(readFileSync(summary.metadata, 'utf8')).directions.caller.codec, 'PCMU');

  assert.deepEqual(r.record(call('c2')), { ok: true });
  clock.advanceMs(10);
  const [second] = await r.stopAll();
  const st = r.stats();
  assert.deepEqual(
    st.finished.map((f) => [f.callId, existsSync(f.wav), existsSync(f.metadata)]),
    [
      ['c2', true, true],
      ['c1', true, true],
    ],
  );
  assert.equal(st.finished[0]!.wav, second!.wav);
  assert.deepEqual(st.active, []);
  assert.deepEqual(st.totals, { recorded: 2, stopped: 2, failed: 0, refused: 1, drops: 0, unknownCall: 1, bytes: 1600 * 4 });
});

test('at most maxRecordings at once; the finished list keeps the newest finishedKept', async () => {
  const { r, clock } = recorder({ maxRecordings: 2, finishedKept: 2 });
  await r.start();
  assert.deepEqual(r.record(call('a')), { ok: true });
  assert.deepEqual(r.record(call('b')), { ok: true });
  assert.deepEqual(r.record(call('c')), { ok: false, reason: '2 calls are being recorded already (the limit)' });
  await r.stopCall('a');
  clock.advanceMs(1);
  assert.deepEqual(r.record(call('c')), { ok: true }, 'a stopped recording frees its place');
  await r.stopCall('b');
  await r.stopCall('c');
  assert.deepEqual(
    r.stats().finished.map((f) => f.callId),
    ['c', 'b'],
  );
  assert.equal(r.stats().totals.stopped, 3);
});

test('a full per-call queue is counted in the totals; the timer drains without the tests’ help', async () => {
  const { r, clock } = recorder({ queuePackets: 4, drainMs: 5 });
  await r.start();
  r.record(call('q'));
  const s = g711Stream(tone(500, 1600));
  const taken = s.packets.map((p, i) => r.push('q', 'caller', clock.nowUs() + i * 20_000, p));
  assert.deepEqual(taken, [true, true, true, true, false, false, false, false, false, false]);
  assert.equal(r.stats().totals.drops, 6);
  await new Promise((res) => setTimeout(res, 30));
  assert.equal(r.stats().active[0]!.queued, 0, 'drained by the timer');
  assert.equal(r.push('q', 'caller', clock.nowUs() + 200_000, s.packets[9]!), true);
  const [summary] = await r.close();
  assert.equal(summary!.drops, 6);
  assert.equal(r.stats().state, 'off');
  assert.deepEqual(r.record(call('after')), { ok: false, reason: 'the recorder is off' });
});

test("packets the relay's tap dropped (main thread behind, batch full) are counted per stream and direction, and the recording counts them as its drops", async () => {
  const tap = new TapWriter();
  const s = g711Stream(tone(500, 1600));
  for (const [i, p] of s.packets.entries()) tap.append({ slot: 7, side: i % 2 === 0 ? 0 : 1, arrivalUs: i, data: p });
  tap.append({ slot: 9, side: 1, arrivalUs: 0, data: s.packets[0]! });
  assert.equal(tap.discard(), 11, 'the batch the main thread was too far behind to take');
  tap.append({ slot: 7, side: 0, arrivalUs: 0, data: Buffer.alloc(0xffff) });
  tap.append({ slot: 7, side: 0, arrivalUs: 0, data: Buffer.alloc(0xffff) });
  tap.append({ slot: 7, side: 0, arrivalUs: 0, data: Buffer.alloc(0xffff) });
  tap.append({ slot: 7, side: 0, arrivalUs: 0, data: Buffer.alloc(0xffff) });
  assert.equal(tap.overflow, 1, 'the fourth 64 KiB datagram did not fit the batch');
  const dropped = tap.takeDropped();
  assert.deepEqual(dropped.sort((a, b) => a[0] - b[0]), [[7, 5 + 1, 5], [9, 0, 1]]);
  assert.deepEqual(tap.takeDropped(), [], 'each drop is reported once');

  const { r, clock } = recorder();
  await r.start();
  r.record(call('tapped'));
  r.push('tapped', 'caller', clock.nowUs(), s.packets[0]!);
  const [, caller, callee] = dropped.find(([slot]) => slot === 7)!;
  r.dropped('tapped', 'caller', caller);
  r.dropped('tapped', 'callee', callee);
  r.dropped('nobody', 'caller', 3);
  assert.equal(r.stats().totals.drops, 11);
  const [summary] = await r.close();
  assert.equal(summary!.drops, 11);
  const sidecar = JSON.parse(readFileSync(summary!.metadata, 'utf8')) as { directions: Record<'caller' | 'callee', { drops: number }> };
  assert.deepEqual([sidecar.directions.caller.drops, sidecar.directions.callee.drops], [6, 5]);
});

test("a recording started before SIP named the call gets From, To and the tags at the stop; what it already knew stays", async () => {
  const { r, clock } = recorder();
  assert.ok((await r.start()).ok);
  assert.deepEqual(r.record({ callId: 'bare', toTag: 'known' }), { ok: true });
  clock.advanceMs(100);
  const summary = await r.stopCall('bare', { fromUri: 'sip:alice@atlanta.com', fromTag: 'f9', toUri: 'sip:bob@biloxi.com', toTag: 'late' });
  const meta = JSON.parse(readFileSync(summary!.metadata, 'utf8'));
  assert.deepEqual([meta.from, meta.to], [{ uri: 'sip:alice@atlanta.com', tag: 'f9' }, { uri: 'sip:bob@biloxi.com', tag: 'known' }]);
});
