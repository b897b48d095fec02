/**
 * The four incidents of the story (#16), each reproducible with one click:
 * what happened in production, what the reproduction sets up here (its bad
 * configuration, then the fix), what to look at, and pass/fail checks
 * evaluated live over the calls and figures since the current phase began.
 * Pure: the texts, and checks from figures the host measures (runner.ts).
 */
import type { SuspectId } from '../suspects';

export const INCIDENT_IDS = ['sync-publish', 'leaking-ports', 'slow-pcm-consumer', 'lossy-signalling'] as const;
export type IncidentId = (typeof INCIDENT_IDS)[number];
/** `bad`: the configuration that made the incident; `fixed`: the same traffic with the fix. */
export type IncidentPhase = 'bad' | 'fixed';

export interface IncidentInfo {
  id: IncidentId;
  title: string;
  /** The suspect this incident turns red (and only this one). */
  suspect: SuspectId;
  /** What happened in production, with its figures. */
  story: string;
  /** What the reproduction does in each phase. */
  bad: string;
  fixed: string;
  /** Where to look in the console. */
  lookAt: string[];
}

/** One live check: passes, fails, or cannot be judged yet (too few calls since the phase began). */
export interface IncidentCheck {
  label: string;
  value: string;
  pass: boolean | null;
  /** Where it is measured and over what. */
  where: string;
}

/**
 * What the host measures since the phase began (calls whose INVITE arrived
 * after it, and deltas of the engine's counters), for the checks.
 */
export interface PhaseFigures {
  seconds: number;
  /** Live calls whose first INVITE arrived in this phase. */
  calls: number;
  /** Of those, the calls whose INVITE arrived in the last `windowS`. */
  windowCalls: number;
  /** Of those, with a 100 Trying: its p99 (ms), null with none. Wire time when the wire tap is on, else the engine's (INVITE read → 100 sent, the wait on Redis included). */
  trying100P99Ms: number | null;
  trying100Where: 'wire' | 'engine';
  /** Calls with at least one retransmission, and retransmissions in all. */
  retransmittedCalls: number;
  retransmissions: number;
  /** Calls of the last `windowS` whose caller retransmitted its INVITE to us (its Timer A fired before a 100 Trying reached it). */
  inviteRetransmittedCalls: number;
  /** Calls that got a final response: 2xx, and 503 (the relay's pool exhausted or the proxy overloaded). */
  answered: number;
  refused503: number;
  /** Calls with a final response of any kind (the built-in callee's busy and no-answer count too). */
  ended: number;
  /** Calls placed long enough ago to have ended (8 s), and of those, the ended. */
  settled: number;
  settledEnded: number;
  /** Relay: the oldest live session (s), final-timeout (s, 0 = off), allocation failures over the last `windowS` of this phase, ports in use now and the pool. */
  oldestSessionS: number | null;
  finalTimeoutS: number;
  allocationFailures: number;
  /** The window failures and drops are judged over: the last 10 s of the phase, or all of it while it is younger. */
  windowS: number;
  portsInUse: number;
  portsTotal: number;
  /** Relay: packets it took in but could not send on (no peer, send errors) in this phase, and calls of this phase with media loss. */
  relayDropped: number;
  lossyCalls: number;
  /** Recorder's PCM forwarding over the last `windowS` of this phase: frames sent and dropped (null: not forwarding). */
  pcmFramesSent: number | null;
  pcmFramesDropped: number | null;
}

/** A check needs this many calls in its phase before it passes or fails. */
export const MIN_CALLS = 20;
/** Failures and drops are judged over the last this many seconds of a phase. */
export const WINDOW_S = 10;
/** The story's check. */
export const TRYING_CHECK_MS = 200;

export const INCIDENTS: Record<IncidentId, IncidentInfo> = {
  'sync-publish': {
    id: 'sync-publish',
    title: '1. Synchronous Redis publish',
    suspect: 'redis',
    story:
      'Production: each SIP worker published the call event to Redis and waited for the reply before it relayed the INVITE. With 640 pattern-subscribed connections (8 servers × 8 processes × a pool of 10), each PUBLISH cost Redis O(N+M); calls failed at 30 calls/s against a 100 calls/s requirement, INVITEs were retransmitted and 100 Trying came late. The process never saw it: the wait was before its own timers started. It is Little’s law: calls/s × the wait per publish against the workers that can wait. Kamailio with 4 children and a synchronous ndb_redis PUBLISH to the same 640 subscribers on this box: 100 Trying p99 78–174 ms at 300 calls/s (75 per child), and 61–71 % of calls failed at 1,000 calls/s (250 per child; ../shared/bench).',
    bad: '`inline` publish mode with one simulated SIP worker that waits for Redis, 640 pattern subscribers on call:* (their own thread, reading as fast as they can), built-in traffic offering 200 calls/s (at most 1,000 up at once) with SDP but no RTP (as SIPp in ../shared/bench: the incident is the signalling path’s). Why one worker at 200, not eight at 100: on this box’s loopback a PUBLISH to 641 connections waits ~5–7 ms, not the hundreds of ms production saw. Eight workers at 100 calls/s never fill (100 Trying p99 30–50 ms); one keeps up with 100 as well (57–83 % busy, p99 35–130 ms, nothing re-sent); offered 200 it cannot (1 ÷ 6 ms ≈ 170 INVITEs/s), as production’s workers could not at 30. The Redis suspect’s “simulated SIP workers busy” says which side of that line the box is on.',
    fixed:
      'Both halves of the production fix, with the same traffic: `pubsub+list`, so the SIP worker hands the event over and moves on; and the application’s 640 pattern subscriptions end, its one connection (the reference consumer) hears every call, and the call’s list keeps an event PUBLISH reached nobody with. Switch only the publish mode (settings) with the 640 still subscribed, and the calls recover as well, but Redis stays amber: every PUBLISH still reaches 641 connections, an O(N) that a fast Redis does not excuse.',
    lookAt: ['the Redis suspect: the simulated worker’s busy share (Little’s law measured: near 100 % it cannot keep up, and whether this box reproduces the incident shows there), its wait on Redis and the INVITEs retransmitted meanwhile; receivers per PUBLISH, 641 while the 640 are subscribed', 'a late call’s ladder: the publish lane’s arrow beside the late 100 Trying', 'the publish timings panel: percentiles and the inline workers'],
  },
  'leaking-ports': {
    id: 'leaking-ports',
    title: '2. Leaking relay ports',
    suspect: 'relay',
    story:
      'Production: all 25,000 rtpengine ports were taken. Every restart of the proxy lost the dialogs of the calls then up, so nothing ever deleted their media sessions, and with no final-timeout set they held their ports for ever. New calls failed. rtpengine on this box, driven the same way, keeps such sessions until its timeouts fire (../shared/bench/rtp).',
    bad: 'a pool of 64 port pairs, no-media timeout and silent-timeout longer than the run, final-timeout off; the proxy and the built-in endpoints restarted every few seconds while calls are up, so calls vanish without a BYE.',
    fixed: 'the relay’s timeouts on (no media for a few seconds closes a session; final-timeout on): the leaked sessions are reclaimed, new calls get ports.',
    lookAt: ['the RTP port pool panel: ports in use climbing to the pool, allocation failures, the oldest sessions', 'the Relay suspect', 'calls refused with 503 “relay port pool exhausted”'],
  },
  'slow-pcm-consumer': {
    id: 'slow-pcm-consumer',
    title: '3. Slow PCM consumer',
    suspect: 'recorder',
    story:
      'Production: the recorder forwarded each call’s PCM over TLS to an application that read slowly, and the relay seemed to stall with it; days went into the recorder before the cause was found elsewhere. Here the recorder’s forwarding never waits: frames the application cannot take are dropped and counted per connection, and the relay loses nothing.',
    bad: 'every call recorded (10 calls/s held 4 s), its PCM forwarded per leg to a local application that serves 8 connections at a time, reading 256 bytes a second, and turns the others away (the recorder queues 64 KiB per connection while it retries).',
    fixed: 'the same application reading at full speed, any number of connections.',
    lookAt: ['the recorder panel: forwarding connections, frames dropped, first byte', 'the Recorder suspect turns red; the Relay suspect stays green (relay loss 0)'],
  },
  'lossy-signalling': {
    id: 'lossy-signalling',
    title: '4. Lossy signalling',
    suspect: 'sip',
    story:
      'Every SIP network loses a datagram now and then; UDP SIP survives it by retransmission (RFC 3261 §17). The cost is time: a lost INVITE costs its caller T1 (500 ms), a lost 200 OK costs the callee T1 and the caller its setup time. The console must show each retransmission, per call, and tell loss apart from a slow proxy.',
    bad: '5 % of SIP datagrams dropped by the built-in endpoints, both ways.',
    fixed: 'no loss.',
    lookAt: ['the SIP path suspect: retransmissions/s', 'the calls list filtered to retransmitted calls; their ladders draw the retransmissions dashed', 'every call still completes'],
  },
};

const ms = (v: number) => `${v.toFixed(1)} ms`;
/** Enough to pass: the calls, and a whole window of the phase (failing needs neither). */
const enough = (f: PhaseFigures) => f.calls >= MIN_CALLS && f.windowS >= WINDOW_S;
const window = (f: PhaseFigures) => `the last ${Math.round(f.windowS)} s of this phase (${f.windowCalls} calls)`;
const since = (f: PhaseFigures) => `since this phase began (${Math.round(f.seconds)} s, ${f.calls} calls)`;

/** The checks of one incident over its phase's figures. */
export function checksOf(id: IncidentId, f: PhaseFigures): IncidentCheck[] {
  switch (id) {
    case 'sync-publish': {
      // Over the last 10 s, so the fix is judged on its own calls, not on what the bad phase left in flight.
      const judged = f.windowCalls >= MIN_CALLS && f.windowS >= WINDOW_S;
      const t = f.trying100P99Ms;
      return [
        {
          label: `100 Trying p99 < ${TRYING_CHECK_MS} ms`,
          value: t === null ? '—' : ms(t),
          pass: t === null || f.windowCalls < MIN_CALLS ? null : t >= TRYING_CHECK_MS ? false : judged ? true : null,
          where: `${f.trying100Where === 'wire' ? 'wire (dumpcap)' : 'engine, INVITE read → 100 Trying sent, the wait on Redis included'}, calls of ${window(f)}`,
        },
        { label: 'no INVITE retransmitted', value: `${f.inviteRetransmittedCalls} calls whose caller re-sent its INVITE`, pass: f.inviteRetransmittedCalls > 0 ? false : judged ? true : null, where: `engine, calls of ${window(f)}` },
      ];
    }
    case 'leaking-ports':
      return [
        {
          label: 'no session older than final-timeout',
          value: f.finalTimeoutS === 0 ? `final-timeout off; oldest ${f.oldestSessionS === null ? 'none' : `${Math.round(f.oldestSessionS)} s`}` : `oldest ${f.oldestSessionS === null ? 'none' : `${Math.round(f.oldestSessionS)} s`} of ${f.finalTimeoutS} s`,
          // With final-timeout off nothing bounds a session's life: the check cannot pass.
          pass: f.finalTimeoutS === 0 ? false : f.oldestSessionS === null || f.oldestSessionS <= f.finalTimeoutS,
          where: 'relay, now',
        },
        {
          label: 'no call refused for want of ports (last 10 s)',
          value: `${f.allocationFailures} allocation failures in the last ${Math.round(f.windowS)} s; ${f.refused503} calls refused with 503 ${since(f)}; ${f.portsInUse} of ${f.portsTotal} ports in use`,
          // Failing at once, passing only over a whole window.
          pass: f.allocationFailures > 0 ? false : enough(f) ? true : null,
          where: 'relay, allocation failures over the last 10 s of this phase',
        },
      ];
    case 'slow-pcm-consumer':
      return [
        { label: 'relay loss = 0', value: `${f.relayDropped} packets not relayed, ${f.lossyCalls} calls with media loss`, pass: f.relayDropped > 0 || f.lossyCalls > 0 ? false : enough(f) ? true : null, where: `relay (no peer, send errors) and its stream figures, ${since(f)}` },
        {
          label: 'every PCM frame reached the application (last 10 s)',
          value: f.pcmFramesSent === null ? 'not forwarding' : `${f.pcmFramesDropped} of ${f.pcmFramesSent + (f.pcmFramesDropped ?? 0)} frames dropped in the last ${Math.round(f.windowS)} s`,
          pass: f.pcmFramesSent === null || f.pcmFramesDropped === null ? null : f.pcmFramesDropped > 0 ? false : enough(f) ? true : null,
          where: "recorder's forwarding, over the last 10 s of this phase",
        },
      ];
    case 'lossy-signalling':
      return [
        { label: 'calls complete despite the loss', value: `${f.settledEnded} of ${f.settled} calls got a final response`, pass: f.settled >= MIN_CALLS ? f.settledEnded >= f.settled * 0.99 : null, where: `engine, calls ${since(f)} placed over 8 s ago (time for their retransmissions)` },
        { label: 'no retransmissions', value: `${f.retransmissions} retransmissions in ${f.retransmittedCalls} calls`, pass: f.retransmissions > 0 ? false : enough(f) ? true : null, where: `engine, calls ${since(f)}` },
      ];
  }
}

/** The incident's verdict: failing if any check fails, passing once all pass, else waiting. */
export function verdictOf(checks: readonly IncidentCheck[]): 'pass' | 'fail' | 'waiting' {
  if (checks.some((c) => c.pass === false)) return 'fail';
  return checks.every((c) => c.pass === true) ? 'pass' : 'waiting';
}
