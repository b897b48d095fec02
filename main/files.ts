/**
 * Desktop file dialogs for the contract's exportCalls / openCapture: the
 * renderer asks, main shows the native dialog and streams the file, so the
 * sandboxed renderer never touches the file system.
 */
import { BrowserWindow, dialog, type WebContents } from 'electron';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { basename } from 'node:path';
import { IPC, validateExportRequest, type ExportOutcome, type ImportOutcome } from '../app/contract';
import type { Host } from '../app/host';

export async function exportCalls(host: Host, sender: WebContents, input: unknown): Promise<ExportOutcome> {
  const v = validateExportRequest(input);
  if (!v.ok) throw new Error(v.error);
  const win = BrowserWindow.fromWebContents(sender) ?? undefined;
  // The calls are frozen now, before the dialog: what the user asked for is what is saved.
  const out = await host.exportCalls(v.value);
  if (out.found === 0) throw new Error('none of those calls is stored any more');
  const choice = await (win ? dialog.showSaveDialog(win, { defaultPath: out.name }) : dialog.showSaveDialog({ defaultPath: out.name }));
  if (choice.canceled || !choice.filePath) return { saved: false, bytes: 0, name: null };
  const file = createWriteStream(choice.filePath);
  let bytes = 0;
  let lastReport = 0;
  try {
    for await (const chunk of out.chunks) {
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
  return host.importCapture(await readFile(path), basename(path));
}
