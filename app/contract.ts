/**
 * The one typed contract between the engine host and the UI.
 *
 * Everything the renderer can ask (commands) and receive (results, live
 * batches) is declared here. It is implemented twice — over Electron IPC by
 * the preload, and over a WebSocket by the lab server's client — and the
 * renderer only ever sees `CallpathApi`, so it cannot tell which it has.
 *
 * This file is shared by the renderer, so from `engine/` it imports types,
 * and at run time only pure constants and functions (no Node, no I/O): the
 * component names and the call filter, so both sides read one definition.
 */
import { EXPORT_FORMATS, SELECTION_FORMATS, isSelectionFormat, type ExportFormat, type SelectionFormat } from '../engine/capture/formats';
import { COMPONENT_NAMES, type ComponentName, type ComponentState, type ComponentStatus } from '../engine/component';
import type { Direction, Lane, MediaEvent, PublishEvent, RecordEvent, TransportName, WireSeen } from '../engine/events';
import { CALL_STATES, type CallState, type CallSummary, type CallTimings, type Leg, type LaneCounts, type MediaSummary, type RecorderSummary } from '../engine/call/model';
import { CALL_OUTCOMES, MAX_UP_DURING_WINDOWS, filterError, type CallFilter, type CallOutcome, type CallSort, type CallSortKey } from '../engine/call/query';
import type { TimeWindow } from '../engine/clock';
import type { EvictionReason, SourceInfo } from '../engine/call/store';
import type { LatencySummary } from '../engine/metrics/histogram';
import type { FinalsByClass } from '../engine/sip/proxy/counters';
import type { DropCount } from '../engine/metrics/drops';
import type { KernelUdpStats } from '../engine/metrics/kernel-udp';
import type { RecorderStats } from '../engine/record/recorder';
import type { TrafficStats } from '../engine/traffic/generator';
import type { Suspect, SuspectCheck, SuspectId, SuspectState } from './suspects';
import { INCIDENT_IDS, type IncidentCheck, type IncidentId, type IncidentPhase } from './incidents/catalog';
import type { IncidentStatus } from './incidents/runner';
import type { WireStats } from '../engine/wire/tap';
import type { WatchStats } from '../engine/wire/watch';
import type { PublisherStats, PublishMode, DeliveryVia } from '../engine/publish/stats';
import type { RelayStats, PortPoolStats, RelaySessionRow, RelayTimeouts, CloseReason } from '../engine/rtp/stats';
import type { ConsumerStats } from '../engine/publish/consumer';
import type { SubscriberLoadStats } from '../engine/publish/load-worker/protocol';
import type { PublishSummary } from '../engine/call/model';
import type { SocketBuffers } from '../engine/sip/transport/types';

export type { ComponentName, ComponentState, ComponentStatus, CallState, Direction, TransportName, LatencySummary, DropCount, WireSeen };
export type { WireStats, WatchStats, KernelUdpStats };
export type { PublisherStats, PublishMode, DeliveryVia, ConsumerStats, SubscriberLoadStats, PublishSummary };
export type { RelayStats, PortPoolStats, RelaySessionRow, RelayTimeouts, CloseReason };
export type { TrafficStats, Suspect, SuspectCheck, SuspectId, SuspectState };
export { TRYING_RED_MS } from './suspects';
export type { IncidentCheck, IncidentId, IncidentPhase, IncidentStatus };
export { INCIDENT_IDS, INCIDENTS } from './incidents/catalog';
export { CLOSE_REASONS } from '../engine/rtp/stats';
export { PUBLISH_MODES, LATE_DELIVERY_US, WIDE_FAN_OUT, deliveryVia } from '../engine/publish/stats';
export { undelivered } from '../engine/call/query';
export type { Lane, Leg, LaneCounts, CallSummary, MediaSummary, RecorderSummary, CallFilter, CallOutcome, CallSort, CallSortKey, EvictionReason, SourceInfo, TimeWindow };
export { COMPONENT_NAMES };
/** The pure filter and sort rules, one definition for the engine's queries and the renderer's list. */
export { CALL_OUTCOMES, DEFAULT_SORT, MAX_UP_DURING_WINDOWS, NO_FILTER, filterError, hasRecorderDrops, isFilterActive, mediaLossRatio, outcomeOf } from '../engine/call/query';
export { CALL_STATES, callKey } from '../engine/call/model';
/** The relay sessions' calls are live calls: the console names them with `callKey(LIVE_SOURCE, callId)`. */
export { LIVE_SOURCE } from '../engine/events';
export { DEFAULT_RELAY_TIMEOUTS, STREAM_REPORTS } from '../engine/rtp/stats';

/** 2: every lane in one `LadderEntry` union, calls keyed by source, per-component snapshot sections, engine-side queries. */
export const CONTRACT_VERSION = 2;
export type ComponentAction = 'start' | 'stop';

/** Signalling figures of the SIP proxy (all latencies in µs). */
export interface SipStats {
  callsPerSecond: number;
  /** Live calls in progress (the call store's, imported calls not counted). */
  activeCalls: number;
  activeTransactions: number;
  retransmissionsPerSecond: number;
  messagesIn: number;
  messagesOut: number;
  retransmissionsIn: number;
  retransmissionsOut: number;
  /** INVITE read → 100 Trying sent as the engine stamps both (after any wait in the kernel), last minute. `wire.trying100` is the wire's. */
  trying100: LatencySummary;
  /** Event-loop delay of the SIP worker thread, µs. */
  loopDelay: LatencySummary;
  /** Responses the proxy generated itself, by status ("408": n), since the engine started (100 Trying not counted). */
  answered: Record<string, number>;
  /** Final responses sent upstream, relayed or generated, once per transaction, by class, since the engine started. */
  finals: FinalsByClass;
  /** The SIP UDP socket's buffers as the kernel set them (null without UDP). */
  udpBuffers: SocketBuffers | null;
}


/** What the call store holds, over all sources, and what it let go. */
export interface StoreStats {
  active: number;
  stored: number;
  /** Bytes held (entries with their raw bytes, plus a fixed cost per entry and call) and the budget. */
  bytes: number;
  maxBytes: number;
  /** Calls evicted since start, in all and by reason. */
  evicted: number;
  evictedBy: Record<EvictionReason, number>;
  /** Entries rotated out of calls longer than the per-call bound. */
  entriesDropped: number;
  sources: SourceInfo[];
}

export interface Snapshot {
  contractVersion: number;
  /** Engine clock, µs. */
  nowUs: number;
  startedUs: number;
  components: ComponentStatus[];
  /**
   * One section per component, null while that part is absent (not built,
   * or switched off).
   */
  sip: SipStats | null;
  relay: RelayStats | null;
  /** The recorder's figures while it runs (active and finished recordings, totals, PCM forwarding with its connections), else null. */
  recorder: RecorderStats | null;
  publisher: PublisherStats | null;
  /** The reference consumer (the story's application): what it received, how, how late. Null while it is not running. */
  consumer: ConsumerStats | null;
  /** The pattern-subscriber load on Redis (the story's 640 connections); null while off. */
  subscriberLoad: SubscriberLoadStats | null;
  /** The built-in traffic while it runs (engine/traffic/generator.ts): its own account of the calls it places, and its own thread's load; null when off. */
  traffic: TrafficStats | null;
  /** The suspects board (app/suspects.ts): each suspect of the story's chain green, amber or red by stated thresholds, off when its part is. */
  suspects: Suspect[];
  /** The incident being reproduced (app/incidents/): its story, phase, live checks and what the runner did; null when none runs. */
  incident: IncidentStatus | null;
  /** Event-loop delay of the host (main) thread, µs: UI batches, API, call store. */
  eventLoopDelay: LatencySummary;
  /**
   * The wire tap (`--wire`): on or off with its one-line reason, messages
   * paired and seen by one side only, the wire → engine gap per direction
   * and the 100 Trying delay on the wire, both over the last minute.
   */
  wire: WireStats;
  /** `--watch`: calls built from the wire alone (null without it). */
  watch: WatchStats | null;
  /** The SIP socket's receive queue and the system's UDP receive drops (/proc). */
  kernel: KernelUdpStats;
  calls: StoreStats;
  /** Every counted drop, by place and reason. */
  drops: DropCount[];
}


/**
 * What every ladder entry has: its place in the call, its time, the two
 * endpoint columns it joins, what its arrow says, and its owner — like
 * sngrep's `call_flow_arrow` item: the SIP transaction (`sip:CSeq`), the
 * stream (`stream:ID`), the published event (`publish:EVENT`), `record` or `note`.
 */
interface EntryBase {
  /** Index within the call across every lane (capture order), stable while the call is stored. */
  index: number;
  tsUs: number;
  src: string;
  dst: string;
  label: string;
  owner: string;
}

/** A SIP message (the ladder's SIP lane). */
export interface SipEntry extends EntryBase {
  lane: 'sip';
  direction: Direction;
  transport: TransportName;
  method: string | null;
  status: number | null;
  cseq: string;
  branch: string | null;
  size: number;
  retransmission: boolean;
  /** The message text (UTF-8, invalid bytes replaced). */
  text: string;
  /** With the wire tap on: the engine's own time for a message `tsUs` gives the wire time of (`SipCaptureEvent.engineTsUs`). */
  engineTsUs?: number;
  /** With the wire tap on: who saw the message (`SipCaptureEvent.seen`). */
  seen?: WireSeen;
}

/** A media stream: opened, its periodic figures, closed. `sdpIndex` points back to the SIP entry whose SDP set it up. */
export interface MediaEntry extends EntryBase, Pick<MediaEvent, 'phase' | 'streamId' | 'legTag' | 'mediaIndex' | 'codec' | 'ssrc' | 'packets' | 'bytes' | 'lost' | 'jitterUs' | 'reason'> {
  lane: 'media';
  sdpIndex: number | null;
}

/** A call event on its way to Redis. */
export interface PublishEntry extends EntryBase, Pick<PublishEvent, 'phase' | 'event' | 'target' | 'receivers' | 'sinceQueuedUs' | 'error'> {
  lane: 'publish';
}

/** What the recorder did for the call. */
export interface RecordEntry extends EntryBase, Pick<RecordEvent, 'phase' | 'path' | 'packets' | 'dropped' | 'framesDropped' | 'detail'> {
  lane: 'record';
}

/** An engine annotation (a timer that fired, a session closed). */
export interface NoteEntry extends EntryBase {
  lane: 'note';
  text: string;
}

/** One row of a call's ladder, one member per lane. */
export type LadderEntry = SipEntry | MediaEntry | PublishEntry | RecordEntry | NoteEntry;

export interface CallDetail extends CallSummary {
  timings: CallTimings;
  retransmissionsByKind: Record<string, number>;
  /** Entries rotated out of the front of the call (their indexes are below this). */
  entriesDropped: number;
  /** rtpengine's model: legs (one per SIP tag) → media sections → streams. */
  legs: Leg[];
  /** In index order; all the call keeps, or those from `fromIndex` on when asked. */
  entries: LadderEntry[];
}

/** One page of an engine-side query over every stored call. */
export interface CallPage {
  /** Calls stored now (all sources) and evicted since start. */
  stored: number;
  evicted: number;
  /** Calls that match the filter. */
  matched: number;
  offset: number;
  calls: CallSummary[];
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
  /** Every stored call that matches, sorted, one page. */
  | { cmd: 'queryCalls'; filter: CallFilter; sort: CallSort; offset: number; limit: number }
  /** `fromIndex`: only entries with `index >= fromIndex` (a live ladder fetches what is new, not the whole call again). */
  | { cmd: 'getCall'; key: string; fromIndex?: number }
  | { cmd: 'setComponent'; name: ComponentName; action: ComponentAction }
  | { cmd: 'getSettings' }
  | { cmd: 'applySettings'; patch: SettingsPatch }
  /** The pattern-subscriber load on the publisher's Redis (the story's 640 connections); null stops it. */
  | { cmd: 'setSubscriberLoad'; load: SubscriberLoadRequest | null }
  /** Closes the relay's sessions no dialog through our proxy holds any more (reason `orphan`), giving their ports back. */
  | { cmd: 'releaseOrphans' }
  /** Starts (`on`) or stops recording one live call mid-call (the recorder must run; the relay must carry the call's media). */
  | { cmd: 'recordCall'; callId: string; on: boolean }
  /** Reproduces one of the story's incidents in its bad configuration or with the fix (`quick`: shortened durations); another running incident is stopped first. */
  | { cmd: 'runIncident'; id: IncidentId; phase: IncidentPhase; quick?: boolean }
  /** Stops the incident: its traffic and load stop, the settings it changed go back. */
  | { cmd: 'stopIncident' };

/** What the load control asks for. */
export interface SubscriberLoadRequest {
  /** Connections, 1 to MAX_SUBSCRIBER_LOAD. */
  count: number;
  /** All on `call:*` (Redis keeps one pattern list entry per client either way) or each on a pattern of its own. */
  patterns: 'same' | 'distinct';
  /** Read slowly, so Redis's output buffers for them grow. */
  slow: boolean;
}
export const MAX_SUBSCRIBER_LOAD = 5_000;

export interface CommandResults {
  getSnapshot: Snapshot;
  listCalls: CallSummary[];
  queryCalls: CallPage;
  getCall: CallDetail | null;
  setComponent: ComponentStatus;
  getSettings: LabSettings;
  applySettings: ApplySettingsResult;
  setSubscriberLoad: SubscriberLoadStats | null;
  releaseOrphans: { released: number };
  recordCall: RecordCallResult;
  runIncident: IncidentStatus;
  stopIncident: null;
}

/** A recording started or stopped, or why not. */
export type RecordCallResult = { ok: true; recording: boolean } | { ok: false; reason: string };

export type CommandName = Command['cmd'];
export type ResultOf<C extends Command> = CommandResults[C['cmd']];

/** What the renderer holds. */
export interface CallpathApi {
  /** "electron" or "lab" — for the About box only; behaviour must not depend on it. */
  readonly host: 'electron' | 'lab';
  getSnapshot(): Promise<Snapshot>;
  listCalls(limit?: number): Promise<CallSummary[]>;
  queryCalls(filter: CallFilter, sort: CallSort, offset: number, limit: number): Promise<CallPage>;
  /** One call by its key; with `fromIndex`, `entries` holds only those with `index >= fromIndex`. */
  getCall(key: string, fromIndex?: number): Promise<CallDetail | null>;
  setComponent(name: ComponentName, action: ComponentAction): Promise<ComponentStatus>;
  /** The engine-facing lab flags as they are now, as the CLI would take them. */
  getSettings(): Promise<LabSettings>;
  /** Validates a partial patch, applies it and restarts the running components it affects. */
  applySettings(patch: SettingsPatch): Promise<ApplySettingsResult>;
  /** Starts (or replaces) the pattern-subscriber load on the publisher's Redis, or stops it (null); resolves with its figures once subscribed. */
  setSubscriberLoad(load: SubscriberLoadRequest | null): Promise<SubscriberLoadStats | null>;
  /** Releases the relay's orphaned sessions now; resolves with how many were closed (0 without a relay). */
  releaseOrphans(): Promise<{ released: number }>;
  /** Starts or stops recording one live call. */
  recordCall(callId: string, on: boolean): Promise<RecordCallResult>;
  /** Reproduces an incident (bad configuration or fixed); resolves with its status once set up. */
  runIncident(id: IncidentId, phase: IncidentPhase, quick?: boolean): Promise<IncidentStatus>;
  stopIncident(): Promise<null>;
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
  /**
   * Opens the folder of a recording the recorder lists, with the file
   * selected (the desktop app); null where the console downloads and plays
   * the files instead (the lab server serves them).
   */
  showRecording: ((path: string) => Promise<void>) | null;
  /**
   * Where the console fetches a recording the recorder lists, to download
   * or play it (the lab server serves them); null where nothing serves the
   * files (the desktop app shows them in their folder instead).
   */
  recordingUrl: ((path: string) => string) | null;
}

export { EXPORT_FORMATS, CALL_FORMATS, SELECTION_FORMATS } from '../engine/capture/formats';
export type { ExportFormat, CallFormat, SelectionFormat } from '../engine/capture/formats';
export const MAX_EXPORT_CALLS = 10_000;
/** Column names given in the console, at most this many, each at most `ALIAS_MAX_LENGTH` characters. */
export const MAX_COLUMN_NAMES = 256;
export const ALIAS_MAX_LENGTH = 40;

/**
 * What to export: calls by key, or every stored call a query matches (in the
 * query's order) — so "Export N calls…" reaches calls no UI has listed.
 * `columnNames` (endpoint → name, as given in the console) travel into the file.
 */
export type ExportRequest =
  | { keys: string[]; format: ExportFormat; columnNames?: Record<string, string> }
  | { query: { filter: CallFilter; sort: CallSort }; format: SelectionFormat; columnNames?: Record<string, string> };

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
  /** The source its calls are listed under ("import-1"). */
  source: string;
  skipped: Record<string, number>;
}

/** Checks an export request from the UI (IPC or HTTP) before anything is written. */
export function validateExportRequest(input: unknown): Validated<ExportRequest> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return bad('export request must be an object');
  const o = input as Record<string, unknown>;
  if (Object.keys(o).some((k) => k !== 'keys' && k !== 'query' && k !== 'format' && k !== 'columnNames')) return bad('export takes only "keys" or "query", "format" and "columnNames"');
  if (!(EXPORT_FORMATS as readonly string[]).includes(o.format as string)) return bad(`format must be one of ${EXPORT_FORMATS.join(', ')}`);
  const names = validateColumnNames(o.columnNames);
  if (!names.ok) return names;
  const columnNames = names.value === undefined ? {} : { columnNames: names.value };
  if ((o.keys === undefined) === (o.query === undefined)) return bad('export takes either "keys" or "query"');
  if (o.query !== undefined) {
    const q = o.query as Record<string, unknown> | null;
    if (typeof q !== 'object' || q === null || Object.keys(q).some((k) => k !== 'filter' && k !== 'sort')) return bad('query must be {"filter": ..., "sort": ...}');
    const filter = validateCallFilter(q.filter);
    if (!filter.ok) return filter;
    const sort = validateCallSort(q.sort);
    if (!sort.ok) return sort;
    if (!isSelectionFormat(o.format as string)) return bad(`a query exports as ${SELECTION_FORMATS.join(', ')}, not ${String(o.format)}`);
    return { ok: true, value: { query: { filter: filter.value, sort: sort.value }, format: o.format as SelectionFormat, ...columnNames } };
  }
  const keys = o.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_EXPORT_CALLS || !keys.every(isCallKey)) {
    return bad(`keys must be 1 to ${MAX_EXPORT_CALLS} call keys (a live call's key is its Call-ID)`);
  }
  const format = o.format as ExportFormat;
  if (keys.length > 1 && !isSelectionFormat(format)) return bad(`several calls export as ${SELECTION_FORMATS.join(', ')}, not ${format}`);
  if (keys.length === 1 && format === 'md') return bad('one call exports as mmd, not md');
  return { ok: true, value: { keys: keys as string[], format, ...columnNames } };
}

function validateColumnNames(input: unknown): Validated<Record<string, string> | undefined> {
  if (input === undefined) return { ok: true, value: undefined };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return bad('columnNames must be an object of "ip:port": "name"');
  const entries = Object.entries(input);
  if (entries.length > MAX_COLUMN_NAMES) return bad(`at most ${MAX_COLUMN_NAMES} column names`);
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > 200 || typeof v !== 'string' || v.length === 0 || v.length > ALIAS_MAX_LENGTH) return bad(`a column name must be 1 to ${ALIAS_MAX_LENGTH} characters, for an endpoint "ip:port"`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(v)) return bad('a column name must be one line of printable text');
  }
  return { ok: true, value: Object.fromEntries(entries) as Record<string, string> };
}

/**
 * The lab flags the console may change while the engine runs — the
 * engine-facing ones only. The UI address, the token and --no-auth are
 * deliberately absent: the UI must never be able to change its own security
 * settings (a page holding the token could otherwise widen its own access or
 * lock the owner out). Those stay start-up only (flags or --config).
 */
export const SETTING_NAMES = ['sip', 'route', 'rtp', 'ng', 'timeout', 'silentTimeout', 'offerTimeout', 'finalTimeout', 'redis', 'publishMode', 'record', 'recordMix', 'traffic', 't1', 't2', 't4', 'timerC', 'maxCalls', 'maxCallMessages', 'maxStoreMb', 'maxCallIdle'] as const;
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
  timeout: '--timeout',
  silentTimeout: '--silent-timeout',
  offerTimeout: '--offer-timeout',
  finalTimeout: '--final-timeout',
  redis: '--redis',
  publishMode: '--publish-mode',
  record: '--record',
  recordMix: '--record-mix',
  traffic: '--traffic',
  t1: '--t1',
  t2: '--t2',
  t4: '--t4',
  timerC: '--timer-c',
  maxCalls: '--max-calls',
  maxCallMessages: '--max-call-messages',
  maxStoreMb: '--max-store-mb',
  maxCallIdle: '--max-call-idle',
};

/** Which component a setting belongs to (restarted when it changes); null = applied live (the call store's bounds). */
export const SETTING_COMPONENT: Record<SettingName, ComponentName | null> = {
  sip: 'proxy',
  route: 'proxy',
  t1: 'proxy',
  t2: 'proxy',
  t4: 'proxy',
  timerC: 'proxy',
  rtp: 'relay',
  ng: 'relay',
  timeout: 'relay',
  silentTimeout: 'relay',
  offerTimeout: 'relay',
  finalTimeout: 'relay',
  redis: 'publisher',
  publishMode: 'publisher',
  record: 'recorder',
  recordMix: 'recorder',
  traffic: 'traffic',
  maxCalls: null,
  maxCallMessages: null,
  maxStoreMb: null,
  maxCallIdle: null,
};

/** Settings a running component takes without a restart (the proxy's timers and targets: new transactions use them, those in flight keep theirs; the recorder's mix: new recordings use it; the traffic's spec: calls placed from now on). */
export const LIVE_SETTINGS: readonly SettingName[] = ['route', 't1', 't2', 't4', 'timerC', 'publishMode', 'recordMix', 'traffic', 'timeout', 'silentTimeout', 'offerTimeout', 'finalTimeout'];

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
  /** Shows a recording's file in the system's file manager (the desktop app); absent where the files are downloaded instead. */
  showRecording?(path: string): Promise<void>;
  /** The URL of a recording's file; absent where nothing serves the files. */
  recordingUrl?(path: string): string;
  subscribe(onBatch: (batch: LiveBatch) => void): () => void;
  onConnection(listener: (connected: boolean) => void): () => void;
}

export function apiFromTransport(t: ContractTransport): CallpathApi {
  const call = <C extends Command>(c: C) => t.invoke(c) as Promise<ResultOf<C>>;
  return {
    host: t.host,
    getSnapshot: () => call({ cmd: 'getSnapshot' }),
    listCalls: (limit) => call(limit === undefined ? { cmd: 'listCalls' } : { cmd: 'listCalls', limit }),
    queryCalls: (filter, sort, offset, limit) => call({ cmd: 'queryCalls', filter, sort, offset, limit }),
    getCall: (key, fromIndex) => call(fromIndex === undefined ? { cmd: 'getCall', key } : { cmd: 'getCall', key, fromIndex }),
    setComponent: (name, action) => call({ cmd: 'setComponent', name, action }),
    getSettings: () => call({ cmd: 'getSettings' }),
    applySettings: (patch) => call({ cmd: 'applySettings', patch }),
    setSubscriberLoad: (load) => call({ cmd: 'setSubscriberLoad', load }),
    releaseOrphans: () => call({ cmd: 'releaseOrphans' }),
    recordCall: (callId, on) => call({ cmd: 'recordCall', callId, on }),
    runIncident: (id, phase, quick) => call(quick === undefined ? { cmd: 'runIncident', id, phase } : { cmd: 'runIncident', id, phase, quick }),
    stopIncident: () => call({ cmd: 'stopIncident' }),
    subscribe: (f) => t.subscribe(f),
    onConnection: (f) => t.onConnection(f),
    exportCalls: (r, p) => t.exportCalls(r, p),
    openCapture: () => t.openCapture(),
    showRecording: t.showRecording ? (path) => t.showRecording!(path) : null,
    recordingUrl: t.recordingUrl ? (path) => t.recordingUrl!(path) : null,
  };
}

export const MAX_LIST_LIMIT = 10_000;
/** A Call-ID of up to 1024 characters, with a source prefix. */
const MAX_CALL_KEY_LENGTH = 1100;
const isCallKey = (k: unknown): k is string => typeof k === 'string' && k.length > 0 && k.length <= MAX_CALL_KEY_LENGTH;

const FILTER_STATES: readonly (CallState | 'all')[] = ['all', ...CALL_STATES];
const SORT_KEYS: readonly CallSortKey[] = ['time', 'callId', 'from', 'to', 'state', 'msgs', 'rtx', 'trying', 'status', 'source', 'streams', 'loss'];
const FILTER_KEYS = ['text', 'regex', 'header', 'state', 'outcome', 'status', 'method', 'address', 'fromUs', 'toUs', 'source', 'retransmissionsOnly', 'tryingSlowerThanMs', 'publishSlowerThanMs', 'notDelivered'];
/** Fields a filter may leave out (added later; absent means off). */
const OPTIONAL_FILTER_KEYS = ['mediaLoss', 'mediaJitterAtLeastMs', 'recorderDrops', 'upDuring'];
const MAX_FILTER_TEXT = 512;
const shortText = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_FILTER_TEXT;
const nullOr = <T>(v: unknown, test: (x: unknown) => x is T): v is T | null => v === null || test(v);
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isWindow = (v: unknown): v is TimeWindow => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const w = v as Record<string, unknown>;
  return Object.keys(w).every((k) => k === 'fromUs' || k === 'toUs') && isTime(w.fromUs) && isTime(w.toUs) && w.fromUs <= w.toUs;
};
const isWindowList = (v: unknown): v is TimeWindow[] => Array.isArray(v) && v.length <= MAX_UP_DURING_WINDOWS && v.every(isWindow);

/** A call filter from the UI: every field present (optional ones may be left out), each of its type; a regular expression must compile. */
export function validateCallFilter(input: unknown): Validated<CallFilter> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return bad('filter must be an object');
  const o = input as Record<string, unknown>;
  const keys = Object.keys(o);
  const unknownKey = keys.find((k) => !FILTER_KEYS.includes(k) && !OPTIONAL_FILTER_KEYS.includes(k));
  if (unknownKey !== undefined) return bad(`unknown filter field ${JSON.stringify(unknownKey).slice(0, 60)}`);
  const missing = FILTER_KEYS.find((k) => !(k in o));
  if (missing !== undefined) return bad(`filter needs "${missing}"`);
  if (!shortText(o.text)) return bad(`filter.text must be a string of at most ${MAX_FILTER_TEXT} characters`);
  if (typeof o.regex !== 'boolean') return bad('filter.regex must be true or false');
  const h = o.header as Record<string, unknown> | null;
  if (h !== null && (typeof h !== 'object' || Array.isArray(h) || Object.keys(h).some((k) => k !== 'name' && k !== 'value') || !shortText(h.name) || !shortText(h.value))) {
    return bad('filter.header must be null or {"name": "...", "value": "..."} ("name" may be "" for any header)');
  }
  if (!FILTER_STATES.includes(o.state as CallState)) return bad(`filter.state must be one of ${FILTER_STATES.join(', ')}`);
  if (!nullOr(o.outcome, (x): x is CallOutcome => (CALL_OUTCOMES as readonly unknown[]).includes(x))) return bad(`filter.outcome must be null or one of ${CALL_OUTCOMES.join(', ')}`);
  if (!nullOr(o.status, (x): x is number => Number.isInteger(x) && (x as number) >= 100 && (x as number) <= 699)) return bad('filter.status must be null or a SIP status from 100 to 699');
  if (!nullOr(o.method, (x): x is string => typeof x === 'string' && /^[A-Za-z]{1,32}$/.test(x))) return bad('filter.method must be null or a SIP method name');
  if (!shortText(o.address)) return bad('filter.address must be a string');
  if (!nullOr(o.fromUs, isTime) || !nullOr(o.toUs, isTime)) return bad('filter.fromUs and filter.toUs must be null or µs timestamps');
  if (!nullOr(o.source, shortText)) return bad('filter.source must be null or a source id');
  if (typeof o.retransmissionsOnly !== 'boolean') return bad('filter.retransmissionsOnly must be true or false');
  if (!nullOr(o.tryingSlowerThanMs, (x): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0)) return bad('filter.tryingSlowerThanMs must be null or a number of ms ≥ 0');
  if (!nullOr(o.publishSlowerThanMs, (x): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0)) return bad('filter.publishSlowerThanMs must be null or a number of ms ≥ 0');
  if (typeof o.notDelivered !== 'boolean') return bad('filter.notDelivered must be true or false');
  if (o.mediaLoss !== undefined && typeof o.mediaLoss !== 'boolean') return bad('filter.mediaLoss must be true or false (or left out)');
  if (o.mediaJitterAtLeastMs !== undefined && !nullOr(o.mediaJitterAtLeastMs, (x): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0)) return bad('filter.mediaJitterAtLeastMs must be null or a number of ms ≥ 0 (or left out)');
  if (o.recorderDrops !== undefined && typeof o.recorderDrops !== 'boolean') return bad('filter.recorderDrops must be true or false (or left out)');
  if (o.upDuring !== undefined && !nullOr(o.upDuring, isWindowList)) return bad(`filter.upDuring must be null or a list of at most ${MAX_UP_DURING_WINDOWS} {"fromUs": µs, "toUs": µs} with fromUs ≤ toUs (or left out)`);
  const regexError = filterError(o as unknown as CallFilter);
  if (regexError !== null) return bad(`filter ${regexError}`);
  return { ok: true, value: o as unknown as CallFilter };
}

export function validateCallSort(input: unknown): Validated<CallSort> {
  const o = input as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || Object.keys(o).some((k) => k !== 'key' && k !== 'dir')) return bad('sort must be {"key": ..., "dir": "asc"|"desc"}');
  if (!SORT_KEYS.includes(o.key as CallSortKey)) return bad(`sort.key must be one of ${SORT_KEYS.join(', ')}`);
  if (o.dir !== 'asc' && o.dir !== 'desc') return bad('sort.dir must be "asc" or "desc"');
  return { ok: true, value: { key: o.key as CallSortKey, dir: o.dir } };
}

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
    case 'queryCalls': {
      if (!only('cmd', 'filter', 'sort', 'offset', 'limit')) return bad('queryCalls takes only "filter", "sort", "offset" and "limit"');
      const filter = validateCallFilter(o.filter);
      if (!filter.ok) return filter;
      const sort = validateCallSort(o.sort);
      if (!sort.ok) return sort;
      if (!Number.isSafeInteger(o.offset) || (o.offset as number) < 0) return bad('offset must be a whole number ≥ 0');
      if (!Number.isInteger(o.limit) || (o.limit as number) < 1 || (o.limit as number) > MAX_LIST_LIMIT) return bad(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
      return { ok: true, value: { cmd: 'queryCalls', filter: filter.value, sort: sort.value, offset: o.offset as number, limit: o.limit as number } };
    }
    case 'getCall':
      if (!only('cmd', 'key', 'fromIndex')) return bad('getCall takes only "key" and "fromIndex"');
      if (!isCallKey(o.key)) return bad('key must be a non-empty string of at most 1100 characters');
      if (o.fromIndex === undefined) return { ok: true, value: { cmd: 'getCall', key: o.key } };
      if (!Number.isSafeInteger(o.fromIndex) || (o.fromIndex as number) < 0) return bad('fromIndex must be a whole number ≥ 0');
      return { ok: true, value: { cmd: 'getCall', key: o.key, fromIndex: o.fromIndex as number } };
    case 'setComponent':
      if (!only('cmd', 'name', 'action')) return bad('setComponent takes only "name" and "action"');
      if (typeof o.name !== 'string' || !COMPONENT_NAMES.includes(o.name as ComponentName)) {
        return bad(`name must be one of ${COMPONENT_NAMES.join(', ')}`);
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
    case 'setSubscriberLoad': {
      if (!only('cmd', 'load')) return bad('setSubscriberLoad takes only "load"');
      if (o.load === null) return { ok: true, value: { cmd: 'setSubscriberLoad', load: null } };
      const l = o.load as Record<string, unknown>;
      if (typeof l !== 'object' || Array.isArray(l) || Object.keys(l).some((k) => !['count', 'patterns', 'slow'].includes(k))) return bad('load must be null or {"count", "patterns", "slow"}');
      if (!Number.isInteger(l.count) || (l.count as number) < 1 || (l.count as number) > MAX_SUBSCRIBER_LOAD) return bad(`load.count must be an integer from 1 to ${MAX_SUBSCRIBER_LOAD}`);
      if (l.patterns !== 'same' && l.patterns !== 'distinct') return bad('load.patterns must be "same" or "distinct"');
      if (typeof l.slow !== 'boolean') return bad('load.slow must be true or false');
      return { ok: true, value: { cmd: 'setSubscriberLoad', load: { count: l.count as number, patterns: l.patterns, slow: l.slow } } };
    }
    case 'releaseOrphans':
      return only('cmd') ? { ok: true, value: { cmd: 'releaseOrphans' } } : bad('releaseOrphans takes no arguments');
    case 'recordCall':
      if (!only('cmd', 'callId', 'on')) return bad('recordCall takes only "callId" and "on"');
      if (typeof o.callId !== 'string' || o.callId.length === 0 || o.callId.length > 1024) return bad('callId must be a Call-ID (1 to 1024 characters)');
      if (typeof o.on !== 'boolean') return bad('on must be true or false');
      return { ok: true, value: { cmd: 'recordCall', callId: o.callId, on: o.on } };
    case 'runIncident':
      if (!only('cmd', 'id', 'phase', 'quick')) return bad('runIncident takes only "id", "phase" and "quick"');
      if (!(INCIDENT_IDS as readonly unknown[]).includes(o.id)) return bad(`id must be one of ${INCIDENT_IDS.join(', ')}`);
      if (o.phase !== 'bad' && o.phase !== 'fixed') return bad('phase must be "bad" or "fixed"');
      if (o.quick !== undefined && typeof o.quick !== 'boolean') return bad('quick must be true or false');
      return { ok: true, value: { cmd: 'runIncident', id: o.id as IncidentId, phase: o.phase, ...(o.quick === undefined ? {} : { quick: o.quick }) } };
    case 'stopIncident':
      return only('cmd') ? { ok: true, value: { cmd: 'stopIncident' } } : bad('stopIncident takes no arguments');
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
  showRecording: 'callpath:show-recording',
} as const;
