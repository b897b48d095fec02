import type { ComponentStatus } from './component';
import type { SipCaptureEvent } from './capture/types';

/** A component changed state (started, stopped, failed). */
export interface ComponentEvent {
  kind: 'component';
  tsUs: number;
  status: ComponentStatus;
}

/** Something was dropped on purpose: bad input, a full queue, a slow consumer. */
export interface DropEvent {
  kind: 'drop';
  tsUs: number;
  where: string;
  reason: string;
}

/**
 * The one event stream every component reports into. Later parts add their
 * own kinds here (rtp, publish, ng) so the ladder and the host see one stream.
 */
export type EngineEvent = SipCaptureEvent | ComponentEvent | DropEvent;

export type EventListener = (event: EngineEvent) => void;

/**
 * Synchronous fan-out. Listeners must only record (push to a bounded buffer,
 * bump a counter); anything slow belongs behind their own queue. A listener
 * that throws is counted and never reaches the emitter — the SIP path must
 * not die because a consumer has a bug.
 */
export class EventStream {
  private listeners: EventListener[] = [];
  listenerErrors = 0;

  on(listener: EventListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  emit(event: EngineEvent): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) {
      try {
        ls[i]!(event);
      } catch {
        this.listenerErrors++;
      }
    }
  }
}
