/**
 * Call events to Redis, off the signalling path: the engine hands each
 * event over (`offer`, a push onto a bounded queue) and moves on; this
 * writes them in order on one ioredis connection, pipelined, and times each
 * one from the SIP message that made it to Redis's reply.
 *
 * Delivery (`--publish-mode`):
 * - `pubsub+list`: PUBLISH call:<Call-ID>; a reply of 0 receivers means
 *   nobody heard it, so the event goes to RPUSH call-mq:<Call-ID> with an
 *   EXPIRE, for the application to drain (the story's production fix).
 * - `stream`: XADD to one stream (`MAXLEN ~`), read by consumer groups.
 * - `inline`: as `pubsub+list` here; what makes it the incident is that the
 *   SIP worker waits for the `new` event's reply itself (see the proxy).
 *
 * While Redis is away (ioredis reconnects with backoff; its offline queue is
 * off, so nothing piles up inside ioredis) events wait in our queue; past
 * its bound the oldest are dropped, counted. An event whose command failed
 * goes back ahead of everything newer and is written again once the link is
 * back (at most MAX_ATTEMPTS times): at-least-once, in order; the per-call
 * `seq` lets a consumer drop a repeat.
 */
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { ComponentImpl } from '../component';
import type { EngineContext } from '../engine';
import type { PublishEvent, SipCaptureEvent } from '../events';
import { WindowedHistogram } from '../metrics/windowed-histogram';
import { RateMeter } from '../metrics/rate';
import { CallEventTracker, type CallEventDoc, type CallEventName } from './call-events';
import { PublishQueue, type Queued } from './publish-queue';
import { redactUrl } from './redis-url';
import { withTimeout } from './with-timeout';
import { resolveRedis, type RedisTarget } from './redis-server';
import { LIST_TTL_S, STREAM_KEY, STREAM_MAXLEN, channelOf, listOf, type PublishMode, type PublisherStats } from './stats';

/** Commands written and not yet answered, at most: the pipeline's depth. */
const MAX_INFLIGHT = 512;
/** Writes of one event before it is given up (a Redis that answers errors, or a link that keeps breaking). */
const MAX_ATTEMPTS = 5;
const CONNECT_TIMEOUT_MS = 2_000;
const PUBSUB_EVERY_MS = 1_000;

export interface PublisherSettings {
  /** 'auto', a redis:// URL, or null (off). */
  redis: string | null;
  mode: PublishMode;
  queueMax: number;
  /** The app's data folder (a private redis-server keeps its files under it). */
  dataDir: string;
  /** ioredis auto-pipelining (commands issued in one tick go in one write). */
  autoPipelining: boolean;
  /** Port probed for a Redis already running (`auto`); tests move it. */
  probePort?: number;
}

interface Pending {
  doc: CallEventDoc;
  json: string;
  /** Where it went (channel, list or stream), set when written. */
  target: string;
  writtenUs: number;
  /** `inline`: the SIP worker waiting for this event's reply. */
  done: (() => void) | null;
}

export class Publisher implements ComponentImpl {
  readonly name = 'publisher' as const;
  private client: Redis | null = null;
  private target: RedisTarget | null = null;
  private queue: PublishQueue<Pending>;
  private inflight = 0;
  private linkState = 'not connected';
  private reconnects = 0;
  private numpat: number | null = null;
  private numsub: { channel: string; count: number } | null = null;
  /** The channel of the last PUBLISH written: the one `PUBSUB NUMSUB` asks about. */
  private lastChannel: string | null = null;
  private pubsubTimer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly tracker: CallEventTracker;
  private readonly counts = { created: 0, replied: 0, failed: 0, retried: 0, listFallbacks: 0, dropped: 0 };
  private readonly wait: WindowedHistogram;
  private readonly redisRtt: WindowedHistogram;
  private readonly total: WindowedHistogram;
  private readonly receivers: WindowedHistogram;
  /** List fallbacks over the last minute (one-second slots). */
  private readonly fallbackRate = new RateMeter(60);
  /** The Redis address as the status shows it. */
  private shownEndpoint: string | null = null;

  constructor(
    private readonly ctx: EngineContext,
    private readonly settings: () => PublisherSettings,
    private readonly whyOff = 'disabled with --redis off',
    node = hostname(),
  ) {
    const mono = () => ctx.clock.monoMs();
    this.wait = new WindowedHistogram(mono);
    this.redisRtt = new WindowedHistogram(mono);
    this.total = new WindowedHistogram(mono);
    this.receivers = new WindowedHistogram(mono);
    this.tracker = new CallEventTracker(node);
    this.queue = new PublishQueue(settings().queueMax);
  }

  get endpoint(): string | null {
    if (this.shownEndpoint) return this.shownEndpoint;
    const r = this.settings().redis;
    return r === null ? null : r === 'auto' ? 'auto' : redactUrl(r);
  }

  offReason(): string | null {
    return this.settings().redis === null ? this.whyOff : null;
  }

  detail(): string {
    if (this.settings().redis === null) return this.whyOff;
    const origin = this.target ? ` (${ORIGIN_WORDS[this.target.origin]})` : '';
    return `${this.settings().mode}${origin}: ${this.linkState}${this.reconnects ? `, ${this.reconnects} reconnects` : ''}, ${this.queue.length} queued`;
  }

  /** The ioredis client while running (tests, the host's reference consumer shares nothing with it). */
  get redis(): Redis | null {
    return this.client;
  }

  /** The Redis URL in use (null while stopped). */
  get url(): string | null {
    return this.target?.url ?? null;
  }

  async start(): Promise<void> {
    const s = this.settings();
    if (s.redis === null) throw new Error(`publisher is off: ${this.whyOff}`);
    this.target = await resolveRedis(s.redis, { dataDir: s.dataDir, probePort: s.probePort });
    this.shownEndpoint = redactUrl(this.target.url);
    if (this.queue.max !== s.queueMax && this.queue.length === 0) this.queue = new PublishQueue(s.queueMax);
    const client = new Redis(this.target.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      // We retry ourselves, in order; ioredis resending what was in flight would reorder it.
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      enableAutoPipelining: s.autoPipelining,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    });
    this.client = client;
    client.on('error', (err: Error) => {
      this.linkState = `error: ${err.message}`;
      this.ctx.drops.count('publisher.redis', 'connection-error');
    });
    client.on('ready', () => {
      this.linkState = 'connected';
      this.pump();
    });
    client.on('close', () => {
      if (this.client === client && this.running) this.linkState = 'reconnecting';
    });
    client.on('reconnecting', () => {
      this.reconnects++;
      this.linkState = 'reconnecting';
    });
    try {
      await withTimeout(client.connect(), CONNECT_TIMEOUT_MS + 500);
      await client.ping();
    } catch (err) {
      client.disconnect(false);
      this.client = null;
      await this.target.stop();
      this.target = null;
      throw new Error(`cannot reach Redis at ${this.shownEndpoint}: ${(err as Error).message}`);
    }
    this.running = true;
    this.linkState = 'connected';
    this.pubsubTimer = setInterval(() => this.pollPubsub(), PUBSUB_EVERY_MS);
    this.pubsubTimer.unref();
    this.pollPubsub();
    this.pump();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.pubsubTimer) clearInterval(this.pubsubTimer);
    this.pubsubTimer = null;
    const c = this.client;
    this.client = null;
    this.linkState = 'not connected';
    c?.disconnect(false);
    const t = this.target;
    this.target = null;
    this.shownEndpoint = null;
    await t?.stop();
  }

  /** A mode change applies to the events written from now on. */
  async applyLive(): Promise<boolean> {
    const s = this.settings();
    return this.target !== null && s.redis !== null && (s.redis === 'auto' || redactUrl(s.redis) === this.shownEndpoint || s.redis === this.target.url);
  }

  /**
   * A live SIP message the proxy captured, as it reaches the host (before
   * the wire tap): the call event it makes, if any, is queued. O(1) and
   * never waits; a message that makes no event costs a few comparisons.
   */
  observeSip(ev: SipCaptureEvent): void {
    if (!this.running) return;
    const doc = this.tracker.observe(ev);
    if (doc) this.offer(doc);
  }

  /** An event from elsewhere in the engine (the recorder's `recording`). */
  observeExtra(callId: string, event: CallEventName, recording?: CallEventDoc['recording']): void {
    if (!this.running) return;
    const doc = this.tracker.extra(callId, event, this.ctx.clock.nowUs(), recording);
    if (doc) this.offer(doc);
  }

  /**
   * `inline` mode: the SIP worker holds an initial INVITE until its `new`
   * event is published (the story's bad design, on purpose). Resolves on
   * Redis's reply or once the event is given up; at once when the publisher
   * is not running or the call is already followed.
   */
  inlinePublish(raw: Buffer, readUs: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    const doc = this.tracker.newFromInvite(raw, readUs);
    if (!doc) return Promise.resolve();
    return new Promise<void>((resolve) => this.offer(doc, resolve));
  }

  /** The relay's addresses of a call, asked as each event is made (the host wires the relay in). */
  relayOf: (callId: string) => CallEventDoc['relay'] = () => null;

  private offer(doc: CallEventDoc, done: (() => void) | null = null): void {
    this.counts.created++;
    doc.relay = this.relayOf(doc.callId);
    const dropped = this.queue.push({ doc, json: JSON.stringify(doc), target: '', writtenUs: 0, done });
    if (dropped) this.drop(dropped);
    this.pump();
  }

  private drop(q: Queued<Pending>): void {
    this.counts.dropped++;
    this.counts.failed++;
    this.ctx.drops.count('publisher.queue', 'oldest-dropped-queue-full');
    this.emit(q.item, 'failed', null, 'dropped: the queue was full while Redis was away');
    q.item.done?.();
  }

  private pump(): void {
    const client = this.client;
    if (!client || !this.running || client.status !== 'ready') return;
    const mode = this.settings().mode;
    while (this.inflight < MAX_INFLIGHT) {
      const q = this.queue.shift();
      if (!q) return;
      this.write(client, q, mode);
    }
  }

  private write(client: Redis, q: Queued<Pending>, mode: PublishMode): void {
    const p = q.item;
    q.attempts++;
    this.inflight++;
    p.writtenUs = this.ctx.clock.nowUs();
    if (mode === 'stream') {
      p.target = STREAM_KEY;
      client.xadd(STREAM_KEY, 'MAXLEN', '~', STREAM_MAXLEN, '*', 'v', String(p.doc.v), 'event', p.doc.event, 'callId', p.doc.callId, 'json', p.json).then(
        () => this.replied(q, null),
        (err: Error) => this.failed(q, err),
      );
      return;
    }
    p.target = channelOf(p.doc.callId);
    this.lastChannel = p.target;
    client.publish(p.target, p.json).then(
      (n) => {
        if (n > 0) return this.replied(q, n);
        // Nobody subscribed heard it: the call's list keeps it for the application.
        const list = listOf(p.doc.callId);
        p.target = list;
        this.counts.listFallbacks++;
        this.fallbackRate.mark(this.ctx.clock.monoMs());
        Promise.all([client.rpush(list, p.json), client.expire(list, LIST_TTL_S)]).then(
          () => this.replied(q, 0),
          (err: Error) => this.failed(q, err),
        );
      },
      (err: Error) => this.failed(q, err),
    );
  }

  private replied(q: Queued<Pending>, receivers: number | null): void {
    this.inflight--;
    const p = q.item;
    const now = this.ctx.clock.nowUs();
    this.counts.replied++;
    this.wait.record(Math.max(0, p.writtenUs - p.doc.tsUs));
    this.redisRtt.record(now - p.writtenUs);
    this.total.record(Math.max(0, now - p.doc.tsUs));
    if (receivers !== null) this.receivers.record(receivers);
    this.emit(p, 'replied', receivers, null, now);
    p.done?.();
    this.pump();
  }

  private failed(q: Queued<Pending>, err: Error): void {
    this.inflight--;
    if (q.attempts < MAX_ATTEMPTS && this.running) {
      this.counts.retried++;
      const dropped = this.queue.requeue(q);
      if (dropped) this.drop(dropped);
    } else {
      this.counts.failed++;
      this.ctx.drops.count('publisher.redis', 'gave-up-after-retries');
      this.emit(q.item, 'failed', null, err.message);
      q.item.done?.();
    }
    this.pump();
  }

  /** One ladder entry per event, drawn from the SIP message that made it to Redis's reply. */
  private emit(p: Pending, phase: 'replied' | 'failed', receivers: number | null, error: string | null, now = this.ctx.clock.nowUs()): void {
    const ev: PublishEvent = {
      kind: 'publish',
      tsUs: p.doc.tsUs,
      callId: p.doc.callId,
      phase,
      event: p.doc.event,
      target: p.target || channelOf(p.doc.callId),
      src: 'callpath',
      dst: this.shownEndpoint ?? 'redis',
      receivers,
      sinceQueuedUs: now - p.doc.tsUs,
      error,
    };
    this.ctx.events.emit(ev);
  }

  /**
   * `PUBSUB NUMPAT` (distinct patterns: connections sharing one count once)
   * and `PUBSUB NUMSUB` of the last channel published to (connections
   * subscribed to it by name; pattern subscribers are not in it). Both O(1)
   * for Redis; the fan-out itself is in the receivers each PUBLISH reports.
   */
  private pollPubsub(): void {
    const c = this.client;
    if (!c || c.status !== 'ready') return;
    // The link's own error handler counts a broken connection: nothing to do on a failed poll.
    c.call('PUBSUB', 'NUMPAT').then((n) => (this.numpat = Number(n)), () => undefined);
    const channel = this.lastChannel;
    if (channel === null) return;
    c.call('PUBSUB', 'NUMSUB', channel).then((r) => {
      const count = Array.isArray(r) ? Number(r[1]) : NaN;
      if (Number.isFinite(count)) this.numsub = { channel, count };
    }, () => undefined);
  }

  stats(): PublisherStats {
    const s = this.settings();
    const c = this.counts;
    return {
      mode: s.mode,
      origin: this.target?.origin ?? null,
      endpoint: this.shownEndpoint ?? this.endpoint ?? '',
      link: this.linkState,
      connected: this.client?.status === 'ready',
      reconnects: this.reconnects,
      autoPipelining: s.autoPipelining,
      queue: { depth: this.queue.length, max: this.queue.max, inflight: this.inflight, dropped: c.dropped },
      events: { created: c.created, replied: c.replied, failed: c.failed, retried: c.retried, listFallbacks: c.listFallbacks },
      latencyUs: { wait: this.wait.summary(), redis: this.redisRtt.summary(), total: this.total.summary() },
      receivers: this.receivers.summary(),
      numpat: this.numpat,
      numsub: this.numsub,
      listFallbacksLastMinute: this.fallbackRate.inWindow(this.ctx.clock.monoMs()),
      inline: null,
    };
  }
}

const ORIGIN_WORDS: Record<RedisTarget['origin'], string> = {
  configured: '--redis URL',
  found: 'one already running',
  private: 'private redis-server',
};
