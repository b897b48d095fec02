/**
 * Messages we originate from a received one: responses (RFC 3261 §8.2.6),
 * CANCEL (§9.1), ACK for a non-2xx final response (§17.1.1.3), and the 400
 * for a request that failed to parse. Copied header lines keep their bytes.
 */
import { assemble, bodyBytes, latin1Bytes } from './bytes';
import type { SipParseError } from './errors';
import { canonicalName, displayName } from './headers';
import { SPAN } from './message';
import type { SipMessage } from './message';
import { parseNameAddr } from './name-addr';

export interface ResponseExtras {
  /** To tag to add when the request's To has none (ignored for 100). RFC 3261 §8.2.6.2. */
  readonly toTag?: string;
  /** Extra header fields, written after the copied ones. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly body?: Buffer | string;
}

/**
 * A response to `request`: copies every Via (in order), From, To (adding the
 * tag if given and absent), Call-ID and CSeq, then extra headers and
 * Content-Length. RFC 3261 §8.2.6.2.
 */
export function buildResponse(request: SipMessage, status: number, reason: string, extras?: ResponseExtras): Buffer {
  const { names } = request.layout;
  let out = 'SIP/2.0 ' + status + ' ' + latin1Bytes(reason) + '\r\n';
  for (let i = 0; i < names.length; i++) if (names[i] === 'via') out += rawLine(request, i);
  out += rawLine(request, names.indexOf('from'));
  const to = names.indexOf('to');
  const tag = extras?.toTag;
  if (tag !== undefined && status > 100 && request.to.tag === undefined) {
    out += rawLineBody(request, to) + ';tag=' + latin1Bytes(tag) + '\r\n';
  } else out += rawLine(request, to);
  out += rawLine(request, names.indexOf('call-id'));
  out += rawLine(request, names.indexOf('cseq'));
  if (extras?.headers !== undefined) out += fieldLines(extras.headers);
  const body = extras?.body !== undefined ? bodyBytes(extras.body) : undefined;
  out += 'Content-Length: ' + (body?.length ?? 0) + '\r\n\r\n';
  return assemble(out, body);
}

/**
 * CANCEL for a request we sent. RFC 3261 §9.1: "The Request-URI, Call-ID,
 * To, the numeric part of CSeq, and From header fields in the CANCEL request
 * MUST be identical to those in the request being cancelled, including tags.
 * ... MUST have a single value in Via header field equal to the top Via
 * header field of the request being cancelled." Route fields are copied.
 */
export function buildCancel(request: SipMessage): Buffer {
  return buildSibling(request, request, 'CANCEL');
}

/**
 * ACK for a non-2xx final response, built by the client transaction.
 * RFC 3261 §17.1.1.3: Call-ID, From and Request-URI from the original
 * request, To from the response, a single Via equal to the request's top
 * Via, CSeq number from the request with method ACK, Route fields copied.
 */
export function buildAck(request: SipMessage, response: SipMessage): Buffer {
  return buildSibling(request, response, 'ACK');
}

function buildSibling(request: SipMessage, toSource: SipMessage, method: 'CANCEL' | 'ACK'): Buffer {
  const { names } = request.layout;
  let out = method + ' ' + request.layout.head.slice(request.layout.uriStart, request.layout.uriEnd) + ' SIP/2.0\r\n';
  out += 'Via: ' + request.topVia.raw + '\r\n';
  for (let i = 0; i < names.length; i++) if (names[i] === 'route') out += rawLine(request, i);
  out += 'Max-Forwards: 70\r\n';
  out += rawLine(request, names.indexOf('from'));
  out += rawLine(toSource, toSource.layout.names.indexOf('to'));
  out += rawLine(request, names.indexOf('call-id'));
  out += 'CSeq: ' + request.cseq.seq + ' ' + method + '\r\n';
  out += 'Content-Length: 0\r\n\r\n';
  return assemble(out);
}

/**
 * The response for a request that failed to parse, when one is possible
 * (error.reply is set: a request other than ACK with a usable top Via).
 * Status and phrase come from the error (400 or 505).
 */
export function buildErrorResponse(error: SipParseError, toTag?: string): Buffer | undefined {
  const r = error.reply;
  if (r === undefined) return undefined;
  let out = 'SIP/2.0 ' + error.status + ' ' + error.phrase + '\r\n';
  for (const v of r.vias) out += 'Via: ' + latin1Bytes(v) + '\r\n';
  if (r.from !== undefined) out += 'From: ' + latin1Bytes(r.from) + '\r\n';
  if (r.to !== undefined) {
    const hasTag = parseNameAddr(r.to)?.tag !== undefined;
    out += 'To: ' + latin1Bytes(r.to) + (toTag !== undefined && !hasTag ? ';tag=' + latin1Bytes(toTag) : '') + '\r\n';
  }
  if (r.callId !== undefined) out += 'Call-ID: ' + latin1Bytes(r.callId) + '\r\n';
  if (r.cseq !== undefined) out += 'CSeq: ' + latin1Bytes(r.cseq) + '\r\n';
  out += 'Content-Length: 0\r\n\r\n';
  return assemble(out);
}

function fieldLines(fields: ReadonlyArray<readonly [string, string]>): string {
  let out = '';
  for (const [n, v] of fields) out += displayName(canonicalName(n)) + ': ' + latin1Bytes(v) + '\r\n';
  return out;
}

/** Header line i as written (folding kept, trailing whitespace dropped) plus CRLF; '' when i < 0. */
function rawLine(msg: SipMessage, i: number): string {
  return i < 0 ? '' : rawLineBody(msg, i) + '\r\n';
}

function rawLineBody(msg: SipMessage, i: number): string {
  const { head, spans } = msg.layout;
  return head.slice(spans[i * SPAN] as number, spans[i * SPAN + 2] as number);
}
