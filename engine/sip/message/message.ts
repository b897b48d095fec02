/**
 * A parsed SIP message: the original bytes plus the offsets of the start line
 * and every header line. Header values are decoded only when asked for; the
 * mandatory fields validated by `parseMessage` are handed in already parsed.
 */
import { canonicalName, isListHeader, splitList, unfold } from './headers';
import type { CSeq } from './fields';
import type { NameAddr } from './name-addr';
import { parseViaValue } from './via';
import type { Via } from './via';

export interface RequestLine {
  readonly kind: 'request';
  readonly method: string;
  readonly uri: string;
  readonly version: string;
}

export interface ResponseLine {
  readonly kind: 'response';
  readonly status: number;
  readonly reason: string;
  readonly version: string;
}

export type StartLine = RequestLine | ResponseLine;

/** Stride of `Layout.spans`: lineStart, valueStart, valueEnd, lineEnd, folded (0/1). */
export const SPAN = 5;

/**
 * Byte layout of a message. Internal to the message layer (splice and build
 * read it); other layers should use the accessors on SipMessage.
 */
export interface Layout {
  readonly buf: Buffer;
  /** buf[0, headEnd) decoded as latin1, so string index === byte offset. */
  readonly head: string;
  /** Offset of the start line (leading CRLFs skipped). */
  readonly start: number;
  /** Offset just past the start line's LF. */
  readonly startLineEnd: number;
  /** Request-URI offsets (0, 0 for responses). */
  readonly uriStart: number;
  readonly uriEnd: number;
  /** Offset of the empty line ending the headers (where new headers go). */
  readonly headEnd: number;
  readonly bodyStart: number;
  /** End of the body: bodyStart + Content-Length, or the end of the datagram. */
  readonly bodyEnd: number;
  /** Canonical (lowercase long) name per header line. */
  readonly names: readonly string[];
  /** SPAN numbers per header line. */
  readonly spans: readonly number[];
}

export interface MandatoryFields {
  readonly callId: string;
  readonly cseq: CSeq;
  readonly topVia: Via;
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly maxForwards: number | undefined;
  readonly contentLength: number | undefined;
}

export class SipMessage {
  readonly startLine: StartLine;
  /** Internal byte layout (used by splice/build). */
  readonly layout: Layout;
  readonly callId: string;
  /** CSeq number and method. */
  readonly cseq: CSeq;
  /** First via-parm of the first Via header. */
  readonly topVia: Via;
  readonly from: NameAddr;
  readonly to: NameAddr;
  /** Max-Forwards, or undefined when absent (a proxy then assumes 70). */
  readonly maxForwards: number | undefined;
  /** Content-Length header value, or undefined when absent. */
  readonly contentLength: number | undefined;
  private values: Array<string | undefined> | undefined = undefined;
  private viaList: Via[] | undefined = undefined;
  private bodyView: Buffer | undefined = undefined;

  constructor(startLine: StartLine, layout: Layout, f: MandatoryFields) {
    this.startLine = startLine;
    this.layout = layout;
    this.callId = f.callId;
    this.cseq = f.cseq;
    this.topVia = f.topVia;
    this.from = f.from;
    this.to = f.to;
    this.maxForwards = f.maxForwards;
    this.contentLength = f.contentLength;
  }

  get isRequest(): boolean {
    return this.startLine.kind === 'request';
  }

  /** Request method; for a response, the CSeq method (what transaction matching needs). */
  get method(): string {
    return this.startLine.kind === 'request' ? this.startLine.method : this.cseq.method;
  }

  /** Request-URI as written; undefined for responses. */
  get uri(): string | undefined {
    return this.startLine.kind === 'request' ? this.startLine.uri : undefined;
  }

  /** Status code; 0 for requests. */
  get status(): number {
    return this.startLine.kind === 'response' ? this.startLine.status : 0;
  }

  /** The original bytes. */
  get raw(): Buffer {
    return this.layout.buf;
  }

  /** Body bytes (a view on the original buffer, not a copy, not decoded). */
  get body(): Buffer {
    if (this.bodyView === undefined) this.bodyView = this.layout.buf.subarray(this.layout.bodyStart, this.layout.bodyEnd);
    return this.bodyView;
  }

  /** Number of header lines (a folded header counts once). */
  get headerCount(): number {
    return this.layout.names.length;
  }

  /** Value of the first header field with this name (any case, compact or long), unfolded; a whole line, not split on commas. */
  header(name: string): string | undefined {
    const key = canonicalName(name);
    const names = this.layout.names;
    for (let i = 0; i < names.length; i++) if (names[i] === key) return this.valueAt(i);
    return undefined;
  }

  hasHeader(name: string): boolean {
    return this.layout.names.includes(canonicalName(name));
  }

  /** Every field value with this name, one per header line, in order, not split. */
  headers(name: string): string[] {
    const key = canonicalName(name);
    const names = this.layout.names;
    const out: string[] = [];
    for (let i = 0; i < names.length; i++) if (names[i] === key) out.push(this.valueAt(i));
    return out;
  }

  /**
   * Every value with this name, comma lists split (outside quotes and `<>`)
   * for list headers; challenge/credential/date/free-text headers are not
   * split. RFC 3261 §7.3.1.
   */
  headerValues(name: string): string[] {
    const key = canonicalName(name);
    const lines = this.headers(key);
    if (!isListHeader(key)) return lines;
    const out: string[] = [];
    for (const v of lines) {
      const r = splitList(v, 0, v.length);
      for (let k = 0; k < r.length; k += 2) out.push(v.slice(r[k], r[k + 1]));
    }
    return out;
  }

  /** All header fields in order as [canonical name, value]. */
  fields(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (let i = 0; i < this.layout.names.length; i++) out.push([this.layout.names[i] as string, this.valueAt(i)]);
    return out;
  }

  /**
   * Every via-parm, top first. Parsed on first call and cached. If a lower
   * Via is malformed the list stops before it (the top one is always valid).
   */
  vias(): readonly Via[] {
    if (this.viaList !== undefined) return this.viaList;
    const out: Via[] = [];
    const { names, head, spans } = this.layout;
    outer: for (let i = 0; i < names.length; i++) {
      if (names[i] !== 'via') continue;
      const b = i * SPAN;
      const r = splitList(head, spans[b + 1] as number, spans[b + 2] as number);
      for (let k = 0; k < r.length; k += 2) {
        const v = out.length === 0 ? this.topVia : parseViaValue(head, r[k] as number, r[k + 1] as number);
        if (v === undefined) break outer;
        out.push(v);
      }
    }
    this.viaList = out;
    return out;
  }

  /** Value of header line i, decoded as UTF-8 and unfolded; cached. */
  valueAt(i: number): string {
    if (this.values === undefined) this.values = [];
    const cached = this.values[i];
    if (cached !== undefined) return cached;
    const v = decodeValue(this.layout.buf, this.layout.head, this.layout.spans, i);
    this.values[i] = v;
    return v;
  }
}

/** Decodes header line i's value (UTF-8, unfolded). */
export function decodeValue(buf: Buffer, head: string, spans: readonly number[], i: number): string {
  const b = i * SPAN;
  const v = textAt(buf, head, spans[b + 1] ?? 0, spans[b + 2] ?? 0);
  return spans[b + 4] === 1 ? unfold(v) : v;
}

/** Bytes [s, e) of the head as text: the latin1 slice when ASCII (no native call), else decoded as UTF-8. */
export function textAt(buf: Buffer, head: string, s: number, e: number): string {
  for (let i = s; i < e; i++) if (head.charCodeAt(i) > 0x7f) return buf.toString('utf8', s, e);
  return head.slice(s, e);
}
