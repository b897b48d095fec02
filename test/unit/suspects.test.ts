/**
 * The suspects board (app/suspects.ts, renderer/src/suspects/board.ts):
 * each suspect the worst of its checks against its stated thresholds, off
 * while its part is, naming the calls that tripped it; and the wording.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recentDropWindows, suspectsOf, type SuspectInputs, type SuspectCallCounts } from '../../app/suspects';
import { emptyKernelStats } from '../../engine/metrics/kernel-udp';
import { suspectChip } from '../../renderer/src/suspects/board';
import type { ProxyStats as SipStats } from '../../engine/sip/stats';

const lat = (p99Us: number, count = 100) => ({ count, p50: p99Us / 2, p90: p99Us, p99: p99Us, max: p99Us });
/** The SIP figures the board reads (the rest of SipStats does not matter to it). */
const sip = (): SipStats => ({ retransmissionsPerSecond: 0, activeTransactions: 10, trying100: lat(2_000), loopDelay: lat(1_000) }) as unknown as SipStats;
const none: SuspectCallCounts = { slowTrying: 0, retransmitted: 0, lossy: 0, jittery: 0, undelivered: 0, late: 0, recorderDrops: 0, upDuringKernelDrops: 0 };
/** The board's now: 10.5 s on the engine clock, so drop windows at 1-2 s and 9-10 s are within its last minute. */
const NOW_US = 10_500_000;
const inputs = (over: Partial<SuspectInputs> = {}): SuspectInputs => ({ nowUs: NOW_US, sip: sip(), wireTrying100: null, relay: null, recorder: null, kernel: emptyKernelStats(), publisher: null, publisherRunning: false, consumer: null, ...over });
const byId = (i: SuspectInputs, c = none) => new Map(suspectsOf(i, c).map((s) => [s.id, s]));
/** The publisher's figures the Redis suspect reads: one application on call:*, fast, every event heard. */
const redisFigures = (over: Record<string, unknown> = {}) =>
  ({ connected: true, mode: 'pubsub+list', numpat: 1, numsub: { channel: 'call:a84b4c76', count: 0 }, receivers: lat(1), listFallbacksLastMinute: 0, events: { listFallbacks: 0 }, latencyUs: { total: lat(900) }, queue: { dropped: 0 }, ...over }) as unknown as SuspectInputs['publisher'];
const consumer = {} as SuspectInputs['consumer'];

test('a quiet lab: the SIP path and the kernel green, the parts that are not running off, with the reason', () => {
  const b = byId(inputs());
  assert.deepEqual([...b.keys()], ['sip', 'relay', 'recorder', 'kernel', 'redis', 'application']);
  assert.equal(b.get('sip')!.state, 'green');
  assert.equal(b.get('kernel')!.state, 'green');
  for (const id of ['relay', 'recorder', 'redis', 'application'] as const) assert.equal(b.get(id)!.state, 'off', id);
  assert.equal(b.get('relay')!.off, 'the relay is not running');
  assert.equal(b.get('sip')!.calls, null, 'no call tripped it');
});

test("the story's incident: 100 Trying p99 past 200 ms on the wire and retransmissions turn the SIP path red, and name the slow calls", () => {
  const s = { ...sip(), retransmissionsPerSecond: 12 } as SipStats;
  const b = byId(inputs({ sip: s, wireTrying100: lat(850_000) }), { ...none, slowTrying: 40, retransmitted: 55 });
  const path = b.get('sip')!;
  assert.equal(path.state, 'red');
  const t100 = path.checks.find((c) => c.label === '100 Trying p99')!;
  assert.deepEqual([t100.value, t100.state], ['850.0 ms', 'red']);
  assert.match(t100.where, /^wire/, 'the wire figure when the tap has one');
  assert.deepEqual(path.calls, { tryingSlowerThanMs: 200 });
  assert.equal(b.get('kernel')!.state, 'green', 'the others stay green');
  const amber = byId(inputs({ sip: { ...sip(), trying100: lat(60_000) } as SipStats })).get('sip')!;
  assert.equal(amber.state, 'amber', '60 ms: amber');
  assert.match(amber.checks[0]!.where, /^engine .*the kernel queue is not in it/);
});

test('the kernel: receive-buffer drops in the last minute are red — still red a read after they stopped rising — and say where they were counted', () => {
  const k = { ...emptyKernelStats(), port: 5060, rcvbufErrors: { interval: 0, lastMinute: 3, total: 10 }, lessGenerator: { rcvbufErrors: 3, inErrors: 3 } };
  const kernel = byId(inputs({ kernel: k })).get('kernel')!;
  assert.equal(kernel.state, 'red');
  assert.equal(kernel.checks[0]!.value, '+3');
  assert.match(kernel.checks[0]!.where, /\/proc\/net\/snmp, whole box, last minute \(read every 1 s\)/);
  const old = byId(inputs({ kernel: { ...k, rcvbufErrors: { interval: 0, lastMinute: 0, total: 10 }, lessGenerator: { rcvbufErrors: 0, inErrors: 0 }, socketDrops: 4, socketDropsLastMinute: 0 } })).get('kernel')!;
  assert.equal(old.state, 'green', 'drops older than a minute, on the box and on the SIP socket, are history, not a suspect');
  assert.match(old.checks[2]!.where, /4 since it opened/);
});

test("the kernel leaves out what the built-in traffic's own sockets dropped, and says how much: a generator that fell behind is not the call path", () => {
  const generatorOnly = { ...emptyKernelStats(), port: 5060, rcvbufErrors: { interval: 0, lastMinute: 65, total: 65 }, inErrors: { interval: 0, lastMinute: 65, total: 65 }, generatorDrops: { ports: [40000, 40001], lastMinute: 65, total: 65 }, lessGenerator: { rcvbufErrors: 0, inErrors: 0 }, socketIntervalMs: 3_000 };
  const quiet = byId(inputs({ kernel: generatorOnly }), { ...none, upDuringKernelDrops: 5 }).get('kernel')!;
  assert.equal(quiet.state, 'green');
  assert.equal(quiet.checks[0]!.value, "+0 (+65 more on the built-in traffic's own sockets, left out)");
  assert.match(quiet.checks[0]!.where, /whole box less the built-in traffic's own sockets \(read with them every 3 s; only drops certain not to be the traffic's/);
  assert.equal(quiet.calls, null, 'nothing of the call path dropped: no calls to list');
  const both = byId(inputs({ kernel: { ...generatorOnly, lessGenerator: { rcvbufErrors: 2, inErrors: 2 } } })).get('kernel')!;
  assert.equal(both.state, 'red', 'two more on another socket are the kernel suspect\'s');
  assert.equal(both.checks[0]!.value, "+2 (+65 more on the built-in traffic's own sockets, left out)");
});

test("the kernel: our sockets' buffers beside the receive queue that fills them, amber from half full; SndbufErrors amber, the whole box's", () => {
  const udpBuffers = { rcvBytes: 425_984, sndBytes: 425_984, askedBytes: 8 * 1024 * 1024 };
  const bufferLimits = { rmemDefault: 212_992, rmemMax: 212_992, wmemDefault: 212_992, wmemMax: 212_992 };
  const k = { ...emptyKernelStats(), port: 5060, rxQueueMaxBytes: 40_000, bufferLimits };
  const quiet = byId(inputs({ sip: { ...sip(), udpBuffers } as SipStats, kernel: k })).get('kernel')!;
  const buffers = quiet.checks.find((c) => c.label === 'socket buffers')!;
  assert.equal(buffers.value, "SIP receive 416 KiB, send 416 KiB; asked 8192 KiB, net.core.rmem_max caps it at 208 KiB, doubled; relay sockets: the kernel's default, 208 KiB (net.core.rmem_default)");
  assert.deepEqual([buffers.state, quiet.state], ['green', 'green']);
  const filling = byId(inputs({ sip: { ...sip(), udpBuffers } as SipStats, kernel: { ...k, rxQueueMaxBytes: 212_992 } })).get('kernel')!;
  assert.deepEqual([filling.checks.find((c) => c.label === 'socket buffers')!.state, filling.state], ['amber', 'amber'], 'half of 416 KiB queued: the next burst may overflow it');
  const sending = byId(inputs({ kernel: { ...k, sndbufErrors: { interval: 0, lastMinute: 4, total: 9 } } })).get('kernel')!;
  const snd = sending.checks.find((c) => c.label === 'UDP SndbufErrors')!;
  assert.deepEqual([snd.value, snd.state, sending.state], ['+4', 'amber', 'amber']);
  assert.match(snd.where, /whole box \(the built-in traffic's sends included\)/);
  assert.equal(sending.checks.some((c) => c.label === 'socket buffers'), false, 'no SIP socket figures without the proxy\'s');
});

test('the relay: calls with a stream jittering 30 ms or more are amber and listed, media loss first when both', () => {
  const relay = { ports: { inUse: 10, lent: 0, total: 1000, allocationFailures: 0 }, oldest: [], timeouts: { finalTimeout: 3600 } } as unknown as SuspectInputs['relay'];
  const calm = byId(inputs({ relay })).get('relay')!;
  assert.equal(calm.state, 'green');
  const shaky = byId(inputs({ relay }), { ...none, jittery: 3 }).get('relay')!;
  const jitter = shaky.checks.find((c) => c.label === 'calls with jitter ≥ 30 ms')!;
  assert.deepEqual([jitter.value, jitter.state, shaky.state], ['3', 'amber', 'amber']);
  assert.deepEqual(shaky.calls, { mediaJitterAtLeastMs: 30 });
  assert.equal(shaky.callsMeaning, "the 3 calls with a stream's jitter at 30 ms or more");
  assert.deepEqual(byId(inputs({ relay }), { ...none, jittery: 3, lossy: 1 }).get('relay')!.calls, { mediaLoss: true });
});

test('the chip: its mark and title give every check with its threshold and where it is measured, and what a click lists; only a suspect with calls is clickable', () => {
  const s = { ...sip(), retransmissionsPerSecond: 0.5 } as SipStats;
  const chip = suspectChip(byId(inputs({ sip: s }), { ...none, retransmitted: 2 }).get('sip')!);
  assert.equal(chip.label, '▲ SIP path');
  assert.match(chip.title, /▲ retransmissions\/s: 0\.5 — amber > 0, red ≥ 1\/s; engine/);
  assert.match(chip.title, /\nClick: the 2 calls with retransmissions, in the calls list\.$/);
  assert.equal(chip.clickable, true);
  const off = suspectChip(byId(inputs()).get('redis')!);
  assert.deepEqual([off.label, off.clickable], ['○ Redis', false]);
  assert.match(off.title, /off: the publisher is not running/);
});

test("inline publish mode: the SIP worker's wait on Redis and the retransmissions it caused are Redis's, and the SIP path keeps its own figures", () => {
  const heldUs = lat(1_600_000);
  const s = { ...sip(), retransmissionsPerSecond: 90, retransmissionsInPerSecond: 45, trying100: lat(2_000), inline: { workers: 8, busy: 8, waiting: 200, heldUs, heldRetransmissions: 400, heldRetransmissionsPerSecond: 45, busyShare: 1 } } as SipStats;
  const publisher = redisFigures({ mode: 'inline', latencyUs: { total: lat(1_700_000) } });
  const b = byId(inputs({ sip: s, wireTrying100: lat(1_650_000), publisher, publisherRunning: true }));
  const path = b.get('sip')!;
  assert.equal(path.state, 'green', JSON.stringify(path.checks));
  assert.equal(path.checks[0]!.label, "100 Trying p99, the proxy's own time", 'not the wire figure, which holds the wait');
  assert.equal(path.checks[1]!.value, '0.0', 'the 45/s received were all copies of held messages');
  const redis = b.get('redis')!;
  assert.equal(redis.state, 'red');
  const wait = redis.checks.find((c) => c.label === "SIP worker's wait on Redis p99")!;
  assert.deepEqual([wait.value, wait.state], ['1600.0 ms', 'red']);
  assert.equal(redis.checks.find((c) => c.label === 'retransmissions caused by the wait /s')!.state, 'red');
  const busy = redis.checks.find((c) => c.label === 'simulated SIP workers busy waiting on Redis')!;
  assert.deepEqual([busy.value, busy.state], ['100 % of 8', 'red'], 'Little\'s law, measured: the workers cannot keep up');
  // Loss on top of the wait: what the gate cannot explain stays the SIP path's.
  const lossy = byId(inputs({ sip: { ...s, retransmissionsInPerSecond: 50 } as SipStats, publisher, publisherRunning: true })).get('sip')!;
  assert.equal(lossy.checks[1]!.value, '5.0');
  assert.equal(lossy.state, 'red');
});

test('slow publishing off the SIP path is amber, not red; PCM frames the application missed are red', () => {
  const publisher = redisFigures({ latencyUs: { total: lat(900_000) } });
  const redis = byId(inputs({ publisher, publisherRunning: true })).get('redis')!;
  assert.equal(redis.state, 'amber');
  assert.deepEqual(redis.calls, { publishSlowerThanMs: 100 }, 'a click lists the calls with a slow publish');
  const recorder = { state: 'on', totals: { drops: 0 }, forwarding: { totals: { framesDropped: 12 }, queueBytes: 65_536, connections: [] } } as unknown as SuspectInputs['recorder'];
  assert.equal(byId(inputs({ recorder })).get('recorder')!.state, 'red');
});

test("a PUBLISH heard by 641 connections is amber off the SIP path, however fast Redis answers: the N of O(N+M); NUMPAT alone counts their one pattern once", () => {
  const quick = byId(inputs({ publisher: redisFigures(), publisherRunning: true, consumer })).get('redis')!;
  assert.equal(quick.state, 'green', JSON.stringify(quick.checks));
  const wide = byId(inputs({ publisher: redisFigures({ receivers: lat(641) }), publisherRunning: true, consumer })).get('redis')!;
  assert.equal(wide.state, 'amber');
  const fan = wide.checks.find((c) => c.label === 'receivers per PUBLISH p99')!;
  assert.deepEqual([fan.value, fan.state], ['641', 'amber']);
  assert.match(fan.threshold, /amber ≥ 100 .*O\(N\+M\)/);
  assert.equal(wide.checks.find((c) => c.label === 'PUBSUB NUMPAT')!.state, 'green', 'one pattern, however many connections use it');
  assert.equal(wide.calls, null, 'every call fans out alike: there is no call to single out');
  const named = byId(inputs({ publisher: redisFigures({ numsub: { channel: 'call:a84b4c76', count: 300 } }), publisherRunning: true, consumer })).get('redis')!;
  const numsub = named.checks.find((c) => c.label === "PUBSUB NUMSUB, last call's channel")!;
  assert.deepEqual([numsub.value, numsub.state, named.state], ['300 (call:a84b4c76)', 'amber', 'amber']);
  const patterns = byId(inputs({ publisher: redisFigures({ numpat: 640 }), publisherRunning: true, consumer })).get('redis')!;
  assert.equal(patterns.state, 'amber', '640 distinct patterns: each PUBLISH matched against all of them');
});

test("events sent to a call's list are amber while the application runs (its subscription is gone), and expected while none does", () => {
  const fell = redisFigures({ listFallbacksLastMinute: 12, events: { listFallbacks: 40 } });
  const listening = byId(inputs({ publisher: fell, publisherRunning: true, consumer })).get('redis')!;
  const check = listening.checks.find((c) => c.label.startsWith("events sent to the call's list"))!;
  assert.deepEqual([check.value, check.state, listening.state], ['12 (40 since start)', 'amber', 'amber']);
  const nobody = byId(inputs({ publisher: fell, publisherRunning: true })).get('redis')!;
  assert.equal(nobody.state, 'green', 'no application runs: the lists keep the events for it, by design');
  assert.match(nobody.checks.find((c) => c.label.startsWith("events sent to the call's list"))!.threshold, /no application runs/);
  const older = byId(inputs({ publisher: redisFigures({ events: { listFallbacks: 40 } }), publisherRunning: true, consumer })).get('redis')!;
  assert.equal(older.state, 'green', 'fallbacks over a minute old are history');
});

test('forwarding: the fullest open queue is amber from half its bound (backpressure), the slowest first byte of the last minute from 1 s, a connection that never sent counting until now', () => {
  const conn = (callId: string, over: Record<string, unknown>) => ({ callId, leg: 'caller', startUs: NOW_US - 5_000_000, firstByteUs: NOW_US - 4_990_000, bytesSent: 80_000, queuedBytes: 0, closeUs: null, ...over });
  const recorder = (connections: unknown[]) => ({ state: 'on', totals: { drops: 0 }, forwarding: { totals: { framesDropped: 0 }, queueBytes: 65_536, connections } }) as unknown as SuspectInputs['recorder'];
  const check = (connections: unknown[], label: string) => byId(inputs({ recorder: recorder(connections) })).get('recorder')!.checks.find((c) => c.label === label)!;
  const calm = byId(inputs({ recorder: recorder([conn('a', { queuedBytes: 1_024 }), conn('b', { closeUs: NOW_US - 1_000_000 })]) })).get('recorder')!;
  assert.equal(calm.state, 'green', JSON.stringify(calm.checks));
  assert.equal(calm.checks.find((c) => c.label === 'slowest first byte')!.value, '10.0 ms (a, caller); 2 connections, 1 closed, 156 KiB sent');
  const backed = check([conn('a', { queuedBytes: 40_000 })], 'forwarding queue, fullest open connection');
  assert.deepEqual([backed.value, backed.state], ['39 KiB of 64 KiB (a, caller; 1 open)', 'amber']);
  const waiting = check([conn('a', {}), conn('slow', { firstByteUs: null, bytesSent: 0 })], 'slowest first byte');
  assert.deepEqual([waiting.value, waiting.state], ['5000.0 ms and none yet (slow, caller); 2 connections, 0 closed, 78 KiB sent', 'amber']);
  const refused = check([conn('away', { firstByteUs: null, bytesSent: 0, closeUs: NOW_US - 3_500_000 })], 'slowest first byte');
  assert.deepEqual([refused.value, refused.state], ['1500.0 ms, closed before any (away, caller); 1 connection, 1 closed, 0 KiB sent', 'amber'], 'closed without a byte: its wait ends at the close');
  const old = check([conn('slow', { startUs: NOW_US - 70_000_000, firstByteUs: null, closeUs: NOW_US - 65_000_000 })], 'slowest first byte');
  assert.deepEqual([old.value, old.state], ['no connection', 'green'], 'a connection of over a minute ago is history');
});

test('the recorder links to the calls it dropped packets of or did not forward PCM frames of, once its checks trip and the calls are in the store', () => {
  const recorder = (drops: number, framesDropped: number | null) =>
    ({ state: 'on', totals: { drops }, forwarding: framesDropped === null ? null : { totals: { framesDropped }, queueBytes: 65_536, connections: [] } }) as unknown as SuspectInputs['recorder'];
  const red = byId(inputs({ recorder: recorder(0, 40) }), { ...none, recorderDrops: 3 }).get('recorder')!;
  assert.equal(red.state, 'red');
  assert.deepEqual(red.calls, { recorderDrops: true });
  assert.equal(red.callsMeaning, 'the 3 calls the recorder dropped packets of, or did not forward PCM frames of');
  assert.match(suspectChip(red).title, /Click: the 3 calls the recorder dropped packets of, or did not forward PCM frames of, in the calls list\./);
  const amber = byId(inputs({ recorder: recorder(5, null) }), { ...none, recorderDrops: 1 }).get('recorder')!;
  assert.deepEqual([amber.state, amber.calls, amber.callsMeaning], ['amber', { recorderDrops: true }, 'the call the recorder dropped packets of, or did not forward PCM frames of']);
  const notYet = byId(inputs({ recorder: recorder(0, 40) })).get('recorder')!;
  assert.deepEqual([notYet.state, notYet.calls, notYet.callsMeaning], ['red', null, null], 'red before any call has its drops reported: nothing to list yet');
  const green = byId(inputs({ recorder: recorder(0, 0) }), { ...none, recorderDrops: 2 }).get('recorder')!;
  assert.deepEqual([green.state, green.calls], ['green', null], 'a green recorder links to nothing');
});

test("the kernel links to the calls that were up while its drop counters rose, and says they were up at the time, not the cause", () => {
  const windows = [
    { fromUs: 1_000_000, toUs: 2_000_000 },
    { fromUs: 9_000_000, toUs: 10_000_000 },
  ];
  const k = { ...emptyKernelStats(), port: 5060, rcvbufErrors: { interval: 4, lastMinute: 4, total: 9 }, lessGenerator: { rcvbufErrors: 4, inErrors: 4 }, dropWindows: windows };
  const kernel = byId(inputs({ kernel: k }), { ...none, upDuringKernelDrops: 7 }).get('kernel')!;
  assert.equal(kernel.state, 'red');
  assert.deepEqual(kernel.calls, { upDuring: windows });
  assert.match(kernel.callsMeaning!, /^the 7 calls that were up while the kernel's UDP drop counters rose in the last minute \(2 windows\): up at the time, not the cause/);
  assert.match(suspectChip(kernel).title, /Click: the 7 calls that were up while .*not the cause .*whole box's\), in the calls list\./);
  const socket = byId(inputs({ kernel: { ...emptyKernelStats(), port: 5060, socketDrops: 2, socketDropsLastMinute: 2, dropWindows: windows.slice(1) } }), { ...none, upDuringKernelDrops: 1 }).get('kernel')!;
  assert.deepEqual([socket.state, socket.calls], ['red', { upDuring: windows.slice(1) }], 'the SIP socket\'s own drops link the same way');
  assert.match(socket.callsMeaning!, /^the call that was up .*\(one window\)/);
  const queueOnly = byId(inputs({ kernel: { ...emptyKernelStats(), port: 5060, rxQueueMaxBytes: 100_000, dropWindows: windows } }), { ...none, upDuringKernelDrops: 7 }).get('kernel')!;
  assert.deepEqual([queueOnly.state, queueOnly.calls], ['amber', null], 'a long receive queue dropped nothing: no windows to link to now');
  const green = byId(inputs({ kernel: { ...emptyKernelStats(), dropWindows: windows } }), { ...none, upDuringKernelDrops: 7 }).get('kernel')!;
  assert.deepEqual([green.state, green.calls], ['green', null], 'old windows on a green board link to nothing');
  const noWindow = byId(inputs({ kernel: { ...emptyKernelStats(), rcvbufErrors: { interval: 1, lastMinute: 1, total: 1 }, lessGenerator: { rcvbufErrors: 1, inErrors: 1 } } }), none).get('kernel')!;
  assert.deepEqual([noWindow.state, noWindow.calls], ['red', null], 'no window yet (the first read): nothing to list');
  const later = byId(inputs({ nowUs: 70_000_000, kernel: k }), { ...none, upDuringKernelDrops: 7 }).get('kernel')!;
  assert.deepEqual(later.calls, { upDuring: windows.slice(1) }, 'a minute on, the window that ended at 2 s is no longer listed');
  assert.deepEqual(recentDropWindows(k, 70_000_000), windows.slice(1), 'the same windows the host counts the calls of');
});
