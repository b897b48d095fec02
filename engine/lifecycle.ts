import type { Clock } from './clock';
import type { ComponentImpl, ComponentState, ComponentStatus } from './component';
import type { EventStream } from './events';

/** Legal moves of the component lifecycle; anything else is a bug and is refused. */
const TRANSITIONS: Record<ComponentState, readonly ComponentState[]> = {
  stopped: ['starting'],
  starting: ['running', 'failed'],
  running: ['stopping', 'failed'],
  stopping: ['stopped'],
  failed: ['starting', 'stopping'],
  'not-implemented': [],
};

/**
 * Wraps a component with the lifecycle every part shares: one start or stop
 * at a time (calls are queued, never interleaved), errors turned into a
 * visible `failed` state, and every change reported on the event stream.
 */
export class ManagedComponent {
  private state: ComponentState = 'stopped';
  private error: string | null = null;
  private sinceUs: number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly impl: ComponentImpl,
    private readonly clock: Clock,
    private readonly events: EventStream,
  ) {
    this.sinceUs = clock.nowUs();
  }

  get name() {
    return this.impl.name;
  }

  status(): ComponentStatus {
    return {
      name: this.impl.name,
      state: this.state,
      endpoint: this.impl.endpoint,
      error: this.error,
      detail: this.impl.detail?.() ?? null,
      sinceUs: this.sinceUs,
    };
  }

  start(): Promise<ComponentStatus> {
    return this.serialize(() => this.doStart());
  }

  stop(): Promise<ComponentStatus> {
    return this.serialize(() => this.doStop());
  }

  /**
   * Stop then start as one step of the queue, so no start or stop from
   * elsewhere runs in between — for new settings, which the part reads when
   * it starts. Only a part that is up (running, or failed: it was meant to
   * run and the new settings may be the fix) is restarted; a stopped one
   * stays stopped and picks them up at its next start.
   */
  restartIfUp(): Promise<{ restarted: boolean; status: ComponentStatus }> {
    let restarted = false;
    return this.serialize(async () => {
      if (this.state !== 'running' && this.state !== 'failed') return;
      // A running part that takes the settings live keeps its state (transactions, sockets, counters).
      if (this.state === 'running' && this.impl.applyLive && (await this.impl.applyLive())) return;
      restarted = true;
      await this.doStop();
      await this.doStart();
    }).then((status) => ({ restarted, status }));
  }

  private async doStart(): Promise<void> {
    if (this.state === 'running' || this.state === 'not-implemented') return;
    const off = this.impl.offReason?.() ?? null;
    if (off !== null) {
      // Not a failure: the config says off. Say so and stay stopped (from failed: stop first).
      if (this.state === 'failed') await this.doStop();
      this.error = `cannot start: ${off}`;
      this.emitStatus();
      return;
    }
    this.transition('starting');
    try {
      await this.impl.start();
      this.error = null;
      this.transition('running');
    } catch (err) {
      this.error = errorText(err);
      if (this.state !== 'failed') this.transition('failed'); // fail() may have got there first
      // A half-started part may hold a socket; release it but keep the error visible.
      await this.impl.stop().catch(() => undefined);
    }
  }

  private async doStop(): Promise<void> {
    if (this.state === 'stopped') this.error = null;
    if (this.state === 'stopped' || this.state === 'not-implemented') return;
    this.transition('stopping');
    // A stopped part shows no old error: only a stop that itself fails leaves one.
    this.error = null;
    try {
      await this.impl.stop();
    } catch (err) {
      this.error = errorText(err);
    }
    this.transition('stopped');
  }

  /** A running part that breaks on its own (socket error, lost connection) reports here. */
  fail(err: unknown): void {
    this.error = errorText(err);
    if (this.state === 'running' || this.state === 'starting') this.transition('failed');
  }

  /** Marks a part that exists only as a name: it can never start. */
  markNotImplemented(): void {
    this.state = 'not-implemented';
    this.emitStatus();
  }

  private transition(to: ComponentState): void {
    if (!TRANSITIONS[this.state].includes(to)) {
      throw new Error(`illegal lifecycle transition ${this.impl.name}: ${this.state} → ${to}`);
    }
    this.state = to;
    this.emitStatus();
  }

  private emitStatus(): void {
    this.sinceUs = this.clock.nowUs();
    this.events.emit({ kind: 'component', tsUs: this.sinceUs, status: this.status() });
  }

  private serialize(step: () => Promise<void>): Promise<ComponentStatus> {
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => undefined);
    return run.then(() => this.status());
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
