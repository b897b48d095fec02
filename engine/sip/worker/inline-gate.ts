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
 *
 * Only in this mode: in every other mode the transports hand messages
 * straight to the core and nothing on the SIP path waits for Redis.
 */
import type { DropCounters } from '../../metrics/drops';
import type { NextHop } from '../../net/host-port';
import { peekHeader } from '../message';

export const DEFAULT_INLINE_WORKERS = 8;
/** Messages waiting for a free worker at most (a 208 KiB socket buffer holds about this many small INVITEs). */
export const INLINE_QUEUE_MAX = 400;

/** Publishes the call's `new` event and resolves once Redis replied (or it gave up). */
export type InlinePublish = (raw: Buffer, readUs: number) => Promise<void>;

interface Waiting {
  data: Buffer;
  peer: NextHop;
  readUs: number;
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

  constructor(
    private workers: number,
    private readonly process: (data: Buffer, peer: NextHop) => void,
    private readonly publish: InlinePublish,
    private readonly drops: DropCounters,
    private readonly nowUs: () => number,
  ) {}

  /** Workers blocked on Redis now, and messages waiting for one. */
  get state(): { workers: number; busy: number; waiting: number } {
    return { workers: this.workers, busy: this.busy, waiting: this.queue.length - this.head };
  }

  setWorkers(n: number): void {
    this.workers = n;
    this.pump();
  }

  receive(data: Buffer, peer: NextHop): void {
    const readUs = this.nowUs();
    if (this.busy < this.workers && this.head === this.queue.length) {
      this.run(data, peer, readUs);
      return;
    }
    if (this.queue.length - this.head >= INLINE_QUEUE_MAX) {
      this.drops.count('sip.inline', 'queue-full (all workers blocked on Redis)');
      return;
    }
    this.queue.push({ data, peer, readUs });
  }

  private run(data: Buffer, peer: NextHop, readUs: number): void {
    if (!isInitialInvite(data)) {
      this.process(data, peer);
      return;
    }
    this.busy++;
    const done = () => {
      this.busy--;
      this.process(data, peer);
      this.pump();
    };
    this.publish(data, readUs).then(done, done);
  }

  private pump(): void {
    while (this.busy < this.workers && this.head < this.queue.length) {
      const w = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Waiting;
      if (this.head > 256 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.run(w.data, w.peer, w.readUs);
    }
  }

  /** Everything waiting goes to the core now (the mode was switched off). */
  release(): void {
    this.workers = Number.POSITIVE_INFINITY;
    this.pump();
  }
}
