/**
 * The WAV header (engine/record/wav.ts): what we write is what sox reads,
 * bad headers come back as reasons, and a header a crash left with zero
 * sizes is repaired to cover every whole sample on disk.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { WAV_HEADER_BYTES, maxDataBytes, parseWavHeader, repairPlan, wavHeader } from '../../engine/record/wav';

const dir = mkdtempSync(join(tmpdir(), 'callpath-wav-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const soxi = (flag: string, file: string) => execFileSync('soxi', [flag, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
/** sox's decode of the file to raw 16-bit little-endian. */
const soxRaw = (file: string) => execFileSync('sox', [file, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-L', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });

/** `frames` frames of a recognisable ramp, interleaved. */
function ramp(frames: number, channels: number): Buffer {
  const b = Buffer.alloc(frames * channels * 2);
  for (let i = 0; i < frames * channels; i++) b.writeInt16LE(((i * 37) % 65536) - 32768, i * 2);
  return b;
}

test('a stereo 8 kHz header sox reads: 2 channels, 8000 Hz, 16-bit, every sample', () => {
  const samples = ramp(8000, 2);
  const file = join(dir, 'stereo.wav');
  writeFileSync(file, Buffer.concat([wavHeader({ channels: 2, dataBytes: samples.length }), samples]));
  assert.equal(soxi('-c', file), '2');
  assert.equal(soxi('-r', file), '8000');
  assert.equal(soxi('-b', file), '16');
  assert.equal(soxi('-s', file), '8000');
  assert.equal(soxi('-e', file), 'Signed Integer PCM');
  assert.ok(soxRaw(file).equals(samples), 'sox decodes the very samples written');
});

test('a mono header at another rate is read as such by sox', () => {
  const samples = ramp(1600, 1);
  const file = join(dir, 'mono.wav');
  writeFileSync(file, Buffer.concat([wavHeader({ sampleRate: 16000, channels: 1, dataBytes: samples.length }), samples]));
  assert.equal(soxi('-c', file), '1');
  assert.equal(soxi('-r', file), '16000');
  assert.equal(soxi('-s', file), '1600');
});

test('the header is the canonical 44 bytes: sizes, byte rate and block align in place', () => {
  const h = wavHeader({ channels: 2, dataBytes: 32000 });
  assert.equal(h.length, WAV_HEADER_BYTES);
  assert.equal(h.toString('latin1', 0, 4), 'RIFF');
  assert.equal(h.readUInt32LE(4), 36 + 32000);
  assert.equal(h.toString('latin1', 8, 16), 'WAVEfmt ');
  assert.equal(h.readUInt32LE(28), 32000, 'byte rate: 8000 frames of 4 bytes a second');
  assert.equal(h.readUInt16LE(32), 4);
  assert.equal(h.toString('latin1', 36, 40), 'data');
  assert.equal(h.readUInt32LE(40), 32000);
});

test('a data size that is not whole frames or past the 4 GiB RIFF limit is refused', () => {
  assert.throws(() => wavHeader({ channels: 2, dataBytes: 6 }), RangeError);
  assert.throws(() => wavHeader({ channels: 1, dataBytes: maxDataBytes(1) + 2 }), RangeError);
  assert.equal(wavHeader({ channels: 1, dataBytes: maxDataBytes(1) }).readUInt32LE(4), 0xffff_ffff - 1, 'the largest whole size fits');
});

test('parsing gives back the fields written, including sizes left at 0', () => {
  assert.deepEqual(parseWavHeader(wavHeader({ channels: 2, dataBytes: 0 })), { ok: true, header: { sampleRate: 8000, channels: 2, riffSize: 36, dataBytes: 0 } });
  const crashed = wavHeader({ channels: 1, dataBytes: 0 });
  crashed.writeUInt32LE(0, 4);
  assert.deepEqual(parseWavHeader(crashed), { ok: true, header: { sampleRate: 8000, channels: 1, riffSize: 0, dataBytes: 0 } });
});

test('headers that are not ours come back as reasons, not exceptions', () => {
  const h = () => wavHeader({ channels: 2, dataBytes: 0 });
  const cases: [string, Buffer, RegExp][] = [
    ['short', h().subarray(0, 20), /shorter than the 44-byte/],
    ['not RIFF', Buffer.concat([Buffer.from('RIFX'), h().subarray(4)]), /not a RIFF\/WAVE/],
    ['float', (() => { const b = h(); b.writeUInt16LE(3, 20); return b; })(), /audio format 3, not PCM/],
    ['three channels', (() => { const b = h(); b.writeUInt16LE(3, 22); return b; })(), /3 channels/],
    ['8-bit', (() => { const b = h(); b.writeUInt16LE(8, 34); return b; })(), /8 bits per sample/],
    ['LIST before data', (() => { const b = h(); b.write('LIST', 36, 'latin1'); return b; })(), /no data chunk/],
    ['byte rate wrong', (() => { const b = h(); b.writeUInt32LE(1, 28); return b; })(), /byte rate/],
  ];
  for (const [name, bytes, reason] of cases) {
    const r = parseWavHeader(bytes);
    assert.equal(r.ok, false, name);
    if (!r.ok) assert.match(r.reason, reason, name);
  }
});

test('parsing any bytes never throws', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, withMagic) => {
    const b = Buffer.from(bytes);
    if (withMagic && b.length >= 16) b.write('RIFF\0\0\0\0WAVEfmt ', 0, 'latin1');
    parseWavHeader(b);
  }), { numRuns: 500 });
});

test('repair plan: zero sizes cover every whole frame on disk, a trailing partial frame left out of the count', () => {
  const header = { sampleRate: 8000, channels: 2 as const, riffSize: 0, dataBytes: 0 };
  assert.deepEqual(repairPlan(header, 44 + 4000 + 3), { needed: true, riffSize: 36 + 4000, dataBytes: 4000, why: 'data size 0 (header never finalised)' });
  const mono = repairPlan({ ...header, channels: 1 }, 44 + 1001);
  assert.equal(mono.needed && mono.dataBytes, 1000, 'mono: the odd byte is left out');
});

test('repair plan: sizes larger than the file or too small are corrected; a finalised header is left alone', () => {
  const base = { sampleRate: 8000, channels: 2 as const };
  const big = repairPlan({ ...base, riffSize: 36 + 1_000_000, dataBytes: 1_000_000 }, 44 + 400);
  assert.ok(big.needed && big.dataBytes === 400 && /more than the 400 bytes/.test(big.why));
  const small = repairPlan({ ...base, riffSize: 36 + 400, dataBytes: 400 }, 44 + 800);
  assert.ok(small.needed && small.dataBytes === 800);
  const riff = repairPlan({ ...base, riffSize: 0, dataBytes: 800 }, 44 + 800);
  assert.ok(riff.needed && riff.riffSize === 836 && /RIFF size 0/.test(riff.why));
  assert.deepEqual(repairPlan({ ...base, riffSize: 836, dataBytes: 800 }, 44 + 800 + 2), { needed: false, dataBytes: 800 });
  assert.deepEqual(repairPlan({ ...base, riffSize: 0, dataBytes: 0 }, 44 + 3).needed, true, 'no whole frame: sizes still made consistent');
});

test('a header with zero sizes, repaired by the plan, makes sox read all the samples', () => {
  const samples = ramp(4000, 2);
  const file = join(dir, 'crashed.wav');
  const crashed = wavHeader({ channels: 2, dataBytes: 0 });
  crashed.writeUInt32LE(0, 4);
  const onDisk = Buffer.concat([crashed, samples, Buffer.from([1, 2, 3])]);
  writeFileSync(file, onDisk);
  assert.equal(soxi('-s', file), '0', 'before the repair sox reads nothing');
  const parsed = parseWavHeader(onDisk);
  assert.ok(parsed.ok);
  const plan = repairPlan(parsed.header, onDisk.length);
  assert.ok(plan.needed);
  wavHeader({ channels: 2, dataBytes: plan.dataBytes }).copy(onDisk, 0);
  writeFileSync(file, onDisk);
  assert.equal(soxi('-s', file), '4000');
  assert.ok(soxRaw(file).equals(samples));
});
