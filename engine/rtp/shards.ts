/**
 * The relay's shards as the main thread sees them: one worker thread per
 * shard (`shard/entry.ts`), each with its own sub-range of the port pool,
 * so a session's ports, its sockets and its packets all live in one thread.
 * A new session goes to the shard with the fewest sessions.
 */
import type { ClockOrigin } from '../clock';
import type { DropCount } from '../metrics/drops';
import { ThreadHost } from '../worker/thread-host';
import { workerScript } from '../worker/worker-script';
import { PortPool } from './port-pool';
import type { MediaPathChoice, OpenResult, Peer, ShardCall, ShardReady, ShardStart, ShardStats, ShardTell, SlotFigures } from './shard/protocol';
import type { PortPoolStats } from './stats';

/** How long the main thread waits for a shard to bind or close a stream's sockets. */
const CALL_TIMEOUT_MS = 2_000;

export interface ShardsOptions {
  host: string;
  min: number;
  max: number;
  count: number;
  quarantineMs: number;
  /** Released pairs kept bound over all shards (split evenly): `warm-pairs.ts`. */
  warmPairs: number;
  strictSource: boolean;
  /** How packets move (`shard/media-path.ts`); default 'auto'. */
  mediaPath?: MediaPathChoice;
  monoMs: () => number;
  clockOrigin: ClockOrigin;
  onStats(stats: ShardStats, drops: DropCount[]): void;
  onFailure(index: number, err: Error): void;
  /** A batch of tapped packets from a shard (`shard/tap.ts`), for the recorder. */
  onTap(batch: ArrayBuffer): void;
  /** A stream opened without waiting (`openWarm`) could not take its sockets after all. */
  onOpenFailed(slot: number, error: string): void;
  /** The shard's built script (tests of the desktop bundle); by default from source or beside the main bundle. */
  workerUrl?: URL;
}

export interface Shard {
  readonly index: number;
  readonly pool: PortPool;
  sessions: number;
  latest: ShardStats | null;
  /** What the shard said at start: the path it runs, and why not the native one. */
  ready: ShardReady | null;
}

const defaultWorker = () => workerScript(import.meta.url, new URL('./shard/entry.ts', import.meta.url), 'rtp-shard.js');

/** Splits MIN-MAX into `count` sub-ranges of whole pairs; fewer when the range is too small for that many. */
export function splitRange(min: number, max: number, count: number): { min: number; max: number }[] {
  const first = min % 2 === 0 ? min : min + 1;
  const pairs = Math.floor((max - first + 1) / 2);
  const n = Math.max(1, Math.min(count, pairs));
  const out: { min: number; max: number }[] = [];
  for (let i = 0; i < n; i++) {
    const from = Math.floor((i * pairs) / n);
    const to = Math.floor(((i + 1) * pairs) / n);
    out.push({ min: first + 2 * from, max: first + 2 * to - 1 });
  }
  return out;
}

export class Shards {
  readonly list: Shard[] = [];
  /** Most ports in use at once over the whole pool, since start. */
  private highWater = 0;
  private readonly hosts: ThreadHost<ShardStart, ShardStats, ShardReady>[] = [];

  constructor(private readonly o: ShardsOptions) {}

  async start(): Promise<void> {
    const ranges = splitRange(this.o.min, this.o.max, this.o.count);
    try {
      await Promise.all(
        ranges.map(async (r, index) => {
          const host = new ThreadHost<ShardStart, ShardStats, ShardReady>({
            name: `relay shard ${index}`,
            ...(this.o.workerUrl ? { url: this.o.workerUrl } : defaultWorker()),
            onCapture: (batch) => this.o.onTap(batch),
            onStats: (stats, drops) => {
              const shard = this.list.find((s) => s.index === stats.index);
              if (shard) shard.latest = stats;
              this.o.onStats(stats, drops);
            },
            onFailure: (err) => this.o.onFailure(index, err),
            onTell: (payload) => {
              const t = payload as ShardTell;
              if (t.op === 'open-failed') this.o.onOpenFailed(t.slot, t.error);
            },
          });
          this.hosts[index] = host;
          const warmPairs = Math.floor(this.o.warmPairs / ranges.length);
          this.list[index] = { index, pool: new PortPool({ ...r, quarantineMs: this.o.quarantineMs, warmPairs, monoMs: this.o.monoMs }), sessions: 0, latest: null, ready: null };
          this.list[index]!.ready = await host.start({ index, host: this.o.host, strictSource: this.o.strictSource, clockOrigin: this.o.clockOrigin, mediaPath: this.o.mediaPath ?? 'auto' });
        }),
      );
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.stop()));
    this.hosts.length = 0;
  }

  /** The shard a new session goes to. */
  pick(): Shard {
    let best = this.list[0]!;
    for (const s of this.list) if (s.sessions < best.sessions || (s.sessions === best.sessions && s.pool.stats().free > best.pool.stats().free)) best = s;
    return best;
  }

  /** `n` pairs from one shard's pool, all or nothing (null: that shard has fewer free). */
  allocate(shard: Shard, n: number): number[] | null {
    const ports = shard.pool.allocate(n);
    if (ports) this.highWater = Math.max(this.highWater, this.list.reduce((sum, s) => sum + s.pool.stats().inUse, 0));
    return ports;
  }

  open(shard: number, slot: number, ports: readonly [number, number], peers: readonly [Peer | null, Peer | null], clockRates: ReadonlyArray<readonly [number, string, number]>, recording: boolean): Promise<OpenResult> {
    return this.call(shard, { op: 'open', slot, ports, peers, clockRates, recording }) as Promise<OpenResult>;
  }

  /**
   * Opens a stream on warm pairs without waiting: their sockets are bound
   * already, so the shard cannot fail for want of a port, and messages to a
   * shard arrive in order (a later peer, close or packet sees the stream).
   * If it fails anyway, `onOpenFailed` says so. False when the shard is gone.
   */
  openWarm(shard: number, slot: number, ports: readonly [number, number], peers: readonly [Peer | null, Peer | null], clockRates: ReadonlyArray<readonly [number, string, number]>, recording: boolean): boolean {
    return this.hosts[shard]?.tell({ op: 'open', slot, ports, peers, clockRates, recording } satisfies ShardCall) ?? false;
  }

  /** Starts or stops the recorder's tap on a stream; false when the shard is gone. */
  record(shard: number, slot: number, on: boolean): boolean {
    return this.hosts[shard]?.tell({ op: 'record', slot, on } satisfies ShardCall) ?? false;
  }

  /** One way: messages to a shard arrive in order, so a later close or packet sees it; false when the shard is gone. */
  setPeer(shard: number, slot: number, side: 0 | 1, peer: Peer): boolean {
    return this.hosts[shard]?.tell({ op: 'peer', slot, side, peer } satisfies ShardCall) ?? false;
  }

  /** `warm`: the stream's sockets stay bound for the pool's next allocation of its pairs. */
  close(shard: number, slot: number, warm: boolean): Promise<SlotFigures | null> {
    return this.call(shard, { op: 'close', slot, warm }) as Promise<SlotFigures | null>;
  }

  /** Binds pairs' sockets ahead of their streams (the proxy's lease); resolves with the RTP ports of the pairs another process holds. */
  lend(shard: number, pairs: readonly number[]): Promise<number[]> {
    return this.call(shard, { op: 'lend', pairs }) as Promise<number[]>;
  }

  /** Binds pairs ahead of any offer, neither lent nor in a stream; resolves to the RTP ports of those it could not bind. */
  bindWarm(shard: number, pairs: readonly number[]): Promise<number[]> {
    return this.call(shard, { op: 'warm', pairs }) as Promise<number[]>;
  }

  /** The whole pool, summed over the shards. */
  /** The pools' figures, `lent` ports (taken from the pools, in no session) counted apart from those in use. */
  poolStats(lent: number): PortPoolStats {
    const all = this.list.map((s) => s.pool.stats());
    const sum = (k: keyof PortPoolStats) => all.reduce((n, s) => n + s[k], 0);
    return {
      min: this.o.min,
      max: this.o.max,
      total: sum('total'),
      inUse: sum('inUse') - lent,
      lent,
      quarantined: sum('quarantined'),
      free: sum('free'),
      busy: sum('busy'),
      highWater: this.highWater,
      allocations: sum('allocations'),
      releases: sum('releases'),
      allocationFailures: sum('allocationFailures'),
      bindFailures: sum('bindFailures'),
    };
  }

  private call(shard: number, c: ShardCall): Promise<unknown> {
    const host = this.hosts[shard];
    if (!host) return Promise.reject(new Error(`relay shard ${shard} is not running`));
    return host.call(c, CALL_TIMEOUT_MS);
  }
}
