/**
 * The SIP worker thread: transports, transactions and the proxy core run
 * here, so the main thread's work (call store, UI batches, HTTP API, its
 * garbage collection) can never delay a 100 Trying. The thread plumbing —
 * capture batches with bounded batches in flight (capture is dropped and
 * counted, signalling never waits), stats, flush, stop — is
 * engine/worker/thread-side.ts; this file is the SIP service it runs.
 */
import { createMonotonicClock } from '../../clock';
import { EventStream } from '../../events';
import { LoopDelayMonitor } from '../../metrics/loop-delay';
import { listenErrorText } from '../../net/listen-error';
import { ThreadSide, type ThreadService } from '../../worker/thread-side';
import { frameStream } from '../message';
import { ProxyCore } from '../proxy/core';
import type { ProxyStats } from '../stats';
import { createRealTimerHost } from '../transaction';
import { openTcpTransport, type StreamFramer } from '../transport/tcp';
import { readOpenFileLimit, resolveTcpLimits } from '../transport/tcp-limits';
import type { SipTransport } from '../transport/types';
import { openUdpTransport } from '../transport/udp';
import { CaptureBatchWriter } from './capture-codec';
import { InlineGate } from './inline-gate';
import { warmUp } from './warm-up';
import type { SipWorkerReady, SipWorkerRequest, SipWorkerStart, SipWorkerTell } from './start-options';
import type { MediaHooks, MediaOutcome } from '../proxy/media';
import { WorkerLease } from '../../rtp/lease';

const frame: StreamFramer = (buf) => {
  const r = frameStream(buf);
  if ('messageLength' in r) return { length: r.skip + r.messageLength, skip: r.skip };
  if ('need' in r) return { need: 'more', skip: r.skip, until: r.until };
  return { error: r.error.reason };
};

const side = new ThreadSide(new CaptureBatchWriter());
const { drops } = side;
const loopDelay = new LoopDelayMonitor();
let core: ProxyCore | null = null;
let udp: SipTransport | null = null;
let tcp: SipTransport | null = null;
/** `inline` publish mode only (null otherwise): messages reach the core through it. */
let gate: InlineGate | null = null;
/** How long a simulated worker waits for the main thread's publish at most (a Redis client's timeout). */
const INLINE_WAIT_MS = 10_000;

function setInline(workers: number | null, clock: { nowUs(): number }, process: (data: Buffer, peer: Parameters<ProxyCore['receive']>[1], heldUs: number) => void): void {
  if (workers === null) {
    gate?.releaseAll();
    gate = null;
  } else if (gate) gate.setWorkers(workers);
  else gate = new InlineGate(workers, process, (raw, readUs) => side.request({ kind: 'publish', raw, readUs } satisfies SipWorkerRequest, INLINE_WAIT_MS).then(() => undefined), drops, () => clock.nowUs());
}

async function closeTransports(): Promise<void> {
  await Promise.all([udp?.close(), tcp?.close()]);
  udp = null;
  tcp = null;
}

/**
 * How long an offer or answer waits for the relay at most: past it the
 * message goes on with its SDP untouched (and the ladder says so), rather
 * than the caller's INVITE waiting on a stuck main thread.
 */
const MEDIA_WAIT_MS = 2_000;
/** Whether the relay runs (start option, then `configure`). */
let relayMedia = false;
/** Relay ports lent to this worker: an initial offer and its answer are rewritten here, without a round trip to the relay (rtp/lease.ts). */
const lease = new WorkerLease();
const asOutcome = (v: unknown): MediaOutcome => (v && typeof v === 'object' && 'ok' in v ? (v as MediaOutcome) : null);
const mediaHooks: MediaHooks = {
  offer: (o) => {
    const dry = lease.dry;
    const leased = lease.offer(o);
    if (!leased) return side.request({ kind: 'media', op: 'offer', sdp: o, leaseDry: lease.dry > dry } satisfies SipWorkerRequest, MEDIA_WAIT_MS).then(asOutcome);
    if (leased.tell) side.tell({ kind: 'media', op: 'leased-offer', offer: leased.tell } satisfies SipWorkerRequest);
    return Promise.resolve(leased.outcome);
  },
  answer: (o) => {
    const leased = lease.answer(o);
    if (!leased) return side.request({ kind: 'media', op: 'answer', sdp: o } satisfies SipWorkerRequest, MEDIA_WAIT_MS).then(asOutcome);
    if (leased.tell) side.tell({ kind: 'media', op: 'leased-answer', answer: leased.tell } satisfies SipWorkerRequest);
    return Promise.resolve(leased.outcome);
  },
  end: (callId, reason) => {
    lease.end(callId);
    side.tell({ kind: 'media', op: 'end', callId, reason } satisfies SipWorkerRequest);
  },
};

/** Times a port the OS picked for UDP is tried again when TCP already has it. */
const PICK_PORT_ATTEMPTS = 5;

async function open(o: SipWorkerStart): Promise<SipWorkerReady> {
  const clock = createMonotonicClock(o.clockOrigin);
  const events = new EventStream();
  events.on((ev) => {
    if (ev.kind === 'sip') side.capture(ev);
    else if (ev.kind === 'note') side.note(ev);
  });
  // Before the bind: the first real call must not pay for V8 compiling the proxy's code.
  const warm = await warmUp(clock, o.timers, o.relayMedia);
  let c: ProxyCore | null = null;
  const process = (data: Buffer, peer: Parameters<ProxyCore['receive']>[1], heldUs = 0) => c?.receive(data, peer, heldUs);
  const deliver = (data: Buffer, peer: Parameters<ProxyCore['receive']>[1]) => (gate ? gate.receive(data, peer) : process(data, peer));
  setInline(o.inlineWorkers, clock, process);
  inlineClock = { clock, process };
  const openUdp = () =>
    openUdpTransport(o.host, o.port, deliver, drops, (err) => side.fail(err.message), {
      monoMs: () => clock.monoMs(),
      probeIntervalMs: o.timers.T1,
    });
  // TCP shares the UDP port number (RFC 3261 §18: one sent-by for both). When the OS picks the
  // UDP port (port 0), that number may already be taken on TCP: pick again, a few times.
  let u = await openUdp();
  for (let attempt = 1; ; attempt++) {
    udp = u;
    try {
      tcp = await openTcpTransport(o.host, u.port, deliver, frame, drops, resolveTcpLimits(o.tcp, readOpenFileLimit().soft));
      break;
    } catch (err) {
      if (o.port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= PICK_PORT_ATTEMPTS) throw err;
      await u.close();
      u = await openUdp();
    }
  }
  relayMedia = o.relayMedia;
  c = new ProxyCore({
    self: { host: o.host, port: u.port },
    targets: o.targets,
    timers: o.timers,
    timerC: o.timerC,
    timerHost: createRealTimerHost(),
    clock,
    events,
    drops,
    loopDelay,
    defer: setImmediate,
    media: () => (relayMedia ? mediaHooks : null),
  });
  loopDelay.start();
  c.attach(udp, tcp);
  core = c;
  return { port: u.port, warmUp: warm };
}

/** What a live change of the inline mode needs from the running worker. */
let inlineClock: { clock: { nowUs(): number }; process: (data: Buffer, peer: Parameters<ProxyCore['receive']>[1], heldUs: number) => void } | null = null;

const sip: ThreadService<SipWorkerStart, ProxyStats, SipWorkerReady> = {
  async start(o) {
    try {
      return await open(o);
    } catch (err) {
      await closeTransports().catch(() => undefined);
      throw new Error(listenErrorText(err as NodeJS.ErrnoException));
    }
  },
  stats: () => ({ ...core!.stats(), inline: gate?.state ?? null, udpBuffers: udp?.buffers ?? null }),
  drain: () => core?.drain(),
  configure: (o) => {
    core?.configure(o);
    if (o.relayMedia !== undefined) relayMedia = o.relayMedia;
    if (!relayMedia) lease.revoke();
    if (o.inlineWorkers !== undefined && inlineClock) setInline(o.inlineWorkers, inlineClock.clock, inlineClock.process);
  },
  /** The relay lends (or takes back) ports: the only thing the main thread tells this worker. */
  tell(payload) {
    const t = payload as SipWorkerTell;
    if (t.kind === 'lease') lease.grant(t.grant);
  },
  quiesce() {
    loopDelay.stop();
    core?.detach();
  },
  async close() {
    gate?.releaseAll();
    gate = null;
    inlineClock = null;
    core = null;
    await closeTransports();
  },
};

side.serve(sip);
