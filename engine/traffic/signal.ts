/**
 * The audio the built-in endpoints send: G.711 µ-law, 20 ms (160 samples)
 * per RTP packet, a tone that rises and falls in level every second so a
 * recording of it is recognisable (and not a flat line). Pure: the frames
 * are computed once and replayed; a packet is a 12-byte RTP header
 * (RFC 3550 §5.1) written in place before each send.
 */
import { encodePcmu } from '../record/g711';

export const SAMPLES_PER_PACKET = 160;
export const PACKET_MS = 20;
export const PCMU = 0;
const RTP_HEADER = 12;

/** One second of µ-law frames: 50 packets' payloads of a `hz` tone whose level swells and fades once. */
export function toneFrames(hz: number, rate = 8000): Buffer[] {
  const frames: Buffer[] = [];
  const perSecond = rate / SAMPLES_PER_PACKET;
  for (let f = 0; f < perSecond; f++) {
    const b = Buffer.alloc(SAMPLES_PER_PACKET);
    for (let i = 0; i < SAMPLES_PER_PACKET; i++) {
      const n = f * SAMPLES_PER_PACKET + i;
      const level = 0.15 + 0.35 * Math.sin((Math.PI * n) / rate) ** 2;
      b[i] = encodePcmu(Math.round(level * 32767 * Math.sin((2 * Math.PI * hz * n) / rate)));
    }
    frames.push(b);
  }
  return frames;
}

/** One RTP sender: its SSRC, sequence number and timestamp (random starts, RFC 3550 §5.1). */
export class RtpSender {
  private seq: number;
  private ts: number;
  private n = 0;
  constructor(
    readonly ssrc: number,
    private readonly frames: readonly Buffer[],
    random: () => number,
  ) {
    this.seq = Math.floor(random() * 0x10000);
    this.ts = Math.floor(random() * 0x100000000);
  }

  /** The next packet, written into `out` (at least 12 + 160 bytes); returns its length. */
  next(out: Buffer): number {
    out[0] = 0x80;
    out[1] = (this.n === 0 ? 0x80 : 0) | PCMU;
    out.writeUInt16BE(this.seq, 2);
    out.writeUInt32BE(this.ts >>> 0, 4);
    out.writeUInt32BE(this.ssrc >>> 0, 8);
    const frame = this.frames[this.n % this.frames.length]!;
    frame.copy(out, RTP_HEADER);
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + SAMPLES_PER_PACKET) >>> 0;
    this.n++;
    return RTP_HEADER + frame.length;
  }
}
