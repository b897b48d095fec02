import { create } from 'zustand';

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected';

interface ConnectionSlice {
  status: ConnectionStatus;
  host: 'electron' | 'lab' | null;
  /** When the connection was last lost (ms, Date.now()), for the indicator's tooltip. */
  lostAtMs: number | null;
  /** The last failed command, shown in the header until the next success. */
  lastError: string | null;
  setConnected(connected: boolean): void;
  setError(error: string | null): void;
}

export const useConnection = create<ConnectionSlice>()((set, get) => ({
  status: 'connecting',
  host: null,
  lostAtMs: null,
  lastError: null,
  setConnected(connected) {
    const { status } = get();
    if (connected && status !== 'connected') set({ status: 'connected', lostAtMs: null });
    // A transport may report "not connected" before its first attempt finished: stay "connecting" then.
    if (!connected && status === 'connected') set({ status: 'disconnected', lostAtMs: Date.now() });
  },
  setError(error) {
    if (get().lastError !== error) set({ lastError: error });
  },
}));
