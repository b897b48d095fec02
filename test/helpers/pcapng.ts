/** pcapng files built by hand, for the readers and the wire tap: raw IPv4 (link type 101), UDP or TCP, µs timestamps. */

function block(type: number, body: Buffer): Buffer {
  const pad = Buffer.alloc((4 - (body.length % 4)) % 4);
  const len = 12 + body.length + pad.length;
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(len, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(len, 0);
  return Buffer.concat([head, body, pad, tail]);
}

/** An IPv4 packet carrying one UDP datagram; addresses as ["127.0.0.1", 5060]. */
export function ipv4Udp(src: [string, number], dst: [string, number], payload: Buffer): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(28 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  Buffer.from(src[0].split('.').map(Number)).copy(ip, 12);
  Buffer.from(dst[0].split('.').map(Number)).copy(ip, 16);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(src[1], 0);
  udp.writeUInt16BE(dst[1], 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([ip, udp, payload]);
}

/** An IPv4 packet carrying one TCP segment (ACK|PSH) that starts at sequence number `seq`. */
export function ipv4Tcp(src: [string, number], dst: [string, number], seq: number, payload: Buffer): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(40 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 6;
  Buffer.from(src[0].split('.').map(Number)).copy(ip, 12);
  Buffer.from(dst[0].split('.').map(Number)).copy(ip, 16);
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(src[1], 0);
  tcp.writeUInt16BE(dst[1], 2);
  tcp.writeUInt32BE(seq >>> 0, 4);
  tcp[12] = 5 << 4;
  tcp[13] = 0x18;
  tcp.writeUInt16BE(65535, 14);
  return Buffer.concat([ip, tcp, payload]);
}

/** A section header, one raw-IP interface, and an enhanced packet block per frame. */
export function pcapng(packets: { tsUs: number; frame: Buffer; snaplen?: number }[]): Buffer {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeInt32LE(-1, 8);
  shb.writeInt32LE(-1, 12);
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(101, 0);
  idb.writeUInt32LE(65535, 4);
  const blocks = [block(0x0a0d0d0a, shb), block(1, idb)];
  for (const p of packets) {
    const h = Buffer.alloc(20);
    h.writeUInt32LE(0, 0);
    h.writeUInt32LE(Math.floor(p.tsUs / 2 ** 32), 4);
    h.writeUInt32LE(p.tsUs % 2 ** 32, 8);
    const kept = p.snaplen === undefined ? p.frame : p.frame.subarray(0, p.snaplen);
    h.writeUInt32LE(kept.length, 12);
    h.writeUInt32LE(p.frame.length, 16);
    blocks.push(block(6, Buffer.concat([h, kept])));
  }
  return Buffer.concat(blocks);
}
