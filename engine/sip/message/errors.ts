/**
 * Parse failures are values, never exceptions. Each carries a machine reason
 * (for drop counters), the SIP status and a precise reason phrase for the
 * response, and whatever was recovered to build that response.
 */

export type SipParseReason =
  | 'empty'
  | 'too-large'
  | 'bad-start-line'
  | 'bad-version'
  | 'bad-header'
  | 'missing-header'
  | 'bad-content-length'
  | 'content-length-mismatch'
  | 'bad-cseq'
  | 'cseq-method-mismatch'
  | 'bad-via'
  | 'bad-from'
  | 'bad-to'
  | 'bad-call-id'
  | 'bad-max-forwards'
  | 'incomplete'
  | 'internal';

export interface SipParseError {
  readonly reason: SipParseReason;
  /** Status to answer with when the request is answerable: 400, or 505 for an unsupported SIP version. */
  readonly status: number;
  /** Precise reason phrase, e.g. `Bad Request - Missing Call-ID`. Safe to put on a status line. */
  readonly phrase: string;
  /** Whether the start line looked like a request (undefined when unknown). */
  readonly isRequest: boolean | undefined;
  /** Request method when the start line yielded one. */
  readonly method: string | undefined;
  /** Raw first via-parm of the first Via header, when it parsed (so we know where to answer). */
  readonly topVia: string | undefined;
  /**
   * What a 400 needs (RFC 3261 §8.2.6.2), as raw field values: set only when
   * the message is an answerable request (not ACK) whose top Via parsed.
   */
  readonly reply: ErrorReplyParts | undefined;
}

export interface ErrorReplyParts {
  /** Every Via field value, top first. */
  readonly vias: readonly string[];
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly callId: string | undefined;
  readonly cseq: string | undefined;
}

/** The largest message we accept (bytes). Larger ones are dropped with reason 'too-large'. */
export const MAX_MESSAGE_BYTES = 65536;

export function parseError(
  reason: SipParseReason,
  phrase: string,
  extra?: { status?: number; isRequest?: boolean; method?: string; topVia?: string; reply?: ErrorReplyParts },
): SipParseError {
  return {
    reason,
    status: extra?.status ?? 400,
    phrase,
    isRequest: extra?.isRequest,
    method: extra?.method,
    topVia: extra?.topVia,
    reply: extra?.reply,
  };
}
