/**
 * What the relay is handed for each SDP, and what it gives back: one shape
 * whether the SDP crossed our proxy (relay.ts offer/answer through the SIP
 * worker's media hooks, or rewritten by the worker itself on lent ports,
 * lease.ts) or came over NG.
 */
import type { SdpRef } from '../events';

export type { SdpRef } from '../events';

export interface MediaSdp {
  callId: string;
  /**
   * The From and To tags of the message carrying the SDP (over NG: the
   * command's from-tag and to-tag); the To-tag is null on an initial INVITE.
   */
  fromTag: string;
  toTag: string | null;
  sdp: string;
  /** The SIP message carrying it, for the ladder's link from a stream to its SDP; null over NG. */
  ref: SdpRef | null;
}

/** An SDP for the relay, and how it came: through our proxy, or over NG. */
export interface MediaRequest extends MediaSdp {
  via: 'sip' | 'ng';
}

/** The rewritten body, or a refusal with its reason (488 bad SDP, 503 no ports, 481 no session, 500 the relay failed). */
export type SdpOutcome = { ok: true; sdp: string } | { ok: false; status: 481 | 488 | 500 | 503; reason: string };

/**
 * The tag of the party that sent this SDP. A SIP request (INVITE, UPDATE,
 * ACK) comes from its From party and a response from its To party: a late
 * offer, in the 2xx to an INVITE without SDP, is the callee's. NG names the
 * sender the same way in its commands: an offer's from-tag is the
 * offerer's, an answer's to-tag the answerer's.
 */
export function senderTag(r: MediaRequest, kind: 'offer' | 'answer'): string | null {
  const inResponse = r.via === 'sip' ? r.ref !== null && r.ref.status !== null : kind === 'answer';
  return inResponse ? r.toTag : r.fromTag;
}
