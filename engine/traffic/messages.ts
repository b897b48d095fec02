/**
 * The requests the built-in caller sends and the SDP both endpoints write
 * (RFC 3261 §8.1.1, §12.2.1.1, §13.2.2.4; RFC 4566). Pure: text in, bytes
 * out. Responses are built with the SIP layer's own `buildResponse`, CANCEL
 * with `buildCancel`, and the ACK for a non-2xx by the transaction.
 */
import { assemble } from '../sip/message/bytes';
import type { SipMessage } from '../sip/message';
import { parseNameAddr } from '../sip/message';
import type { CallScript } from './spec';

export interface Addr {
  host: string;
  port: number;
}

/** The audio offer or answer of one endpoint: PCMU only, one m= line, sendrecv. */
export function sdpOf(host: string, rtpPort: number, sessionId: number): string {
  return ['v=0', `o=callpath ${sessionId} ${sessionId} IN IP4 ${host}`, 's=callpath traffic', `c=IN IP4 ${host}`, 't=0 0', `m=audio ${rtpPort} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', 'a=ptime:20', 'a=sendrecv', ''].join('\r\n');
}

/** Where an SDP says its audio goes (c= and the first m=audio port); null when it says nowhere. */
export function audioOf(sdp: string): Addr | null {
  const c = /^c=IN IP4 (\S+)/m.exec(sdp);
  const m = /^m=audio (\d+) /m.exec(sdp);
  if (!c || !m || m[1] === '0') return null;
  return { host: c[1]!, port: Number(m[1]) };
}

export interface InviteParts {
  callId: string;
  fromTag: string;
  branch: string;
  script: CallScript;
  caller: Addr;
  callee: Addr;
  sdp: string;
}

/** The initial INVITE: the callee's script is the Request-URI's user part. */
export function buildInvite(p: InviteParts): Buffer {
  const target = `sip:${p.script}@${p.callee.host}:${p.callee.port}`;
  const head = [
    `INVITE ${target} SIP/2.0`,
    `Via: SIP/2.0/UDP ${p.caller.host}:${p.caller.port};branch=${p.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:caller@${p.caller.host}:${p.caller.port}>;tag=${p.fromTag}`,
    `To: <${target}>`,
    `Call-ID: ${p.callId}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:caller@${p.caller.host}:${p.caller.port}>`,
    'User-Agent: callpath traffic',
    'Content-Type: application/sdp',
    `Content-Length: ${Buffer.byteLength(p.sdp, 'latin1')}`,
  ].join('\r\n');
  return assemble(head + '\r\n\r\n', Buffer.from(p.sdp, 'latin1'));
}

/** The dialog the caller has once the callee's 2xx came: where in-dialog requests go and what they carry (§12.1.2). */
export interface Dialog {
  callId: string;
  fromTag: string;
  toTag: string;
  /** The callee's Contact: the Request-URI of in-dialog requests. */
  remoteTarget: string;
  /** Record-Route of the 2xx, reversed (§12.1.2): the Route header of in-dialog requests. */
  routeSet: string[];
  caller: Addr;
  /** The To header's URI (without the tag). */
  toUri: string;
}

/** The caller's dialog from the 2xx to its INVITE; null when the 2xx lacks a To-tag or Contact. */
export function dialogOf(ok: SipMessage, caller: Addr, fromTag: string): Dialog | null {
  const toTag = ok.to.tag;
  const contact = parseNameAddr(ok.header('Contact') ?? '');
  if (!toTag || !contact) return null;
  const to = parseNameAddr(ok.header('To') ?? '');
  return { callId: ok.callId, fromTag, toTag, remoteTarget: contact.uri, routeSet: ok.headerValues('Record-Route').reverse(), caller, toUri: to?.uri ?? contact.uri };
}

/** An in-dialog request of the caller (the ACK for a 2xx, a BYE), loose-routed through the route set (§12.2.1.1). */
export function buildInDialog(d: Dialog, method: 'ACK' | 'BYE', cseq: number, branch: string): Buffer {
  const head = [
    `${method} ${d.remoteTarget} SIP/2.0`,
    `Via: SIP/2.0/UDP ${d.caller.host}:${d.caller.port};branch=${branch};rport`,
    'Max-Forwards: 70',
    ...d.routeSet.map((r) => `Route: ${r}`),
    `From: <sip:caller@${d.caller.host}:${d.caller.port}>;tag=${d.fromTag}`,
    `To: <${d.toUri}>;tag=${d.toTag}`,
    `Call-ID: ${d.callId}`,
    `CSeq: ${cseq} ${method}`,
    'Content-Length: 0',
  ].join('\r\n');
  return assemble(head + '\r\n\r\n');
}
