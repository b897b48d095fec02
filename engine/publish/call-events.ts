/**
 * A call's life as the application of the story wants it: `new` when the
 * proxy accepts an INVITE, `early` at the first 18x, `answered` at the 2xx,
 * `ended` with its reason — read off the SIP messages the proxy captured,
 * never off the SIP worker's path. Pure: messages in, event documents out.
 *
 * Which message makes which event (the caller's view, so responses count as
 * they leave us upstream and requests as they reach us):
 *   INVITE in, no To-tag, first of its Call-ID ........ new
 *   101–199 out to that INVITE, the first ............. early
 *   2xx out to that INVITE, the first .................. answered
 *   ≥ 300 out to that INVITE, before any 2xx ........... ended (rejected: cancelled for 487 after a CANCEL, timeout for 408)
 *   BYE in, the first .................................. ended (bye)
 * Retransmissions never make events. A call ends once; after that its
 * Call-ID is forgotten. At most `maxCalls` calls are followed; past it the
 * oldest is forgotten (counted), and a later event of it goes unpublished.
 */
import type { SipCaptureEvent } from '../events';
import { parseNameAddr, peekHeader } from '../sip/message';

export const CALL_EVENT_VERSION = 1;
export const CALL_EVENT_NAMES = ['new', 'early', 'answered', 'ended', 'recording'] as const;
export type CallEventName = (typeof CALL_EVENT_NAMES)[number];

/** Why a call ended, as `ended` says it. */
export type EndReason = 'bye' | 'rejected' | 'cancelled' | 'timeout';

/**
 * The published document, `v` 1 (documented in the README; a new field is
 * added, never renamed, and a change of meaning is a new `v`).
 */
export interface CallEventDoc {
  v: typeof CALL_EVENT_VERSION;
  event: CallEventName;
  callId: string;
  /** 1, 2, 3… per call: a consumer sees a gap or a repeat. */
  seq: number;
  /** Which engine published it (`--node`, default the host name). */
  node: string;
  /** When the engine handled the SIP message that made the event: wall-clock µs (the engine's clock). */
  tsUs: number;
  from: { uri: string; tag: string | null };
  to: { uri: string; tag: string | null };
  /** The SIP status that made it (18x, 2xx, the final one); null for `new` and `ended` by BYE. */
  status: number | null;
  /** `ended` only. */
  reason: EndReason | null;
  /**
   * Where the relay takes the call's first media stream ("ip:port"): the
   * port the caller sends to, and the one the callee sends to; null while
   * the relay has no session for the call (not running, or not yet offered).
   */
  relay: { caller: string; callee: string } | null;
  /** `recording` only: the recorder started or stopped the call's recording, and its WAV file. */
  recording?: { phase: 'started' | 'stopped'; wav: string | null };
}

/** Ended calls kept for the events that follow their end (a recording finalised after the BYE). */
const ENDED_KEPT = 10_000;

interface CallState {
  seq: number;
  from: CallEventDoc['from'];
  to: CallEventDoc['to'];
  early: boolean;
  answered: boolean;
  cancelled: boolean;
}

const party = (raw: Buffer, name: string): { uri: string; tag: string | null } => {
  const v = peekHeader(raw, name);
  const na = v === null ? undefined : parseNameAddr(v);
  return { uri: na?.uri ?? '', tag: na?.tag ?? null };
};

export class CallEventTracker {
  private readonly calls = new Map<string, CallState>();
  /** Calls that ended, most recent last, for `extra` events after the end. */
  private readonly ended = new Map<string, CallState>();
  /** Calls forgotten because too many were followed. */
  forgotten = 0;

  constructor(
    private readonly node: string,
    private readonly maxCalls = 100_000,
  ) {}

  /** Calls followed now. */
  get size(): number {
    return this.calls.size;
  }

  /** The event `ev` makes, or null (most messages make none). */
  observe(ev: SipCaptureEvent): CallEventDoc | null {
    if (ev.retransmission || (ev.source !== undefined && ev.source !== 'live')) return null;
    const call = this.calls.get(ev.callId);
    if (ev.method !== null) {
      if (ev.direction !== 'in') return null;
      if (ev.method === 'INVITE') {
        if (call) return null; // a re-INVITE, or a second branch of a forked INVITE
        const to = party(ev.raw, 'To');
        if (to.tag !== null) return null; // in-dialog INVITE of a call we did not see start
        return this.doc(ev, this.follow(ev.callId, party(ev.raw, 'From'), to), 'new', null, null);
      }
      if (!call) return null;
      if (ev.method === 'CANCEL') call.cancelled = true;
      else if (ev.method === 'BYE') return this.end(ev, call, null, 'bye');
      return null;
    }
    if (!call || ev.direction !== 'out' || ev.cseqMethod !== 'INVITE' || ev.status === null) return null;
    const s = ev.status;
    if (s > 100 && s < 200) {
      if (call.early || call.answered) return null;
      call.early = true;
      this.learnToTag(ev, call);
      return this.doc(ev, call, 'early', s, null);
    }
    if (s >= 200 && s < 300) {
      if (call.answered) return null; // a 2xx retransmitted by the UAS, or a second fork's
      call.answered = true;
      this.learnToTag(ev, call);
      return this.doc(ev, call, 'answered', s, null);
    }
    if (s >= 300 && !call.answered) {
      return this.end(ev, call, s, s === 487 && call.cancelled ? 'cancelled' : s === 408 ? 'timeout' : 'rejected');
    }
    return null;
  }

  /**
   * `inline` mode: the `new` event of an initial INVITE the SIP worker holds
   * until it is published — made from the bytes, before the proxy has
   * captured it. Null when the call is already followed (a retransmission
   * that reached another simulated worker): published once.
   */
  newFromInvite(raw: Buffer, tsUs: number): CallEventDoc | null {
    const callId = peekHeader(raw, 'Call-ID') ?? peekHeader(raw, 'i');
    if (callId === null || callId === '' || this.calls.has(callId)) return null;
    const state = this.follow(callId, party(raw, 'From'), party(raw, 'To'));
    state.seq = 1;
    return { v: CALL_EVENT_VERSION, event: 'new', callId, seq: 1, node: this.node, tsUs, from: state.from, to: state.to, status: null, reason: null, relay: null };
  }

  /**
   * A later event for a call followed or recently ended (`recording`, from
   * the recorder: a recording is finalised after the BYE ended the call).
   */
  extra(callId: string, event: CallEventName, tsUs: number, recording?: CallEventDoc['recording']): CallEventDoc | null {
    const call = this.calls.get(callId) ?? this.ended.get(callId);
    if (!call) return null;
    call.seq++;
    return { v: CALL_EVENT_VERSION, event, callId, seq: call.seq, node: this.node, tsUs, from: call.from, to: call.to, status: null, reason: null, relay: null, ...(recording ? { recording } : {}) };
  }

  /** Starts following a call; past `maxCalls` the oldest followed is forgotten, counted. */
  private follow(callId: string, from: CallState['from'], to: CallState['to']): CallState {
    if (this.calls.size >= this.maxCalls) {
      this.calls.delete(this.calls.keys().next().value!);
      this.forgotten++;
    }
    const state: CallState = { seq: 0, from, to, early: false, answered: false, cancelled: false };
    this.calls.set(callId, state);
    return state;
  }

  private end(ev: SipCaptureEvent, call: CallState, status: number | null, reason: EndReason): CallEventDoc {
    this.calls.delete(ev.callId);
    if (this.ended.size >= ENDED_KEPT) this.ended.delete(this.ended.keys().next().value!);
    this.ended.set(ev.callId, call);
    return this.doc(ev, call, 'ended', status, reason);
  }

  private learnToTag(ev: SipCaptureEvent, call: CallState): void {
    if (call.to.tag === null) call.to = party(ev.raw, 'To');
  }

  private doc(ev: SipCaptureEvent, call: CallState, event: CallEventName, status: number | null, reason: EndReason | null): CallEventDoc {
    call.seq++;
    return { v: CALL_EVENT_VERSION, event, callId: ev.callId, seq: call.seq, node: this.node, tsUs: ev.tsUs, from: call.from, to: call.to, status, reason, relay: null };
  }
}
