/**
 * A stored call as the contract shows it: summaries for lists, and each
 * engine event as the `LadderEntry` of its lane. One mapping, used by the
 * API, the live ladder and the JSON export.
 */
import type { CallRecord, Leg } from '../engine/call/model';
import type { CallEvent } from '../engine/events';
import { entryLabel, entryOwner, sdpPositions } from '../engine/ladder/entries';
import { topViaBranchOf } from '../engine/sip/message';
import type { CallDetail, CallSummary, LadderEntry } from './contract';

export function summarize(c: CallRecord): CallSummary {
  return {
    key: c.key,
    callId: c.callId,
    source: c.source,
    state: c.state,
    from: c.from,
    to: c.to,
    startedUs: c.startedUs,
    updatedUs: c.updatedUs,
    endedUs: c.endedUs,
    finalStatus: c.finalStatus,
    messageCount: c.messageCount,
    laneCounts: { ...c.laneCounts },
    retransmissions: c.retransmissions,
    trying100Us: c.timings.trying100Us,
    publish: c.publish ? { ...c.publish, delivered: { ...c.publish.delivered } } : null,
    media: c.media ? { ...c.media } : null,
    recorder: c.recorder ? { ...c.recorder } : null,
  };
}

/** The call with its entries from `fromIndex` on (all it keeps by default). */
export function detailOf(c: CallRecord, fromIndex = 0): CallDetail {
  const skip = Math.max(0, fromIndex - c.entriesDropped);
  const sdp = c.laneCounts.media > 0 ? sdpPositions(c) : null;
  const entries: LadderEntry[] = [];
  for (let i = skip; i < c.entries.length; i++) entries.push(entryOf(c.entries[i]!, c.entriesDropped + i, sdp?.get(i) ?? null));
  return {
    ...summarize(c),
    timings: { ...c.timings },
    retransmissionsByKind: { ...c.retransmissionsByKind },
    entriesDropped: c.entriesDropped,
    legs: copyLegs(c.legs),
    entries,
  };
}

/** One stored event as the contract's entry, with the labels and owners the exports use (`engine/ladder/entries.ts`). */
export function entryOf(e: CallEvent, index: number, sdpIndex: number | null): LadderEntry {
  const label = entryLabel(e);
  const owner = entryOwner(e);
  switch (e.kind) {
    case 'sip':
      return {
        index,
        lane: 'sip',
        tsUs: e.tsUs,
        src: e.src,
        dst: e.dst,
        label,
        owner,
        direction: e.direction,
        transport: e.transport,
        method: e.method,
        status: e.status,
        cseq: owner.slice(4), // the owner is "sip:" and the CSeq
        branch: e.branch ?? topViaBranchOf(e.raw),
        size: e.size,
        retransmission: e.retransmission,
        text: e.raw.toString('utf8'),
        ...(e.engineTsUs !== undefined && { engineTsUs: e.engineTsUs }),
        ...(e.seen !== undefined && { seen: e.seen }),
      };
    case 'media':
      return {
        index,
        lane: 'media',
        tsUs: e.tsUs,
        src: e.src,
        dst: e.dst,
        label,
        owner,
        phase: e.phase,
        streamId: e.streamId,
        legTag: e.legTag,
        mediaIndex: e.mediaIndex,
        codec: e.codec,
        ssrc: e.ssrc,
        packets: e.packets,
        bytes: e.bytes,
        lost: e.lost,
        jitterUs: e.jitterUs,
        reason: e.reason,
        sdpIndex,
      };
    case 'publish':
      return {
        index,
        lane: 'publish',
        tsUs: e.tsUs,
        src: e.src,
        dst: e.dst,
        label,
        owner,
        phase: e.phase,
        event: e.event,
        target: e.target,
        receivers: e.receivers,
        sinceQueuedUs: e.sinceQueuedUs,
        error: e.error,
      };
    case 'record':
      return {
        index,
        lane: 'record',
        tsUs: e.tsUs,
        src: e.src,
        dst: e.dst,
        label,
        owner,
        phase: e.phase,
        path: e.path,
        packets: e.packets,
        dropped: e.dropped,
        framesDropped: e.framesDropped,
        detail: e.detail,
      };
    case 'note':
      return { index, lane: 'note', tsUs: e.tsUs, src: e.at, dst: e.at, label, owner, text: e.text };
  }
}

/** A copy of a call's legs, media sections and streams (the record's change as the call goes on). */
export function copyLegs(legs: readonly Leg[]): Leg[] {
  return legs.map((l) => ({ ...l, media: l.media.map((m) => ({ index: m.index, streams: m.streams.map((s) => ({ ...s })) })) }));
}
