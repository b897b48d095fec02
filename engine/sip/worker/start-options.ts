/** What the proxy component starts its SIP worker with, and what it answers (engine/worker/protocol.ts carries both). */
import type { ClockOrigin } from '../../clock';
import type { NextHop } from '../../net/host-port';
import type { TimerValues } from '../transaction/timers';

export interface SipWorkerStart {
  host: string;
  port: number;
  targets: NextHop[] | null;
  timers: TimerValues;
  /** The main clock's origin, so both threads stamp alike (µs, one monotonic clock). */
  clockOrigin: ClockOrigin;
}

export interface SipWorkerReady {
  /** The port bound (UDP and TCP), which differs from the one asked for when that was 0. */
  port: number;
}
