import type { SubscriberLoadCounts, SubscriberLoadOptions } from '../subscriber-load';

/** What the load's thread starts with: the Redis to subscribe on, and the load's shape. */
export interface SubscriberLoadStart {
  host: string;
  port: number;
  options: SubscriberLoadOptions;
}

/** The load's figures (the snapshot's `subscriberLoad`), with its thread's share of a core over the last second (%): what reading the fan-out costs this box, beside Redis's own. */
export interface SubscriberLoadStats extends SubscriberLoadCounts {
  busyPct: number;
}
