/**
 * One direction of a relayed RTP stream, measured packet by packet with
 * Wireshark's RTP stream analysis definitions (Telephony → RTP → RTP Streams
 * and Stream Analysis; `tshark -z rtp,streams`), so that the figures an
 * engineer checks against a capture come out the same. The model is
 * Wireshark 4.0's `rtppacket_analyse()` (ui/tap-rtp-analysis.c) and
 * `rtpstream_info_calculate()` (ui/tap-rtp-common.c);
 * test/integration/rtp-stats-tshark.test.ts holds us to tshark's numbers.
 *
 * Definitions (times are arrival times, in ms):
 * - jitter: RFC 3550 §6.4.1 / A.8, J += (|D| − J)/16, where D compares the
 *   arrival gap with the timestamp gap to the previous packet. Wireshark
 *   works in ms (the timestamp gap divided by rate/1000) instead of the
 *   RFC's timestamp units; it is the same J scaled by 1000/rate, and we
 *   work in ms too so the floating-point path is Wireshark's.
 * - max delta, max jitter and mean jitter are taken over "regular" packets
 *   only: not the first, not marker packets, not comfort noise (PT 13 and
 *   the old CN, 19), not the packet right after a CN packet, not a packet
 *   whose timestamp is before the stream's first. Marker and CN packets are
 *   left out of these figures but still move the running jitter J, because
 *   Wireshark computes J for every packet whose clock rate it knows; leaving
 *   them out of J as well would give numbers Wireshark does not show.
 * - telephone-event (RFC 4733) packets do not move J — their timestamp is
 *   the event's start, not the sampling clock. As in Wireshark 4.0 the
 *   arrival baseline still moves to them while the timestamp baseline stays
 *   on the last audio packet, so the first audio packet after an event shows
 *   a jitter jump Wireshark shows too.
 * - mean jitter is Wireshark's running mean, which divides by the packets
 *   so far rather than by the regular packets averaged; the same figure
 *   Wireshark prints, not a textbook mean when markers or CN are present.
 * - expected = extended seq of the last packet − first seq + 1, lost =
 *   expected − received (negative with duplicates). Departure from RFC 3550
 *   A.1, to match Wireshark: its `stop_seq_nr` is the last packet's sequence
 *   number, not the highest, so a late packet arriving last lowers expected.
 *   The 16-bit wrap is counted by extending each sequence number to the one
 *   nearest the previous packet's; Wireshark's own cycle count takes a
 *   packet from before a wrap that arrives after it as a second wrap (65,536
 *   "lost"), which we do not copy.
 * - sequence errors: Wireshark's "wrong sequence number", a packet other
 *   than the one after the last in-order packet; a late or duplicate packet
 *   is an error and leaves the expected next number alone, a jump forward
 *   is an error and moves it.
 *
 * An SSRC change starts a new stream as Wireshark would (its streams are
 * keyed by SSRC): sequence, timestamp and jitter baselines restart. Counts
 * and maxima run on over the whole direction; `ssrc` and `firstSeq` are the
 * current SSRC's, and mean jitter is the streams' means weighted by their
 * packet gaps.
 *
 * `onRtp` is on the relay's per-packet path: it reads numbers into numbers
 * and allocates nothing.
 */
import { rtpMarker, rtpPayloadType, rtpSeq, rtpSsrc, rtpTimestamp } from './rtp-packet';

export interface PayloadFormat {
  /** Encoding name as SDP's a=rtpmap writes it ("PCMU", "telephone-event"). */
  name: string;
  /** RTP clock rate, Hz. */
  rate: number;
}

/**
 * Static payload types, RFC 3551 §6 Tables 4 and 5. G722 runs an 8000 Hz RTP
 * clock though it samples at 16 kHz (RFC 3551 §4.5.2).
 */
export const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, PayloadFormat> = new Map([
  [0, { name: 'PCMU', rate: 8000 }],
  [3, { name: 'GSM', rate: 8000 }],
  [4, { name: 'G723', rate: 8000 }],
  [5, { name: 'DVI4', rate: 8000 }],
  [6, { name: 'DVI4', rate: 16000 }],
  [7, { name: 'LPC', rate: 8000 }],
  [8, { name: 'PCMA', rate: 8000 }],
  [9, { name: 'G722', rate: 8000 }],
  [10, { name: 'L16', rate: 44100 }],
  [11, { name: 'L16', rate: 44100 }],
  [12, { name: 'QCELP', rate: 8000 }],
  [13, { name: 'CN', rate: 8000 }],
  [14, { name: 'MPA', rate: 90000 }],
  [15, { name: 'G728', rate: 8000 }],
  [16, { name: 'DVI4', rate: 11025 }],
  [17, { name: 'DVI4', rate: 22050 }],
  [18, { name: 'G729', rate: 8000 }],
  [25, { name: 'CelB', rate: 90000 }],
  [26, { name: 'JPEG', rate: 90000 }],
  [28, { name: 'nv', rate: 90000 }],
  [31, { name: 'H261', rate: 90000 }],
  [32, { name: 'MPV', rate: 90000 }],
  [33, { name: 'MP2T', rate: 90000 }],
  [34, { name: 'H263', rate: 90000 }],
]);

/** The clock assumed for a payload type neither RFC 3551 nor the SDP names (Wireshark computes no jitter for one). */
export const DEFAULT_CLOCK_RATE = 8000;

/** Comfort noise (RFC 3389): PT 13, and 19, which RFC 3551 §6 reserves because drafts gave it to CN, and Wireshark still counts as CN. */
const PT_CN = 13;
const PT_CN_OLD = 19;
const PAYLOAD_TYPES = 128;

/** What `snapshot()` returns: a plain object, safe to post to another thread. */
export interface StreamFigures {
  packets: number;
  /** UDP payload bytes. */
  bytes: number;
  /** The current SSRC; null before the first packet. */
  ssrc: number | null;
  ssrcChanges: number;
  /** First sequence number under the current SSRC; null before the first packet. */
  firstSeq: number | null;
  /** The last packet's. */
  payloadType: number | null;
  /** "PCMU/8000" for the last packet's payload type when RFC 3551 or the SDP names it. */
  codec: string | null;
  /** Extended sequence number of the last packet − first + 1, summed over SSRCs. */
  expected: number;
  /** expected − packets: negative when duplicates outnumber losses, as Wireshark shows it. */
  lost: number;
  /** Wireshark's "wrong sequence number" count. */
  sequenceErrors: number;
  /** Largest arrival gap to the previous packet, over regular packets (not markers, CN, …). */
  maxDeltaMs: number;
  /** The running RFC 3550 jitter after the last packet. */
  jitterMs: number;
  /** Over regular packets, as Wireshark's Max Jitter and Mean Jitter. */
  maxJitterMs: number;
  meanJitterMs: number;
  /** Arrival of the first and the last packet (engine µs). */
  firstUs: number | null;
  lastUs: number | null;
}

/**
 * What StreamStats needs per payload type, as arrays the packet path indexes:
 * built once per distinct SDP payload map and shared by every stream using
 * it (a relay opens four per call; building one each was most of the shard's
 * per-call work).
 */
export class PayloadTable {
  readonly rates = new Float64Array(PAYLOAD_TYPES);
  /** Timestamp ticks per ms (see tickDivisor()). */
  readonly divisors = new Float64Array(PAYLOAD_TYPES);
  readonly events = new Uint8Array(PAYLOAD_TYPES);
  readonly codecs: (string | null)[] = Array.from({ length: PAYLOAD_TYPES }, () => null);

  /**
   * Payload types from the SDP's a=rtpmap (RFC 4566 §6), which win over the
   * static table. A name starting "telephone-event" (any case, as Wireshark
   * matches it) marks RFC 4733 events. Entries outside 0..127 or with a rate
   * that is not a positive number are ignored.
   */
  constructor(map: ReadonlyMap<number, { name: string; rate: number }> = new Map()) {
    for (let pt = 0; pt < PAYLOAD_TYPES; pt++) {
      const s = STATIC_PAYLOAD_TYPES.get(pt);
      this.set(pt, s?.name ?? null, s?.rate ?? DEFAULT_CLOCK_RATE);
    }
    for (const [pt, f] of map) {
      if (!Number.isInteger(pt) || pt < 0 || pt >= PAYLOAD_TYPES) continue;
      if (!(typeof f.rate === 'number' && Number.isFinite(f.rate) && f.rate > 0)) continue;
      this.set(pt, typeof f.name === 'string' && f.name !== '' ? f.name : null, f.rate);
    }
  }

  private set(pt: number, name: string | null, rate: number): void {
    this.rates[pt] = rate;
    this.divisors[pt] = tickDivisor(rate);
    this.events[pt] = name !== null && name.toLowerCase().startsWith('telephone-event') ? 1 : 0;
    this.codecs[pt] = name === null ? null : `${name}/${rate}`;
  }
}

/** Payload tables by SDP payload map ([pt, name, rate] as the shard gets them): calls from the same endpoints share one (bounded: cleared when full). */
const tables = new Map<string, PayloadTable>();
const MAX_TABLES = 256;

export function payloadTableFor(rates: ReadonlyArray<readonly [number, string, number]>): PayloadTable {
  const key = rates.map(([pt, name, rate]) => `${pt}:${name}:${rate}`).join(',');
  let t = tables.get(key);
  if (!t) {
    if (tables.size >= MAX_TABLES) tables.clear();
    t = new PayloadTable(new Map(rates.map(([pt, name, rate]) => [pt, { name, rate }] as const)));
    tables.set(key, t);
  }
  return t;
}

/** RFC 3551's table alone: what a stream uses until told the SDP's. */
const STATIC_TABLE = new PayloadTable();

export class StreamStats {
  // Per payload type: array lookups on the packet path (shared, never written here).
  private rates: Float64Array;
  private divisors: Float64Array;
  private events: Uint8Array;
  private codecs: (string | null)[];

  // Whole direction.
  private packets = 0;
  private bytes = 0;
  private ssrcChanges = 0;
  private sequenceErrors = 0;
  private maxDeltaMs = 0;
  private maxJitterMs = 0;
  private firstUs = 0;
  private lastUs = 0;
  private payloadType = 0;
  /** Expected packets, and Σ mean × weight and Σ weight of mean jitter, of the SSRCs before the current one. */
  private priorExpected = 0;
  private priorMeanSum = 0;
  private priorMeanWeight = 0;

  // The current SSRC (Wireshark's stream). segPackets is Wireshark's total_nr.
  private segPackets = 0;
  private ssrc = 0;
  private segStartUs = 0;
  private firstTs = 0;
  private firstSeq = 0;
  private lastSeq = 0;
  /** The last packet's sequence number extended past 16 bits (may go below firstSeq or past 65535). */
  private extLast = 0;
  /** The last in-order sequence number (Wireshark's seq_num). */
  private seqNum = 0;
  /** The previous packet's payload type (Wireshark's pt). */
  private prevPt = 0;
  /** Arrival (ms after the stream's first packet) of the last packet with an in-sequence timestamp. */
  private timeMs = 0;
  /** Timestamp (ms after the stream's first) of the last packet that moved J. */
  private lastNominalMs = 0;
  private deltaMs = 0;
  private jitterMs = 0;
  private meanJitterMs = 0;

  constructor(table: PayloadTable = STATIC_TABLE) {
    this.rates = table.rates;
    this.divisors = table.divisors;
    this.events = table.events;
    this.codecs = table.codecs;
  }

  /** Payload types from the SDP's a=rtpmap, over the static table (see PayloadTable). */
  setClockRates(map: ReadonlyMap<number, { name: string; rate: number }>): void {
    this.useTable(new PayloadTable(map));
  }

  /** A table built once and shared (see PayloadTable). */
  useTable(table: PayloadTable): void {
    this.rates = table.rates;
    this.divisors = table.divisors;
    this.events = table.events;
    this.codecs = table.codecs;
  }

  /** RTP clock rate (Hz) of a payload type: the SDP's, else RFC 3551's, else DEFAULT_CLOCK_RATE. */
  clockRateOf(pt: number): number {
    return this.rates[pt & 0x7f]!;
  }

  /** Call only for a packet `rtpKind` said is 'rtp'. */
  onRtp(buf: Buffer, len: number, arrivalUs: number): void {
    const seq = rtpSeq(buf);
    const ts = rtpTimestamp(buf);
    const ssrc = rtpSsrc(buf);
    const pt = rtpPayloadType(buf);
    if (this.packets === 0) this.firstUs = arrivalUs;
    this.packets++;
    this.bytes += len;
    this.lastUs = arrivalUs;
    this.payloadType = pt;

    if (this.segPackets === 0 || ssrc !== this.ssrc) {
      if (this.segPackets > 0) {
        this.endStream();
        this.ssrcChanges++;
      }
      this.startStream(ssrc, seq, ts, pt, arrivalUs);
      return;
    }

    const nowMs = (arrivalUs - this.segStartUs) / 1000;
    // Half the 32-bit timestamp space either side of the first packet's: before it is "wrong timestamp".
    const sinceFirstTs = (ts - this.firstTs) >>> 0;
    const inTime = sinceFirstTs < 0x80000000;

    let step = (seq - this.lastSeq) & 0xffff;
    if (step >= 0x8000) step -= 0x10000;
    this.extLast += step;
    this.lastSeq = seq;

    if (inTime && seq === ((this.seqNum + 1) & 0xffff)) {
      this.seqNum = seq;
    } else if (inTime && (this.seqNum + 1 < seq || this.seqNum - seq > 0xff00)) {
      // Ahead: packets missing (or, past 0xff00 back, the wrap's packets missing).
      this.seqNum = seq;
      this.sequenceErrors++;
    } else if (this.seqNum + 1 > seq) {
      // Late or duplicate.
      this.sequenceErrors++;
    }

    const cn = pt === PT_CN || pt === PT_CN_OLD;
    const followsCn = this.prevPt === PT_CN || this.prevPt === PT_CN_OLD;
    this.prevPt = pt;
    const jitterClock = this.events[pt] === 0;

    if (inTime) {
      this.deltaMs = nowMs - this.timeMs;
      if (jitterClock) {
        const nominalMs = sinceFirstTs / this.divisors[pt]!;
        const d = Math.abs(nowMs - (this.timeMs + (nominalMs - this.lastNominalMs)));
        this.jitterMs = (15 * this.jitterMs + d) / 16;
        this.lastNominalMs = nominalMs;
      }
    }

    if (inTime && !rtpMarker(buf) && !cn && !followsCn) {
      if (this.deltaMs > this.maxDeltaMs) this.maxDeltaMs = this.deltaMs;
      if (jitterClock) {
        if (this.jitterMs > this.maxJitterMs) this.maxJitterMs = this.jitterMs;
        this.meanJitterMs = (this.meanJitterMs * (this.segPackets - 1) + this.jitterMs) / this.segPackets;
      }
    }
    if (inTime) this.timeMs = nowMs;
    this.segPackets++;
  }

  snapshot(): StreamFigures {
    const started = this.packets > 0;
    const expected = this.priorExpected + (started ? this.extLast - this.firstSeq + 1 : 0);
    const weight = this.segPackets > 1 ? this.segPackets - 1 : 0;
    const meanWeight = this.priorMeanWeight + weight;
    return {
      packets: this.packets,
      bytes: this.bytes,
      ssrc: started ? this.ssrc : null,
      ssrcChanges: this.ssrcChanges,
      firstSeq: started ? this.firstSeq : null,
      payloadType: started ? this.payloadType : null,
      codec: started ? this.codecs[this.payloadType]! : null,
      expected,
      lost: expected - this.packets,
      sequenceErrors: this.sequenceErrors,
      maxDeltaMs: this.maxDeltaMs,
      jitterMs: this.jitterMs,
      maxJitterMs: this.maxJitterMs,
      meanJitterMs: meanWeight > 0 ? (this.priorMeanSum + this.meanJitterMs * weight) / meanWeight : 0,
      firstUs: started ? this.firstUs : null,
      lastUs: started ? this.lastUs : null,
    };
  }



  private startStream(ssrc: number, seq: number, ts: number, pt: number, arrivalUs: number): void {
    this.ssrc = ssrc;
    this.segPackets = 1;
    this.segStartUs = arrivalUs;
    this.firstTs = ts;
    this.firstSeq = seq;
    this.lastSeq = seq;
    this.extLast = seq;
    this.seqNum = seq;
    this.prevPt = pt;
    this.timeMs = 0;
    this.lastNominalMs = 0;
    this.deltaMs = 0;
    this.jitterMs = 0;
    this.meanJitterMs = 0;
  }

  private endStream(): void {
    this.priorExpected += this.extLast - this.firstSeq + 1;
    const weight = this.segPackets - 1;
    this.priorMeanSum += this.meanJitterMs * weight;
    this.priorMeanWeight += weight;
  }
}

/**
 * Timestamp ticks per ms. Wireshark divides by `clock_rate / 1000` in
 * integer arithmetic, so 44.1 kHz counts 44 ticks a ms and 11025 Hz 11; we
 * do the same so L16 and DVI4 jitter agree with it. Below 1000 Hz, where
 * that would be 0, the exact ratio.
 */
function tickDivisor(rate: number): number {
  const whole = Math.trunc(rate / 1000);
  return whole > 0 ? whole : rate / 1000;
}
