/**
 * The console's publish parts without a DOM: the panel's figures and chart
 * points, the mode switch's choices, the subscriber-load control, the calls
 * list's publish cell, saved filters from before the publish filters, and the
 * ladder's publish arrows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_FILTER, type ComponentStatus, type ConsumerStats, type PublishEntry, type PublisherStats, type PublishSummary, type SubscriberLoadStats } from '../../app/contract';
import { STREAM_KEY, channelOf, deliveryVia, listOf } from '../../engine/publish/stats';
import { COLUMNS, sortsBy } from '../../renderer/src/calls/columns';
import { deliveryCell } from '../../renderer/src/calls/delivery';
import { SAVED_FILTERS_KEY, parseSavedFilters } from '../../renderer/src/calls/saved';
import { publishArrowLabel, publishArrowTitle, publishArrowTone, withPublishLabels } from '../../renderer/src/ladder/publishArrow';
import { DEFAULT_LOAD_COUNT, MODE_CHOICES, loadStatus, modeChoice, parseLoadCount } from '../../renderer/src/publish/controls';
import { CHART_TITLE, consumerFigures, publishPointOf, publisherAbsentLine, publisherFigures } from '../../renderer/src/publish/figures';

const S = (p50: number, p99: number, max: number, count = 100) => ({ count, p50, p90: p99, p99, max });
const NONE = S(0, 0, 0, 0);

const publisher = (over: Partial<PublisherStats> = {}): PublisherStats => ({
  mode: 'pubsub+list',
  origin: 'configured',
  endpoint: '127.0.0.1:6379',
  link: 'connected',
  connected: true,
  reconnects: 0,
  autoPipelining: true,
  queue: { depth: 3, max: 10_000, inflight: 2, dropped: 0 },
  events: { created: 400, replied: 396, failed: 0, retried: 0, listFallbacks: 0 },
  latencyUs: { wait: S(50, 300, 900), redis: S(200, 700, 1_500), total: S(250, 1_200, 2_400) },
  receivers: S(1, 1, 1),
  numpat: 1,
  numsub: { channel: 'call:a84b4c76e66710', count: 0 },
  listFallbacksLastMinute: 0,
  inline: null,
  ...over,
});

const consumer = (over: Partial<ConsumerStats> = {}): ConsumerStats => ({
  connected: true,
  link: 'connected',
  received: { pubsub: 390, list: 6, stream: 0 },
  duplicates: 0,
  malformed: 0,
  malformedBy: {} as ConsumerStats['malformedBy'],
  calls: 100,
  evicted: 0,
  onEventErrors: 0,
  latencyUs: S(900, 2_000, 3_000),
  ...over,
});

const status = (name: ComponentStatus['name'], over: Partial<ComponentStatus> = {}): ComponentStatus => ({ name, state: 'running', endpoint: null, error: null, detail: null, sinceUs: 0, ...over });

const figure = (list: { id: string }[], id: string) => list.find((f) => f.id === id) as ReturnType<typeof publisherFigures>[number];

test('the chart point is created → reply p50/p99/max in ms and the queue depth; nothing measured is a gap, not 0 ms', () => {
  assert.deepEqual(publishPointOf({ publisher: publisher() }), { publishP50Ms: 0.25, publishP99Ms: 1.2, publishMaxMs: 2.4, publishQueue: 3 });
  assert.deepEqual(publishPointOf({ publisher: publisher({ latencyUs: { wait: NONE, redis: NONE, total: NONE } }) }), { publishP50Ms: null, publishP99Ms: null, publishMaxMs: null, publishQueue: 3 });
  assert.deepEqual(publishPointOf({ publisher: null }), { publishP50Ms: null, publishP99Ms: null, publishMaxMs: null, publishQueue: null });
  assert.match(CHART_TITLE, /engine clock/);
  assert.match(CHART_TITLE, /last minute/);
  assert.match(CHART_TITLE, /leaves out the application's receive time/);
});

test('every publisher figure says where it is measured and over what window', () => {
  const f = publisherFigures(publisher());
  assert.deepEqual(f.map((x) => x.id), ['latency', 'redis', 'link', 'queue', 'dropped', 'events', 'fallbacks', 'receivers', 'numpat']);
  const latency = figure(f, 'latency');
  assert.equal(latency.value, '0.25 / 1.20 / 2.40 ms');
  assert.match(latency.title, /^p50 \/ p99 \/ max, created \(the SIP message .*\) → Redis's reply, engine clock, over the last minute \(100 events\); leaves out the application's receive time/);
  assert.match(latency.title, /wait \(created → written/);
  assert.match(latency.title, /Redis \(written → reply/);
  assert.equal(figure(f, 'redis').value, 'configured 127.0.0.1:6379');
  assert.equal(figure(f, 'queue').value, '3 / 10000');
  assert.match(figure(f, 'queue').title, /2 written and waiting/);
  assert.match(figure(f, 'dropped').title, /since the publisher started/);
  assert.equal(figure(f, 'receivers').value, '1');
  assert.match(figure(f, 'receivers').title, /99th percentile over the last minute/);
  assert.match(figure(f, 'numpat').title, /polled every second/);
  assert.match(figure(f, 'numpat').title, /NUMSUB of the last call's channel: 0 \(call:a84b4c76e66710\)/);
  assert.ok(f.every((x) => x.title.length > 20), 'no figure without its explanation');
  assert.ok(f.every((x) => x.tone === null), 'a healthy publisher has no coloured figure');
});

test('trouble shows in colour: link down, queue full, drops, failures, list fallbacks, a PUBLISH heard by 641 connections', () => {
  const f = publisherFigures(publisher({ link: 'reconnecting', connected: false, reconnects: 3, queue: { depth: 10_000, max: 10_000, inflight: 0, dropped: 12 }, events: { created: 10, replied: 2, failed: 12, retried: 4, listFallbacks: 5 } }));
  assert.equal(figure(f, 'link').tone, 'error');
  assert.match(figure(f, 'link').title, /3 reconnects/);
  assert.equal(figure(f, 'queue').tone, 'error');
  assert.equal(figure(f, 'dropped').tone, 'error');
  assert.equal(figure(f, 'events').tone, 'error');
  assert.match(figure(f, 'events').title, /Given up 12.*written again after a broken connection 4/);
  assert.equal(figure(f, 'fallbacks').tone, 'warn');
  const wide = figure(publisherFigures(publisher({ receivers: S(641, 641, 641) })), 'receivers');
  assert.deepEqual([wide.value, wide.tone], ['641', 'warn']);
  assert.match(wide.title, /O\(N\+M\) per PUBLISH; the Redis suspect is amber from 100/);
  const idle = publisherFigures(publisher({ numpat: null, receivers: NONE, latencyUs: { wait: NONE, redis: NONE, total: NONE } }));
  assert.deepEqual([figure(idle, 'numpat').value, figure(idle, 'receivers').value, figure(idle, 'latency').value], ['—', '—', '—']);
});

test('inline shows its SIP workers busy and INVITEs waiting, in the warning colours', () => {
  const f = publisherFigures(publisher({ mode: 'inline', inline: { workers: 8, busy: 8, waiting: 40 } }));
  const inline = figure(f, 'inline');
  assert.equal(inline.value, '8 / 8 · 40 waiting');
  assert.equal(inline.tone, 'error');
  assert.match(inline.title, /before they answer its INVITE/);
  assert.equal(figure(publisherFigures(publisher({ mode: 'inline', inline: { workers: 8, busy: 2, waiting: 0 } })), 'inline').tone, 'warn');
  assert.equal(figure(publisherFigures(publisher()), 'inline'), undefined, 'only in inline');
});

test('the application\'s figures: received by pubsub/list/stream, duplicates, its own latency; or why there are none', () => {
  const f = consumerFigures(consumer({ duplicates: 2 }), status('consumer'));
  assert.equal(figure(f, 'delivered').value, 'pubsub 390 · list 6 · stream 0');
  assert.equal(figure(f, 'duplicates').tone, 'warn');
  assert.equal(figure(f, 'app-latency').value, '2.00 ms');
  assert.match(figure(f, 'app-latency').title, /the delivery time "created → reply" leaves out/);
  const off = consumerFigures(null, status('consumer', { state: 'stopped', detail: 'the publisher is off' }));
  assert.equal(off.length, 1);
  assert.equal(off[0]!.value, 'consumer stopped');
  assert.match(off[0]!.title, /the publisher is off$/);
});

test('without a publisher the panel says why in one line, from its component status', () => {
  assert.equal(publisherAbsentLine(status('publisher', { state: 'failed', error: 'cannot reach Redis at 127.0.0.1:1: connect ECONNREFUSED' })), 'Publisher failed: cannot reach Redis at 127.0.0.1:1: connect ECONNREFUSED');
  assert.equal(publisherAbsentLine(status('publisher', { state: 'stopped', detail: 'disabled with --redis off' })), 'Publisher stopped — disabled with --redis off');
  assert.equal(publisherAbsentLine(status('publisher', { state: 'stopped' })), 'Publisher stopped');
  assert.equal(publisherAbsentLine(undefined), 'No publisher in this engine.');
});

test('the mode switch offers every mode, inline labelled as the incident it reproduces', () => {
  assert.deepEqual(MODE_CHOICES.map((c) => c.mode), ['pubsub+list', 'stream', 'inline']);
  const inline = modeChoice('inline');
  assert.equal(inline.bad, true);
  assert.match(inline.label, /reproduces the incident/);
  assert.match(inline.title, /known bad design.*waits for Redis/);
  assert.ok(!modeChoice('stream').bad && !modeChoice('pubsub+list').bad);
});

test('the subscriber-load count is a whole number within the contract\'s bound; the status line counts what Redis dropped', () => {
  assert.equal(DEFAULT_LOAD_COUNT, 640);
  assert.equal(parseLoadCount(' 64 '), 64);
  assert.equal(parseLoadCount('5000'), 5000);
  for (const bad of ['', '0', '5001', '1.5', '-3', 'many']) assert.equal(parseLoadCount(bad), null, bad);
  assert.deepEqual(loadStatus(null).text, 'off');
  const l: SubscriberLoadStats = { wanted: 640, connected: 640, failed: 0, droppedByRedis: 0, messages: 10, bytes: 900, patterns: 'same', slow: false, busyPct: 41.5 };
  assert.deepEqual([loadStatus(l).text, loadStatus(l).tone], ['connected 640 / 640 · failed 0 · dropped by Redis 0', null]);
  assert.match(loadStatus(l).title, /call:\*/);
  assert.match(loadStatus(l).title, /own thread 41\.5 % busy/, 'what reading the fan-out costs, so a busy box is not read as a slow Redis');
  assert.equal(loadStatus({ ...l, connected: 600, droppedByRedis: 40, slow: true }).tone, 'error');
  assert.equal(loadStatus({ ...l, connected: 630, failed: 10 }).tone, 'warn');
});

const summary = (over: Partial<PublishSummary> = {}): PublishSummary => ({ replied: 4, failed: 0, slowestUs: 1_800, delivered: { pubsub: 4, list: 0, stream: 0 }, late: 0, ...over });

test('the publish cell says how a call\'s events arrived: pubsub, list, stream, late, not delivered, or —', () => {
  assert.equal(deliveryCell(null).text, '—');
  assert.deepEqual([deliveryCell(summary()).text, deliveryCell(summary()).className], ['pubsub', 'delivery-ok']);
  assert.equal(deliveryCell(summary({ delivered: { pubsub: 3, list: 1, stream: 0 } })).text, 'pubsub+list');
  assert.equal(deliveryCell(summary({ delivered: { pubsub: 0, list: 0, stream: 4 } })).text, 'stream');
  const late = deliveryCell(summary({ late: 1 }));
  assert.deepEqual([late.text, late.className], ['late · pubsub', 'delivery-late']);
  const missing = deliveryCell(summary({ replied: 3, failed: 1, delivered: { pubsub: 2, list: 0, stream: 0 } }));
  assert.deepEqual([missing.text, missing.className], ['not delivered 2/4', 'delivery-missing'], 'one given up, one acknowledged and not received');
  assert.match(missing.title, /given up 1/);
  assert.match(missing.title, /slowest SIP message → Redis reply 1\.80 ms/);
  assert.equal(deliveryCell(summary({ delivered: { pubsub: 0, list: 0, stream: 0 } })).text, 'not delivered 4/4', 'the consumer got nothing');
  assert.equal(deliveryCell(summary({ replied: 3, delivered: { pubsub: 4, list: 0, stream: 0 } })).text, 'pubsub', 'received before the publisher saw the reply');
});

test('the publish column is shown but not sortable (the engine has no such sort)', () => {
  const col = COLUMNS.find((c) => c.key === 'delivery');
  assert.ok(col);
  assert.equal(sortsBy('delivery'), false);
  assert.ok(COLUMNS.filter((c) => c.key !== 'delivery').every((c) => sortsBy(c.key)));
});

test('a filter saved before the publish filters existed still loads, with them off; a bad value for them is still refused', () => {
  assert.equal(SAVED_FILTERS_KEY, 'callpath.savedFilters.v1');
  const { publishSlowerThanMs: _p, notDelivered: _n, ...old } = { ...NO_FILTER, tryingSlowerThanMs: 5 };
  const raw = JSON.stringify({ version: 1, filters: [{ name: 'slow 100', filter: old }, { name: 'bad', filter: { ...old, notDelivered: 'yes' } }] });
  assert.deepEqual(parseSavedFilters(raw), [{ name: 'slow 100', filter: { ...NO_FILTER, tryingSlowerThanMs: 5 } }]);
  const now = JSON.stringify({ version: 1, filters: [{ name: 'lost', filter: { ...NO_FILTER, notDelivered: true, publishSlowerThanMs: 20 } }] });
  assert.deepEqual(parseSavedFilters(now)[0]!.filter, { ...NO_FILTER, notDelivered: true, publishSlowerThanMs: 20 });
});

const entry = (over: Partial<PublishEntry>): PublishEntry => ({
  index: 5,
  lane: 'publish',
  tsUs: 1_000,
  src: 'callpath',
  dst: '127.0.0.1:6379',
  label: 'new replied (1 receivers)',
  owner: 'publish:new',
  phase: 'replied',
  event: 'new',
  target: channelOf('abc'),
  receivers: 1,
  sinceQueuedUs: 840,
  error: null,
  ...over,
});

test('the ladder\'s publish arrows say the event, its receivers or its fallback, and how long it took', () => {
  assert.equal(publishArrowLabel(entry({})), 'new (1 receiver) · 0.84 ms');
  assert.equal(publishArrowLabel(entry({ receivers: 641 })), 'new (641 receivers) · 0.84 ms');
  assert.equal(publishArrowLabel(entry({ event: 'early', target: listOf('abc'), receivers: 0, sinceQueuedUs: 1_200 })), 'early → list · 1.20 ms');
  assert.equal(publishArrowLabel(entry({ event: 'answered', target: STREAM_KEY, receivers: null })), 'answered → stream · 0.84 ms');
  assert.equal(publishArrowLabel(entry({ phase: 'failed', event: 'ended', receivers: null, error: 'dropped: the queue was full while Redis was away', sinceQueuedUs: 5_003_000 })), 'ended failed: dropped: the queue was full while Redis… · 5003.00 ms');
  const delivered = entry({ phase: 'delivered', src: '127.0.0.1:6379', dst: 'application', receivers: null, sinceQueuedUs: 2_100 });
  assert.equal(publishArrowLabel(delivered), 'new delivered via pubsub · 2.10 ms');
  assert.equal(publishArrowLabel(entry({ phase: 'queued', label: 'new queued' })), 'new queued', 'phases not drawn today keep the engine\'s label');
});

test('failed publish arrows take the error colour, delivered ones their own, a list fallback is marked', () => {
  assert.equal(publishArrowTone(entry({})), undefined);
  assert.equal(publishArrowTone(entry({ phase: 'failed' })), 'publish-failed');
  assert.equal(publishArrowTone(entry({ phase: 'delivered' })), 'publish-delivered');
  assert.equal(publishArrowTone(entry({ target: listOf('abc'), receivers: 0 })), 'publish-fallback');
  assert.match(publishArrowTitle(entry({})), /SIP message that made it → Redis's reply: 0\.840 ms \(engine clock\)/);
  assert.match(publishArrowTitle(entry({ target: listOf('abc'), receivers: 0 })), /the event went to the call's list/);
  assert.match(publishArrowTitle(entry({ phase: 'delivered' })), /received it via pubsub, 0\.840 ms after the SIP message/);
  assert.match(publishArrowTitle(entry({ phase: 'failed', error: 'ERR x' })), /error: ERR x/);
});

test('the screen names the delivery by the engine\'s one rule, for every target the publisher writes', () => {
  assert.deepEqual([channelOf('a@b'), listOf('a@b'), STREAM_KEY].map(deliveryVia), ['pubsub', 'list', 'stream']);
  assert.match(publishArrowLabel(entry({ phase: 'delivered', target: listOf('a@b') })), /delivered via list/);
});

test('only publish entries are relabelled for the screen; the others are the same objects', () => {
  const sip = { index: 0, lane: 'note', tsUs: 0, src: 'a', dst: 'a', label: 'x', owner: 'note', text: 'x' } as const;
  const out = withPublishLabels([sip, entry({})]);
  assert.equal(out[0], sip);
  assert.equal(out[1]!.label, 'new (1 receiver) · 0.84 ms');
});
