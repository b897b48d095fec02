/**
 * The only bridge between the sandboxed renderer and the main process. It
 * exposes the contract's transport primitives — never `ipcRenderer` itself.
 * Built as CommonJS so the window can keep `sandbox: true`.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { IPC, type Command, type ContractTransport, type LiveBatch } from '../app/contract';

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
  // IPC to our own main process does not drop; report connected once.
  onConnection(listener: (connected: boolean) => void) {
    queueMicrotask(() => listener(true));
    return () => undefined;
  },
};

contextBridge.exposeInMainWorld('callpathBridge', transport);
