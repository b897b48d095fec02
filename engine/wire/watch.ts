/**
 * Watch mode (`--watch IFACE[:FILTER]`): the wire tap pointed at SIP that
 * does not cross this engine — a Kamailio on the same box, say — building
 * calls and ladders from the wire alone, as sngrep does. The calls are a
 * source of their own (`watch`), keyed `watch/Call-ID`, so they never merge
 * with the proxy's live calls even when the same Call-ID crosses both.
 *
 * Directions follow the import's convention (there is no "our side"):
 * requests `in`, responses `out`. The same bytes on the same hop again is a
 * retransmission (the last 100,000 messages are remembered for that).
 */
import type { Clock } from '../clock';
import type { CapturedPacket } from '../capture/pcap-read';
import { SipPacketReader } from '../capture/import';
import { WATCH_SOURCE, type CallSourceId, type EventStream, type SipCaptureEvent } from '../events';
import { measureClockOffset, type ClockOffset } from './clock-offset';
import { DumpcapStream } from './dumpcap';

export interface WatchTarget {
  iface: string;
  filter: string;
}

export const DEFAULT_WATCH_FILTER = 'port 5060';

/** The snapshot's `watch` section (null without `--watch`). */
export interface WatchStats {
  iface: string;
  filter: string;
  on: boolean;
  /** Why it is off, in one line (null while on). */
  reason: string | null;
  source: CallSourceId;
  packets: number;
  messages: number;
  /** What was not a SIP message, by reason. */
  skipped: Record<string, number>;
}

const CLOCK_REFRESH_MS = 60_000;

export class WireWatch {
  private dumpcap: DumpcapStream | null = null;
  private reader = new SipPacketReader(100_000);
  private offset: ClockOffset = { offsetUs: 0, spreadUs: 0 };
  private clockTimer: NodeJS.Timeout | null = null;
  private reason: string | null = 'not started';
  private messages = 0;

  constructor(
    private readonly ctx: { clock: Clock; events: EventStream },
    readonly target: WatchTarget,
    /** Registers the source with the call store (once, at the first start). */
    private readonly addSource: () => void,
    private readonly command?: string,
  ) {}

  async start(): Promise<void> {
    await this.stop();
    const dumpcap = new DumpcapStream(
      { iface: this.target.iface, filter: this.target.filter, command: this.command },
      (packets) => this.onPackets(packets),
      (why) => {
        if (this.dumpcap !== dumpcap) return;
        this.dumpcap = null;
        this.reason = why;
      },
    );
    try {
      await dumpcap.start();
    } catch (err) {
      this.reason = (err as Error).message;
      return;
    }
    this.addSource();
    this.dumpcap = dumpcap;
    this.reason = null;
    this.offset = measureClockOffset(this.ctx.clock);
    this.clockTimer = setInterval(() => (this.offset = measureClockOffset(this.ctx.clock)), CLOCK_REFRESH_MS);
    this.clockTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.clockTimer) clearInterval(this.clockTimer);
    this.clockTimer = null;
    const d = this.dumpcap;
    this.dumpcap = null;
    if (d) {
      this.reason = 'stopped';
      await d.stop();
    }
  }

  stats(): WatchStats {
    return {
      iface: this.target.iface,
      filter: this.target.filter,
      on: this.dumpcap !== null,
      reason: this.reason,
      source: WATCH_SOURCE,
      packets: this.dumpcap?.packets ?? 0,
      messages: this.messages,
      skipped: { ...this.reader.skipped },
    };
  }

  private onPackets(packets: CapturedPacket[]): void {
    const out: SipCaptureEvent[] = [];
    for (const p of packets) this.reader.push({ ...p, tsUs: Math.round(p.tsUs - this.offset.offsetUs) }, out);
    this.messages += out.length;
    for (const ev of out) this.ctx.events.emit({ ...ev, source: WATCH_SOURCE });
  }
}

/** `IFACE[:FILTER]` → the target (the filter defaults to `port 5060`). */
export function parseWatchTarget(v: string): WatchTarget | null {
  const i = v.indexOf(':');
  const iface = (i < 0 ? v : v.slice(0, i)).trim();
  const filter = i < 0 ? DEFAULT_WATCH_FILTER : v.slice(i + 1).trim();
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(iface) || filter === '') return null;
  return { iface, filter };
}
