/**
 * What the relay (main thread, `../relay.ts`) and one relay shard (a worker
 * thread, `entry.ts`) say to each other. A shard owns the sockets of the
 * sessions it was given; the main thread owns the port pool, the sessions'
 * signalling state and the timeouts.
 *
 * A stream through the relay is a pair of sides, each a relay RTP port
 * (even) and its RTCP port (+1):
 *
 *   caller ⇄ side A (the port in the answer the caller gets)
 *            side B (the port in the offer the callee gets) ⇄ callee
 *
 * What arrives on A is sent out of B to B's peer, and the other way round.
 */
import type { ClockOrigin } from '../../clock';
import type { StreamFigures } from '../stream-stats';
import type { MediaPathName } from './media-path';

export interface ShardStart {
  index: number;
  /** The relay address the sockets bind to. */
  host: string;
  /** Drop packets from any source other than the latched one. */
  strictSource: boolean;
  clockOrigin: ClockOrigin;
  /** How packets move (`media-path.ts`): 'auto' (the default) takes the native path when it is built, else Node's dgram. */
  mediaPath?: MediaPathChoice;
}

export type MediaPathChoice = 'auto' | MediaPathName;

export interface ShardReady {
  index: number;
  /** The path this shard runs. */
  mediaPath: MediaPathName;
  /** Why it is not the native one (not built, or asked); null when it is. */
  mediaPathWhy: string | null;
}

/** Where one side sends: its peer's RTP and RTCP ports (RTCP = RTP with rtcp-mux). */
export interface Peer {
  address: string;
  rtpPort: number;
  rtcpPort: number;
}

/** What the shard is asked to do, with the main thread waiting for the answer. */
export type ShardCall =
  /** Binds the four sockets of a stream (or takes them warm, still bound from an earlier stream); `peers` from the SDP (null until the answer says). */
  | { op: 'open'; slot: number; ports: readonly [number, number]; peers: readonly [Peer | null, Peer | null]; clockRates: ReadonlyArray<readonly [number, string, number]>; recording?: boolean }
  /** The recorder taps (or stops tapping) the stream's RTP: copies go to the main thread as capture batches (`tap.ts`). */
  | { op: 'record'; slot: number; on: boolean }
  /** The SDP (an answer, a re-offer) says where a side's peer is; a latched side keeps its latched address. */
  | { op: 'peer'; slot: number; side: 0 | 1; peer: Peer }
  /** Ends a stream; answered with its last figures. `warm`: keep its sockets bound for a later open of the same ports (the pool said so). */
  | { op: 'close'; slot: number; warm: boolean }
  /**
   * Lends these pairs (RTP ports; RTCP is +1) to the proxy (`../lease.ts`):
   * binds their sockets ahead of any stream, as warm sockets the next open of
   * those ports takes (already warm ones stay), and holds what arrives on
   * them until that open. Answered with the pairs that could not be bound
   * (another process holds a port), whose sockets it closed again.
   */
  | { op: 'lend'; pairs: readonly number[] }
  | { op: 'warm'; pairs: readonly number[] };

/** What a shard says without being asked. */
export type ShardTell = { op: 'open-failed'; slot: number; error: string };

export type OpenResult = { ok: true } | { ok: false; busy: number[]; error: string };

/** One direction of a stream: what arrived on one side. */
export interface SideFigures extends StreamFigures {
  /** The address the side latched to ("ip:port"), null before its first packet. */
  latched: string | null;
  rtcpPackets: number;
}

export interface SlotFigures {
  slot: number;
  sides: [SideFigures, SideFigures];
}

export interface ShardStats {
  index: number;
  sessions: number;
  /** Since the shard started. */
  packets: number;
  bytes: number;
  garbage: number;
  strictDrops: number;
  noPeer: number;
  stray: number;
  /** Tapped packets that did not fit a batch, since the shard started. */
  tapOverflow: number;
  /** Tapped packets that never left the shard (overflow, or a batch the main thread was too far behind for) since the last report: [slot, from the caller, from the callee]. */
  tapDropped: [number, number, number][];
  sendErrors: number;
  loopDelayP99Us: number | null;
  /** Streams that moved since the last report that carried figures (about once a second). */
  changed: SlotFigures[];
}
