/**
 * How a relay shard moves packets: with Node's dgram in this thread
 * (`node-path.ts`) or with the native packet thread (`native-path.ts`,
 * `../native/relay.c`). Both do the same per packet: classify, latch,
 * count with Wireshark's definitions, forward, hold what has nowhere to go
 * yet, tap what is recorded. The shard (`entry.ts`) picks one at start.
 */
import type { OpenResult, Peer, ShardCall, ShardStats, SlotFigures } from './protocol';

export type MediaPathName = 'native' | 'node';

/** What a shard reports of its path, without the shard's own fields. */
export type PathStats = Omit<ShardStats, 'index' | 'loopDelayP99Us' | 'changed'>;

export interface MediaPath {
  readonly name: MediaPathName;
  open(c: Extract<ShardCall, { op: 'open' }>): OpenResult | Promise<OpenResult>;
  peer(slot: number, side: 0 | 1, peer: Peer): void;
  record(slot: number, on: boolean): boolean;
  close(slot: number, warm: boolean): SlotFigures | null;
  /** Binds the pairs' sockets as warm ones, lent or not (`lend`/`warm` ops); answers the pairs that could not be bound. */
  bindWarm(pairs: readonly number[], lent: boolean): number[] | Promise<number[]>;
  /** Figures of the streams that moved since the last call. */
  takeChanged(): SlotFigures[];
  stats(): PathStats;
  /** Closes every socket (the shard stops). */
  closeAll(): void;
}
