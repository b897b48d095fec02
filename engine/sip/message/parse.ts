/**
 * parseMessage: one pass over the header section finds the start line and
 * every header line (unfolding continuations), then validates the fields a
 * proxy needs (RFC 3261 §8.2.2, §16.3, §18.3). Never throws.
 */
import { canonicalName, firstItemEnd, isToken, isWs } from './headers';
import { MAX_MESSAGE_BYTES, parseError } from './errors';
import type { ErrorReplyParts, SipParseError, SipParseReason } from './errors';
import { parseCSeq, parseDigits } from './fields';
import type { CSeq } from './fields';
import { SPAN, SipMessage, decodeValue, textAt } from './message';
import type { Layout, StartLine } from './message';
import { parseNameAddr } from './name-addr';
import { parseViaValue } from './via';
import type { Via } from './via';

export type ParseResult = { readonly ok: true; readonly msg: SipMessage } | { readonly ok: false; readonly error: SipParseError };

export interface ParseOptions {
  /**
   * Stream transport (TCP/TLS/WS framing by Content-Length): Content-Length is
   * mandatory and the header section must end with an empty line. RFC 3261 §18.3.
   */
  readonly stream?: boolean;
}

const CR = 0x0d;
const LF = 0x0a;
const CRLFCRLF = Buffer.from('\r\n\r\n');

export function parseMessage(buf: Buffer, opts?: ParseOptions): ParseResult {
  try {
    return parse(buf, opts?.stream === true);
  } catch {
    // Backstop only: the fuzz test asserts this reason never occurs.
    return { ok: false, error: parseError('internal', 'Bad Request - Unparseable Message') };
  }
}

function fail(reason: SipParseReason, phrase: string, status = 400): ParseResult {
  return { ok: false, error: parseError(reason, phrase, { status }) };
}

function parse(buf: Buffer, stream: boolean): ParseResult {
  const len = buf.length;
  if (len > MAX_MESSAGE_BYTES) return fail('too-large', 'Message Too Large', 513);
  // RFC 3261 §7.5: "implementations processing SIP messages over
  // stream-oriented transports MUST ignore any CRLF appearing before the
  // start-line". Datagrams get the same tolerance (keepalives).
  let p = 0;
  while (p < len && (buf[p] === CR || buf[p] === LF)) p++;
  if (p >= len) return fail('empty', 'Empty Message');

  // End of the header section: the first empty line. The usual CRLFCRLF is
  // found with one native search; bare-LF line ends are handled on the string.
  let headEnd = len;
  let bodyStart = len;
  const crlf2 = buf.indexOf(CRLFCRLF, p);
  let head = buf.toString('latin1', 0, crlf2 < 0 ? len : crlf2 + 2);
  const lflf = head.indexOf('\n\n', p);
  const lfcrlf = head.indexOf('\n\r\n', p);
  if (lflf >= 0 && (lfcrlf < 0 || lflf < lfcrlf)) {
    headEnd = lflf + 1;
    bodyStart = lflf + 2;
  } else if (lfcrlf >= 0) {
    headEnd = lfcrlf + 1;
    bodyStart = lfcrlf + 3;
  } else if (crlf2 >= 0) {
    headEnd = crlf2 + 2;
    bodyStart = crlf2 + 4;
  }
  if (head.length > headEnd) head = head.slice(0, headEnd);

  // ---- start line
  let sl = head.indexOf('\n', p);
  const startLineEnd = sl < 0 ? headEnd : sl + 1;
  if (sl < 0) sl = headEnd;
  const slEnd = sl > p && head.charCodeAt(sl - 1) === CR ? sl - 1 : sl;
  let startLine: StartLine | undefined;
  let uriStart = 0;
  let uriEnd = 0;
  let startError: SipParseReason | undefined;
  let startPhrase = '';
  let startStatus = 400;
  let isRequest: boolean | undefined;
  let method: string | undefined;
  const sp1 = head.indexOf(' ', p);
  if (isSipSlash(head, p)) {
    isRequest = false;
    const sp2 = sp1 < 0 || sp1 >= slEnd ? -1 : head.indexOf(' ', sp1 + 1);
    const codeEnd = sp2 < 0 || sp2 > slEnd ? slEnd : sp2;
    const status = sp1 < 0 || sp1 >= slEnd || codeEnd - sp1 !== 4 ? -1 : parseDigits(head, sp1 + 1, codeEnd);
    if (status < 100 || status > 699) {
      startError = 'bad-start-line';
      startPhrase = 'Bad Request - Malformed Status-Line';
    } else if (head.slice(p, sp1).toUpperCase() !== 'SIP/2.0') {
      startError = 'bad-version';
      startPhrase = 'SIP Version Not Supported';
      startStatus = 505;
    } else {
      const reason = codeEnd < slEnd ? textAt(buf, head, codeEnd + 1, slEnd) : '';
      startLine = { kind: 'response', status, reason, version: 'SIP/2.0' };
    }
  } else {
    const sp2 = sp1 < 0 || sp1 >= slEnd ? -1 : head.indexOf(' ', sp1 + 1);
    if (sp1 > p && isToken(head, p, sp1)) {
      isRequest = true;
      method = head.slice(p, sp1);
    }
    if (method === undefined || sp2 < 0 || sp2 >= slEnd || !isRequestUri(head, sp1 + 1, sp2)) {
      startError = 'bad-start-line';
      startPhrase = 'Bad Request - Malformed Request-Line';
    } else {
      const version = head.slice(sp2 + 1, slEnd);
      if (version.toUpperCase() !== 'SIP/2.0') {
        if (/^SIP\/[0-9]+\.[0-9]+$/i.test(version)) {
          startError = 'bad-version';
          startPhrase = 'SIP Version Not Supported';
          startStatus = 505;
        } else {
          startError = 'bad-start-line';
          startPhrase = 'Bad Request - Malformed Request-Line';
        }
      } else {
        uriStart = sp1 + 1;
        uriEnd = sp2;
        startLine = { kind: 'request', method, uri: head.slice(uriStart, uriEnd), version: 'SIP/2.0' };
      }
    }
  }
  if (isRequest === undefined) return fail('bad-start-line', 'Bad Request - Malformed Start-Line');

  // ---- header lines
  const names: string[] = [];
  const spans: number[] = [];
  let badHeader = false;
  let iVia = -1;
  let iCallId = -1;
  let iCSeq = -1;
  let iFrom = -1;
  let iTo = -1;
  let iMaxFwd = -1;
  let iCl = -1;
  let clConflict = false;
  let pos = startLineEnd;
  while (pos < headEnd) {
    let nl = head.indexOf('\n', pos);
    if (nl < 0) nl = headEnd;
    const lineEnd = nl < headEnd ? nl + 1 : headEnd;
    let contentEnd = nl;
    while (contentEnd > pos && isWs(head.charCodeAt(contentEnd - 1))) contentEnd--;
    const c0 = head.charCodeAt(pos);
    if (c0 === 0x20 || c0 === 0x09) {
      // RFC 3261 §7.3.1: a line starting with whitespace continues the previous header.
      const b = spans.length - SPAN;
      if (b < 0) badHeader = true;
      else if (contentEnd > pos) {
        if (spans[b + 2] === spans[b + 1]) {
          let vs = pos;
          while (vs < contentEnd && isWs(head.charCodeAt(vs))) vs++;
          spans[b + 1] = vs;
        } else spans[b + 4] = 1;
        spans[b + 2] = contentEnd;
      }
      if (b >= 0) spans[b + 3] = lineEnd;
      pos = lineEnd;
      continue;
    }
    const colon = head.indexOf(':', pos);
    let nameEnd = colon;
    while (nameEnd > pos && (head.charCodeAt(nameEnd - 1) === 0x20 || head.charCodeAt(nameEnd - 1) === 0x09)) nameEnd--;
    if (colon < 0 || colon >= nl || !isToken(head, pos, nameEnd)) {
      badHeader = true;
      pos = lineEnd;
      continue;
    }
    let vs = colon + 1;
    while (vs < contentEnd && (head.charCodeAt(vs) === 0x20 || head.charCodeAt(vs) === 0x09)) vs++;
    const name = canonicalName(head.slice(pos, nameEnd));
    const idx = names.length;
    names.push(name);
    spans.push(pos, vs, contentEnd < vs ? vs : contentEnd, lineEnd, 0);
    switch (name) {
      case 'via':
        if (iVia < 0) iVia = idx;
        break;
      case 'call-id':
        if (iCallId < 0) iCallId = idx;
        break;
      case 'cseq':
        if (iCSeq < 0) iCSeq = idx;
        break;
      case 'from':
        if (iFrom < 0) iFrom = idx;
        break;
      case 'to':
        if (iTo < 0) iTo = idx;
        break;
      case 'max-forwards':
        if (iMaxFwd < 0) iMaxFwd = idx;
        break;
      case 'content-length':
        if (iCl < 0) iCl = idx;
        else clConflict = true;
        break;
    }
    pos = lineEnd;
  }

  // ---- top Via: needed both to accept and to answer a bad request
  let topVia: Via | undefined;
  if (iVia >= 0) {
    const vs = sp(spans, iVia, 1);
    topVia = parseViaValue(head, vs, firstItemEnd(head, vs, sp(spans, iVia, 2)));
  }

  const ctx: ErrorContext = { buf, head, names, spans, isRequest, method, topVia, iFrom, iTo, iCallId, iCSeq };

  if (startError !== undefined) return recoverable(ctx, startError, startPhrase, startStatus);
  if (badHeader) return recoverable(ctx, 'bad-header', 'Bad Request - Malformed Header Line');
  if (iVia < 0) return recoverable(ctx, 'missing-header', 'Bad Request - Missing Via');
  if (topVia === undefined) return recoverable(ctx, 'bad-via', 'Bad Request - Malformed Via');
  if (iFrom < 0) return recoverable(ctx, 'missing-header', 'Bad Request - Missing From');
  if (iTo < 0) return recoverable(ctx, 'missing-header', 'Bad Request - Missing To');
  if (iCallId < 0) return recoverable(ctx, 'missing-header', 'Bad Request - Missing Call-ID');
  if (iCSeq < 0) return recoverable(ctx, 'missing-header', 'Bad Request - Missing CSeq');

  const cseq: CSeq | undefined = parseCSeq(head, sp(spans, iCSeq, 1), sp(spans, iCSeq, 2));
  if (cseq === undefined) return recoverable(ctx, 'bad-cseq', 'Bad Request - Malformed CSeq');
  if (isRequest && cseq.method !== method) return recoverable(ctx, 'cseq-method-mismatch', 'Bad Request - CSeq Method Does Not Match Request-Line');

  const callIdStart = sp(spans, iCallId, 1);
  const callIdEnd = sp(spans, iCallId, 2);
  if (callIdEnd <= callIdStart || hasWs(head, callIdStart, callIdEnd)) return recoverable(ctx, 'bad-call-id', 'Bad Request - Malformed Call-ID');
  const callId = head.slice(callIdStart, callIdEnd);

  let maxForwards: number | undefined;
  if (iMaxFwd >= 0) {
    const mf = parseDigits(head, sp(spans, iMaxFwd, 1), sp(spans, iMaxFwd, 2));
    if (mf < 0) return recoverable(ctx, 'bad-max-forwards', 'Bad Request - Malformed Max-Forwards');
    maxForwards = mf;
  }

  let contentLength: number | undefined;
  let bodyEnd = len;
  if (iCl >= 0) {
    const cl = parseDigits(head, sp(spans, iCl, 1), sp(spans, iCl, 2));
    if (cl < 0) return recoverable(ctx, 'bad-content-length', 'Bad Request - Malformed Content-Length');
    if (clConflict) {
      for (let i = iCl + 1; i < names.length; i++) {
        if (names[i] === 'content-length' && parseDigits(head, sp(spans, i, 1), sp(spans, i, 2)) !== cl) {
          return recoverable(ctx, 'bad-content-length', 'Bad Request - Conflicting Content-Length');
        }
      }
    }
    // RFC 3261 §18.3: "If the transport packet ends before the end of the
    // message body, this is considered an error. If the message is a
    // response, it MUST be discarded. If the message is a request, the
    // element SHOULD generate a 400 (Bad Request) response." Extra bytes are
    // discarded (the body is truncated to Content-Length).
    if (cl > len - bodyStart) return recoverable(ctx, 'content-length-mismatch', 'Bad Request - Content-Length Exceeds Body');
    contentLength = cl;
    bodyEnd = bodyStart + cl;
  } else if (stream) {
    // RFC 3261 §18.3: "the Content-Length header field MUST be used with stream oriented transports."
    return recoverable(ctx, 'missing-header', 'Bad Request - Missing Content-Length');
  }

  const from = parseNameAddr(decodeValue(buf, head, spans, iFrom));
  if (from === undefined) return recoverable(ctx, 'bad-from', 'Bad Request - Malformed From');
  const to = parseNameAddr(decodeValue(buf, head, spans, iTo));
  if (to === undefined) return recoverable(ctx, 'bad-to', 'Bad Request - Malformed To');

  if (startLine === undefined) return recoverable(ctx, 'bad-start-line', 'Bad Request - Malformed Start-Line');
  const layout: Layout = { buf, head, start: p, startLineEnd, uriStart, uriEnd, headEnd, bodyStart, bodyEnd, names, spans };
  return {
    ok: true,
    msg: new SipMessage(startLine, layout, { callId, cseq, topVia, from, to, maxForwards, contentLength }),
  };
}

interface ErrorContext {
  readonly buf: Buffer;
  readonly head: string;
  readonly names: readonly string[];
  readonly spans: readonly number[];
  readonly isRequest: boolean;
  readonly method: string | undefined;
  readonly topVia: Via | undefined;
  readonly iFrom: number;
  readonly iTo: number;
  readonly iCallId: number;
  readonly iCSeq: number;
}

/**
 * A parse error carrying what is needed to answer it: set only for a request
 * other than ACK whose top Via parsed (RFC 3261 §17.1.1.3: ACK is never answered).
 */
function recoverable(c: ErrorContext, reason: SipParseReason, phrase: string, status = 400): ParseResult {
  let reply: ErrorReplyParts | undefined;
  if (c.isRequest && c.method !== 'ACK' && c.topVia !== undefined) {
    const vias: string[] = [];
    for (let i = 0; i < c.names.length; i++) if (c.names[i] === 'via') vias.push(decodeValue(c.buf, c.head, c.spans, i));
    reply = {
      vias,
      from: optValue(c, c.iFrom),
      to: optValue(c, c.iTo),
      callId: optValue(c, c.iCallId),
      cseq: optValue(c, c.iCSeq),
    };
  }
  return {
    ok: false,
    error: parseError(reason, phrase, { status, isRequest: c.isRequest, method: c.method, topVia: c.topVia?.raw, reply }),
  };
}

function optValue(c: ErrorContext, i: number): string | undefined {
  return i < 0 ? undefined : decodeValue(c.buf, c.head, c.spans, i);
}

function sp(spans: readonly number[], i: number, k: number): number {
  return spans[i * SPAN + k] as number;
}

/** Request-URI: non-empty, `scheme:` prefix, no whitespace or control characters. */
function isRequestUri(s: string, a: number, b: number): boolean {
  if (b <= a) return false;
  let colon = false;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
    if (c === 0x3a && i > a) colon = true;
  }
  return colon;
}

/** `SIP/` at i, case-insensitively. */
function isSipSlash(s: string, i: number): boolean {
  return (s.charCodeAt(i) | 0x20) === 0x73 && (s.charCodeAt(i + 1) | 0x20) === 0x69 && (s.charCodeAt(i + 2) | 0x20) === 0x70 && s.charCodeAt(i + 3) === 0x2f;
}

function hasWs(s: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) if (isWs(s.charCodeAt(i))) return true;
  return false;
}
