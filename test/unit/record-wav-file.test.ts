/**
 * A WAV being recorded (engine/record/wav-file.ts): large sequential writes,
 * a bounded buffer whose drops are counted, and file errors on real
 * conditions (a full 64 KiB tmpfs, a read-only mount, an existing file) that
 * become an error state with a reason while the samples already on disk
 * stay playable.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BUFFER_BYTES, WavFile } from '../../engine/record/wav-file';
import { parseWavHeader } from '../../engine/record/wav';

const rejections: unknown[] = [];
process.on('unhandledRejection', (e) => rejections.push(e));

const dir = mkdtempSync(join(tmpdir(), 'callpath-wavfile-'));
const mounts: string[] = [];
after(() => {
  for (const m of mounts) spawnSync('umount', [m]);
  rmSync(dir, { recursive: true, force: true });
});

/** A tmpfs of `opts` at a fresh folder; null when this box does not let us mount (not root). */
function tmpfs(opts: string): string | null {
  const m = mkdtempSync(join(dir, 'mnt-'));
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', m]).status !== 0) return null;
  mounts.push(m);
  return m;
}

const soxi = (flag: string, file: string) => execFileSync('soxi', [flag, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const soxRaw = (file: string) => execFileSync('sox', [file, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-L', '-'], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
const tick = () => new Promise<void>((r) => setImmediate(r));
/**
 * A turn of the event loop, and while the writes are behind by more than half
 * the buffer, waits for them (up to 5 s): a minute of packets arrives over a
 * minute, so a busy box's slow disk must not make this test drop what the
 * recorder would have kept (a full buffer is tested below, on purpose).
 */
async function keepUp(f: WavFile): Promise<void> {
  await tick();
  for (let waited = 0; f.bufferedBytes > DEFAULT_BUFFER_BYTES / 2 && waited < 5_000; waited += 5) await new Promise((r) => setTimeout(r, 5));
}

/** Packet `i` of 20 ms at 8 kHz (160 frames), distinct per packet and channel. */
function packet(i: number, channels: number): Int16Array {
  const p = new Int16Array(160 * channels);
  for (let k = 0; k < p.length; k++) p[k] = ((i * 331 + k * 7) % 60000) - 30000;
  return p;
}
const bytesOf = (ps: Int16Array[]) => Buffer.concat(ps.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));

test('records a minute of stereo in a few large writes, not one per packet, and sox reads every sample', async () => {
  const path = join(dir, 'a', '2024-05-01', 'call.wav');
  const f = WavFile.create(path, { channels: 2 });
  const sent: Int16Array[] = [];
  for (let i = 0; i < 3000; i++) {
    const p = packet(i, 2);
    sent.push(p);
    assert.equal(f.append(p), true);
    if (i % 25 === 0) await keepUp(f); // the relay's pace, roughly: the event loop turns between bursts, and a real minute gives the disk time
  }
  const r = await f.close();
  assert.equal(r.error, null);
  assert.equal(r.droppedSamples, 0);
  assert.equal(r.dataBytes, 3000 * 640);
  assert.equal(r.durationMs, 60_000);
  // At least 64 KiB per write but the last, plus the header written at open and again at close.
  assert.ok(f.writes <= Math.ceil(r.dataBytes / 65536) + 2, `${f.writes} writes for 3000 appends`);
  assert.equal(soxi('-c', path), '2');
  assert.equal(soxi('-s', path), String(3000 * 160));
  assert.ok(soxRaw(path).equals(bytesOf(sent)), 'the samples sox decodes are the ones appended, in order');
});

test("flush() on the caller's timer puts a quiet call's few packets on disk before the buffer fills", async () => {
  const path = join(dir, 'quiet.wav');
  const f = WavFile.create(path, { channels: 1 });
  for (let i = 0; i < 10; i++) f.append(packet(i, 1));
  await f.flush();
  assert.equal(f.bytesWritten, 10 * 320);
  assert.equal(f.bufferedBytes, 0);
  assert.equal(statSync(path).size, 44 + 3200);
  assert.equal(f.durationMs, 200);
  await f.close();
  assert.equal(soxi('-s', path), '1600');
});

test('a full buffer while the disk is behind drops whole packets and counts them; what was taken is all in the file', async () => {
  const path = join(dir, 'burst.wav');
  // 8 KiB bound: the file is still opening, so a burst of 100 packets overruns it.
  const f = WavFile.create(path, { channels: 2, bufferBytes: 8192, flushBytes: 4096 });
  const taken: Int16Array[] = [];
  let refused = 0;
  for (let i = 0; i < 100; i++) {
    const p = packet(i, 2);
    if (f.append(p)) taken.push(p);
    else refused++;
  }
  assert.equal(taken.length, Math.floor(8192 / 640));
  assert.equal(f.drops['buffer-full'], refused * 320);
  assert.ok(f.bufferedBytes <= 8192);
  // Once the disk catches up, appends are taken again.
  await f.flush();
  assert.equal(f.append(packet(100, 2)), true);
  taken.push(packet(100, 2));
  const r = await f.close();
  assert.equal(r.droppedSamples, refused * 320);
  assert.ok(soxRaw(path).equals(bytesOf(taken)));
});

test('disk full on a 64 KiB tmpfs: error state with the reason, later appends only counted, header finalised for what reached the disk', async (t) => {
  const m = tmpfs('size=64k');
  if (m === null) return t.skip('cannot mount a tmpfs here (needs root)');
  const path = join(m, '2024-05-01', 'full.wav');
  const f = WavFile.create(path, { channels: 2 });
  const sent: Int16Array[] = [];
  for (let i = 0; i < 400 && f.error === null; i++) {
    const p = packet(i, 2);
    if (f.append(p)) sent.push(p);
    if (i % 10 === 0) await tick();
  }
  await f.flush();
  assert.equal(f.state, 'error');
  assert.equal(f.error, `disk full (ENOSPC) writing ${path}`);
  const before = f.drops.error;
  assert.ok(before > 0, 'what was waiting for the disk is counted as dropped');
  assert.equal(f.append(packet(999, 2)), false);
  assert.equal(f.drops.error, before + 320);
  const r = await f.close();
  assert.equal(r.error, `disk full (ENOSPC) writing ${path}`);
  const size = statSync(path).size;
  assert.ok(r.dataBytes > 32_000 && r.dataBytes === size - 44 - ((size - 44) % 4), `header covers the ${size - 44} bytes on disk`);
  const h = parseWavHeader(readFileSync(path).subarray(0, 44));
  assert.ok(h.ok && h.header.dataBytes === r.dataBytes && h.header.riffSize === r.dataBytes + 36);
  assert.equal(soxi('-s', path), String(r.dataBytes / 4));
  assert.ok(soxRaw(path).equals(bytesOf(sent).subarray(0, r.dataBytes)), 'every sample that reached the disk plays');
});

test('an unwritable folder: error state naming the folder problem, appends counted, close resolves', async (t) => {
  let parent: string;
  let reason: RegExp;
  if (process.getuid?.() === 0) {
    const m = tmpfs('ro,size=64k');
    if (m === null) return t.skip('cannot mount a tmpfs here');
    parent = m;
    reason = /^read-only file system \(EROFS\) creating the folder for /;
  } else {
    parent = join(dir, 'locked');
    mkdirSync(parent);
    chmodSync(parent, 0o555);
    reason = /^permission denied \(EACCES\) creating the folder for /;
  }
  const path = join(parent, '2024-05-01', 'x.wav');
  const f = WavFile.create(path, { channels: 1 });
  assert.equal(f.append(packet(0, 1)), true, 'taken while the file opens');
  await f.flush();
  assert.equal(f.state, 'error');
  assert.match(f.error ?? '', reason);
  assert.ok(f.error?.endsWith(path));
  assert.equal(f.drops.error, 160, 'the buffered packet is counted as dropped');
  assert.equal(f.append(packet(1, 1)), false);
  const r = await f.close();
  assert.deepEqual({ dataBytes: r.dataBytes, dropped: r.droppedSamples }, { dataBytes: 0, dropped: 320 });
  assert.equal(existsSync(path), false);
});

test('never writes over an existing file: the recording fails with the reason and the file is untouched', async () => {
  const path = join(dir, 'exists.wav');
  writeFileSync(path, 'keep me');
  const f = WavFile.create(path, { channels: 2 });
  const r = await f.close();
  assert.equal(r.error, `already exists (EEXIST) creating ${path}`);
  assert.equal(readFileSync(path, 'utf8'), 'keep me');
});

test('a stereo chunk that is not whole frames is dropped whole (channels never swap) and counted', async () => {
  const path = join(dir, 'odd.wav');
  const f = WavFile.create(path, { channels: 2 });
  assert.equal(f.append(new Int16Array(3)), false);
  assert.equal(f.drops['partial-frame'], 3);
  f.append(packet(0, 2));
  const r = await f.close();
  assert.equal(r.dataBytes, 640);
  assert.ok(soxRaw(path).equals(bytesOf([packet(0, 2)])));
});

test('closing twice gives the same result; appends after close are dropped as closed', async () => {
  const f = WavFile.create(join(dir, 'twice.wav'), { channels: 1 });
  f.append(packet(0, 1));
  const [a, b] = await Promise.all([f.close(), f.close()]);
  assert.equal(a, b);
  assert.equal(f.append(packet(1, 1)), false);
  assert.equal(f.drops.closed, 160);
  assert.equal(f.state, 'closed');
});

test('no promise rejection escaped any of the above', async () => {
  await tick();
  assert.deepEqual(rejections, []);
});
