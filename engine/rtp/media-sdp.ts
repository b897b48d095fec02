/**
 * What the proxy hands the relay for each SDP it forwards, and what it gets
 * back: one shape whether the relay's thread answers (relay.ts offer/answer,
 * through the SIP worker's media hooks) or the worker rewrites it itself on
 * lent ports (lease.ts).
 */

export interface MediaSdp {
  callId: string;
  /** The From and To tags of the message, as NG's `from-tag` and `to-tag` carry them (the To-tag is null on an initial INVITE). */
  fromTag: string;
  toTag: string | null;
  sdp: string;
  /** The SIP message carrying it, for the ladder's link from a stream to its SDP. */
  cseqSeq: number;
  cseqMethod: string;
  status: number | null;
}

/** The rewritten body, or a refusal to send upstream (488 bad SDP, 503 no ports) with its reason. */
export type SdpOutcome = { ok: true; sdp: string } | { ok: false; status: number; reason: string };
