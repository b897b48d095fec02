/**
 * SIP message layer (RFC 3261 §7, §20, §25): parse, inspect lazily, splice,
 * build. Pure functions, no I/O.
 */
export { parseMessage } from './parse';
export type { ParseOptions, ParseResult } from './parse';
export { SipMessage } from './message';
export type { RequestLine, ResponseLine, StartLine } from './message';
export { MAX_MESSAGE_BYTES } from './errors';
export type { ErrorReplyParts, SipParseError, SipParseReason } from './errors';
export { frameStream } from './frame';
export type { FrameResult } from './frame';
export { spliceMessage } from './splice';
export type { SpliceEdits } from './splice';
export { buildAck, buildCancel, buildErrorResponse, buildResponse } from './build';
export type { ResponseExtras } from './build';
export { parseUri } from './uri';
export type { SipUri } from './uri';
export { parseNameAddr } from './name-addr';
export type { NameAddr } from './name-addr';
export { parseVia, parseViaValue, setViaParams } from './via';
export { peekHeader, topViaBranchOf } from './peek';
export type { Via } from './via';
export { parseCSeq } from './fields';
export type { CSeq } from './fields';
export type { Params } from './params';
export { canonicalName, displayName, isListHeader, COMPACT_FORMS } from './headers';
