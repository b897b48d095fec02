/**
 * The only bridge between the sandboxed renderer and the main process. It
 * exposes the contract's transport primitives — never `ipcRenderer` itself.
 * Built as CommonJS so the window can keep `sandbox: true`.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { IPC, type Command, type ContractTransport, type ExportOutcome, type ExportRequest, type ImportOutcome, type LiveBatch } from '../app/contract';

const transport: ContractTransport = {
  host: 'electron',
  invoke: (command: Command) => ipcRenderer.invoke(IPC.invoke, command),
  subscribe(onBatch: (batch: LiveBatch) => void) {
    const listener = (_e: IpcRendererEvent, batch: LiveBatch) => onBatch(batch);
    ipcRenderer.on(IPC.batch, listener);
    ipcRenderer.send(IPC.subscribe);
    return () => {
      ipcRenderer.removeListener(IPC.batch, listener);
    };
  },
  async exportCalls(request: ExportRequest, onProgress?: (bytes: number) => void) {
    const listener = (_e: IpcRendererEvent, bytes: number) => onProgress?.(bytes);
    ipcRenderer.on(IPC.exportProgress, listener);
    try {
      return (await ipcRenderer.invoke(IPC.exportCalls, request)) as ExportOutcome;
    } finally {
      ipcRenderer.removeListener(IPC.exportProgress, listener);
    }
  },
  openCapture: () => ipcRenderer.invoke(IPC.openCapture) as Promise<ImportOutcome | null>,
  showRecording: async (path: string) => {
    await ipcRenderer.invoke(IPC.showRecording, path);
  },
  // IPC to our own main process does not drop; report connected once.
  onConnection(listener: (connected: boolean) => void) {
    queueMicrotask(() => listener(true));
    return () => undefined;
  },
};

contextBridge.exposeInMainWorld('callpathBridge', transport);
