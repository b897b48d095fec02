/**
 * The per-call counts the suspects board needs (app/suspects.ts), over the
 * live calls in the store (late events: those started in the last minute):
 * a snapshot has no per-call detail. Each count
 * uses the same rule as the calls-list filter the suspect links to, so a
 * click lists the calls counted (and any other source's that match).
 */
import type { TimeWindow } from '../engine/clock';
import type { CallRecord } from '../engine/call/model';
import { hasRecorderDrops, jitterReached, undelivered, upDuring } from '../engine/call/query';
import { LIVE_SOURCE } from '../engine/events';
import { LAST_MINUTE_MS } from '../engine/metrics/kernel-udp';
import { JITTER_AMBER_MS, TRYING_RED_MS, UNDELIVERED_GRACE_US, type SuspectCallCounts } from './suspects';

export function countSuspectCalls(calls: Iterable<CallRecord>, nowUs: number, kernelDropWindows: readonly TimeWindow[]): SuspectCallCounts {
  const n: SuspectCallCounts = { slowTrying: 0, retransmitted: 0, lossy: 0, jittery: 0, undelivered: 0, late: 0, recorderDrops: 0, upDuringKernelDrops: 0 };
  for (const c of calls) {
    if (c.source !== LIVE_SOURCE) continue;
    if (c.timings.trying100Us !== null && c.timings.trying100Us > TRYING_RED_MS * 1000) n.slowTrying++;
    if (c.retransmissions > 0) n.retransmitted++;
    if (c.media !== null && c.media.lost > 0) n.lossy++;
    if (jitterReached(c.media, JITTER_AMBER_MS)) n.jittery++;
    // Events still on their way are not "not delivered": only a call ended that long ago with some never received.
    if (undelivered(c.publish) > 0 && c.endedUs !== null && nowUs - c.endedUs > UNDELIVERED_GRACE_US) n.undelivered++;
    // Late is a rate, judged over the last minute like the other suspects; a lost event (above) stays until its call leaves the store.
    if (c.publish !== null && c.publish.late > 0 && c.startedUs >= nowUs - LAST_MINUTE_MS * 1000) n.late++;
    if (hasRecorderDrops(c.recorder)) n.recorderDrops++;
    if (kernelDropWindows.length > 0 && upDuring(c, kernelDropWindows)) n.upDuringKernelDrops++;
  }
  return n;
}
