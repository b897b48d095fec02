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
import { SPAN, SipMessage, decodeValue } from './message';
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

  // End of the header section: the first empty line (CRLF or bare LF).
  let headEnd = len;
  let bodyStart = len;
  let lf = buf.indexOf(LF, p);
  while (lf >= 0) {
    const n = buf[lf + 1];
    if (n === LF) {
      headEnd = lf + 1;
      bodyStart = lf + 2;
      break;
    }
    if (n === CR && buf[lf + 2] === LF) {
      headEnd = lf + 1;
      bodyStart = lf + 3;
      break;
    }
    lf = buf.indexOf(LF, lf + 1);
  }
  if (stream && headEnd === len) return fail('incomplete', 'Bad Request - Incomplete Header Section');
  const head = buf.toString('latin1', 0, headEnd);

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
  if (head.startsWith('SIP/', p) || head.slice(p, p + 4).toUpperCase() === 'SIP/') {
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
      const reason = codeEnd < slEnd ? buf.toString('utf8', codeEnd + 1, slEnd) : '';
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

  const span = (i: number, k: number): number => spans[i * SPAN + k] as number;

  // ---- top Via: needed both to accept and to answer a bad request
  let topVia: Via | undefined;
  if (iVia >= 0) {
    const vs = span(iVia, 1);
    topVia = parseViaValue(head, vs, firstItemEnd(head, vs, span(iVia, 2)));
  }

  const error = (reason: SipParseReason, phrase: string, status = 400): ParseResult => {
    let reply: ErrorReplyParts | undefined;
    if (isRequest === true && method !== 'ACK' && topVia !== undefined) {
      const vias: string[] = [];
      for (let i = 0; i < names.length; i++) if (names[i] === 'via') vias.push(decodeValue(buf, spans, i));
      const val = (i: number): string | undefined => (i < 0 ? undefined : decodeValue(buf, spans, i));
      reply = { vias, from: val(iFrom), to: val(iTo), callId: val(iCallId), cseq: val(iCSeq) };
    }
    return {
      ok: false,
      error: parseError(reason, phrase, { status, isRequest, method, topVia: topVia?.raw, reply }),
    };
  };

  if (startError !== undefined) return error(startError, startPhrase, startStatus);
  if (badHeader) return error('bad-header', 'Bad Request - Malformed Header Line');
  if (iVia < 0) return error('missing-header', 'Bad Request - Missing Via');
  if (topVia === undefined) return error('bad-via', 'Bad Request - Malformed Via');
  if (iFrom < 0) return error('missing-header', 'Bad Request - Missing From');
  if (iTo < 0) return error('missing-header', 'Bad Request - Missing To');
  if (iCallId < 0) return error('missing-header', 'Bad Request - Missing Call-ID');
  if (iCSeq < 0) return error('missing-header', 'Bad Request - Missing CSeq');

  const cseq: CSeq | undefined = parseCSeq(head, span(iCSeq, 1), span(iCSeq, 2));
  if (cseq === undefined) return error('bad-cseq', 'Bad Request - Malformed CSeq');
  if (isRequest && cseq.method !== method) return error('cseq-method-mismatch', 'Bad Request - CSeq Method Does Not Match Request-Line');

  const callIdStart = span(iCallId, 1);
  const callIdEnd = span(iCallId, 2);
  if (callIdEnd <= callIdStart || hasWs(head, callIdStart, callIdEnd)) return error('bad-call-id', 'Bad Request - Malformed Call-ID');
  const callId = head.slice(callIdStart, callIdEnd);

  let maxForwards: number | undefined;
  if (iMaxFwd >= 0) {
    const mf = parseDigits(head, span(iMaxFwd, 1), span(iMaxFwd, 2));
    if (mf < 0) return error('bad-max-forwards', 'Bad Request - Malformed Max-Forwards');
    maxForwards = mf;
  }

  let contentLength: number | undefined;
  let bodyEnd = len;
  if (iCl >= 0) {
    const cl = parseDigits(head, span(iCl, 1), span(iCl, 2));
    if (cl < 0) return error('bad-content-length', 'Bad Request - Malformed Content-Length');
    if (clConflict) {
      for (let i = iCl + 1; i < names.length; i++) {
        if (names[i] === 'content-length' && parseDigits(head, span(i, 1), span(i, 2)) !== cl) {
          return error('bad-content-length', 'Bad Request - Conflicting Content-Length');
        }
      }
    }
    // RFC 3261 §18.3: "If the transport packet ends before the end of the
    // message body, this is considered an error. If the message is a
    // response, it MUST be discarded. If the message is a request, the
    // element SHOULD generate a 400 (Bad Request) response." Extra bytes are
    // discarded (the body is truncated to Content-Length).
    if (cl > len - bodyStart) return error('content-length-mismatch', 'Bad Request - Content-Length Exceeds Body');
    contentLength = cl;
    bodyEnd = bodyStart + cl;
  } else if (stream) {
    // RFC 3261 §18.3: "the Content-Length header field MUST be used with stream oriented transports."
    return error('missing-header', 'Bad Request - Missing Content-Length');
  }

  const from = parseNameAddr(decodeValue(buf, spans, iFrom));
  if (from === undefined) return error('bad-from', 'Bad Request - Malformed From');
  const to = parseNameAddr(decodeValue(buf, spans, iTo));
  if (to === undefined) return error('bad-to', 'Bad Request - Malformed To');

  if (startLine === undefined) return error('bad-start-line', 'Bad Request - Malformed Start-Line');
  const layout: Layout = { buf, head, start: p, startLineEnd, uriStart, uriEnd, headEnd, bodyStart, bodyEnd, names, spans };
  return {
    ok: true,
    msg: new SipMessage(startLine, layout, { callId, cseq, topVia, from, to, maxForwards, contentLength }),
  };
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

function hasWs(s: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) if (isWs(s.charCodeAt(i))) return true;
  return false;
}
