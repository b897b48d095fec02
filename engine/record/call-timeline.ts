/**
 * The two directions of a call on one 8 kHz sample clock, turned into the
 * frames of one WAV: stereo (caller left, callee right) or mono (the two
 * summed, clipped to 16 bits). Pure: no I/O, no clock but the arrival times
 * it is given.
 *
 * Frame 0 is the recording's start. Each direction's PCM (from its Playout,
 * contiguous from the direction's position 0) is placed at the frame of its
 * first packet's arrival after that start, rounded to the nearest sample.
 * If reordering makes the first packet played not the first to arrive, the
 * direction sits that packet's distance early or late; left as it is.
 *
 * Frames go out in order and once. A frame can go out when both directions
 * are known up to it:
 * - a direction with no packet yet is known silent up to the latest arrival
 *   seen (packets are drained in arrival order, so its first packet can only
 *   land later);
 * - a direction with audio is known up to the end of the PCM it has given;
 * - a direction gone quiet (no packet for `idleUs` while the other one
 *   talks; the caller flushes its playout) is known silent up to `idleUs`
 *   before the latest arrival, so one-way audio or silence suppression does
 *   not hold the other direction's audio in memory for the rest of the call;
 * - and whatever is more than MAX_AHEAD_SAMPLES behind the direction
 *   furthest ahead goes out regardless (a sender whose timestamps run fast
 *   would otherwise grow the other side's backlog without bound).
 *
 * PCM that lands on frames already written (the direction resumed earlier
 * than assumed, or its timestamps jumped back) is never mixed into the
 * past: leading silence there is dropped (`trimmedSamples`); if audio would
 * land there, the direction is moved later so its audio starts at the next
 * frame, and the move is counted (`shiftedSamples`). No audio is lost; the
 * direction's alignment is off by the count.
 */
import type { DirectionIndex } from './packet-queue';

export const TIMELINE_RATE = 8000;
const US_PER_SAMPLE = 1_000_000 / TIMELINE_RATE;
/** 5 s: the most one direction's audio waits for the other's. */
export const MAX_AHEAD_SAMPLES = 5 * TIMELINE_RATE;
const EMPTY = new Int16Array(0);

interface Chunk {
  samples: Int16Array;
  /** Frame of samples[0]. */
  at: number;
}

class Side {
  started = false;
  /** Frame of the direction's timeline position 0. */
  offset = 0;
  /** Frame after the last sample given. */
  end = 0;
  lastArrivalUs = 0;
  idle = false;
  chunks: Chunk[] = [];
}

export class CallTimeline {
  /** Frames taken so far: the WAV's length in frames. */
  frames = 0;
  /** Samples given and not yet taken, both directions. */
  pendingSamples = 0;
  trimmedSamples = 0;
  readonly shiftedSamples: [number, number] = [0, 0];

  private readonly sides: [Side, Side] = [new Side(), new Side()];
  private latestUs: number;

  constructor(
    private readonly startUs: number,
    readonly channels: 1 | 2,
  ) {
    this.latestUs = startUs;
  }

  /** A direction's RTP packet was drained: the first one places the direction. */
  arrival(d: DirectionIndex, arrivalUs: number): void {
    const s = this.sides[d];
    if (!s.started) {
      s.started = true;
      s.offset = this.frameAt(arrivalUs);
      s.end = s.offset;
    }
    s.lastArrivalUs = arrivalUs;
    s.idle = false;
    if (arrivalUs > this.latestUs) this.latestUs = arrivalUs;
  }

  /** Directions with audio whose last packet is more than `idleUs` before the latest arrival, not yet marked idle. */
  goneQuiet(idleUs: number): DirectionIndex[] {
    const out: DirectionIndex[] = [];
    for (const d of [0, 1] as const) {
      const s = this.sides[d];
      if (s.started && !s.idle && this.latestUs - s.lastArrivalUs > idleUs) out.push(d);
    }
    return out;
  }

  /** The caller flushed the direction's playout: its PCM so far is all given. */
  markIdle(d: DirectionIndex): void {
    this.sides[d].idle = true;
  }

  /** A Playout's sink: `samples` at the direction's timeline `position`. Keeps the array. */
  pcm(d: DirectionIndex, samples: Int16Array, position: number): void {
    const s = this.sides[d];
    let at = s.offset + position;
    let rest = samples;
    if (at < this.frames) {
      const behind = Math.min(samples.length, this.frames - at);
      let zeros = 0;
      while (zeros < behind && samples[zeros] === 0) zeros++;
      this.trimmedSamples += zeros;
      if (zeros < behind) {
        const move = this.frames - (at + zeros);
        s.offset += move;
        this.shiftedSamples[d] += move;
      }
      rest = samples.subarray(zeros);
      at += zeros;
      if (zeros < behind) at = this.frames;
    }
    s.end = Math.max(s.end, at + rest.length);
    if (rest.length === 0) return;
    s.chunks.push({ samples: rest, at });
    this.pendingSamples += rest.length;
  }

  /** The frame up to which both directions are known (see the rules above). */
  readyUntil(idleUs: number): number {
    const now = this.frameAt(this.latestUs);
    let ready = Infinity;
    let furthest = 0;
    for (const s of this.sides) {
      let known = s.end;
      if (!s.started) known = now;
      else if (s.idle) known = Math.max(s.end, this.frameAt(this.latestUs - idleUs));
      if (s.started && s.end > furthest) furthest = s.end;
      if (known < ready) ready = known;
    }
    return Math.max(ready, furthest - MAX_AHEAD_SAMPLES, this.frames);
  }

  /** The end of everything given: where the WAV ends once both playouts are flushed. */
  end(): number {
    return Math.max(this.frames, this.sides[0].end, this.sides[1].end);
  }

  /** Frames [frames, upTo), interleaved or mixed; silence where a direction gave nothing. */
  take(upTo: number): Int16Array {
    const from = this.frames;
    const n = upTo - from;
    if (n <= 0) return EMPTY;
    const ch = this.channels;
    const out = new Int16Array(n * ch);
    for (const d of [0, 1] as const) {
      const chunks = this.sides[d].chunks;
      while (chunks.length > 0) {
        const c = chunks[0]!;
        if (c.at >= upTo) break;
        const lo = Math.max(c.at, from);
        const hi = Math.min(c.at + c.samples.length, upTo);
        const src = c.samples;
        if (ch === 2) {
          for (let f = lo; f < hi; f++) out[(f - from) * 2 + d] = src[f - c.at]!;
        } else {
          for (let f = lo; f < hi; f++) {
            const m = out[f - from]! + src[f - c.at]!;
            out[f - from] = m > 32767 ? 32767 : m < -32768 ? -32768 : m;
          }
        }
        this.pendingSamples -= hi - lo;
        if (hi < c.at + c.samples.length) break;
        chunks.shift();
      }
    }
    this.frames = upTo;
    return out;
  }

  private frameAt(us: number): number {
    const f = Math.round((us - this.startUs) / US_PER_SAMPLE);
    return f > 0 ? f : 0;
  }
}
