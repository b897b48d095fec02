/**
 * A stored call's entries (engine events of every lane) as ladder input: each
 * gets its stable index, a label, an owner (sngrep's arrow item) and, for a
 * media entry, the index of the SIP entry whose SDP set its stream up. The
 * exports draw from this; the host's `LadderEntry` can use the same labels
 * and owners. Pure, no Node imports.
 */
import type { CallRecord } from '../call/model';
import type { CallEvent, MediaEvent, SipCaptureEvent } from '../events';
import { formatMs, type LadderEvent } from './model';

/** What the ladder needs of a stored call. */
export type LadderCall = Pick<CallRecord, 'callId' | 'entries' | 'entriesDropped'>;

/** What an entry belongs to: the SIP transaction ("sip:1 INVITE"), the stream, the published event, "record" or "note". */
export function entryOwner(e: CallEvent): string {
  switch (e.kind) {
    case 'sip':
      return `sip:${e.cseqSeq} ${e.cseqMethod}`;
    case 'media':
      return `stream:${e.streamId}`;
    case 'publish':
      return `publish:${e.event}`;
    case 'record':
      return 'record';
    case 'note':
      return 'note';
  }
}

/** What the entry's arrow says (the same words as the host's `LadderEntry` labels in app/entries.ts). */
export function entryLabel(e: CallEvent): string {
  switch (e.kind) {
    case 'sip':
      return e.label;
    case 'media':
      return mediaLabel(e);
    case 'publish':
      return `${e.event} ${e.phase}${e.receivers !== null ? ` (${e.receivers} receivers)` : ''}`;
    case 'record':
      return `record ${e.phase}${e.dropped ? ` (${e.dropped} dropped)` : ''}`;
    case 'note':
      return e.text;
  }
}

function mediaLabel(e: MediaEvent): string {
  const codec = e.codec ? `${e.codec} ` : '';
  if (e.phase === 'opened') return `RTP ${codec}opened`;
  const figures = `${e.packets} pkts, ${e.lost} lost, jitter ${formatMs(e.jitterUs, 1)} ms`;
  return e.phase === 'closed' ? `RTP ${codec}closed (${e.reason ?? 'closed'}): ${figures}` : `RTP ${codec}${figures}`;
}

/**
 * The SIP entry whose SDP set a stream up: the latest stored one with the
 * CSeq (and, for an answer, the status) the media event names, captured no
 * later than the media event. Null when the stream came with no SIP through
 * us, or that entry has rotated out.
 */
function sdpPosition(e: MediaEvent, sips: readonly { e: SipCaptureEvent; at: number }[]): number | null {
  const sdp = e.sdp;
  if (!sdp) return null;
  for (let i = sips.length - 1; i >= 0; i--) {
    const m = sips[i]!.e;
    if (m.cseqSeq === sdp.cseqSeq && m.cseqMethod === sdp.cseqMethod && m.status === sdp.status && m.tsUs <= e.tsUs) return sips[i]!.at;
  }
  return null;
}

/** A call's entries as ladder input, in capture order (`buildLadder` sorts them by time). */
export function ladderEvents(call: LadderCall): LadderEvent[] {
  const base = call.entriesDropped;
  const sips: { e: SipCaptureEvent; at: number }[] = [];
  call.entries.forEach((e, i) => {
    if (e.kind === 'sip') sips.push({ e, at: base + i });
  });
  return call.entries.map((e, i): LadderEvent => {
    const common = { index: base + i, tsUs: e.tsUs, label: entryLabel(e), owner: entryOwner(e) };
    switch (e.kind) {
      case 'sip':
        return { ...common, lane: 'sip', src: e.src, dst: e.dst, retransmission: e.retransmission, method: e.method, status: e.status, branch: e.branch };
      case 'media':
        return {
          ...common,
          lane: 'media',
          src: e.src,
          dst: e.dst,
          phase: e.phase,
          streamId: e.streamId,
          packets: e.packets,
          lost: e.lost,
          jitterUs: e.jitterUs,
          sdpIndex: sdpPosition(e, sips),
        };
      case 'publish':
        return { ...common, lane: 'publish', src: e.src, dst: e.dst, phase: e.phase };
      case 'record':
        return { ...common, lane: 'record', src: e.src, dst: e.dst, phase: e.phase, packets: e.packets };
      case 'note':
        return { ...common, lane: 'note', src: e.at, dst: e.at };
    }
  });
}

/** The call's SIP entries, sorted by (tsUs, index): what a pcap holds. */
export function sipEntriesByTime(call: LadderCall): SipCaptureEvent[] {
  const withIndex: { e: SipCaptureEvent; index: number }[] = [];
  call.entries.forEach((e, i) => {
    if (e.kind === 'sip') withIndex.push({ e, index: i });
  });
  withIndex.sort((a, b) => a.e.tsUs - b.e.tsUs || a.index - b.index);
  return withIndex.map((x) => x.e);
}
