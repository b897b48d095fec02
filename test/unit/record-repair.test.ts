/**
 * Start-up repair of recordings a crash left unfinished
 * (engine/record/repair.ts): every whole sample on disk plays again, bad
 * files are reported with a reason, and nothing outside the recordings
 * folder is read or written.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repairRecordings } from '../../engine/record/repair';
import { WavFile } from '../../engine/record/wav-file';
import { wavHeader } from '../../engine/record/wav';

const root = mkdtempSync(join(tmpdir(), 'callpath-repair-'));
after(() => rmSync(root, { recursive: true, force: true }));

const soxi = (flag: string, file: string) => execFileSync('soxi', [flag, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** What a crash leaves: a header with both sizes 0, then `bytes` of samples. */
function crashedWav(bytes: number, channels: 1 | 2 = 2): Buffer {
  const h = wavHeader({ channels, dataBytes: 0 });
  h.writeUInt32LE(0, 4);
  const body = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) body[i] = (i * 7) & 0xff;
  return Buffer.concat([h, body]);
}

test('repairs crashed WAVs so sox reads every whole sample; good, foreign and broken files are told apart', async () => {
  const dir = join(root, 'rec1');
  const day = join(dir, '2024-05-01');
  const outside = join(root, 'outside1');
  mkdirSync(day, { recursive: true });
  mkdirSync(join(dir, 'misc'));
  mkdirSync(outside);
  writeFileSync(join(day, 'crashed.wav'), crashedWav(4000 + 3));
  const good = Buffer.concat([wavHeader({ channels: 1, dataBytes: 800 }), Buffer.alloc(800)]);
  writeFileSync(join(day, 'good.wav'), good);
  writeFileSync(join(day, 'notes.txt'), 'not a wav');
  writeFileSync(join(day, 'garbage.wav'), 'hello, this is not a RIFF file at all, not even close!');
  writeFileSync(join(day, 'short.wav'), 'RIFF');
  writeFileSync(join(dir, 'misc', 'crashed.wav'), crashedWav(400));
  // Links out of the recordings folder: a file and a whole day.
  const victim = crashedWav(400);
  writeFileSync(join(outside, 'victim.wav'), victim);
  symlinkSync(join(outside, 'victim.wav'), join(day, 'link.wav'));
  symlinkSync(outside, join(dir, '2024-05-02'));

  const report = await repairRecordings(dir);

  assert.deepEqual(
    report.repaired.map((r) => ({ path: r.path, was: r.was, dataBytes: r.dataBytes, durationMs: r.durationMs, why: r.why })),
    [{ path: join(day, 'crashed.wav'), was: { riffSize: 0, dataBytes: 0 }, dataBytes: 4000, durationMs: 125, why: 'data size 0 (header never finalised)' }],
  );
  assert.equal(soxi('-s', join(day, 'crashed.wav')), '1000');
  assert.equal(statSync(join(day, 'crashed.wav')).size, 44 + 4003, 'the stray bytes are left on disk, only out of the count');
  const failed = Object.fromEntries(report.failed.map((f) => [f.path.slice(day.length + 1), f.reason]));
  assert.deepEqual(failed, { 'garbage.wav': 'not a RIFF/WAVE file', 'short.wav': 'shorter than the 44-byte WAV header (4 bytes)' });
  assert.equal(report.checked, 4);
  assert.equal(report.skipped, 1, 'the symlinked file');
  assert.equal(report.truncated, false);
  assert.ok(readFileSync(join(day, 'good.wav')).equals(good));
  assert.ok(readFileSync(join(outside, 'victim.wav')).equals(victim), 'nothing outside the recordings folder is written');
  assert.ok(readFileSync(join(dir, 'misc', 'crashed.wav')).equals(crashedWav(400)), 'only day folders are scanned');

  const again = await repairRecordings(dir);
  assert.deepEqual(again.repaired, [], 'a second start finds nothing to repair');
});

test('a recording whose process died before close is repaired to every sample it had flushed', async () => {
  const dir = join(root, 'rec2');
  const path = join(dir, '2024-05-01', 'live.wav');
  const f = WavFile.create(path, { channels: 2 });
  for (let i = 0; i < 50; i++) f.append(new Int16Array(320).fill(i));
  await f.flush();
  // No close: as if the process had been killed here.
  assert.equal(soxi('-s', path), '0', 'unrepaired, sox sees no samples');
  const report = await repairRecordings(dir);
  assert.equal(report.repaired.length, 1);
  assert.equal(soxi('-s', path), String(50 * 160));
  await f.close();
});

test('a missing recordings folder is an empty report, not an error', async () => {
  assert.deepEqual(await repairRecordings(join(root, 'nope')), { checked: 0, repaired: [], failed: [], skipped: 0, truncated: false });
});

test('the scan is bounded: it stops at the entry limit, newest day first, and says so', async () => {
  const dir = join(root, 'rec3');
  for (const d of ['2024-05-01', '2024-05-02']) {
    mkdirSync(join(dir, d), { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(join(dir, d, `${i}.wav`), crashedWav(40));
  }
  const report = await repairRecordings(dir, { maxEntries: 4 });
  assert.equal(report.truncated, true);
  assert.equal(report.checked, 4);
  assert.equal(report.repaired.filter((r) => r.path.includes('2024-05-02')).length, 3, 'the newest day is done first');
});
