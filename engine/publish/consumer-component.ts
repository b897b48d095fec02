/**
 * The reference consumer as an engine part the user starts and stops like
 * the others: it reads what the publisher writes, from the same Redis (the
 * publisher's, whichever way `--redis` found it), and puts a `delivered`
 * entry on the call's publish lane for every event it receives — so a call
 * shows whether the application got each event, how, and how late.
 */
import type { ComponentImpl } from '../component';
import type { EngineContext } from '../engine';
import type { PublishEvent } from '../events';
import { ReferenceConsumer, type ConsumerStats, type ReceivedEvent } from './consumer';
import { redactUrl } from './redis-url';
import { STREAM_KEY, channelOf, listOf } from './stats';

/** How long a start waits for the publisher to have found its Redis (it may be starting a private one). */
const WAIT_FOR_PUBLISHER_MS = 8_000;

export class ConsumerComponent implements ComponentImpl {
  readonly name = 'consumer' as const;
  private consumer: ReferenceConsumer | null = null;
  private url: string | null = null;

  constructor(
    private readonly ctx: EngineContext,
    /** The publisher's Redis URL while it runs, else null. */
    private readonly publisherUrl: () => string | null,
    /** Why it is off (the publisher is switched off), or null. */
    private readonly off: () => string | null,
  ) {}

  get endpoint(): string | null {
    return this.url ? redactUrl(this.url) : null;
  }

  offReason(): string | null {
    return this.off();
  }

  detail(): string {
    const off = this.off();
    if (off) return off;
    if (!this.consumer) return 'the story\'s application: subscribes call:*, drains call-mq:* lists, reads the stream';
    const s = this.consumer.stats();
    return `${s.link}; received ${s.received.pubsub} via pubsub, ${s.received.list} via list, ${s.received.stream} via stream`;
  }

  async start(): Promise<void> {
    const deadline = Date.now() + WAIT_FOR_PUBLISHER_MS;
    let url = this.publisherUrl();
    while (url === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      url = this.publisherUrl();
    }
    if (url === null) throw new Error('the publisher is not running: start it first (the consumer reads its Redis)');
    const consumer = new ReferenceConsumer(url, {
      nowUs: () => this.ctx.clock.nowUs(),
      monoMs: () => this.ctx.clock.monoMs(),
      onEvent: (callId, e) => this.delivered(callId, e),
    });
    await consumer.start();
    this.consumer = consumer;
    this.url = url;
  }

  async stop(): Promise<void> {
    const c = this.consumer;
    this.consumer = null;
    this.url = null;
    await c?.stop();
  }

  stats(): ConsumerStats | null {
    return this.consumer?.stats() ?? null;
  }

  /** What the consumer received for a call (tests, the API). */
  received(callId: string): readonly ReceivedEvent[] | undefined {
    return this.consumer?.received(callId);
  }

  private delivered(callId: string, e: ReceivedEvent): void {
    const target = e.via === 'stream' ? STREAM_KEY : e.via === 'list' ? listOf(callId) : channelOf(callId);
    const ev: PublishEvent = {
      kind: 'publish',
      tsUs: e.receivedUs,
      callId,
      phase: 'delivered',
      event: e.event,
      target,
      src: this.endpoint ?? 'redis',
      dst: 'application',
      receivers: null,
      sinceQueuedUs: e.latencyUs,
      error: null,
    };
    this.ctx.events.emit(ev);
  }
}
