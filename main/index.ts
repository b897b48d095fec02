/**
 * The Electron shell: one window, a menu, file dialogs, and the IPC bridge to
 * the engine host from `app/`. Everything else lives in `app/` and `engine/`
 * so the desktop app and the headless lab console behave the same.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, session, shell, type MenuItemConstructorOptions, type WebContents } from 'electron';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLabArgs } from '../app/config';
import { IPC } from '../app/contract';
import { Host } from '../app/host';
import { CSP } from '../app/lab/server';
import { exportCalls, openCapture } from './files';

const here = fileURLToPath(new URL('.', import.meta.url));
let host: Host | null = null;

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    title: 'callpath',
    backgroundColor: '#14161a',
    webPreferences: {
      preload: join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  // The renderer is local files only: no navigation away, no new windows.
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  void win.loadFile(join(here, '../renderer/index.html'));
  return win;
}

function bridge(h: Host): void {
  const ours = (wc: WebContents) => BrowserWindow.getAllWindows().some((w) => w.webContents === wc);
  // host.invoke validates every command; here we also refuse frames that aren't our window.
  ipcMain.handle(IPC.invoke, (event, command: unknown) => {
    if (!ours(event.sender)) throw new Error('IPC from an unknown frame');
    return h.invoke(command);
  });
  ipcMain.handle(IPC.exportCalls, (event, request: unknown) => {
    if (!ours(event.sender)) throw new Error('IPC from an unknown frame');
    return exportCalls(h, event.sender, request);
  });
  ipcMain.handle(IPC.openCapture, (event) => {
    if (!ours(event.sender)) throw new Error('IPC from an unknown frame');
    return openCapture(h, BrowserWindow.fromWebContents(event.sender) ?? undefined);
  });
  ipcMain.handle(IPC.showRecording, (event, path: unknown) => {
    if (!ours(event.sender)) throw new Error('IPC from an unknown frame');
    // Only a WAV or sidecar the running recorder lists: the renderer cannot open any other path.
    const file = typeof path === 'string' ? h.recordingFile(path) : null;
    if (!file) throw new Error('not a recording the recorder lists now');
    shell.showItemInFolder(file.path);
  });
  ipcMain.on(IPC.subscribe, (event) => {
    const wc = event.sender;
    if (!ours(wc)) return;
    const unsubscribe = h.subscribe((batch) => {
      if (!wc.isDestroyed()) wc.send(IPC.batch, batch);
    });
    wc.once('destroyed', unsubscribe);
  });
}

function menu(h: Host): void {
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        {
          label: 'Open Capture…',
          accelerator: 'CmdOrCtrl+O',
          click: async () => {
            try {
              const r = await openCapture(h, BrowserWindow.getFocusedWindow() ?? undefined);
              if (r) {
                const skipped = Object.entries(r.skipped).map(([why, n]) => `${n} ${why}`).join('\n');
                void dialog.showMessageBox({ type: 'info', message: `Imported ${r.messages} SIP messages in ${r.calls} calls (${r.format})`, detail: skipped ? `Skipped:\n${skipped}` : undefined });
              }
            } catch (err) {
              dialog.showErrorBox('Could not open the capture', (err as Error).message);
            }
          },
        },
        {
          label: 'Save Snapshot as JSON…',
          accelerator: 'CmdOrCtrl+S',
          click: async () => {
            const r = await dialog.showSaveDialog({ defaultPath: 'callpath-snapshot.json', filters: [{ name: 'JSON', extensions: ['json'] }] });
            if (r.canceled || !r.filePath) return;
            try {
              await writeFile(r.filePath, JSON.stringify(h.snapshot(), null, 2));
            } catch (err) {
              dialog.showErrorBox('Could not save the snapshot', (err as Error).message);
            }
          },
        },
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    { label: 'View', submenu: [{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { role: 'togglefullscreen' }] },
    {
      label: 'Help',
      submenu: [
        {
          label: 'About callpath',
          click: () => void dialog.showMessageBox({ type: 'info', title: 'callpath', message: `callpath ${app.getVersion()}`, detail: h.describe() }),
        },
      ],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

async function main(): Promise<void> {
  // Same flags as the lab (after `--`), but the window is the UI: no HTTP console.
  const argv = withoutUiFlag(process.argv.slice(process.argv.indexOf('--') + 1 || process.argv.length));
  const parsed = parseLabArgs(argv, process.env, (path) => readFileSync(path, 'utf8'));
  if (!parsed.ok) {
    dialog.showErrorBox('callpath: bad options', parsed.error);
    app.exit(2);
    return;
  }
  parsed.config.ui = null;
  await app.whenReady();
  session.defaultSession.webRequest.onHeadersReceived((details, cb) => {
    cb({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  host = new Host(parsed.config);
  bridge(host);
  menu(host);
  await host.start();
  createWindow();
  app.on('window-all-closed', () => app.quit());
}

/** The window is the UI here: `--ui HOST:PORT` (lab only) is dropped with its value. */
function withoutUiFlag(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--ui') i++;
    else if (!argv[i]!.startsWith('--ui=')) out.push(argv[i]!);
  }
  return out;
}

app.on('before-quit', () => {
  void host?.stop();
});

void main();
