/**
 * What the four transaction state machines share: a validated `transition()`,
 * timers scoped to the states they belong to (leaving those states clears
 * them), the transport send wrapper, and one termination path.
 */
import type { TimerHandle, TimerHost } from './timer-host';

/**
 * The transport the transaction hands bytes to. Returning `false` or an
 * `Error`, or throwing, is a transport error (RFC 3261 §17.1.4, §17.2.4),
 * which the machine reports through `onTransportError` (the proxy answers 503).
 * `isRetransmission` is true for Timer A/E/G retransmissions and for responses
 * or ACKs re-sent because a retransmission arrived, so capture can flag them.
 */
export type TransportSend = (bytes: Buffer, isRetransmission: boolean) => boolean | Error | undefined | void;

/** Whether a response was handed to the user or absorbed by the transaction. */
export type ResponseDisposition = 'passed' | 'absorbed';

/** What a server transaction did with a retransmitted request: re-sent its last response, or absorbed it. */
export type RetransmissionOutcome = 'resent' | 'absorbed';

export type TerminationReason = 'completed' | 'timeout' | 'transport-error' | 'disposed';

export type TransactionKind = 'invite-client' | 'non-invite-client' | 'invite-server' | 'non-invite-server';

/** Thrown by `transition()` for a move the RFC figure does not have. A bug in the caller, not a network event. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly kind: TransactionKind,
    readonly from: string,
    readonly to: string,
  ) {
    super(`${kind} transaction: illegal transition ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

/** Callbacks every machine's user provides. */
export interface TransactionUserBase {
  /** The transport refused a send; the machine has moved to Terminated (except INVITE server in Accepted). */
  onTransportError(error: unknown): void;
  /** Called exactly once, after the machine reaches Terminated; remove it from the table here. */
  onTerminated?(reason: TerminationReason): void;
}

interface ArmedTimer<S extends string> {
  readonly name: string;
  readonly handle: TimerHandle;
  /** States this timer survives into; any other state clears it. */
  readonly scope: readonly S[];
}

export abstract class TransactionMachine<S extends string> {
  abstract readonly kind: TransactionKind;
  #state: S;
  readonly #legal: Readonly<Record<S, readonly S[]>>;
  readonly #host: TimerHost;
  readonly #send: TransportSend;
  readonly #onTerminated: ((reason: TerminationReason) => void) | undefined;
  #timers: ArmedTimer<S>[] = [];

  protected constructor(
    initial: S,
    legal: Readonly<Record<S, readonly S[]>>,
    host: TimerHost,
    send: TransportSend,
    user: TransactionUserBase,
  ) {
    this.#state = initial;
    this.#legal = legal;
    this.#host = host;
    this.#send = send;
    this.#onTerminated = user.onTerminated?.bind(user);
  }

  get state(): S {
    return this.#state;
  }

  get terminated(): boolean {
    return this.#state === ('terminated' as S);
  }

  /** Names of the timers armed right now (for tests and diagnostics). */
  get armedTimers(): string[] {
    return this.#timers.map((t) => t.name);
  }

  /**
   * Move to `to`, clearing every timer not scoped to it. Throws
   * `IllegalTransitionError` for a move the RFC figure does not have.
   */
  transition(to: S): void {
    const from = this.#state;
    if (!this.#legal[from].includes(to)) throw new IllegalTransitionError(this.kind, from, to);
    this.#state = to;
    if (this.#timers.length > 0) {
      const kept: ArmedTimer<S>[] = [];
      for (const t of this.#timers) {
        if (t.scope.includes(to)) kept.push(t);
        else this.#host.clear(t.handle);
      }
      this.#timers = kept;
    }
  }

  /** Stop the transaction now (shutdown, proxy-core decision). No timeout or error is reported. */
  dispose(): void {
    if (!this.terminated) this.terminate('disposed');
  }

  /**
   * Arm a timer that lives in the current state (plus `alsoIn`). A zero
   * duration fires synchronously: "zero seconds for reliable transports".
   */
  protected arm(name: string, ms: number, fire: () => void, alsoIn: readonly S[] = []): void {
    if (ms <= 0) {
      fire();
      return;
    }
    const scope = alsoIn.length === 0 ? [this.#state] : [this.#state, ...alsoIn];
    const armed: ArmedTimer<S> = {
      name,
      scope,
      handle: this.#host.set(ms, () => {
        const i = this.#timers.indexOf(armed);
        if (i >= 0) this.#timers.splice(i, 1);
        fire();
      }),
    };
    this.#timers.push(armed);
  }

  /** Hand bytes to the transport; false means the transport failed (already reported via `onSendFailed`). */
  protected transmit(bytes: Buffer, isRetransmission: boolean): boolean {
    let error: unknown;
    try {
      const r = this.#send(bytes, isRetransmission);
      if (r === false) error = new Error('transport refused the message');
      else if (r instanceof Error) error = r;
      else return true;
    } catch (e) {
      error = e;
    }
    this.onSendFailed(error);
    return false;
  }

  /**
   * A failure the transport learned of after `send` had returned — a TCP
   * connection refused, a UDP send the kernel refused, an ICMP error for the
   * next hop. It means what a refused send means (§17.1.4, §17.2.4); in a state
   * that sends nothing more it changes nothing.
   */
  reportTransportError(error: unknown): void {
    if (!this.terminated) this.onSendFailed(error);
  }

  /** What a transport error means in the current state. */
  protected abstract onSendFailed(error: unknown): void;

  /** Go to Terminated, run `notify` (onTimeout / onTransportError), then onTerminated. */
  protected terminate(reason: TerminationReason, notify?: () => void): void {
    this.transition('terminated' as S);
    notify?.();
    this.#onTerminated?.(reason);
  }
}
