/**
 * What the proxy core asks of the RTP relay when SDP crosses it, as
 * rtpengine's module asks rtpengine from a Kamailio script (rtpengine_offer /
 * rtpengine_answer / rtpengine_delete):
 * - an offer in a request (INVITE, re-INVITE, UPDATE) is rewritten before
 *   the request is forwarded — after the INVITE's 100 Trying, never before;
 * - an answer in a 18x or 2xx is rewritten before it is relayed upstream;
 * - a BYE, a CANCEL or a final error to the initial INVITE ends the session.
 * The relay lives on another thread, so each is a request that resolves
 * later; the core keeps a call's messages in order while it waits.
 * A late offer (an INVITE without SDP) is relayed the other way: the
 * callee's offer in the 18x/2xx is rewritten for the caller, and the
 * caller's answer in the ACK for the callee.
 */
import type { MediaSdp, SdpOutcome } from '../../rtp/media-sdp';
import type { SipMessage } from '../message';

export type { MediaSdp } from '../../rtp/media-sdp';

/**
 * The rewritten body; a refusal to send upstream (488 bad SDP, 503 no
 * ports); or null when the relay could not be asked (stopped, or no answer in
 * time): the message then goes on with its SDP untouched.
 */
export type MediaOutcome = SdpOutcome | null;

export type MediaEnd = 'bye' | 'cancel' | 'rejected';

export interface MediaHooks {
  offer(o: MediaSdp): Promise<MediaOutcome>;
  answer(o: MediaSdp): Promise<MediaOutcome>;
  end(callId: string, reason: MediaEnd): void;
}

/** Requests whose SDP is an offer the relay rewrites. */
const OFFER_METHODS = new Set(['INVITE', 'UPDATE']);

/** The SDP of a message (Content-Type application/sdp and a body), or null. */
export function sdpOf(msg: SipMessage): string | null {
  if (msg.body.length === 0) return null;
  const type = msg.header('Content-Type') ?? msg.header('c');
  if (!type || !/^\s*application\/sdp\s*(;|$)/i.test(type)) return null;
  return msg.body.toString('latin1');
}

/** The SDP of a message with the message's identity, or null when it has none (or no From-tag). */
function mediaSdpOf(msg: SipMessage, needsToTag: boolean): MediaSdp | null {
  const sdp = sdpOf(msg);
  if (sdp === null || !msg.from.tag || (needsToTag && !msg.to.tag)) return null;
  return { callId: msg.callId, fromTag: msg.from.tag, toTag: msg.to.tag ?? null, sdp, ref: { cseqSeq: msg.cseq.seq, cseqMethod: msg.cseq.method, status: msg.isRequest ? null : msg.status } };
}

/** A 18x or 2xx to an INVITE or UPDATE. */
const carriesSdpResponse = (msg: SipMessage) => !msg.isRequest && msg.status > 100 && msg.status < 300 && OFFER_METHODS.has(msg.cseq.method);

/** An offer the relay should see: SDP in an INVITE or UPDATE. */
export function offerOf(msg: SipMessage): MediaSdp | null {
  return msg.isRequest && OFFER_METHODS.has(msg.method) ? mediaSdpOf(msg, false) : null;
}

/** An answer the relay should see: SDP in a 18x or 2xx to an INVITE or UPDATE that carried an offer. */
export function answerOf(msg: SipMessage): MediaSdp | null {
  return carriesSdpResponse(msg) ? mediaSdpOf(msg, true) : null;
}

/** The callee's late offer: SDP in a 18x or 2xx to an INVITE that had none (RFC 3261 §13.2.1, RFC 3264 §5). */
export function lateOfferOf(msg: SipMessage): MediaSdp | null {
  return carriesSdpResponse(msg) && msg.cseq.method === 'INVITE' ? mediaSdpOf(msg, true) : null;
}

/** The caller's answer to a late offer: SDP in the ACK. */
export function ackAnswerOf(msg: SipMessage): MediaSdp | null {
  return msg.isRequest && msg.method === 'ACK' ? mediaSdpOf(msg, true) : null;
}
