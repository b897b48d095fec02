/**
 * The publish panel's figures, the pure part: each number with where it is
 * measured and over what window (its tooltip), the chart's point per
 * snapshot, and the one line shown when the publisher has no figures.
 * Unit-tested without a DOM (test/unit/publish-ui.test.ts).
 */
import { LATE_DELIVERY_US, WIDE_FAN_OUT, type ComponentStatus, type ConsumerStats, type LatencySummary, type PublisherStats, type Snapshot } from '../../../app/contract';
import { formatMs } from '../../../app/ladder';

export interface Figure {
  /** Stable id (the test id is `publish-figure-<id>`). */
  id: string;
  label: string;
  value: string;
  /** Where the number is measured and over what window. */
  title: string;
  tone: 'ok' | 'warn' | 'error' | null;
}

const ms = (us: number) => formatMs(us, 2);
const WINDOW = 'over the last minute';

/** The chart's publish part of one snapshot: created → reply percentiles (ms) and the queue depth; null where nothing was measured. */
export interface PublishPoint {
  publishP50Ms: number | null;
  publishP99Ms: number | null;
  publishMaxMs: number | null;
  publishQueue: number | null;
}

export function publishPointOf(s: Pick<Snapshot, 'publisher'>): PublishPoint {
  const p = s.publisher;
  if (!p) return { publishP50Ms: null, publishP99Ms: null, publishMaxMs: null, publishQueue: null };
  const t = p.latencyUs.total;
  // No event replied in the last minute: a gap in the line, not a 0 ms that was never measured.
  const none = t.count === 0;
  return {
    publishP50Ms: none ? null : t.p50 / 1000,
    publishP99Ms: none ? null : t.p99 / 1000,
    publishMaxMs: none ? null : t.max / 1000,
    publishQueue: p.queue.depth,
  };
}

const TOTAL_WHERE = "created (the SIP message that made the event, as the engine stamped it) → Redis's reply, engine clock";

/** What the chart's title attribute says. */
export const CHART_TITLE = `Each point: ${TOTAL_WHERE}, p50 / p99 / max ${WINDOW} as of that moment; leaves out the application's receive time. Queue depth: events waiting to be written at that moment. One point every 2 s, last 2 minutes.`;


const summaryLine = (name: string, s: LatencySummary) => `${name}: p50 ${ms(s.p50)} / p99 ${ms(s.p99)} / max ${ms(s.max)} ms (${s.count} events)`;

/** The publisher's figures, in the order the panel shows them. */
export function publisherFigures(p: PublisherStats): Figure[] {
  const t = p.latencyUs.total;
  const e = p.events;
  const q = p.queue;
  const out: Figure[] = [
    {
      id: 'latency',
      label: 'created → reply',
      value: t.count === 0 ? '—' : `${ms(t.p50)} / ${ms(t.p99)} / ${ms(t.max)} ms`,
      title: [
        `p50 / p99 / max, ${TOTAL_WHERE}, ${WINDOW} (${t.count} events); leaves out the application's receive time (see "app got it").`,
        summaryLine('wait (created → written to Redis: the SIP worker\'s capture batch to the main thread, up to 20 ms when calls are few, then our queue and event loop)', p.latencyUs.wait),
        summaryLine("Redis (written → reply: Redis, the network and our own event loop)", p.latencyUs.redis),
      ].join('\n'),
      tone: null,
    },
    {
      id: 'redis',
      label: 'redis',
      value: `${p.origin ? `${p.origin} ` : ''}${p.endpoint || '—'}`,
      title: `Where the publisher's Redis came from: configured (--redis URL), found (one already listening on 127.0.0.1:6379) or private (a redis-server callpath started).${p.autoPipelining ? ' Auto-pipelining on.' : ''}`,
      tone: null,
    },
    {
      id: 'link',
      label: 'link',
      value: p.link,
      title: `The publisher's connection to Redis, now; ${p.reconnects} reconnect${p.reconnects === 1 ? '' : 's'} since it started.`,
      tone: p.connected ? null : 'error',
    },
    {
      id: 'queue',
      label: 'queue',
      value: `${q.depth} / ${q.max}`,
      title: `Events waiting to be written to Redis now / the queue's bound (past it the oldest are dropped); ${q.inflight} written and waiting for Redis's reply. Now, not averaged.`,
      tone: q.depth >= q.max ? 'error' : q.depth > q.max / 2 ? 'warn' : null,
    },
    {
      id: 'dropped',
      label: 'dropped',
      value: String(q.dropped),
      title: 'Oldest events dropped from the full queue while Redis was away, since the publisher started.',
      tone: q.dropped > 0 ? 'error' : null,
    },
    {
      id: 'events',
      label: 'replied',
      value: `${e.replied} / ${e.created}`,
      title: `Events Redis acknowledged / events made, since the publisher started. Given up ${e.failed} (errors past the retries, or dropped from the queue); written again after a broken connection ${e.retried}.`,
      tone: e.failed > 0 ? 'error' : null,
    },
    {
      id: 'fallbacks',
      label: '→ list',
      value: String(e.listFallbacks),
      title: 'PUBLISH reached nobody (0 receivers), so the event went to the call\'s list (RPUSH call-mq:<Call-ID>) for the application to drain, since the publisher started. pubsub+list only.',
      tone: e.listFallbacks > 0 ? 'warn' : null,
    },
    {
      id: 'receivers',
      label: 'receivers p99',
      value: p.receivers.count === 0 ? '—' : String(p.receivers.p99),
      title: `Receivers Redis reported for each PUBLISH, 99th percentile ${WINDOW} (${p.receivers.count} PUBLISHes, max ${p.receivers.max}): the application plus every pattern subscriber the channel matched, each written every event (O(N+M) per PUBLISH; the Redis suspect is amber from ${WIDE_FAN_OUT}). pubsub+list and inline.`,
      tone: p.receivers.count > 0 && p.receivers.p99 >= WIDE_FAN_OUT ? 'warn' : null,
    },
    {
      id: 'numpat',
      label: 'NUMPAT',
      value: p.numpat === null ? '—' : String(p.numpat),
      title: `PUBSUB NUMPAT on the publisher's Redis, polled every second: distinct patterns subscribed by anyone (connections sharing one count once: the receivers say how many hear each PUBLISH). PUBLISH costs O(N+M), M being the patterns it matches the channel against. NUMSUB of the last call's channel: ${p.numsub === null ? '—' : `${p.numsub.count} (${p.numsub.channel})`}, the connections subscribed to it by name.`,
      tone: null,
    },
  ];
  if (p.inline) {
    out.push({
      id: 'inline',
      label: 'SIP workers busy',
      value: `${p.inline.busy} / ${p.inline.workers} · ${p.inline.waiting} waiting`,
      title: 'inline only, now: simulated SIP workers blocked waiting for Redis\'s reply to a new call\'s event before they answer its INVITE / all of them; INVITEs waiting for a free worker.',
      tone: p.inline.busy >= p.inline.workers || p.inline.waiting > 0 ? 'error' : p.inline.busy > 0 ? 'warn' : null,
    });
  }
  return out;
}

/** What the reference consumer (the story's application) received, or why there is nothing. */
export function consumerFigures(c: ConsumerStats | null, status: ComponentStatus | undefined): Figure[] {
  if (!c) {
    const why = status?.error ?? status?.detail ?? null;
    return [
      {
        id: 'delivered',
        label: 'application',
        value: `consumer ${status?.state ?? 'absent'}`,
        title: `The reference consumer (the consumer component, the story's application) is not running, so nothing says whether events arrived.${why ? ` ${why}` : ''}`,
        tone: null,
      },
    ];
  }
  const r = c.received;
  return [
    {
      id: 'delivered',
      label: 'app got',
      value: `pubsub ${r.pubsub} · list ${r.list} · stream ${r.stream}`,
      title: 'Events the reference consumer (the story\'s application, in this process) recorded since it started, by how they came: PSUBSCRIBE call:*, draining call-mq:* lists, or the stream\'s consumer group. Duplicates not counted.',
      tone: null,
    },
    {
      id: 'duplicates',
      label: 'duplicates',
      value: String(c.duplicates),
      title: `The same callId + seq received again (at-least-once delivery: a write repeated after a broken connection, or a list drained twice), since the consumer started; counted, not recorded twice.${c.malformed > 0 ? ` Malformed messages: ${c.malformed}.` : ''}`,
      tone: c.duplicates > 0 || c.malformed > 0 ? 'warn' : null,
    },
    {
      id: 'app-latency',
      label: 'app got it p99',
      value: c.latencyUs.count === 0 ? '—' : `${ms(c.latencyUs.p99)} ms`,
      title: `created (the SIP message, engine clock) → the reference consumer handled it, 99th percentile ${WINDOW} (${c.latencyUs.count} events, max ${ms(c.latencyUs.max)} ms): the delivery time "created → reply" leaves out. Over ${formatMs(LATE_DELIVERY_US, 0)} ms counts the call as late.`,
      tone: c.latencyUs.count > 0 && c.latencyUs.p99 > LATE_DELIVERY_US ? 'warn' : null,
    },
    {
      id: 'app-link',
      label: 'app link',
      value: c.link,
      title: 'The reference consumer\'s connections to Redis (subscriber, list drain, stream reader), now.',
      tone: c.connected ? null : 'error',
    },
  ];
}

/** Why the publisher has no figures, in one line, from its component status. */
export function publisherAbsentLine(status: ComponentStatus | undefined): string {
  if (!status) return 'No publisher in this engine.';
  const why = status.error ?? status.detail;
  switch (status.state) {
    case 'failed':
      return `Publisher failed${why ? `: ${why}` : ''}`;
    case 'starting':
      return `Publisher starting${why ? ` — ${why}` : '…'}`;
    case 'stopping':
      return 'Publisher stopping…';
    case 'not-implemented':
      return why ?? 'Publisher not built.';
    default:
      return `Publisher ${status.state}${why ? ` — ${why}` : ''}`;
  }
}
