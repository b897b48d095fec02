/**
 * Reads pcap and pcapng files for import, and a pcapng stream as it arrives
 * (the wire tap's dumpcap): every UDP datagram and in-order TCP payload, with
 * its timestamp (µs) and addresses. Pure and forgiving: a broken or
 * truncated file yields what was readable plus a count of what was skipped
 * and why. Never throws.
 */
export interface CapturedPacket {
  tsUs: number;
  transport: 'udp' | 'tcp';
  src: string;
  dst: string;
  payload: Buffer;
  /** TCP sequence number of the first payload byte. */
  seq?: number;
  /**
   * UDP only, when the capture cut the datagram (snaplen): its full payload
   * length, from the UDP header. Only a stream read with `keepCut` yields
   * such packets; a file import skips them.
   */
  fullLength?: number;
}

export interface ReadResult {
  format: 'pcap' | 'pcapng' | 'unknown';
  packets: CapturedPacket[];
  /** Reason → count. */
  skipped: Record<string, number>;
}

export function readCapture(buf: Buffer): ReadResult {
  const out: ReadResult = { format: 'unknown', packets: [], skipped: {} };
  const skip = (why: string) => (out.skipped[why] = (out.skipped[why] ?? 0) + 1);
  try {
    if (buf.length >= 4 && buf.readUInt32LE(0) === 0x0a0d0d0a) {
      out.format = 'pcapng';
      readPcapng(buf, out.packets, skip);
    } else if (buf.length >= 24 && [0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, 0x4d3cb2a1].includes(buf.readUInt32LE(0))) {
      out.format = 'pcap';
      readPcap(buf, out.packets, skip);
    } else {
      skip('not a pcap or pcapng file');
    }
  } catch {
    skip('unreadable remainder');
  }
  return out;
}

export type Skip = (why: string) => void;

function readPcap(buf: Buffer, packets: CapturedPacket[], skip: Skip): void {
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nanos = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20) & 0x0fffffff;
  let o = 24;
  while (o < buf.length) {
    if (o + 16 > buf.length) return skip('truncated record header');
    const sec = u32(o);
    const frac = u32(o + 4);
    const incl = u32(o + 8);
    const orig = u32(o + 12);
    if (o + 16 + incl > buf.length) return skip('truncated packet');
    const tsUs = sec * 1e6 + (nanos ? Math.floor(frac / 1000) : frac);
    if (incl < orig) skip('packet cut by snaplen');
    else decodeFrame(buf.subarray(o + 16, o + 16 + incl), linktype, tsUs, packets, skip);
    o += 16 + incl;
  }
}

function readPcapng(buf: Buffer, packets: CapturedPacket[], skip: Skip): void {
  const blocks = new PcapngBlocks();
  const used = blocks.read(buf, packets, skip);
  if (used < buf.length) skip('truncated block');
}

/**
 * pcapng block by block, keeping what a stream needs between chunks: the
 * section's byte order and its interface list (link type, timestamp unit).
 * `read` decodes every whole block in `buf` and returns how many bytes it
 * used; the rest is the start of a block still to come.
 */
class PcapngBlocks {
  private le = true;
  private readonly ifaces: { linktype: number; unitsPerSec: number }[] = [];

  /** keepCut: packets cut by the snaplen are decoded as far as they go (the wire tap pairs them by their head and length). */
  constructor(private readonly keepCut = false) {}

  read(buf: Buffer, packets: CapturedPacket[], skip: Skip): number {
    let o = 0;
    while (o + 12 <= buf.length) {
      const type = this.le ? buf.readUInt32LE(o) : buf.readUInt32BE(o);
      let le = this.le;
      if (type === 0x0a0d0d0a) le = buf.readUInt32LE(o + 8) === 0x1a2b3c4d;
      const len = le ? buf.readUInt32LE(o + 4) : buf.readUInt32BE(o + 4);
      if (len < 12) {
        skip('truncated block');
        return buf.length; // nothing after a bad length can be framed
      }
      if (o + len > buf.length) return o;
      if (type === 0x0a0d0d0a) {
        this.le = le;
        this.ifaces.length = 0; // a new section starts its own interface list
      }
      // No closures per block: at 14,000 packets a second from the wire tap, they showed in the profile.
      if (type === 1) {
        this.ifaces.push({ linktype: le ? buf.readUInt16LE(o + 8) : buf.readUInt16BE(o + 8), unitsPerSec: tsresol(buf, o + 16, o + len - 4, le) });
      } else if (type === 6) {
        const iface = this.ifaces[u32(buf, o + 8, le)];
        const ts = u32(buf, o + 12, le) * 2 ** 32 + u32(buf, o + 16, le);
        const incl = u32(buf, o + 20, le);
        const orig = u32(buf, o + 24, le);
        if (!iface) skip('packet on an undeclared interface');
        else if (o + 28 + incl > o + len) skip('malformed packet block');
        else if (incl < orig && !this.keepCut) skip('packet cut by snaplen');
        else decodeFrame(buf.subarray(o + 28, o + 28 + incl), iface.linktype, Math.round((ts / iface.unitsPerSec) * 1e6), packets, skip);
      } else if (type === 3) {
        skip('simple packet block (no timestamp)');
      }
      o += len;
    }
    return o;
  }
}

/**
 * A pcapng byte stream (dumpcap `-w -`) read as it arrives: push each chunk,
 * get the packets whose blocks are now whole. The bytes of a block cut
 * between chunks wait for the next one; a block longer than `maxBlockBytes`
 * cannot be a packet we asked for (snaplen) and ends the stream as unreadable.
 */
export class PcapngStream {
  private readonly blocks: PcapngBlocks;
  private pending: Buffer | null = null;
  /** Reason → count, since the stream started. */
  readonly skipped: Record<string, number> = {};
  private readonly skip: Skip = (why) => (this.skipped[why] = (this.skipped[why] ?? 0) + 1);
  private broken = false;

  constructor(
    private readonly maxBlockBytes = 1 << 20,
    /** Keep packets cut by the snaplen (with `fullLength`) instead of skipping them. */
    keepCut = false,
  ) {
    this.blocks = new PcapngBlocks(keepCut);
  }

  push(chunk: Buffer): CapturedPacket[] {
    const packets: CapturedPacket[] = [];
    if (this.broken) return packets;
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    if (!this.pending && buf.length >= 4 && buf.readUInt32LE(0) !== 0x0a0d0d0a && this.fresh) {
      this.broken = true;
      this.skip('not a pcapng stream');
      return packets;
    }
    this.fresh = false;
    let used: number;
    try {
      used = this.blocks.read(buf, packets, this.skip);
    } catch {
      this.skip('unreadable block');
      used = buf.length;
    }
    const rest = buf.length - used;
    if (rest > this.maxBlockBytes) {
      this.broken = true;
      this.skip('block too long');
      this.pending = null;
    } else {
      // A copy: a view would pin the whole chunk until the block completes.
      this.pending = rest > 0 ? Buffer.from(buf.subarray(used)) : null;
    }
    return packets;
  }

  private fresh = true;
}

function u32(buf: Buffer, o: number, le: boolean): number {
  return le ? buf.readUInt32LE(o) : buf.readUInt32BE(o);
}

/** if_tsresol option (code 9): 10^-n or 2^-n seconds; default µs. */
function tsresol(buf: Buffer, start: number, end: number, le: boolean): number {
  let o = start;
  while (o + 4 <= end) {
    const code = le ? buf.readUInt16LE(o) : buf.readUInt16BE(o);
    const len = le ? buf.readUInt16LE(o + 2) : buf.readUInt16BE(o + 2);
    if (code === 0) break;
    if (code === 9 && len >= 1) {
      const v = buf[o + 4]!;
      return v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
    }
    o += 4 + ((len + 3) & ~3);
  }
  return 1e6;
}

/** Link layer → IP. Ethernet, Linux cooked (v1, v2), raw IP, BSD loopback. */
export function decodeFrame(f: Buffer, linktype: number, tsUs: number, packets: CapturedPacket[], skip: Skip): void {
  let ip: Buffer;
  let ethertype: number;
  switch (linktype) {
    case 1: {
      let o = 12;
      ethertype = f.readUInt16BE(o);
      while (ethertype === 0x8100 || ethertype === 0x88a8) {
        o += 4;
        ethertype = f.readUInt16BE(o);
      }
      ip = f.subarray(o + 2);
      break;
    }
    case 113:
      ethertype = f.readUInt16BE(14);
      ip = f.subarray(16);
      break;
    case 276:
      ethertype = f.readUInt16BE(0);
      ip = f.subarray(20);
      break;
    case 101:
    case 228:
    case 229:
      ip = f;
      ethertype = (f[0]! >> 4) === 6 ? 0x86dd : 0x0800;
      break;
    case 0: {
      const family = f.readUInt32LE(0);
      ip = f.subarray(4);
      ethertype = family === 2 ? 0x0800 : 0x86dd;
      break;
    }
    default:
      return skip(`link type ${linktype}`);
  }
  if (ethertype === 0x0800) decodeIpv4(ip, tsUs, packets, skip);
  else if (ethertype === 0x86dd) decodeIpv6(ip, tsUs, packets, skip);
  else skip('not IP');
}

function decodeIpv4(p: Buffer, tsUs: number, packets: CapturedPacket[], skip: Skip): void {
  const ihl = (p[0]! & 0x0f) * 4;
  const total = p.readUInt16BE(2);
  const flagsFrag = p.readUInt16BE(6);
  if (flagsFrag & 0x1fff || flagsFrag & 0x2000) return skip('IP fragment');
  const src = `${p[12]}.${p[13]}.${p[14]}.${p[15]}`;
  const dst = `${p[16]}.${p[17]}.${p[18]}.${p[19]}`;
  decodeL4(p[9]!, p.subarray(ihl, Math.min(total || p.length, p.length)), src, dst, tsUs, packets, skip);
}

function decodeIpv6(p: Buffer, tsUs: number, packets: CapturedPacket[], skip: Skip): void {
  const len = p.readUInt16BE(4);
  const next = p[6]!;
  const addr = (o: number) => ipv6Text(p.subarray(o, o + 16));
  decodeL4(next, p.subarray(40, 40 + len), `[${addr(8)}]`, `[${addr(24)}]`, tsUs, packets, skip);
}

/** RFC 5952 text: lowercase, longest run of two or more zero groups as "::". */
export function ipv6Text(b: Buffer): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(i * 2));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function decodeL4(proto: number, seg: Buffer, src: string, dst: string, tsUs: number, packets: CapturedPacket[], skip: Skip): void {
  if (proto === 17) {
    if (seg.length < 8) return skip('short UDP header');
    const len = seg.readUInt16BE(4);
    const payload = seg.subarray(8, Math.max(8, Math.min(len, seg.length)));
    const p: CapturedPacket = { tsUs, transport: 'udp', src: `${src}:${seg.readUInt16BE(0)}`, dst: `${dst}:${seg.readUInt16BE(2)}`, payload };
    if (len - 8 > payload.length) p.fullLength = len - 8;
    packets.push(p);
  } else if (proto === 6) {
    if (seg.length < 20) return skip('short TCP header');
    const off = (seg[12]! >> 4) * 4;
    const payload = seg.subarray(off);
    if (payload.length > 0) packets.push({ tsUs, transport: 'tcp', src: `${src}:${seg.readUInt16BE(0)}`, dst: `${dst}:${seg.readUInt16BE(2)}`, payload, seq: seg.readUInt32BE(4) });
  } else {
    skip(`IP protocol ${proto}`);
  }
}
