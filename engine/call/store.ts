/**
 * The call store: one record per (source, Call-ID), built only from call
 * events of every lane, so a live call and an imported one produce the same
 * ladder. Bounded on every axis — finished calls, active calls, idle time,
 * entries per call and stored bytes — and every eviction is counted by reason.
 */
import { LIVE_SOURCE, type CallEvent, type CallSourceId, type PublishEvent, type RecordEvent, type SipCaptureEvent } from '../events';
import { LATE_DELIVERY_US, deliveryVia } from '../publish/stats';
import { Histogram } from '../metrics/histogram';
import { callKey, emptyLaneCounts, type CallRecord, type CallState } from './model';
import { advance, learnLegs, learnStream } from './progress';
import { RawSlabs } from './raw-slabs';

/** Distinct addresses/labels/methods worth sharing; beyond this strings are kept as they come. */
const MAX_INTERNED = 4096;
/** What a stored entry costs beside its raw bytes (object, strings, array slot), and a call beside its entries. */
export const ENTRY_OVERHEAD_BYTES = 200;
export const CALL_OVERHEAD_BYTES = 1_000;

export interface CallStoreOptions {
  /** Finished calls kept before the oldest is evicted. */
  maxFinishedCalls: number;
  /** Calls still in progress kept at once; beyond it the oldest is evicted and counted. */
  maxActiveCalls: number;
  /** Entries kept per call; beyond it the oldest are dropped and counted. */
  maxMessagesPerCall: number;
  /** Bytes the whole store may hold (entries and their raw bytes); beyond it the oldest calls go. */
  maxBytes: number;
  /** A call still in progress with nothing new for this long is evicted (µs); 0 = never. */
  maxIdleUs: number;
}

export const DEFAULT_CALL_STORE_OPTIONS: CallStoreOptions = {
  maxFinishedCalls: 10_000,
  maxActiveCalls: 100_000,
  maxMessagesPerCall: 500,
  maxBytes: 512 * 2 ** 20,
  maxIdleUs: 3_600 * 1e6,
};

/** Why a call left the store. */
export type EvictionReason = 'finished-limit' | 'active-limit' | 'idle' | 'bytes';
export const EVICTION_REASONS: readonly EvictionReason[] = ['finished-limit', 'active-limit', 'idle', 'bytes'];

/** A file's calls as one source. */
export interface SourceInfo {
  id: CallSourceId;
  /** "live", or the imported file's name. */
  name: string;
  /** When it was added (µs). */
  addedUs: number;
}

export class CallStore {
  /** Insertion order = creation order, so newest-first is reverse iteration. Keyed by `CallRecord.key`. */
  private readonly calls = new Map<string, CallRecord>();
  /**
   * Deliveries that arrived before their call: the application can get an
   * event before the publisher gets Redis's reply, and in `inline` mode
   * before the INVITE that made it is captured. Kept briefly (bounded),
   * recorded once the call appears; older ones are forgotten.
   */
  private readonly early = new Map<string, { atUs: number; events: PublishEvent[] }>();
  /** Finished calls in the order they finished; ones already evicted for another reason are skipped. */
  private finished: CallRecord[] = [];
  private finishedHead = 0;
  /** Entries of `finished` past the head that were evicted for another reason. */
  private finishedHoles = 0;
  /** Finished calls still stored. */
  private finishedCount = 0;
  private activeCount = 0;
  /** Of those, the calls of the live source (what the proxy has in progress). */
  private activeLiveCount = 0;
  private dirty = new Set<string>();
  /** Bytes of the records and entries themselves (a fixed cost each); the messages' bytes are in `raw`. */
  private objectBytes = 0;
  private readonly raw = new RawSlabs();
  private readonly sourceList: SourceInfo[] = [{ id: LIVE_SOURCE, name: 'live', addedUs: 0 }];
  private importSeq = 0;
  readonly trying100 = new Histogram();
  readonly evicted: Record<EvictionReason, number> = { 'finished-limit': 0, 'active-limit': 0, idle: 0, bytes: 0 };
  /** Entries rotated out of calls longer than the per-call bound, since start. */
  entriesDropped = 0;

  /** Our own copy: `setLimits` changes it, never the caller's (or the defaults). */
  readonly options: CallStoreOptions;

  constructor(options: Partial<CallStoreOptions> = {}) {
    this.options = { ...DEFAULT_CALL_STORE_OPTIONS, ...options };
  }

  get size(): number {
    return this.calls.size;
  }

  get active(): number {
    return this.activeCount;
  }

  /** Calls in progress that crossed this engine; imported calls that never ended are not among them. */
  get activeLive(): number {
    return this.activeLiveCount;
  }

  /** Bytes held by every stored call: a fixed cost per record and entry, and the slabs holding the messages' bytes. */
  get bytes(): number {
    return this.objectBytes + this.raw.bytes;
  }

  get evictedTotal(): number {
    let n = 0;
    for (const r of EVICTION_REASONS) n += this.evicted[r];
    return n;
  }

  sources(): readonly SourceInfo[] {
    return this.sourceList;
  }

  /** A new source for one imported file; its calls never merge with any other source's. */
  addSource(name: string, nowUs: number): CallSourceId {
    const id = `import-${++this.importSeq}`;
    this.sourceList.push({ id, name, addedUs: nowUs });
    return id;
  }

  /** A source with an id of its own (`watch`), added once: later calls return it unchanged. */
  ensureSource(id: CallSourceId, name: string, nowUs: number): CallSourceId {
    if (!this.sourceList.some((s) => s.id === id)) this.sourceList.push({ id, name, addedUs: nowUs });
    return id;
  }

  /** A call by its key (`CallRecord.key`): the Call-ID of a live call, or `import-N/Call-ID`. */
  get(key: string): CallRecord | undefined {
    return this.calls.get(key);
  }

  /** Every stored call, oldest first (the caller must not keep the iterator across a mutation). */
  values(): IterableIterator<CallRecord> {
    return this.calls.values();
  }

  /** Newest first. */
  list(limit: number): CallRecord[] {
    const all = [...this.calls.values()];
    return all.slice(Math.max(0, all.length - limit)).reverse();
  }

  /** Keys of calls changed since the last drain; the host batches them to the UI. */
  drainDirty(): string[] {
    const ids = [...this.dirty];
    this.dirty = new Set();
    return ids;
  }

  record(ev: CallEvent): void {
    const source = ev.source ?? LIVE_SOURCE;
    const key = callKey(source, ev.callId);
    let call = this.calls.get(key);
    // The application got an event of a call we do not keep (yet): held for the call, or forgotten.
    if (!call && ev.kind === 'publish' && ev.phase === 'delivered') return this.holdEarly(key, ev);
    // What the recorder lost of a call no longer stored (evicted while its last drops were reported) has no call to go to.
    if (!call && ev.kind === 'record' && ev.phase === 'dropped') return;
    if (!call) {
      call = this.create(key, source, ev);
      const early = this.early.get(key);
      if (early) {
        this.early.delete(key);
        this.record(ev);
        for (const d of early.events) this.record(d);
        return;
      }
    }
    if (ev.tsUs > call.updatedUs) call.updatedUs = ev.tsUs;
    call.touched = true;
    call.laneCounts[ev.kind]++;
    if (call.entries.length >= this.options.maxMessagesPerCall) this.rotate(call, 1);
    call.entries.push(ev.kind === 'sip' ? this.compact(ev, call.callId) : ev);
    this.objectBytes += ENTRY_OVERHEAD_BYTES;
    if (ev.kind === 'sip') {
      call.messageCount++;
      if (ev.retransmission) {
        call.retransmissions++;
        const kind = ev.method ?? String(ev.status);
        call.retransmissionsByKind[kind] = (call.retransmissionsByKind[kind] ?? 0) + 1;
      }
      learnLegs(call, ev);
      const end = advance(call, ev, (us) => this.trying100.record(us));
      if (end !== null) this.finish(call, end, ev.tsUs);
    } else if (ev.kind === 'publish') {
      notePublish(call, ev);
    } else if (ev.kind === 'record') {
      noteRecord(call, ev);
    } else if (ev.kind === 'media') {
      // A call that only the relay knows (an NG offer, no SIP through us: its streams name no SDP of ours) ends when its
      // last stream closes. One set up through our proxy ends by its SIP, even when its media events arrive first
      // (they come straight from the relay; its SIP comes in the SIP worker's capture batches, up to 20 ms later).
      if (learnStream(call, ev) && ev.sdp === null && call.messageCount === 0 && call.endedUs === null) this.finish(call, 'terminated', ev.tsUs);
    }
    this.dirty.add(call.key);
    if (this.bytes > this.options.maxBytes) this.evictForBytes(call.key);
  }

  /**
   * Evicts calls in progress that have been idle past `maxIdleUs` (an INVITE
   * whose BYE never came through us, a request nobody answered). Idle is
   * measured on the engine's clock between sweeps (about once a second),
   * not from the events' own timestamps: an imported call carries the times
   * of its capture file, which may be years old.
   */
  sweep(nowUs: number): void {
    const max = this.options.maxIdleUs;
    if (max <= 0 || this.activeCount === 0) return;
    for (const c of this.calls.values()) {
      if (c.endedUs !== null) continue;
      if (c.touched || c.idleSinceUs === null) {
        c.touched = false;
        c.idleSinceUs = nowUs;
      } else if (nowUs - c.idleSinceUs > max) this.evict(c, 'idle');
    }
  }

  /**
   * What a call keeps of a SIP message. Strings parsed from a message are
   * slices that keep its whole header text alive, so repeated strings are
   * interned, the Call-ID is the call's own, the branch is dropped (re-read
   * from the bytes on demand), and the bytes are copied into the store's
   * own slabs outside the JS heap: a view would pin the whole capture batch
   * (up to 192 KiB) it arrived in for as long as the call is stored.
   */
  private compact(ev: SipCaptureEvent, callId: string): SipCaptureEvent {
    const raw = this.raw.store(ev.raw);
    return {
      kind: 'sip',
      tsUs: ev.tsUs,
      callId,
      source: ev.source,
      direction: ev.direction,
      transport: ev.transport,
      src: this.intern(ev.src),
      dst: this.intern(ev.dst),
      cseqSeq: ev.cseqSeq,
      cseqMethod: this.intern(ev.cseqMethod),
      method: ev.method === null ? null : this.intern(ev.method),
      status: ev.status,
      label: this.intern(ev.label),
      branch: null,
      size: ev.size,
      raw,
      retransmission: ev.retransmission,
      ...(ev.engineTsUs !== undefined && { engineTsUs: ev.engineTsUs }),
      ...(ev.seen !== undefined && { seen: ev.seen }),
    };
  }

  private readonly interned = new Map<string, string>();

  private intern(s: string): string {
    const hit = this.interned.get(s);
    if (hit !== undefined) return hit;
    if (this.interned.size >= MAX_INTERNED) return s;
    const flat = Buffer.from(s, 'utf8').toString('utf8'); // a copy that owns its characters
    this.interned.set(flat, flat);
    return flat;
  }

  private create(key: string, source: CallSourceId, ev: CallEvent): CallRecord {
    if (this.activeCount >= this.options.maxActiveCalls) this.evictOldestActive();
    const call: CallRecord = {
      key: flatCopy(key),
      callId: flatCopy(ev.callId),
      source,
      state: 'trying',
      from: '',
      to: '',
      startedUs: ev.tsUs,
      updatedUs: ev.tsUs,
      endedUs: null,
      finalStatus: null,
      messageCount: 0,
      laneCounts: emptyLaneCounts(),
      entriesDropped: 0,
      retransmissions: 0,
      retransmissionsByKind: {},
      timings: { trying100Us: null, forwardedUs: null, ringingUs: null, answeredUs: null },
      entries: [],
      legs: [],
      inviteInUs: null,
      openRequests: null,
      sawInvite: false,
      touched: true,
      idleSinceUs: null,
      publish: null,
      media: null,
      recorder: null,
    };
    this.objectBytes += CALL_OVERHEAD_BYTES;
    this.calls.set(call.key, call);
    this.activeCount++;
    if (source === LIVE_SOURCE) this.activeLiveCount++;
    return call;
  }

  /**
   * New bounds while running (the console's settings). Lower ones take effect
   * at once: the oldest calls are evicted, and calls holding more entries
   * drop their oldest (counted like any rotation, so entry indexes stay stable).
   */
  setLimits(limits: Partial<CallStoreOptions>): void {
    Object.assign(this.options, Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)));
    if (limits.maxFinishedCalls !== undefined) this.evictFinished();
    if (limits.maxMessagesPerCall !== undefined) {
      const max = limits.maxMessagesPerCall;
      for (const call of this.calls.values()) {
        const excess = call.entries.length - max;
        if (excess <= 0) continue;
        this.rotate(call, excess);
        this.dirty.add(call.key);
      }
    }
    if (limits.maxBytes !== undefined && this.bytes > this.options.maxBytes) this.evictForBytes(null);
  }

  /** Drops a call's oldest entries (counted; indexes of the rest do not move). */
  private rotate(call: CallRecord, n: number): void {
    const gone = call.entries.splice(0, n);
    this.letGo(gone);
    call.entriesDropped += gone.length;
    this.entriesDropped += gone.length;
  }

  private finish(call: CallRecord, state: CallState, tsUs: number): void {
    call.state = state;
    call.endedUs = tsUs;
    this.activeCount--;
    if (call.source === LIVE_SOURCE) this.activeLiveCount--;
    this.finishedCount++;
    this.finished.push(call);
    this.evictFinished();
  }

  private evictFinished(): void {
    while (this.finishedCount > this.options.maxFinishedCalls && this.finishedHead < this.finished.length) {
      const c = this.finished[this.finishedHead++]!;
      if (this.calls.get(c.key) === c) this.evict(c, 'finished-limit');
      else this.finishedHoles--;
    }
    if (this.finishedHoles > 1024 && this.finishedHoles > this.finishedCount) {
      this.finished = this.finished.slice(this.finishedHead).filter((c) => this.calls.get(c.key) === c);
      this.finishedHead = 0;
      this.finishedHoles = 0;
    } else if (this.finishedHead > 4096 && this.finishedHead * 2 > this.finished.length) {
      this.finished.splice(0, this.finishedHead);
      this.finishedHead = 0;
    }
  }

  private evictOldestActive(): void {
    for (const c of this.calls.values()) {
      if (c.endedUs === null) return this.evict(c, 'active-limit');
    }
  }

  /** Oldest calls first until the store is within its byte budget; the call being recorded goes last. */
  private evictForBytes(keep: string | null): void {
    for (const c of this.calls.values()) {
      if (this.bytes <= this.options.maxBytes) return;
      if (c.key !== keep) this.evict(c, 'bytes');
    }
  }

  /** A finished call evicted for another reason leaves a hole in `finished` that `evictFinished` skips. */
  private evict(c: CallRecord, reason: EvictionReason): void {
    if (this.calls.get(c.key) !== c) return;
    this.calls.delete(c.key);
    this.dirty.delete(c.key);
    this.letGo(c.entries);
    this.objectBytes -= CALL_OVERHEAD_BYTES;
    if (c.endedUs === null) {
      this.activeCount--;
      if (c.source === LIVE_SOURCE) this.activeLiveCount--;
    } else {
      this.finishedCount--;
      if (reason !== 'finished-limit') {
        this.finishedHoles++;
        this.evictFinished();
      }
    }
    // What the record still points at is freed now; only its small shell may wait in `finished`.
    c.entries = [];
    c.legs = [];
    this.evicted[reason]++;
  }

  private holdEarly(key: string, ev: PublishEvent): void {
    const now = ev.tsUs;
    for (const [k, v] of this.early) {
      if (now - v.atUs < EARLY_DELIVERY_US && this.early.size < EARLY_DELIVERY_MAX) break;
      this.early.delete(k);
    }
    const held = this.early.get(key);
    if (held) held.events.push(ev);
    else this.early.set(key, { atUs: now, events: [ev] });
  }

  /** Entries leaving the store: their fixed cost, and their bytes' place in a slab. */
  private letGo(entries: readonly CallEvent[]): void {
    for (const e of entries) {
      this.objectBytes -= ENTRY_OVERHEAD_BYTES;
      if (e.kind === 'sip') this.raw.release(e.raw);
    }
  }
}

/** The key rule is pure and shared with the console (engine/call/model.ts); re-exported for the store's importers. */
export { callKey };

function flatCopy(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/** How long a delivery may wait for its call, and how many calls' deliveries wait at most. */
const EARLY_DELIVERY_US = 5_000_000;
const EARLY_DELIVERY_MAX = 1_000;

/** The record lane's figures of a call: what the recorder lost of it, from its `dropped` events (each the drops since the previous one). */
function noteRecord(call: CallRecord, ev: RecordEvent): void {
  const r = (call.recorder ??= { drops: 0, framesDropped: 0 });
  if (ev.phase !== 'dropped') return;
  r.drops += ev.dropped;
  r.framesDropped += ev.framesDropped;
}

/** The publish lane's figures of a call: acknowledged, given up, delivered and how, late. */
function notePublish(call: CallRecord, ev: PublishEvent): void {
  const p = (call.publish ??= { replied: 0, failed: 0, slowestUs: 0, delivered: { pubsub: 0, list: 0, stream: 0 }, late: 0 });
  if (ev.phase === 'replied') {
    p.replied++;
    if (ev.sinceQueuedUs !== null && ev.sinceQueuedUs > p.slowestUs) p.slowestUs = ev.sinceQueuedUs;
  } else if (ev.phase === 'failed') {
    p.failed++;
  } else if (ev.phase === 'delivered') {
    p.delivered[deliveryVia(ev.target)]++;
    if (ev.sinceQueuedUs !== null && ev.sinceQueuedUs > LATE_DELIVERY_US) p.late++;
  }
}
