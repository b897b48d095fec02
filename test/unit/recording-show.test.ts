/**
 * "Show in folder" for a finished recording exists where the transport can
 * open a folder (the desktop app's preload), and asks for exactly the path
 * the recorder listed; main/index.ts refuses any path the recorder does not
 * list (host.recordingFile).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiFromTransport, type ContractTransport } from '../../app/contract';
import { finishedView } from '../../renderer/src/recorder/figures';

const transport = (over: Partial<ContractTransport>): ContractTransport => ({
  host: 'electron',
  invoke: async () => null,
  exportCalls: async () => ({ saved: false, bytes: 0, name: null }),
  openCapture: async () => null,
  subscribe: () => () => undefined,
  onConnection: () => () => undefined,
  ...over,
});

test("the desktop transport's showRecording is the api's, called with the WAV's full path from the finished row", async () => {
  const asked: string[] = [];
  const api = apiFromTransport(transport({ showRecording: async (p) => void asked.push(p) }));
  const finished = { callId: 'c1', wav: '/data/recordings/2026-12-05/a.wav', metadata: '/data/recordings/2026-12-05/a.json', startUs: 0, endUs: 1_000_000, bytes: 32_000, durationMs: 1000, drops: 0, droppedSamples: 0, error: null, metadataError: null };
  const row = finishedView(finished, api.recordingUrl);
  assert.equal(row.wav, 'a.wav', 'the row shows the file name');
  await api.showRecording!(row.wavPath);
  assert.deepEqual(asked, ['/data/recordings/2026-12-05/a.wav']);
  assert.equal(apiFromTransport(transport({})).showRecording, null, 'without it, no button');
  assert.deepEqual([row.wavUrl, row.metadataUrl], [null, null], 'the desktop app serves no files: no download links, no player');
  const served = finishedView({ ...finished, wav: '/r/a.wav', metadata: '/r/a.json' }, (p) => `/files?${p}`);
  assert.deepEqual([served.wavUrl, served.metadataUrl], ['/files?/r/a.wav', '/files?/r/a.json']);
});
