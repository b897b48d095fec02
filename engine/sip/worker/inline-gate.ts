/**
 * `inline` publish mode: a deliberate reproduction of the story's bad
 * design, where each of Kamailio's SIP worker processes published a call's
 * event to Redis synchronously before it relayed the INVITE. Here a fixed
 * number of simulated workers (default 8, like Kamailio's children) take
 * the messages the transports read; a worker that takes an initial INVITE
 * waits for the publish reply before the proxy core sees it, and while all
 * of them wait, every message waits in a bounded queue behind them — as
 * datagrams waited in the kernel's socket buffer. Past the bound a message
 * is dropped and counted, as the kernel drops a datagram on a full buffer.
 * A copy of an INVITE whose original already went on costs a worker nothing
 * (the transaction absorbs it, as Kamailio's tm does before its script
 * publishes): only the wait itself holds the workers, never our own hops.
 *
 * Only in this mode: in every other mode the transports hand messages
 * straight to the core and nothing on the SIP path waits for Redis.
 */
import type { DropCounters } from '../../metrics/drops';
import type { LatencySummary } from '../../metrics/histogram';
import { RateMeter } from '../../metrics/rate';
import { WindowedHistogram } from '../../metrics/windowed-histogram';
import type { NextHop } from '../../net/host-port';
import { peekHeader } from '../message';

export const DEFAULT_INLINE_WORKERS = 8;
/** Messages waiting for a free worker at most (a 208 KiB socket buffer holds about this many small INVITEs). */
export const INLINE_QUEUE_MAX = 400;

/**
 * A copy of a held message arriving this soon after the original went on
 * was sent because the original waited (the sender's T1 fired before our
 * answer could reach it): it is the wait's retransmission too.
 */
const CROSSING_US = 1_000_000;
/** Held and recently released messages remembered for that, at most. */
const REMEMBERED_MAX = 10_000;
/** The workers' busy share is measured over this much time. */
const BUSY_WINDOW_US = 5_000_000;

/** What the gate adds to the SIP path, for the snapshot (the proxy's `inline`). */
export interface InlineGateState {
  workers: number;
  /** Blocked on Redis now, and messages waiting for a worker. */
  busy: number;
  waiting: number;
  /** Read → handed to the core, µs, initial INVITEs, last minute: the wait on Redis before the proxy even sees the INVITE. */
  heldUs: LatencySummary;
  /**
   * Retransmissions the wait caused: byte-identical copies of a message
   * that was waiting here (or had gone on less than a second before),
   * since the gate started, and per second over the last 5 s.
   */
  heldRetransmissions: number;
  heldRetransmissionsPerSecond: number;
  /**
   * The share of the workers' time spent waiting on Redis (0–1), from the
   * last stats read at or before 5 s ago (so 5 s and up to one report
   * interval more): Little's law's INVITEs/s × the wait per publish ÷
   * workers. Near 1 the workers cannot keep up and the queue behind them grows.
   */
  busyShare: number;
}

/** Publishes the call's `new` event and resolves once Redis replied (or it gave up). */
export type InlinePublish = (raw: Buffer, readUs: number) => Promise<void>;

interface Waiting {
  data: Buffer;
  peer: NextHop;
  readUs: number;
  /** Its bytes as a key (remembered while held, to know its retransmissions). */
  key: string;
}

const INVITE_ = Buffer.from('INVITE ', 'latin1');

/** An INVITE outside a dialog (no To-tag): the message that makes a call's `new` event. */
export function isInitialInvite(data: Buffer): boolean {
  if (data.length < INVITE_.length || data.compare(INVITE_, 0, INVITE_.length, 0, INVITE_.length) !== 0) return false;
  const to = peekHeader(data, 'To');
  return to !== null && !/;\s*tag\s*=/i.test(to);
}

export class InlineGate {
  private busy = 0;
  private readonly queue: Waiting[] = [];
  private head = 0;
  /** Messages held (value 0) or released at that time (µs), in arrival order. */
  private readonly remembered = new Map<string, number>();
  private readonly held: WindowedHistogram;
  private readonly heldRate: RateMeter = new RateMeter(5);
  /** Worker-µs spent waiting since the gate started, counted up to `busySinceUs`; and samples of it for the window. */
  private busyUs = 0;
  private busySinceUs: number;
  private readonly busySamples: { atUs: number; busyUs: number; workers: number }[] = [];

  constructor(
    private workers: number,
    /** `heldUs`: how long the message waited here. */
    private readonly process: (data: Buffer, peer: NextHop, heldUs: number) => void,
    private readonly publish: InlinePublish,
    private readonly drops: DropCounters,
    private readonly nowUs: () => number,
  ) {
    this.held = new WindowedHistogram(() => this.nowUs() / 1000, 60);
    this.busySinceUs = nowUs();
    this.busySamples.push({ atUs: this.busySinceUs, busyUs: 0, workers });
  }

  /** Read with each stats report (every few hundred ms): each read also samples the busy time the window is measured over. */
  get state(): InlineGateState {
    const nowUs = this.nowUs();
    const nowMs = nowUs / 1000;
    return { workers: this.workers, busy: this.busy, waiting: this.queue.length - this.head, heldUs: this.held.summary(), heldRetransmissions: this.heldRate.total, heldRetransmissionsPerSecond: this.heldRate.perSecond(nowMs), busyShare: this.busyShare(nowUs) };
  }

  /** Counts the time since the last change at the number of workers busy through it. */
  private accrue(nowUs: number): void {
    this.busyUs += this.busy * Math.max(0, nowUs - this.busySinceUs);
    this.busySinceUs = nowUs;
  }

  /** Busy worker-µs over the last BUSY_WINDOW_US (or since the start, if younger) ÷ the workers' µs in it. */
  private busyShare(nowUs: number): number {
    this.accrue(nowUs);
    const samples = this.busySamples;
    samples.push({ atUs: nowUs, busyUs: this.busyUs, workers: this.workers });
    // Keep one sample at or before the window's start: the window is measured from it.
    while (samples.length > 2 && samples[1]!.atUs <= nowUs - BUSY_WINDOW_US) samples.shift();
    const from = samples[0]!;
    // The most workers there were in the window, so a change of their number never makes the share over 1.
    const workers = samples.reduce((m, x) => Math.max(m, x.workers), 0);
    const spanUs = nowUs - from.atUs;
    return spanUs > 0 && Number.isFinite(workers) && workers > 0 ? Math.min(1, (this.busyUs - from.busyUs) / (spanUs * workers)) : 0;
  }

  setWorkers(n: number): void {
    this.accrue(this.nowUs());
    this.workers = n;
    this.pump();
  }

  receive(data: Buffer, peer: NextHop): void {
    const readUs = this.nowUs();
    const key = data.toString('latin1');
    this.forget(readUs);
    const seen = this.remembered.get(key);
    if (seen !== undefined && (seen === 0 || readUs - seen < CROSSING_US)) this.heldRate.mark(readUs / 1000);
    if (this.busy < this.workers && this.head === this.queue.length) {
      this.run({ data, peer, readUs, key });
      return;
    }
    if (this.queue.length - this.head >= INLINE_QUEUE_MAX) {
      this.drops.count('sip.inline', 'queue-full (all workers blocked on Redis)');
      return;
    }
    if (this.remembered.size < REMEMBERED_MAX) this.remembered.set(key, 0);
    this.queue.push({ data, peer, readUs, key });
  }

  /** Released messages older than a crossing retransmission can be are forgotten, oldest first. */
  private forget(nowUs: number): void {
    for (const [key, at] of this.remembered) {
      if (at === 0 || nowUs - at < CROSSING_US) break;
      this.remembered.delete(key);
    }
  }

  /** A message goes on to the core; one that waited is remembered as released now. */
  private release(w: Waiting): void {
    const now = this.nowUs();
    const heldUs = now - w.readUs;
    // No longer held: re-inserted with its release time (the map stays in release order for forget()), or forgotten if it never waited.
    this.remembered.delete(w.key);
    if (heldUs > 0 && this.remembered.size < REMEMBERED_MAX) this.remembered.set(w.key, now);
    this.process(w.data, w.peer, heldUs);
  }

  private run(w: Waiting): void {
    // A copy of an INVITE that already went on is the transaction's to absorb (Kamailio's t_check_trans, before
    // its script publishes anything): it costs the worker nothing, as one Kamailio child's queued copies cost it nothing.
    const released = this.remembered.get(w.key);
    if (!isInitialInvite(w.data) || (released !== undefined && released > 0)) {
      this.release(w);
      return;
    }
    this.accrue(this.nowUs());
    this.busy++;
    if (this.remembered.size < REMEMBERED_MAX) this.remembered.set(w.key, 0);
    const done = () => {
      this.accrue(this.nowUs());
      this.busy--;
      this.held.record(this.nowUs() - w.readUs);
      this.release(w);
      this.pump();
    };
    this.publish(w.data, w.readUs).then(done, done);
  }

  private pump(): void {
    while (this.busy < this.workers && this.head < this.queue.length) {
      const w = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Waiting;
      if (this.head > 256 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.run(w);
    }
  }

  /** Everything waiting goes to the core now (the mode was switched off). */
  releaseAll(): void {
    this.workers = Number.POSITIVE_INFINITY;
    this.pump();
  }
}
