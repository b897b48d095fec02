/**
 * The RTP relay (rtpengine's job in the story's call path), on the main
 * thread: the sessions, the port pool (one sub-range per shard), the
 * timeouts' sweep and the figures. The packets themselves move in the shard
 * threads (`shard/entry.ts`); this never touches one.
 *
 * Two ways in, one set of operations: NG commands (`ng/server.ts`, what
 * Kamailio's rtpengine module sends) and the proxy's own SDP rewriting.
 * - offer: read the SDP (bad → 488), take two port pairs per relayed m=
 *   line from one shard (none free → 503, counted), bind them there, and
 *   write the relay's address and B-side ports into the SDP for the callee;
 * - answer: learn the callee's address, write the A-side ports for the caller;
 * - delete / a timeout / stop: close the sockets, return the ports to the
 *   pool (quarantined first), count the reason.
 * Operations on one Call-ID run one after another, never interleaved.
 */
import type { ComponentImpl } from '../component';
import type { EngineContext } from '../engine';
import { listenErrorText } from '../net/listen-error';
import { formatHostPort, type HostPort } from '../net/host-port';
import { senderTag, type MediaRequest, type SdpOutcome } from './media-sdp';
import { NgServer } from './ng/server';
import { readEphemeralRange, ephemeralOverlap } from './ephemeral';
import type { LeaseGrant, LeasedAnswer, LeasedOffer, LeaseUnit } from './lease';
import { readSdp, rewriteSdp, type SdpMedia } from './sdp';
import { clockRatesOf, codecOf, mediaEvent, peerOf, type RelaySession, type RelayStream, type SdpRef } from './session';
import { Shards, type Shard } from './shards';
import type { MediaPathChoice, OpenResult, Peer, ShardStats, SlotFigures } from './shard/protocol';
import { readTap } from './shard/tap';
import { CLOSE_REASONS, STREAM_REPORTS, type CloseReason, type RelaySessionRow, type RelayStats, type RelayTimeouts } from './stats';
import { dueTimeout } from './timeouts';
import { readWarmPairBudget } from './warm-pairs';

export interface RelaySettings {
  /** `--rtp off`: the relay does not run (a start answers with this). */
  off?: boolean;
  /** The NG control listener (null: none). */
  ng: HostPort | null;
  host: string;
  min: number;
  max: number;
  timeouts: RelayTimeouts;
  quarantineMs: number;
  /** Worker threads relaying packets. */
  shards: number;
  /** Released pairs kept bound for the next offers (default: from the open-file limit, `warm-pairs.ts`). */
  warmPairs?: number;
  strictSource: boolean;
  /** How packets move: 'auto' (native when built, else Node's dgram), or one of them (`shard/media-path.ts`). */
  mediaPath?: MediaPathChoice;
  /** The shards' built script (tests of the desktop bundle); by default from source or beside the main bundle. */
  shardWorkerUrl?: URL;
}

/** How often the timeouts are evaluated and the per-second figures sampled. */
const SWEEP_MS = 1_000;
/**
 * The recorder's side of the tap: each tapped packet with its call, its
 * direction (what arrived from the caller or from the callee), when, and the
 * datagram (a view the receiver may keep); and the packets of a call the tap
 * dropped on the way (the main thread too far behind), so its recording
 * counts them.
 */
export interface RelayTap {
  packet(callId: string, direction: 'caller' | 'callee', arrivalUs: number, packet: Buffer): void;
  dropped(callId: string, direction: 'caller' | 'callee', count: number): void;
}

/** Tries to find pairs nobody else holds before an offer is refused. */
const BIND_ATTEMPTS = 4;
const OLDEST_SHOWN = 10;
/** Samples kept for the per-second rates (one per sweep). */
const RATE_WINDOW_S = 10;
/**
 * Streams lent to the SIP worker per shard (lease.ts), topped up when it
 * holds fewer than half. A top-up is a round trip through the main thread
 * and the shard (and a bind per socket for cold pairs), so the half left
 * must outlast it: 128 units last 170 ms of offers at 750 calls/s on one
 * shard. With 32 (21 ms), at 750 calls/s 12-1,732 initial offers per 20 s
 * run found the lease dry and took the slow way (`leaseMissed`). Each unit
 * holds four bound ports, shown as lent (not in use). Never more than 1/16
 * of a shard's ports, so a small pool stays for NG and the relay's own
 * offers (a pool under 64 ports lends nothing).
 */
const LEASE_UNITS_PER_SHARD = 256;
/** Pairs the relay binds ahead at start (split between its shards, within their warm budgets), and per shard call. */
const BIND_AHEAD_PAIRS = 2_048;
const BIND_AHEAD_SLICE = 128;
const LEASE_MAX_SHARE = 1 / 16;

const zeroClosed = (): Record<CloseReason, number> => Object.fromEntries(CLOSE_REASONS.map((r) => [r, 0])) as Record<CloseReason, number>;

export class Relay implements ComponentImpl {
  readonly name = 'relay' as const;
  private shards: Shards | null = null;
  private readonly sessions = new Map<string, RelaySession>();
  private readonly bySlot = new Map<number, { session: RelaySession; stream: RelayStream }>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private slotSeq = 0;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly closed = zeroClosed();
  /** Counters of shards that ran before (a restart keeps the totals). */
  private readonly packets = { relayed: 0, bytes: 0, garbage: 0, strictDrops: 0, noPeer: 0, stray: 0, sendErrors: 0 };
  private readonly shardTotals = new Map<number, ShardStats>();
  private readonly samples: { ms: number; allocations: number; releases: number; packets: number }[] = [];
  private proxyEpoch = 0;
  private overlap: string | null = null;
  private stopReason: CloseReason = 'manual';
  private ng: NgServer | null = null;
  /** What the running shards and listener were started with (a change of these needs a restart; timeouts do not). */
  private started: StartedShape | null = null;
  /** The relay address the running shards bind to (per call, without rebuilding the settings). */
  private address = '';
  /** Where units lent to the SIP worker go (null: no proxy to lend to), the lease's epoch, and what it holds now by side-A port. */
  private leaseSend: ((g: LeaseGrant) => boolean) | null = null;
  private leaseEpoch = 0;
  private readonly lent = new Map<number, LeaseUnit>();
  private toppingUp = false;
  /** Ports a top-up took from the pool and has not lent (or given back) yet: lent as far as the figures go. */
  private lendingPorts = 0;
  private readonly leaseCounts = { leased: 0, stale: 0, missed: 0 };
  /** What `bindAhead` bound at start, and how long it took (null until it is done). */
  private boundAhead: { pairs: number; ms: number } | null = null;

  constructor(
    private readonly ctx: EngineContext,
    private readonly settings: () => RelaySettings,
  ) {}

  get endpoint(): string {
    const s = this.settings();
    return `udp ${s.host}:${s.min}-${s.max}${s.ng ? `, NG ${formatHostPort(s.ng)}` : ''}`;
  }

  offReason(): string | null {
    return this.settings().off ? 'disabled with --rtp off: media is not relayed, SDP passes untouched' : null;
  }

  detail(): string {
    const s = this.settings();
    const off = this.offReason();
    if (off) return off;
    const warn = [s.timeouts.finalTimeout === 0 ? 'final-timeout is off: sessions nobody deletes hold their ports for ever' : null, this.overlap].filter(Boolean);
    const pool = this.shards?.poolStats(this.lent.size * 4 + this.lendingPorts);
    const head = pool ? `${this.sessions.size} sessions, ${pool.inUse} of ${pool.total} ports in use, ${this.shards!.list.length} shard${this.shards!.list.length === 1 ? '' : 's'}${this.boundAhead ? `; ${this.boundAhead.pairs} pairs bound ahead at start in ${this.boundAhead.ms} ms` : ''}` : 'media is not relayed: SDP passes untouched';
    return [head, ...warn].join('; ');
  }

  async start(): Promise<void> {
    const s = this.settings();
    if (s.off) throw new Error('the relay is off: disabled with --rtp off');
    this.overlap = ephemeralOverlap(s.min, s.max, readEphemeralRange());
    const origin = this.ctx.clock.origin ?? { wallUs: this.ctx.clock.nowUs(), hrNs: process.hrtime.bigint() };
    const shards = new Shards({
      host: s.host,
      min: s.min,
      max: s.max,
      count: s.shards,
      quarantineMs: s.quarantineMs,
      warmPairs: s.warmPairs ?? readWarmPairBudget(),
      strictSource: s.strictSource,
      ...(s.mediaPath ? { mediaPath: s.mediaPath } : {}),
      monoMs: () => this.ctx.clock.monoMs(),
      clockOrigin: origin,
      onStats: (stats, drops) => this.onShardStats(stats, drops),
      onFailure: (index, err) => this.ctx.fail('relay', new Error(`relay shard ${index}: ${err.message}`)),
      onOpenFailed: (_slot, error) => this.ctx.drops.count('relay', `warm-open-failed (${error})`),
      onTap: (batch) => this.onTapBatch(batch),
      ...(s.shardWorkerUrl ? { workerUrl: s.shardWorkerUrl } : {}),
    });
    await shards.start();
    this.address = s.host;
    this.shards = shards;
    if (s.ng) {
      const ng = new NgServer(this, this.ctx.drops, () => this.ctx.clock.monoMs());
      try {
        await ng.listen(s.ng);
      } catch (err) {
        this.shards = null;
        await shards.stop();
        throw new Error(`NG control ${formatHostPort(s.ng)}: ${listenErrorText(err as NodeJS.ErrnoException)}`);
      }
      this.ng = ng;
    }
    this.started = startedShape(s);
    this.stopReason = 'manual';
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
    void this.topUpLease();
    this.boundAhead = null;
    void this.bindAhead(shards);
  }

  /**
   * The relay's cold path: until released pairs come back warm (a call's
   * length plus the quarantine), every offer and every lease top-up binds
   * its sockets, a shard round trip the SIP worker's lease can run dry
   * waiting for. So at start each shard binds pairs ahead, up to its warm
   * budget and BIND_AHEAD_PAIRS, in slices the lease can pass between.
   */
  private async bindAhead(shards: Shards): Promise<void> {
    const t0 = this.ctx.clock.monoMs();
    let bound = 0;
    for (const shard of shards.list) {
      for (let left = Math.floor(BIND_AHEAD_PAIRS / shards.list.length); left > 0 && this.shards === shards; ) {
        const pairs = shard.pool.takeToWarm(Math.min(left, BIND_AHEAD_SLICE));
        if (pairs.length === 0) break;
        left -= pairs.length;
        let busy: number[];
        try {
          busy = await shards.bindWarm(shard.index, pairs);
        } catch {
          busy = pairs; // the shard did not answer (stopping): whether they are bound is not known, so none is handed out warm
        }
        for (const p of pairs) shard.pool.warmed(p, !busy.includes(p));
        bound += pairs.length - busy.length;
      }
    }
    this.boundAhead = { pairs: bound, ms: Math.round(this.ctx.clock.monoMs() - t0) };
  }

  /** The engine is shutting down: sessions closed from now on are counted as `shutdown`, not `manual`. */
  shuttingDown(): void {
    this.stopReason = 'shutdown';
  }

  /** New timeouts apply at the next sweep; a new address, range, listener or shard count needs a restart. */
  async applyLive(): Promise<boolean> {
    return this.started !== null && JSON.stringify(this.started) === JSON.stringify(startedShape(this.settings()));
  }

  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    // The worker stops using what it holds; the pool goes with the shards.
    this.lent.clear();
    this.leaseEpoch++;
    this.leaseSend?.({ epoch: this.leaseEpoch, address: this.address, units: [] });
    this.ng?.close();
    this.ng = null;
    this.started = null;
    const reason = this.stopReason;
    await Promise.all([...this.sessions.keys()].map((id) => this.delete(id, reason).catch(() => false)));
    const shards = this.shards;
    this.shards = null;
    await shards?.stop();
    // The shards' last stats came with their stop: keep their totals for the next start.
    Object.assign(this.packets, this.totalPackets());
    this.shardTotals.clear();
    this.bySlot.clear();
    this.samples.length = 0;
  }

  get running(): boolean {
    return this.shards !== null;
  }

  /** The proxy (re)started: sessions its earlier runs set up, and no SIP of this run touches, are orphans. */
  proxyStarted(): void {
    this.proxyEpoch++;
  }

  // ------------------------------------------------------------------ offer

  /** `leaseDry`: the SIP worker sends this initial offer because its lease had run dry (counted as `leaseMissed`). */
  offer(req: MediaRequest, leaseDry = false): Promise<SdpOutcome> {
    if (leaseDry) this.leaseCounts.missed++;
    return this.serial(req.callId, () => this.doOffer(req));
  }

  private async doOffer(req: MediaRequest): Promise<SdpOutcome> {
    const shards = this.shards;
    if (!shards) return { ok: false, status: 503, reason: 'the relay is not running' };
    const sdp = readSdp(req.sdp);
    if (!sdp.ok) return { ok: false, status: 488, reason: `bad SDP: ${sdp.reason}` };
    const existing = this.sessions.get(req.callId);
    // An offer from the callee (a late offer in a 2xx, a re-INVITE the other way) faces the other sides.
    const sender = senderTag(req, 'offer');
    const reverse = existing ? existing.toTag !== null && sender === existing.toTag : sender !== req.fromTag;
    const session = existing ?? this.newSession(req, shards.pick());
    session.offerSide = reverse ? 1 : 0;
    if (!existing && reverse) session.toTag = sender;
    if (req.via === 'sip') session.proxyEpoch = this.proxyEpoch;
    const fresh = sdp.media.filter((m) => m.port !== 0 && !session.streams.some((st) => st.mediaIndex === m.index));
    if (fresh.length > 0) {
      const added = await this.openStreams(session, fresh, reverse);
      if (!added.ok) return added; // what it had opened, it closed again
    }
    const towards: 0 | 1 = reverse ? 0 : 1;
    // Streams opened just now got their peer with the open; a re-offer tells the shard where the sender went.
    if (existing) this.learnPeers(session, sdp.media, reverse ? 1 : 0);
    if (!existing) {
      this.sessions.set(session.callId, session);
      this.shards!.list[session.shard]!.sessions++;
      session.sdpRefs[session.offerSide] = req.ref;
      for (const st of session.streams) this.emitOpened(session, st, session.offerSide);
    }
    return { ok: true, sdp: rewriteSdp(req.sdp, { address: this.address, ports: portsFor(session, towards) }) };
  }

  private newSession(req: Pick<MediaRequest, 'callId' | 'fromTag' | 'via'>, shard: Shard): RelaySession {
    return {
      callId: req.callId,
      fromTag: req.fromTag,
      toTag: null,
      via: req.via,
      state: 'offered',
      offerSide: 0,
      shard: shard.index,
      createdMs: this.ctx.clock.monoMs(),
      createdUs: this.ctx.clock.nowUs(),
      answeredMs: null,
      streams: [],
      sdpRefs: [null, null],
      proxyEpoch: req.via === 'sip' ? this.proxyEpoch : null,
      recording: false,
    };
  }

  /** Two pairs per m= line from the session's shard, bound there; all or nothing. */
  private async openStreams(session: RelaySession, media: SdpMedia[], reverse: boolean): Promise<SdpOutcome> {
    const shards = this.shards!;
    const shard = shards.list[session.shard]!;
    const opened: RelayStream[] = [];
    for (const m of media) {
      let st: RelayStream | null = null;
      let lastError = '';
      for (let attempt = 0; attempt < BIND_ATTEMPTS && !st; attempt++) {
        const ports = shards.allocate(shard, 2);
        if (!ports) {
          await this.closeStreams(session, opened);
          return { ok: false, status: 503, reason: `RTP port pool exhausted (${shard.pool.stats().free} of ${shard.pool.stats().total} ports free in shard ${shard.index})` };
        }
        const slot = ++this.slotSeq;
        const peer = peerOf(m);
        const peers = reverse ? ([null, peer] as const) : ([peer, null] as const);
        const pair: [number, number] = [ports[0]!, ports[1]!];
        // Warm pairs are bound already: nothing to wait for (the usual case once the pool has cycled).
        const rates = clockRatesOf(m);
        const warm = shard.pool.isWarm(pair[0]) && shard.pool.isWarm(pair[1]) && shards.openWarm(shard.index, slot, pair, peers, rates, session.recording);
        const r: OpenResult = warm ? { ok: true } : await shards.open(shard.index, slot, pair, peers, rates, session.recording).catch((err: Error) => ({ ok: false as const, busy: [] as number[], error: err.message }));
        if (r.ok) {
          st = newStream(slot, m, pair, peers, reverse);
          break;
        }
        lastError = r.error;
        for (const p of ports) {
          if (r.busy.includes(p)) shard.pool.busy(p);
          else shard.pool.release(p);
        }
        if (r.busy.length === 0) break; // not a port conflict: trying other ports will not help
      }
      if (!st) {
        await this.closeStreams(session, opened);
        return { ok: false, status: 503, reason: `cannot bind relay ports: ${lastError}` };
      }
      opened.push(st);
      session.streams.push(st);
      this.bySlot.set(st.slot, { session, stream: st });
    }
    return { ok: true, sdp: '' };
  }

  /**
   * The SDP's addresses for one side's peers (a latched side keeps where its
   * packets come from). Not awaited: messages to a shard arrive in order, and
   * until this one does, packets from that side latch it anyway.
   */
  private learnPeers(session: RelaySession, media: SdpMedia[], side: 0 | 1): void {
    const shards = this.shards!;
    for (const m of media) {
      const st = session.streams.find((x) => x.mediaIndex === m.index);
      const peer = peerOf(m);
      if (!st || !peer) continue;
      st.peers[side] = peer;
      st.rates[side] = clockRatesOf(m);
      if (st.codec === null) st.codec = codecOf(m);
      if (!shards.setPeer(session.shard, st.slot, side, peer)) this.ctx.drops.count('relay', 'peer-update-lost (shard gone)');
    }
  }

  // ----------------------------------------------------------------- answer

  answer(req: MediaRequest): Promise<SdpOutcome> {
    return this.serial(req.callId, () => this.doAnswer(req));
  }

  private async doAnswer(req: MediaRequest): Promise<SdpOutcome> {
    if (!this.shards) return { ok: false, status: 503, reason: 'the relay is not running' };
    const session = this.sessions.get(req.callId);
    if (!session) return { ok: false, status: 481, reason: `no relay session for Call-ID ${req.callId} (never offered, or already closed)` };
    const sdp = readSdp(req.sdp);
    if (!sdp.ok) return { ok: false, status: 488, reason: `bad SDP: ${sdp.reason}` };
    const sender = senderTag(req, 'answer');
    const side: 0 | 1 = sender === session.fromTag ? 0 : sender !== null && sender === session.toTag ? 1 : session.offerSide === 0 ? 1 : 0;
    if (req.via === 'sip') session.proxyEpoch = this.proxyEpoch;
    if (side === session.offerSide) {
      // The offerer again: a retransmitted 2xx carrying a late offer. Rewritten as the first one was; it answers nothing.
      this.learnPeers(session, sdp.media, side);
      return { ok: true, sdp: rewriteSdp(req.sdp, { address: this.address, ports: portsFor(session, side === 1 ? 0 : 1) }) };
    }
    if (side === 1 && sender !== null) session.toTag = sender;
    this.answered(session, sdp.media, side, req.ref);
    return { ok: true, sdp: rewriteSdp(req.sdp, { address: this.address, ports: portsFor(session, side === 1 ? 0 : 1) }) };
  }

  /** What an answer tells the session, however it came (relay.answer, or rewritten by the proxy on lent ports). */
  private answered(session: RelaySession, media: SdpMedia[], side: 0 | 1, sdpRef: SdpRef | null): void {
    this.learnPeers(session, media, side);
    if (session.state === 'offered') {
      session.state = 'answered';
      session.answeredMs = this.ctx.clock.monoMs();
    }
    session.sdpRefs[side] ??= sdpRef;
    for (const st of session.streams) this.emitOpened(session, st, side);
  }

  // ------------------------------------------------------ the proxy's lease

  /**
   * Lends streams to the SIP worker through `send` (lease.ts), a new epoch
   * each time; null: the proxy stopped, and what it held comes back to the
   * pool. Units are lent while the relay runs.
   */
  lendTo(send: ((g: LeaseGrant) => boolean) | null): void {
    const shards = this.shards;
    for (const u of this.lent.values()) {
      const pool = shards?.list[u.shard]?.pool;
      // Bound in the shard and in no stream: back to the pool warm (their sockets stay in the shard's warm set).
      pool?.release(u.ports[0], true);
      pool?.release(u.ports[1], true);
    }
    this.lent.clear();
    this.leaseEpoch++;
    this.leaseSend = send;
    void this.topUpLease();
  }

  /**
   * The worker forwarded an initial offer on lent units: they are the call's
   * now (taken out of the lease at once, in arrival order), and the session
   * is built as doOffer builds it.
   */
  offerLeased(o: LeasedOffer): void {
    if (o.epoch !== this.leaseEpoch || !o.streams.every((st) => this.lent.get(st.ports[0])?.shard === o.shard)) {
      this.ctx.drops.count('relay', 'leased-offer-stale (units of an earlier relay or proxy run: media not relayed)');
      this.leaseCounts.stale++;
      return;
    }
    this.leaseCounts.leased++;
    for (const st of o.streams) this.lent.delete(st.ports[0]);
    void this.topUpLease();
    void this.serial(o.callId, async () => this.openLeased(o));
  }

  private async openLeased(o: LeasedOffer): Promise<void> {
    const shards = this.shards;
    const shard = shards?.list[o.shard];
    if (!shards || !shard) return;
    if (this.sessions.has(o.callId)) {
      // NG set up this Call-ID already: the proxy's units go back, and the other session stays as it was.
      for (const st of o.streams) for (const p of st.ports) shard.pool.release(p, true);
      this.ctx.drops.count('relay', 'leased-offer-for-existing-session (media of that INVITE not relayed)');
      return;
    }
    const session = this.newSession({ callId: o.callId, fromTag: o.fromTag, via: 'sip' }, shard);
    session.sdpRefs[0] = o.ref;
    for (const { mediaIndex, ports } of o.streams) {
      const m = o.media.find((x) => x.index === mediaIndex);
      if (!m) continue;
      const st = newStream(++this.slotSeq, m, ports, [peerOf(m), null], false);
      session.streams.push(st);
      this.bySlot.set(st.slot, { session, stream: st });
    }
    this.sessions.set(session.callId, session);
    shard.sessions++;
    // Opened before the shard opens them: the caller may be sending already, and a recorder that records every call
    // (the host, on this event) sets session.recording now, so the open taps from the first packet, held ones included.
    for (const st of session.streams) this.emitOpened(session, st, 0);
    for (const st of session.streams) {
      if (!shards.openWarm(shard.index, st.slot, st.ports, st.peers, st.rates[0], session.recording)) this.ctx.drops.count('relay', 'leased-open-lost (shard gone)');
    }
  }

  /** The worker relayed the answer to a leased offer, rewritten on the lent ports. */
  answerLeased(a: LeasedAnswer): void {
    if (a.epoch !== this.leaseEpoch) return;
    void this.serial(a.callId, async () => {
      const session = this.sessions.get(a.callId);
      if (!session) return;
      session.toTag = a.toTag;
      session.proxyEpoch = this.proxyEpoch;
      this.answered(session, a.media, 1, a.ref);
    });
  }

  /** Lends each shard up to LEASE_UNITS_PER_SHARD streams once it holds fewer than half; one top-up at a time. */
  private async topUpLease(): Promise<void> {
    if (this.toppingUp) return;
    const shards = this.shards;
    const send = this.leaseSend;
    const epoch = this.leaseEpoch;
    if (!shards || !send) return;
    this.toppingUp = true;
    const units: LeaseUnit[] = [];
    try {
      for (const shard of shards.list) {
        let held = 0;
        for (const u of this.lent.values()) if (u.shard === shard.index) held++;
        const target = Math.min(LEASE_UNITS_PER_SHARD, Math.floor((shard.pool.stats().total * LEASE_MAX_SHARE) / 4));
        if (held < target / 2) units.push(...(await this.bindUnits(shards, shard, target - held)));
      }
      if (epoch !== this.leaseEpoch || shards !== this.shards) {
        for (const u of units) for (const p of u.ports) shards.list[u.shard]?.pool.release(p, true);
        return;
      }
      if (units.length === 0) return;
      for (const u of units) this.lent.set(u.ports[0], u);
      send({ epoch, address: this.address, units });
    } finally {
      this.lendingPorts -= units.length * 4;
      this.toppingUp = false;
    }
  }

  /** Up to n units from one shard's pool, lent in the shard (sockets bound, early packets held); pairs another process holds are marked busy. */
  private async bindUnits(shards: Shards, shard: Shard, n: number): Promise<LeaseUnit[]> {
    const pairs: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = shards.allocate(shard, 2);
      if (!p) break;
      pairs.push(p[0]!, p[1]!);
    }
    this.lendingPorts += pairs.length * 2;
    const warm = new Set(pairs.filter((p) => shard.pool.isWarm(p)));
    let failed: number[] = [];
    let busy: number[] = [];
    if (pairs.length > 0) {
      try {
        busy = await shards.lend(shard.index, pairs);
      } catch {
        failed = pairs; // the shard did not answer: the cold pairs are not bound
      }
    }
    const bad = (p: number) => busy.includes(p) || failed.includes(p);
    const units: LeaseUnit[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const a = pairs[i]!;
      const b = pairs[i + 1]!;
      if (!bad(a) && !bad(b)) {
        units.push({ shard: shard.index, ports: [a, b] });
        continue;
      }
      this.lendingPorts -= 4;
      for (const p of [a, b]) {
        if (busy.includes(p)) shard.pool.busy(p);
        else shard.pool.release(p, warm.has(p) || !failed.includes(p));
      }
    }
    return units;
  }

  // ----------------------------------------------------------------- delete

  /** Closes a session: its sockets, its ports back to the pool (quarantined), the reason counted. False when there was none. */
  delete(callId: string, reason: CloseReason): Promise<boolean> {
    return this.serial(callId, async () => {
      const s = this.sessions.get(callId);
      if (!s) return false;
      this.sessions.delete(callId);
      await this.closeStreams(s, s.streams, reason);
      const shard = this.shards?.list[s.shard];
      if (shard) shard.sessions = Math.max(0, shard.sessions - 1);
      this.closed[reason]++;
      return true;
    });
  }

  private async closeStreams(session: RelaySession, streams: RelayStream[], reason: CloseReason | null = null): Promise<void> {
    const shards = this.shards;
    const now = () => this.ctx.clock.nowUs();
    await Promise.all(
      streams.map(async (st) => {
        this.bySlot.delete(st.slot);
        const pool = shards?.list[session.shard]?.pool;
        const warm = pool?.wantsWarm() ?? false;
        const last = shards ? await shards.close(session.shard, st.slot, warm).catch(() => null) : null;
        if (last) st.figures = last.sides;
        // A close the shard never answered may have left the sockets bound or not: released cold, the next open binds (or finds them warm).
        pool?.release(st.ports[0], warm && last !== null);
        pool?.release(st.ports[1], warm && last !== null);
        if (reason) for (const side of [0, 1] as const) if (st.opened[side]) this.ctx.events.emit(mediaEvent(session, st, side, 'closed', now(), this.address, reason));
      }),
    );
    session.streams = session.streams.filter((st) => !streams.includes(st));
  }

  // ------------------------------------------------------- orphans, sweep

  /**
   * Closes the sessions set up through an earlier run of our proxy that no
   * SIP of its current run has touched: their dialogs went with the proxy
   * (the story's leak across restarts). NG sessions belong to whoever sent
   * the NG commands and are left to their timeouts. Returns how many.
   */
  async releaseOrphans(): Promise<number> {
    const orphans = [...this.sessions.values()].filter((s) => s.proxyEpoch !== null && s.proxyEpoch < this.proxyEpoch);
    const done = await Promise.all(orphans.map((s) => this.delete(s.callId, 'orphan')));
    return done.filter(Boolean).length;
  }

  private sweep(): void {
    const t = this.settings().timeouts;
    const nowMs = this.ctx.clock.monoMs();
    const nowUs = this.ctx.clock.nowUs();
    for (const s of this.sessions.values()) {
      const reason = dueTimeout({ createdMs: s.createdMs, answeredMs: s.answeredMs, lastFromCallerMs: this.lastMs(s, 0, nowMs, nowUs), lastFromCalleeMs: this.lastMs(s, 1, nowMs, nowUs) }, nowMs, t);
      if (reason) void this.delete(s.callId, reason);
      else for (const st of s.streams) this.reportStats(s, st, nowUs);
    }
    const pool = this.shards?.poolStats(this.lent.size * 4 + this.lendingPorts);
    if (pool) {
      this.samples.push({ ms: nowMs, allocations: pool.allocations, releases: pool.releases, packets: this.totalPackets().relayed });
      while (this.samples.length > RATE_WINDOW_S + 1) this.samples.shift();
    }
  }

  /** Monotonic ms of the last packet from a side's endpoint over the session's streams (null: none yet). */
  private lastMs(s: RelaySession, side: 0 | 1, nowMs: number, nowUs: number): number | null {
    let last = 0;
    for (const st of s.streams) {
      const f = st.figures[side];
      if (f && f.lastUs !== null && f.lastUs > last) last = f.lastUs;
    }
    return last === 0 ? null : nowMs - (nowUs - last) / 1000;
  }

  private onShardStats(stats: ShardStats, drops: { where: string; reason: string; count: number }[]): void {
    this.shardTotals.set(stats.index, stats);
    for (const d of drops) this.ctx.drops.setTotal(`relay.shard${stats.index}.${d.where}`, d.reason, d.count);
    if (stats.tapOverflow > 0) this.ctx.drops.setTotal(`relay.shard${stats.index}.record-tap`, 'batch-full', stats.tapOverflow);
    const tap = this.tap;
    for (const [slot, caller, callee] of stats.tapDropped) {
      const hit = this.bySlot.get(slot);
      if (!hit || !tap) continue;
      if (caller > 0) tap.dropped(hit.session.callId, 'caller', caller);
      if (callee > 0) tap.dropped(hit.session.callId, 'callee', callee);
    }
    const nowUs = this.ctx.clock.nowUs();
    for (const f of stats.changed) this.applyFigures(f, nowUs);
  }

  private applyFigures(f: SlotFigures, nowUs: number): void {
    const hit = this.bySlot.get(f.slot);
    if (!hit) return;
    const { session, stream } = hit;
    stream.figures = f.sides;
    for (const side of [0, 1] as const) if (stream.opened[side] && f.sides[side].packets > 0) stream.unreported[side] = true;
    this.reportStats(session, stream, nowUs);
  }

  /** The `stats` events due for a stream whose figures moved since its last one (from a shard report, or the sweep once it went quiet). */
  private reportStats(session: RelaySession, stream: RelayStream, nowUs: number): void {
    for (const side of [0, 1] as const) {
      if (!stream.unreported[side]) continue;
      const every = (nowUs - stream.openedUs[side] < STREAM_REPORTS.slowerAfterS * 1e6 ? STREAM_REPORTS.everyS : STREAM_REPORTS.laterEveryS) * 1e6;
      if (nowUs - stream.reportedUs[side] < every) continue;
      stream.reportedUs[side] = nowUs;
      stream.unreported[side] = false;
      this.ctx.events.emit(mediaEvent(session, stream, side, 'stats', nowUs, this.address, null));
    }
  }

  private emitOpened(session: RelaySession, st: RelayStream, side: 0 | 1): void {
    if (st.opened[side]) return;
    st.opened[side] = true;
    st.reportedUs[side] = st.openedUs[side] = this.ctx.clock.nowUs();
    this.ctx.events.emit(mediaEvent(session, st, side, 'opened', st.reportedUs[side], this.address, null));
  }

  /** Runs `fn` after every operation already queued for the same call. */
  private serial<T>(callId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.chains.get(callId) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.chains.set(callId, tail);
    void tail.then(() => {
      if (this.chains.get(callId) === tail) this.chains.delete(callId);
    });
    return run;
  }

  // --------------------------------------------------------------- recorder

  /** Where tapped packets, and the count of those the tap dropped, go (the host: the recorder). */
  tap: RelayTap | null = null;

  /** What NG's `start recording`, `stop recording` and `record call` ask for (the host: the recorder, then `record`). */
  recordingControl: ((callId: string, on: boolean) => Promise<{ ok: true } | { ok: false; reason: string }>) | null = null;

  /** Starts or stops the recorder's tap on a call's streams (and on those it opens later); false without a session. */
  record(callId: string, on: boolean): boolean {
    const s = this.sessions.get(callId);
    const shards = this.shards;
    if (!s || !shards) return false;
    s.recording = on;
    for (const st of s.streams) if (!shards.record(s.shard, st.slot, on)) this.ctx.drops.count('relay', 'record-update-lost (shard gone)');
    return true;
  }

  /** Payload type → format for each direction of a call's first stream, from the SDP of the side that sends it and of the other (static types underneath). */
  payloadsOf(callId: string): { caller: Map<number, { name: string; rate: number }>; callee: Map<number, { name: string; rate: number }> } | null {
    const st = this.sessions.get(callId)?.streams[0];
    if (!st) return null;
    const map = (first: [number, string, number][], second: [number, string, number][]) => new Map([...second, ...first].map(([pt, name, rate]) => [pt, { name, rate }] as const));
    return { caller: map(st.rates[0], st.rates[1]), callee: map(st.rates[1], st.rates[0]) };
  }

  private onTapBatch(batch: ArrayBuffer): void {
    const sink = this.tap;
    if (!sink) return;
    for (const p of readTap(batch)) {
      const hit = this.bySlot.get(p.slot);
      if (hit) sink.packet(hit.session.callId, p.side === 0 ? 'caller' : 'callee', p.arrivalUs, p.data);
    }
  }

  // ------------------------------------------------------------------ query

  /** One session as NG `query` and the API show it; null when there is none. */
  session(callId: string): RelaySession | null {
    return this.sessions.get(callId) ?? null;
  }

  /** Where the call's first relayed stream goes: the relay port the caller sends to, and the callee's; null without a session. */
  addresses(callId: string): { caller: string; callee: string } | null {
    const st = this.sessions.get(callId)?.streams[0];
    if (!st) return null;
    const host = this.address;
    return { caller: `${host}:${st.ports[0]}`, callee: `${host}:${st.ports[1]}` };
  }

  callIds(): string[] {
    return [...this.sessions.keys()];
  }

  private totalPackets(): RelayStats['packets'] {
    const t = { ...this.packets };
    for (const s of this.shardTotals.values()) {
      t.relayed += s.packets;
      t.bytes += s.bytes;
      t.garbage += s.garbage;
      t.strictDrops += s.strictDrops;
      t.noPeer += s.noPeer;
      t.stray += s.stray;
      t.sendErrors += s.sendErrors;
    }
    return t;
  }

  stats(): RelayStats | null {
    const shards = this.shards;
    if (!shards) return null;
    const s = this.settings();
    const nowMs = this.ctx.clock.monoMs();
    const nowUs = this.ctx.clock.nowUs();
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const span = first && last && last.ms > first.ms ? (last.ms - first.ms) / 1000 : 0;
    const rate = (k: 'allocations' | 'releases' | 'packets') => (span > 0 ? (last![k] - first![k]) / span : 0);
    let offered = 0;
    const rows: RelaySessionRow[] = [];
    for (const x of this.sessions.values()) {
      if (x.state === 'offered') offered++;
      if (rows.length < OLDEST_SHOWN) rows.push(this.row(x, nowMs, nowUs)); // a Map keeps insertion order: the oldest come first
    }
    return {
      address: s.host,
      ports: shards.poolStats(this.lent.size * 4 + this.lendingPorts),
      ephemeralOverlap: this.overlap,
      perSecond: { allocations: rate('allocations'), releases: rate('releases'), packets: rate('packets') },
      sessions: { live: this.sessions.size, offered, answered: this.sessions.size - offered, leased: this.leaseCounts.leased, leaseStale: this.leaseCounts.stale, leaseMissed: this.leaseCounts.missed, closed: { ...this.closed } },
      oldest: rows,
      timeouts: { ...s.timeouts },
      packets: this.totalPackets(),
      shards: shards.list.map((sh) => ({ index: sh.index, sessions: sh.sessions, loopDelayP99Us: sh.latest?.loopDelayP99Us ?? null })),
      mediaPath: { name: shards.list[0]?.ready?.mediaPath ?? 'node', why: shards.list[0]?.ready?.mediaPathWhy ?? null },
    };
  }

  private row(x: RelaySession, nowMs: number, nowUs: number): RelaySessionRow {
    const a = this.lastMs(x, 0, nowMs, nowUs);
    const b = this.lastMs(x, 1, nowMs, nowUs);
    const lastMs = a === null ? b : b === null ? a : Math.max(a, b);
    let packets = 0;
    for (const st of x.streams) packets += (st.figures[0]?.packets ?? 0) + (st.figures[1]?.packets ?? 0);
    return { callId: x.callId, ageMs: Math.round(nowMs - x.createdMs), idleMs: lastMs === null ? null : Math.round(nowMs - lastMs), state: x.state, via: x.via, streams: x.streams.length, packets };
  }
}

interface StartedShape {
  host: string;
  min: number;
  max: number;
  ng: string;
  shards: number;
  strictSource: boolean;
}

function startedShape(s: RelaySettings): StartedShape {
  return { host: s.host, min: s.min, max: s.max, ng: s.ng ? formatHostPort(s.ng) : 'off', shards: s.shards, strictSource: s.strictSource };
}

/** Media index → the relay RTP port of one side, for rewriting an SDP. */
function portsFor(session: RelaySession, side: 0 | 1): Map<number, number> {
  return new Map(session.streams.map((st) => [st.mediaIndex, st.ports[side]]));
}

/** A stream on two pairs; `reverse`: opened by a re-offer from the callee, so the SDP's rates are side B's. */
function newStream(slot: number, m: SdpMedia, ports: readonly [number, number], peers: readonly [Peer | null, Peer | null], reverse: boolean): RelayStream {
  const rates = clockRatesOf(m);
  return { slot, mediaIndex: m.index, ports: [ports[0], ports[1]], peers: [peers[0], peers[1]], codec: codecOf(m), rates: reverse ? [[], rates] : [rates, []], figures: [null, null], reportedUs: [0, 0], openedUs: [0, 0], unreported: [false, false], opened: [false, false] };
}
