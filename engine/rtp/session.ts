/**
 * A relay session as the main thread keeps it, in rtpengine's model: the
 * call (one Call-ID) → its two legs (rtpengine's monologues: the caller,
 * named by the From-tag, and the callee, by the To-tag) → one stream per
 * relayed m= line, each a pair of relay sides (see shard/protocol.ts).
 * The sockets live in a shard; this holds the signalling state, the ports
 * to give back, and the latest figures the shard reported.
 */
import type { MediaEvent, SdpRef } from '../events';
import type { Peer, SideFigures } from './shard/protocol';
import type { SdpMedia } from './sdp';

export type { SdpRef };

export interface RelayStream {
  slot: number;
  mediaIndex: number;
  /** Relay RTP ports: [side A, facing the caller; side B, facing the callee]. */
  ports: [number, number];
  /** Where each side sends, from the SDP (the shard latches to the real source on the first packet). */
  peers: [Peer | null, Peer | null];
  codec: string | null;
  /** Payload type → format as each side's SDP maps it (offer, answer), for the recorder's decoding. */
  rates: [[number, string, number][], [number, string, number][]];
  /** Latest figures per side (what arrived from the caller on A, from the callee on B); null before the first report. */
  figures: [SideFigures | null, SideFigures | null];
  /** Engine µs of the `opened` and of the last `stats` media event per side (they go out at most every few seconds). */
  openedUs: [number, number];
  reportedUs: [number, number];
  /** The side's figures moved since its last media event. */
  unreported: [boolean, boolean];
  /** Whether each side's `opened` event went out (the callee's waits for the answer). */
  opened: [boolean, boolean];
}

export interface RelaySession {
  callId: string;
  fromTag: string;
  toTag: string | null;
  via: 'ng' | 'sip';
  state: 'offered' | 'answered';
  /** The side whose SDP is the latest offer (0 the caller; 1 the callee: a late offer in a 2xx, or a re-INVITE the other way). */
  offerSide: 0 | 1;
  shard: number;
  createdMs: number;
  createdUs: number;
  answeredMs: number | null;
  streams: RelayStream[];
  /** Per side, the SIP message whose SDP first told us where that side sends (null over NG). */
  sdpRefs: [SdpRef | null, SdpRef | null];
  /** The proxy run (see Relay.proxyStarted) that last carried this call's signalling; null over NG. */
  proxyEpoch: number | null;
  /** The recorder taps the session's streams (and those opened later). */
  recording: boolean;
}

/** Where an SDP m= line says its media goes. */
export function peerOf(m: SdpMedia): Peer | null {
  if (m.port === 0 || m.address === null) return null;
  return { address: m.address, rtpPort: m.port, rtcpPort: m.rtcpMux ? m.port : m.rtcpPort };
}

/** The m= line's first codec ("PCMU/8000"), what the stream carries unless the answer narrows it. */
export function codecOf(m: SdpMedia): string | null {
  const p = m.payloads.find((x) => x.codec !== null && !/^(telephone-event|CN)$/i.test(x.codec));
  return p ? `${p.codec}/${p.rate ?? 8000}` : null;
}

/** The RTP clock rates a stream's payload types run at, as the shard's stream statistics take them. */
export function clockRatesOf(m: SdpMedia): [number, string, number][] {
  return m.payloads.filter((p) => p.codec !== null && p.rate !== null).map((p) => [p.pt, p.codec!, p.rate!]);
}

const SIDE_NAMES = ['caller', 'callee'] as const;

/** A stream's `opened`, `stats` or `closed` event for one side (the direction arriving from that side's endpoint). */
export function mediaEvent(s: RelaySession, st: RelayStream, side: 0 | 1, phase: MediaEvent['phase'], tsUs: number, relayHost: string, reason: string | null): MediaEvent {
  const f = st.figures[side];
  const peer = st.peers[side];
  const src = f?.latched ?? (peer ? `${peer.address}:${peer.rtpPort}` : '?');
  return {
    kind: 'media',
    tsUs,
    callId: s.callId,
    phase,
    streamId: `m${st.mediaIndex}-${SIDE_NAMES[side]}`,
    legTag: side === 0 ? s.fromTag : s.toTag,
    mediaIndex: st.mediaIndex,
    src,
    dst: `${relayHost}:${st.ports[side]}`,
    codec: f?.codec ?? st.codec,
    ssrc: f && f.packets > 0 ? f.ssrc : null,
    packets: f?.packets ?? 0,
    bytes: f?.bytes ?? 0,
    lost: f?.lost ?? 0,
    jitterUs: f ? Math.round(f.jitterMs * 1000) : 0,
    reason,
    sdp: s.sdpRefs[side],
  };
}
