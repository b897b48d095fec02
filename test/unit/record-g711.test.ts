/**
 * G.711 (engine/record/g711.ts) against SoX 14.4.2, the tool the recorder's
 * acceptance test compares its WAVs with: every code byte decoded, every
 * 16-bit sample encoded, sample for sample.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePcma, decodePcmu, encodePcma, encodePcmu, PCMA_TO_LINEAR, PCMU_TO_LINEAR } from '../../engine/record/g711';

const RAW_S16 = ['-t', 's16', '-e', 'signed-integer', '-b', '16', '-L'];

/** Runs sox from `input` (written to a temp file) and returns the bytes it wrote. */
function sox(input: Uint8Array, from: string[], to: string[]): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'callpath-g711-'));
  try {
    const inFile = join(dir, 'in.raw');
    const outFile = join(dir, 'out.raw');
    writeFileSync(inFile, input);
    execFileSync('/usr/bin/sox', [...from, '-r', '8000', '-c', '1', inFile, ...to, outFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    return readFileSync(outFile);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const allCodes = Uint8Array.from({ length: 256 }, (_, i) => i);
const asInt16 = (b: Buffer) => Array.from(new Int16Array(b.buffer, b.byteOffset, b.length / 2));

test('µ-law decodes every code byte to the sample sox decodes it to (sox -t ul)', () => {
  const expected = asInt16(sox(allCodes, ['-t', 'ul'], RAW_S16));
  const ours = new Int16Array(256);
  decodePcmu(allCodes, ours, 0);
  assert.deepEqual(Array.from(ours), expected);
  assert.deepEqual(Array.from(PCMU_TO_LINEAR), expected);
});

test('A-law decodes every code byte to the sample sox decodes it to (sox -t al)', () => {
  const expected = asInt16(sox(allCodes, ['-t', 'al'], RAW_S16));
  const ours = new Int16Array(256);
  decodePcma(allCodes, ours, 0);
  assert.deepEqual(Array.from(ours), expected);
  assert.deepEqual(Array.from(PCMA_TO_LINEAR), expected);
});

test('the ITU reference points: µ-law 0xFF and 0x7F are 0, 0x00 is the most negative; A-law 0xD5 is +8, 0x55 is -8', () => {
  assert.equal(PCMU_TO_LINEAR[0xff], 0);
  assert.equal(PCMU_TO_LINEAR[0x7f], 0);
  assert.equal(PCMU_TO_LINEAR[0x00], -32124);
  assert.equal(PCMU_TO_LINEAR[0x80], 32124);
  assert.equal(PCMA_TO_LINEAR[0xd5], 8);
  assert.equal(PCMA_TO_LINEAR[0x55], -8);
  assert.equal(PCMA_TO_LINEAR[0xaa], 32256);
  assert.equal(PCMA_TO_LINEAR[0x2a], -32256);
});

test('decoding writes at the offset and nowhere else', () => {
  const out = new Int16Array(6).fill(7);
  decodePcmu(Uint8Array.of(0x00, 0x80), out, 2);
  assert.deepEqual(Array.from(out), [7, 7, -32124, 32124, 7, 7]);
  decodePcma(Uint8Array.of(0xd5), out, 5);
  assert.deepEqual(Array.from(out), [7, 7, -32124, 32124, 7, 8]);
});

// Every 16-bit sample, encoded; sox without dither (-D) so its output is a pure function of its input.
const allSamples = new Int16Array(65536).map((_, i) => i - 32768);
const allSampleBytes = new Uint8Array(allSamples.buffer);

test('µ-law encodes every 16-bit sample to the code sox -D encodes it to', () => {
  const expected = sox(allSampleBytes, RAW_S16, ['-D', '-t', 'ul']);
  const ours = Uint8Array.from(allSamples, encodePcmu);
  assert.equal(Buffer.compare(Buffer.from(ours), expected), 0, 'our µ-law encoding differs from sox');
});

test('A-law encodes every 16-bit sample to the code sox -D encodes it to', () => {
  const expected = sox(allSampleBytes, RAW_S16, ['-D', '-t', 'al']);
  const ours = Uint8Array.from(allSamples, encodePcma);
  assert.equal(Buffer.compare(Buffer.from(ours), expected), 0, 'our A-law encoding differs from sox');
});

test('encoding a decoded sample gives its code back (µ-law 0x7F, negative zero, comes back as 0xFF)', () => {
  for (let c = 0; c < 256; c++) {
    assert.equal(encodePcma(PCMA_TO_LINEAR[c]!), c, `A-law ${c}`);
    assert.equal(encodePcmu(PCMU_TO_LINEAR[c]!), c === 0x7f ? 0xff : c, `µ-law ${c}`);
  }
});

test('encoders clamp out-of-range, fractional and non-numeric input instead of wrapping', () => {
  assert.equal(encodePcmu(1e9), encodePcmu(32767));
  assert.equal(encodePcmu(-1e9), encodePcmu(-32768));
  assert.equal(encodePcma(40000), encodePcma(32767));
  assert.equal(encodePcma(Number.NaN), encodePcma(0));
  assert.equal(encodePcmu(100.9), encodePcmu(100));
  for (const x of [1e9, -1e9, Number.NaN, Infinity, -Infinity, 0.5]) {
    assert.ok(encodePcmu(x) >= 0 && encodePcmu(x) <= 255);
    assert.ok(encodePcma(x) >= 0 && encodePcma(x) <= 255);
  }
});
