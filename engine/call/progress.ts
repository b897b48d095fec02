/**
 * What a call's events say about it: its legs (one per SIP tag), its streams,
 * its dialog state and milestones. Pure updates of one `CallRecord`; the
 * store decides what a finished call means for its bounds.
 */
import type { MediaEvent, SipCaptureEvent } from '../events';
import { parseNameAddr, peekHeader } from '../sip/message';
import type { CallRecord, Leg, MediaSummary } from './model';

/**
 * The legs a SIP message names (RFC 3261 §19.3: the From tag is the
 * caller's, each To tag a callee's — one per fork). Only messages that can
 * bring a new leg are parsed: the first one, and responses to the INVITE
 * while no callee is known or the call is still early (forking).
 */
export function learnLegs(call: CallRecord, ev: SipCaptureEvent): void {
  const first = call.messageCount === 1;
  // A callee's tag comes with the responses we send upstream (the ones received carry the same tags).
  const mayFork = ev.status !== null && ev.status > 100 && ev.status < 300 && ev.direction === 'out' && ev.cseqMethod === 'INVITE' && call.state !== 'confirmed';
  if (!first && !mayFork) return;
  const to = peekHeader(ev.raw, 'to');
  if (first) {
    const from = peekHeader(ev.raw, 'from');
    call.from = from ?? '';
    call.to = to ?? '';
    const fromTag = from === null ? undefined : parseNameAddr(from)?.tag;
    if (fromTag !== undefined) addLeg(call, fromTag, 'caller', from!);
  }
  const toTag = to === null || ev.status === null ? undefined : parseNameAddr(to)?.tag;
  if (toTag !== undefined) addLeg(call, toTag, 'callee', to!);
}

/**
 * A stream's latest figures, under its leg and media section, and the call's
 * media summary again from the legs; true when this closed the call's last
 * open stream.
 */
export function learnStream(call: CallRecord, ev: MediaEvent): boolean {
  const leg = call.legs.find((l) => l.tag === (ev.legTag ?? '')) ?? addLeg(call, ev.legTag ?? '', call.legs.length === 0 ? 'caller' : 'callee', '');
  let media = leg.media.find((m) => m.index === ev.mediaIndex);
  if (!media) leg.media.push((media = { index: ev.mediaIndex, streams: [] }));
  let s = media.streams.find((x) => x.id === ev.streamId);
  if (!s) {
    media.streams.push(
      (s = { id: ev.streamId, src: ev.src, dst: ev.dst, codec: null, ssrc: null, packets: 0, bytes: 0, lost: 0, jitterUs: 0, open: true, closeReason: null }),
    );
  }
  s.src = ev.src;
  s.dst = ev.dst;
  s.codec = ev.codec ?? s.codec;
  s.ssrc = ev.ssrc ?? s.ssrc;
  s.packets = ev.packets;
  s.bytes = ev.bytes;
  s.lost = ev.lost;
  s.jitterUs = ev.jitterUs;
  if (ev.phase === 'closed') {
    s.open = false;
    s.closeReason = ev.reason;
  }
  call.media = mediaOf(call.legs);
  return ev.phase === 'closed' && call.legs.every((l) => l.media.every((m) => m.streams.every((x) => !x.open)));
}

/**
 * Every stream of every leg, summed from their latest figures. A new object
 * each time (summaries handed out may share it). A call has a handful of
 * streams: recounting them is simpler than keeping per-stream deltas right.
 */
export function mediaOf(legs: readonly Leg[]): MediaSummary {
  const m: MediaSummary = { streams: 0, packets: 0, lost: 0, maxJitterUs: 0 };
  for (const l of legs) {
    for (const section of l.media) {
      for (const s of section.streams) {
        m.streams++;
        m.packets += s.packets;
        // Negative loss (duplicates) must not cancel another stream's loss.
        m.lost += Math.max(0, s.lost);
        if (s.jitterUs > m.maxJitterUs) m.maxJitterUs = s.jitterUs;
      }
    }
  }
  return m;
}

/**
 * Call state and milestones from what crossed the proxy (RFC 3261 §12,
 * §13.2.2.4, §15, §17); returns the state the call ends in, or null while it goes on.
 */
export function advance(call: CallRecord, ev: SipCaptureEvent, onTrying100: (us: number) => void): 'terminated' | 'failed' | null {
  const t = call.timings;
  if (ev.method === 'INVITE') call.sawInvite = true;
  if (ev.method === 'INVITE' && ev.direction === 'in' && call.inviteInUs === null) {
    call.inviteInUs = ev.tsUs;
    return null;
  }
  if (!call.sawInvite) return advanceWithoutDialog(call, ev);
  const since = call.inviteInUs === null ? null : ev.tsUs - call.inviteInUs;
  if (ev.method === 'INVITE' && ev.direction === 'out' && since !== null && t.forwardedUs === null) {
    t.forwardedUs = since;
    return null;
  }
  if (ev.status === null || ev.direction !== 'out') return null;
  // Responses we send upstream mark the milestones the UAC experiences.
  if (ev.cseqMethod === 'INVITE') {
    if (ev.status === 100) {
      if (since !== null && t.trying100Us === null) {
        t.trying100Us = since;
        onTrying100(since);
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
      return 'failed';
    }
  } else if (ev.cseqMethod === 'BYE' && ev.status >= 200 && call.state !== 'terminated' && call.state !== 'failed') {
    return 'terminated';
  }
  return null;
}

/**
 * A Call-ID with no INVITE (OPTIONS, REGISTER, MESSAGE…) has no dialog: it
 * is finished once every request it carried has its final response
 * (RFC 3261 §17.2.2: the transaction is then over for the UAC).
 */
function advanceWithoutDialog(call: CallRecord, ev: SipCaptureEvent): 'terminated' | 'failed' | null {
  const cseq = `${ev.cseqSeq} ${ev.cseqMethod}`;
  if (ev.method !== null) {
    if (ev.method !== 'ACK' && call.endedUs === null) (call.openRequests ??= new Set()).add(cseq);
    return null;
  }
  if (ev.status === null || ev.status < 200 || ev.direction !== 'out') return null;
  if (!call.openRequests?.delete(cseq) || call.openRequests.size > 0 || call.endedUs !== null) return null;
  call.finalStatus ??= ev.status;
  return ev.status < 300 ? 'terminated' : 'failed';
}

function addLeg(call: CallRecord, tag: string, role: Leg['role'], address: string): Leg {
  const known = call.legs.find((l) => l.tag === tag);
  if (known) {
    if (!known.address) known.address = address;
    return known;
  }
  const leg: Leg = { tag, role, address, media: [] };
  call.legs.push(leg);
  return leg;
}
