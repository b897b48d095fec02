/**
 * The built-in endpoints' RTP: one socket per side (every call's caller
 * media on one port, every callee's on another; the relay tells the calls
 * apart by its own ports), one 20 ms tick that sends one G.711 packet for
 * every stream that is up, and counts of what came back. Each stream sends
 * to the address the other side's SDP gave (the relay's, when it runs).
 */
import type { RemoteInfo } from 'node:dgram';
import { LossyUdp } from './lossy-udp';
import type { Addr } from './messages';
import { PACKET_MS, RtpSender, toneFrames } from './signal';

interface Stream {
  sender: RtpSender;
  to: Addr;
}

export class MediaPump {
  sent = 0;
  received = 0;
  /** Off (the spec's rtp=0): streams are still set up for the calls, but nothing is sent. */
  sending = true;
  private readonly streams = new Map<string, Stream>();
  private timer: NodeJS.Timeout | null = null;
  private readonly frames: [Buffer[], Buffer[]] = [toneFrames(440), toneFrames(660)];

  private constructor(
    readonly caller: LossyUdp,
    readonly callee: LossyUdp,
    private readonly random: () => number,
  ) {}

  static async open(host: string, random: () => number): Promise<MediaPump> {
    let pump: MediaPump | null = null;
    const count = (_m: Buffer, _f: RemoteInfo) => {
      if (pump) pump.received++;
    };
    const [a, b] = await Promise.all([LossyUdp.open(host, count, random), LossyUdp.open(host, count, random)]);
    pump = new MediaPump(a, b, random);
    pump.timer = setInterval(() => pump!.tick(), PACKET_MS);
    return pump;
  }

  /** Starts a call side's audio towards `to` (the caller's tone is 440 Hz, the callee's 660 Hz). */
  start(callId: string, side: 'caller' | 'callee', to: Addr): void {
    const key = `${side} ${callId}`;
    if (this.streams.has(key)) return;
    this.streams.set(key, { sender: new RtpSender(Math.floor(this.random() * 0x100000000), this.frames[side === 'caller' ? 0 : 1], this.random), to });
  }

  /** Stops both sides of a call. */
  stop(callId: string): void {
    this.streams.delete(`caller ${callId}`);
    this.streams.delete(`callee ${callId}`);
  }

  get streamCount(): number {
    return this.streams.size;
  }

  private tick(): void {
    if (!this.sending) return;
    for (const [key, s] of this.streams) {
      // A buffer per packet: dgram keeps it until the kernel has it.
      const out = Buffer.allocUnsafe(12 + 160);
      const len = s.sender.next(out);
      (key.startsWith('caller') ? this.caller : this.callee).sendRaw(out.subarray(0, len), s.to);
      this.sent++;
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.streams.clear();
    await Promise.all([this.caller.close(), this.callee.close()]);
  }
}
