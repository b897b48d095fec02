/**
 * The console's recorder parts without a DOM: the panel's figures and where
 * each is measured, the error line, the active and finished recordings'
 * rows, the start-up repair, the line shown while the recorder is stopped,
 * the selected call's Record button and `r`, the engine's answer kept by
 * the store, and the ladder's record arrows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallpathApi, ComponentStatus, RecordCallResult, RecordEntry, SipEntry, Snapshot } from '../../app/contract';
import { KEY_HELP, keyAction } from '../../renderer/src/keys';
import { recordArrowLabel, recordArrowTitle, recordArrowTone, shortFileName, withRecordLabels } from '../../renderer/src/ladder/recordArrow';
import { activeRecordingOf, recordButton, recordResultLine, shownRecording } from '../../renderer/src/recorder/control';
import {
  HOW_TO_START,
  activeView,
  fileName,
  finishedView,
  recorderAbsentLine,
  recorderFigures,
  recorderWarning,
  repairFigure,
  type ActiveRecording,
  type FinishedRecording,
  type RecorderStats,
} from '../../renderer/src/recorder/figures';
import { useRecording } from '../../renderer/src/store/recording';
import { useSnapshot } from '../../renderer/src/store/snapshot';

const DIR = '/var/lib/callpath/recordings';

const active = (over: Partial<ActiveRecording> = {}): ActiveRecording => ({
  callId: 'c1@a',
  state: 'recording',
  error: null,
  startUs: 1_714_555_815_000_000,
  wav: `${DIR}/2024-05-01/093015000000Z-c1@a-1f2e3d4c.wav`,
  metadata: `${DIR}/2024-05-01/093015000000Z-c1@a-1f2e3d4c.json`,
  bytes: 192_000,
  durationMs: 12_000,
  queued: 2,
  caller: { packets: 600, drops: 0 },
  callee: { packets: 598, drops: 0 },
  ...over,
});

const finished = (over: Partial<FinishedRecording> = {}): FinishedRecording => ({
  callId: 'c0@a',
  wav: `${DIR}/2024-05-01/092900000000Z-c0@a-0a0b0c0d.wav`,
  metadata: `${DIR}/2024-05-01/092900000000Z-c0@a-0a0b0c0d.json`,
  startUs: 1_714_555_740_000_000,
  endUs: 1_714_555_800_000_000,
  bytes: 960_000,
  durationMs: 60_000,
  drops: 0,
  droppedSamples: 0,
  error: null,
  metadataError: null,
  ...over,
});

const recorder = (over: Partial<RecorderStats> = {}): RecorderStats => ({
  state: 'on',
  error: null,
  dir: DIR,
  active: [active()],
  finished: [finished()],
  totals: { recorded: 2, stopped: 1, failed: 0, refused: 0, drops: 0, unknownCall: 4, bytes: 1_152_000 },
  repair: { checked: 3, repaired: [], failed: [], skipped: 0, truncated: false },
  forwarding: null,
  ...over,
});

const status = (over: Partial<ComponentStatus> = {}): ComponentStatus => ({ name: 'recorder', state: 'stopped', endpoint: null, error: null, detail: null, sinceUs: 0, ...over });
const figure = (r: RecorderStats, id: string) => recorderFigures(r).find((f) => f.id === id)!;

test('every recorder figure says what it counts and that the engine measures it; failures are errors, drops and refusals warnings', () => {
  const f = recorderFigures(recorder());
  assert.deepEqual(f.map((x) => x.id), ['state', 'folder', 'recording', 'recorded', 'stopped', 'failed', 'refused', 'drops', 'unknown-call', 'bytes', 'repair']);
  assert.ok(f.every((x) => /engine|--record/.test(x.title)), 'each title names its source');
  assert.deepEqual([figure(recorder(), 'state').value, figure(recorder(), 'state').tone], ['on', 'ok']);
  assert.equal(figure(recorder(), 'folder').value, DIR);
  assert.equal(figure(recorder(), 'recording').value, '1');
  assert.equal(figure(recorder(), 'bytes').value, '1.2 MB');
  assert.match(figure(recorder(), 'bytes').title, /1152000 bytes/);
  assert.deepEqual([figure(recorder(), 'failed').tone, figure(recorder(), 'refused').tone, figure(recorder(), 'drops').tone], [null, null, null]);
  const bad = recorder({ totals: { recorded: 9, stopped: 5, failed: 2, refused: 1, drops: 37, unknownCall: 0, bytes: 0 } });
  assert.deepEqual([figure(bad, 'failed').value, figure(bad, 'failed').tone], ['2', 'error']);
  assert.equal(figure(bad, 'refused').tone, 'warn');
  assert.deepEqual([figure(bad, 'drops').value, figure(bad, 'drops').tone], ['37', 'warn']);
  assert.match(figure(bad, 'drops').title, /rather than make the relay wait/);
});

test('a recorder in error shows its reason; a recording in error is warned with its own; otherwise no warning', () => {
  assert.equal(recorderWarning(recorder()), null);
  const err = recorder({ state: 'error', error: 'cannot write recordings to /ro: permission denied (EACCES)' });
  assert.equal(recorderWarning(err)!.text, 'recorder error: cannot write recordings to /ro: permission denied (EACCES)');
  assert.match(recorderWarning(err)!.title, /relay keeps relaying/);
  assert.deepEqual([figure(err, 'state').value, figure(err, 'state').tone], ['error', 'error']);
  assert.match(figure(err, 'state').title, /EACCES/);
  const full = recorder({ active: [active(), active({ callId: 'c2@a', state: 'error', error: 'disk full (ENOSPC)' })] });
  assert.equal(recorderWarning(full)!.text, '1 recording in error: disk full (ENOSPC)');
  assert.match(recorderWarning(full)!.title, /c2@a: disk full/);
});

test('the active table shows duration, size and packets per direction, and warns the direction whose packets were dropped', () => {
  const clean = activeView(active());
  assert.deepEqual([clean.callId, clean.key, clean.duration, clean.size, clean.caller, clean.callee, clean.tone], ['c1@a', 'c1@a', '12s', '192.0 kB', { text: '600', tone: null }, { text: '598', tone: null }, null]);
  assert.match(clean.title, /093015000000Z-c1@a-1f2e3d4c\.wav/);
  const behind = activeView(active({ callee: { packets: 590, drops: 8 } }));
  assert.deepEqual([behind.caller, behind.callee, behind.tone], [{ text: '600', tone: null }, { text: '590 · ⚠ 8', tone: 'warn' }, 'warn']);
  assert.match(behind.title, /gaps in the WAV/);
  assert.equal(activeView(active({ state: 'error', error: 'disk full' })).tone, 'error');
  assert.equal(activeView(active({ callId: 'live/x' })).key, 'live/live/x', 'a Call-ID that looks like a key prefix gets the live prefix, as the call store names it');
});

test('a finished recording shows its WAV and sidecar file names, its drops and its error', () => {
  const ok = finishedView(finished());
  assert.deepEqual([ok.wav, ok.metadata, ok.duration, ok.size, ok.drops, ok.error, ok.tone], ['092900000000Z-c0@a-0a0b0c0d.wav', '092900000000Z-c0@a-0a0b0c0d.json', '1m00s', '960.0 kB', null, null, null]);
  assert.match(ok.title, new RegExp(`WAV ${DIR}/2024-05-01/092900000000Z`));
  const lossy = finishedView(finished({ drops: 3, droppedSamples: 160 }));
  assert.deepEqual([lossy.drops, lossy.tone], ['⚠ 3 pkts, 160 samples', 'warn']);
  const failed = finishedView(finished({ error: 'disk full (ENOSPC)' }));
  assert.deepEqual([failed.error, failed.tone], ['disk full (ENOSPC)', 'error']);
  const noSidecar = finishedView(finished({ metadataError: 'permission denied (EACCES)' }));
  assert.deepEqual([noSidecar.error, noSidecar.tone], ['permission denied (EACCES)', 'error']);
  assert.match(noSidecar.title, /sidecar not written: permission denied/);
  assert.equal(fileName('C:\\rec\\2024-05-01\\a.wav'), 'a.wav', 'a Windows path too');
});

test('the start-up repair says what it fixed out of what it checked, and what it could not fix', () => {
  assert.deepEqual([repairFigure(null).value, repairFigure(null).tone], ['—', null]);
  assert.deepEqual([figure(recorder(), 'repair').value, figure(recorder(), 'repair').tone], ['0 repaired / 3 checked', null]);
  const fixed = repairFigure({
    checked: 4,
    repaired: [{ path: `${DIR}/2024-04-30/235959000000Z-x-12345678.wav`, was: { riffSize: 36, dataBytes: 0 }, dataBytes: 16_000, durationMs: 1_000, why: 'header sizes were 0' }],
    failed: [{ path: `${DIR}/2024-04-30/bad.wav`, reason: 'not a WAV we wrote' }],
    skipped: 1,
    truncated: false,
  });
  assert.equal(fixed.value, '1 repaired / 4 checked · 1 failed');
  assert.equal(fixed.tone, 'error');
  assert.match(fixed.title, /repaired 235959000000Z-x-12345678\.wav: 1 s \(header sizes were 0\)/);
  assert.match(fixed.title, /not repaired bad\.wav: not a WAV we wrote/);
  assert.match(fixed.title, /1 symbolic link/);
  assert.equal(repairFigure({ checked: 9, repaired: [], failed: [], skipped: 0, truncated: true }).tone, 'warn');
});

test('a stopped recorder says calls are not recorded and how to start it: the toggle, --record DIR, --record off', () => {
  const line = recorderAbsentLine(status());
  assert.match(line, /^Recorder stopped — calls are not recorded/);
  assert.ok(line.includes(HOW_TO_START));
  assert.match(line, /recorder toggle/);
  assert.match(line, /--record DIR records from launch/);
  assert.match(line, /--record off disables it/);
  assert.match(recorderAbsentLine(status({ error: 'cannot start: switched off with --record off: calls are not recorded' })), /^Recorder stopped \(cannot start: switched off with --record off/);
  assert.match(recorderAbsentLine(status({ state: 'failed', error: 'cannot write recordings to /ro: read-only file system (EROFS)' })), /^Recorder failed: cannot write recordings to \/ro: read-only file system \(EROFS\) — calls are not recorded/);
  assert.equal(recorderAbsentLine(undefined), 'No recorder in this engine.');
  assert.equal(recorderAbsentLine(status({ state: 'not-implemented', detail: 'recorder is not built yet' })), 'recorder is not built yet');
});

test('whether a call is being recorded comes from the snapshot, except that an accepted command wins over snapshots built before it', () => {
  const r = recorder();
  assert.equal(activeRecordingOf(r, 'c1@a')?.bytes, 192_000);
  assert.equal(activeRecordingOf(null, 'c1@a'), null);
  assert.equal(shownRecording(r, 1_000, 'c1@a', null), true);
  assert.equal(shownRecording(r, 1_000, 'other', null), false);
  assert.equal(shownRecording(null, 1_000, 'c1@a', null), false, 'no recorder: nothing is recorded');
  const stopped = { callId: 'c1@a', recording: false, asOfUs: 1_000 };
  assert.equal(shownRecording(r, 1_000, 'c1@a', stopped), false, 'the snapshot on screen when "stopped" came back predates the stop');
  assert.equal(shownRecording(r, 1_250, 'c1@a', stopped), true, 'a later snapshot is the engine\'s word again');
  assert.equal(shownRecording(r, 1_000, 'other', { ...stopped, callId: 'other', recording: true }), true);
});

test('the Record button offers Record or Stop recording, is only for live calls, and says when the recorder is not running', () => {
  const base = { source: 'live', recording: false, recorderState: 'running' as const, pending: false, online: true };
  assert.deepEqual([recordButton(base).label, recordButton(base).on, recordButton(base).disabled], ['Record', true, false]);
  const rec = recordButton({ ...base, recording: true });
  assert.deepEqual([rec.label, rec.on, rec.disabled], ['Stop recording', false, false]);
  assert.match(rec.title, /WAV header is finalised/);
  const stopped = recordButton({ ...base, recorderState: 'stopped' });
  assert.equal(stopped.disabled, false, 'still clickable: the engine\'s refusal says why');
  assert.match(stopped.title, /The recorder is stopped: start it with the recorder toggle first/);
  const imported = recordButton({ ...base, source: 'import-1' });
  assert.equal(imported.disabled, true);
  assert.match(imported.title, /Only live calls can be recorded.*import-1/);
  assert.deepEqual([recordButton({ ...base, pending: true }).label, recordButton({ ...base, pending: true }).disabled], ['Starting…', true]);
  assert.equal(recordButton({ ...base, recording: true, pending: true }).label, 'Stopping…');
  assert.equal(recordButton({ ...base, online: false }).disabled, true);
});

test('a refused recordCall shows the engine\'s reason; an accepted one what it did', () => {
  assert.deepEqual(recordResultLine({ ok: false, reason: 'the recorder is stopped: start it first' }), { text: 'refused: the recorder is stopped: start it first', error: true });
  assert.deepEqual(recordResultLine({ ok: false, reason: 'the relay carries no media for call c1@a' }), { text: 'refused: the relay carries no media for call c1@a', error: true });
  assert.deepEqual(recordResultLine({ ok: true, recording: true }), { text: 'recording', error: false });
  assert.deepEqual(recordResultLine({ ok: true, recording: false }), { text: 'stopped: WAV finalised', error: false });
});

test('r records the selected call and is in the help; never while typing', () => {
  const press = { ctrlKey: false, metaKey: false, altKey: false, inEditable: false };
  assert.equal(keyAction({ key: 'r', ...press }), 'record');
  assert.equal(keyAction({ key: 'r', ...press, inEditable: true }), null);
  assert.equal(keyAction({ key: 'r', ...press, ctrlKey: true }), null, 'ctrl-r stays the browser\'s reload');
  assert.ok(KEY_HELP.some((k) => k.keys === 'r' && /record/.test(k.action)));
});

/** An api whose recordCall answers from `answer` and records what it was asked. */
function fakeApi(answer: (callId: string, on: boolean) => Promise<RecordCallResult>) {
  const asked: [string, boolean][] = [];
  const api = {
    recordCall: (callId: string, on: boolean) => {
      asked.push([callId, on]);
      return answer(callId, on);
    },
  } as unknown as CallpathApi;
  return { api, asked };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('r on a recorded call stops it, and the answer is kept for the button; a refusal keeps its reason', async () => {
  useSnapshot.setState({ snapshot: { nowUs: 5_000, recorder: recorder() } as unknown as Snapshot });
  useRecording.setState({ target: { key: 'c1@a', callId: 'c1@a', source: 'live' }, pending: null, notice: null, expected: null });
  const ok = fakeApi(async (_id, on) => ({ ok: true, recording: on }));
  useRecording.getState().toggleTarget(ok.api);
  assert.equal(useRecording.getState().pending, 'c1@a');
  useRecording.getState().toggleTarget(ok.api);
  assert.deepEqual(ok.asked, [['c1@a', false]], 'one command at a time, and the recorded call is stopped');
  await settle();
  assert.deepEqual(useRecording.getState().expected, { callId: 'c1@a', recording: false, asOfUs: 5_000 });
  assert.deepEqual(useRecording.getState().notice, { callId: 'c1@a', text: 'stopped: WAV finalised', error: false });
  assert.equal(useRecording.getState().pending, null);

  const refused = fakeApi(async () => ({ ok: false, reason: 'the recorder is stopped: start it first' }));
  useRecording.setState({ target: { key: 'c9@a', callId: 'c9@a', source: 'live' } });
  useRecording.getState().toggleTarget(refused.api);
  await settle();
  assert.deepEqual(refused.asked, [['c9@a', true]], 'a call not being recorded is started');
  assert.deepEqual(useRecording.getState().notice, { callId: 'c9@a', text: 'refused: the recorder is stopped: start it first', error: true });
  assert.equal(useRecording.getState().expected?.callId, 'c1@a', 'a refusal changes nothing the button shows');

  const never = fakeApi(async () => ({ ok: true, recording: true }));
  useRecording.setState({ target: { key: 'import-1/c1@a', callId: 'c1@a', source: 'import-1' } });
  useRecording.getState().toggleTarget(never.api);
  assert.deepEqual(never.asked, [], 'an imported call is never sent to the recorder');
  assert.match(useRecording.getState().notice!.text, /only live calls/);
});

const entry = (over: Partial<RecordEntry> = {}): RecordEntry => ({
  index: 7,
  tsUs: 1_000,
  src: 'relay',
  dst: `record:${DIR}`,
  label: 'record started',
  owner: 'record',
  lane: 'record',
  phase: 'started',
  path: `${DIR}/2024-05-01/093015000000Z-a84b2f6e-0c1d-4e5f-9a8b-7c6d5e4f3a2b@10.0.0.1-1f2e3d4c.wav`,
  packets: 0,
  dropped: 0,
  framesDropped: 0,
  detail: null,
  ...over,
});

test('the ladder marks a recording\'s start and stop with the file, its figures and its drops', () => {
  const name = '093015000000Z-a84b2f6e-0c1d-4e5f-9a8b-7c6d5e4f3a2b@10.0.0.1-1f2e3d4c.wav';
  const short = shortFileName(name);
  assert.equal(short.length, 32);
  assert.ok(short.startsWith('093015000000Z-') && short.endsWith('-1f2e3d4c.wav') && short.includes('…'), short);
  assert.equal(shortFileName('a.wav'), 'a.wav');
  assert.equal(recordArrowLabel(entry()), `● recording started → ${short}`);
  assert.equal(recordArrowTone(entry()), undefined);
  const stop = entry({ phase: 'stopped', packets: 1_234, dropped: 3, detail: '12.3 s, 98765 bytes' });
  assert.equal(recordArrowLabel(stop), `■ recording stopped · 12.3 s, 98765 bytes · 1234 pkts, ⚠ 3 dropped · ${short}`);
  assert.equal(recordArrowTone(stop), 'record-dropped');
  assert.match(recordArrowTitle(stop), new RegExp(`WAV ${DIR}/2024-05-01/${name.replace(/[.]/g, '\\.')}`));
  assert.match(recordArrowTitle(stop), /refused by its full queue .*: 3/);
  assert.equal(recordArrowLabel(entry({ path: null })), '● recording started');
  const sip = { index: 0, lane: 'sip', label: 'INVITE' } as SipEntry;
  const noRecord = [sip];
  assert.equal(withRecordLabels(noRecord), noRecord, 'no record entries: the same array');
  const labelled = withRecordLabels([sip, entry()]);
  assert.deepEqual(labelled.map((e) => e.label), ['INVITE', `● recording started → ${short}`]);
});
