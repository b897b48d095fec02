/**
 * Request validation, RFC 3261 §16.3, as a pure function: the six checks a
 * proxy makes before it forwards anything, whatever its routing. Each
 * refusal is a status and a reason phrase that names the fault, so the
 * ladder and the drops say why.
 */
import { parseUri, type SipMessage } from '../message';
import { loopCheck } from './loop-branch';

export interface Refusal {
  status: number;
  reason: string;
  headers?: ReadonlyArray<readonly [string, string]>;
}

/** What this proxy does itself: the Allow of its 200 to OPTIONS at Max-Forwards 0. */
export const ALLOWED_METHODS = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, UPDATE, INFO, REFER, NOTIFY, SUBSCRIBE, MESSAGE';

export interface ValidationContext {
  /** Our Via sent-by ("127.0.0.1:5060"). */
  selfSentBy: string;
  /** Whether initial requests go to configured targets (then a tel: Request-URI can be forwarded to them). */
  hasTargets: boolean;
}

/**
 * Null when the request may be forwarded; otherwise the response it gets.
 * (A 200 is the answer to an OPTIONS that may go no further, §16.3 step 3.)
 */
export function validateRequest(msg: SipMessage, c: ValidationContext): Refusal | null {
  // Step 1, reasonable syntax. The parser has refused what is malformed in
  // the fields every element reads (400 with a reason, parse.ts); what is
  // left is what a proxy needs to route: a Request-URI it can read. Any
  // absoluteURI is syntax; whether we understand its scheme is step 2.
  const text = (msg.uri ?? '').trim();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) return { status: 400, reason: 'Bad Request - Malformed Request-URI' };

  // Step 2, URI scheme check: "If the Request-URI has a URI whose scheme is not
  // understood by the proxy, the proxy SHOULD reject the request with a 416".
  // sip: always; tel: only when it goes to a configured target (a gateway),
  // since a tel: URI names no host; sips: needs TLS, which we do not offer.
  if (scheme !== 'sip' && !(scheme === 'tel' && c.hasTargets)) {
    const why = scheme === 'sips' ? 'sips Needs TLS, Not Offered Here' : scheme === 'tel' ? 'tel Needs A Configured Target' : schemeText(scheme);
    return { status: 416, reason: `Unsupported URI Scheme - ${why}` };
  }
  if (!parseUri(text)) return { status: 400, reason: `Bad Request - Malformed ${scheme === 'tel' ? 'tel' : 'SIP'} Request-URI` };

  // Step 3, Max-Forwards: "If the request does not contain a Max-Forwards header field, this check is passed."
  if (msg.maxForwards === 0) {
    // "...MAY act as the final recipient of the request and respond to OPTIONS."
    if (msg.method === 'OPTIONS') return { status: 200, reason: 'OK', headers: [['Allow', ALLOWED_METHODS]] };
    return { status: 483, reason: 'Too Many Hops' };
  }

  // Step 4, optional loop detection: a loop, not a spiral (loop-branch.ts).
  if (loopCheck(msg, c.selfSentBy) === 'loop') return { status: 482, reason: 'Loop Detected' };

  // Step 5, Proxy-Require: we support no extension, so any option tag is unsupported —
  // "the proxy MUST ... return a 420 (Bad Extension) response ... [with] an Unsupported header field".
  if (msg.hasHeader('proxy-require')) {
    const tags = msg.headerValues('proxy-require').map((t) => t.trim()).filter((t) => t.length > 0);
    if (tags.length > 0) return { status: 420, reason: 'Bad Extension', headers: [['Unsupported', tags.join(', ')]] };
  }

  // Step 6, Proxy-Authorization: "If an element requires credentials before
  // forwarding a request" — this proxy requires none, so there is nothing of
  // ours to inspect or remove; the field travels on unchanged.
  return null;
}

/** A scheme fit for a reason phrase (printable, short). */
function schemeText(scheme: string): string {
  return scheme.replace(/[^\w+.-]/g, '?').slice(0, 20) + ':';
}
