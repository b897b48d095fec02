/**
 * The engine host: builds the Engine from a LabConfig and serves the typed
 * contract. Electron's main process and the headless lab server both use it,
 * so the desktop app and the browser console behave the same.
 */
import { Resvg } from '@resvg/resvg-js';
import type { ComponentImpl, ComponentName, ComponentStatus } from '../engine/component';
import type { CallRecord } from '../engine/capture/call-store';
import { Engine, type ComponentFactory } from '../engine/engine';
import { exportSelection, type SelectionFormat } from '../engine/capture/export-stream';
import { importCapture } from '../engine/capture/import';
import { mermaidLadder } from '../engine/capture/mermaid';
import { pcapFile } from '../engine/capture/pcap';
import { svgLadder } from '../engine/capture/svg-ladder';
import { textLadder } from '../engine/capture/text-ladder';
import { RedisLink, redactUrl } from '../engine/publish/redis-link';
import { createProxy } from '../engine/sip/proxy-component';
import { EMPTY_PROXY_STATS, type ProxyStats } from '../engine/sip/stats';
import type { LabConfig } from './config';
import { applySettingsPatch, formatHostPort, settingsOf } from './config';
import {
  CONTRACT_VERSION,
  SETTING_COMPONENT,
  validateCommand,
  type ApplySettingsResult,
  type LabSettings,
  type SettingsPatch,
  type CallDetail,
  type CallSummary,
  type CapturedMessage,
  type Command,
  type ExportRequest,
  type LiveBatch,
  type Snapshot,
} from './contract';

export const EXPORT_FORMATS = ['pcap', 'txt', 'mmd', 'json', 'svg', 'png'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
/** Bumped when the JSON export's shape changes (documented in README). */
export const EXPORT_SCHEMA_VERSION = 1;

/** How often live batches go out: a few times a second, never per packet. */
export const BATCH_INTERVAL_MS = 250;
/** Changed calls carried per batch; more are announced by `callsOmitted`. */
export const BATCH_MAX_CALLS = 2_000;
const DEFAULT_LIST_LIMIT = 200;

export type BatchListener = (batch: LiveBatch) => void;

export class Host {
  readonly engine: Engine;
  private readonly listeners = new Set<BatchListener>();
  private batchTimer: NodeJS.Timeout | null = null;
  private seq = 0;
  /** The config as it is now: the console's settings replace it; components read it when they start. */
  private current: LabConfig;

  constructor(config: LabConfig) {
    this.current = config;
    const factories: Partial<Record<ComponentName, ComponentFactory>> = {
      proxy: (ctx) =>
        createProxy(ctx, () => ({
          listen: this.current.sip,
          route: this.current.route,
          timers: this.current.timers,
        })),
      // Decided at each start, so switching --redis from off to a URL gives a real publisher.
      publisher: (ctx) => new RedisLink(() => this.current.redis, ctx, 'disabled with --redis off'),
    };
    this.engine = new Engine(factories, { callStore: { maxFinishedCalls: config.maxCalls, maxMessagesPerCall: config.maxCallMessages } });
  }

  get config(): LabConfig {
    return this.current;
  }

  /** The engine-facing settings as the flags take them; a Redis password is never shown. */
  settings(): LabSettings {
    const s = settingsOf(this.current);
    return { ...s, redis: this.current.redis ? redactUrl(this.current.redis) : s.redis };
  }

  /**
   * Validates a settings patch with the CLI's parsers, makes it the current
   * config, applies call-store bounds live and restarts each affected
   * component that is up (one queued step per component, so it cannot
   * interleave with a start or stop from elsewhere). A refused patch changes
   * nothing; a restart that fails leaves its component `failed` with the
   * error and the other settings applied.
   */
  async applySettings(input: SettingsPatch): Promise<ApplySettingsResult> {
    const patch = { ...input };
    // The dialog shows the Redis URL redacted; that text sent back means "unchanged".
    if (patch.redis !== undefined && this.current.redis && patch.redis === redactUrl(this.current.redis)) delete patch.redis;
    const r = applySettingsPatch(this.current, patch);
    if (!r.ok) return { ok: false, field: r.field, error: r.error, settings: this.settings() };
    this.current = r.config;
    const live = r.changed.filter((n) => SETTING_COMPONENT[n] === null);
    if (live.length > 0) this.engine.calls.setLimits({ maxFinishedCalls: r.config.maxCalls, maxMessagesPerCall: r.config.maxCallMessages });
    const affected = [...new Set(r.changed.map((n) => SETTING_COMPONENT[n]).filter((c): c is ComponentName => c !== null))];
    const outcomes = await Promise.all(affected.map((name) => this.reconfigure(name)));
    return {
      ok: true,
      settings: this.settings(),
      changed: r.changed,
      restarted: outcomes.filter((o) => o.restarted).map((o) => o.name),
      failed: outcomes.filter((o) => o.restarted && o.status.state === 'failed').map((o) => ({ name: o.name, error: o.status.error ?? 'failed' })),
      notRunning: outcomes.filter((o) => !o.restarted && !o.stopped).map((o) => o.name),
      stopped: outcomes.filter((o) => o.stopped).map((o) => o.name),
      live,
    };
  }

  /** Restarts a component that is up with the current config — or stops it when the config now switches it off. */
  private async reconfigure(name: ComponentName): Promise<{ name: ComponentName; restarted: boolean; stopped: boolean; status: ComponentStatus }> {
    if (name === 'publisher' && this.current.redis === null) {
      const was = this.engine.status(name).state;
      const status = await this.engine.stop(name);
      return { name, restarted: false, stopped: was === 'running' || was === 'failed', status };
    }
    return { name, stopped: false, ...(await this.engine.restartIfUp(name)) };
  }

  /** Starts every part the config enables. Failures stay visible in the statuses; they don't abort. */
  async start(): Promise<void> {
    const names: ComponentName[] = ['proxy'];
    if (this.config.redis) names.push('publisher');
    await this.engine.startAll(names);
  }

  async stop(): Promise<void> {
    if (this.batchTimer) clearInterval(this.batchTimer);
    this.batchTimer = null;
    this.listeners.clear();
    await this.engine.stopAll();
  }

  /** The contract's single entry point: validate, then act. */
  async invoke(input: unknown): Promise<unknown> {
    const v = validateCommand(input);
    if (!v.ok) throw new ContractError(v.error);
    return this.run(v.value);
  }

  private async run(c: Command): Promise<unknown> {
    switch (c.cmd) {
      case 'getSnapshot':
        return this.snapshot();
      case 'listCalls':
        return this.listCalls(c.limit ?? DEFAULT_LIST_LIMIT);
      case 'getCall':
        return this.getCall(c.callId, c.fromIndex);
      case 'setComponent':
        return c.action === 'start' ? this.engine.start(c.name) : this.engine.stop(c.name);
      case 'getSettings':
        return this.settings();
      case 'applySettings':
        return this.applySettings(c.patch);
    }
  }

  subscribe(listener: BatchListener): () => void {
    this.listeners.add(listener);
    if (!this.batchTimer) {
      this.engine.calls.drainDirty(); // a new viewer lists calls itself; start deltas from now
      this.batchTimer = setInterval(() => this.flush(), BATCH_INTERVAL_MS);
      this.batchTimer.unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.batchTimer) {
        clearInterval(this.batchTimer);
        this.batchTimer = null;
      }
    };
  }

  private flush(): void {
    const ids = this.engine.calls.drainDirty();
    const calls: CallSummary[] = [];
    for (let i = ids.length - 1; i >= 0 && calls.length < BATCH_MAX_CALLS; i--) {
      const c = this.engine.calls.get(ids[i]!);
      if (c) calls.push(summarize(c));
    }
    const batch: LiveBatch = { seq: ++this.seq, snapshot: this.snapshot(), calls, callsOmitted: Math.max(0, ids.length - calls.length) };
    for (const l of this.listeners) {
      try {
        l(batch);
      } catch {
        this.engine.drops.count('ui.batch', 'listener-error');
      }
    }
  }

  proxyStats(): ProxyStats {
    const proxy = this.engine.impl<ComponentImpl & { stats?: () => ProxyStats }>('proxy');
    return proxy.stats?.() ?? EMPTY_PROXY_STATS;
  }

  snapshot(): Snapshot {
    const e = this.engine;
    const p = this.proxyStats();
    return {
      contractVersion: CONTRACT_VERSION,
      nowUs: e.clock.nowUs(),
      startedUs: e.startedUs,
      components: e.statuses(),
      sip: {
        callsPerSecond: p.callsPerSecond,
        activeCalls: e.calls.active,
        activeTransactions: p.activeTransactions,
        retransmissionsPerSecond: p.retransmissionsPerSecond,
        messagesIn: p.messagesIn,
        messagesOut: p.messagesOut,
        retransmissionsIn: p.retransmissionsIn,
        retransmissionsOut: p.retransmissionsOut,
        trying100: p.trying100,
        loopDelay: p.loopDelay,
      },
      eventLoopDelay: e.loopDelay.summary(),
      calls: { active: e.calls.active, stored: e.calls.size, evicted: e.calls.evictedActive + e.calls.evictedFinished },
      drops: e.drops.list(),
    };
  }

  listCalls(limit: number): CallSummary[] {
    return this.engine.calls.list(limit).map(summarize);
  }

  getCall(callId: string, fromIndex = 0): CallDetail | null {
    const c = this.engine.calls.get(callId);
    if (!c) return null;
    const skip = Math.max(0, fromIndex - c.messagesDropped);
    const messages: CapturedMessage[] = c.messages.slice(skip).map((m, i) => ({
      index: c.messagesDropped + skip + i,
      lane: 'sip',
      tsUs: m.tsUs,
      direction: m.direction,
      transport: m.transport,
      src: m.src,
      dst: m.dst,
      label: m.label,
      method: m.method,
      status: m.status,
      cseq: `${m.cseqSeq} ${m.cseqMethod}`,
      branch: m.branch ?? topViaBranch(m.raw),
      size: m.size,
      retransmission: m.retransmission,
      text: m.raw.toString('utf8'),
    }));
    return {
      ...summarize(c),
      timings: { ...c.timings },
      retransmissionsByKind: { ...c.retransmissionsByKind },
      messagesDropped: c.messagesDropped,
      messages,
    };
  }

  /**
   * One call in an export format: pcap (Wireshark/tshark, original times and
   * addresses), txt (ladder + raw messages for a ticket), mmd (Mermaid
   * sequenceDiagram), json (the capture model, `schemaVersion` 1).
   */
  exportCall(callId: string, format: ExportFormat): { body: Buffer; contentType: string } | null {
    const c = this.engine.calls.get(callId);
    if (!c) return null;
    switch (format) {
      case 'pcap':
        return { body: pcapFile(c.messages), contentType: 'application/vnd.tcpdump.pcap' };
      case 'txt':
        return { body: Buffer.from(textLadder(c.callId, c.messages)), contentType: 'text/plain; charset=utf-8' };
      case 'svg':
        return { body: Buffer.from(svgLadder(c.callId, c.messages)), contentType: 'image/svg+xml; charset=utf-8' };
      case 'png':
        // resvg ships prebuilt in its npm package: no browser and no download at run time.
        return { body: new Resvg(svgLadder(c.callId, c.messages), { background: '#ffffff' }).render().asPng(), contentType: 'image/png' };
      case 'mmd':
        return { body: Buffer.from(mermaidLadder(c.callId, c.messages)), contentType: 'text/vnd.mermaid; charset=utf-8' };
      case 'json': {
        const doc = { schemaVersion: EXPORT_SCHEMA_VERSION, exportedBy: 'callpath', call: this.callJson(c) };
        return { body: Buffer.from(JSON.stringify(doc, null, 2)), contentType: 'application/json; charset=utf-8' };
      }
    }
  }

  /** A call as the JSON export carries it: the API's CallDetail plus each message's bytes in base64. */
  callJson(c: CallRecord): unknown {
    const detail = this.getCall(c.callId)!;
    return { ...detail, messages: detail.messages.map((m, i) => ({ ...m, raw: c.messages[i]!.raw.toString('base64') })) };
  }

  /** Several calls (the UI's current filter) as one file, streamed in chunks that yield to the event loop. */
  exportSelection(callIds: readonly string[], format: SelectionFormat): { chunks: AsyncGenerator<Buffer>; found: number; missing: number } {
    const calls = callIds.map((id) => this.engine.calls.get(id)).filter((c): c is CallRecord => c !== undefined);
    return { chunks: exportSelection(calls, format, (c) => this.callJson(c)), found: calls.length, missing: callIds.length - calls.length };
  }

  /** A validated export request: one call in any ladder format, several in the selection formats. */
  exportCalls(req: ExportRequest): { chunks: AsyncGenerator<Buffer>; found: number; missing: number; contentType: string } {
    if (req.callIds.length === 1 && req.format !== 'md') {
      const one = this.exportCall(req.callIds[0]!, req.format);
      return { chunks: single(one?.body), found: one ? 1 : 0, missing: one ? 0 : 1, contentType: one?.contentType ?? 'application/octet-stream' };
    }
    const sel = this.exportSelection(req.callIds, req.format as SelectionFormat);
    return { ...sel, contentType: SELECTION_TYPES[req.format as SelectionFormat] };
  }

  /** Imports a pcap/pcapng file's SIP calls into the call store, like live ones. */
  importCapture(file: Buffer): { format: string; messages: number; calls: number; skipped: Record<string, number> } {
    const r = importCapture(file);
    for (const ev of r.events) this.engine.events.emit(ev);
    return { format: r.format, messages: r.events.length, calls: r.calls, skipped: r.skipped };
  }

  /** Where the console can be reached, for start-up lines. */
  describe(): string {
    return `SIP ${formatHostPort(this.config.sip)} (udp+tcp)`;
  }
}

/** A command the UI got wrong: reported to the caller, never thrown through the host. */
export class ContractError extends Error {}

const SELECTION_TYPES: Record<SelectionFormat, string> = {
  pcap: 'application/vnd.tcpdump.pcap',
  json: 'application/json; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  svg: 'image/svg+xml; charset=utf-8',
};

async function* single(body: Buffer | undefined): AsyncGenerator<Buffer> {
  if (body) yield body;
}

export function summarize(c: CallRecord): CallSummary {
  return {
    callId: c.callId,
    state: c.state,
    from: c.from,
    to: c.to,
    startedUs: c.startedUs,
    updatedUs: c.updatedUs,
    endedUs: c.endedUs,
    finalStatus: c.finalStatus,
    messageCount: c.messageCount,
    retransmissions: c.retransmissions,
    trying100Us: c.timings.trying100Us,
  };
}

/** The top Via's branch, read from the bytes when the UI asks (the store does not keep it). */
function topViaBranch(raw: Buffer): string | null {
  const head = raw.toString('latin1', 0, Math.min(raw.length, 4096));
  const m = /\r\n(?:via|v)[ \t]*:[^\r\n]*?;[ \t]*branch[ \t]*=[ \t]*([^;,\s]+)/i.exec(head);
  return m?.[1] ?? null;
}
