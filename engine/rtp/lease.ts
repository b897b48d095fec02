/**
 * Relay ports lent to the SIP worker, so that a call's initial offer and its
 * answer cross the proxy without waiting for another thread.
 *
 * Without a lease, every SDP the proxy forwards is a request to the relay on
 * the main thread and back (relay.ts offer/answer): two thread hops per SDP,
 * and the wait includes whatever the main thread is busy with (the call
 * store, the console, a garbage collection). Measured at 500 calls/s, that
 * round trip was most of INVITE→180/200 (p99 15-35 ms against Kamailio +
 * rtpengine's whole INVITE→200 p99 of 10-25 ms).
 *
 * With a lease, the relay hands the worker pairs it has already taken from
 * the pool and bound (warm: their sockets are open in the shard), a few dozen
 * at a time. The worker then rewrites an initial INVITE's offer itself with
 * the relay's address and a lent unit's callee-facing port, forwards it at
 * once, and tells the relay (one way) which unit the call took; the answer to
 * that INVITE is rewritten with the unit's caller-facing port the same way.
 * The relay builds the session from those messages in order, exactly as it
 * would have from its own offer and answer (relay.ts offerLeased/answerLeased).
 *
 * Everything else still asks the relay: a re-INVITE or UPDATE, an answer to
 * one, an offer with nothing to relay, and any offer when the lease is empty
 * (the relay tops it up as units are used). Bad SDP gets the same 488 reason
 * either way: both sides read it with `readSdp` and write it with `rewriteSdp`.
 *
 * A lease belongs to one relay run and one worker run (`epoch`): a grant with
 * a new epoch replaces every unit held; the relay ignores units of an old one.
 */
import type { MediaSdp, SdpOutcome, SdpRef } from './media-sdp';
import { readSdp, rewriteSdp, type SdpMedia } from './sdp';

/** One relayed stream's two pairs, in one shard, bound already: ports[0] faces the caller (side A), ports[1] the callee (side B). */
export interface LeaseUnit {
  shard: number;
  ports: readonly [number, number];
}

/** Units lent to the worker; an empty grant with a new epoch takes the lease back. */
export interface LeaseGrant {
  epoch: number;
  /** The relay address written into SDP. */
  address: string;
  units: LeaseUnit[];
}

/** The worker used lent units for a call's initial offer (already forwarded). */
export interface LeasedOffer {
  epoch: number;
  callId: string;
  fromTag: string;
  shard: number;
  /** Per relayed m= line, in order: the unit it took. */
  streams: { mediaIndex: number; ports: readonly [number, number] }[];
  /** The offer as `readSdp` read it (no second parse on the main thread). */
  media: SdpMedia[];
  ref: SdpRef;
}

/** The answer to a leased offer, rewritten and relayed by the worker. */
export interface LeasedAnswer {
  epoch: number;
  callId: string;
  toTag: string;
  media: SdpMedia[];
  ref: SdpRef;
}

/** What the worker does with an SDP under the lease: the outcome for the proxy now, and what to tell the relay (null: nothing). */
export type LeaseStep<T> = { outcome: SdpOutcome; tell: T | null };

/** Calls whose answer the worker may still rewrite; the oldest are forgotten past this (their answers then ask the relay). */
export const MAX_LEASED_CALLS = 65_536;

interface LeasedCall {
  fromTag: string;
  cseqSeq: number;
  /** m= line index → the relay port the caller sends to. */
  callerPorts: Map<number, number>;
}

/** The worker's side of the lease: units held, and the calls it set up with them. */
export class WorkerLease {
  private epoch = -1;
  private address = '';
  private readonly units = new Map<number, LeaseUnit[]>();
  private readonly calls = new Map<string, LeasedCall>();
  /** Initial offers `offer` could have taken but had too few units for (the lease ran dry): they ask the relay. */
  dry = 0;

  grant(g: LeaseGrant): void {
    if (g.epoch !== this.epoch) {
      this.epoch = g.epoch;
      this.units.clear();
      this.calls.clear();
    }
    this.address = g.address;
    for (const u of g.units) {
      let list = this.units.get(u.shard);
      if (!list) this.units.set(u.shard, (list = []));
      list.push(u);
    }
  }

  /** The relay stopped (or the worker stops sending it SDP): nothing lent is used from now on. */
  revoke(): void {
    this.units.clear();
    this.calls.clear();
  }

  /** Units held now. */
  get held(): number {
    let n = 0;
    for (const list of this.units.values()) n += list.length;
    return n;
  }

  /** An initial INVITE's offer rewritten on lent units; null when it is not one, or the lease cannot cover it: ask the relay. */
  offer(o: MediaSdp): LeaseStep<LeasedOffer> | null {
    if (o.toTag !== null || o.ref?.cseqMethod !== 'INVITE' || this.calls.has(o.callId)) return null;
    const read = readSdp(o.sdp);
    if (!read.ok) return { outcome: { ok: false, status: 488, reason: `bad SDP: ${read.reason}` }, tell: null };
    const relayed = read.media.filter((m) => m.port !== 0);
    if (relayed.length === 0) return null;
    const shard = this.shardWith(relayed.length);
    if (shard === null) {
      this.dry++;
      return null;
    }
    const list = this.units.get(shard)!;
    const streams = relayed.map((m) => ({ mediaIndex: m.index, ports: list.shift()!.ports }));
    const calleePorts = new Map(streams.map((s) => [s.mediaIndex, s.ports[1]]));
    const callerPorts = new Map(streams.map((s) => [s.mediaIndex, s.ports[0]]));
    this.remember(o.callId, { fromTag: o.fromTag, cseqSeq: o.ref.cseqSeq, callerPorts });
    return {
      outcome: { ok: true, sdp: rewriteSdp(o.sdp, { address: this.address, ports: calleePorts }) },
      tell: { epoch: this.epoch, callId: o.callId, fromTag: o.fromTag, shard, streams, media: read.media, ref: o.ref },
    };
  }

  /**
   * The answer (18x/2xx, a 2xx retransmission) to a leased call's initial
   * INVITE, rewritten with the caller-facing ports; null for any other answer.
   */
  answer(o: MediaSdp): LeaseStep<LeasedAnswer> | null {
    const call = this.calls.get(o.callId);
    if (!call || o.fromTag !== call.fromTag || o.ref?.cseqMethod !== 'INVITE' || o.ref.cseqSeq !== call.cseqSeq || o.toTag === null) return null;
    const read = readSdp(o.sdp);
    if (!read.ok) return { outcome: { ok: false, status: 488, reason: `bad SDP: ${read.reason}` }, tell: null };
    return {
      outcome: { ok: true, sdp: rewriteSdp(o.sdp, { address: this.address, ports: call.callerPorts }) },
      tell: { epoch: this.epoch, callId: o.callId, toTag: o.toTag, media: read.media, ref: o.ref },
    };
  }

  /** The call's relay session ends (BYE, CANCEL, a final error). */
  end(callId: string): void {
    this.calls.delete(callId);
  }

  /** The shard holding the most units, if it holds at least n (a session's streams live in one shard). */
  private shardWith(n: number): number | null {
    let best: number | null = null;
    let most = n - 1;
    for (const [shard, list] of this.units) {
      if (list.length > most) {
        best = shard;
        most = list.length;
      }
    }
    return best;
  }

  private remember(callId: string, call: LeasedCall): void {
    if (this.calls.size >= MAX_LEASED_CALLS) this.calls.delete(this.calls.keys().next().value!);
    this.calls.set(callId, call);
  }
}
