/**
 * Reading an RTP or RTCP datagram in place (RFC 3550 §5.1, §6.4), for the
 * relay's per-packet path: pure, no allocation, never throws. The caller
 * classifies first with `rtpKind` and reads fields only from a packet it
 * said was 'rtp' (the readers do not check the length again).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                           timestamp                           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           synchronization source (SSRC) identifier            |
 *   +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *   |            contributing source (CSRC) identifiers             |
 *   |                             ....                              |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

export type RtpKind = 'rtp' | 'rtcp' | 'garbage';

const RTP_FIXED_HEADER = 12;
const RTCP_MIN = 8;

/**
 * What a datagram is. RTCP is told apart by its second byte, the packet
 * type, in 192..223: RFC 5761 §4 keeps RTP payload types 64..95 out of use
 * where RTP and RTCP share a port, because with the marker bit set they
 * would take exactly those byte values. The range covers SR, RR, SDES, BYE
 * and APP (200..204) and the feedback and XR types (205..207) a compound
 * packet may start with, on the RTCP port and on an RTP port carrying muxed
 * RTCP alike.
 *
 * 'garbage': version not 2, or a header that does not fit in `len` — the CSRC
 * list, the extension header and its length (X), the padding count (P, which
 * counts itself, so at least 1), or for RTCP the first packet's length field.
 */
export function rtpKind(buf: Buffer, len = buf.length): RtpKind {
  if (len < RTCP_MIN || len > buf.length) return 'garbage';
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) return 'garbage';
  const b1 = buf[1]!;
  if (b1 >= 192 && b1 <= 223) {
    // RFC 3550 §6.4.1: "length: ... in 32-bit words minus one, including the header and any padding".
    const words = (buf[2]! << 8) | buf[3]!;
    return (words + 1) * 4 <= len ? 'rtcp' : 'garbage';
  }
  let header = RTP_FIXED_HEADER + 4 * (b0 & 0x0f);
  if (header > len) return 'garbage';
  if (b0 & 0x10) {
    // RFC 3550 §5.3.1: 16-bit profile field, 16-bit length in 32-bit words excluding this 4-byte header.
    if (header + 4 > len) return 'garbage';
    header += 4 + 4 * ((buf[header + 2]! << 8) | buf[header + 3]!);
    if (header > len) return 'garbage';
  }
  if (b0 & 0x20) {
    // RFC 3550 §5.1: "The last octet of the padding contains a count of how many padding octets should be ignored, including itself."
    const padding = buf[len - 1]!;
    if (padding === 0 || header + padding > len) return 'garbage';
  }
  return 'rtp';
}

export function rtpMarker(buf: Buffer): boolean {
  return (buf[1]! & 0x80) !== 0;
}

export function rtpPayloadType(buf: Buffer): number {
  return buf[1]! & 0x7f;
}

export function rtpSeq(buf: Buffer): number {
  return (buf[2]! << 8) | buf[3]!;
}

/** Unsigned 32-bit. */
export function rtpTimestamp(buf: Buffer): number {
  return ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0;
}

/** Unsigned 32-bit. */
export function rtpSsrc(buf: Buffer): number {
  return ((buf[8]! << 24) | (buf[9]! << 16) | (buf[10]! << 8) | buf[11]!) >>> 0;
}

/** Where the payload starts: after the fixed header, the CSRC list and the extension (`rtpKind` has checked they fit). */
export function rtpPayloadStart(buf: Buffer): number {
  const b0 = buf[0]!;
  let at = RTP_FIXED_HEADER + 4 * (b0 & 0x0f);
  if (b0 & 0x10) at += 4 + 4 * ((buf[at + 2]! << 8) | buf[at + 3]!);
  return at;
}

/** Where the payload ends: before the padding, whose last octet counts it (RFC 3550 §5.1; `rtpKind` has checked it fits). */
export function rtpPayloadEnd(buf: Buffer, len: number): number {
  return buf[0]! & 0x20 ? len - buf[len - 1]! : len;
}
