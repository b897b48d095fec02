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
      return e.phase === 'dropped' ? `record dropped: ${e.dropped} packets, ${e.framesDropped} PCM frames not forwarded` : `record ${e.phase}${e.dropped ? ` (${e.dropped} dropped)` : ''}`;
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
function sdpPosition(e: MediaEvent, call: LadderCall): number | null {
  const sdp = e.sdp;
  if (!sdp) return null;
  for (let i = call.entries.length - 1; i >= 0; i--) {
    const m = call.entries[i]!;
    if (m.kind === 'sip' && m.cseqSeq === sdp.cseqSeq && m.cseqMethod === sdp.cseqMethod && m.status === sdp.status && m.tsUs <= e.tsUs) return call.entriesDropped + i;
  }
  return null;
}

/**
 * Where each media entry's stream was set up (`sdpPosition`), by position in
 * `call.entries`; empty for a call with no media (the common case, and no cost).
 */
export function sdpPositions(call: LadderCall): Map<number, number | null> {
  const out = new Map<number, number | null>();
  call.entries.forEach((e, i) => {
    if (e.kind === 'media') out.set(i, sdpPosition(e, call));
  });
  return out;
}

/**
 * A call's entries as ladder input, in capture order (`buildLadder` sorts
 * them by time). Objects are built whole, one shape per lane: this runs for
 * every call of a 100,000-message export.
 */
export function ladderEvents(call: LadderCall): LadderEvent[] {
  const base = call.entriesDropped;
  const entries = call.entries;
  const out: LadderEvent[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const index = base + i;
    switch (e.kind) {
      case 'sip':
        out.push({ index, lane: 'sip', tsUs: e.tsUs, src: e.src, dst: e.dst, label: e.label, owner: entryOwner(e), retransmission: e.retransmission, method: e.method, status: e.status, branch: e.branch });
        break;
      case 'media':
        out.push({
          index,
          lane: 'media',
          tsUs: e.tsUs,
          src: e.src,
          dst: e.dst,
          label: entryLabel(e),
          owner: entryOwner(e),
          phase: e.phase,
          streamId: e.streamId,
          packets: e.packets,
          lost: e.lost,
          jitterUs: e.jitterUs,
          sdpIndex: sdpPosition(e, call),
        });
        break;
      case 'publish':
        out.push({ index, lane: 'publish', tsUs: e.tsUs, src: e.src, dst: e.dst, label: entryLabel(e), owner: entryOwner(e), phase: e.phase });
        break;
      case 'record':
        out.push({ index, lane: 'record', tsUs: e.tsUs, src: e.src, dst: e.dst, label: entryLabel(e), owner: entryOwner(e), phase: e.phase, packets: e.packets });
        break;
      case 'note':
        out.push({ index, lane: 'note', tsUs: e.tsUs, src: e.at, dst: e.at, label: entryLabel(e), owner: entryOwner(e) });
        break;
    }
  }
  return out;
}

/** The call's SIP entries, sorted by (tsUs, index): what a pcap holds. */
export function sipEntriesByTime(call: LadderCall): SipCaptureEvent[] {
  const sips: SipCaptureEvent[] = [];
  let ordered = true;
  for (const e of call.entries) {
    if (e.kind !== 'sip') continue;
    if (sips.length > 0 && e.tsUs < sips[sips.length - 1]!.tsUs) ordered = false;
    sips.push(e);
  }
  // Most calls are captured in time order already; a stable sort keeps capture order for equal times.
  return ordered ? sips : sips.sort((a, b) => a.tsUs - b.tsUs);
}
