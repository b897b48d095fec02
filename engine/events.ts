import type { ComponentStatus } from './component';

/**
 * The one event stream every component reports into. Each lane of the ladder
 * has one event kind here — `sip`, `media`, `publish`, `record`, `note` — and
 * the call store, the ladder and every export read the same union, so a lane
 * added by a later part has its shape already.
 *
 * Times are wall-clock µs from the engine's single monotonic clock.
 */
export type Direction = 'in' | 'out';
export type TransportName = 'udp' | 'tcp';

/**
 * Where a call's events came from. `live` is what crossed this engine (SIP
 * through the proxy, NG commands to the relay); an imported file is a source
 * of its own (`import-1`, `import-2`, …), so an import never merges into a
 * live call or into another import; `watch` is what `--watch` saw on the wire.
 */
export type CallSourceId = string;
export const LIVE_SOURCE: CallSourceId = 'live';
/**
 * Calls built from the wire alone by `--watch` (traffic that does not cross
 * this engine, e.g. a Kamailio on the same box), as sngrep builds them.
 */
export const WATCH_SOURCE: CallSourceId = 'watch';

/** What every lane event carries: which call, which source, when. */
interface CallEventBase {
  tsUs: number;
  callId: string;
  /** Absent means `live`. */
  source?: CallSourceId;
}

/** A SIP message callpath received or sent (or one read from a capture file). */
export interface SipCaptureEvent extends CallEventBase {
  kind: 'sip';
  direction: Direction;
  transport: TransportName;
  /** "ip:port" ("[v6]:port" for IPv6). */
  src: string;
  dst: string;
  /** CSeq number and method, e.g. 1 and "INVITE". */
  cseqSeq: number;
  cseqMethod: string;
  /** Request method, or null for a response. */
  method: string | null;
  /** Response status, or null for a request. */
  status: number | null;
  /** "INVITE" or "180 Ringing": what the ladder arrow says. */
  label: string;
  /** Branch of the top Via. */
  branch: string | null;
  size: number;
  /** The bytes as they crossed the wire. Never copied on the hot path. */
  raw: Buffer;
  /**
   * A retransmitted request we received, a retransmission we sent (Timer
   * A/E/G), or a repeated response.
   */
  retransmission: boolean;
  /**
   * With the wire tap on (engine/wire): when the engine itself read (`in`) or
   * wrote (`out`) this message, µs on the engine clock, while `tsUs` is the
   * kernel's timestamp from the wire mapped onto the same clock. The gap
   * `engineTsUs - tsUs`: for an incoming message, the time it spent in the
   * kernel's socket queue and waiting for the SIP worker's event loop; for an
   * outgoing one, how long after the datagram reached the wire the worker
   * stamped it (after its send call returned: a few µs). Absent
   * when the tap is off, for imported and watched calls, and for a message
   * only one side saw (`seen`).
   */
  engineTsUs?: number;
  /**
   * With the wire tap on, who saw this message: `both` (matched; `tsUs` is
   * the wire's time, `engineTsUs` the engine's), `wire` (on the wire, never
   * read by the engine — an incoming one the kernel dropped before we read
   * it, or one the tap could not match), `engine` (the engine handled it, the
   * tap never saw it; `tsUs` is the engine's time). Absent without a tap.
   */
  seen?: WireSeen;
}

export type WireSeen = 'both' | 'wire' | 'engine';

/**
 * A media stream's life, never one event per packet: `opened` when the
 * relay sets it up, `stats` every few seconds while it flows, `closed` with
 * the reason. Figures follow Wireshark's RTP stream analysis.
 */
export interface MediaEvent extends CallEventBase {
  kind: 'media';
  phase: 'opened' | 'stats' | 'closed';
  /** Stable within the call: which stream this is about. */
  streamId: string;
  /** The leg (rtpengine's monologue) the stream belongs to: its SIP tag. */
  legTag: string | null;
  /** Position of the m= line in the SDP (0-based). */
  mediaIndex: number;
  /** Where the packets come from and go to ("ip:port"). */
  src: string;
  dst: string;
  /** "PCMU/8000", or null until known. */
  codec: string | null;
  ssrc: number | null;
  packets: number;
  bytes: number;
  lost: number;
  /** RFC 3550 interarrival jitter, µs. */
  jitterUs: number;
  /** Why it closed (`closed` only): "bye", "timeout", "final-timeout", "manual", "shutdown"… */
  reason: string | null;
  /** The SIP message whose SDP set this stream up; null when the stream came over NG with no SIP through us. */
  sdp: SdpRef | null;
}

/**
 * A SIP message carrying SDP, by its Call-ID-local identity (CSeq, and the
 * status of a response), so the ladder can point back to it.
 */
export interface SdpRef {
  cseqSeq: number;
  cseqMethod: string;
  status: number | null;
}

/** A call event on its way to Redis, step by step. */
export interface PublishEvent extends CallEventBase {
  kind: 'publish';
  phase: 'queued' | 'written' | 'replied' | 'delivered' | 'failed';
  /** The call event published: "new", "early", "answered", "ended", "recording". */
  event: string;
  /** Redis channel, list or stream key. */
  target: string;
  /** Publisher ("ip:port" it publishes from, or "callpath") and Redis ("ip:port"). */
  src: string;
  dst: string;
  /** PUBLISH's receiver count, once replied. */
  receivers: number | null;
  /** µs since `queued`, for every later phase. */
  sinceQueuedUs: number | null;
  error: string | null;
}

/**
 * What the recorder did for this call. `dropped` says what it lost of the
 * call since its previous `dropped` event (at most one every few seconds,
 * never one per packet); `stopped` repeats the recording's own total of
 * packets dropped, for the ladder.
 */
export interface RecordEvent extends CallEventBase {
  kind: 'record';
  phase: 'started' | 'stopped' | 'file-written' | 'dropped';
  /** The relay side it taps and the recorder ("record:DIR"). */
  src: string;
  dst: string;
  path: string | null;
  packets: number;
  /** Packets dropped on the way to the call's recording (its full queue, the relay's tap behind). */
  dropped: number;
  /** PCM frames of the call not forwarded to the application (`--forward`); 0 but in `dropped` events. */
  framesDropped: number;
  detail: string | null;
}

/** An engine annotation on a call: a timer that fired, a session the relay closed, an eviction. */
export interface NoteEvent extends CallEventBase {
  kind: 'note';
  /** The endpoint the note sits on ("ip:port" of the component that wrote it). */
  at: string;
  text: string;
}

/** Every event that belongs to a call: one per ladder lane. */
export type CallEvent = SipCaptureEvent | MediaEvent | PublishEvent | RecordEvent | NoteEvent;
export type Lane = CallEvent['kind'];
export const LANES: readonly Lane[] = ['sip', 'media', 'publish', 'record', 'note'];

/** A component changed state (started, stopped, failed). */
export interface ComponentEvent {
  kind: 'component';
  tsUs: number;
  status: ComponentStatus;
}

/** Something was dropped on purpose: bad input, a full queue, a slow consumer. */
export interface DropEvent {
  kind: 'drop';
  tsUs: number;
  where: string;
  reason: string;
}

export type EngineEvent = CallEvent | ComponentEvent | DropEvent;

export type EventListener = (event: EngineEvent) => void;

/**
 * Synchronous fan-out. Listeners must only record (push to a bounded buffer,
 * bump a counter); anything slow belongs behind their own queue. A listener
 * that throws is counted and never reaches the emitter — the SIP path must
 * not die because a consumer has a bug.
 */
export class EventStream {
  private listeners: EventListener[] = [];
  listenerErrors = 0;

  on(listener: EventListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  emit(event: EngineEvent): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) {
      try {
        ls[i]!(event);
      } catch {
        this.listenerErrors++;
      }
    }
  }
}

export function isCallEvent(e: EngineEvent): e is CallEvent {
  return e.kind !== 'component' && e.kind !== 'drop';
}
