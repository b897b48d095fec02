/**
 * The console's RTP port-pool panel without a DOM: the pool gauge, the
 * figures and where each is measured, the chart's series, the final-timeout
 * and ephemeral-range warnings, the line shown without a relay, sessions
 * closed by reason, the oldest-sessions rows, and the "release orphans now"
 * command through the contract and the host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG } from '../../app/config';
import { CLOSE_REASONS, DEFAULT_RELAY_TIMEOUTS, validateCommand, type CloseReason, type ComponentStatus, type RelaySessionRow, type RelayStats } from '../../app/contract';
import { Host } from '../../app/host';
import { closedByReason } from '../../renderer/src/relay/closed';
import { FINAL_TIMEOUT_OFF, MEASURED, NOT_RELAYED, finalTimeoutWarning, overlapWarning, poolGauge, relayAbsentLine, relayFigures, timeoutsText } from '../../renderer/src/relay/figures';
import { PORT_CHART_TITLE, hasRelayPoints, portSeries, relayPointOf, type RelayPoint } from '../../renderer/src/relay/series';
import { formatDuration, formatDurationShort, releasedText, sessionView } from '../../renderer/src/relay/sessions';

const noneClosed = (): Record<CloseReason, number> => Object.fromEntries(CLOSE_REASONS.map((r) => [r, 0])) as Record<CloseReason, number>;

const relay = (over: Partial<RelayStats> = {}): RelayStats => ({
  address: '127.0.0.1',
  ports: { min: 30000, max: 30099, total: 100, inUse: 32, lent: 8, quarantined: 4, free: 56, busy: 0, highWater: 62, allocations: 500, releases: 480, allocationFailures: 0, bindFailures: 0 },
  ephemeralOverlap: null,
  perSecond: { allocations: 2.5, releases: 2, packets: 4_000 },
  sessions: { live: 20, offered: 2, answered: 18, leased: 300, leaseStale: 0, leaseMissed: 0, closed: { ...noneClosed(), bye: 460 } },
  oldest: [],
  timeouts: { ...DEFAULT_RELAY_TIMEOUTS },
  packets: { relayed: 1_000_000, bytes: 172_000_000, garbage: 0, strictDrops: 0, noPeer: 0, stray: 0, sendErrors: 0 },
  shards: [{ index: 0, sessions: 20, loopDelayP99Us: 310 }],
  mediaPath: { name: 'native', why: null },
  ...over,
});

const status = (over: Partial<ComponentStatus> = {}): ComponentStatus => ({ name: 'relay', state: 'running', endpoint: null, error: null, detail: null, sinceUs: 0, ...over });
const session = (over: Partial<RelaySessionRow> = {}): RelaySessionRow => ({ callId: 'c1@a', ageMs: 65_000, idleMs: 20, state: 'answered', via: 'sip', streams: 2, packets: 3_000, ...over });
const figure = (r: RelayStats, id: string) => relayFigures(r).find((f) => f.id === id)!;

test('the gauge shows in use / total with quarantined and free as shares of the pool, and the high-water mark', () => {
  const g = poolGauge(relay().ports);
  assert.equal(g.text, '32 / 100');
  assert.deepEqual([g.inUse, g.lent, g.quarantined, g.free, g.highWater], [0.32, 0.08, 0.04, 0.56, 0.62]);
  assert.match(g.title, /in use 32 \(32%\) · lent to the proxy 8 .* · quarantined 4 .* free 56 · usable 100/);
  assert.match(g.title, /High-water mark 62 \(62%\)/);
  assert.equal(g.tone, null);
  assert.equal(poolGauge({ ...relay().ports, inUse: 85, free: 11 }).tone, 'warn', 'past 80 % in use');
  assert.equal(poolGauge({ ...relay().ports, inUse: 96, quarantined: 4, free: 0 }).tone, 'error', 'nothing free: the next offer is refused');
  assert.deepEqual([poolGauge({ ...relay().ports, total: 0, inUse: 0, free: 0 }).inUse], [0], 'an empty pool is not a division by zero');
});

test('every figure says where it is measured and over what window; refused allocations are an error', () => {
  const f = relayFigures(relay());
  assert.deepEqual(f.map((x) => x.id), ['address', 'lent', 'high-water', 'alloc-rate', 'alloc-failures', 'bind-failures', 'sessions', 'packets', 'media-path', 'dropped', 'timeouts']);
  assert.ok(f.every((x) => /engine|--rtp|rtpengine/.test(x.title)), 'each title names its source');
  assert.equal(figure(relay(), 'address').value, '127.0.0.1 30000–30099');
  assert.equal(figure(relay(), 'lent').value, '8', 'ports lent to the SIP worker, shown apart from the sessions that hold the rest');
  assert.match(figure(relay(), 'lent').title, /not in "in use"/);
  assert.match(figure(relay(), 'sessions').title, /300 set up by the proxy on lent ports without asking the relay\. Shards/, 'a stale lease is named only when there was one');
  assert.match(figure(relay({ sessions: { ...relay().sessions, leaseStale: 2 } }), 'sessions').title, /2 on a stale lease \(media not relayed\)/);
  assert.doesNotMatch(figure(relay(), 'sessions').title, /run dry/);
  assert.match(figure(relay({ sessions: { ...relay().sessions, leaseMissed: 7 } }), 'sessions').title, /7 initial offers that had to ask it \(a thread round trip before the INVITE went on\) because the proxy's lease had run dry/);
  assert.equal(figure(relay(), 'alloc-rate').value, '2.5 · rel 2.0');
  assert.match(figure(relay(), 'alloc-rate').title, /per second over the last 10 s \(engine\)/);
  assert.match(figure(relay(), 'packets').title, /loop delay p99: 310 µs/);
  assert.match(MEASURED, /last 10 s/);
  assert.deepEqual([figure(relay(), 'media-path').value, figure(relay(), 'media-path').tone], ['native', null]);
  const fellBack = relay({ mediaPath: { name: 'node', why: 'the native relay did not build: cc not found' } });
  assert.deepEqual([figure(fellBack, 'media-path').value, figure(fellBack, 'media-path').tone], ['Node dgram', 'warn'], 'a fallback the user did not ask for is a warning');
  assert.ok([relay(), fellBack].every((r) => /\(engine\)/.test(figure(r, 'media-path').title)));
  assert.match(figure(fellBack, 'media-path').title, /Not native because: the native relay did not build: cc not found/);
  assert.equal(figure(relay({ mediaPath: { name: 'node', why: 'asked for (--media-path node)' } }), 'media-path').tone, null, 'asked for, not a warning');
  assert.equal(figure(relay(), 'alloc-failures').tone, null);
  const full = relay({ ports: { ...relay().ports, allocationFailures: 7 } });
  assert.deepEqual([figure(full, 'alloc-failures').value, figure(full, 'alloc-failures').tone], ['7', 'error']);
  assert.match(figure(full, 'alloc-failures').title, /503/);
  const drops = relay({ packets: { ...relay().packets, garbage: 2, noPeer: 3 } });
  assert.deepEqual([figure(drops, 'dropped').value, figure(drops, 'dropped').tone], ['5', 'warn']);
});

test('final-timeout off is the story\'s leak: warned in those words, and shown "off" among the timeouts', () => {
  assert.equal(finalTimeoutWarning(DEFAULT_RELAY_TIMEOUTS), null, 'on by default: no warning');
  const off = { ...DEFAULT_RELAY_TIMEOUTS, finalTimeout: 0 };
  const w = finalTimeoutWarning(off)!;
  assert.equal(w.text, 'final-timeout is off: sessions nobody deletes hold their ports for ever');
  assert.equal(w.text, FINAL_TIMEOUT_OFF);
  assert.match(w.title, /25,000 ports/);
  assert.equal(timeoutsText(off), '60 / 3600 / 3600 / off s');
  assert.equal(figure(relay({ timeouts: off }), 'timeouts').tone, 'error');
  assert.equal(timeoutsText(DEFAULT_RELAY_TIMEOUTS), '60 / 3600 / 3600 / 14400 s');
});

test('a port range inside the kernel\'s ephemeral range is warned with the overlap the engine found', () => {
  assert.equal(overlapWarning(relay()), null);
  const w = overlapWarning(relay({ ephemeralOverlap: '30000-30099 overlaps 32768-60999' }))!;
  assert.match(w.text, /overlaps the kernel's ephemeral range: 30000-30099 overlaps 32768-60999/);
  assert.match(w.title, /ip_local_port_range/);
});

test('without the relay\'s figures the panel says why, and that SDP passes untouched', () => {
  assert.equal(relayAbsentLine(status({ state: 'not-implemented', detail: 'relay is not built yet' })), `Relay: relay is not built yet — ${NOT_RELAYED}.`);
  assert.equal(relayAbsentLine(status({ state: 'not-implemented' })), 'Relay not built — media is not relayed: SDP passes untouched.');
  assert.equal(relayAbsentLine(status({ state: 'stopped' })), 'Relay stopped — media is not relayed: SDP passes untouched.');
  assert.equal(relayAbsentLine(status({ state: 'failed', error: 'EADDRINUSE 127.0.0.1:2223' })), 'Relay failed: EADDRINUSE 127.0.0.1:2223 — media is not relayed: SDP passes untouched.');
  assert.match(relayAbsentLine(undefined), /SDP passes untouched/);
});

test('the chart draws ports in use, allocations/s and the refusals since the point before; no relay is a gap', () => {
  assert.deepEqual(relayPointOf({ relay: null }), { relayInUse: null, relayAllocPerS: null, relayAllocFailures: null });
  assert.deepEqual(relayPointOf({ relay: relay() }), { relayInUse: 32, relayAllocPerS: 2.5, relayAllocFailures: 0 });
  const p = (t: number, failures: number | null, inUse: number | null = 10): RelayPoint & { t: number } => ({ t, relayInUse: inUse, relayAllocPerS: 1, relayAllocFailures: failures });
  const series = portSeries([p(0, 0), p(2, 0), p(4, 5), p(6, 9), p(8, null, null), p(10, 1), p(12, 0)]);
  assert.deepEqual(series.map((x) => x.failures), [null, 0, 5, 4, null, null, 0]);
  assert.deepEqual(series.map((x) => x.inUse), [10, 10, 10, 10, null, 10, 10]);
  assert.deepEqual(portSeries([p(0, 9), p(2, 3)]).map((x) => x.failures), [null, 3], 'a counter that went down (relay restarted) starts over');
  assert.equal(hasRelayPoints([p(0, null, null)]), false);
  assert.equal(hasRelayPoints([p(0, null, null), p(2, 0)]), true);
  assert.match(PORT_CHART_TITLE, /engine/);
  assert.match(PORT_CHART_TITLE, /10 s/);
});

test('closed sessions are listed by reason in the engine\'s order, ones nobody signalled in the warning colour', () => {
  const closed = { ...noneClosed(), bye: 120, timeout: 3, 'final-timeout': 2, orphan: 1 };
  const c = closedByReason(closed);
  assert.equal(c.total, 126);
  assert.deepEqual(c.list.map((x) => [x.reason, x.count, x.tone]), [['bye', 120, null], ['timeout', 3, 'warn'], ['final-timeout', 2, 'warn'], ['orphan', 1, 'warn']]);
  assert.match(c.list[2]!.title, /absolute lifetime/);
  assert.deepEqual(closedByReason(noneClosed()), { total: 0, list: [] });
});

test('the oldest sessions: age and idle read against the timeouts, each row selecting its live call by its store key', () => {
  const v = sessionView(session(), DEFAULT_RELAY_TIMEOUTS);
  assert.deepEqual([v.key, v.age, v.idle, v.ageTone, v.idleTone], ['c1@a', '1m05s', '20ms', null, null]);
  assert.match(v.title, /click to select the call/);
  assert.match(v.title, /Age 1 min 05 s since the offer; last packet 20 ms ago/, 'the tooltip spells it out');
  assert.equal(sessionView(session({ callId: 'import-1/x' }), DEFAULT_RELAY_TIMEOUTS).key, 'live/import-1/x', 'a live Call-ID that looks like an import key is keyed as the store keys it');
  assert.equal(sessionView(session({ idleMs: null }), DEFAULT_RELAY_TIMEOUTS).idle, '—', 'no packet yet');
  assert.equal(sessionView(session({ idleMs: 61_000 }), DEFAULT_RELAY_TIMEOUTS).idleTone, 'warn', 'idle past the 60 s media timeout');
  assert.equal(sessionView(session({ ageMs: 3.7 * 3_600_000 }), DEFAULT_RELAY_TIMEOUTS).ageTone, 'warn', 'near the 4 h final-timeout');
  const off = { ...DEFAULT_RELAY_TIMEOUTS, finalTimeout: 0 };
  const leak = sessionView(session({ ageMs: 30 * 3_600_000 }), off);
  assert.deepEqual([leak.age, leak.ageTone], ['1d06h', 'error']);
  assert.match(leak.title, /final-timeout is off: nothing will close it/);
  assert.equal(sessionView(session({ ageMs: 3_600_000 }), off).ageTone, null);
  assert.deepEqual([formatDuration(850), formatDuration(12_400), formatDuration(3 * 3_600_000 + 5 * 60_000)], ['850 ms', '12 s', '3 h 05 min']);
  assert.deepEqual([formatDurationShort(850), formatDurationShort(12_400), formatDurationShort(3 * 3_600_000 + 5 * 60_000)], ['850ms', '12s', '3h05m']);
});

test('"release orphans now" is a command of its own: validated, and 0 when the relay is not running', async () => {
  assert.deepEqual(validateCommand({ cmd: 'releaseOrphans' }), { ok: true, value: { cmd: 'releaseOrphans' } });
  assert.equal(validateCommand({ cmd: 'releaseOrphans', all: true }).ok, false);
  const host = new Host({ ...DEFAULT_CONFIG, ui: null, redis: null });
  assert.deepEqual(await host.invoke({ cmd: 'releaseOrphans' }), { released: 0 }, 'a relay that never started holds no session');
  // The relay's real count, from a proxy restart with a SIPp call up, is test/integration/rtp-sip.test.ts's.
  assert.equal(releasedText(0), 'no orphans: nothing released');
  assert.equal(releasedText(3), 'released 3 orphaned sessions');
  assert.equal(releasedText(1), 'released 1 orphaned session');
});
