/** Messages between the proxy component (main thread) and its SIP worker. */
import type { ClockOrigin } from '../../clock';
import type { DropCount } from '../../metrics/drops';
import type { ProxyStats } from '../stats';
import type { NextHop } from '../proxy/routing';
import type { TimerValues } from '../transaction';

export interface WorkerStartOptions {
  host: string;
  port: number;
  targets: NextHop[] | null;
  timers: TimerValues;
  /** The main clock's origin, so both threads stamp alike (µs, one monotonic clock). */
  clockOrigin: ClockOrigin;
}

export type ToWorker = { type: 'start'; options: WorkerStartOptions } | { type: 'stop' } | { type: 'ack'; seq: number } | { type: 'flush'; id: number };

export type FromWorker =
  | { type: 'started'; port: number }
  | { type: 'start-failed'; message: string }
  | { type: 'failed'; message: string }
  | { type: 'capture'; seq: number; batch: ArrayBuffer; count: number }
  | { type: 'stats'; stats: ProxyStats; drops: DropCount[] }
  | { type: 'flushed'; id: number }
  | { type: 'stopped' };
