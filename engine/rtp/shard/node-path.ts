/**
 * The relay shard's packets through Node's dgram, in the shard's own thread:
 * the path used when the native one (`native-path.ts`) is not built or not
 * wanted. One 'message' listener per bound socket; the per-packet path
 * (`onPacket`) classifies the datagram, latches, counts and forwards. It
 * awaits nothing, logs nothing and allocates nothing of its own beyond what
 * dgram does for the send; everything it needs was built when the stream
 * was opened.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { rtpKind } from '../rtp-packet';
import { payloadTableFor, StreamStats } from '../stream-stats';
import type { MediaPath } from './media-path';
import type { OpenResult, Peer, ShardCall, SideFigures, SlotFigures } from './protocol';
import type { TapPacket, TapWriter } from './tap';

export interface NodePathOptions {
  host: string;
  strictSource: boolean;
  /** Engine µs = offsetUs + performance.now() × 1000: one clock mapping per shard, no BigInt per packet. */
  offsetUs: number;
  /** The shard's tap flow (`ThreadSide.capture`); the packet is reused after the call. */
  capture(p: TapPacket): void;
  tap: TapWriter;
}

let settings!: NodePathOptions;
let offsetUs = 0;
/** Filled per tapped packet and handed to `capture`, which copies it: no object per packet. */
const tapped: TapPacket = { slot: 0, side: 0, arrivalUs: 0, data: Buffer.alloc(0) };

/**
 * One bound relay port. Its one 'message' listener, attached at bind, sends
 * packets to whichever stream side holds it now; between streams (a warm
 * pair) nothing holds it and its packets are counted as stray, unless the
 * pair is lent to the SIP worker: its call may be set up, and its caller
 * sending, before the relay's open for it arrives here (the worker does not
 * wait for the relay, lease.ts). Those wait for the open like early packets.
 */
class RelaySocket {
  slot: Slot | null = null;
  side: Side | null = null;
  lent = false;
  /** What arrived while lent, before the open: replayed by it. */
  early: { msg: Buffer; from: RemoteInfo; atMs: number }[] | null = null;
  readonly rtcp: boolean;
  constructor(
    readonly sock: Socket,
    readonly port: number,
  ) {
    this.rtcp = port % 2 === 1;
    sock.on('message', (msg, from) => {
      if (this.side) onPacket(this.slot!, this.side, this.rtcp, msg, from);
      else if (this.lent) {
        if (holdBounded((this.early ??= []), { msg, from, atMs: performance.now() })) totals.stray++;
      } else totals.stray++;
    });
  }
}

/** Keeps a datagram that has nowhere to go yet (dgram gives each message its own buffer); past EARLY_MAX_PACKETS the oldest goes: true when one did. */
function holdBounded<T>(held: T[], item: T): boolean {
  const full = held.length >= EARLY_MAX_PACKETS;
  if (full) held.shift();
  held.push(item);
  return full;
}

/** An open took a lent socket: what waited goes through the stream as if it arrived now (its jitter figure sees the wait). */
function replayBeforeOpen(r: RelaySocket): void {
  r.lent = false;
  const held = r.early;
  r.early = null;
  if (!held) return;
  const oldest = performance.now() - EARLY_MAX_MS;
  for (const h of held) {
    if (h.atMs < oldest || !r.side) totals.stray++;
    else onPacket(r.slot!, r.side, r.rtcp, h.msg, h.from);
  }
}

class Side {
  rtp: RelaySocket | null = null;
  rtcp: RelaySocket | null = null;
  peerAddress: string | null = null;
  peerRtpPort = 0;
  peerRtcpPort = 0;
  latched = false;
  rtcpLatched = false;
  rtcpPackets = 0;
  /**
   * Datagrams for this side's peer that arrived before the peer was known:
   * a caller may send as soon as it has the answer, and the relay learns
   * the answer a thread hop later than the caller when the proxy rewrote it
   * on lent ports (lease.ts). Sent once the peer is known; null: none.
   */
  early: Early[] | null = null;
  readonly stats = new StreamStats();
  other!: Side;
  constructor(
    readonly port: number,
    /** 0: side A, what arrives from the caller; 1: side B, from the callee. */
    readonly index: 0 | 1,
  ) {}

  setPeer(p: Peer | null): void {
    if (!p || this.latched) return;
    this.peerAddress = p.address;
    this.peerRtpPort = p.rtpPort;
    this.peerRtcpPort = p.rtcpPort;
    if (this.early) sendEarly(this);
  }

  figures(): SideFigures {
    return { ...this.stats.snapshot(), latched: this.latched ? `${this.peerAddress}:${this.peerRtpPort}` : null, rtcpPackets: this.rtcpPackets };
  }
}

interface Early {
  msg: Buffer;
  rtcp: boolean;
  atMs: number;
}

/**
 * Per side, at most this many datagrams wait for the peer (the newest are
 * kept: a late peer wants the current audio), and none older than
 * EARLY_MAX_MS is sent: what is dropped either way is counted as `noPeer`.
 */
const EARLY_MAX_PACKETS = 16;
const EARLY_MAX_MS = 500;

interface Slot {
  slot: number;
  sides: [Side, Side];
  dirty: boolean;
  /** The recorder taps this stream's RTP. */
  recording: boolean;
}

/** Sockets of warm pairs (bound, no stream), by port: the next open of that port takes them instead of binding. */
const warm = new Map<number, RelaySocket>();
const slots = new Map<number, Slot>();
const totals = { packets: 0, bytes: 0, garbage: 0, strictDrops: 0, noPeer: 0, stray: 0, sendErrors: 0 };


/** The hot path: a datagram on one side's RTP (`rtcp` false) or RTCP socket. */
function onPacket(slot: Slot, s: Side, rtcp: boolean, msg: Buffer, from: RemoteInfo): void {
  const kind = rtpKind(msg, msg.length);
  if (kind === 'garbage') {
    totals.garbage++;
    return;
  }
  if (rtcp) {
    if (!s.rtcpLatched) {
      s.rtcpLatched = true;
      if (!s.latched) s.peerAddress = from.address;
      s.peerRtcpPort = from.port;
    }
  } else if (!s.latched) {
    // Symmetric RTP: answer where the packets come from, whatever the SDP said (NAT).
    s.latched = true;
    s.peerAddress = from.address;
    s.peerRtpPort = from.port;
    if (!s.rtcpLatched) s.peerRtcpPort = from.port + 1;
    if (s.early) sendEarly(s);
  } else if (settings.strictSource && (from.port !== s.peerRtpPort || from.address !== s.peerAddress)) {
    totals.strictDrops++;
    return;
  }
  if (kind === 'rtp') {
    const nowUs = offsetUs + performance.now() * 1000;
    s.stats.onRtp(msg, msg.length, nowUs);
    if (slot.recording) {
      tapped.slot = slot.slot;
      tapped.side = s.index;
      tapped.arrivalUs = nowUs;
      tapped.data = msg;
      settings.capture(tapped);
    }
  } else s.rtcpPackets++;
  slot.dirty = true;
  const o = s.other;
  if (o.peerAddress === null) {
    if (holdBounded((o.early ??= []), { msg, rtcp, atMs: performance.now() })) totals.noPeer++;
  } else send(o, msg, rtcp);
}

/** Out of side `o`'s socket to its peer. */
function send(o: Side, msg: Buffer, rtcp: boolean): void {
  totals.packets++;
  totals.bytes += msg.length;
  // No completion callback: with one, every send calls back into JS once the kernel took the datagram. A send that
  // fails is reported as the socket's 'error' event instead, which counts it (bind()).
  if (rtcp) o.rtcp!.sock.send(msg, o.peerRtcpPort, o.peerAddress!);
  else o.rtp!.sock.send(msg, o.peerRtpPort, o.peerAddress!);
}

/** The peer of `o` is known now: what waited for it goes out in arrival order, unless it is too old. */
function sendEarly(o: Side): void {
  const held = o.early!;
  o.early = null;
  if (!o.rtp || !o.rtcp) {
    totals.noPeer += held.length;
    return;
  }
  const oldest = performance.now() - EARLY_MAX_MS;
  for (const h of held) {
    if (h.atMs < oldest) totals.noPeer++;
    else send(o, h.msg, h.rtcp);
  }
}

/**
 * Peers are IP addresses already (from the SDP or a packet's source). dgram
 * would still run each send through dns.lookup, which answers an IP literal
 * on the next tick: an extra tick and closure per packet. This answers at once.
 */
const ipLiteral = (address: string, _family: unknown, callback: (err: Error | null, address: string, family: number) => void): void => callback(null, address, isIPv6(address) ? 6 : 4);

/** A warm socket for the port, or a new one bound to it. */
function take(port: number): RelaySocket | Promise<RelaySocket> {
  const w = warm.get(port);
  if (w) {
    warm.delete(port);
    return w;
  }
  return bind(port).then((sock) => new RelaySocket(sock, port));
}

function bind(port: number): Promise<Socket> {
  const host = settings.host;
  return new Promise<Socket>((resolve, reject) => {
    // The kernel's default receive buffer (net.core.rmem_default, 208 KiB) holds seconds of one stream at 50 packets/s.
    const sock = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', lookup: ipLiteral as never });
    const failed = (err: Error) => {
      sock.close();
      reject(err);
    };
    sock.once('error', failed);
    sock.bind(port, host, () => {
      sock.off('error', failed);
      // An ICMP error or a failed send after binding must not kill the thread.
      sock.on('error', () => totals.sendErrors++);
      resolve(sock);
    });
  });
}


function closeSocket(r: RelaySocket): void {
  try {
    r.sock.close();
  } catch {
    // already closed
  }
}

/** Ends a side's hold on its sockets: they stay bound as warm (the pool keeps the pair warm), or close. */
function closeSide(s: Side, keepWarm: boolean): void {
  if (s.early) totals.noPeer += s.early.length;
  s.early = null;
  for (const r of [s.rtp, s.rtcp]) {
    if (!r) continue;
    r.slot = null;
    r.side = null;
    r.lent = false;
    if (keepWarm) warm.set(r.port, r);
    else closeSocket(r);
  }
  s.rtp = null;
  s.rtcp = null;
}

async function open(c: Extract<ShardCall, { op: 'open' }>): Promise<OpenResult> {
  if (slots.has(c.slot)) return { ok: true }; // a repeated open (a retransmitted offer): already bound
  const a = new Side(c.ports[0], 0);
  const b = new Side(c.ports[1], 1);
  a.other = b;
  b.other = a;
  a.setPeer(c.peers[0]);
  b.setPeer(c.peers[1]);
  const table = payloadTableFor(c.clockRates);
  a.stats.useTable(table);
  b.stats.useTable(table);
  const slot: Slot = { slot: c.slot, sides: [a, b], dirty: false, recording: c.recording === true };
  const ports = [a.port, a.port + 1, b.port, b.port + 1];
  const taken = ports.map(take);
  // All warm (the usual case once the pool has cycled): no bind, nothing to wait for.
  const results = taken.every((t) => t instanceof RelaySocket)
    ? (taken as RelaySocket[]).map((value) => ({ status: 'fulfilled' as const, value }))
    : await Promise.allSettled(taken);
  const busy: number[] = [];
  let error = '';
  results.forEach((r, i) => {
    if (r.status === 'rejected') {
      const rtp = ports[i]! & ~1;
      if (!busy.includes(rtp)) busy.push(rtp);
      error ||= (r.reason as Error).message;
    }
  });
  const sockets = results.map((r) => (r.status === 'fulfilled' ? r.value : null));
  if (busy.length > 0) {
    // The pool marks the busy pairs cold and the others released cold: close what was bound.
    for (const s of sockets) if (s) closeSocket(s);
    return { ok: false, busy, error };
  }
  [a.rtp, a.rtcp, b.rtp, b.rtcp] = sockets as [RelaySocket, RelaySocket, RelaySocket, RelaySocket];
  for (const s of slot.sides) {
    s.rtp!.slot = s.rtcp!.slot = slot;
    s.rtp!.side = s.rtcp!.side = s;
  }
  slots.set(c.slot, slot);
  for (const s of slot.sides) {
    if (s.rtp!.lent) replayBeforeOpen(s.rtp!);
    if (s.rtcp!.lent) replayBeforeOpen(s.rtcp!);
  }
  return { ok: true };
}

/**
 * Binds the pairs' sockets as warm ones: lent to the SIP worker (`lend` op),
 * or bound ahead of any offer (`warm` op, the relay's start); the RTP ports
 * of the pairs that could not be bound, closed again.
 */
async function bindWarm(pairs: readonly number[], lent: boolean): Promise<number[]> {
  const busy: number[] = [];
  await Promise.all(
    pairs.map(async (rtp) => {
      const had = [warm.get(rtp), warm.get(rtp + 1)];
      if (had[0] && had[1]) {
        had[0].lent = had[1].lent = lent;
        return;
      }
      const [a, b] = await Promise.allSettled([take(rtp), take(rtp + 1)]);
      if (a.status === 'fulfilled' && b.status === 'fulfilled') {
        a.value.lent = b.value.lent = lent;
        warm.set(rtp, a.value);
        warm.set(rtp + 1, b.value);
        return;
      }
      for (const r of [a, b]) if (r.status === 'fulfilled') closeSocket(r.value);
      busy.push(rtp);
    }),
  );
  return busy;
}

function figuresOf(slot: Slot): SlotFigures {
  return { slot: slot.slot, sides: [slot.sides[0].figures(), slot.sides[1].figures()] };
}

/** The dgram path; a shard makes one. */
export function createNodePath(o: NodePathOptions): MediaPath {
  settings = o;
  offsetUs = o.offsetUs;
  return {
    name: 'node',
    open,
    peer(slot, side, peer) {
      slots.get(slot)?.sides[side].setPeer(peer);
    },
    record(slot, on) {
      const s = slots.get(slot);
      if (s) s.recording = on;
      return s !== undefined;
    },
    close(slot, keepWarm) {
      const s = slots.get(slot);
      if (!s) return null;
      slots.delete(slot);
      closeSide(s.sides[0], keepWarm);
      closeSide(s.sides[1], keepWarm);
      return figuresOf(s);
    },
    bindWarm,
    takeChanged() {
      const changed: SlotFigures[] = [];
      for (const s of slots.values()) {
        if (!s.dirty) continue;
        s.dirty = false;
        changed.push(figuresOf(s));
      }
      return changed;
    },
    stats() {
      return { sessions: slots.size, ...totals, tapOverflow: o.tap.overflow, tapDropped: o.tap.takeDropped() };
    },
    closeAll() {
      for (const s of slots.values()) {
        closeSide(s.sides[0], false);
        closeSide(s.sides[1], false);
      }
      slots.clear();
      for (const r of warm.values()) closeSocket(r);
      warm.clear();
    },
  };
}
