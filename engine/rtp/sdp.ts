/**
 * SDP for the relay (RFC 4566): read the media streams an offer or answer
 * describes, and rewrite the body so that each side sends its media to the
 * relay, as rtpengine does. Pure functions, no I/O; bad input is a value
 * (`ok: false` with a reason a SIP 488 can carry), never an exception.
 *
 * Reading stands on sdp-transform's `parse()`, which is lenient by design: it
 * skips any line its grammar does not know (a mangled `c=` simply vanishes)
 * and leaves empty strings where numbers were expected. So the raw lines are
 * checked here first (first line, line shape, every `c=`), and every value
 * `parse()` gives is checked before it is used.
 *
 * Rewriting edits the original lines rather than re-serialising with
 * sdp-transform's `write()`: `write()` reorders attributes into its grammar's
 * order, drops lines it has no grammar for (`k=`, `b=` of an unregistered
 * type) and writes half-parsed values back differently (`a=rtcp:abc` comes
 * out as `a=rtcp:0`). The far end should get what its peer sent, changed only
 * where the relay must change it.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { parse, type MediaDescription } from 'sdp-transform';

export interface SdpPayload {
  pt: number;
  codec: string | null;
  rate: number | null;
}

export interface SdpMedia {
  /** Position of the m= line, 0-based. */
  index: number;
  /** audio, video, image, ... */
  type: string;
  /** RTP/AVP, RTP/SAVP, udptl, ... */
  protocol: string;
  /** 0: a rejected or disabled stream (RFC 3264 §6), which gets no relay ports. */
  port: number;
  /** Media-level c=, else session-level c= (multicast /ttl suffix removed); null only for a port-0 stream. */
  address: string | null;
  /** a=rtcp port (RFC 3605), else port + 1; 0 for a port-0 stream without a=rtcp. */
  rtcpPort: number;
  /** a=rtcp-mux (RFC 5761). */
  rtcpMux: boolean;
  /** Media-level attribute, else session-level, else sendrecv (RFC 3264 §5.1). */
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  /** In m= line order. Empty for a protocol that does not carry RTP (udptl, TCP/MSRP, ...). */
  payloads: SdpPayload[];
}

export type SdpRead = { ok: true; media: SdpMedia[] } | { ok: false; reason: string };

export interface RelayTarget {
  /** Written into c= (and a=rtcp); an IPv6 address gives `c=IN IP6`. */
  address: string;
  /** m= line index → relay RTP port; the relay's RTCP port is that + 1. */
  ports: ReadonlyMap<number, number>;
}

/** Larger bodies are refused: no real offer is near this, and parsing is linear in it. */
export const SDP_MAX_BYTES = 64 * 1024;

/**
 * Static payload types, RFC 3551 §6 Tables 4 and 5; a=rtpmap, when present,
 * wins over these. Dynamic types (96-127) without a=rtpmap stay unnamed.
 */
const STATIC_PAYLOADS: ReadonlyMap<number, readonly [string, number]> = new Map([
  [0, ['PCMU', 8000]],
  [3, ['GSM', 8000]],
  [4, ['G723', 8000]],
  [5, ['DVI4', 8000]],
  [6, ['DVI4', 16000]],
  [7, ['LPC', 8000]],
  [8, ['PCMA', 8000]],
  [9, ['G722', 8000]],
  [10, ['L16', 44100]],
  [11, ['L16', 44100]],
  [12, ['QCELP', 8000]],
  [13, ['CN', 8000]],
  [14, ['MPA', 90000]],
  [15, ['G728', 8000]],
  [16, ['DVI4', 11025]],
  [17, ['DVI4', 22050]],
  [18, ['G729', 8000]],
  [25, ['CelB', 90000]],
  [26, ['JPEG', 90000]],
  [28, ['nv', 90000]],
  [31, ['H261', 90000]],
  [32, ['MPV', 90000]],
  [33, ['MP2T', 90000]],
  [34, ['H263', 90000]],
]);

/**
 * ICE attributes (RFC 8839 §5). They are stripped wherever the relay takes a
 * stream: a candidate is a path around the relay, and the endpoints would
 * use it. This is rtpengine's `ICE=remove` ("any ICE attributes are stripped
 * from the SDP body", docs/ng_control_protocol.md, `ICE` key). rtpengine's
 * own default (`ICE=default`) goes further for ICE-speaking peers: it strips
 * theirs and offers itself as the only candidate. We do not speak ICE (no
 * STUN on the relay ports), so remove is the part of that we can honour; an
 * ICE-only endpoint (WebRTC) therefore cannot use the relay.
 */
const ICE_ATTRIBUTES: ReadonlySet<string> = new Set([
  'candidate',
  'remote-candidates',
  'end-of-candidates',
  'ice-ufrag',
  'ice-pwd',
  'ice-options',
  'ice-lite',
  'ice-mismatch',
  'ice-pacing',
]);

const LINE_BREAK = /\r\n|\r|\n/;
// The shape sdp-transform itself accepts as a line: anything else it silently skips.
const TYPED_LINE = /^[a-z]=/;
const CONNECTION_LINE = /^c=IN IP([46]) (\S+)\s*$/;
const RTP_PROTOCOL = /(^|\/)RTP\//i;
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

type Failure = { ok: false; reason: string };
const fail = (reason: string): Failure => ({ ok: false, reason });

/** C0 controls other than TAB/LF/CR, DEL, and U+FFFD (what undecodable bytes become): not text. */
function isBinary(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f || c === 0xfffd) return true;
  }
  return false;
}

/** A bad value quoted into a reason: short, printable ASCII, one line. */
function quote(v: unknown): string {
  const s = String(v).replace(/[^\x20-\x7E]/g, '?');
  return s.length > 32 ? s.slice(0, 32) + '...' : s;
}

/**
 * RFC 4566 §5.7 allows a fully qualified domain name in c= as well as an
 * address. A name whose last label is all digits is a mistyped IPv4
 * address (`999.1.1.1`), not a name (RFC 3696 §2).
 */
function isHostname(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  return labels.every((l) => HOST_LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1]!);
}

/** Why `address` is not usable as an `IP<version>` address, or null if it is. */
function addressProblem(version: 4 | 6, address: string): string | null {
  if (version === 4 ? isIPv4(address) : isIPv6(address)) return null;
  if (isHostname(address)) return null;
  if (version === 4 && isIPv6(address)) return `IPv6 address ${quote(address)} given as IP4`;
  if (version === 6 && isIPv4(address)) return `IPv4 address ${quote(address)} given as IP6`;
  return `${quote(address)} is not an IPv${version} address or host name`;
}

/** The address a `c=` carries, without the multicast `/ttl` or `/count` suffix (RFC 4566 §5.7). */
function connectionAddress(raw: string): string {
  const slash = raw.indexOf('/');
  return slash < 0 ? raw : raw.slice(0, slash);
}

/** 0.0.0.0 or ::, the RFC 2543 way of putting a stream on hold. */
function isZeroAddress(address: string): boolean {
  if (isIPv4(address)) return address === '0.0.0.0';
  return isIPv6(address) && /^[0:]+$/.test(address);
}

/** sdp-transform turns digit strings into numbers only when they round-trip (`06000` stays a string). */
function toInteger(v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : null;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  return null;
}

/**
 * Reads an offer or answer. Never throws: anything that is not SDP the relay
 * can act on comes back as `ok: false` with a short one-line reason.
 */
export function readSdp(body: string): SdpRead {
  try {
    return read(body);
  } catch {
    // Nothing above is meant to throw; this keeps a bug in the parser we
    // stand on from becoming an exception on network input.
    return fail('SDP could not be parsed');
  }
}

function read(body: string): SdpRead {
  if (typeof body !== 'string' || body.trim() === '') return fail('SDP body is empty');
  if (body.length > SDP_MAX_BYTES || Buffer.byteLength(body, 'utf8') > SDP_MAX_BYTES) {
    return fail(`SDP body is larger than ${SDP_MAX_BYTES} bytes`);
  }
  if (isBinary(body)) return fail('SDP body contains binary data');

  const lines = body.split(LINE_BREAK);
  // RFC 4566 §5: "An SDP session description ... begins with a v= line".
  if (lines[0]?.trimEnd() !== 'v=0') return fail('SDP does not start with v=0');

  // Raw pass: every line's shape, and every c= (sdp-transform drops a c= it
  // cannot match, which would turn "bad c=" into "no c=" or, worse, into the
  // session-level one silently standing in).
  let sessionAddress: string | null = null;
  const mediaAddress: (string | null)[] = [];
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '') continue;
    if (!TYPED_LINE.test(line)) return fail(`SDP line ${n + 1} is not of the form x=value`);
    if (line.startsWith('m=')) mediaAddress.push(null);
    else if (line.startsWith('c=')) {
      const c = CONNECTION_LINE.exec(line);
      if (!c) return fail(`SDP c= line ${n + 1} is not "c=IN IP4|IP6 address"`);
      const address = connectionAddress(c[2]!);
      const problem = addressProblem(c[1] === '6' ? 6 : 4, address);
      if (problem) return fail(`SDP c= line ${n + 1}: ${problem}`);
      if (mediaAddress.length === 0) sessionAddress = address;
      else mediaAddress[mediaAddress.length - 1] = address;
    }
  }
  if (mediaAddress.length === 0) return fail('SDP has no m= line');

  const session = parse(body);
  if (session.media.length !== mediaAddress.length) return fail('SDP m= lines could not be read');
  const sessionDirection = DIRECTIONS.has(String(session.direction)) ? (session.direction as SdpMedia['direction']) : 'sendrecv';

  const media: SdpMedia[] = [];
  for (let i = 0; i < session.media.length; i++) {
    const m = readMedia(i, session.media[i]!, mediaAddress[i] ?? sessionAddress, sessionDirection);
    if (!m.ok) return m;
    media.push(m.media);
  }
  return { ok: true, media };
}

function readMedia(index: number, m: MediaDescription, address: string | null, sessionDirection: SdpMedia['direction']): { ok: true; media: SdpMedia } | Failure {
  const where = `SDP m= line ${index + 1}`;
  // A line that missed sdp-transform's m= grammar (`m=audio 6000/2 ...`, a
  // missing field) comes back with none of its fields.
  if (typeof m.type !== 'string' || m.type === '' || typeof m.protocol !== 'string' || m.protocol === '') {
    return fail(`${where} is not "m=media port proto fmt ..."`);
  }
  const port = toInteger(m.port);
  if (port === null || port > 65535) return fail(`${where} (${quote(m.type)}): port ${quote(m.port)} is out of range 1-65535`);
  if (port !== 0 && address === null) return fail(`${where} (${quote(m.type)}): no c= line at media or session level`);

  const formats = String(m.payloads ?? '')
    .trim()
    .split(/\s+/)
    .filter((f) => f !== '');
  if (port !== 0 && formats.length === 0) return fail(`${where} (${quote(m.type)}): no formats`);

  const payloads: SdpPayload[] = [];
  if (RTP_PROTOCOL.test(m.protocol)) {
    // RFC 4566 §5.14: on an RTP/AVP line "the <fmt> sub-fields contain RTP payload type numbers".
    for (const f of formats) {
      if (!/^\d{1,3}$/.test(f) || Number(f) > 127) return fail(`${where} (${quote(m.type)}): format ${quote(f)} is not an RTP payload type`);
      payloads.push(payload(Number(f), m.rtp));
    }
  }

  let rtcpPort = port === 0 ? 0 : port + 1;
  if (m.rtcp) {
    const p = toInteger(m.rtcp.port);
    if (p === null || p < 1 || p > 65535) return fail(`${where} (${quote(m.type)}): a=rtcp port ${quote(m.rtcp.port)} is out of range 1-65535`);
    if (m.rtcp.address !== undefined) {
      const problem = addressProblem(m.rtcp.ipVer === 6 ? 6 : 4, String(m.rtcp.address));
      if (problem) return fail(`${where} (${quote(m.type)}): a=rtcp: ${problem}`);
    }
    rtcpPort = p;
  } else if (rtcpPort > 65535) {
    return fail(`${where} (${quote(m.type)}): port 65535 leaves no port for RTCP`);
  }

  const direction = DIRECTIONS.has(String(m.direction)) ? (m.direction as SdpMedia['direction']) : sessionDirection;
  return {
    ok: true,
    media: { index, type: m.type, protocol: m.protocol, port, address, rtcpPort, rtcpMux: m.rtcpMux === 'rtcp-mux', direction, payloads },
  };
}

function payload(pt: number, rtpmaps: MediaDescription['rtp'] | undefined): SdpPayload {
  const map = rtpmaps?.find((r) => r.payload === pt);
  if (map && typeof map.codec === 'string' && map.codec !== '') {
    const rate = toInteger(map.rate);
    return { pt, codec: map.codec, rate: rate !== null && rate > 0 ? rate : null };
  }
  const known = STATIC_PAYLOADS.get(pt);
  return known ? { pt, codec: known[0], rate: known[1] } : { pt, codec: null, rate: null };
}

interface MediaBlock {
  /** Its lines, the m= line first. */
  lines: string[];
  /** From the m= line; NaN when it has none. */
  port: number;
  /** The address of its own c=, if it has one. */
  address: string | null;
}

const attributeName = (line: string): string => line.slice(2).split(':', 1)[0]!.trim().toLowerCase();
const isConnection = (line: string): boolean => line.startsWith('c=');
const connectionOf = (line: string): string | null => {
  const c = CONNECTION_LINE.exec(line);
  return c ? connectionAddress(c[2]!) : null;
};

/**
 * Rewrites an SDP body so that every stream in `relay.ports` goes through
 * the relay:
 * - its m= port becomes the relay port, its c= (media level; added if it had
 *   none) the relay address, its a=rtcp (RFC 3605) the relay port + 1, with
 *   the relay address when the attribute carried one;
 * - the session-level c= becomes the relay address too once no stream that
 *   stays outside the relay still depends on it (a port-0 stream does not);
 * - ICE attributes go, at every level (see ICE_ATTRIBUTES).
 * A stream on hold by address (c=0.0.0.0 or ::, RFC 2543 style) gets the
 * relay port but keeps its zero address, as rtpengine does unless told
 * otherwise ("Streams with zero addresses are normally flagged as sendonly
 * and the zero address in the SDP is passed through", replace flag `zero
 * address`, docs/ng_control_protocol.md): putting the relay's address there
 * would take the call off hold for the far end.
 *
 * A port-0 stream is never given a port, even if listed: that would revive a
 * rejected stream (RFC 3264 §6). The o= line is left alone, address and
 * version, as rtpengine leaves it unless asked (its `origin` and `SDP
 * version` replace flags). Every other line is kept as it came; blank lines
 * are dropped and every line ends in CRLF (RFC 4566 §5).
 *
 * Meant for a body `readSdp()` accepted; given anything else it still
 * returns a string and does not throw.
 */
export function rewriteSdp(body: string, relay: RelayTarget): string {
  const session: string[] = [];
  const media: MediaBlock[] = [];
  for (const line of body.split(LINE_BREAK)) {
    if (line.trim() === '') continue;
    if (line.startsWith('m=')) {
      const port = line.split(' ')[1]?.split('/')[0] ?? '';
      media.push({ lines: [line], port: /^\d+$/.test(port) ? Number(port) : NaN, address: null });
      continue;
    }
    const block = media[media.length - 1];
    if (block && isConnection(line)) block.address = connectionOf(line);
    (block ? block.lines : session).push(line);
  }

  const relayed = (m: MediaBlock, i: number): boolean => relay.ports.has(i) && m.port > 0;
  if (!media.some(relayed)) return toBody(session, media);

  const relayC = `c=IN ${isIPv6(relay.address) ? 'IP6' : 'IP4'} ${relay.address}`;
  const sessionCLine = session.find(isConnection);
  const sessionAddress = sessionCLine === undefined ? null : connectionOf(sessionCLine);
  const sessionHeld = sessionAddress !== null && isZeroAddress(sessionAddress);
  const sessionCStillNeeded = media.some((m, i) => !relayed(m, i) && m.port !== 0 && m.address === null);

  const withoutIce = (lines: string[]) => lines.filter((l) => !(l.startsWith('a=') && ICE_ATTRIBUTES.has(attributeName(l))));
  const outSession = withoutIce(session).map((l) => (isConnection(l) && !sessionHeld && !sessionCStillNeeded ? relayC : l));

  media.forEach((m, i) => {
    m.lines = withoutIce(m.lines);
    if (!relayed(m, i)) return;
    const port = relay.ports.get(i)!;
    const held = m.address !== null ? isZeroAddress(m.address) : sessionHeld;
    const fields = m.lines[0]!.split(' ');
    fields[1] = String(port);
    const out = [fields.join(' ')];
    let hasC = false;
    for (const line of m.lines.slice(1)) {
      if (isConnection(line)) {
        hasC = true;
        out.push(held ? line : relayC);
      } else if (line.startsWith('a=rtcp:')) {
        out.push(rewriteRtcp(line, port + 1, held ? null : relayC.slice(2)));
      } else {
        out.push(line);
      }
    }
    if (!hasC && !held) {
      // RFC 4566 §5 orders a media section m=, i=, c=, b=, k=, a=.
      let at = 1;
      while (out[at]?.startsWith('i=')) at++;
      out.splice(at, 0, relayC);
    }
    m.lines = out;
  });
  return toBody(outSession, media);
}

/** `a=rtcp:port [IN IP4 addr]` with the relay's port, and its address where one was given (`connection`: "IN IP4 addr"; null keeps the original). */
function rewriteRtcp(line: string, port: number, connection: string | null): string {
  const rest = line.slice('a=rtcp:'.length).trim().split(/\s+/);
  if (rest.length < 4) return `a=rtcp:${port}`;
  return `a=rtcp:${port} ${connection ?? rest.slice(1, 4).join(' ')}`;
}

function toBody(session: string[], media: MediaBlock[]): string {
  const lines = session.concat(...media.map((m) => m.lines));
  return lines.length === 0 ? '' : lines.join('\r\n') + '\r\n';
}
