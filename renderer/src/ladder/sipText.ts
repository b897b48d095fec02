/**
 * Splits a raw SIP message into what the message view highlights: the start
 * line (request or status), header lines as name/value with the dialog- and
 * transaction-identifying ones (Via, From, To, Call-ID, CSeq) marked, and the
 * body — split into SDP lines when the body is SDP.
 *
 * Pure and DOM-free; tolerant of anything (a malformed line is kept as text,
 * never dropped), because the view shows what was on the wire.
 */

export type StartLine =
  | { kind: 'request'; method: string; uri: string; version: string }
  | { kind: 'status'; version: string; status: string; reason: string }
  | { kind: 'other'; text: string };

export interface HeaderLine {
  /** Header name as written (compact forms included), or '' for a folded continuation line. */
  name: string;
  /** Everything after the colon, leading whitespace kept in `sep`. */
  sep: string;
  value: string;
  /** Via, From, To, Call-ID, CSeq (or their compact forms): drawn emphasised. */
  key: boolean;
  /** A folded continuation of the previous header (RFC 3261 §7.3.1: lines starting with whitespace). */
  continuation: boolean;
}

export interface SdpLine {
  /** The one-letter type before '=' ('v', 'o', 'm', 'c', 'a', ...), or '' when the line is not `x=...`. */
  type: string;
  value: string;
  /** m=, c= and a= lines: drawn highlighted. */
  key: boolean;
}

export interface TokenizedSip {
  start: StartLine;
  headers: HeaderLine[];
  /** Body lines as text ('' when the message has no body). */
  body: string;
  /** The body as SDP lines when it is SDP (Content-Type application/sdp, or it starts with "v=0"); otherwise null. */
  sdp: SdpLine[] | null;
}

/** RFC 3261 §7.3.3 compact forms of the emphasised headers: v Via, f From, t To, i Call-ID. */
const KEY_HEADERS = new Set(['via', 'v', 'from', 'f', 'to', 't', 'call-id', 'i', 'cseq']);
const SDP_KEY_TYPES = new Set(['m', 'c', 'a']);

export function isKeyHeader(name: string): boolean {
  return KEY_HEADERS.has(name.trim().toLowerCase());
}

export function parseStartLine(line: string): StartLine {
  const status = /^(SIP\/\d+\.\d+)\s+(\d{3})(?:\s+(.*))?$/.exec(line);
  if (status) return { kind: 'status', version: status[1]!, status: status[2]!, reason: status[3] ?? '' };
  const request = /^([A-Za-z][A-Za-z0-9.!%*_+`'~-]*)\s+(\S+)\s+(SIP\/\d+\.\d+)$/.exec(line);
  if (request) return { kind: 'request', method: request[1]!, uri: request[2]!, version: request[3]! };
  return { kind: 'other', text: line };
}

export function tokenizeSdp(body: string): SdpLine[] {
  const lines = splitLines(body);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => {
    const m = /^([a-zA-Z])=(.*)$/.exec(l);
    if (!m) return { type: '', value: l, key: false };
    return { type: m[1]!, value: m[2]!, key: SDP_KEY_TYPES.has(m[1]!) };
  });
}

export function tokenizeSip(raw: string): TokenizedSip {
  const text = raw.replace(/\r\n/g, '\n');
  const blank = text.indexOf('\n\n');
  const head = blank === -1 ? text.replace(/\n$/, '') : text.slice(0, blank);
  const body = blank === -1 ? '' : text.slice(blank + 2);
  const [first = '', ...rest] = head.split('\n');
  const headers: HeaderLine[] = rest.map((line) => {
    if (/^[ \t]/.test(line)) return { name: '', sep: '', value: line, key: false, continuation: true };
    const m = /^([^:\s][^:]*?)(\s*:\s*)(.*)$/.exec(line);
    if (!m) return { name: '', sep: '', value: line, key: false, continuation: false };
    return { name: m[1]!, sep: m[2]!, value: m[3]!, key: isKeyHeader(m[1]!), continuation: false };
  });
  // A continuation inherits the emphasis of the header it continues.
  for (let i = 1; i < headers.length; i++) if (headers[i]!.continuation) headers[i]!.key = headers[i - 1]!.key;
  const contentType = headers.find((h) => !h.continuation && /^(content-type|c)$/i.test(h.name))?.value ?? '';
  const isSdp = body.trim() !== '' && (/^application\/sdp\b/i.test(contentType.trim()) || /^v=0\s*$/m.test(splitLines(body)[0] ?? ''));
  return { start: parseStartLine(first), headers, body, sdp: isSdp ? tokenizeSdp(body) : null };
}

function splitLines(s: string): string[] {
  return s.replace(/\r\n/g, '\n').split('\n');
}
