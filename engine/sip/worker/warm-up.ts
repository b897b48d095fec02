/**
 * Warms the SIP worker's code before it takes its first call: synthetic
 * calls (INVITE with SDP → 100/180/200 with SDP → ACK → BYE → 200) run
 * through a private ProxyCore on in-memory transports, with a private lease
 * rewriting their SDP as the relay's would, and their capture encoded into a
 * private batch that is thrown away.
 *
 * Why: a fresh V8 runs the proxy's code in its interpreter and optimizes it
 * only after enough calls. Measured on the wire at 500 calls/s, a fresh
 * worker's first second was ~97 % busy (compiling and collecting) and its
 * INVITE→200 p99 was several times the warm one, until the queue it built
 * drained. Nothing of the warm-up touches a socket, the main thread, the
 * relay or the event stream; its core, transactions and timers are dropped
 * when it ends.
 */
import type { Clock } from '../../clock';
import { EventStream } from '../../events';
import { DropCounters } from '../../metrics/drops';
import type { NextHop } from '../../net/host-port';
import { WorkerLease } from '../../rtp/lease';
import { buildResponse, parseMessage } from '../message';
import type { MediaHooks } from '../proxy/media';
import { ProxyCore } from '../proxy/core';
import { createManualTimerHost, type TimerValues } from '../transaction';
import type { SipTransport } from '../transport/types';
import { CaptureBatchWriter } from './capture-codec';

/** Calls the warm-up runs: enough for V8 to optimize the per-message path (measured: ~0.5 s of one core). */
export const WARM_UP_CALLS = 2_000;
/** The warm-up stops starting calls past this, however far it got: a loaded box must not hold the proxy's start (or restart) for long. */
const BUDGET_MS = 1_000;
/** Calls in flight at once, so the transaction tables and the admission queue hold more than one. */
const IN_FLIGHT = 50;

/** Documentation addresses (RFC 5737): nothing is ever sent to them. */
const SELF = { host: '192.0.2.10', port: 5060 };
const CALLER: NextHop = { host: '192.0.2.1', port: 5060, transport: 'udp' };
const CALLEE: NextHop = { host: '192.0.2.2', port: 5060, transport: 'udp' };
const RELAY_ADDRESS = '192.0.2.20';
const RELAY_C = `c=IN IP4 ${RELAY_ADDRESS}`;

export interface WarmUpResult {
  /** Calls that ended with the BYE's 200 reaching the caller. */
  calls: number;
  /** Messages the core sent with their SDP pointing at the (private) relay address: the lease's rewriting ran. */
  sdpRewritten: number;
  ms: number;
}

const sdp = (host: string, port: number, id: number) => `v=0\r\no=- ${id} ${id} IN IP4 ${host}\r\ns=-\r\nc=IN IP4 ${host}\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n`;

function request(method: 'INVITE' | 'ACK' | 'BYE', i: number, cseq: number, route: boolean, body: string | null): Buffer {
  const uri = method === 'INVITE' ? `sip:warm${i}@${CALLEE.host}` : `sip:callee@${CALLEE.host}:${CALLEE.port}`;
  const lines = [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${CALLER.host}:${CALLER.port};branch=z9hG4bK-warm-${i}-${cseq}-${method};rport`,
    'Max-Forwards: 70',
    `From: "warm" <sip:caller@${CALLER.host}>;tag=wf${i}`,
    `To: <sip:warm${i}@${CALLEE.host}>${method === 'INVITE' ? '' : `;tag=wt${i}`}`,
    `Call-ID: warm-${i}@${CALLER.host}`,
    `CSeq: ${cseq} ${method}`,
    `Contact: <sip:caller@${CALLER.host}:${CALLER.port}>`,
    ...(route ? [`Route: <sip:${SELF.host}:${SELF.port};lr>`] : []),
    'User-Agent: callpath warm-up',
    ...(body ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${body ? Buffer.byteLength(body) : 0}`,
    '',
    body ?? '',
  ];
  return Buffer.from(lines.join('\r\n'));
}

/** Runs `calls` synthetic calls through a private core (fewer past BUDGET_MS); resolves when the last round is done. */
export async function warmUp(clock: Clock, timers: TimerValues, relayMedia: boolean, calls = WARM_UP_CALLS): Promise<WarmUpResult> {
  const t0 = clock.monoMs();
  const inbound: { data: Buffer; peer: NextHop }[] = [];
  const deferred: (() => void)[] = [];
  let done = 0;
  let sdpRewritten = 0;
  const transport: SipTransport = {
    name: 'udp',
    send(data) {
      const r = parseMessage(data);
      if (!r.ok) return;
      const m = r.msg;
      if (m.contentLength && m.body.includes(RELAY_C)) sdpRewritten++;
      const i = Number(/^warm-(\d+)@/.exec(m.callId)?.[1] ?? NaN);
      if (!Number.isInteger(i)) return;
      if (m.isRequest) {
        // At the callee: answer INVITE (180, then 200 with SDP) and BYE.
        const rr = m.headers('record-route').map((v) => ['Record-Route', v] as const);
        const contact = ['Contact', `<sip:callee@${CALLEE.host}:${CALLEE.port}>`] as const;
        if (m.method === 'INVITE') {
          inbound.push({ data: buildResponse(m, 180, 'Ringing', { toTag: `wt${i}`, headers: [...rr, contact] }), peer: CALLEE });
          const body = sdp(CALLEE.host, 40_000 + 2 * (i % 10_000), i);
          inbound.push({ data: buildResponse(m, 200, 'OK', { toTag: `wt${i}`, headers: [...rr, contact, ['Content-Type', 'application/sdp']], body }), peer: CALLEE });
        } else if (m.method === 'BYE') inbound.push({ data: buildResponse(m, 200, 'OK', { headers: [contact] }), peer: CALLEE });
      } else if (m.cseq.method === 'INVITE' && m.status === 200) {
        // At the caller: ACK the 2xx, then hang up.
        inbound.push({ data: request('ACK', i, 1, true, null), peer: CALLER });
        inbound.push({ data: request('BYE', i, 2, true, null), peer: CALLER });
      } else if (m.cseq.method === 'BYE' && m.status === 200) done++;
    },
    close: () => Promise.resolve(),
  };

  const lease = new WorkerLease();
  if (relayMedia) lease.grant({ epoch: 0, address: RELAY_ADDRESS, units: Array.from({ length: calls }, (_, k) => ({ shard: 0, ports: [20_000 + 4 * (k % 5_000), 20_002 + 4 * (k % 5_000)] as const })) });
  const media: MediaHooks = {
    offer: (o) => Promise.resolve(lease.offer(o)?.outcome ?? null),
    answer: (o) => Promise.resolve(lease.answer(o)?.outcome ?? null),
    end: (callId) => lease.end(callId),
  };
  const capture = new CaptureBatchWriter(64 * 1024);
  const events = new EventStream();
  events.on((ev) => {
    if (ev.kind !== 'sip') return;
    capture.append(ev);
    if (capture.count >= 256) capture.discard();
  });
  const core = new ProxyCore({
    self: SELF,
    targets: [CALLEE],
    timers,
    timerHost: createManualTimerHost(),
    clock,
    events,
    drops: new DropCounters(),
    defer: (drain) => deferred.push(drain),
    media: () => (relayMedia ? media : null),
  });
  core.attach(transport, null);

  const settle = async () => {
    // Until nothing is left to deliver: answers produce requests, and the SDP hooks resolve in microtasks.
    for (let idle = 0; idle < 3; ) {
      if (inbound.length === 0 && deferred.length === 0) {
        idle++;
        await Promise.resolve();
        continue;
      }
      idle = 0;
      while (deferred.length > 0) deferred.shift()!();
      const batch = inbound.splice(0);
      for (const m of batch) core.receive(m.data, m.peer);
    }
  };
  try {
    for (let i = 0; i < calls && clock.monoMs() - t0 < BUDGET_MS; i += IN_FLIGHT) {
      for (let k = i; k < Math.min(calls, i + IN_FLIGHT); k++) core.receive(request('INVITE', k, 1, false, sdp(CALLER.host, 30_000 + 2 * (k % 10_000), k)), CALLER);
      await settle();
      // Let the thread's other work (its message port) run between rounds.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    core.detach();
    capture.discard();
  }
  return { calls: done, sdpRewritten, ms: Math.round(clock.monoMs() - t0) };
}
