/**
 * One call recorded (engine/record/call-recording.ts): G.711 RTP from both
 * directions in, a WAV whose channels sox decodes to exactly what was sent,
 * on one clock, and a JSON sidecar with the figures; a full queue and a full
 * disk cost what they must and nothing already written.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CallRecording, type CallRecordingOptions, type DirectionPayloads } from '../../engine/record/call-recording';
import type { RecordingMetadata } from '../../engine/record/metadata';
import { until } from '../helpers/until';
import { g711Stream, noise, rtpPacket, soxChannel, soxDecode, soxi, tone, zeros } from '../helpers/g711-rtp';

const root = mkdtempSync(join(tmpdir(), 'callpath-callrec-'));
const mounts: string[] = [];
after(() => {
  for (const m of mounts) spawnSync('umount', [m]);
  rmSync(root, { recursive: true, force: true });
});

/** 2024-05-01T09:30:15.123Z */
const START_US = Date.UTC(2024, 4, 1, 9, 30, 15, 123) * 1000;
const MS = 1000;
const CALL = { callId: 'a84b4c76e66710@pc33.atlanta.com', fromUri: 'sip:alice@atlanta.com', fromTag: '1928301774', toUri: 'sip:bob@biloxi.com', toTag: 'a6c85cf' };

// 1 s of a 1 kHz tone from the caller (PCMU); 1 s of seeded noise from the callee (PCMA), starting 100 ms later.
const caller = g711Stream(tone(1000, 8000), { law: 'PCMU', ssrc: 0x1111 });
const callee = g711Stream(noise(7, 8000), { law: 'PCMA', ssrc: 0x2222, seq0: 65_500 });
const CALLEE_DELAY_MS = 100;
const callerPcm = soxDecode('PCMU', caller.payloads);
const calleePcm = soxDecode('PCMA', callee.payloads);

interface Push {
  dir: 'caller' | 'callee';
  at: number;
  packet: Buffer;
}

/** Both directions in arrival order: packet i of the caller at 20 i ms, of the callee at 100 + 20 i ms. */
function arrivals(c: Buffer[] = caller.packets, e: Buffer[] = callee.packets): Push[] {
  const out: Push[] = [
    ...c.map((packet, i) => ({ dir: 'caller' as const, at: START_US + 20 * MS * i, packet })),
    ...e.map((packet, i) => ({ dir: 'callee' as const, at: START_US + (CALLEE_DELAY_MS + 20 * i) * MS, packet })),
  ];
  return out.sort((a, b) => a.at - b.at);
}

let n = 0;
function recording(options: CallRecordingOptions = {}, payloads: DirectionPayloads = {}, dir = join(root, `r${n++}`)) {
  return new CallRecording(CALL, dir, START_US, payloads, options);
}

/** Pushes everything, draining every few packets as the Recorder's timer would, and stops. */
async function record(pushes: Push[], options: CallRecordingOptions = {}, payloads: DirectionPayloads = {}) {
  const rec = recording(options, payloads);
  pushes.forEach((p, i) => {
    assert.equal(rec.push(p.dir, p.at, p.packet), true);
    if (i % 7 === 6) rec.drain();
  });
  const summary = await rec.stop();
  return { rec, summary };
}

const pause = () => new Promise<void>((r) => setTimeout(r, 2));
const readMeta = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as RecordingMetadata;

test('stereo: the caller is left, the callee right, each equal to sox’s decode of its payload, the callee exactly 100 ms (800 samples) in', async () => {
  const { summary } = await record(arrivals());
  assert.equal(summary.error, null);
  assert.equal(soxi('-c', summary.wav), '2');
  assert.equal(soxi('-r', summary.wav), '8000');
  const frames = 8000 + 800;
  assert.equal(soxi('-s', summary.wav), String(frames));
  assert.deepEqual(soxChannel(summary.wav, 1), [...callerPcm, ...zeros(800)]);
  assert.deepEqual(soxChannel(summary.wav, 2), [...zeros(800), ...calleePcm]);
  assert.equal(summary.bytes, frames * 4);
  assert.equal(summary.durationMs, 1100);
});

test('mono: the two directions summed on the same clock, clipped to 16 bits', async () => {
  const { summary } = await record(arrivals(), { mix: 'mono' });
  const left = [...callerPcm, ...zeros(800)];
  const right = [...zeros(800), ...calleePcm];
  const mixed = left.map((v, i) => Math.max(-32768, Math.min(32767, v + right[i]!)));
  assert.ok(mixed.some((v, i) => v !== left[i]! + right[i]!), 'the signals are loud enough to clip somewhere');
  assert.equal(soxi('-c', summary.wav), '1');
  assert.deepEqual(soxChannel(summary.wav, 0), mixed);
});

test('a dropped packet is exactly 160 samples of silence in its place in its channel; the sidecar counts it lost', async () => {
  const lossy = arrivals().filter((p) => p.packet !== caller.packets[10]);
  const { summary } = await record(lossy);
  assert.deepEqual(soxChannel(summary.wav, 1), [...callerPcm.slice(0, 1600), ...zeros(160), ...callerPcm.slice(1760), ...zeros(800)]);
  assert.deepEqual(soxChannel(summary.wav, 2), [...zeros(800), ...calleePcm]);
  const meta = readMeta(summary.metadata);
  assert.equal(meta.directions.caller.lost, 1);
  assert.equal(meta.directions.caller.packets, 49);
  assert.equal(meta.directions.callee.lost, 0);
});

test('reordered and duplicated packets give the same WAV, byte for byte, as the stream in order', async () => {
  const inOrder = await record(arrivals());
  // The packets' contents swap places in the arrival slots (the first two included); some arrive twice.
  const swap = (ps: Buffer[], pairs: [number, number][]) => {
    const out = [...ps];
    for (const [a, b] of pairs) [out[a], out[b]] = [out[b]!, out[a]!];
    return out;
  };
  const pushes = arrivals(swap(caller.packets, [[0, 1], [7, 9], [30, 31]]), swap(callee.packets, [[4, 5], [20, 22]]));
  const dupes = [3, 12, 40].map((i) => ({ ...pushes[i]!, at: pushes[i]!.at + 5 * MS }));
  const mixed = [...pushes, ...dupes].sort((a, b) => a.at - b.at);
  const shuffled = await record(mixed);
  assert.ok(readFileSync(shuffled.summary.wav).equals(readFileSync(inOrder.summary.wav)));
  const meta = readMeta(shuffled.summary.metadata);
  assert.equal(meta.directions.caller.duplicates + meta.directions.callee.duplicates, 3);
  assert.equal(meta.directions.caller.lost + meta.directions.callee.lost, 0);
});

test('the JSON sidecar names the WAV and has per-direction figures: packets, lost, drops, codec, what was not decoded', async () => {
  const event = (i: number) => rtpPacket({ seq: 4000 + 50 + i, ts: 90_000 + 8000, ssrc: 0x1111, pt: 101, marker: i === 0, payload: Uint8Array.of(1, 10, 0, 160 * (i + 1)) });
  const g729 = rtpPacket({ seq: 65_500 + 50, ts: 90_000 + 8000, ssrc: 0x2222, pt: 18, payload: new Uint8Array(20) });
  const pushes = [...arrivals(), ...[0, 1, 2].map((i) => ({ dir: 'caller' as const, at: START_US + (1000 + 20 * i) * MS, packet: event(i) })), { dir: 'callee' as const, at: START_US + 1100 * MS, packet: g729 }];
  const payloads = { caller: new Map([[101, { name: 'telephone-event', rate: 8000 }]]) };
  const { summary } = await record(
    pushes.sort((a, b) => a.at - b.at),
    {},
    payloads,
  );
  const meta = readMeta(summary.metadata);
  assert.equal(meta.version, 1);
  assert.equal(meta.callId, CALL.callId);
  assert.deepEqual(meta.from, { uri: CALL.fromUri, tag: CALL.fromTag });
  assert.deepEqual(meta.to, { uri: CALL.toUri, tag: CALL.toTag });
  assert.equal(meta.files.wav, basename(summary.wav));
  assert.equal(meta.files.folder, '2024-05-01');
  assert.equal(meta.start.iso, '2024-05-01T09:30:15.123000Z');
  assert.equal(meta.channels.layout, 'stereo: caller left, callee right');
  assert.deepEqual(meta.directions.caller, {
    codec: 'PCMU',
    undecoded: [{ payloadType: 101, name: 'telephone-event', packets: 3 }],
    packets: 53,
    lost: 0,
    late: 0,
    duplicates: 0,
    drops: 0,
  });
  assert.deepEqual(meta.directions.callee, { codec: 'PCMA', undecoded: [{ payloadType: 18, name: 'G729', packets: 1 }], packets: 51, lost: 0, late: 0, duplicates: 0, drops: 0 });
  assert.equal(meta.bytes, summary.bytes);
  assert.equal(meta.durationMs, 1100);
  assert.equal(Number(soxi('-D', summary.wav)), meta.durationMs / 1000);
  assert.ok(meta.end !== null && meta.end.us >= START_US + 1100 * MS);
});

test('a full queue refuses packets and counts them per direction; the WAV is complete and valid for what was taken', async () => {
  const rec = recording({ queuePackets: 10 });
  const taken = caller.packets.slice(0, 30).map((p, i) => rec.push('caller', START_US + 20 * MS * i, p));
  assert.deepEqual(taken, [...Array.from({ length: 10 }, () => true), ...Array.from({ length: 20 }, () => false)]);
  assert.equal(rec.push('callee', START_US, callee.packets[0]!), false);
  const f = rec.figures();
  assert.deepEqual([f.caller, f.callee, f.queued], [{ packets: 10, drops: 20 }, { packets: 0, drops: 1 }, 10]);
  const summary = await rec.stop();
  assert.equal(summary.drops, 21);
  assert.equal(soxi('-s', summary.wav), '1600');
  assert.deepEqual(soxChannel(summary.wav, 1), callerPcm.slice(0, 1600));
  assert.deepEqual(soxChannel(summary.wav, 2), zeros(1600));
  const meta = readMeta(summary.metadata);
  assert.equal(meta.directions.caller.drops, 20);
  assert.equal(meta.directions.callee.drops, 1);
  assert.equal(rec.push('caller', START_US, caller.packets[40]!), false, 'a stopped recording takes nothing');
  assert.equal(rec.refusedAfterStop, 1);
  assert.equal(rec.state, 'stopped');
});

test('a direction gone quiet does not hold the other back: audio reaches the disk during the call, and the quiet side resumes at its own time', async () => {
  const rec = recording();
  const talk = g711Stream(tone(1000, 8000 * 3), { ssrc: 0x1111 });
  // The callee sends 200 ms, pauses (silence suppression: no packets, its timestamps keep counting), and resumes 2 s after its start.
  const burst = g711Stream(noise(9, 8000 * 3), { law: 'PCMA', ssrc: 0x2222 });
  const resumeAt = 100;
  const sent = (i: number) => i < 10 || i >= resumeAt;
  const pushes: Push[] = [
    ...talk.packets.map((packet, i) => ({ dir: 'caller' as const, at: START_US + 20 * MS * i, packet })),
    ...burst.packets.flatMap((packet, i) => (sent(i) && i < resumeAt + 20 ? [{ dir: 'callee' as const, at: START_US + (CALLEE_DELAY_MS + 20 * i) * MS, packet }] : [])),
  ].sort((a, b) => a.at - b.at);
  const beforeResume = pushes.filter((p) => p.at < START_US + (CALLEE_DELAY_MS + 20 * resumeAt) * MS);
  for (const p of beforeResume) {
    rec.push(p.dir, p.at, p.packet);
    rec.drain();
  }
  rec.flushToDisk();
  const onDisk = await until('the flush', () => rec.figures().bytes > 0 && rec.figures().durationMs, 2000);
  assert.ok(onDisk >= 1000, `${onDisk} ms on disk while the callee is quiet`);
  for (const p of pushes.slice(beforeResume.length)) {
    rec.push(p.dir, p.at, p.packet);
    rec.drain();
  }
  const summary = await rec.stop();
  const decoded = soxDecode('PCMA', burst.payloads);
  const first = decoded.slice(0, 1600);
  const resumed = decoded.slice(resumeAt * 160, (resumeAt + 20) * 160);
  const right = soxChannel(summary.wav, 2);
  assert.deepEqual(right.slice(0, 800 + 1600), [...zeros(800), ...first]);
  assert.deepEqual(right.slice(800 + 1600, 800 + 16_000), zeros(16_000 - 1600), 'the pause is silence');
  assert.deepEqual(right.slice(800 + 16_000, 800 + 16_000 + resumed.length), resumed, 'the resumed audio is at 2.1 s, where it was sent');
  assert.deepEqual(soxChannel(summary.wav, 1).slice(0, 24_000), soxDecode('PCMU', talk.payloads));
});

/** A tmpfs of `opts` at a fresh folder; null when this box does not let us mount (not root). */
function tmpfs(opts: string): string | null {
  const m = mkdtempSync(join(root, 'mnt-'));
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', m]).status !== 0) return null;
  mounts.push(m);
  return m;
}

test('disk full on a 64 KiB tmpfs: error state with the reason, pushes still taken and never throwing, and stop finalises what reached the disk', async (t) => {
  const m = tmpfs('size=64k');
  if (m === null) return t.skip('cannot mount a tmpfs here (needs root)');
  const rec = recording({}, {}, m);
  // 20 s of the call (640 KB of stereo) over and over: ten times what the disk holds.
  const long = g711Stream(tone(440, 8000 * 20), { ssrc: 0x3333 });
  let i = 0;
  for (; i < long.packets.length && rec.state === 'recording'; i++) {
    assert.equal(rec.push('caller', START_US + 20 * MS * i, long.packets[i]!), true);
    if (i % 10 === 9) {
      rec.drain();
      rec.flushToDisk();
      await pause();
    }
  }
  assert.equal(rec.state, 'error');
  const reason = `disk full (ENOSPC) writing ${rec.paths.wav}`;
  assert.equal(rec.error, reason);
  assert.equal(rec.figures().error, reason);
  for (let k = 0; k < 20; k++) assert.equal(rec.push('caller', START_US + 20 * MS * (i + k), long.packets[i + k]!), true, 'taken and counted after the error');
  assert.doesNotThrow(() => rec.drain());
  const summary = await rec.stop();
  assert.equal(summary.error, reason);
  assert.ok(summary.bytes > 32_000, `${summary.bytes} bytes reached the disk`);
  assert.ok(summary.droppedSamples > 0);
  assert.equal(soxi('-s', summary.wav), String(summary.bytes / 4));
  const expected = soxDecode('PCMU', long.payloads);
  const onDisk = soxChannel(summary.wav, 0);
  assert.deepEqual(
    onDisk.filter((_, k) => k % 2 === 0),
    expected.slice(0, summary.bytes / 4),
    'every caller sample that reached the disk plays, in place',
  );
  assert.ok(
    onDisk.every((v, k) => k % 2 === 0 || v === 0),
    'the silent callee is silence',
  );
});
