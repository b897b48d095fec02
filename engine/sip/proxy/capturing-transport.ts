/**
 * The transport boundary as the proxy core sees it: every message read and
 * every message sent crosses here once, is counted once and captured once,
 * with what the transaction layer knows about it attached (which call, which
 * transaction, whether it is a retransmission).
 */
import type { Clock } from '../../clock';
import type { EventStream } from '../../events';
import { formatHostPort, type NextHop } from '../../net/host-port';
import type { SendFailure, SipTransport } from '../transport/types';
import { captureEvent, type CaptureMeta } from '../capture-meta';
import type { ProxyCounters } from './counters';

export interface CapturingTransportOptions {
  clock: Clock;
  events: EventStream;
  counters: ProxyCounters;
  /** Our address as capture writes it ("127.0.0.1:5060"). */
  self: string;
}

export class CapturingTransport {
  private udp: SipTransport | null = null;
  private tcp: SipTransport | null = null;

  constructor(private readonly options: CapturingTransportOptions) {}

  attach(udp: SipTransport | null, tcp: SipTransport | null): void {
    this.udp = udp;
    this.tcp = tcp;
  }

  detach(): void {
    this.udp = null;
    this.tcp = null;
  }

  /** A message read at `tIn` (when the worker reached it, after any wait in the kernel). */
  received(tIn: number, peer: NextHop, meta: CaptureMeta, raw: Buffer, retransmission: boolean): void {
    this.options.events.emit(captureEvent(tIn, 'in', peer.transport, formatHostPort(peer), this.options.self, meta, raw, retransmission));
  }

  /**
   * Sends, counts and captures (when `meta` is given: a 400 to bytes that
   * did not parse has none). False when the transport is gone. A failure the
   * transport learns of later goes to `onFailure` — for a client transaction
   * its transport error, which §16.9 treats "as if the client transaction
   * received a 503".
   *
   * The stamp is taken once the message has left: the UDP transport sends
   * inside `send()` (its lookup answers IP literals at once, see udp.ts) and
   * TCP hands the bytes to the socket there.
   */
  send(bytes: Buffer, hop: NextHop, meta: CaptureMeta | null, retransmission: boolean, onFailure?: SendFailure): boolean {
    const t = hop.transport === 'tcp' ? this.tcp : this.udp;
    if (!t) return false;
    this.options.counters.sent(retransmission);
    t.send(bytes, hop, onFailure);
    if (meta) this.options.events.emit(captureEvent(this.options.clock.nowUs(), 'out', hop.transport, this.options.self, formatHostPort(hop), meta, bytes, retransmission));
    return true;
  }

  /** Whether TCP is open at all (a large request may move to it, §18.1.1). */
  get hasTcp(): boolean {
    return this.tcp !== null;
  }

  /** UDP only: ask ICMP whether `hop` is reachable (udp-reachability.ts). */
  probe(hop: NextHop, onUnreachable: SendFailure): void {
    this.udp?.probe?.(hop, onUnreachable);
  }

  /** UDP only: `hop` was found unreachable moments ago. */
  suspect(hop: NextHop): boolean {
    return this.udp?.suspect?.(hop) ?? false;
  }
}
