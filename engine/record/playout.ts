/**
 * The recorder's jitter buffer for one direction of one stream: RTP packets
 * in arrival order in, 8 kHz 16-bit PCM out, in sequence order and on a
 * sample timeline that keeps the direction's time, so that two directions
 * line up in a stereo file. Pure: no I/O, no clock; it never throws on the
 * bytes it is given, it counts them.
 *
 * Timeline: position 0 is the first sample of the first packet played (the
 * lowest sequence number among the first arrivals). Output is contiguous:
 * each chunk starts where the previous one ended, silence included, so a
 * writer needs only the wall-clock arrival of the direction's first packet
 * to place it against the other direction.
 *
 * Decisions, in the order a packet meets them:
 * - Reordering: up to `window` packets are held, sorted by extended sequence
 *   number (the 16-bit number extended to the one nearest the highest seen,
 *   RFC 3550 A.1), and the oldest is played when one more arrives. A packet
 *   older than the last one played is late, or a duplicate when that very
 *   number was played; either is counted and dropped, never inserted.
 * - A sequence number far from the stream's (more than MAX_DROPOUT ahead or
 *   MAX_MISORDER behind, RFC 3550 A.1's bounds) is held on probation: if the
 *   next packet is its successor, the sender restarted its sequence and the
 *   stream resyncs to it (like an SSRC change); otherwise it is a stray,
 *   counted and dropped.
 * - SSRC change: what is held of the old source is played, and the new
 *   source continues at the current timeline position (its timestamps have
 *   no relation to the old ones). A packet of the previous SSRC not newer
 *   than its last is a straggler, counted late, not a change back.
 * - Lost packets and silence suppression: before each audio packet the
 *   timeline is filled with silence up to its timestamp, so a dropped packet
 *   becomes exactly its duration of silence in its place, and the quiet
 *   before a talkspurt (marker bit, RFC 3551 §4.1) becomes the silence the
 *   sender did not send. The marker bit itself changes nothing: the
 *   timestamps say how long the gap was.
 * - A timestamp jump: a gap larger than `maxFillSamples` (10 s by default),
 *   or a timestamp before the timeline's, is not filled; the packet plays at
 *   the current position and the timeline rebases on it (counted as
 *   timestampJumps). The two directions can drift apart by the unfilled time
 *   there; absurd fills would be worse.
 * - Telephone-event (RFC 4733), comfort noise (RFC 3389) and payload types
 *   we cannot decode write no samples of their own, but the timeline is
 *   filled with silence up to their timestamp, and the next audio packet
 *   fills the rest, so time is kept across them. An event's timestamp is its
 *   start, at or behind the audio's, so events rarely fill anything
 *   themselves. Left out: the duration of trailing non-audio packets at the
 *   very end of a stream is not filled (nothing after them says how long).
 *
 * Buffers passed to `push` are kept, not copied, until their packet is
 * played: the caller hands over a buffer it will not reuse (the recorder's
 * queue holds copies anyway).
 */
import { rtpKind, rtpPayloadEnd, rtpPayloadStart, rtpPayloadType, rtpSeq, rtpSsrc, rtpTimestamp } from '../rtp/rtp-packet';
import { STATIC_PAYLOAD_TYPES, type PayloadFormat } from '../rtp/stream-stats';
import { decodePcma, decodePcmu, g711Codec } from './g711';

/** G.711's sampling rate; the only one this playout writes. */
export const PLAYOUT_RATE = 8000;

export interface PlayoutOptions {
  /** Payload type → format from the SDP's a=rtpmap, over RFC 3551's static types. */
  payloads?: ReadonlyMap<number, PayloadFormat>;
  /** Packets held back for reordering: 5 is 100 ms of 20 ms packets. */
  window?: number;
  /** The largest timestamp gap filled with silence; a larger one is a jump. */
  maxFillSamples?: number;
  /** Samples per chunk handed to the sink (the last one, at flush, may be shorter). */
  chunkSamples?: number;
}

export const PLAYOUT_DEFAULTS = { window: 5, maxFillSamples: 10 * PLAYOUT_RATE, chunkSamples: PLAYOUT_RATE / 10 } as const;

/**
 * Receives the PCM in order: `position` is the timeline sample of
 * samples[0], always the previous chunk's position + length. The array is
 * the sink's to keep; the playout never touches it again.
 */
export type PcmSink = (samples: Int16Array, position: number) => void;

export interface UnknownPayload {
  pt: number;
  /** "G729/8000" when the SDP or RFC 3551 names it; null for an unnamed dynamic type. */
  codec: string | null;
}

/** What `snapshot()` returns: a plain object the recorder shows per call and writes to the metadata. */
export interface PlayoutFigures {
  /** Everything pushed, whatever it was. */
  packets: number;
  /** Not an RTP packet by `rtpKind` (RTCP, truncated, garbage), or a length that does not fit the buffer. */
  notRtp: number;
  /** Audio packets decoded to PCM. */
  decoded: number;
  late: number;
  duplicates: number;
  /** Arrived after a packet with a higher sequence number and still played in its place. */
  reordered: number;
  /** Sequence numbers never played: missing when the packet after them was played. */
  lostPackets: number;
  /** Silence written where no audio was: lost packets, suppressed silence, skipped payloads. */
  filledSamples: number;
  ssrcChanges: number;
  /** The sender restarted its sequence numbers (a far jump confirmed by the next packet). */
  sequenceRestarts: number;
  /** Far from the sequence and not followed by its successor: dropped. */
  strays: number;
  timestampJumps: number;
  skippedTelephoneEvent: number;
  skippedComfortNoise: number;
  skippedUnknown: number;
  /** Each undecodable payload type once, in the order first seen. */
  unknownPayloadTypes: UnknownPayload[];
  /** Timeline length so far: samples handed to the sink plus those waiting for a full chunk. */
  samples: number;
}

/** RFC 3550 A.1's bounds on a plausible sequence step. */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const PAYLOAD_TYPES = 128;
/** Remembered played sequence numbers, to tell a duplicate from a late packet. */
const PLAYED_RING = 128;

const UNKNOWN = 0;
const PCMU = 1;
const PCMA = 2;
const TELEPHONE_EVENT = 3;
const COMFORT_NOISE = 4;

interface Held {
  ext: number;
  buf: Buffer;
  len: number;
}

/** Signed difference of two 16-bit sequence numbers. */
const seqDelta = (a: number, b: number) => ((a - b) << 16) >> 16;

export class Playout {
  private readonly window: number;
  private readonly maxFill: number;
  private readonly chunkSamples: number;
  private readonly kinds = new Uint8Array(PAYLOAD_TYPES);
  private readonly codecs: (string | null)[] = [];

  private readonly figures: Omit<PlayoutFigures, 'unknownPayloadTypes' | 'samples'> = {
    packets: 0,
    notRtp: 0,
    decoded: 0,
    late: 0,
    duplicates: 0,
    reordered: 0,
    lostPackets: 0,
    filledSamples: 0,
    ssrcChanges: 0,
    sequenceRestarts: 0,
    strays: 0,
    timestampJumps: 0,
    skippedTelephoneEvent: 0,
    skippedComfortNoise: 0,
    skippedUnknown: 0,
  };
  private readonly unknown: UnknownPayload[] = [];

  // The current segment: one SSRC and one run of sequence numbers.
  private ssrc: number | null = null;
  /** Highest extended sequence number received in the segment. */
  private highest = 0;
  /** Whether the segment has played a packet (nextSeq and nextTs are set). */
  private started = false;
  private nextSeq = 0;
  /** RTP timestamp (unsigned 32-bit) of the next sample on the timeline. */
  private nextTs = 0;
  private held: Held[] = [];
  private played = new Float64Array(PLAYED_RING).fill(Number.NaN);
  /** A far sequence number on probation: the sequence number that would confirm it, and the packet. */
  private probe: { seq: number; buf: Buffer; len: number } | null = null;
  private prevSsrc: number | null = null;
  private prevHighestSeq = 0;

  // Output.
  private chunk: Int16Array;
  private fill = 0;
  private emitted = 0;

  constructor(
    private readonly sink: PcmSink,
    options: PlayoutOptions = {},
  ) {
    this.window = wholeAtLeast(options.window, 0, PLAYOUT_DEFAULTS.window);
    this.maxFill = wholeAtLeast(options.maxFillSamples, 0, PLAYOUT_DEFAULTS.maxFillSamples);
    this.chunkSamples = wholeAtLeast(options.chunkSamples, 1, PLAYOUT_DEFAULTS.chunkSamples);
    this.chunk = new Int16Array(this.chunkSamples);
    for (const [pt, f] of STATIC_PAYLOAD_TYPES) this.setPayload(pt, f);
    // RFC 3551 §6 reserves 19, which drafts gave to CN; Wireshark (and stream-stats.ts) count it as CN.
    this.setPayload(19, { name: 'CN', rate: PLAYOUT_RATE });
    for (const [pt, f] of options.payloads ?? []) {
      if (Number.isInteger(pt) && pt >= 0 && pt < PAYLOAD_TYPES) this.setPayload(pt, f);
    }
  }

  private setPayload(pt: number, f: PayloadFormat): void {
    const name = typeof f.name === 'string' ? f.name : '';
    this.kinds[pt] = kindOf(name.toLowerCase(), f.rate);
    this.codecs[pt] = name === '' ? null : `${name}/${f.rate}`;
  }

  /** One datagram as it arrived; `len` bytes of `buf` (see the note on keeping buffers above). */
  push(buf: Buffer, len: number = buf.length): void {
    const f = this.figures;
    f.packets++;
    if (!Number.isInteger(len) || len < 0 || len > buf.length || rtpKind(buf, len) !== 'rtp') {
      f.notRtp++;
      return;
    }
    const ssrc = rtpSsrc(buf);
    const seq = rtpSeq(buf);
    if (this.ssrc === null) this.startSegment(ssrc, seq);
    else if (ssrc !== this.ssrc) {
      if (ssrc === this.prevSsrc && seqDelta(seq, this.prevHighestSeq) <= 0) {
        f.late++;
        return;
      }
      this.playAll();
      this.dropProbe();
      this.prevSsrc = this.ssrc;
      this.prevHighestSeq = this.highest & 0xffff;
      f.ssrcChanges++;
      this.startSegment(ssrc, seq);
    }

    const ext = this.extend(seq);
    if (ext > this.highest + MAX_DROPOUT || (this.started && ext < this.nextSeq - MAX_MISORDER)) {
      this.onFarSequence(seq, buf, len);
      return;
    }
    this.dropProbe();
    this.insert(ext, buf, len);
  }

  /** End of the stream: plays everything held and hands over the partial chunk. */
  flush(): void {
    this.dropProbe();
    this.playAll();
    if (this.fill > 0) {
      const last = this.chunk.slice(0, this.fill);
      const at = this.emitted;
      this.emitted += this.fill;
      this.fill = 0;
      this.chunk = new Int16Array(this.chunkSamples);
      this.sink(last, at);
    }
  }

  /** Timeline length so far (see PlayoutFigures.samples). */
  get position(): number {
    return this.emitted + this.fill;
  }

  snapshot(): PlayoutFigures {
    return { ...this.figures, unknownPayloadTypes: this.unknown.map((u) => ({ ...u })), samples: this.position };
  }

  private startSegment(ssrc: number, seq: number): void {
    this.ssrc = ssrc;
    this.highest = seq;
    this.started = false;
    this.played.fill(Number.NaN);
  }

  /** The 16-bit number extended to the one nearest the highest seen (RFC 3550 A.1). */
  private extend(seq: number): number {
    return this.highest + seqDelta(seq, this.highest & 0xffff);
  }

  /**
   * RFC 3550 A.1: "the next packet ... is expected to be in sequence; if it
   * is, we restart the sequence". Until then the far packet is held, not
   * played; if its successor does not come next, it is a stray.
   */
  private onFarSequence(seq: number, buf: Buffer, len: number): void {
    const probe = this.probe;
    if (probe === null || seq !== probe.seq) {
      this.dropProbe();
      this.probe = { seq: (seq + 1) & 0xffff, buf, len };
      return;
    }
    this.probe = null;
    this.playAll();
    this.figures.sequenceRestarts++;
    this.startSegment(this.ssrc!, (seq - 1) & 0xffff);
    this.insert(this.highest, probe.buf, probe.len);
    this.insert(this.extend(seq), buf, len);
  }

  private dropProbe(): void {
    if (this.probe === null) return;
    this.probe = null;
    this.figures.strays++;
  }

  private insert(ext: number, buf: Buffer, len: number): void {
    const f = this.figures;
    if (this.started && ext < this.nextSeq) {
      if (this.played[ext & (PLAYED_RING - 1)] === ext) f.duplicates++;
      else f.late++;
      return;
    }
    const held = this.held;
    let i = held.length;
    while (i > 0 && held[i - 1]!.ext > ext) i--;
    if (i > 0 && held[i - 1]!.ext === ext) {
      f.duplicates++;
      return;
    }
    if (ext < this.highest) f.reordered++;
    else this.highest = ext;
    held.splice(i, 0, { ext, buf, len });
    while (held.length > this.window) this.play(held.shift()!);
  }

  private playAll(): void {
    const held = this.held;
    this.held = [];
    for (const h of held) this.play(h);
  }

  private play(h: Held): void {
    const f = this.figures;
    const { buf, len } = h;
    const ts = rtpTimestamp(buf);
    if (!this.started) {
      this.started = true;
      this.nextSeq = h.ext;
      this.nextTs = ts;
    }
    if (h.ext > this.nextSeq) f.lostPackets += h.ext - this.nextSeq;
    this.nextSeq = h.ext + 1;
    this.played[h.ext & (PLAYED_RING - 1)] = h.ext;

    const pt = rtpPayloadType(buf);
    const kind = this.kinds[pt]!;
    const gap = (ts - this.nextTs) | 0;
    const fillable = gap > 0 && gap <= this.maxFill;
    if (kind === PCMU || kind === PCMA) {
      if (fillable) this.silence(gap);
      else if (gap !== 0) f.timestampJumps++;
      const start = rtpPayloadStart(buf);
      const end = rtpPayloadEnd(buf, len);
      this.decode(kind, buf, start, end);
      this.nextTs = (ts + (end - start)) >>> 0;
      f.decoded++;
      return;
    }
    if (kind === TELEPHONE_EVENT) f.skippedTelephoneEvent++;
    else if (kind === COMFORT_NOISE) f.skippedComfortNoise++;
    else this.onUnknown(pt);
    if (fillable) {
      this.silence(gap);
      this.nextTs = ts;
    }
  }

  private onUnknown(pt: number): void {
    this.figures.skippedUnknown++;
    if (!this.unknown.some((u) => u.pt === pt)) this.unknown.push({ pt, codec: this.codecs[pt] ?? null });
  }

  private decode(kind: number, buf: Buffer, start: number, end: number): void {
    let at = start;
    while (at < end) {
      const n = Math.min(this.chunkSamples - this.fill, end - at);
      const part = buf.subarray(at, at + n);
      if (kind === PCMU) decodePcmu(part, this.chunk, this.fill);
      else decodePcma(part, this.chunk, this.fill);
      at += n;
      this.advance(n);
    }
  }

  /** Chunks start zeroed, so silence is only a move forward. */
  private silence(n: number): void {
    this.figures.filledSamples += n;
    while (n > 0) {
      const step = Math.min(this.chunkSamples - this.fill, n);
      n -= step;
      this.advance(step);
    }
  }

  private advance(n: number): void {
    this.fill += n;
    if (this.fill < this.chunkSamples) return;
    const full = this.chunk;
    const at = this.emitted;
    this.emitted += this.fill;
    this.fill = 0;
    this.chunk = new Int16Array(this.chunkSamples);
    this.sink(full, at);
  }
}

/** G.711 is decoded only at its own 8000 Hz clock; "PCMU/16000" is a codec we cannot decode. */
function kindOf(name: string, rate: number): number {
  const g711 = g711Codec(name, rate);
  if (g711 === 'PCMU') return PCMU;
  if (g711 === 'PCMA') return PCMA;
  if (name.startsWith('telephone-event')) return TELEPHONE_EVENT;
  if (name === 'cn') return COMFORT_NOISE;
  return UNKNOWN;
}

function wholeAtLeast(v: number | undefined, min: number, fallback: number): number {
  return v !== undefined && Number.isInteger(v) && v >= min ? v : fallback;
}
