/**
 * One call, modelled as rtpengine models it (`include/call.h`): a call has
 * legs (rtpengine's "monologue", one per SIP tag), a leg has media sections
 * (one per m= line) and a section has streams. A call is born from whatever
 * reports it first — SIP through our proxy, an NG `offer` with no SIP through
 * us, a capture file — and gains children from every lane.
 */
import { LIVE_SOURCE, type CallEvent, type CallSourceId, type Lane, type MediaEvent } from '../events';

/** Where one call is (RFC 3261 dialog states, plus how it ended), in the order a call goes through them. */
export const CALL_STATES = ['trying', 'early', 'confirmed', 'terminated', 'failed'] as const;
export type CallState = (typeof CALL_STATES)[number];

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

/** One RTP/RTCP flow of a media section, with its latest figures (those of its last media event). */
export interface Stream extends Pick<MediaEvent, 'src' | 'dst' | 'codec' | 'ssrc' | 'packets' | 'bytes' | 'lost' | 'jitterUs'> {
  id: string;
  open: boolean;
  closeReason: string | null;
}

export interface MediaSection {
  /** Position of the m= line (0-based). */
  index: number;
  streams: Stream[];
}

/** rtpengine's monologue: one side of the call, named by its SIP tag. */
export interface Leg {
  /** From-tag of the caller, To-tag of a callee; "" while not known (an NG offer without a tag). */
  tag: string;
  role: 'caller' | 'callee';
  /** The From or To header as written. */
  address: string;
  media: MediaSection[];
}

/** Lane counts, for the list and for what a lane adds to a call. */
export type LaneCounts = Record<Lane, number>;

export const emptyLaneCounts = (): LaneCounts => ({ sip: 0, media: 0, publish: 0, record: 0, note: 0 });

/**
 * A call's events on their way to Redis (publisher) and to the application
 * (the reference consumer), from its publish lane.
 */
export interface PublishSummary {
  /** Events Redis acknowledged, and events given up on (errors past the retries, dropped from a full queue). */
  replied: number;
  failed: number;
  /** The slowest event: the SIP message that made it → Redis's reply (µs). */
  slowestUs: number;
  /** Events the reference consumer received, by how. */
  delivered: { pubsub: number; list: number; stream: number };
  /** Of those, received more than LATE_DELIVERY_US after the SIP message that made them. */
  late: number;
}

/**
 * A call's media, summed over every stream of every leg, from each stream's
 * latest figures (what the relay last reported for it).
 */
export interface MediaSummary {
  streams: number;
  /** Packets received, over all streams. */
  packets: number;
  /**
   * Packets lost, over all streams (Wireshark's expected − received). A
   * stream with more packets than expected (duplicates) counts 0 here, so it
   * cannot hide another stream's loss.
   */
  lost: number;
  /** The largest running jitter (RFC 3550 §6.4.1) among the streams' latest figures, µs; 0 with none measured. */
  maxJitterUs: number;
}

/**
 * What the recorder lost of a call, summed over its record lane's `dropped`
 * events: packets dropped on the way to its recording, and PCM frames not
 * forwarded to the application.
 */
export interface RecorderSummary {
  drops: number;
  framesDropped: number;
}

/** A call as a list shows it: what the UI, the API and queries read of it without its entries. */
export interface CallSummary {
  /**
   * Unique within the store: the Call-ID for a live call, `import-N/Call-ID`
   * for a call read from a file, so the same Call-ID in two sources is two calls.
   */
  key: string;
  callId: string;
  /** "live", or the import it came from ("import-1"). */
  source: CallSourceId;
  state: CallState;
  /** The From and To headers of its first message, as written. */
  from: string;
  to: string;
  startedUs: number;
  updatedUs: number;
  endedUs: number | null;
  /** Final status of the initial INVITE (or of the first non-INVITE request of a call with no INVITE). */
  finalStatus: number | null;
  /** SIP messages ever recorded for this call (rotated ones included). */
  messageCount: number;
  /** Entries of every lane ever recorded, by lane. */
  laneCounts: LaneCounts;
  retransmissions: number;
  /** INVITE received → 100 Trying sent, µs (`timings.trying100Us`). */
  trying100Us: number | null;
  /** Its call events' publishing and delivery; null when nothing was published for it. */
  publish: PublishSummary | null;
  /** Its media streams (the relay's media events); null when it has none. */
  media: MediaSummary | null;
  /** What the recorder lost of it (its record lane); null when the recorder never reported on it. */
  recorder: RecorderSummary | null;
}

export interface CallRecord extends Omit<CallSummary, 'trying100Us'> {
  /** Entries rotated out of the front of this call's ring (every lane). */
  entriesDropped: number;
  /** Retransmissions by what was repeated: "INVITE", "BYE", "180", "200"… */
  retransmissionsByKind: Record<string, number>;
  timings: CallTimings;
  /** Capture order; a SIP entry's bytes are a copy in the store's own slabs. */
  entries: CallEvent[];
  legs: Leg[];
  /** Internal: when the first INVITE arrived. */
  inviteInUs: number | null;
  /** Internal: non-INVITE transactions (`CSeq`) still waiting for a final response. */
  openRequests: Set<string> | null;
  /** Internal: the call had an INVITE, so it ends by the dialog rules, not by its transactions. */
  sawInvite: boolean;
  /** Internal: something was recorded since the last idle sweep. */
  touched: boolean;
  /** Internal: engine time (µs) of the sweep since which nothing was recorded; null before the first sweep. */
  idleSinceUs: number | null;
}

/**
 * The store key of a call: its Call-ID when live, `import-N/Call-ID` for a
 * file's. A live Call-ID that itself looks like a prefixed key is prefixed
 * with `live/`, so two sources can never share a key. Pure, so the console
 * can name a live call it only knows by Call-ID (the relay's sessions).
 */
export function callKey(source: CallSourceId, callId: string): string {
  // Runs for every captured message: the regular expression only for the rare Call-ID that starts like a prefix.
  if (source === LIVE_SOURCE) return (callId.startsWith('import-') || callId.startsWith('live/')) && PREFIXED.test(callId) ? `live/${callId}` : callId;
  return `${source}/${callId}`;
}

const PREFIXED = /^(?:import-\d+|live)\//;
