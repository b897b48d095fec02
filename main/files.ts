/**
 * Desktop file dialogs for the contract's exportCalls / openCapture: the
 * renderer asks, main shows the native dialog and streams the file, so the
 * sandboxed renderer never touches the file system.
 */
import { BrowserWindow, dialog, type WebContents } from 'electron';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { IPC, validateExportRequest, type ExportOutcome, type ImportOutcome } from '../app/contract';
import type { ExportFormat, Host } from '../app/host';
import type { SelectionFormat } from '../engine/capture/export-stream';

export async function exportCalls(host: Host, sender: WebContents, input: unknown): Promise<ExportOutcome> {
  const v = validateExportRequest(input);
  if (!v.ok) throw new Error(v.error);
  const { callIds, format } = v.value;
  const win = BrowserWindow.fromWebContents(sender) ?? undefined;
  const base = callIds.length === 1 ? callIds[0]!.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80) : `callpath-${callIds.length}-calls`;
  const choice = await (win ? dialog.showSaveDialog(win, { defaultPath: `${base}.${format}` }) : dialog.showSaveDialog({ defaultPath: `${base}.${format}` }));
  if (choice.canceled || !choice.filePath) return { saved: false, bytes: 0, name: null };
  if (callIds.length === 1) {
    const out = host.exportCall(callIds[0]!, format as ExportFormat);
    if (!out) throw new Error(`no call with Call-ID ${callIds[0]}`);
    await writeFile(choice.filePath, out.body);
    return { saved: true, bytes: out.body.length, name: choice.filePath };
  }
  const sel = host.exportSelection(callIds, format as SelectionFormat);
  const file = createWriteStream(choice.filePath);
  let bytes = 0;
  let lastReport = 0;
  try {
    for await (const chunk of sel.chunks) {
      bytes += chunk.length;
      if (!file.write(chunk)) await once(file, 'drain');
      if (Date.now() - lastReport > 100 && !sender.isDestroyed()) {
        lastReport = Date.now();
        sender.send(IPC.exportProgress, bytes);
      }
    }
  } finally {
    file.end();
    await once(file, 'close');
  }
  return { saved: true, bytes, name: choice.filePath };
}

export async function openCapture(host: Host, win?: BrowserWindow): Promise<ImportOutcome | null> {
  const options = { properties: ['openFile' as const], filters: [{ name: 'Captures', extensions: ['pcap', 'pcapng', 'cap'] }] };
  const choice = await (win ? dialog.showOpenDialog(win, options) : dialog.showOpenDialog(options));
  const path = choice.filePaths[0];
  if (choice.canceled || !path) return null;
  return host.importCapture(await readFile(path));
}
