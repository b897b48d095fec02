import type { SubscriberLoadCounts, SubscriberLoadOptions } from '../subscriber-load';

/** What the load's thread starts with: the Redis to subscribe on, and the load's shape. */
export interface SubscriberLoadStart {
  host: string;
  port: number;
  options: SubscriberLoadOptions;
}

/**
 * The load's figures (the snapshot's `subscriberLoad`), with how busy its
 * thread was over the last second (%): event-loop utilization, the share of
 * time the thread was not waiting for its sockets, as the traffic thread's
 * busyPct. Not CPU time: a thread kept off a core while it had work counts
 * as busy too.
 */
export interface SubscriberLoadStats extends SubscriberLoadCounts {
  busyPct: number;
}
