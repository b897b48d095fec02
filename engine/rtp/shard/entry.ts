/**
 * A relay shard: a worker thread that owns the sockets of the sessions the
 * relay gave it and moves their packets. One event loop is a hard ceiling
 * for a Node relay (a minimal one holds ~250 calls cleanly on a 2-core
 * box), and Node 20's dgram has no SO_REUSEPORT, so the relay spreads
 * sessions over shards, each with its own sub-range of the port pool.
 *
 * The per-packet path (`onPacket`) classifies the datagram, latches, counts
 * and forwards. It awaits nothing, logs nothing and allocates nothing of its
 * own beyond what dgram does for the send; everything it needs was built
 * when the stream was opened.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createMonotonicClock } from '../../clock';
import { LoopDelayMonitor } from '../../metrics/loop-delay';
import { ThreadSide, type ThreadService } from '../../worker/thread-side';
import { rtpKind } from '../rtp-packet';
import { TapWriter, type TapPacket } from './tap';
import { PayloadTable, StreamStats } from '../stream-stats';
import type { OpenResult, Peer, ShardCall, ShardReady, ShardStart, ShardStats, ShardTell, SideFigures, SlotFigures } from './protocol';

/** A shard's capture is the recorder's tap (`tap.ts`): media reaches the ladder as the relay's stream figures. */
const tap = new TapWriter();
/**
 * Up to 256 batches of recorded RTP in flight to the main thread (~2.5 s of
 * a 250-call shard's G.711, ~12 MiB; at most 64 MiB, a batch being at most
 * tap.ts's 256 KiB): at 500 recorded calls the main
 * thread's pauses (garbage collection, a burst of call setups) outlasted the
 * default 64, and 21 % of the recorded packets were dropped.
 */
const side = new ThreadSide(tap, { maxInFlight: 256 });
/** Filled per tapped packet and handed to `side.capture`, which copies it: no object per packet. */
const tapped: TapPacket = { slot: 0, side: 0, arrivalUs: 0, data: Buffer.alloc(0) };
const loopDelay = new LoopDelayMonitor();
/** Stream figures go out at most this often (the stats themselves every 250 ms). */
const FIGURES_EVERY_MS = 1_000;

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

let settings: ShardStart | null = null;
/** Sockets of warm pairs (bound, no stream), by port: the next open of that port takes them instead of binding. */
const warm = new Map<number, RelaySocket>();
/** Engine µs = offset + performance.now() × 1000: one clock mapping per shard, no BigInt per packet. */
let offsetUs = 0;
const slots = new Map<number, Slot>();
const totals = { packets: 0, bytes: 0, garbage: 0, strictDrops: 0, noPeer: 0, stray: 0, sendErrors: 0 };
let lastFiguresMs = 0;


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
  } else if (settings!.strictSource && (from.port !== s.peerRtpPort || from.address !== s.peerAddress)) {
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
      side.capture(tapped);
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
  const host = settings!.host;
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

/** Payload tables by SDP payload map: calls from the same endpoints share one (bounded: cleared when full). */
const tables = new Map<string, PayloadTable>();
const MAX_TABLES = 256;

function tableFor(rates: ReadonlyArray<readonly [number, string, number]>): PayloadTable {
  const key = rates.map(([pt, name, rate]) => `${pt}:${name}:${rate}`).join(',');
  let t = tables.get(key);
  if (!t) {
    if (tables.size >= MAX_TABLES) tables.clear();
    t = new PayloadTable(new Map(rates.map(([pt, name, rate]) => [pt, { name, rate }] as const)));
    tables.set(key, t);
  }
  return t;
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
  const table = tableFor(c.clockRates);
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

function call(payload: unknown): unknown {
  const c = payload as ShardCall;
  switch (c.op) {
    case 'open':
      return open(c);
    case 'peer': {
      slots.get(c.slot)?.sides[c.side].setPeer(c.peer);
      return true;
    }
    case 'record': {
      const slot = slots.get(c.slot);
      if (slot) slot.recording = c.on;
      return slot !== undefined;
    }
    case 'close': {
      const slot = slots.get(c.slot);
      if (!slot) return null;
      slots.delete(c.slot);
      closeSide(slot.sides[0], c.warm);
      closeSide(slot.sides[1], c.warm);
      return figuresOf(slot);
    }
    case 'lend':
      return bindWarm(c.pairs, true);
    case 'warm':
      return bindWarm(c.pairs, false);
  }
}

const shard: ThreadService<ShardStart, ShardStats, ShardReady> = {
  async start(o) {
    settings = o;
    const clock = createMonotonicClock(o.clockOrigin);
    offsetUs = clock.nowUs() - performance.now() * 1000;
    loopDelay.start();
    return { index: o.index };
  },
  stats() {
    const now = performance.now();
    const changed: SlotFigures[] = [];
    if (now - lastFiguresMs >= FIGURES_EVERY_MS) {
      lastFiguresMs = now;
      for (const slot of slots.values()) {
        if (!slot.dirty) continue;
        slot.dirty = false;
        changed.push(figuresOf(slot));
      }
    }
    const d = loopDelay.summary();
    return { index: settings?.index ?? -1, sessions: slots.size, ...totals, tapOverflow: tap.overflow, tapDropped: tap.takeDropped(), loopDelayP99Us: d.count === 0 ? null : d.p99, changed };
  },
  call,
  tell(payload) {
    const r = call(payload);
    // An open told without waiting (warm pairs): a failure must still reach the relay.
    if (r instanceof Promise) {
      void (r as Promise<OpenResult>).then((res) => {
        if (!res.ok) side.tell({ op: 'open-failed', slot: (payload as { slot: number }).slot, error: res.error } satisfies ShardTell);
      });
    }
  },
  quiesce() {
    loopDelay.stop();
  },
  async close() {
    for (const slot of slots.values()) {
      closeSide(slot.sides[0], false);
      closeSide(slot.sides[1], false);
    }
    slots.clear();
    for (const r of warm.values()) closeSocket(r);
    warm.clear();
  },
};

side.serve(shard);
