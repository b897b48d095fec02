/**
 * Every engine part (proxy, relay, recorder, publisher, the reference consumer, the built-in traffic) lives behind this one
 * lifecycle, so the host, the UI toggles and the tests treat them alike.
 */
export const COMPONENT_NAMES = ['proxy', 'relay', 'recorder', 'publisher', 'consumer', 'traffic'] as const;
export type ComponentName = (typeof COMPONENT_NAMES)[number];

/**
 * `not-implemented` is a real, visible state: a part that does not exist yet
 * says so instead of pretending to run.
 */
export type ComponentState = 'stopped' | 'starting' | 'running' | 'stopping' | 'failed' | 'not-implemented';

export interface ComponentStatus {
  name: ComponentName;
  state: ComponentState;
  /** Where it listens or connects, e.g. "udp+tcp 127.0.0.1:5060" or "redis://127.0.0.1:6379". */
  endpoint: string | null;
  /** The last error, kept until the next successful start. */
  error: string | null;
  /** Free text a user reads next to the toggle. */
  detail: string | null;
  /** When the state last changed (µs, wall clock from the engine clock). */
  sinceUs: number;
}

export function isComponentName(x: unknown): x is ComponentName {
  return typeof x === 'string' && (COMPONENT_NAMES as readonly string[]).includes(x);
}

/** What a concrete part implements; the lifecycle rules live in `ManagedComponent`. */
export interface ComponentImpl {
  readonly name: ComponentName;
  readonly endpoint: string | null;
  /** Resolves once the part is serving; rejects with a user-readable error. */
  start(): Promise<void>;
  /** Releases every socket, timer and connection. Must not reject for an already-broken part. */
  stop(): Promise<void>;
  detail?(): string | null;
  /**
   * Why the config switches this part off (`--redis off`), or null when it
   * is on. A part switched off is not started with the others, and a start
   * from the UI answers with this reason instead of failing.
   */
  offReason?(): string | null;
  /** The figures for this part's snapshot section; absent for a part that has none yet. */
  stats?(): unknown;
  /**
   * New settings for a running part: true when it took them without a
   * restart (the proxy's timers and targets), false when only a restart can
   * apply them (a new listen address).
   */
  applyLive?(): Promise<boolean>;
}
