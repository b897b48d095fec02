/** What the proxy component starts its SIP worker with, and what it answers (engine/worker/protocol.ts carries both). */
import type { ClockOrigin } from '../../clock';
import type { NextHop } from '../../net/host-port';
import type { TimerValues } from '../transaction/timers';
import type { TcpLimitSettings } from '../transport/tcp-limits';
import type { MediaEnd, MediaSdp } from '../proxy/media';
import type { LeaseGrant, LeasedAnswer, LeasedOffer } from '../../rtp/lease';
import type { WarmUpResult } from './warm-up';

export interface SipWorkerStart {
  host: string;
  port: number;
  targets: NextHop[] | null;
  timers: TimerValues;
  /** Timer C, ms (RFC 3261 §16.6 step 11). */
  timerC: number;
  /** SIP/TCP connection bounds; null totals are derived from the process's descriptor limit (transport/tcp-limits.ts). */
  tcp: TcpLimitSettings;
  /**
   * `inline` publish mode: this many simulated SIP workers that each wait for
   * the publish reply of an initial INVITE before the core sees it
   * (inline-gate.ts); null in every other mode.
   */
  inlineWorkers: number | null;
  /** The RTP relay runs: SDP in offers and answers goes to it (through the main thread) before it is forwarded. */
  relayMedia: boolean;
  /** The main clock's origin, so both threads stamp alike (µs, one monotonic clock). */
  clockOrigin: ClockOrigin;
}

export interface SipWorkerReady {
  /** The port bound (UDP and TCP), which differs from the one asked for when that was 0. */
  port: number;
  /** The synthetic calls run before the bind (warm-up.ts). */
  warmUp: WarmUpResult;
}

/** What may change while the worker runs (the `configure` message): no restart, no lost transaction. */
export type SipWorkerSettings = Pick<SipWorkerStart, 'targets' | 'timers' | 'timerC' | 'inlineWorkers' | 'relayMedia'>;

/** What the SIP worker asks the main thread for (`request`), and waits on. */
export type SipWorkerRequest =
  /** `inline` publishing: the `new` event of this INVITE, published before it goes on. */
  | { kind: 'publish'; raw: Uint8Array; readUs: number }
  /** An offer or answer for the relay; answered with a MediaOutcome. */
  | { kind: 'media'; op: 'offer' | 'answer'; sdp: MediaSdp; /** An initial offer the worker's lease had too few units for (rtp/lease.ts `dry`). */ leaseDry?: boolean }
  /** The relay's session of a call ends (no answer needed). */
  | { kind: 'media'; op: 'end'; callId: string; reason: MediaEnd }
  /** An initial offer the worker rewrote and forwarded on lent relay ports (rtp/lease.ts; no answer needed). */
  | { kind: 'media'; op: 'leased-offer'; offer: LeasedOffer }
  /** The answer to a leased offer, rewritten and relayed by the worker (no answer needed). */
  | { kind: 'media'; op: 'leased-answer'; answer: LeasedAnswer };

/** What the main thread tells the SIP worker without waiting: relay ports lent to it, or taken back (an empty grant of a new epoch). */
export type SipWorkerTell = { kind: 'lease'; grant: LeaseGrant };
