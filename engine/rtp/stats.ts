/**
 * The relay's figures as the snapshot and `/metrics` carry them, and the
 * names every part of the media slice shares: close reasons, timeouts and
 * their defaults. Types and constants only.
 *
 * Timeouts keep rtpengine's names and meanings (rtpengine(8): --timeout,
 * --silent-timeout, --offer-timeout, --final-timeout), with one deliberate
 * difference: our final-timeout is on by default, because a session nobody
 * deletes (a proxy restarted mid-call) otherwise holds its ports for ever —
 * the story's 25,000 leaked ports.
 */
import type { MediaPathName } from './shard/media-path';

/**
 * Why a session was closed, a closed set:
 * - `bye`, `cancel`, `rejected` (a final error to the offer): the SIP dialog ended through the proxy;
 * - `delete`: an NG `delete` command;
 * - the four timeouts, named as rtpengine names them;
 * - `manual`: the user stopped the relay, or released it from the console;
 * - `orphan`: "release orphans now" (no dialog through our proxy any more);
 * - `shutdown`: the engine stopped.
 */
export const CLOSE_REASONS = ['bye', 'cancel', 'rejected', 'delete', 'timeout', 'silent-timeout', 'offer-timeout', 'final-timeout', 'manual', 'orphan', 'shutdown'] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** Seconds; 0 switches one off. */
export interface RelayTimeouts {
  /** No media in either direction this long: closed (rtpengine default 60). */
  timeout: number;
  /** Media in one direction only this long: closed (rtpengine default 3600). */
  silentTimeout: number;
  /** Offered and never answered this long: closed (rtpengine default 3600). */
  offerTimeout: number;
  /** Absolute lifetime (rtpengine: off by default; ours: 4 h). */
  finalTimeout: number;
}

/**
 * How often a live stream's figures reach the ladder (its `stats` events):
 * every 5 s in its first 30 s, then every minute, and once more when it
 * closes. Each is an entry of the call, and a long call must not rotate its
 * SIP messages out of the per-call bound with figures; so a live stream's
 * figures on the ladder can be up to a minute old.
 */
export const STREAM_REPORTS = { everyS: 5, slowerAfterS: 30, laterEveryS: 60 } as const;

export const DEFAULT_RELAY_TIMEOUTS: RelayTimeouts = { timeout: 60, silentTimeout: 3600, offerTimeout: 3600, finalTimeout: 4 * 3600 };

/** A released port pair waits this long before it is handed out again (late packets of the old call must not reach a new one). */
export const DEFAULT_QUARANTINE_MS = 2_000;

/** The port pool, counted in ports (an RTP/RTCP pair is two), as rtpengine's `ports_used` / `ports_free` count them. */
export interface PortPoolStats {
  min: number;
  max: number;
  /** Usable ports: even/odd pairs inside MIN-MAX. */
  total: number;
  /** Held by sessions (both pairs of every relayed stream). */
  inUse: number;
  /**
   * Bound ahead and lent to the SIP worker for its next INVITEs (lease.ts),
   * in no session yet: not in `inUse`, so ports in use with no call live
   * mean a leak, as they always did.
   */
  lent: number;
  /** Released, waiting out the quarantine. */
  quarantined: number;
  free: number;
  /** Ports another process held when we tried to bind them, out of the pool until retried: total = inUse + lent + quarantined + free + busy. */
  busy: number;
  /** Most ports taken from the pool at once since start (in use and lent). */
  highWater: number;
  /** Pairs handed out and given back since start. */
  allocations: number;
  releases: number;
  /** Allocations refused because no pair was free (each an offer refused, a 503 through the proxy). */
  allocationFailures: number;
  /** Ports another process held when we tried to bind them: skipped, counted, tried again later. */
  bindFailures: number;
}

/** One live session as the oldest-sessions table shows it. */
export interface RelaySessionRow {
  callId: string;
  /** Since the offer (ms). */
  ageMs: number;
  /** Since the last packet in any direction (ms); null before the first. */
  idleMs: number | null;
  state: 'offered' | 'answered';
  /** Came over NG, or set up by our proxy's SDP rewriting. */
  via: 'ng' | 'sip';
  streams: number;
  packets: number;
}

/** The snapshot's `relay` section. */
export interface RelayStats {
  /** The address written into SDP, and the range. */
  address: string;
  ports: PortPoolStats;
  /**
   * Non-null when MIN-MAX overlaps the kernel's ephemeral range
   * (/proc/sys/net/ipv4/ip_local_port_range): any client socket on the box
   * can take a relay port, and the relay skips it.
   */
  ephemeralOverlap: string | null;
  /** Over the last 10 s. */
  perSecond: { allocations: number; releases: number; packets: number };
  sessions: {
    live: number;
    offered: number;
    answered: number;
    /** Since start: set up by the proxy on lent ports (lease.ts) without asking the relay, and those whose lease was stale (an earlier relay or proxy run: their media is not relayed). */
    leased: number;
    leaseStale: number;
    /** Since start: initial INVITE offers the proxy sent the slow way (a round trip to the relay) because its lease was empty: the lease did not keep up. */
    leaseMissed: number;
    /** Since start, by reason. */
    closed: Record<CloseReason, number>;
  };
  /** The ten oldest live sessions, oldest first. */
  oldest: RelaySessionRow[];
  timeouts: RelayTimeouts;
  /** Since start. */
  packets: {
    relayed: number;
    bytes: number;
    /** Not RTP or RTCP (too short, wrong version): dropped. */
    garbage: number;
    /** From a source other than the latched one while strict-source is on. */
    strictDrops: number;
    /** Arrived before the other side's address was known and still unsent: more than 16 waiting, older than 500 ms when it became known, or never known (shard/node-path.ts, native/relay.c). */
    noPeer: number;
    /** Arrived on a port no session holds (a warm pair between calls: late packets of an ended call); on the native path after being held 500 ms for an open that did not come. */
    stray: number;
    sendErrors: number;
  };
  /** The worker threads relaying packets, each owning a sub-range of the pool. */
  shards: { index: number; sessions: number; loopDelayP99Us: number | null }[];
  /**
   * How packets move: 'native', the C packet thread per shard
   * (engine/rtp/native/relay.c), or 'node', Node's dgram in the shard's
   * thread; `why` says why not native (not built, or asked), null when native.
   */
  mediaPath: { name: MediaPathName; why: string | null };
}
