/**
 * The suspects board (#16): the chain of suspects the story's team walked,
 * one after the other and for days, answered at once from what the console
 * already measures: the SIP path, the relay, the recorder and its
 * forwarding, the kernel, Redis, the application. Each suspect is green,
 * amber or red by the worst of its checks; each check states its threshold,
 * where it is measured and over what window; a suspect that has calls to
 * show names the calls-list filter that finds them, and says in words what
 * those calls are (for the kernel: calls that were up while it dropped, not
 * calls that caused it). Pure: a snapshot and the
 * call store's per-call counts in, the board out (the host builds it for
 * the snapshot's `suspects`).
 */
import type { CallFilter } from '../engine/call/query';
import type { TimeWindow } from '../engine/clock';
import { LAST_MINUTE_MS, type KernelUdpStats } from '../engine/metrics/kernel-udp';
import type { LatencySummary } from '../engine/metrics/histogram';
import type { ConsumerStats } from '../engine/publish/consumer';
import { WIDE_FAN_OUT, type PublisherStats } from '../engine/publish/stats';
import type { ForwarderStats } from '../engine/record/forward/forwarder';
import type { ForwardConnectionFigures } from '../engine/record/forward/connection';
import type { RecorderStats } from '../engine/record/recorder';
import type { RelayStats } from '../engine/rtp/stats';
import type { ProxyStats } from '../engine/sip/stats';
import type { SocketBuffers } from '../engine/sip/transport/types';

export type SuspectState = 'green' | 'amber' | 'red' | 'off';
export type SuspectId = 'sip' | 'relay' | 'recorder' | 'kernel' | 'redis' | 'application';

export interface SuspectCheck {
  label: string;
  /** The figure as shown ("12.3 ms"). */
  value: string;
  /** The rule, in words ("amber ≥ 50 ms, red ≥ 200 ms"). */
  threshold: string;
  state: Exclude<SuspectState, 'off'>;
  /** Where it is measured and over what window ("wire, last minute"). */
  where: string;
}

export interface Suspect {
  id: SuspectId;
  title: string;
  /** The question it answers. */
  question: string;
  state: SuspectState;
  /** Why it is off (the part is not running), else null. */
  off: string | null;
  checks: SuspectCheck[];
  /** The calls that tripped it, as a calls-list filter; null when it has none to show. */
  calls: Partial<CallFilter> | null;
  /** What those calls are, in words ("the 3 calls whose …"); null with `calls`. */
  callsMeaning: string | null;
}

/** A suspect's link to its calls: the filter, and what the calls it selects are. */
interface CallsLink {
  calls: Partial<CallFilter>;
  meaning: string;
}

/** What the call store counts per call, over the calls it holds (a snapshot has no per-call detail). */
export interface SuspectCallCounts {
  /** Calls whose 100 Trying (engine) took longer than TRYING_RED_MS. */
  slowTrying: number;
  /** Calls with retransmissions. */
  retransmitted: number;
  /** Calls with media loss, and with a stream whose latest running jitter reached JITTER_AMBER_MS. */
  lossy: number;
  jittery: number;
  /** Calls whose call events did not reach the reference consumer (any in the store), and those started in the last minute whose events reached it late. */
  undelivered: number;
  late: number;
  /** Calls the recorder dropped packets of, or did not forward PCM frames of. */
  recorderDrops: number;
  /** Calls that were up during one of the kernel's drop windows of the last minute (`recentDropWindows`). */
  upDuringKernelDrops: number;
}

/** A call's events count as not delivered only once it ended this long ago (before that they may be on their way). */
export const UNDELIVERED_GRACE_US = 5_000_000;

/** A forwarding connection whose first byte waited this long after its call's first PCM is amber (ms). */
const SLOW_FIRST_BYTE_MS = 1_000;
/** Publishing slower than this (SIP message → Redis's reply) is amber, and names its calls. */
const SLOW_PUBLISH_MS = 100;

/**
 * A stream's running jitter (RFC 3550) from which a call counts as jittery:
 * past ~30 ms a receiver's jitter buffer starts to discard late packets, and
 * loss follows (the usual figure operators alert on).
 */
export const JITTER_AMBER_MS = 30;

/** The story's check: "100 Trying p99 < 200 ms". */
export const TRYING_RED_MS = 200;
const TRYING_AMBER_MS = 50;

/** The subset of the snapshot the board reads. */
export interface SuspectInputs {
  /** The snapshot's time (engine µs): the kernel's last minute of drop windows ends here. */
  nowUs: number;
  sip: ProxyStats | null;
  wireTrying100: LatencySummary | null;
  relay: RelayStats | null;
  recorder: RecorderStats | null;
  kernel: KernelUdpStats;
  publisher: PublisherStats | null;
  publisherRunning: boolean;
  consumer: ConsumerStats | null;
}

const ms = (us: number) => `${(us / 1000).toFixed(1)} ms`;
const worst = (checks: SuspectCheck[]): SuspectState => (checks.some((c) => c.state === 'red') ? 'red' : checks.some((c) => c.state === 'amber') ? 'amber' : 'green');
const level = (v: number, amber: number, red: number): SuspectCheck['state'] => (v >= red ? 'red' : v >= amber ? 'amber' : 'green');

function suspect(id: SuspectId, title: string, question: string, checks: SuspectCheck[], link: CallsLink | null, off: string | null = null): Suspect {
  const shown = off ? null : link;
  return { id, title, question, state: off ? 'off' : worst(checks), off, checks: off ? [] : checks, calls: shown?.calls ?? null, callsMeaning: shown?.meaning ?? null };
}

const calls = (n: number) => (n === 1 ? 'the call' : `the ${n} calls`);

function sipSuspect(i: SuspectInputs, c: SuspectCallCounts): Suspect {
  const s = i.sip;
  if (!s) return suspect('sip', 'SIP path', 'Is the proxy slow to answer INVITEs?', [], null, 'the proxy is not running');
  // In `inline` mode the SIP worker waits on Redis before the proxy sees an INVITE: that wait, and the
  // retransmissions it causes, are the Redis suspect's; this one judges what the proxy does itself.
  const inline = s.inline;
  const wire = !inline && i.wireTrying100 && i.wireTrying100.count > 0 ? i.wireTrying100 : null;
  const t = wire ?? s.trying100;
  // With the gate, only received ones can be told apart: those of a message it held are the wait's.
  const retransmissions = inline ? Math.max(0, s.retransmissionsInPerSecond - inline.heldRetransmissionsPerSecond) : s.retransmissionsPerSecond;
  const checks: SuspectCheck[] = [
    {
      label: inline ? "100 Trying p99, the proxy's own time" : '100 Trying p99',
      value: t.count > 0 ? ms(t.p99) : '—',
      threshold: `amber ≥ ${TRYING_AMBER_MS} ms, red ≥ ${TRYING_RED_MS} ms (the story's check)`,
      state: t.count > 0 ? level(t.p99 / 1000, TRYING_AMBER_MS, TRYING_RED_MS) : 'green',
      where: inline
        ? 'engine, from when a simulated worker handed the INVITE on (the wait on Redis before it is under Redis), last minute'
        : wire
          ? 'wire (INVITE in → 100 out as dumpcap saw them), last minute'
          : 'engine (the wire tap is off: the kernel queue is not in it), last minute',
    },
    {
      label: 'retransmissions/s',
      value: retransmissions.toFixed(1),
      threshold: 'amber > 0, red ≥ 1/s',
      state: retransmissions >= 1 ? 'red' : retransmissions > 0 ? 'amber' : 'green',
      where: inline ? 'engine, retransmissions received per second, last 5 s, less copies of messages held waiting on Redis (under Redis); those the proxy re-sent for them are left out' : 'engine, retransmissions in and out per second, last 5 s',
    },
    { label: 'SIP worker event-loop delay p99', value: ms(s.loopDelay.p99), threshold: 'amber ≥ 20 ms, red ≥ 100 ms', state: level(s.loopDelay.p99 / 1000, 20, 100), where: "engine, the SIP worker's own thread" },
    // Transactions linger after they end to absorb retransmissions (Timer J: 32 s), so 100 calls/s keeps about 10,000.
    { label: 'transactions in flight', value: String(s.activeTransactions), threshold: 'amber ≥ 50,000 (100 calls/s keeps about 10,000: ended transactions linger 32 s for retransmissions)', state: s.activeTransactions >= 50_000 ? 'amber' : 'green', where: 'engine, now' },
  ];
  const link: CallsLink | null =
    c.slowTrying > 0
      ? { calls: { tryingSlowerThanMs: TRYING_RED_MS }, meaning: `${calls(c.slowTrying)} whose 100 Trying took over ${TRYING_RED_MS} ms` }
      : c.retransmitted > 0
        ? { calls: { retransmissionsOnly: true }, meaning: `${calls(c.retransmitted)} with retransmissions` }
        : null;
  return suspect('sip', 'SIP path', 'Is the proxy slow to answer INVITEs, or retransmitting?', checks, link);
}

function relaySuspect(i: SuspectInputs, c: SuspectCallCounts): Suspect {
  const r = i.relay;
  if (!r) return suspect('relay', 'Relay', 'Are the RTP ports running out, or media lost?', [], null, 'the relay is not running');
  const used = r.ports.inUse + r.ports.lent;
  const share = r.ports.total > 0 ? (used / r.ports.total) * 100 : 0;
  const oldest = r.oldest[0];
  const final = r.timeouts.finalTimeout;
  const oldestCheck: SuspectCheck = oldest
    ? final > 0
      ? { label: 'oldest session', value: `${Math.round(oldest.ageMs / 1000)} s of ${final} s`, threshold: 'red past final-timeout', state: oldest.ageMs > final * 1000 ? 'red' : 'green', where: 'engine, now' }
      : { label: 'oldest session', value: `${Math.round(oldest.ageMs / 1000)} s, final-timeout off`, threshold: 'amber while final-timeout is off (sessions nobody deletes keep their ports for ever)', state: 'amber', where: 'engine, now' }
    : { label: 'oldest session', value: 'none', threshold: final > 0 ? 'red past final-timeout' : 'amber while final-timeout is off', state: final > 0 ? 'green' : 'amber', where: 'engine, now' };
  const checks: SuspectCheck[] = [
    { label: 'ports in use', value: `${used} of ${r.ports.total} (${share.toFixed(0)} %)`, threshold: 'amber ≥ 80 %, red ≥ 95 %', state: level(share, 80, 95), where: 'engine, now (in use and lent to the proxy)' },
    { label: 'allocation failures', value: String(r.ports.allocationFailures), threshold: 'red > 0 (calls refused with 503)', state: r.ports.allocationFailures > 0 ? 'red' : 'green', where: 'engine, since the relay started' },
    oldestCheck,
    { label: 'calls with media loss', value: String(c.lossy), threshold: 'amber > 0', state: c.lossy > 0 ? 'amber' : 'green', where: 'relay stream figures (Wireshark loss), calls in the store' },
    { label: `calls with jitter ≥ ${JITTER_AMBER_MS} ms`, value: String(c.jittery), threshold: `amber > 0 (a stream's running jitter reached ${JITTER_AMBER_MS} ms: jitter buffers start to discard)`, state: c.jittery > 0 ? 'amber' : 'green', where: "relay stream figures (RFC 3550 running jitter, each stream's latest report), calls in the store" },
  ];
  const link: CallsLink | null =
    c.lossy > 0
      ? { calls: { mediaLoss: true }, meaning: `${calls(c.lossy)} with media loss` }
      : c.jittery > 0
        ? { calls: { mediaJitterAtLeastMs: JITTER_AMBER_MS }, meaning: `${calls(c.jittery)} with a stream's jitter at ${JITTER_AMBER_MS} ms or more` }
        : null;
  return suspect('relay', 'Relay', 'Are the RTP ports running out, sessions leaking, or media lost or jittery?', checks, link);
}

function recorderSuspect(i: SuspectInputs, c: SuspectCallCounts): Suspect {
  const r = i.recorder;
  if (!r) return suspect('recorder', 'Recorder and forwarding', 'Is the recorder or its PCM forwarding falling behind?', [], null, 'the recorder is not running');
  const f = r.forwarding;
  const checks: SuspectCheck[] = [
    { label: 'recorder state', value: r.state, threshold: 'red in error (disk full, unwritable folder)', state: r.state === 'error' ? 'red' : 'green', where: 'engine, now' },
    { label: 'packets dropped on the way to recordings', value: String(r.totals.drops), threshold: 'amber > 0 (the relay lost nothing; the WAVs have gaps)', state: r.totals.drops > 0 ? 'amber' : 'green', where: 'engine, since the recorder started' },
  ];
  if (f) checks.push(...forwardingChecks(f, i.nowUs));
  if (f) checks.push({ label: 'PCM frames not forwarded', value: String(f.totals.framesDropped), threshold: 'red > 0 (the application misses audio: it was slow or away; the relay and the WAVs lost nothing)', state: f.totals.framesDropped > 0 ? 'red' : 'green', where: 'engine, since the recorder started' });
  // The calls come from each call's record lane (the recorder reports what it lost of a call every few seconds), so they may trail the totals by that much.
  const tripped = r.totals.drops > 0 || (f !== null && f.totals.framesDropped > 0);
  const link = tripped && c.recorderDrops > 0 ? { calls: { recorderDrops: true }, meaning: `${calls(c.recorderDrops)} the recorder dropped packets of, or did not forward PCM frames of` } : null;
  return suspect('recorder', 'Recorder and forwarding', 'Is the recorder or its PCM forwarding falling behind, and does it hold the relay back?', checks, link);
}

/**
 * The forwarding connections, the worst of each figure: the fullest queue
 * now (backpressure: the application reads slower than the audio arrives;
 * at the bound frames drop), and the slowest first byte of the last
 * minute's connections (a slow accept or TLS handshake: the PCM waits).
 */
function forwardingChecks(f: ForwarderStats, nowUs: number): SuspectCheck[] {
  const open = f.connections.filter((x) => x.closeUs === null);
  const fullest = open.reduce<ForwardConnectionFigures | null>((m, x) => (m === null || x.queuedBytes > m.queuedBytes ? x : m), null);
  const recent = f.connections.filter((x) => x.startUs >= nowUs - LAST_MINUTE_MS * 1000);
  const wait = (x: ForwardConnectionFigures) => (x.firstByteUs ?? x.closeUs ?? nowUs) - x.startUs;
  const slowest = recent.reduce<ForwardConnectionFigures | null>((m, x) => (m === null || wait(x) > wait(m) ? x : m), null);
  const closed = recent.filter((x) => x.closeUs !== null).length;
  const sent = recent.reduce((n, x) => n + x.bytesSent, 0);
  return [
    {
      label: 'forwarding queue, fullest open connection',
      value: fullest ? `${kib(fullest.queuedBytes)} of ${kib(f.queueBytes)} (${fullest.callId}, ${fullest.leg}; ${open.length} open)` : 'none open',
      threshold: 'amber from half the bound (backpressure: the application reads slower than the audio arrives, and frames drop at the bound)',
      state: fullest !== null && fullest.queuedBytes >= f.queueBytes / 2 ? 'amber' : 'green',
      where: "engine, now (the connection's queue and its socket's unsent bytes)",
    },
    {
      label: 'slowest first byte',
      value: slowest ? `${ms(wait(slowest))}${slowest.firstByteUs !== null ? '' : slowest.closeUs === null ? ' and none yet' : ', closed before any'} (${slowest.callId}, ${slowest.leg}); ${recent.length} connection${recent.length === 1 ? '' : 's'}, ${closed} closed, ${kib(sent)} sent` : 'no connection',
      threshold: `amber ≥ ${SLOW_FIRST_BYTE_MS} ms (a slow accept or TLS handshake: the call's PCM waits in its queue)`,
      state: slowest !== null && wait(slowest) >= SLOW_FIRST_BYTE_MS * 1000 ? 'amber' : 'green',
      where: "engine, each connection's first PCM → its first byte handed to the socket, connections of the last minute",
    },
  ];
}

/** The kernel's drop windows that ended within its last minute (LAST_MINUTE_MS before `nowUs`): what its link lists and counts. */
export function recentDropWindows(k: KernelUdpStats, nowUs: number): TimeWindow[] {
  return k.dropWindows.filter((w) => w.toUs >= nowUs - LAST_MINUTE_MS * 1000);
}

function kernelSuspect(i: SuspectInputs, c: SuspectCallCounts): Suspect {
  const k = i.kernel;
  if (k.unavailable) return suspect('kernel', 'Kernel', 'Is the kernel dropping UDP?', [], null, k.unavailable);
  // The last minute, as every suspect: a drop stays on the board (and its calls in the link) for a minute, not one read.
  const minute = `last minute (read every ${k.intervalMs / 1000} s)`;
  // The built-in traffic's own sockets are the test's caller and callee, not the call path: what they drop is a generator
  // that fell behind (its CPU and lag are on the traffic panel), and it is left out here, saying how much.
  const g = k.generatorDrops;
  const left = g.lastMinute > 0 ? ` (+${g.lastMinute} more on the built-in traffic's own sockets, left out)` : '';
  const whereBox = g.ports.length > 0 || g.lastMinute > 0 ? `/proc/net/snmp, whole box less the built-in traffic's own sockets (read with them every ${k.socketIntervalMs / 1000} s; only drops certain not to be the traffic's, so some of another socket's may be hidden while the traffic drops), last minute` : `/proc/net/snmp, whole box, ${minute}`;
  const checks: SuspectCheck[] = [
    { label: 'UDP RcvbufErrors', value: `+${k.lessGenerator.rcvbufErrors}${left}`, threshold: 'red > 0 (a socket buffer overflowed)', state: k.lessGenerator.rcvbufErrors > 0 ? 'red' : 'green', where: whereBox },
    { label: 'UDP InErrors', value: `+${k.lessGenerator.inErrors}${left}`, threshold: 'amber > 0', state: k.lessGenerator.inErrors > 0 ? 'amber' : 'green', where: whereBox },
  ];
  if (k.port !== null) {
    checks.push({ label: 'SIP socket drops', value: `+${k.socketDropsLastMinute}`, threshold: 'red > 0', state: k.socketDropsLastMinute > 0 ? 'red' : 'green', where: `/proc/net/udp, our SIP socket, last minute (read every ${k.socketIntervalMs / 1000} s; ${k.socketDrops} since it opened)` });
    checks.push({ label: 'SIP receive queue, max', value: `${k.rxQueueMaxBytes} B`, threshold: 'amber ≥ 64 KiB', state: k.rxQueueMaxBytes >= 65_536 ? 'amber' : 'green', where: `/proc/net/udp, our SIP socket, last minute (read every ${k.socketIntervalMs / 1000} s)` });
    const b = i.sip?.udpBuffers ?? null;
    if (b) checks.push(socketBuffersCheck(b, k));
  }
  // SndbufErrors count sends, which no socket row attributes: the whole box's, the built-in traffic's sends in it.
  checks.push({ label: 'UDP SndbufErrors', value: `+${k.sndbufErrors.lastMinute}`, threshold: "amber > 0 (a socket's send buffer was full: a sender outran it)", state: k.sndbufErrors.lastMinute > 0 ? 'amber' : 'green', where: `/proc/net/snmp, whole box (the built-in traffic's sends included), ${minute}` });
  // The counters are the whole box's: no call caused them. The honest link is to the calls that were up while they rose.
  const dropsTripped = k.lessGenerator.rcvbufErrors > 0 || k.lessGenerator.inErrors > 0 || (k.port !== null && k.socketDropsLastMinute > 0);
  const windows = recentDropWindows(k, i.nowUs);
  const link: CallsLink | null =
    dropsTripped && windows.length > 0 && c.upDuringKernelDrops > 0
      ? {
          calls: { upDuring: windows },
          meaning: `${calls(c.upDuringKernelDrops)} that ${c.upDuringKernelDrops === 1 ? 'was' : 'were'} up while the kernel's UDP drop counters rose in the last minute (${windows.length === 1 ? 'one window' : `${windows.length} windows`}): up at the time, not the cause (the counters are the whole box's)`,
        }
      : null;
  return suspect('kernel', 'Kernel', 'Is the kernel dropping or queueing UDP before we read it?', checks, link);
}

const kib = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;

/**
 * Our sockets' buffers: the SIP socket's as the kernel set them, the relay's
 * the kernel's default (it asks for none). Amber when the SIP socket's receive
 * queue filled half its buffer in the last minute: the next burst may overflow it.
 */
function socketBuffersCheck(b: SocketBuffers, k: KernelUdpStats): SuspectCheck {
  const l = k.bufferLimits;
  const capped = l !== null && b.askedBytes > l.rmemMax ? `; asked ${kib(b.askedBytes)}, net.core.rmem_max caps it at ${kib(l.rmemMax)}, doubled` : '';
  const relay = l !== null ? `; relay sockets: the kernel's default, ${kib(l.rmemDefault)} (net.core.rmem_default)` : '';
  const half = b.rcvBytes / 2;
  return {
    label: 'socket buffers',
    value: `SIP receive ${kib(b.rcvBytes)}, send ${kib(b.sndBytes)}${capped}${relay}`,
    threshold: `amber when the SIP receive queue's max reaches half the receive buffer (${kib(half)}): the next burst may overflow it`,
    state: k.rxQueueMaxBytes >= half ? 'amber' : 'green',
    where: `getsockopt on the SIP socket at start; its receive queue, /proc/net/udp, last minute; /proc/sys/net/core, read every minute`,
  };
}

function redisSuspect(i: SuspectInputs): Suspect {
  const p = i.publisher;
  if (!p || !i.publisherRunning) return suspect('redis', 'Redis', 'Is publishing call events slow?', [], null, 'the publisher is not running');
  const total = p.latencyUs.total;
  const checks: SuspectCheck[] = [
    { label: 'connection', value: p.connected ? 'connected' : 'not connected', threshold: 'red when not connected (events queue, then the oldest drop)', state: p.connected ? 'green' : 'red', where: 'engine, now' },
    // Slow publishing off the SIP path delays the application, not calls: amber. What holds the SIP path is red (inline, below).
    { label: 'publish created → reply p99', value: total.count > 0 ? ms(total.p99) : '—', threshold: 'amber ≥ 100 ms (off the SIP path it delays the application, not calls)', state: total.count > 0 && total.p99 >= SLOW_PUBLISH_MS * 1000 ? 'amber' : 'green', where: 'engine, last minute' },
    { label: 'publish mode', value: p.mode, threshold: 'red in inline (the SIP worker waits for Redis: the incident)', state: p.mode === 'inline' ? 'red' : 'green', where: 'setting' },
    ...inlineChecks(i.sip?.inline ?? null),
    // The N of O(N+M): Redis writes each event to every connection that hears it, whether by name or by pattern.
    { label: 'receivers per PUBLISH p99', value: p.receivers.count > 0 ? String(p.receivers.p99) : '—', threshold: `amber ≥ ${WIDE_FAN_OUT} (Redis writes every event to each: O(N+M) per PUBLISH, however fast Redis is)`, state: p.receivers.count > 0 && p.receivers.p99 >= WIDE_FAN_OUT ? 'amber' : 'green', where: "Redis's reply to each PUBLISH, last minute (pubsub+list and inline)" },
    { label: 'PUBSUB NUMPAT', value: p.numpat === null ? '—' : String(p.numpat), threshold: `amber ≥ ${WIDE_FAN_OUT} (the M of O(N+M): every PUBLISH is matched against each distinct pattern; connections sharing one pattern count once, see receivers)`, state: p.numpat !== null && p.numpat >= WIDE_FAN_OUT ? 'amber' : 'green', where: 'Redis, polled every second' },
    { label: "PUBSUB NUMSUB, last call's channel", value: p.numsub === null ? '—' : `${p.numsub.count} (${p.numsub.channel})`, threshold: `amber ≥ ${WIDE_FAN_OUT} (connections subscribed to one call by name; pattern subscribers are not in it)`, state: p.numsub !== null && p.numsub.count >= WIDE_FAN_OUT ? 'amber' : 'green', where: 'Redis, polled every second' },
    fallbackCheck(p, i.consumer !== null),
    { label: 'events dropped from the queue', value: String(p.queue.dropped), threshold: 'red > 0', state: p.queue.dropped > 0 ? 'red' : 'green', where: 'engine, since the publisher started' },
  ];
  // The calls to look at: those with an event slower than the amber line (SIP message → Redis's reply; in inline mode the wait is in it).
  const slow = total.count > 0 && total.p99 >= SLOW_PUBLISH_MS * 1000;
  return suspect('redis', 'Redis', 'Is publishing call events slow, does it hold up the SIP path, or does each reach too many?', checks, slow ? { calls: { publishSlowerThanMs: SLOW_PUBLISH_MS }, meaning: `the calls with a call event slower than ${SLOW_PUBLISH_MS} ms from its SIP message to Redis's reply` } : null);
}

/**
 * PUBLISH reached nobody, so the event went to the call's list: by design
 * while no application listens, a fault while the reference consumer runs
 * (its subscription is gone). Nothing is lost either way: the list keeps it.
 */
function fallbackCheck(p: PublisherStats, consumerRunning: boolean): SuspectCheck {
  const n = p.listFallbacksLastMinute;
  return {
    label: "events sent to the call's list (PUBLISH reached nobody)",
    value: `${n} (${p.events.listFallbacks} since start)`,
    threshold: consumerRunning ? 'amber > 0 while the application runs (it was not subscribed; the events wait in lists, none lost)' : 'none: no application runs, so the lists keep the events for it',
    state: consumerRunning && n > 0 ? 'amber' : 'green',
    where: 'engine, last minute (pubsub+list)',
  };
}

/** What the SIP worker's wait on Redis costs the SIP path, in `inline` mode. */
function inlineChecks(g: NonNullable<ProxyStats['inline']> | null): SuspectCheck[] {
  if (!g) return [];
  return [
    { label: 'simulated SIP workers busy waiting on Redis', value: `${Math.round(g.busyShare * 100)} % of ${g.workers}`, threshold: "amber ≥ 70 %, red ≥ 95 % (Little's law: INVITEs/s × the wait per publish ÷ workers; near 100 % the queue behind them grows)", state: level(g.busyShare * 100, 70, 95), where: 'engine, the SIP worker, the last 5 s and up to one stats report more' },
    { label: "SIP worker's wait on Redis p99", value: g.heldUs.count > 0 ? ms(g.heldUs.p99) : '—', threshold: `amber ≥ ${TRYING_AMBER_MS} ms, red ≥ ${TRYING_RED_MS} ms (it delays the 100 Trying by as much)`, state: g.heldUs.count > 0 ? level(g.heldUs.p99 / 1000, TRYING_AMBER_MS, TRYING_RED_MS) : 'green', where: 'engine, INVITE read → handed to the proxy, last minute' },
    { label: 'retransmissions caused by the wait /s', value: g.heldRetransmissionsPerSecond.toFixed(1), threshold: 'amber > 0, red ≥ 1/s', state: g.heldRetransmissionsPerSecond >= 1 ? 'red' : g.heldRetransmissionsPerSecond > 0 ? 'amber' : 'green', where: 'engine, copies of messages held waiting on Redis (or gone on < 1 s before), last 5 s' },
  ];
}

function applicationSuspect(i: SuspectInputs, c: SuspectCallCounts): Suspect {
  if (!i.consumer) return suspect('application', 'Application', 'Did the application get every call event?', [], null, 'the reference consumer is not running');
  const checks: SuspectCheck[] = [
    { label: 'calls with events not delivered', value: String(c.undelivered), threshold: 'red > 0', state: c.undelivered > 0 ? 'red' : 'green', where: `the reference consumer against what was published, calls in the store that ended over ${UNDELIVERED_GRACE_US / 1e6} s ago` },
    { label: 'calls with events late', value: String(c.late), threshold: 'amber > 0 (later than 1 s after their SIP message)', state: c.late > 0 ? 'amber' : 'green', where: 'the reference consumer, calls started in the last minute (as the other suspects\' last minute: a fixed cause turns it green)' },
  ];
  return suspect('application', 'Application', 'Did the application get every call event, in time?', checks, c.undelivered > 0 ? { calls: { notDelivered: true }, meaning: `${calls(c.undelivered)} with call events the application never received` } : null);
}

export function suspectsOf(i: SuspectInputs, c: SuspectCallCounts): Suspect[] {
  return [sipSuspect(i, c), relaySuspect(i, c), recorderSuspect(i, c), kernelSuspect(i, c), redisSuspect(i), applicationSuspect(i, c)];
}
