import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallpathApi, ExportOutcome, ImportOutcome } from '../../app/contract';
import { useFiles } from '../../renderer/src/store/files';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fakeApi(over: Partial<CallpathApi>): CallpathApi {
  return over as CallpathApi;
}

test('a quick export shows no progress bar and ends in the saved line', async () => {
  const api = fakeApi({ exportCalls: async (_req, onProgress) => (onProgress?.(500), { saved: true, bytes: 12_300, name: 'call-a.pcap' }) });
  useFiles.getState().openChooser(['a']);
  assert.deepEqual(useFiles.getState().chooser?.formats, ['pcap', 'txt', 'svg', 'png', 'mmd', 'json']);
  await useFiles.getState().runExport(api, 'pcap');
  assert.equal(useFiles.getState().chooser, null);
  assert.deepEqual(useFiles.getState().job, { kind: 'done', ok: true, line: 'saved 12.3 kB as call-a.pcap' });
});

test('an export running past a second turns on the bar and follows the bytes; a failure shows the error', async () => {
  let finish: (o: ExportOutcome) => void = () => undefined;
  let progress: ((b: number) => void) | undefined;
  const api = fakeApi({
    exportCalls: (_req, onProgress) => {
      progress = onProgress;
      return new Promise<ExportOutcome>((r) => (finish = r));
    },
  });
  useFiles.getState().openChooser(['a', 'b']);
  assert.deepEqual(useFiles.getState().chooser?.formats, ['pcap', 'json', 'txt', 'md', 'svg']);
  const running = useFiles.getState().runExport(api, 'json');
  progress?.(2_000);
  assert.deepEqual(useFiles.getState().job, { kind: 'exporting', format: 'json', bytes: 2_000, slow: false });
  await sleep(1_100);
  progress?.(3_500_000);
  assert.deepEqual(useFiles.getState().job, { kind: 'exporting', format: 'json', bytes: 3_500_000, slow: true });
  finish({ saved: true, bytes: 4_000_000, name: 'callpath-2-calls.json' });
  await running;
  assert.deepEqual(useFiles.getState().job, { kind: 'done', ok: true, line: 'saved 4.0 MB as callpath-2-calls.json' });

  useFiles.getState().openChooser(['a']);
  await useFiles.getState().runExport(fakeApi({ exportCalls: () => Promise.reject(new Error('export failed: no such call')) }), 'txt');
  assert.deepEqual(useFiles.getState().job, { kind: 'done', ok: false, line: 'export failed: no such call' });
});

test('open capture: cancel leaves nothing, an import reports its counts', async () => {
  await useFiles.getState().runImport(fakeApi({ openCapture: async () => null }));
  assert.deepEqual(useFiles.getState().job, { kind: 'idle' });
  const outcome: ImportOutcome = { format: 'pcapng', messages: 9, calls: 2, skipped: { truncated: 1 } };
  await useFiles.getState().runImport(fakeApi({ openCapture: async () => outcome }));
  assert.deepEqual(useFiles.getState().job, { kind: 'done', ok: true, line: 'imported 9 messages in 2 calls (pcapng); skipped: truncated 1' });
});
