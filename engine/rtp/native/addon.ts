/**
 * The native packet path (`relay.c`, built by `build.mjs` into
 * out/native/relay.node), loaded once per thread. Not loading is not an
 * error: the relay then runs on Node's dgram, and says why.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An opaque handle to one packet thread and its sockets. */
export type NativeRelayHandle = { readonly __nativeRelay: unique symbol };

/** One side's figures: the numbers in `FIGURE_FIELDS` order, and the latched "ip:port" or null. */
export type NativeSideFigures = [Float64Array, string | null];

/** relay.c's exports; each takes the handle first. */
export interface NativeRelayAddon {
  /** `engineNowUs`: the engine clock now (the thread maps its own clock to it); `onTap`: batches of recorded packets, in tap.ts's record format. */
  create(engineNowUs: number, strictSource: boolean, onTap: (batch: ArrayBuffer) => void): NativeRelayHandle;
  destroy(r: NativeRelayHandle): void;
  /** A socket bound to host:port and polled (what arrives before an open takes it is held up to 500 ms, then stray); throws with `code` (EADDRINUSE, …) when it cannot be bound. */
  bind(r: NativeRelayHandle, host: string, port: number): number;
  closeSocket(r: NativeRelayHandle, fd: number): void;
  /** fds: side A's RTP and RTCP, side B's RTP and RTCP. False when the slot exists or a socket is unknown or held. */
  open(r: NativeRelayHandle, slot: number, fds: readonly number[], divisors: Float64Array, events: Uint8Array, recording: boolean): boolean;
  replay(r: NativeRelayHandle, slot: number): void;
  /** False when the address is not an IP literal. */
  setPeer(r: NativeRelayHandle, slot: number, side: 0 | 1, address: string, rtpPort: number, rtcpPort: number): boolean;
  record(r: NativeRelayHandle, slot: number, on: boolean): boolean;
  figures(r: NativeRelayHandle, slot: number): [NativeSideFigures, NativeSideFigures] | null;
  close(r: NativeRelayHandle, slot: number, keepWarm: boolean): [NativeSideFigures, NativeSideFigures] | null;
  takeDirty(r: NativeRelayHandle): number[];
  takeTapDropped(r: NativeRelayHandle): [number, number, number][];
  /** [packets, bytes, garbage, strictDrops, noPeer, stray, sendErrors, tapOverflow, sessions] */
  totals(r: NativeRelayHandle): Float64Array;
  /** The stream figures of the given RTP packets arriving at the given times (engine µs), with no socket: for tests. */
  analyse(packets: readonly Buffer[], arrivalsUs: Float64Array, divisors: Float64Array, events: Uint8Array): NativeSideFigures;
  /** Relays created and not yet freed in this process (freed once destroyed and their handle collected): for tests. */
  live(): number;
}

/** The order of the numbers in NativeSideFigures (relay.c's side_figures); -1 stands for null. */
export const FIGURE_FIELDS = ['packets', 'bytes', 'ssrc', 'ssrcChanges', 'firstSeq', 'payloadType', 'expected', 'lost', 'sequenceErrors', 'maxDeltaMs', 'jitterMs', 'maxJitterMs', 'meanJitterMs', 'firstUs', 'lastUs', 'rtcpPackets', 'started'] as const;

let loaded: { addon: NativeRelayAddon } | { error: string } | null = null;

/** The package root: the nearest folder up from here with callpath's package.json (source, bundle and app archive alike). */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'callpath') return dir;
      } catch {
        // not ours
      }
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

export function nativeRelayPath(): string | null {
  if (process.env.CALLPATH_NATIVE_RELAY) return process.env.CALLPATH_NATIVE_RELAY;
  const root = packageRoot();
  return root ? join(root, 'out', 'native', 'relay.node') : null;
}

export function loadNativeRelay(): { addon: NativeRelayAddon } | { error: string } {
  if (loaded) return loaded;
  const file = nativeRelayPath();
  if (!file) return (loaded = { error: 'no package root found to load out/native/relay.node from' });
  try {
    const addon = createRequire(import.meta.url)(file) as NativeRelayAddon;
    if (typeof addon.create !== 'function') return (loaded = { error: `${file} is not the relay addon` });
    return (loaded = { addon });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'MODULE_NOT_FOUND' || /cannot open shared object|no such file/i.test(e.message) ? `${file} not built (npm run build:native; needs a C compiler)` : e.message;
    return (loaded = { error: why });
  }
}
