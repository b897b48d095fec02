/**
 * The one typed contract between the engine host and the UI.
 *
 * Everything the renderer can ask (commands) and receive (results, live
 * batches) is declared here. It is implemented twice — over Electron IPC by
 * the preload, and over a WebSocket by the lab server's client — and the
 * renderer only ever sees `CallpathApi`, so it cannot tell which it has.
 *
 * This file is shared by the renderer, so it imports types only, and nothing
 * from `engine/` at run time.
 */
import type { ComponentName, ComponentState, ComponentStatus } from '../engine/component';
import type { CallState, Direction, TransportName } from '../engine/capture/types';
import type { LatencySummary } from '../engine/metrics/histogram';
import type { DropCount } from '../engine/metrics/drops';

export type { ComponentName, ComponentState, ComponentStatus, CallState, Direction, TransportName, LatencySummary, DropCount };

export const CONTRACT_VERSION = 1;
export const COMPONENTS: readonly ComponentName[] = ['proxy', 'relay', 'recorder', 'publisher'];
export type ComponentAction = 'start' | 'stop';

/** Signalling figures of the SIP proxy (all latencies in µs). */
export interface SipStats {
  callsPerSecond: number;
  activeCalls: number;
  activeTransactions: number;
  retransmissionsPerSecond: number;
  messagesIn: number;
  messagesOut: number;
  retransmissionsIn: number;
  retransmissionsOut: number;
  trying100: LatencySummary;
  /** Event-loop delay of the SIP worker thread, µs. */
  loopDelay: LatencySummary;
}

export interface Snapshot {
  contractVersion: number;
  /** Engine clock, µs. */
  nowUs: number;
  startedUs: number;
  components: ComponentStatus[];
  sip: SipStats;
  /** Event-loop delay of the host (main) thread, µs: UI batches, API, call store. */
  eventLoopDelay: LatencySummary;
  calls: { active: number; stored: number; evicted: number };
  /** Every counted drop, by place and reason. */
  drops: DropCount[];
}

export interface CallSummary {
  callId: string;
  state: CallState;
  from: string;
  to: string;
  startedUs: number;
  updatedUs: number;
  endedUs: number | null;
  finalStatus: number | null;
  messageCount: number;
  retransmissions: number;
  /** INVITE received → 100 Trying sent, µs. */
  trying100Us: number | null;
}

/** One captured message as the UI sees it (the ladder's SIP lane). */
export interface CapturedMessage {
  /** Index within the call, stable while the call is stored. */
  index: number;
  lane: 'sip';
  tsUs: number;
  direction: Direction;
  transport: TransportName;
  src: string;
  dst: string;
  label: string;
  method: string | null;
  status: number | null;
  cseq: string;
  branch: string | null;
  size: number;
  retransmission: boolean;
  /** The message text (UTF-8, invalid bytes replaced). */
  text: string;
}

export interface CallDetail extends CallSummary {
  timings: { trying100Us: number | null; forwardedUs: number | null; ringingUs: number | null; answeredUs: number | null };
  retransmissionsByKind: Record<string, number>;
  messagesDropped: number;
  /** In index order; all the call keeps, or those from `fromIndex` on when asked. */
  messages: CapturedMessage[];
}

/** Pushed a few times a second; never one per SIP packet. */
export interface LiveBatch {
  seq: number;
  snapshot: Snapshot;
  /** Calls created or changed since the previous batch, newest first (capped). */
  calls: CallSummary[];
  /** Changed calls left out of this batch because of the cap; the UI re-lists when > 0. */
  callsOmitted: number;
}

/** Every command the UI can send, as data (so it can cross IPC and WebSocket and be validated). */
export type Command =
  | { cmd: 'getSnapshot' }
  | { cmd: 'listCalls'; limit?: number }
  /** `fromIndex`: only messages with `index >= fromIndex` (a live ladder fetches what is new, not the whole call again). */
  | { cmd: 'getCall'; callId: string; fromIndex?: number }
  | { cmd: 'setComponent'; name: ComponentName; action: ComponentAction }
  | { cmd: 'getSettings' }
  | { cmd: 'applySettings'; patch: SettingsPatch };

export interface CommandResults {
  getSnapshot: Snapshot;
  listCalls: CallSummary[];
  getCall: CallDetail | null;
  setComponent: ComponentStatus;
  getSettings: LabSettings;
  applySettings: ApplySettingsResult;
}

export type CommandName = Command['cmd'];
export type ResultOf<C extends Command> = CommandResults[C['cmd']];

/** What the renderer holds. */
export interface CallpathApi {
  /** "electron" or "lab" — for the About box only; behaviour must not depend on it. */
  readonly host: 'electron' | 'lab';
  getSnapshot(): Promise<Snapshot>;
  listCalls(limit?: number): Promise<CallSummary[]>;
  /** One call; with `fromIndex`, `messages` holds only those with `index >= fromIndex`. */
  getCall(callId: string, fromIndex?: number): Promise<CallDetail | null>;
  setComponent(name: ComponentName, action: ComponentAction): Promise<ComponentStatus>;
  /** The engine-facing lab flags as they are now, as the CLI would take them. */
  getSettings(): Promise<LabSettings>;
  /** Validates a partial patch, applies it and restarts the running components it affects. */
  applySettings(patch: SettingsPatch): Promise<ApplySettingsResult>;
  /** Live batches; returns the unsubscribe function. */
  subscribe(onBatch: (batch: LiveBatch) => void): () => void;
  /** Connection state of the transport (a lab browser can lose its WebSocket). */
  onConnection(listener: (connected: boolean) => void): () => void;
  /**
   * Saves calls as a file: a save dialog on the desktop, a download in the
   * browser. One call: any format; several: pcap, json, txt, md, svg.
   * `onProgress` gets bytes written so far (the UI shows a bar past a second).
   */
  exportCalls(request: ExportRequest, onProgress?: (bytes: number) => void): Promise<ExportOutcome>;
  /** Picks a .pcap/.pcapng (open dialog or file picker) and imports its SIP calls; null when cancelled. */
  openCapture(): Promise<ImportOutcome | null>;
}

export const EXPORT_FORMAT_NAMES = ['pcap', 'txt', 'svg', 'png', 'mmd', 'json', 'md'] as const;
export type ExportFormatName = (typeof EXPORT_FORMAT_NAMES)[number];
/** Formats a selection of several calls can be exported in (one file). */
export const SELECTION_FORMAT_NAMES: readonly ExportFormatName[] = ['pcap', 'json', 'txt', 'md', 'svg'];
export const MAX_EXPORT_CALLS = 10_000;

export interface ExportRequest {
  callIds: string[];
  format: ExportFormatName;
}

export interface ExportOutcome {
  saved: boolean;
  bytes: number;
  /** Where it went: a path on the desktop, the file name in the browser. */
  name: string | null;
}

export interface ImportOutcome {
  format: string;
  messages: number;
  calls: number;
  skipped: Record<string, number>;
}

/** Checks an export request from the UI (IPC or HTTP) before anything is written. */
export function validateExportRequest(input: unknown): Validated<ExportRequest> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return bad('export request must be an object');
  const o = input as Record<string, unknown>;
  if (Object.keys(o).some((k) => k !== 'callIds' && k !== 'format')) return bad('export takes only "callIds" and "format"');
  if (!EXPORT_FORMAT_NAMES.includes(o.format as ExportFormatName)) return bad(`format must be one of ${EXPORT_FORMAT_NAMES.join(', ')}`);
  const ids = o.callIds;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_EXPORT_CALLS || !ids.every((id) => typeof id === 'string' && id.length > 0 && id.length <= MAX_CALL_ID_LENGTH)) {
    return bad(`callIds must be 1 to ${MAX_EXPORT_CALLS} non-empty strings`);
  }
  const format = o.format as ExportFormatName;
  if (ids.length > 1 && !SELECTION_FORMAT_NAMES.includes(format)) return bad(`several calls export as ${SELECTION_FORMAT_NAMES.join(', ')}, not ${format}`);
  if (ids.length === 1 && format === 'md') return bad('one call exports as mmd, not md');
  return { ok: true, value: { callIds: ids as string[], format } };
}

/**
 * The lab flags the console may change while the engine runs — the
 * engine-facing ones only. The UI address, the token and --no-auth are
 * deliberately absent: the UI must never be able to change its own security
 * settings (a page holding the token could otherwise widen its own access or
 * lock the owner out). Those stay start-up only (flags or --config).
 */
export const SETTING_NAMES = ['sip', 'route', 'rtp', 'ng', 'redis', 'record', 't1', 't2', 't4', 'maxCalls', 'maxCallMessages'] as const;
export type SettingName = (typeof SETTING_NAMES)[number];

/**
 * Every setting on the wire is the string its CLI flag takes (`"127.0.0.1:5060"`,
 * `"off"`, `"500"`), so the dialog shows what a user would type; `route` is
 * `""` when routing by Request-URI. The host parses them with the CLI's parsers.
 */
export type LabSettings = Record<SettingName, string>;
export type SettingsPatch = Partial<LabSettings>;

/** The CLI flag of each setting (labels, and the name error lines use). */
export const SETTING_FLAGS: Record<SettingName, string> = {
  sip: '--sip',
  route: '--route',
  rtp: '--rtp',
  ng: '--ng',
  redis: '--redis',
  record: '--record',
  t1: '--t1',
  t2: '--t2',
  t4: '--t4',
  maxCalls: '--max-calls',
  maxCallMessages: '--max-call-messages',
};

/** Which component a setting belongs to (restarted when it changes); null = applied live (the call store's bounds). */
export const SETTING_COMPONENT: Record<SettingName, ComponentName | null> = {
  sip: 'proxy',
  route: 'proxy',
  t1: 'proxy',
  t2: 'proxy',
  t4: 'proxy',
  rtp: 'relay',
  ng: 'relay',
  redis: 'publisher',
  record: 'recorder',
  maxCalls: null,
  maxCallMessages: null,
};

export const MAX_SETTING_LENGTH = 2048;

export type ApplySettingsResult =
  | {
      ok: true;
      /** Everything as it is now (the patch applied). */
      settings: LabSettings;
      /** Settings whose value actually changed. */
      changed: SettingName[];
      /** Components that were running (or failed) and were restarted with the new settings. */
      restarted: ComponentName[];
      /** Of those, the ones that did not come back, with the engine's error (their status shows `failed`). */
      failed: { name: ComponentName; error: string }[];
      /** Affected but not running (stopped, or not built yet): the new settings apply at their next start. */
      notRunning: ComponentName[];
      /** Components the new settings switched off (`redis: "off"`): stopped, not restarted. */
      stopped: ComponentName[];
      /** Changed settings that took effect without a restart. */
      live: SettingName[];
    }
  /** Refused: nothing changed. `error` is one line naming the field (the CLI's own wording). */
  | { ok: false; field: SettingName | null; error: string; settings: LabSettings };

/** The two primitives a transport provides; `apiFromTransport` builds the rest. */
export interface ContractTransport {
  host: 'electron' | 'lab';
  invoke(command: Command): Promise<unknown>;
  exportCalls(request: ExportRequest, onProgress?: (bytes: number) => void): Promise<ExportOutcome>;
  openCapture(): Promise<ImportOutcome | null>;
  subscribe(onBatch: (batch: LiveBatch) => void): () => void;
  onConnection(listener: (connected: boolean) => void): () => void;
}

export function apiFromTransport(t: ContractTransport): CallpathApi {
  const call = <C extends Command>(c: C) => t.invoke(c) as Promise<ResultOf<C>>;
  return {
    host: t.host,
    getSnapshot: () => call({ cmd: 'getSnapshot' }),
    listCalls: (limit) => call(limit === undefined ? { cmd: 'listCalls' } : { cmd: 'listCalls', limit }),
    getCall: (callId, fromIndex) => call(fromIndex === undefined ? { cmd: 'getCall', callId } : { cmd: 'getCall', callId, fromIndex }),
    setComponent: (name, action) => call({ cmd: 'setComponent', name, action }),
    getSettings: () => call({ cmd: 'getSettings' }),
    applySettings: (patch) => call({ cmd: 'applySettings', patch }),
    subscribe: (f) => t.subscribe(f),
    onConnection: (f) => t.onConnection(f),
    exportCalls: (r, p) => t.exportCalls(r, p),
    openCapture: () => t.openCapture(),
  };
}

export const MAX_LIST_LIMIT = 10_000;
const MAX_CALL_ID_LENGTH = 1024;

export type Validated<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Every message from the UI is untrusted (a compromised renderer, a stray
 * browser tab with the token): check its exact shape before it reaches the
 * host. Unknown keys are refused so typos fail loudly.
 */
export function validateCommand(input: unknown): Validated<Command> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return bad('command must be an object');
  const o = input as Record<string, unknown>;
  const keys = Object.keys(o);
  const only = (...allowed: string[]) => keys.every((k) => allowed.includes(k));
  switch (o.cmd) {
    case 'getSnapshot':
      return only('cmd') ? { ok: true, value: { cmd: 'getSnapshot' } } : bad('getSnapshot takes no arguments');
    case 'listCalls': {
      if (!only('cmd', 'limit')) return bad('listCalls takes only "limit"');
      if (o.limit === undefined) return { ok: true, value: { cmd: 'listCalls' } };
      if (!Number.isInteger(o.limit) || (o.limit as number) < 1 || (o.limit as number) > MAX_LIST_LIMIT) {
        return bad(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
      }
      return { ok: true, value: { cmd: 'listCalls', limit: o.limit as number } };
    }
    case 'getCall':
      if (!only('cmd', 'callId', 'fromIndex')) return bad('getCall takes only "callId" and "fromIndex"');
      if (typeof o.callId !== 'string' || o.callId.length === 0 || o.callId.length > MAX_CALL_ID_LENGTH) {
        return bad('callId must be a non-empty string of at most 1024 characters');
      }
      if (o.fromIndex === undefined) return { ok: true, value: { cmd: 'getCall', callId: o.callId } };
      if (!Number.isSafeInteger(o.fromIndex) || (o.fromIndex as number) < 0) return bad('fromIndex must be a whole number ≥ 0');
      return { ok: true, value: { cmd: 'getCall', callId: o.callId, fromIndex: o.fromIndex as number } };
    case 'setComponent':
      if (!only('cmd', 'name', 'action')) return bad('setComponent takes only "name" and "action"');
      if (typeof o.name !== 'string' || !COMPONENTS.includes(o.name as ComponentName)) {
        return bad(`name must be one of ${COMPONENTS.join(', ')}`);
      }
      if (o.action !== 'start' && o.action !== 'stop') return bad('action must be "start" or "stop"');
      return { ok: true, value: { cmd: 'setComponent', name: o.name as ComponentName, action: o.action } };
    case 'getSettings':
      return only('cmd') ? { ok: true, value: { cmd: 'getSettings' } } : bad('getSettings takes no arguments');
    case 'applySettings': {
      if (!only('cmd', 'patch')) return bad('applySettings takes only "patch"');
      const patch = validateSettingsPatch(o.patch);
      return patch.ok ? { ok: true, value: { cmd: 'applySettings', patch: patch.value } } : patch;
    }
    default:
      return bad(`unknown command ${JSON.stringify(String(o.cmd)).slice(0, 60)}`);
  }
}

/** Settings the console can never change, refused by name so the reason is clear. */
const START_UP_ONLY = ['ui', 'token', 'noAuth', 'auth', 'open', 'config'];

/**
 * The shape of a settings patch: known setting names only, each a string of
 * one printable line. What the strings mean is checked by the host with the
 * CLI's own parsers (`applySettingsPatch` in `app/config.ts`).
 */
export function validateSettingsPatch(input: unknown): Validated<SettingsPatch> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return bad('patch must be an object of settings, e.g. {"t1": "250"}');
  const keys = Object.keys(input);
  if (keys.length === 0) return bad('patch names no settings');
  const out: SettingsPatch = {};
  for (const key of keys) {
    if (START_UP_ONLY.includes(key)) return bad(`"${key}" cannot be changed from the console (start-up only: the UI never changes its own security settings)`);
    if (!(SETTING_NAMES as readonly string[]).includes(key)) return bad(`unknown setting ${JSON.stringify(key).slice(0, 60)}; one of ${SETTING_NAMES.join(', ')}`);
    const name = key as SettingName;
    const value = (input as Record<string, unknown>)[key];
    if (typeof value !== 'string') return bad(`${name} must be a string, as ${SETTING_FLAGS[name]} takes it`);
    if (value.length > MAX_SETTING_LENGTH) return bad(`${name} is longer than ${MAX_SETTING_LENGTH} characters`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value)) return bad(`${name} must be one line of printable text`);
    out[name] = value;
  }
  return { ok: true, value: out };
}

function bad(error: string): { ok: false; error: string } {
  return { ok: false, error };
}

/** Wire format of the lab WebSocket (JSON text frames). */
export type ClientFrame = { type: 'invoke'; id: number; command: unknown };
export type ServerFrame =
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: string }
  | { type: 'batch'; batch: LiveBatch }
  | { type: 'hello'; contractVersion: number };

/** IPC channel names used by main and preload. */
export const IPC = {
  invoke: 'callpath:invoke',
  batch: 'callpath:batch',
  subscribe: 'callpath:subscribe',
  exportCalls: 'callpath:export',
  exportProgress: 'callpath:export-progress',
  openCapture: 'callpath:open-capture',
} as const;
