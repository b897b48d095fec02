/**
 * The lab (browser) implementation of `ContractTransport`: the same contract
 * as the Electron preload, carried over one WebSocket as JSON text frames
 * (`ClientFrame` up, `ServerFrame` down).
 *
 * - Invokes made while the socket is down wait for it (within their timeout).
 * - On close every invoke already sent is rejected — its answer can never come.
 * - The socket reconnects with exponential backoff capped at 5 s.
 *
 * Browser-only at run time (uses the global `WebSocket`); `app/contract` has no run-time engine imports.
 */
import { httpFromWsUrl, labExport, labImport, pickCaptureFile } from './lab-files';
import { CONTRACT_VERSION, type ClientFrame, type Command, type ContractTransport, type LiveBatch, type ServerFrame } from './contract';

export const INVOKE_TIMEOUT_MS = 10_000;
export const RECONNECT_MIN_MS = 250;
export const RECONNECT_MAX_MS = 5_000;

/** The part of `Location` we need (so tests can pass a plain object). */
export interface PageLocation {
  protocol: string;
  host: string;
  search: string;
}

/**
 * `http://HOST:PORT/?token=T` → `ws://HOST:PORT/ws?token=T`. Without a token
 * in the page URL (reload after the server set its cookie) the cookie alone
 * authenticates the upgrade.
 */
export function wsUrlFromLocation(loc: PageLocation): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = new URLSearchParams(loc.search).get('token');
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  return `${scheme}//${loc.host}/ws${query}`;
}

export interface WsTransportOptions {
  invokeTimeoutMs?: number;
  /** For tests; defaults to the global WebSocket. */
  WebSocketImpl?: typeof WebSocket;
}

interface Pending {
  frame: ClientFrame;
  sent: boolean;
  timer: ReturnType<typeof setTimeout>;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  cmd: string;
}

export function createWsTransport(url: string, options: WsTransportOptions = {}): ContractTransport & { close(): void } {
  const timeoutMs = options.invokeTimeoutMs ?? INVOKE_TIMEOUT_MS;
  const WS = options.WebSocketImpl ?? WebSocket;
  const batchListeners = new Set<(batch: LiveBatch) => void>();
  const connectionListeners = new Set<(connected: boolean) => void>();
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let socket: WebSocket | null = null;
  let open = false;
  let connected = false;
  let attempt = 0;
  let closed = false;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;

  const setConnected = (value: boolean): void => {
    if (connected === value) return;
    connected = value;
    for (const l of connectionListeners) {
      try {
        l(value);
      } catch (err) {
        console.error('callpath: connection listener failed', err);
      }
    }
  };

  const send = (p: Pending): void => {
    if (!open || !socket) return;
    try {
      socket.send(JSON.stringify(p.frame));
      p.sent = true;
    } catch {
      // The socket is closing; the close handler decides what happens to this invoke.
    }
  };

  const settle = (id: number): Pending | undefined => {
    const p = pending.get(id);
    if (!p) return undefined;
    pending.delete(id);
    clearTimeout(p.timer);
    return p;
  };

  const onFrame = (data: unknown): void => {
    if (typeof data !== 'string') return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      console.warn('callpath: ignoring a non-JSON frame from the lab server');
      return;
    }
    switch (frame?.type) {
      case 'result': {
        const p = settle(frame.id);
        if (!p) return; // timed out already
        if (frame.ok) p.resolve(frame.value);
        else p.reject(new Error(`${p.cmd}: ${frame.error}`));
        return;
      }
      case 'batch':
        for (const l of batchListeners) {
          try {
            l(frame.batch);
          } catch (err) {
            console.error('callpath: batch listener failed', err);
          }
        }
        return;
      case 'hello':
        // Version mismatch is worth a loud console line; the UI keeps going so the user can still see something.
        if (frame.contractVersion !== CONTRACT_VERSION) {
          console.error(`callpath: lab server speaks contract v${frame.contractVersion}, this page v${CONTRACT_VERSION}; reload the page`);
        }
        return;
      default:
        console.warn('callpath: ignoring an unknown frame from the lab server');
    }
  };

  const connect = (): void => {
    let ws: WebSocket;
    try {
      ws = new WS(url);
    } catch (err) {
      console.error('callpath: cannot open the lab WebSocket', err);
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.onopen = () => {
      if (socket !== ws) return;
      open = true;
      attempt = 0;
      setConnected(true);
      for (const p of pending.values()) if (!p.sent) send(p);
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (socket === ws) onFrame(ev.data);
    };
    ws.onerror = () => {
      // Always followed by close; nothing to do here.
    };
    ws.onclose = (ev: CloseEvent) => {
      if (socket !== ws) return;
      socket = null;
      open = false;
      setConnected(false);
      const why = ev.reason ? `${ev.code} ${ev.reason}` : `code ${ev.code}`;
      for (const [id, p] of pending) {
        if (!p.sent) continue; // never left this page: it may still go out after reconnecting
        settle(id);
        p.reject(new Error(`${p.cmd}: connection to the lab server closed (${why}) before it answered`));
      }
      scheduleReconnect();
    };
  };

  const scheduleReconnect = (): void => {
    if (closed) return;
    const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** attempt);
    attempt++;
    const delay = Math.min(RECONNECT_MAX_MS, Math.round(base * (0.8 + Math.random() * 0.4)));
    reconnectTimer = setTimeout(connect, delay);
  };

  connect();

  const http = httpFromWsUrl(url);
  return {
    host: 'lab',
    /** `GET /api/recorder/file`: the lab server serves a file only if the recorder lists it. */
    recordingUrl: (path) => `/api/recorder/file?path=${encodeURIComponent(path)}`,
    exportCalls: (request, onProgress) => labExport(http.origin, http.token, request, onProgress),
    async openCapture() {
      const file = await pickCaptureFile();
      return file ? labImport(http.origin, http.token, file) : null;
    },
    /** Stops for good: no reconnect, the socket closed (the page never needs it; tests and tools do). */
    close() {
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      socket?.close(1000, 'closed by client');
    },
    invoke(command: Command): Promise<unknown> {
      return new Promise((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          const p = settle(id);
          if (p) p.reject(new Error(`${p.cmd}: no answer from the lab server within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        const p: Pending = { frame: { type: 'invoke', id, command }, sent: false, timer, resolve, reject, cmd: command.cmd };
        pending.set(id, p);
        send(p);
      });
    },
    subscribe(onBatch) {
      batchListeners.add(onBatch);
      return () => {
        batchListeners.delete(onBatch);
      };
    },
    onConnection(listener) {
      connectionListeners.add(listener);
      listener(connected);
      return () => {
        connectionListeners.delete(listener);
      };
    },
  };
}
