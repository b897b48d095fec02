/**
 * The publisher's figures as the snapshot and `/metrics` carry them, and the
 * names every part of the Redis slice shares: delivery modes, channel, list
 * and stream keys. Types and constants only.
 */
import type { LatencySummary } from '../metrics/histogram';
import type { RedisOrigin } from './redis-server';

/**
 * How call events reach Redis.
 * - `pubsub+list`: PUBLISH `call:<Call-ID>`; when it reaches nobody, RPUSH
 *   `call-mq:<Call-ID>` with an EXPIRE (the production fix of the story).
 * - `stream`: XADD to one stream, read by consumer groups; nothing is lost while consumers are away.
 * - `inline`: a lab reproduction of the incident — the SIP worker waits for
 *   the reply before it answers and forwards an INVITE.
 */
export const PUBLISH_MODES = ['pubsub+list', 'stream', 'inline'] as const;
export type PublishMode = (typeof PUBLISH_MODES)[number];
export const DEFAULT_PUBLISH_MODE: PublishMode = 'pubsub+list';

/** PUBLISH channel of a call's events. */
export const channelOf = (callId: string): string => `call:${callId}`;
/** The pattern the story's application subscribed. */
export const CALL_PATTERN = 'call:*';
/** The list an event goes to when PUBLISH reached nobody. */
export const listOf = (callId: string): string => `call-mq:${callId}`;
export const LIST_PATTERN = 'call-mq:*';
/** How long a fallback list lives after its last event (s). */
export const LIST_TTL_S = 3600;
/** The one stream of call events (stable: several engines will share it). */
/** Call events held while Redis is slow or away, by default (`--publish-queue`). */
export const DEFAULT_PUBLISH_QUEUE = 10_000;

export const STREAM_KEY = 'callpath:call-events';
/** XADD keeps about this many entries (`MAXLEN ~`). */
export const STREAM_MAXLEN = 100_000;
/** The consumer group the reference consumer reads with. */
export const CONSUMER_GROUP = 'callpath-app';

/** How the reference consumer got an event. */
export type DeliveryVia = 'pubsub' | 'list' | 'stream';

/** How an event was delivered, from where the consumer read it (a `delivered` entry's target). */
export function deliveryVia(target: string): DeliveryVia {
  return target === STREAM_KEY ? 'stream' : target.startsWith('call-mq:') ? 'list' : 'pubsub';
}

/** Receivers per PUBLISH (or distinct patterns, or subscribers of one call's channel) from which a PUBLISH is a wide fan-out: 640 in the story. */
export const WIDE_FAN_OUT = 100;

/** An event the application got later than this after the SIP message that made it was delivered late (µs). */
export const LATE_DELIVERY_US = 1_000_000;

/** The snapshot's `publisher` section. Latencies µs; windows the last minute. */
export interface PublisherStats {
  mode: PublishMode;
  /** Where Redis came from: `--redis URL`, one found on 127.0.0.1:6379, or a private redis-server we started (null while stopped). */
  origin: RedisOrigin | null;
  /** The Redis address (password never shown). */
  endpoint: string;
  /** "connected", "reconnecting", "error: …". */
  link: string;
  connected: boolean;
  reconnects: number;
  autoPipelining: boolean;
  queue: {
    /** Events waiting to be written now, and the bound. */
    depth: number;
    max: number;
    /** Written, reply not yet received. */
    inflight: number;
    /** The oldest events dropped from a full queue (Redis away too long), since start. */
    dropped: number;
  };
  /** Since start. */
  events: {
    created: number;
    replied: number;
    /** Gave up on (errors past the retries, or dropped from the queue). */
    failed: number;
    /** Written again after the connection broke before the reply. */
    retried: number;
    /** PUBLISH reached nobody and the event went to the call's list. */
    listFallbacks: number;
  };
  /**
   * Over the last minute: `wait` created (the SIP message that made the event,
   * as the engine stamped it) → command written, which includes the SIP
   * worker's capture batch to the main thread (flushed every 20 ms or 256
   * messages, so up to 20 ms when calls are few) and our queue; `redis` written → reply
   * (Redis, the network and our own event loop); `total` created → reply.
   */
  latencyUs: { wait: LatencySummary; redis: LatencySummary; total: LatencySummary };
  /** PUBLISH receiver counts over the last minute (pubsub+list and inline): the N of O(N+M). */
  receivers: LatencySummary;
  /**
   * `PUBSUB NUMPAT` polled every second (null before the first answer):
   * distinct patterns, so 640 connections on `call:*` count once. The
   * connections a PUBLISH reaches are in `receivers`.
   */
  numpat: number | null;
  /** `PUBSUB NUMSUB` of the channel last published to, polled with it: connections subscribed to it by name (pattern subscribers are not in it). */
  numsub: { channel: string; count: number } | null;
  /** PUBLISHes that reached nobody (the event went to the call's list) over the last minute; `events.listFallbacks` since start. */
  listFallbacksLastMinute: number;
  /** `inline` only: the simulated SIP workers and how many are blocked on Redis now. */
  inline: { workers: number; busy: number; waiting: number } | null;
}
