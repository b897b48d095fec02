import { Redis } from 'ioredis';
import type { ComponentImpl } from '../component';
import type { EngineContext } from '../engine';

const CONNECT_TIMEOUT_MS = 2_000;

/**
 * The publisher's connection to Redis. It owns the ioredis client with the
 * limits the incident taught us: no offline queue (a dead Redis must not
 * buffer without bound), one retry per command, an 'error' listener always.
 * Publishing call events onto it is the publisher issue's work; until then
 * the status says so instead of pretending.
 */
export class RedisLink implements ComponentImpl {
  readonly name = 'publisher' as const;
  private client: Redis | null = null;
  private linkState = 'not connected';
  private reconnects = 0;
  private readonly urlNow: () => string | null;
  /** The URL of the current connection (null while stopped). */
  private connectedUrl: string | null = null;

  /**
   * `url` as a function is read at every start, so a restart after new
   * settings connects where they say; null means switched off (`whyOff`
   * says by what), and starting then fails with that reason.
   */
  constructor(
    url: string | null | (() => string | null),
    private readonly ctx: EngineContext,
    private readonly whyOff = 'no Redis URL configured',
  ) {
    this.urlNow = typeof url === 'function' ? url : () => url;
  }

  private get url(): string | null {
    return this.connectedUrl ?? this.urlNow();
  }

  get endpoint(): string | null {
    const url = this.url;
    return url === null ? null : redactUrl(url);
  }

  offReason(): string | null {
    return this.urlNow() === null ? this.whyOff : null;
  }

  stats(): { link: string; reconnects: number } {
    return { link: this.linkState, reconnects: this.reconnects };
  }

  detail(): string {
    if (this.url === null) return this.whyOff;
    return `${this.linkState}${this.reconnects ? `, ${this.reconnects} reconnects` : ''}; call-event publishing is not implemented yet`;
  }

  get redis(): Redis | null {
    return this.client;
  }

  async start(): Promise<void> {
    const url = this.urlNow();
    if (url === null) throw new Error(`publisher is off: ${this.whyOff}`);
    this.connectedUrl = url;
    const client = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Keep trying in the background once we have been up; the first connect fails fast below.
      retryStrategy: (times) => Math.min(times * 250, 2_000),
    });
    this.client = client;
    client.on('error', (err: Error) => {
      this.linkState = `error: ${err.message}`;
      this.ctx.drops.count('publisher.redis', 'connection-error');
    });
    client.on('ready', () => {
      this.linkState = 'connected';
    });
    client.on('reconnecting', () => {
      this.reconnects++;
      this.linkState = 'reconnecting';
    });
    try {
      await withTimeout(client.connect(), CONNECT_TIMEOUT_MS + 500);
      await client.ping();
    } catch (err) {
      throw new Error(`cannot reach Redis at ${this.endpoint}: ${(err as Error).message}`);
    }
    this.linkState = 'connected';
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = null;
    this.connectedUrl = null;
    this.linkState = 'not connected';
    if (!c) return;
    c.disconnect(false);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Never show a password from the URL in the UI or logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
