/**
 * Non-INVITE server transaction, RFC 3261 §17.2.2 (Figure 8).
 *
 *   (created on request) Trying
 *   Trying|Proceeding --1xx from TU--> Proceeding
 *   Trying|Proceeding --200-699 from TU--> Completed (Timer J)
 *   Completed --Timer J--> Terminated
 */
import {
  TransactionMachine,
  type RetransmissionOutcome,
  type TransactionUserBase,
  type TransportSend,
} from './machine';
import type { TimerHost } from './timer-host';
import { timersFor, type TimerValues, type TransactionTimers } from './timers';

export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

const LEGAL: Readonly<Record<NonInviteServerState, readonly NonInviteServerState[]>> = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  terminated: [],
};

export interface NonInviteServerUser extends TransactionUserBase {
  /** A retransmitted request arrived; `resent` says whether the last response went out again. */
  onRetransmittedRequest?(resent: boolean): void;
}

export interface NonInviteServerOptions {
  send: TransportSend;
  timers: TimerHost;
  /** TCP/TLS/SCTP: Timer J = 0. */
  reliable: boolean;
  values?: TimerValues;
  user: NonInviteServerUser;
}

export class NonInviteServerTransaction extends TransactionMachine<NonInviteServerState> {
  readonly kind = 'non-invite-server' as const;
  readonly #t: TransactionTimers;
  readonly #user: NonInviteServerUser;
  #lastResponse: Buffer | undefined;
  #lastStatus = 0;

  /** "The state machine is initialized in the "Trying" state" (§17.2.2). */
  constructor(opts: NonInviteServerOptions) {
    super('trying', LEGAL, opts.timers, opts.send, opts.user);
    this.#t = timersFor(opts.reliable, opts.values);
    this.#user = opts.user;
  }

  get lastStatus(): number {
    return this.#lastStatus;
  }

  /** Send a response from the TU; false when the state does not take it or the transport failed. */
  respond(status: number, bytes: Buffer): boolean {
    if (this.state !== 'trying' && this.state !== 'proceeding') {
      // "Any other final responses passed by the TU to the server transaction MUST be
      // discarded while in the "Completed" state." (§17.2.2)
      return false;
    }
    if (!this.transmit(bytes, false)) return false;
    this.#lastResponse = bytes;
    this.#lastStatus = status;
    if (status < 200) {
      if (this.state === 'trying') this.transition('proceeding');
      return true;
    }
    // "the server transaction MUST enter the "Completed" state" and "set Timer J to fire
    // in 64*T1 seconds for unreliable transports, and zero seconds for reliable transports."
    this.transition('completed');
    this.arm('J', this.#t.J, () => this.onTimerJ());
    return true;
  }

  /** A retransmission of the request matched this transaction (RFC 3261 §17.2.3). */
  receiveRequest(): RetransmissionOutcome {
    let outcome: RetransmissionOutcome = 'absorbed';
    // Trying: "Once in the "Trying" state, any further request retransmissions are discarded."
    // Proceeding: "the most recent provisional response ... MUST be passed to the transport layer
    // for retransmission." Completed: "MUST pass the final response to the transport layer for
    // retransmission." (§17.2.2)
    if ((this.state === 'proceeding' || this.state === 'completed') && this.#lastResponse !== undefined) {
      if (this.transmit(this.#lastResponse, true)) outcome = 'resent';
    }
    this.#user.onRetransmittedRequest?.(outcome === 'resent');
    return outcome;
  }

  /** Timer J: stop absorbing request retransmissions. */
  private onTimerJ(): void {
    this.terminate('completed');
  }

  protected onSendFailed(error: unknown): void {
    if (this.terminated) return;
    // Figure 8: "Transport Err. / Inform TU" to Terminated (§17.2.4).
    this.terminate('transport-error', () => this.#user.onTransportError(error));
  }
}
