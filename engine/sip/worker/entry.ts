/**
 * The SIP worker thread: transports, transactions and the proxy core run
 * here, so the main thread's work (call store, UI batches, HTTP API, its
 * garbage collection) can never delay a 100 Trying. Capture events go to the
 * main thread in batches, with bounded in-flight batches: if the main thread
 * falls behind, capture is dropped and counted — signalling never waits.
 */
import { parentPort } from 'node:worker_threads';
import { createMonotonicClock } from '../../clock';
import { EventStream } from '../../events';
import { DropCounters } from '../../metrics/drops';
import { LoopDelayMonitor } from '../../metrics/loop-delay';
import { frameStream } from '../message';
import { ProxyCore } from '../proxy/core';
import { createRealTimerHost } from '../transaction';
import { openTcpTransport, type StreamFramer } from '../transport/tcp';
import type { SipTransport } from '../transport/types';
import { openUdpTransport } from '../transport/udp';
import { CaptureBatchWriter } from './capture-codec';
import type { FromWorker, ToWorker, WorkerStartOptions } from './protocol';

/** Flush capture at least this often (ms), or when this many events or bytes wait. */
const FLUSH_MS = 20;
const FLUSH_EVENTS = 256;
const FLUSH_BYTES = 192 * 1024;
/** Batches sent but not yet acknowledged by the main thread before capture is dropped. */
const MAX_IN_FLIGHT = 64;
const STATS_MS = 250;

const port = parentPort;
if (!port) throw new Error('sip worker must run in a worker thread');
const post = (m: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer ?? []);

const frame: StreamFramer = (buf) => {
  const r = frameStream(buf);
  if ('messageLength' in r) return { length: r.skip + r.messageLength, skip: r.skip };
  if ('need' in r) return { need: 'more' };
  return { error: r.error.reason };
};

let core: ProxyCore | null = null;
let udp: SipTransport | null = null;
let tcp: SipTransport | null = null;
const pending = new CaptureBatchWriter();
let flushTimer: NodeJS.Timeout | null = null;
let statsTimer: NodeJS.Timeout | null = null;
let seq = 0;
let acked = 0;
const drops = new DropCounters();
const loopDelay = new LoopDelayMonitor();

function flush(): void {
  if (flushTimer) {
    clearTimeout(flushTimer);
    flushTimer = null;
  }
  if (pending.count === 0) return;
  if (seq - acked >= MAX_IN_FLIGHT) {
    drops.count('capture', 'main-thread-behind', pending.discard());
    return;
  }
  const count = pending.count;
  const batch = pending.take();
  post({ type: 'capture', seq: ++seq, batch, count }, [batch]);
}

function onCapture(ev: Parameters<CaptureBatchWriter['append']>[0]): void {
  pending.append(ev);
  if (pending.count >= FLUSH_EVENTS || pending.bytes >= FLUSH_BYTES) flush();
  else if (!flushTimer) flushTimer = setTimeout(flush, FLUSH_MS);
}

async function start(o: WorkerStartOptions): Promise<void> {
  const clock = createMonotonicClock(o.clockOrigin);
  const events = new EventStream();
  events.on((ev) => {
    if (ev.kind === 'sip') onCapture(ev);
  });
  let c: ProxyCore | null = null;
  const deliver = (data: Buffer, peer: Parameters<ProxyCore['receive']>[1]) => c?.receive(data, peer);
  const u = await openUdpTransport(o.host, o.port, deliver, drops, (err) => post({ type: 'failed', message: err.message }), {
    monoMs: () => clock.monoMs(),
    probeIntervalMs: o.timers.T1,
  });
  udp = u;
  // TCP shares the UDP port number (RFC 3261 §18: one sent-by for both).
  tcp = await openTcpTransport(o.host, u.port, deliver, frame, drops);
  c = new ProxyCore({ self: { host: o.host, port: u.port }, targets: o.targets, timers: o.timers, timerHost: createRealTimerHost(), clock, events, drops, loopDelay, defer: setImmediate });
  loopDelay.start();
  c.attach(udp, tcp);
  core = c;
  statsTimer = setInterval(() => post({ type: 'stats', stats: c.stats(), drops: drops.list() }), STATS_MS);
  post({ type: 'started', port: u.port });
}

async function stop(): Promise<void> {
  if (statsTimer) clearInterval(statsTimer);
  loopDelay.stop();
  core?.detach();
  flush();
  if (core) post({ type: 'stats', stats: core.stats(), drops: drops.list() });
  core = null;
  await Promise.all([udp?.close(), tcp?.close()]);
  udp = null;
  tcp = null;
  post({ type: 'stopped' });
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'ack') acked = Math.max(acked, m.seq);
  else if (m.type === 'start') {
    start(m.options).catch(async (err: NodeJS.ErrnoException) => {
      await Promise.all([udp?.close(), tcp?.close()]).catch(() => undefined);
      udp = null;
      tcp = null;
      const why = err.code === 'EADDRINUSE' ? 'address in use' : err.code === 'EADDRNOTAVAIL' ? 'address not available on this host' : err.message;
      post({ type: 'start-failed', message: why });
    });
  } else if (m.type === 'flush') {
    core?.drain(); // what was read is handled (and captured) before the capture is flushed
    flush();
    if (core) post({ type: 'stats', stats: core.stats(), drops: drops.list() });
    post({ type: 'flushed', id: m.id });
  } else if (m.type === 'stop') void stop();
});
