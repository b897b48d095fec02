/**
 * A relay shard: a worker thread that owns the sockets of the sessions the
 * relay gave it and moves their packets. One event loop is a hard ceiling
 * for a Node relay (a minimal one holds ~250 calls cleanly on a 2-core
 * box), and Node 20's dgram has no SO_REUSEPORT, so the relay spreads
 * sessions over shards, each with its own sub-range of the port pool.
 *
 * The packets go by the native packet thread when it is built
 * (`native-path.ts`), else by Node's dgram in this thread (`node-path.ts`);
 * `ShardStart.mediaPath` may ask for one, and the shard says which it runs.
 * This file is the shard's messages: open, peer, record, close, lend, warm.
 */
import { performance } from 'node:perf_hooks';
import { createMonotonicClock } from '../../clock';
import { LoopDelayMonitor } from '../../metrics/loop-delay';
import { ThreadSide, type ThreadService } from '../../worker/thread-side';
import { loadNativeRelay } from '../native/addon';
import type { MediaPath } from './media-path';
import { createNativePath } from './native-path';
import { createNodePath } from './node-path';
import type { OpenResult, ShardCall, ShardReady, ShardStart, ShardStats, ShardTell, SlotFigures } from './protocol';
import { TapWriter } from './tap';

/** A shard's capture is the recorder's tap (`tap.ts`): media reaches the ladder as the relay's stream figures. */
const tap = new TapWriter();
/**
 * Up to 256 batches of recorded RTP in flight to the main thread (~2.5 s of
 * a 250-call shard's G.711, ~12 MiB; at most 64 MiB, a batch being at most
 * tap.ts's 256 KiB): at 500 recorded calls the main
 * thread's pauses (garbage collection, a burst of call setups) outlasted the
 * default 64, and 21 % of the recorded packets were dropped.
 */
const side = new ThreadSide(tap, { maxInFlight: 256 });
const loopDelay = new LoopDelayMonitor();
/** Stream figures go out at most this often (the stats themselves every 250 ms). */
const FIGURES_EVERY_MS = 1_000;

let index = -1;
let path: MediaPath | null = null;
let lastFiguresMs = 0;

function call(payload: unknown): unknown {
  const c = payload as ShardCall;
  const p = path!;
  switch (c.op) {
    case 'open':
      return p.open(c);
    case 'peer':
      p.peer(c.slot, c.side, c.peer);
      return true;
    case 'record':
      return p.record(c.slot, c.on);
    case 'close':
      return p.close(c.slot, c.warm);
    case 'lend':
      return p.bindWarm(c.pairs, true);
    case 'warm':
      return p.bindWarm(c.pairs, false);
  }
}

/** The path the start asked for, or the native one when it loads; with why the other was not taken. */
function choosePath(o: ShardStart, offsetUs: number): { path: MediaPath; why: string | null } {
  const capture = side.capture.bind(side);
  const node = () => createNodePath({ host: o.host, strictSource: o.strictSource, offsetUs, capture, tap });
  if (o.mediaPath === 'node') return { path: node(), why: 'asked for (--media-path node)' };
  const loaded = loadNativeRelay();
  if ('error' in loaded) {
    if (o.mediaPath === 'native') throw new Error(`--media-path native: ${loaded.error}`);
    return { path: node(), why: loaded.error };
  }
  return { path: createNativePath({ addon: loaded.addon, host: o.host, strictSource: o.strictSource, engineNowUs: offsetUs + performance.now() * 1000, capture, tap }), why: null };
}

const shard: ThreadService<ShardStart, ShardStats, ShardReady> = {
  async start(o) {
    index = o.index;
    const clock = createMonotonicClock(o.clockOrigin);
    const chosen = choosePath(o, clock.nowUs() - performance.now() * 1000);
    path = chosen.path;
    loopDelay.start();
    return { index: o.index, mediaPath: path.name, mediaPathWhy: chosen.why };
  },
  stats() {
    const now = performance.now();
    let changed: SlotFigures[] = [];
    if (path && now - lastFiguresMs >= FIGURES_EVERY_MS) {
      lastFiguresMs = now;
      changed = path.takeChanged();
    }
    const d = loopDelay.summary();
    const s = path?.stats() ?? { sessions: 0, packets: 0, bytes: 0, garbage: 0, strictDrops: 0, noPeer: 0, stray: 0, sendErrors: 0, tapOverflow: tap.overflow, tapDropped: [] };
    return { index, ...s, loopDelayP99Us: d.count === 0 ? null : d.p99, changed };
  },
  call,
  tell(payload) {
    const r = call(payload);
    // An open told without waiting (warm pairs): a failure must still reach the relay.
    const told = (res: OpenResult) => {
      if (!res.ok) side.tell({ op: 'open-failed', slot: (payload as { slot: number }).slot, error: res.error } satisfies ShardTell);
    };
    if (r instanceof Promise) void (r as Promise<OpenResult>).then(told);
    else if ((payload as ShardCall).op === 'open') told(r as OpenResult);
  },
  quiesce() {
    loopDelay.stop();
  },
  async close() {
    path?.closeAll();
  },
};

side.serve(shard);
