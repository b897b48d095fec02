import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { LatencySummary } from '../metrics/histogram';
import { WindowedHistogram } from '../metrics/windowed-histogram';
import { redactUrl } from './redis-url';
import { withTimeout } from './with-timeout';
import { CALL_PATTERN, CONSUMER_GROUP, LIST_PATTERN, STREAM_KEY, channelOf, listOf, type DeliveryVia } from './stats';

/**
 * The reference consumer: the "application" of the production story. It reads
 * call events the way that application would (PSUBSCRIBE `call:*` plus the
 * fallback lists, or the stream through a consumer group) and records per call
 * which events arrived, how and when, so the console can say per call
 * "delivered via pubsub / list / stream", "not delivered" or "late".
 *
 * It owns its connections and never shares the publisher's: a subscriber, one
 * for draining lists, and one for the blocking XREADGROUP (a BLOCK holds its
 * connection, and stop() ends it by disconnecting that connection).
 */

export interface ReceivedEvent {
  event: string;
  seq: number;
  via: DeliveryVia;
  /** Wall clock (µs) when this process handled the message. */
  receivedUs: number;
  /** receivedUs − the event's tsUs; negative when the publishing node's clock runs ahead of ours. */
  latencyUs: number;
}

export type ConsumerSources = 'all' | 'pubsub+list' | 'stream';

export const MALFORMED_REASONS = ['not-json', 'no-callId', 'no-seq', 'no-event', 'no-tsUs', 'wrong-call', 'no-json-field', 'trimmed', 'not-a-list'] as const;
export type MalformedReason = (typeof MALFORMED_REASONS)[number];

export interface ConsumerStats {
  connected: boolean;
  /** "connected", "stopped", or the first connection that is not: "list: reconnecting", "stream: error: …". */
  link: string;
  /** Events recorded (duplicates not included), by how they came. */
  received: Record<DeliveryVia, number>;
  /** The same callId+seq again: counted, not recorded twice. */
  duplicates: number;
  malformed: number;
  malformedBy: Record<MalformedReason, number>;
  /** Calls held now, and calls evicted (oldest first) to stay within the bound. */
  calls: number;
  evicted: number;
  /** onEvent threw (caught, so a host bug cannot break the reading loops). */
  onEventErrors: number;
  /** Over the last minute. */
  latencyUs: LatencySummary;
}

export interface ReferenceConsumerOptions {
  nowUs: () => number;
  monoMs: () => number;
  sources?: ConsumerSources;
  /** Called synchronously for every recorded event (not for duplicates); keep it cheap. */
  onEvent?: (callId: string, e: ReceivedEvent) => void;
  /** Stream consumer name inside CONSUMER_GROUP; stable across restarts so our own unacked entries come back to us. */
  consumerName?: string;
  /** Calls remembered (oldest evicted first). */
  maxCalls?: number;
}

const CONNECT_TIMEOUT_MS = 2_000;
const COMMAND_TIMEOUT_MS = 5_000;
const DRAIN_EVERY_MS = 100;
/** SCAN steps per drain round; a keyspace larger than this is walked over several rounds (the cursor is kept). */
const SCAN_STEPS_PER_ROUND = 50;
const SCAN_COUNT = 1000;
const LPOP_COUNT = 100;
/** Elements popped per round at most, so one huge backlog does not starve the rest. */
const POPS_PER_ROUND = 50_000;
const XREAD_COUNT = 500;
const XREAD_BLOCK_MS = 1000;
/** stop() waits this long for a loop to notice; a command lost in a dying connection must not hang it. */
const STOP_WAIT_MS = 2_000;
const DEFAULT_MAX_CALLS = 100_000;
/** Keys under call-mq:* that are not lists, remembered so each is counted once, not every round. */
const MAX_BAD_KEYS = 1_000;

type Role = 'pubsub' | 'list' | 'stream';

export class ReferenceConsumer {
  private readonly opts: Required<Omit<ReferenceConsumerOptions, 'onEvent'>> & Pick<ReferenceConsumerOptions, 'onEvent'>;
  private readonly calls = new Map<string, ReceivedEvent[]>();
  private readonly latency: WindowedHistogram;
  private readonly counts = {
    received: { pubsub: 0, list: 0, stream: 0 } as Record<DeliveryVia, number>,
    duplicates: 0,
    evicted: 0,
    onEventErrors: 0,
    malformedBy: Object.fromEntries(MALFORMED_REASONS.map((r) => [r, 0])) as Record<MalformedReason, number>,
  };
  private clients = new Map<Role, Redis>();
  private readonly state = new Map<Role, string>();
  private running = false;
  private drainTimer: NodeJS.Timeout | null = null;
  private scanCursor = '0';
  private readonly badKeys = new Set<string>();
  /** The drain round in progress and the stream loop, awaited (bounded) by stop(). */
  private drainRound: Promise<void> | null = null;
  private streamLoop: Promise<void> | null = null;
  /** The stream loop's backoff pause, cut short by stop(). */
  private pause: { timer: NodeJS.Timeout; wake: () => void } | null = null;

  constructor(
    private readonly url: string,
    opts: ReferenceConsumerOptions,
  ) {
    this.opts = {
      sources: 'all',
      consumerName: `callpath-${hostname()}`,
      maxCalls: DEFAULT_MAX_CALLS,
      ...opts,
    };
    this.latency = new WindowedHistogram(opts.monoMs, 60);
  }

  private get roles(): Role[] {
    const s = this.opts.sources;
    return s === 'all' ? ['pubsub', 'list', 'stream'] : s === 'stream' ? ['stream'] : ['pubsub', 'list'];
  }

  /** A second start() while started (or starting) does nothing. */
  async start(): Promise<void> {
    if (this.running || this.clients.size > 0) return;
    for (const role of this.roles) this.clients.set(role, this.connection(role));
    try {
      await withTimeout(Promise.all([...this.clients.values()].map((c) => c.connect())), CONNECT_TIMEOUT_MS + 500);
      const sub = this.clients.get('pubsub');
      if (sub) {
        sub.on('pmessage', (_pattern: string, channel: string, message: string) => this.accept(channel.slice(channelOf('').length), message, 'pubsub'));
        await sub.psubscribe(CALL_PATTERN);
        // Our own resubscribe rather than ioredis's autoResubscribe, whose promise nobody catches.
        sub.on('ready', () => void sub.psubscribe(CALL_PATTERN).catch((err: unknown) => this.state.set('pubsub', `error: ${message(err)}`)));
      }
      const block = this.clients.get('stream');
      if (block) await this.ensureGroup(block);
    } catch (err) {
      this.disconnectAll();
      throw new Error(`cannot reach Redis at ${redactUrl(this.url)}: ${message(err)}`);
    }
    this.running = true;
    if (this.clients.has('list')) this.scheduleDrain(0);
    const block = this.clients.get('stream');
    if (block) this.streamLoop = this.readStream(block);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = null;
    if (this.pause) {
      clearTimeout(this.pause.timer);
      this.pause.wake();
    }
    this.disconnectAll();
    const loops = [this.drainRound, this.streamLoop].filter((p) => p !== null);
    this.drainRound = this.streamLoop = null;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(loops), new Promise<void>((r) => (t = setTimeout(r, STOP_WAIT_MS)))]);
    clearTimeout(t);
  }

  received(callId: string): readonly ReceivedEvent[] | undefined {
    return this.calls.get(callId);
  }

  stats(): ConsumerStats {
    const c = this.counts;
    let link = this.running ? 'connected' : 'stopped';
    if (this.running) {
      for (const role of this.roles) {
        const s = this.state.get(role) ?? 'connecting';
        if (s !== 'ready') {
          link = `${role}: ${s}`;
          break;
        }
      }
    }
    return {
      connected: link === 'connected',
      link,
      received: { ...c.received },
      duplicates: c.duplicates,
      malformed: Object.values(c.malformedBy).reduce((a, b) => a + b, 0),
      malformedBy: { ...c.malformedBy },
      calls: this.calls.size,
      evicted: c.evicted,
      onEventErrors: c.onEventErrors,
      latencyUs: this.latency.summary(),
    };
  }

  private connection(role: Role): Redis {
    const client = new Redis(this.url, {
      lazyConnect: true,
      connectionName: `callpath-consumer-${role}`,
      // A dead Redis fails commands at once instead of queueing them; the loops retry at their own pace.
      enableOfflineQueue: false,
      // A command caught in a broken connection fails on the first close, so no promise outlives the connection.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    });
    // A connection already let go by stop() may still report; it must not overwrite its successor's state.
    const set = (s: string): void => {
      if (this.clients.get(role) === client) this.state.set(role, s);
    };
    client.on('error', (err: Error) => set(`error: ${err.message}`));
    client.on('ready', () => set('ready'));
    client.on('reconnecting', () => set('reconnecting'));
    client.on('end', () => set('closed'));
    return client;
  }

  private disconnectAll(): void {
    for (const c of this.clients.values()) c.disconnect(false);
    this.clients.clear();
    this.state.clear();
  }

  // ---- fallback lists ----

  private scheduleDrain(ms: number): void {
    this.drainTimer = setTimeout(() => {
      this.drainTimer = null;
      const round = this.drainLists().catch((err: unknown) => {
        if (this.running) this.state.set('list', `error: ${message(err)}`);
      });
      this.drainRound = round;
      void round.then(() => {
        if (this.running) this.scheduleDrain(DRAIN_EVERY_MS);
      });
    }, ms);
  }

  /** One round: SCAN call-mq:* (bounded; the cursor carries over to the next round), LPOP each list until empty. */
  private async drainLists(): Promise<void> {
    const redis = this.clients.get('list');
    let popped = 0;
    for (let step = 0; step < SCAN_STEPS_PER_ROUND && this.running && redis; step++) {
      const cursor = this.scanCursor;
      const [next, keys] = await redis.scan(cursor, 'MATCH', LIST_PATTERN, 'COUNT', SCAN_COUNT);
      this.scanCursor = next;
      let pending = keys.filter((k) => !this.badKeys.has(k));
      while (pending.length > 0 && this.running) {
        if (popped >= POPS_PER_ROUND) {
          // Out of budget with lists left: the next round scans this step again (drained lists are gone from it).
          this.scanCursor = cursor;
          return;
        }
        const pipe = redis.pipeline();
        for (const key of pending) pipe.lpop(key, LPOP_COUNT);
        const replies = (await pipe.exec()) ?? [];
        const again: string[] = [];
        replies.forEach(([err, items], i) => {
          const key = pending[i]!;
          if (err) {
            // WRONGTYPE: something other than our fallback lists lives under the pattern.
            if (/WRONGTYPE/.test(err.message) && this.badKeys.size < MAX_BAD_KEYS && !this.badKeys.has(key)) {
              this.badKeys.add(key);
              this.counts.malformedBy['not-a-list']++;
            }
            return;
          }
          const list = (items as string[] | null) ?? [];
          popped += list.length;
          const callId = key.slice(listOf('').length);
          for (const m of list) this.accept(callId, m, 'list');
          if (list.length === LPOP_COUNT) again.push(key);
        });
        pending = again;
      }
      if (next === '0') break;
    }
  }

  // ---- stream ----

  private async ensureGroup(redis: Redis): Promise<void> {
    try {
      // From id 0, not '$': a group created after events were added still reads them (up to the stream's MAXLEN).
      await redis.xgroup('CREATE', STREAM_KEY, CONSUMER_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test(message(err))) throw err;
    }
  }

  /**
   * XREADGROUP … > then XACK of what was read, until stop(). It first reads
   * with id 0: entries this consumer name was given but never acked (the
   * process died, or the connection broke between read and ack) come back.
   * Entries stuck with other consumer names are not claimed (no XAUTOCLAIM).
   */
  private async readStream(redis: Redis): Promise<void> {
    let backlog = true;
    let failures = 0;
    let groupMissing = false;
    while (this.running) {
      try {
        if (groupMissing) await this.ensureGroup(redis);
        groupMissing = false;
        const reply: unknown = await redis.call('XREADGROUP', [
          'GROUP', CONSUMER_GROUP, this.opts.consumerName, 'COUNT', XREAD_COUNT, 'BLOCK', XREAD_BLOCK_MS, 'STREAMS', STREAM_KEY, backlog ? '0' : '>',
        ]);
        const entries = streamEntries(reply);
        if (backlog && entries.length === 0) backlog = false;
        for (const [, fields] of entries) this.acceptStreamEntry(fields);
        if (entries.length > 0) await redis.xack(STREAM_KEY, CONSUMER_GROUP, ...entries.map(([id]) => id));
        failures = 0;
      } catch (err) {
        if (!this.running) return;
        const text = message(err);
        this.state.set('stream', `error: ${text}`);
        // A Redis restarted empty has lost the group (and the stream).
        if (/NOGROUP/.test(text)) groupMissing = true;
        // Whatever was read but not acked is pending for us; read it again first.
        backlog = true;
        failures++;
        await this.sleep(Math.min(100 * 2 ** Math.min(failures, 5), 2_000));
      }
    }
  }

  private acceptStreamEntry(fields: string[] | null): void {
    if (fields === null) {
      // Pending for us but trimmed away by MAXLEN before we read it.
      this.counts.malformedBy.trimmed++;
      return;
    }
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'json') return this.accept(null, fields[i + 1]!, 'stream');
    }
    this.counts.malformedBy['no-json-field']++;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.pause = null;
        resolve();
      };
      this.pause = { timer: setTimeout(wake, ms), wake };
    });
  }

  // ---- recording ----

  /** `expectedCallId`: the call the channel or list name says (null for the stream, where the document alone says). */
  private accept(expectedCallId: string | null, text: string, via: DeliveryVia): void {
    const receivedUs = this.opts.nowUs();
    const doc = parseEvent(text);
    if (typeof doc === 'string') {
      this.counts.malformedBy[doc]++;
      return;
    }
    if (expectedCallId !== null && expectedCallId !== doc.callId) {
      this.counts.malformedBy['wrong-call']++;
      return;
    }
    let events = this.calls.get(doc.callId);
    if (events?.some((e) => e.seq === doc.seq)) {
      this.counts.duplicates++;
      return;
    }
    if (!events) {
      // An event for a call already evicted starts it again: its duplicates can no longer be recognised.
      if (this.calls.size >= this.opts.maxCalls) {
        const oldest = this.calls.keys().next().value;
        if (oldest !== undefined) this.calls.delete(oldest);
        this.counts.evicted++;
      }
      events = [];
      this.calls.set(doc.callId, events);
    }
    const e: ReceivedEvent = { event: doc.event, seq: doc.seq, via, receivedUs, latencyUs: receivedUs - doc.tsUs };
    events.push(e);
    this.counts.received[via]++;
    this.latency.record(e.latencyUs);
    if (this.opts.onEvent) {
      try {
        this.opts.onEvent(doc.callId, e);
      } catch {
        this.counts.onEventErrors++;
      }
    }
  }
}

/** The fields the consumer needs from an event document, or why it cannot use it. */
function parseEvent(text: string): { callId: string; seq: number; event: string; tsUs: number } | MalformedReason {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return 'not-json';
  }
  if (typeof doc !== 'object' || doc === null) return 'not-json';
  const d = doc as Record<string, unknown>;
  if (typeof d.callId !== 'string' || d.callId === '') return 'no-callId';
  if (typeof d.seq !== 'number' || !Number.isInteger(d.seq) || d.seq < 1) return 'no-seq';
  if (typeof d.event !== 'string') return 'no-event';
  if (typeof d.tsUs !== 'number' || !Number.isFinite(d.tsUs)) return 'no-tsUs';
  return { callId: d.callId, seq: d.seq, event: d.event, tsUs: d.tsUs };
}

/**
 * XREADGROUP's entries, `[id, fields|null]`. Nil when BLOCK timed out; else
 * per stream `[key, [[id, fields], …]]` — nested in RESP2 (`[[key, items]]`),
 * a map in RESP3, which ioredis's default "legacy" mapping flattens to
 * `[key, items, key, items…]`. Both are read.
 */
function streamEntries(reply: unknown): [string, string[] | null][] {
  if (!Array.isArray(reply)) return [];
  const perStream: unknown[] = typeof reply[0] === 'string' ? reply.filter((_, i) => i % 2 === 1) : reply.map((s: unknown) => (Array.isArray(s) ? s[1] : null));
  const out: [string, string[] | null][] = [];
  for (const items of perStream) {
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      if (Array.isArray(item) && typeof item[0] === 'string') out.push([item[0], Array.isArray(item[1]) ? (item[1] as string[]) : null]);
    }
  }
  return out;
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
