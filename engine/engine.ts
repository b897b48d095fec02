import { createMonotonicClock, type Clock } from './clock';
import { COMPONENT_NAMES, type ComponentImpl, type ComponentName, type ComponentStatus } from './component';
import { CallStore, type CallStoreOptions } from './call/store';
import { EventStream, isCallEvent, type SipCaptureEvent } from './events';
import { ManagedComponent } from './lifecycle';
import { DropCounters } from './metrics/drops';
import { LoopDelayMonitor } from './metrics/loop-delay';
import { notImplemented } from './not-implemented';

/** What every component gets from the engine it lives in. */
export interface EngineContext {
  clock: Clock;
  events: EventStream;
  drops: DropCounters;
  /** Lets a running part report that it broke on its own. */
  fail(name: ComponentName, err: unknown): void;
  /**
   * Where the proxy hands each live SIP message it captured: straight to the
   * event stream, or through the wire tap's stage first (`setSipStage`),
   * which pairs it with its copy on the wire before letting it go on.
   */
  captureSip(ev: SipCaptureEvent): void;
}

export interface EngineOptions {
  clock?: Clock;
  callStore?: Partial<CallStoreOptions>;
}

/** How often calls idle past the store's bound are looked for. */
const SWEEP_MS = 1_000;

export type ComponentFactory = (ctx: EngineContext) => ComponentImpl;

/**
 * The engine: components behind one lifecycle, one event stream they all
 * report into, and the call store built from that stream. Pure Node — no
 * Electron, no UI; hosts (Electron main, the lab server, benchmarks) drive it.
 */
export class Engine {
  readonly clock: Clock;
  readonly events = new EventStream();
  readonly drops = new DropCounters();
  readonly calls: CallStore;
  readonly loopDelay = new LoopDelayMonitor();
  readonly startedUs: number;
  private readonly components = new Map<ComponentName, ManagedComponent>();
  private readonly impls = new Map<ComponentName, ComponentImpl>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private sipStage: ((ev: SipCaptureEvent) => void) | null = null;
  private sipObserver: ((ev: SipCaptureEvent) => void) | null = null;

  constructor(factories: Partial<Record<ComponentName, ComponentFactory>>, options: EngineOptions = {}) {
    this.clock = options.clock ?? createMonotonicClock();
    this.startedUs = this.clock.nowUs();
    this.calls = new CallStore(options.callStore);
    this.events.on((ev) => {
      if (isCallEvent(ev)) this.calls.record(ev);
    });
    const ctx: EngineContext = {
      clock: this.clock,
      events: this.events,
      drops: this.drops,
      fail: (name, err) => this.components.get(name)?.fail(err),
      captureSip: (ev) => {
        this.sipObserver?.(ev);
        if (this.sipStage) this.sipStage(ev);
        else this.events.emit(ev);
      },
    };
    for (const name of COMPONENT_NAMES) {
      const factory = factories[name];
      const impl = factory ? factory(ctx) : notImplemented(name, null, `${name} is not built yet`);
      const managed = new ManagedComponent(impl, this.clock, this.events);
      if (!factory) managed.markNotImplemented();
      this.components.set(name, managed);
      this.impls.set(name, impl);
    }
  }

  /**
   * Puts a stage between the proxy's capture and the event stream (the wire
   * tap, engine/wire/tap.ts), or takes it away (null). The stage emits
   * what it lets go on `events` itself.
   */
  setSipStage(stage: ((ev: SipCaptureEvent) => void) | null): void {
    this.sipStage = stage;
  }

  /**
   * Sees every live SIP message as the proxy hands it over, before any stage
   * (the publisher, which must not wait for the wire tap's pairing). It must
   * only record and return.
   */
  observeSip(observer: ((ev: SipCaptureEvent) => void) | null): void {
    this.sipObserver = observer;
  }

  /** The concrete part (tests and the proxy's flush). */
  impl<T extends ComponentImpl>(name: ComponentName): T {
    return this.impls.get(name) as T;
  }

  /** Whether the config switches this part on (a part that is not built is never on). */
  enabled(name: ComponentName): boolean {
    return this.status(name).state !== 'not-implemented' && (this.impls.get(name)!.offReason?.() ?? null) === null;
  }

  /** The part's snapshot section: null while it is absent (not built, or switched off by the config). */
  stats(name: ComponentName): unknown {
    return this.enabled(name) ? (this.impls.get(name)!.stats?.() ?? null) : null;
  }

  status(name: ComponentName): ComponentStatus {
    return this.components.get(name)!.status();
  }

  statuses(): ComponentStatus[] {
    return COMPONENT_NAMES.map((n) => this.components.get(n)!.status());
  }

  start(name: ComponentName): Promise<ComponentStatus> {
    return this.components.get(name)!.start();
  }

  stop(name: ComponentName): Promise<ComponentStatus> {
    return this.components.get(name)!.stop();
  }

  /** Restarts a part that is up so it reads its settings again; a stopped part stays stopped (see `ManagedComponent.restartIfUp`). */
  restartIfUp(name: ComponentName): Promise<{ restarted: boolean; status: ComponentStatus }> {
    return this.components.get(name)!.restartIfUp();
  }

  /** Starts every implemented part that is enabled; a part that fails stays failed and visible. */
  async startAll(names: readonly ComponentName[] = COMPONENT_NAMES): Promise<ComponentStatus[]> {
    this.loopDelay.start();
    if (!this.sweepTimer) {
      this.sweepTimer = setInterval(() => this.calls.sweep(this.clock.nowUs()), SWEEP_MS);
      this.sweepTimer.unref();
    }
    return Promise.all(names.map((n) => this.start(n)));
  }

  async stopAll(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    await Promise.all(COMPONENT_NAMES.map((n) => this.stop(n)));
    this.loopDelay.stop();
  }
}
