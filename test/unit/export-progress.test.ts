import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateExportRequest, type CallpathApi, type ExportOutcome, type ExportRequest, type ImportOutcome } from '../../app/contract';
import { NO_FILTER } from '../../renderer/src/calls/query';
import { useAliases } from '../../renderer/src/store/aliases';
import { useFiles } from '../../renderer/src/store/files';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fakeApi(over: Partial<CallpathApi>): CallpathApi {
  return over as CallpathApi;
}

test('a quick export shows no progress bar and ends in the saved line', async () => {
  const api = fakeApi({ exportCalls: async (_req, onProgress) => (onProgress?.(500), { saved: true, bytes: 12_300, name: 'call-a.pcap' }) });
  useFiles.getState().openChooser({ kind: 'keys', keys: ['a'] });
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
  useFiles.getState().openChooser({ kind: 'keys', keys: ['a', 'b'] });
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

  useFiles.getState().openChooser({ kind: 'keys', keys: ['a'] });
  await useFiles.getState().runExport(fakeApi({ exportCalls: () => Promise.reject(new Error('export failed: no such call')) }), 'txt');
  assert.deepEqual(useFiles.getState().job, { kind: 'done', ok: false, line: 'export failed: no such call' });
});

test('open capture: cancel leaves nothing, an import reports its counts', async () => {
  await useFiles.getState().runImport(fakeApi({ openCapture: async () => null }));
  assert.deepEqual(useFiles.getState().job, { kind: 'idle' });
  const outcome: ImportOutcome = { format: 'pcapng', messages: 9, calls: 2, source: 'import-1', skipped: { truncated: 1 } };
  await useFiles.getState().runImport(fakeApi({ openCapture: async () => outcome }));
  assert.deepEqual(useFiles.getState().job, { kind: 'done', ok: true, line: 'imported 9 messages in 2 calls (pcapng, source import-1); skipped: truncated 1' });
});

test('a file with no SIP in it is an import error, not a green "imported 0 messages"', async () => {
  const outcome: ImportOutcome = { format: 'pcap', messages: 0, calls: 0, source: 'import-2', skipped: { 'not SIP': 40 } };
  await useFiles.getState().runImport(fakeApi({ openCapture: async () => outcome }));
  const job = useFiles.getState().job;
  assert.equal(job.kind, 'done');
  assert.equal(job.kind === 'done' && job.ok, false);
  assert.match(job.kind === 'done' ? job.line : '', /^import failed: no SIP calls in the file \(pcap\); skipped: not SIP 40$/);
});

test('every export carries the console column names; a filtered export sends the query, not keys', async () => {
  const sent: ExportRequest[] = [];
  const api = fakeApi({ exportCalls: async (req) => (sent.push(req), { saved: true, bytes: 1, name: 'x' }) });
  useAliases.setState({ aliases: { '127.0.0.1:5061': 'UAC', '127.0.0.1:5070': 'UAS' } });
  useFiles.getState().openChooser({ kind: 'keys', keys: ['import-1/abc'] }, 'call abc');
  assert.equal(useFiles.getState().chooser?.subject, 'call abc', 'titled by Call-ID, not by key');
  await useFiles.getState().runExport(api, 'png');
  const query = { filter: { ...NO_FILTER, status: 486 }, sort: { key: 'time' as const, dir: 'desc' as const } };
  useFiles.getState().openChooser({ kind: 'query', query, count: 12_345 });
  assert.equal(useFiles.getState().chooser?.subject, '12,345 calls');
  assert.deepEqual(useFiles.getState().chooser?.formats, ['pcap', 'json', 'txt', 'md', 'svg'], 'a query exports many calls into one file');
  await useFiles.getState().runExport(api, 'pcap');
  const names = { '127.0.0.1:5061': 'UAC', '127.0.0.1:5070': 'UAS' };
  assert.deepEqual(sent, [
    { keys: ['import-1/abc'], format: 'png', columnNames: names },
    { query, format: 'pcap', columnNames: names },
  ]);
  for (const r of sent) assert.ok(validateExportRequest(r).ok, JSON.stringify(r));
  useAliases.setState({ aliases: {} });
});
