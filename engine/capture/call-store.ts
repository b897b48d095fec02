import { Histogram } from '../metrics/histogram';
import type { CallState, SipCaptureEvent } from './types';

/** A captured message as the store keeps it: `branch` is null (read it from `raw`). */
export type StoredMessage = SipCaptureEvent;

/** Distinct addresses/labels/methods worth sharing; beyond this strings are kept as they come. */
const MAX_INTERNED = 4096;

/** Microsecond offsets from the first INVITE received, per RFC 3261 milestones. */
export interface CallTimings {
  /** INVITE received → 100 Trying sent. */
  trying100Us: number | null;
  /** INVITE received → INVITE forwarded downstream. */
  forwardedUs: number | null;
  /** INVITE received → first 18x sent upstream. */
  ringingUs: number | null;
  /** INVITE received → first 2xx for the INVITE sent upstream. */
  answeredUs: number | null;
}

export interface CallRecord {
  callId: string;
  state: CallState;
  from: string;
  to: string;
  startedUs: number;
  updatedUs: number;
  endedUs: number | null;
  /** Final status of the initial INVITE, once known. */
  finalStatus: number | null;
  messageCount: number;
  /** Messages dropped from the front of this call's ring. */
  messagesDropped: number;
  retransmissions: number;
  /** Retransmissions by what was repeated: "INVITE", "BYE", "180", "200"… */
  retransmissionsByKind: Record<string, number>;
  timings: CallTimings;
  messages: StoredMessage[];
  /** Internal: when the first INVITE arrived. */
  inviteInUs: number | null;
}

export interface CallStoreOptions {
  /** Finished calls kept before the oldest is evicted (RFC-free choice; issue #3 default). */
  maxFinishedCalls: number;
  /** Calls still in progress kept at once; beyond it the oldest is evicted and counted. */
  maxActiveCalls: number;
  /** Messages kept per call; beyond it the oldest are dropped and counted. */
  maxMessagesPerCall: number;
}

export const DEFAULT_CALL_STORE_OPTIONS: CallStoreOptions = {
  maxFinishedCalls: 10_000,
  maxActiveCalls: 100_000,
  maxMessagesPerCall: 500,
};

/**
 * One record per Call-ID, built only from capture events, so that a live call
 * and an imported pcap produce the same ladder. Bounded on every axis.
 */
export class CallStore {
  /** Insertion order = creation order, so newest-first is reverse iteration. */
  private readonly calls = new Map<string, CallRecord>();
  private readonly finished: string[] = [];
  private finishedHead = 0;
  private activeCount = 0;
  private dirty = new Set<string>();
  readonly trying100 = new Histogram();
  evictedActive = 0;
  evictedFinished = 0;
  messagesDropped = 0;

  /** Our own copy: `setLimits` changes it, never the caller's (or the defaults). */
  readonly options: CallStoreOptions;

  constructor(options: CallStoreOptions = DEFAULT_CALL_STORE_OPTIONS) {
    this.options = { ...options };
  }

  get size(): number {
    return this.calls.size;
  }

  get active(): number {
    return this.activeCount;
  }

  get(callId: string): CallRecord | undefined {
    return this.calls.get(callId);
  }

  /** Newest first. */
  list(limit: number, filter?: (c: CallRecord) => boolean): CallRecord[] {
    const out: CallRecord[] = [];
    const all = [...this.calls.values()];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
      const c = all[i]!;
      if (!filter || filter(c)) out.push(c);
    }
    return out;
  }

  /** Call-IDs changed since the last drain; the host batches them to the UI. */
  drainDirty(): string[] {
    const ids = [...this.dirty];
    this.dirty = new Set();
    return ids;
  }

  record(ev: SipCaptureEvent): void {
    let call = this.calls.get(ev.callId);
    if (!call) {
      call = this.create(ev);
    }
    call.updatedUs = ev.tsUs;
    call.messageCount++;
    if (call.messages.length >= this.options.maxMessagesPerCall) {
      call.messages.shift();
      call.messagesDropped++;
      this.messagesDropped++;
    }
    call.messages.push(this.compact(ev, call.callId));
    if (ev.retransmission) {
      call.retransmissions++;
      const kind = ev.method ?? String(ev.status);
      call.retransmissionsByKind[kind] = (call.retransmissionsByKind[kind] ?? 0) + 1;
    }
    this.advance(call, ev);
    this.dirty.add(call.callId);
  }

  /**
   * What a call keeps of each message. Strings parsed from a message are
   * slices that keep its whole header text alive; at 1,000 calls/s that was
   * most of the heap and long GC pauses. So repeated strings (addresses,
   * labels, methods) are interned, the Call-ID is the call's own, the branch
   * is dropped (it is re-read from the bytes on demand) and the bytes
   * themselves live outside the JS heap.
   */
  private compact(ev: SipCaptureEvent, callId: string): StoredMessage {
    return {
      kind: 'sip',
      tsUs: ev.tsUs,
      direction: ev.direction,
      transport: ev.transport,
      src: this.intern(ev.src),
      dst: this.intern(ev.dst),
      callId,
      cseqSeq: ev.cseqSeq,
      cseqMethod: this.intern(ev.cseqMethod),
      method: ev.method === null ? null : this.intern(ev.method),
      status: ev.status,
      label: this.intern(ev.label),
      branch: null,
      size: ev.size,
      raw: ev.raw,
      retransmission: ev.retransmission,
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

  private create(ev: SipCaptureEvent): CallRecord {
    if (this.activeCount >= this.options.maxActiveCalls) this.evictOldestActive();
    const callId = Buffer.from(ev.callId, 'utf8').toString('utf8');
    const call: CallRecord = {
      callId,
      state: 'trying',
      from: headerValue(ev.raw, FROM_LINE) ?? '',
      to: headerValue(ev.raw, TO_LINE) ?? '',
      startedUs: ev.tsUs,
      updatedUs: ev.tsUs,
      endedUs: null,
      finalStatus: null,
      messageCount: 0,
      messagesDropped: 0,
      retransmissions: 0,
      retransmissionsByKind: {},
      timings: { trying100Us: null, forwardedUs: null, ringingUs: null, answeredUs: null },
      messages: [],
      inviteInUs: null,
    };
    this.calls.set(callId, call);
    this.activeCount++;
    return call;
  }

  /** Call state from what crossed the proxy (RFC 3261 §12, §13.2.2.4, §15). */
  private advance(call: CallRecord, ev: SipCaptureEvent): void {
    const t = call.timings;
    if (ev.method === 'INVITE' && ev.direction === 'in' && call.inviteInUs === null) {
      call.inviteInUs = ev.tsUs;
      return;
    }
    const since = call.inviteInUs === null ? null : ev.tsUs - call.inviteInUs;
    if (ev.method === 'INVITE' && ev.direction === 'out' && since !== null && t.forwardedUs === null) {
      t.forwardedUs = since;
      return;
    }
    if (ev.status === null || ev.direction !== 'out') {
      return;
    }
    // Responses we send upstream mark the milestones the UAC experiences.
    if (ev.cseqMethod === 'INVITE') {
      if (ev.status === 100) {
        if (since !== null && t.trying100Us === null) {
          t.trying100Us = since;
          this.trying100.record(since);
        }
      } else if (ev.status < 200) {
        if (since !== null && t.ringingUs === null) t.ringingUs = since;
        if (call.state === 'trying') call.state = 'early';
      } else if (ev.status < 300) {
        if (since !== null && t.answeredUs === null) t.answeredUs = since;
        if (call.state === 'trying' || call.state === 'early') {
          call.finalStatus = ev.status;
          call.state = 'confirmed';
        }
      } else if (call.state === 'trying' || call.state === 'early') {
        call.finalStatus = ev.status;
        this.finish(call, 'failed', ev.tsUs);
      }
    } else if (ev.cseqMethod === 'BYE' && ev.status >= 200 && call.state !== 'terminated' && call.state !== 'failed') {
      this.finish(call, 'terminated', ev.tsUs);
    }
  }

  /**
   * New bounds while running (the console's settings). Lower ones take effect
   * at once: the oldest finished calls are evicted, and calls holding more
   * messages drop their oldest (counted like any rotation, so message indexes
   * stay stable).
   */
  setLimits(limits: { maxFinishedCalls?: number; maxMessagesPerCall?: number }): void {
    if (limits.maxFinishedCalls !== undefined) {
      this.options.maxFinishedCalls = limits.maxFinishedCalls;
      this.evictFinished();
    }
    if (limits.maxMessagesPerCall !== undefined) {
      const max = limits.maxMessagesPerCall;
      this.options.maxMessagesPerCall = max;
      for (const call of this.calls.values()) {
        const excess = call.messages.length - max;
        if (excess <= 0) continue;
        call.messages.splice(0, excess);
        call.messagesDropped += excess;
        this.messagesDropped += excess;
        this.dirty.add(call.callId);
      }
    }
  }

  private finish(call: CallRecord, state: CallState, tsUs: number): void {
    call.state = state;
    call.endedUs = tsUs;
    this.activeCount--;
    this.finished.push(call.callId);
    this.evictFinished();
  }

  private evictFinished(): void {
    while (this.finished.length - this.finishedHead > this.options.maxFinishedCalls) {
      const old = this.finished[this.finishedHead++]!;
      this.calls.delete(old);
      this.dirty.delete(old);
      this.evictedFinished++;
    }
    if (this.finishedHead > 4096 && this.finishedHead * 2 > this.finished.length) {
      this.finished.splice(0, this.finishedHead);
      this.finishedHead = 0;
    }
  }

  private evictOldestActive(): void {
    for (const [id, c] of this.calls) {
      if (c.endedUs === null) {
        this.calls.delete(id);
        this.dirty.delete(id);
        this.activeCount--;
        this.evictedActive++;
        return;
      }
    }
  }
}

/**
 * Reads one header value from raw SIP bytes without parsing the message —
 * only used once per call for the From/To columns.
 */
const FROM_LINE = /\r\n(?:from|f)[ \t]*:[ \t]*([^\r\n]*)/i;
const TO_LINE = /\r\n(?:to|t)[ \t]*:[ \t]*([^\r\n]*)/i;

function headerValue(raw: Buffer, line: RegExp): string | undefined {
  const text = raw.toString('latin1', 0, Math.min(raw.length, 4096));
  return line.exec(text)?.[1]?.trim();
}
