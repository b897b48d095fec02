/**
 * libpcap export of captured SIP: one file Wireshark and tshark
 * open as is. Pure: messages in, bytes out.
 *
 * Format: classic pcap (magic a1b2c3d4, µs timestamps — the capture's own
 * resolution), LINKTYPE_ETHERNET; each message becomes one Ethernet + IPv4
 * (or IPv6) + UDP datagram, or a TCP segment with per-flow sequence numbers
 * when it crossed TCP, with the original timestamps and addresses.
 */
import { isIPv4 } from 'node:net';

export interface PcapMessage {
  tsUs: number;
  transport: 'udp' | 'tcp';
  /** "ip:port" or "[v6]:port". */
  src: string;
  dst: string;
  raw: Buffer;
}

const SNAPLEN = 262_144;
const LINKTYPE_ETHERNET = 1;

export function pcapFile(messages: readonly PcapMessage[]): Buffer {
  const seq = new Map<string, number>();
  const parts: Buffer[] = [pcapGlobalHeader()];
  for (const m of messages) parts.push(pcapRecord(m, seq));
  return Buffer.concat(parts);
}

/** TCP sequence state across records of one file (for streaming writers). */
export type PcapFlowState = Map<string, number>;

export function pcapGlobalHeader(): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeInt32LE(0, 8); // thiszone
  h.writeUInt32LE(0, 12); // sigfigs
  h.writeUInt32LE(SNAPLEN, 16);
  h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  return h;
}

export function splitAddress(a: string): { ip: string; port: number } {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(a);
  if (v6) return { ip: v6[1]!, port: Number(v6[2]) };
  const i = a.lastIndexOf(':');
  return { ip: a.slice(0, i), port: Number(a.slice(i + 1)) };
}

export function pcapRecord(m: PcapMessage, seq: PcapFlowState): Buffer {
  const src = splitAddress(m.src);
  const dst = splitAddress(m.dst);
  const v4 = isIPv4(src.ip) && isIPv4(dst.ip);
  const l4 = m.transport === 'tcp' ? tcpSegment(src, dst, m.raw, seq) : udpDatagram(src, dst, m.raw);
  const ip = v4 ? ipv4Header(src.ip, dst.ip, m.transport === 'tcp' ? 6 : 17, l4.length) : ipv6Header(src.ip, dst.ip, m.transport === 'tcp' ? 6 : 17, l4.length);
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(v4 ? 0x0800 : 0x86dd, 12);
  const frame = Buffer.concat([eth, ip, l4]);
  const rh = Buffer.alloc(16);
  const sec = Math.floor(m.tsUs / 1e6);
  rh.writeUInt32LE(sec >>> 0, 0);
  rh.writeUInt32LE(Math.round(m.tsUs - sec * 1e6), 4);
  rh.writeUInt32LE(Math.min(frame.length, SNAPLEN), 8);
  rh.writeUInt32LE(frame.length, 12);
  return Buffer.concat([rh, frame.subarray(0, SNAPLEN)]);
}

function udpDatagram(src: { port: number }, dst: { port: number }, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(src.port, 0);
  h.writeUInt16BE(dst.port, 2);
  h.writeUInt16BE(Math.min(8 + payload.length, 0xffff), 4);
  h.writeUInt16BE(0, 6); // no checksum (allowed for UDP over IPv4; Wireshark does not flag it)
  return Buffer.concat([h, payload]);
}

/** A PSH/ACK segment; sequence numbers continue per direction so the stream reassembles. */
function tcpSegment(src: { ip: string; port: number }, dst: { ip: string; port: number }, payload: Buffer, seq: Map<string, number>): Buffer {
  const fwd = `${src.ip}|${src.port}|${dst.ip}|${dst.port}`;
  const rev = `${dst.ip}|${dst.port}|${src.ip}|${src.port}`;
  const s = seq.get(fwd) ?? 1;
  const ack = seq.get(rev) ?? 1;
  seq.set(fwd, (s + payload.length) >>> 0);
  const h = Buffer.alloc(20);
  h.writeUInt16BE(src.port, 0);
  h.writeUInt16BE(dst.port, 2);
  h.writeUInt32BE(s >>> 0, 4);
  h.writeUInt32BE(ack >>> 0, 8);
  h.writeUInt8(5 << 4, 12); // data offset 5 words
  h.writeUInt8(0x18, 13); // PSH, ACK
  h.writeUInt16BE(0xffff, 14); // window
  return Buffer.concat([h, payload]);
}

function ipv4Header(src: string, dst: string, protocol: number, l4Length: number): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt8(0x45, 0);
  h.writeUInt16BE(Math.min(20 + l4Length, 0xffff), 2);
  h.writeUInt16BE(0x4000, 6); // don't fragment
  h.writeUInt8(64, 8);
  h.writeUInt8(protocol, 9);
  Buffer.from(src.split('.').map(Number)).copy(h, 12);
  Buffer.from(dst.split('.').map(Number)).copy(h, 16);
  h.writeUInt16BE(checksum(h), 10);
  return h;
}

function ipv6Header(src: string, dst: string, protocol: number, l4Length: number): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(l4Length & 0xffff, 4);
  h.writeUInt8(protocol, 6);
  h.writeUInt8(64, 7);
  ipv6Bytes(src).copy(h, 8);
  ipv6Bytes(dst).copy(h, 24);
  return h;
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const a = head ? head.split(':').filter(Boolean) : [];
  const b = tail ? tail.split(':').filter(Boolean) : [];
  const groups = tail === undefined ? a : [...a, ...Array.from({ length: 8 - a.length - b.length }, () => '0'), ...b];
  const out = Buffer.alloc(16);
  groups.slice(0, 8).forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) || 0, i * 2));
  return out;
}

function checksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
