/**
 * A component toggle's result, the pure part: what the line under a toggle
 * says after a click, and whether its error shows. Unit-tested.
 */
import type { ComponentAction, ComponentStatus } from '../../../app/contract';

/**
 * The line to show after `setComponent`: when a start did not leave the
 * component running (the publisher with `--redis off`, a port in use), the
 * engine's reason — its error, else its detail — so a click never looks like
 * nothing happened. Null when the component did what was asked.
 */
export function toggleNotice(action: ComponentAction, status: ComponentStatus): string | null {
  const done = action === 'start' ? status.state === 'running' || status.state === 'starting' : status.state === 'stopped' || status.state === 'stopping';
  if (done) return null;
  const why = status.error ?? status.detail;
  if (why) return why;
  return action === 'start' ? `did not start (${status.state})` : `did not stop (${status.state})`;
}

/** The red error under a toggle: only while the component is failed (a stop clears it), or the last click's notice. */
export function shownError(status: ComponentStatus | null, notice: string | null): string | null {
  if (notice !== null) return notice;
  return status?.state === 'failed' ? (status.error ?? null) : null;
}
