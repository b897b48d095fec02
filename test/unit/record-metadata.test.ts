/**
 * Where a recording goes and the JSON sidecar beside it
 * (engine/record/metadata.ts): paths that stay inside the recordings folder
 * whatever Call-ID the network sends, and a versioned document written
 * atomically.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { type RecordingDirection, type RecordingMetadataInput, buildRecordingMetadata, isoFromUs, recordingPaths, writeRecordingMetadata } from '../../engine/record/metadata';

const root = mkdtempSync(join(tmpdir(), 'callpath-meta-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** 2024-05-01T09:30:15.123456Z */
const START_US = Date.UTC(2024, 4, 1, 9, 30, 15, 123) * 1000 + 456;

test('a recording goes under its UTC day, named by its start time and Call-ID', () => {
  const p = recordingPaths('/rec', 'a84b4c76e66710@pc33.atlanta.com', START_US);
  assert.equal(p.day, '2024-05-01');
  assert.match(p.base, /^093015\.123Z-a84b4c76e66710@pc33\.atlanta\.com-[0-9a-f]{8}$/);
  assert.equal(p.wav, `/rec/2024-05-01/${p.base}.wav`);
  assert.equal(p.metadata, `/rec/2024-05-01/${p.base}.json`);
  assert.deepEqual(recordingPaths('/rec', 'a84b4c76e66710@pc33.atlanta.com', START_US), p, 'the same call always maps to the same names');
});

const HOSTILE = ['../../etc/passwd', '..', '.', '', '/', '/etc/shadow', 'a\\..\\..\\b', 'x\u0000y', 'line\nbreak', '通話-😀@例え.jp', 'A'.repeat(10_000), '.'.repeat(300), '\ud800lone'];

test('hostile Call-IDs stay one plain file name inside the day folder: no separators, no "..", bounded length', () => {
  for (const callId of HOSTILE) {
    const p = recordingPaths('/rec', callId, START_US);
    const label = JSON.stringify(callId.slice(0, 30));
    assert.equal(dirname(p.wav), '/rec/2024-05-01', label);
    assert.equal(dirname(p.metadata), '/rec/2024-05-01', label);
    assert.match(p.base, /^[A-Za-z0-9._@+-]+$/, label);
    assert.ok(!p.base.includes('..'), label);
    assert.ok(Buffer.byteLength(basename(p.metadata) + '.tmp') < 100, label);
  }
});

test('Call-IDs that clean up to the same text still get their own files', () => {
  const ids = ['a/b', 'a:b', 'a?b', 'a b', 'a\u00e9b', 'A'.repeat(60) + '1', 'A'.repeat(60) + '2', '..', '...'];
  const bases = new Set(ids.map((id) => recordingPaths('/rec', id, START_US).base));
  assert.equal(bases.size, ids.length);
});

test('a sidecar for "../../etc/passwd" is written inside the recordings folder', async () => {
  const dir = join(root, 'hostile');
  const p = recordingPaths(dir, '../../etc/passwd', START_US);
  assert.deepEqual(await writeRecordingMetadata(p.metadata, buildRecordingMetadata(input({ paths: p, callId: '../../etc/passwd' }))), { ok: true });
  assert.ok(!relative(dir, p.metadata).startsWith('..'));
  assert.deepEqual(readdirSync(join(dir, '2024-05-01')), [basename(p.metadata)]);
});

const direction = (over: Partial<RecordingDirection> = {}): RecordingDirection => ({ codec: 'PCMU', undecoded: [], packets: 500, lost: 2, late: 1, duplicates: 3, drops: 0, ...over });

function input(over: Partial<RecordingMetadataInput> = {}): RecordingMetadataInput {
  return {
    callId: 'a84b4c76e66710@pc33.atlanta.com',
    from: { uri: 'sip:alice@atlanta.com', tag: '1928301774' },
    to: { uri: 'sip:bob@biloxi.com', tag: 'a6c85cf' },
    startUs: START_US,
    endUs: START_US + 10_000_000,
    caller: direction(),
    callee: direction({ codec: null, undecoded: [{ payloadType: 18, name: 'G729', packets: 500 }, { payloadType: 101, name: 'telephone-event', packets: 12 }], drops: 7 }),
    paths: recordingPaths('/rec', 'a84b4c76e66710@pc33.atlanta.com', START_US),
    layout: 'stereo',
    sampleRate: 8000,
    dataBytes: 320_000,
    droppedSamples: 0,
    error: null,
    ...over,
  };
}

test('the sidecar says version 1, who called whom, when (µs and ISO), the layout, and each direction with the codec it could not decode', () => {
  const doc = buildRecordingMetadata(input());
  assert.equal(doc.version, 1);
  assert.deepEqual(doc.from, { uri: 'sip:alice@atlanta.com', tag: '1928301774' });
  assert.deepEqual(doc.start, { us: START_US, iso: '2024-05-01T09:30:15.123456Z' });
  assert.deepEqual(doc.end, { us: START_US + 10_000_000, iso: '2024-05-01T09:30:25.123456Z' });
  assert.deepEqual(doc.channels, { count: 2, layout: 'stereo: caller left, callee right' });
  assert.equal(doc.durationMs, 10_000, '320 000 bytes of 8 kHz stereo');
  assert.deepEqual(doc.files, { folder: '2024-05-01', wav: basename(input().paths.wav), metadata: basename(input().paths.metadata) });
  assert.deepEqual(doc.directions.caller, direction());
  assert.equal(doc.directions.callee.codec, null);
  assert.deepEqual(doc.directions.callee.undecoded[0], { payloadType: 18, name: 'G729', packets: 500 });
  assert.equal(doc.directions.callee.drops, 7);
  assert.equal(doc.error, null);
});

test('a mono recording still running, with an error: layout mixed, end null, error kept, duration from mono frames', () => {
  const doc = buildRecordingMetadata(input({ layout: 'mono', endUs: null, dataBytes: 16_000, error: 'disk full (ENOSPC) writing /rec/x.wav' }));
  assert.deepEqual(doc.channels, { count: 1, layout: 'mono: caller and callee mixed' });
  assert.equal(doc.end, null);
  assert.equal(doc.durationMs, 1000);
  assert.equal(doc.error, 'disk full (ENOSPC) writing /rec/x.wav');
});

test('ISO times keep the microseconds', () => {
  assert.equal(isoFromUs(0), '1970-01-01T00:00:00.000000Z');
  assert.equal(isoFromUs(START_US), '2024-05-01T09:30:15.123456Z');
  assert.equal(isoFromUs(1_000_999), '1970-01-01T00:00:01.000999Z');
});

test('writing replaces the sidecar whole and leaves no .tmp behind', async () => {
  const p = recordingPaths(join(root, 'atomic'), 'call-1', START_US);
  const first = buildRecordingMetadata(input({ paths: p, endUs: null }));
  assert.deepEqual(await writeRecordingMetadata(p.metadata, first), { ok: true });
  assert.deepEqual(JSON.parse(readFileSync(p.metadata, 'utf8')), first);
  const second = buildRecordingMetadata(input({ paths: p, callId: 'Ω "quoted" \\ back', from: { uri: 'sip:\u00e9@x', tag: null } }));
  assert.deepEqual(await writeRecordingMetadata(p.metadata, second), { ok: true });
  assert.deepEqual(JSON.parse(readFileSync(p.metadata, 'utf8')), second);
  assert.equal(existsSync(p.metadata + '.tmp'), false);
});

test('a link planted at NAME.json.tmp is refused, not written through', async () => {
  const dir = join(root, 'planted');
  const p = recordingPaths(dir, 'call-2', START_US);
  mkdirSync(dirname(p.metadata), { recursive: true });
  const target = join(root, 'precious.txt');
  writeFileSync(target, 'precious');
  symlinkSync(target, p.metadata + '.tmp');
  const r = await writeRecordingMetadata(p.metadata, buildRecordingMetadata(input({ paths: p })));
  assert.deepEqual(r, { ok: false, reason: `symbolic link refused (ELOOP) writing ${p.metadata}.tmp` });
  assert.equal(readFileSync(target, 'utf8'), 'precious');
});

test('a folder that cannot be made is an error value with the reason, not an exception', async () => {
  const file = join(root, 'a-file');
  writeFileSync(file, '');
  const r = await writeRecordingMetadata(join(file, '2024-05-01', 'x.json'), buildRecordingMetadata(input()));
  assert.deepEqual(r, { ok: false, reason: `part of the path is not a folder (ENOTDIR) creating the folder for ${join(file, '2024-05-01', 'x.json')}` });
});
