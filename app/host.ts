/**
 * The engine host: builds the Engine from a LabConfig and serves the typed
 * contract. Electron's main process and the headless lab server both use it,
 * so the desktop app and the browser console behave the same.
 */
import { readFile } from 'node:fs/promises';
import { COMPONENT_NAMES, type ComponentName, type ComponentStatus } from '../engine/component';
import type { CallRecord } from '../engine/call/model';
import type { CallFilter, CallSort } from '../engine/call/query';
import { recentDropWindows, suspectsOf } from './suspects';
import { countSuspectCalls } from './suspect-counts';
import { IncidentRunner } from './incidents/runner';
import type { ForwardTarget } from '../engine/record/forward/forwarder';
import { scanCalls } from '../engine/call/scan';
import { EVICTION_REASONS } from '../engine/call/store';
import { Engine, type ComponentFactory } from '../engine/engine';
import { exportCall } from '../engine/capture/export-call';
import { exportSelection } from '../engine/capture/export-stream';
import { CONTENT_TYPES, EXPORT_SCHEMA_VERSION, type CallFormat, type SelectionFormat } from '../engine/capture/formats';
import { importFile } from '../engine/capture/import';
import { redactUrl } from '../engine/publish/redis-url';
import { Publisher } from '../engine/publish/publisher';
import { ConsumerComponent } from '../engine/publish/consumer-component';
import type { SubscriberLoadStats } from '../engine/publish/load-worker/protocol';
import { SubscriberLoadThread } from '../engine/publish/subscriber-load-thread';
import { DEFAULT_INLINE_WORKERS } from '../engine/sip/worker/inline-gate';
import { createProxy, type ProxyOptions, type SipProxyComponent } from '../engine/sip/proxy-component';
import type { MediaOutcome } from '../engine/sip/proxy/media';
import type { ProxyStats } from '../engine/sip/stats';
import { LIVE_SOURCE, WATCH_SOURCE, type MediaEvent } from '../engine/events';
import { callKey } from '../engine/call/model';
import type { CallIdentity } from '../engine/record/call-recording';
import { RecorderComponent } from '../engine/record/recorder-component';
import { TrafficComponent } from '../engine/traffic/traffic-component';
import { KernelUdpSampler } from '../engine/metrics/kernel-udp';
import { WireTap } from '../engine/wire/tap';
import { WireWatch } from '../engine/wire/watch';
import { Relay } from '../engine/rtp/relay';
import { DEFAULT_QUARANTINE_MS } from '../engine/rtp/stats';
import { availableParallelism } from 'node:os';

/** Relay shards by default: one per core but one (the SIP worker and the main thread need one), at least 1. */
/** One relay shard per core but one (the SIP worker and the main thread need the rest); read once: each read is a syscall. */
const DEFAULT_RTP_SHARDS = Math.max(1, availableParallelism() - 1);
import type { LabConfig } from './config';
import { applySettingsPatch, formatHostPort, recordingsDir, settingsOf, storeLimitsOf } from './config';
import {
  CONTRACT_VERSION,
  SETTING_COMPONENT,
  validateCommand,
  type ApplySettingsResult,
  type CallDetail,
  type CallPage,
  type CallSummary,
  type Command,
  type ExportRequest,
  type ImportOutcome,
  type LabSettings,
  type LiveBatch,
  type RecordCallResult,
  type ConsumerStats,
  type PublisherStats,
  type SettingsPatch,
  type SubscriberLoadRequest,
  type SipEntry,
  type Snapshot,
} from './contract';
import { copyLegs, detailOf, summarize } from './entries';

/**
 * ioredis auto-pipelining for the publisher, off: ioredis holds every new
 * command while one auto-pipeline is in flight, so under a Redis answering
 * 700 ms late each event's round trip was ~1.06 s instead of ~0.70 s
 * (test/integration/publisher-outage.test.ts, 2026-12-04). Our own queue
 * already keeps up to 512 commands in flight, written as they come.
 * `npm run bench -- publish` measures it both ways against a Redis that
 * answers at once (its figures are in the README); the bench turns it on
 * with CALLPATH_AUTO_PIPELINING=on, which nothing else sets.
 */
const AUTO_PIPELINING = process.env.CALLPATH_AUTO_PIPELINING === 'on';

/** An address the built-in traffic can send to and bind on: the proxy's, or loopback when the proxy listens on every address. */
const callableHost = (host: string) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

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
  /** The wire tap on the proxy's address: follows the proxy (started on its bound port when it runs, stopped when it stops). */
  readonly wire: WireTap;
  /** `--watch`: calls from the wire alone, as the `watch` source. */
  readonly watch: WireWatch | null;
  /** The SIP socket's receive queue and the system's UDP drop counters. */
  readonly kernel: KernelUdpSampler;
  /** The pattern-subscriber load on the publisher's Redis (null while off). */
  private load: SubscriberLoadThread | null = null;
  /** Tap starts and stops, one at a time, in the order the proxy's states came. */
  private tapQueue: Promise<void> = Promise.resolve();
  /** The incident being reproduced, if any (app/incidents/). */
  readonly incidents: IncidentRunner;
  /** An incident's PCM forwarding in place of `--forward` (incident 3's slow application), with its queue per connection. */
  private forwardOverride: { target: ForwardTarget; queueBytes: number } | null = null;
  /** An incident's number of simulated SIP workers in `inline` mode, in place of DEFAULT_INLINE_WORKERS (incident 1). */
  private inlineWorkersOverride: number | null = null;

  constructor(config: LabConfig) {
    this.current = config;
    const factories: Partial<Record<ComponentName, ComponentFactory>> = {
      proxy: (ctx) =>
        createProxy(ctx, () => ({
          listen: this.current.sip,
          route: this.current.route,
          timers: this.current.timers,
          timerC: this.current.timerCS * 1000,
          tcp: { maxConnections: this.current.tcpMaxConns, maxPerSource: this.current.tcpMaxPerSource, idleS: this.current.tcpIdleS },
          // The incident on purpose: the SIP worker waits for each new call's publish (only while the publisher runs).
          inlineWorkers: this.current.publishMode === 'inline' && this.current.redis !== null ? (this.inlineWorkersOverride ?? DEFAULT_INLINE_WORKERS) : null,
          inlinePublish: (raw, readUs) => this.publisher.inlinePublish(raw, readUs),
          relayMedia: this.engine?.status('relay').state === 'running',
          media: (req) => this.relayMedia(req),
        })),
      // Decided at each start, so switching --redis from off to a URL gives a real publisher.
      publisher: (ctx) =>
        new Publisher(ctx, () => ({
          redis: this.current.redis,
          mode: this.current.publishMode,
          queueMax: this.current.publishQueue,
          dataDir: this.current.dataDir,
          autoPipelining: AUTO_PIPELINING,
          probePort: this.current.redisProbePort,
        })),
      relay: (ctx) =>
        new Relay(ctx, () => ({
          off: this.current.relayOff,
          ng: this.current.ng,
          host: this.current.rtp.host,
          min: this.current.rtp.min,
          max: this.current.rtp.max,
          timeouts: this.current.relayTimeouts,
          quarantineMs: DEFAULT_QUARANTINE_MS,
          shards: this.current.rtpShards ?? DEFAULT_RTP_SHARDS,
          ...(this.current.rtpWarmPairs === null ? {} : { warmPairs: this.current.rtpWarmPairs }),
          strictSource: this.current.strictSource,
          mediaPath: this.current.mediaPath,
        })),
      recorder: (ctx) =>
        new RecorderComponent(ctx, () => ({
          dir: recordingsDir(this.current),
          off: this.current.recordOff ? 'switched off with --record off: calls are not recorded' : null,
          mix: this.current.recordMix,
          forward: this.forwardOverride?.target ?? this.current.forward,
          ...(this.forwardOverride ? { queueBytes: this.forwardOverride.queueBytes } : {}),
        })),
      traffic: (ctx) =>
        new TrafficComponent(ctx, () => ({
          spec: this.current.traffic,
          proxy: this.engine?.status('proxy').state === 'running' ? { host: callableHost(this.current.sip.host), port: this.proxyPort() } : null,
          host: callableHost(this.current.sip.host),
        })),
      consumer: (ctx) =>
        new ConsumerComponent(
          ctx,
          () => this.publisherUrl(),
          () => (this.current.redis === null ? 'the publisher is off (--redis off): nothing to consume' : null),
        ),
    };
    this.engine = new Engine(factories, { callStore: storeLimitsOf(config) });
    const e = this.engine;
    e.observeSip((ev) => this.publisher.observeSip(ev));
    this.publisher.relayOf = (callId) => (this.relay.running ? this.relay.addresses(callId) : null);
    this.relay.tap = {
      packet: (callId, direction, arrivalUs, packet) => this.recorder.push(callId, direction, arrivalUs, packet),
      dropped: (callId, direction, count) => this.recorder.dropped(callId, direction, count),
    };
    this.relay.recordingControl = async (callId, on) => {
      const r = await this.recordCall(callId, on);
      return r.ok ? { ok: true } : r;
    };
    this.wire = new WireTap(e, () => this.current.wire);
    const stage = (s: Parameters<Engine['setSipStage']>[0]) => e.setSipStage(s);
    e.events.on((ev) => {
      if (ev.kind === 'media') return this.recordMedia(ev);
      if (ev.kind === 'record' && (ev.phase === 'started' || ev.phase === 'stopped') && (ev.source === undefined || ev.source === LIVE_SOURCE)) {
        return this.publisher.observeExtra(ev.callId, 'recording', { phase: ev.phase, wav: ev.path });
      }
      // A stopped recorder finalised its recordings: the relay stops copying their packets.
      if (ev.kind === 'component' && ev.status.name === 'recorder' && ev.status.state === 'stopped' && this.relay.running) for (const id of this.relay.callIds()) this.relay.record(id, false);
      // The SIP worker sends SDP to the relay only while it runs; it learns of each change without a restart.
      if (ev.kind === 'component' && ev.status.name === 'relay' && (ev.status.state === 'running' || ev.status.state === 'stopped' || ev.status.state === 'failed')) {
        if (e.status('proxy').state === 'running') void e.impl<SipProxyComponent>('proxy').applyLive();
        return;
      }
      if (ev.kind !== 'component' || ev.status.name !== 'proxy') return;
      // A new worker gets a new lease of relay ports; a stopped one's units go back to the pool.
      if (ev.status.state === 'stopped' || ev.status.state === 'failed') this.relay.lendTo(null);
      if (ev.status.state === 'running') {
        const proxy = e.impl<SipProxyComponent>('proxy');
        this.relay.lendTo((grant) => proxy.tellWorker({ kind: 'lease', grant }));
        this.relay.proxyStarted();
        // The relay may have come up while the proxy was starting: tell the worker where it stands now.
        void e.impl<SipProxyComponent>('proxy').applyLive();
        // Built-in traffic calling a proxy that restarted on another address follows it.
        void e.impl<TrafficComponent>('traffic').applyLive().then((same) => (same ? undefined : e.restartIfUp('traffic')));
      }
      if (ev.status.state === 'running') this.queueTap(() => this.wire.start({ host: this.current.sip.host, port: this.proxyPort() }, stage, (this.current.route ?? []).filter((t) => t.transport === 'tcp')));
      else if (ev.status.state === 'stopping' || ev.status.state === 'failed') this.queueTap(() => this.wire.stop(stage));
    });
    this.incidents = new IncidentRunner(this, () => ({ nowUs: e.clock.nowUs(), relay: e.status('relay').state === 'running' ? this.relay.stats() : null, recorder: this.recorder.stats(), wire: this.wire.stats() }));
    this.kernel = new KernelUdpSampler(
      (p) => readFile(p, 'utf8'),
      () => (e.status('proxy').state === 'running' ? this.proxyPort() : null),
      e.clock,
      () => (e.status('traffic').state === 'running' ? (e.impl<TrafficComponent>('traffic').stats()?.ports ?? []) : []),
    );
    const w = config.watch;
    this.watch = w ? new WireWatch(e, w, () => e.calls.ensureSource(WATCH_SOURCE, `watch ${w.iface}: ${w.filter}`, e.clock.nowUs())) : null;
  }

  private get relay(): Relay {
    return this.engine.impl<Relay>('relay');
  }

  private get recorder(): RecorderComponent {
    return this.engine.impl<RecorderComponent>('recorder');
  }

  /**
   * A running recorder records every call whose media the relay opens (the
   * caller's stream opening is the call's first), and a call's recording
   * ends when its streams close.
   */
  private recordMedia(ev: MediaEvent): void {
    if (ev.source !== undefined && ev.source !== LIVE_SOURCE) return;
    if (ev.phase === 'opened' && ev.streamId.endsWith('-caller') && this.recorder.running) void this.recordCall(ev.callId, true);
    else if (ev.phase === 'closed' && this.recorder.isRecording(ev.callId)) void this.recorder.stopCall(ev.callId, this.identityOf(ev.callId));
  }

  /** What the call store knows of a live call's SIP identity now: From, To and their tags. */
  private identityOf(callId: string): Omit<CallIdentity, 'callId'> {
    const call = this.engine.calls.get(callKey(LIVE_SOURCE, callId));
    if (!call) return {};
    // Empty (a call the store knows only from its media events) is unknown: CallRecording.complete fills it in later.
    const tag = (role: 'caller' | 'callee') => call.legs.find((l) => l.role === role && l.tag !== '')?.tag;
    return { fromUri: call.from, toUri: call.to, fromTag: tag('caller'), toTag: tag('callee') };
  }

  /**
   * A recording's file for download: only a WAV or sidecar the running
   * recorder lists (active or recently finished), never any other path.
   */
  recordingFile(path: string): { path: string; type: string } | null {
    const r = this.recorder.stats();
    if (!r) return null;
    for (const x of [...r.active, ...r.finished]) {
      if (x.wav === path) return { path, type: 'audio/wav' };
      if (x.metadata === path) return { path, type: 'application/json' };
    }
    return null;
  }

  /** Starts or stops one live call's recording: the recorder's files, the relay's tap. */
  async recordCall(callId: string, on: boolean): Promise<RecordCallResult> {
    if (!on) {
      this.relay.record(callId, false);
      const summary = await this.recorder.stopCall(callId, this.identityOf(callId));
      return summary ? { ok: true, recording: false } : { ok: false, reason: `call ${callId} is not being recorded` };
    }
    if (!this.recorder.running) return { ok: false, reason: 'the recorder is stopped: start it first' };
    const relay = this.relay;
    const payloads = relay.running ? relay.payloadsOf(callId) : null;
    if (!payloads) return { ok: false, reason: relay.running ? `the relay carries no media for call ${callId}` : 'the relay is not running: there is no media to record' };
    const r = this.recorder.record({ callId, ...this.identityOf(callId), payloads });
    if (!r.ok) return r;
    relay.record(callId, true);
    return { ok: true, recording: true };
  }

  /** The SIP worker's offer, answer or end, done by the relay for a call through our proxy. */
  private async relayMedia(req: Parameters<NonNullable<ProxyOptions['media']>>[0]): Promise<MediaOutcome> {
    const relay = this.relay;
    if (!relay.running) return null;
    if (req.op === 'end') {
      await relay.delete(req.callId, req.reason);
      return null;
    }
    if (req.op === 'leased-offer') {
      relay.offerLeased(req.offer);
      return null;
    }
    if (req.op === 'leased-answer') {
      relay.answerLeased(req.answer);
      return null;
    }
    const sdp = { ...req.sdp, via: 'sip' as const };
    return req.op === 'offer' ? relay.offer(sdp, req.leaseDry === true) : relay.answer(sdp);
  }

  private get publisher(): Publisher {
    return this.engine.impl<Publisher>('publisher');
  }

  /** The Redis the running publisher writes to (null unless it is running): where the consumer and the load go. */
  private publisherUrl(): string | null {
    return this.engine.status('publisher').state === 'running' ? this.publisher.url : null;
  }

  private proxyPort(): number {
    return this.engine.impl<SipProxyComponent>('proxy').port;
  }

  private queueTap(step: () => Promise<void>): void {
    this.tapQueue = this.tapQueue.then(step).catch(() => undefined);
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
    if (live.length > 0) this.engine.calls.setLimits(storeLimitsOf(r.config));
    const owners = r.changed.map((n) => SETTING_COMPONENT[n]);
    // `inline` is the proxy's too: its SIP worker is what waits for Redis.
    if (r.changed.includes('publishMode')) owners.push('proxy');
    const affected = [...new Set(owners.filter((c): c is ComponentName => c !== null))];
    const outcomes = await Promise.all(affected.map((name) => this.reconfigure(name)));
    // A running part that took its settings without a restart (the proxy's timers and targets) applied them live.
    const tookLive = outcomes.filter((o) => !o.restarted && !o.stopped && o.status.state === 'running').map((o) => o.name);
    return {
      ok: true,
      settings: this.settings(),
      changed: r.changed,
      restarted: outcomes.filter((o) => o.restarted).map((o) => o.name),
      failed: outcomes.filter((o) => o.restarted && o.status.state === 'failed').map((o) => ({ name: o.name, error: o.status.error ?? 'failed' })),
      notRunning: outcomes.filter((o) => !o.restarted && !o.stopped && !tookLive.includes(o.name)).map((o) => o.name),
      stopped: outcomes.filter((o) => o.stopped).map((o) => o.name),
      live: [...live, ...r.changed.filter((n) => tookLive.includes(SETTING_COMPONENT[n] as ComponentName))],
    };
  }

  /** Restarts a component that is up with the current config — or stops it when the config now switches it off. */
  private async reconfigure(name: ComponentName): Promise<{ name: ComponentName; restarted: boolean; stopped: boolean; status: ComponentStatus }> {
    if (!this.engine.enabled(name) && this.engine.status(name).state !== 'not-implemented') {
      const was = this.engine.status(name).state;
      const status = await this.engine.stop(name);
      return { name, restarted: false, stopped: was === 'running' || was === 'failed', status };
    }
    return { name, stopped: false, ...(await this.engine.restartIfUp(name)) };
  }

  /** Starts every part the config enables. Failures stay visible in the statuses; they don't abort. */
  async start(): Promise<void> {
    // The recorder starts with the lab only when --record DIR asked for it; otherwise from the console.
    await this.engine.startAll(COMPONENT_NAMES.filter((n) => n !== 'traffic' && this.engine.enabled(n) && (n !== 'recorder' || this.current.record !== null)));
    // The built-in traffic with --demo, once the proxy and the relay it calls through are up.
    if (this.current.demo && this.engine.enabled('traffic')) await this.engine.startAll(['traffic']);
    this.kernel.start();
    await this.watch?.start();
    await this.tapQueue; // the tap follows the proxy's start: on (or off with its reason) before this returns
  }

  /** Resolves once the wire tap has paired (or given up on) every live SIP message handed to it so far. */
  async settleWire(): Promise<void> {
    await this.tapQueue;
    await this.wire.drain();
  }

  async stop(): Promise<void> {
    if (this.batchTimer) clearInterval(this.batchTimer);
    this.batchTimer = null;
    this.listeners.clear();
    this.kernel.stop();
    await this.watch?.stop();
    await this.incidents.stop();
    await this.setSubscriberLoad(null);
    this.relay.shuttingDown();
    await this.engine.stopAll();
    await this.tapQueue;
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
      case 'queryCalls':
        return this.queryCalls(c.filter, c.sort, c.offset, c.limit);
      case 'getCall':
        return this.getCall(c.key, c.fromIndex);
      case 'setComponent':
        return c.action === 'start' ? this.engine.start(c.name) : this.engine.stop(c.name);
      case 'getSettings':
        return this.settings();
      case 'applySettings':
        return this.applySettings(c.patch);
      case 'setSubscriberLoad':
        return this.setSubscriberLoad(c.load);
      case 'releaseOrphans':
        return this.releaseOrphans();
      case 'recordCall':
        return this.recordCall(c.callId, c.on);
      case 'runIncident':
        return this.incidents.run(c.id, c.phase, c.quick ?? false);
      case 'stopIncident':
        return this.incidents.stop().then(() => null);
    }
  }

  /** The publisher's section, with the proxy's simulated workers in `inline` mode. */
  private publisherStats(): PublisherStats | null {
    const s = this.engine.stats('publisher') as PublisherStats | null;
    if (!s) return null;
    const p = this.engine.stats('proxy') as ProxyStats | null;
    return { ...s, inline: p?.inline ?? null };
  }

  /**
   * The story's pattern subscribers on the publisher's Redis: replaced by a
   * new request, stopped by null. Refused (an Error with one line) while the
   * publisher is not running.
   */
  async setSubscriberLoad(req: SubscriberLoadRequest | null): Promise<SubscriberLoadStats | null> {
    const old = this.load;
    this.load = null;
    await old?.stop();
    if (req === null) return null;
    const url = this.publisherUrl();
    if (url === null) throw new ContractError('the publisher is not running: the subscriber load goes on its Redis');
    const u = new URL(url);
    const load = new SubscriberLoadThread(u.hostname, Number(u.port || 6379), { count: req.count, patterns: req.patterns, slow: req.slow });
    try {
      await load.start();
    } catch (err) {
      // Nothing stays open: the line says how many of the connections failed, and why the first did.
      throw new ContractError((err as Error).message);
    }
    this.load = load;
    return load.stats();
  }

  /** Incident 1: how many simulated SIP workers wait on Redis in `inline` mode (null: the default); a running proxy takes it live. */
  async setInlineWorkers(n: number | null): Promise<void> {
    this.inlineWorkersOverride = n;
    await this.engine.restartIfUp('proxy');
  }

  /** Incident 3: recorded calls' PCM to the incident's application (null: back to `--forward`); a running recorder restarts to take it. */
  async setForwardOverride(f: { target: ForwardTarget; queueBytes: number } | null): Promise<void> {
    this.forwardOverride = f;
    await this.engine.restartIfUp('recorder');
  }

  /**
   * "Release orphans now": the relay closes the sessions no dialog through our
   * proxy holds any more. Without a relay that can (not built, or one without
   * the method) nothing is released: `{released: 0}`.
   */
  /** "Release orphans now": nothing to release while the relay is not running. */
  async releaseOrphans(): Promise<{ released: number }> {
    return { released: this.relay.running ? await this.relay.releaseOrphans() : 0 };
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

  snapshot(): Snapshot {
    const e = this.engine;
    const p = e.stats('proxy') as ProxyStats | null;
    const store = e.calls;
    const base = {
      contractVersion: CONTRACT_VERSION,
      nowUs: e.clock.nowUs(),
      startedUs: e.startedUs,
      components: e.statuses(),
      // The proxy's section counts live calls only: an imported call that never ended is not in progress here.
      sip: p && { ...p, activeCalls: store.activeLive },
      relay: this.engine.status('relay').state === 'running' ? this.relay.stats() : null,
      recorder: this.recorder.stats(),
      publisher: this.publisherStats(),
      consumer: (e.stats('consumer') as ConsumerStats | null) ?? null,
      subscriberLoad: this.load?.stats() ?? null,
      traffic: this.engine.impl<TrafficComponent>('traffic').stats(),
      eventLoopDelay: e.loopDelay.summary(),
      wire: this.wire.stats(),
      watch: this.watch?.stats() ?? null,
      kernel: this.kernel.stats(),
      calls: {
        active: store.active,
        stored: store.size,
        bytes: store.bytes,
        maxBytes: store.options.maxBytes,
        evicted: store.evictedTotal,
        evictedBy: Object.fromEntries(EVICTION_REASONS.map((r) => [r, store.evicted[r]])) as Snapshot['calls']['evictedBy'],
        entriesDropped: store.entriesDropped,
        sources: store.sources().map((s) => ({ ...s })),
      },
      drops: e.drops.list(),
    };
    const counts = countSuspectCalls(store.values(), base.nowUs, recentDropWindows(base.kernel, base.nowUs));
    return { ...base, incident: this.incidents.status({ nowUs: base.nowUs, relay: base.relay, recorder: base.recorder, wire: base.wire }, store.values()), suspects: suspectsOf({ nowUs: base.nowUs, sip: base.sip, wireTrying100: base.wire.on ? base.wire.trying100 : null, relay: base.relay, recorder: base.recorder, kernel: base.kernel, publisher: base.publisher, publisherRunning: e.status('publisher').state === 'running', consumer: base.consumer }, counts) };
  }

  listCalls(limit: number): CallSummary[] {
    return this.engine.calls.list(limit).map(summarize);
  }

  /** Every stored call the filter matches, sorted, one page — over the whole store, not a UI's window. */
  async queryCalls(filter: CallFilter, sort: CallSort, offset: number, limit: number): Promise<CallPage> {
    const matches = await this.matching(filter, sort);
    const store = this.engine.calls;
    return { stored: store.size, evicted: store.evictedTotal, matched: matches.length, offset, calls: matches.slice(offset, offset + limit).map(summarize) };
  }

  private async matching(filter: CallFilter, sort: CallSort): Promise<CallRecord[]> {
    const store = this.engine.calls;
    const found = await scanCalls(() => store.values(), (c) => store.get(c.key) === c, filter, sort, summarize);
    return found.map((f) => f.call);
  }

  getCall(key: string, fromIndex = 0): CallDetail | null {
    const c = this.engine.calls.get(key);
    return c ? detailOf(c, fromIndex) : null;
  }

  /** A call as the JSON export carries it: the API's CallDetail plus each SIP entry's bytes in base64. */
  callJson(c: CallRecord): unknown {
    const detail = detailOf(c);
    // The entries were made for this answer: add the bytes in place rather than copy every one.
    detail.entries.forEach((m, i) => {
      const e = c.entries[i]!;
      if (e.kind === 'sip') (m as SipEntry & { raw?: string }).raw = e.raw.toString('base64');
    });
    return detail;
  }

  /**
   * An export request as a stream of chunks. The calls are frozen when it
   * starts (each call's entries as they are then): a call evicted while the
   * file streams is still in it whole, and one gone before is counted in
   * `missing`. A query export takes every stored call that matches.
   */
  async exportCalls(req: ExportRequest): Promise<{ chunks: AsyncGenerator<Buffer>; found: number; missing: number; contentType: string; name: string }> {
    const columnNames = req.columnNames ?? {};
    const json = (c: CallRecord) => ({ schemaVersion: EXPORT_SCHEMA_VERSION, exportedBy: 'callpath', columnNames, call: this.callJson(c) });
    let calls: CallRecord[];
    let missing = 0;
    if ('query' in req) calls = await this.matching(req.query.filter, req.query.sort);
    else {
      calls = [];
      for (const key of req.keys) {
        const c = this.engine.calls.get(key);
        if (c) calls.push(c);
        else missing++;
      }
    }
    const frozen = calls.map(freeze);
    if ('keys' in req && req.keys.length === 1 && req.format !== 'md') {
      const one = frozen[0] ? exportCall(frozen[0], req.format as CallFormat, { columnNames, json }) : null;
      return { chunks: single(one?.body), found: one ? 1 : 0, missing, contentType: one?.contentType ?? 'application/octet-stream', name: `${fileSafe(req.keys[0]!)}.${req.format}` };
    }
    const format = req.format as SelectionFormat;
    return {
      chunks: exportSelection(frozen, format, { columnNames, json: (c) => this.callJson(c) }),
      found: frozen.length,
      missing,
      contentType: CONTENT_TYPES[format],
      name: `callpath-${frozen.length}-calls.${format}`,
    };
  }

  /**
   * Imports a pcap/pcapng file's SIP calls, or a callpath JSON export (any
   * schemaVersion so far), as a source of their own (never merged into live
   * calls or another import). A file with no SIP in it is an error that says
   * what was skipped.
   */
  importCapture(file: Buffer, name = 'capture'): ImportOutcome {
    const r = importFile(file);
    const messages = r.events.filter((e) => e.kind === 'sip').length;
    if (messages === 0) {
      const skipped = Object.entries(r.skipped).map(([why, n]) => `${n} ${why}`).join(', ');
      throw new ContractError(`no SIP messages in ${name}${skipped ? ` (skipped: ${skipped})` : ''}`);
    }
    const source = this.engine.calls.addSource(name.slice(0, 200), this.engine.clock.nowUs());
    for (const ev of r.events) this.engine.events.emit({ ...ev, source });
    return { format: r.format, messages, calls: new Set(r.events.map((e) => e.callId)).size, skipped: r.skipped, source };
  }

  /** Where the console can be reached, for start-up lines. */
  describe(): string {
    return `SIP ${formatHostPort(this.config.sip)} (udp+tcp)`;
  }
}

/** A call as it is now, for an export that must not change while it streams. */
function freeze(c: CallRecord): CallRecord {
  return { ...c, entries: c.entries.slice(), legs: copyLegs(c.legs), timings: { ...c.timings }, laneCounts: { ...c.laneCounts }, retransmissionsByKind: { ...c.retransmissionsByKind } };
}

/** A key as a file name: anything but [A-Za-z0-9._-] becomes "_". */
export function fileSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120) || 'call';
}

/** A command the UI got wrong: reported to the caller, never thrown through the host. */
export class ContractError extends Error {}

async function* single(body: Buffer | undefined): AsyncGenerator<Buffer> {
  if (body) yield body;
}

