/**
 * The capture model: every SIP message callpath receives or sends becomes one
 * of these, stamped from the engine's single monotonic clock (µs). It feeds
 * the call store, the ladder, exports and the UI.
 */
export type Direction = 'in' | 'out';
export type TransportName = 'udp' | 'tcp';

export interface SipCaptureEvent {
  kind: 'sip';
  /** Wall-clock µs from the engine clock. */
  tsUs: number;
  direction: Direction;
  transport: TransportName;
  /** "ip:port" ("[v6]:port" for IPv6). */
  src: string;
  dst: string;
  callId: string;
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
}

/** Where one call is (RFC 3261 dialog states, plus how it ended). */
export type CallState = 'trying' | 'early' | 'confirmed' | 'terminated' | 'failed';
