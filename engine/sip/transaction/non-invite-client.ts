/**
 * Non-INVITE client transaction, RFC 3261 §17.1.2 (Figure 6).
 *
 *                  start(): send request, Timer E (UDP), Timer F
 *   Trying --1xx--> Proceeding
 *   Trying|Proceeding --200-699--> Completed (Timer K)
 *   Trying|Proceeding --Timer F--> Terminated (timeout)
 *   Completed --Timer K--> Terminated
 */
import {
  TransactionMachine,
  type ResponseDisposition,
  type TransactionUserBase,
  type TransportSend,
} from './machine';
import type { TimerHost } from './timer-host';
import { timersFor, type TimerValues, type TransactionTimers } from './timers';

export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';

const LEGAL: Readonly<Record<NonInviteClientState, readonly NonInviteClientState[]>> = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  terminated: [],
};

export interface NonInviteClientUser extends TransactionUserBase {
  /** Every 1xx and the first final response. */
  onResponse(status: number, bytes: Buffer): void;
  /** Timer F fired in Trying or Proceeding (the proxy treats it as 408). */
  onTimeout(): void;
}

export interface NonInviteClientOptions {
  request: Buffer;
  send: TransportSend;
  timers: TimerHost;
  /** TCP/TLS/SCTP: no Timer E, Timer K = 0. */
  reliable: boolean;
  values?: TimerValues;
  user: NonInviteClientUser;
}

export class NonInviteClientTransaction extends TransactionMachine<NonInviteClientState> {
  readonly kind = 'non-invite-client' as const;
  readonly #request: Buffer;
  readonly #t: TransactionTimers;
  readonly #reliable: boolean;
  readonly #user: NonInviteClientUser;
  #timerE = 0;
  #started = false;

  constructor(opts: NonInviteClientOptions) {
    super('trying', LEGAL, opts.timers, opts.send, opts.user);
    this.#request = opts.request;
    this.#reliable = opts.reliable;
    this.#t = timersFor(opts.reliable, opts.values);
    this.#user = opts.user;
  }

  /** Send the request and start Timers E and F (RFC 3261 §17.1.2.2). Call once, after adding to the table. */
  start(): void {
    if (this.#started) throw new Error('non-invite-client transaction already started');
    this.#started = true;
    if (!this.transmit(this.#request, false)) return;
    // Timers E and F run in both Trying and Proceeding.
    if (!this.#reliable) {
      this.#timerE = this.#t.E;
      this.arm('E', this.#timerE, () => this.onTimerE(), ['proceeding']);
    }
    this.arm('F', this.#t.F, () => this.onTimerF(), ['proceeding']);
  }

  receiveResponse(status: number, bytes: Buffer): ResponseDisposition {
    switch (this.state) {
      case 'trying':
      case 'proceeding':
        if (status < 200) {
          if (this.state === 'trying') this.transition('proceeding');
          this.#user.onResponse(status, bytes);
          return 'passed';
        }
        // "If a final response (status codes 200-699) is received while in the "Trying"
        // [or "Proceeding"] state, the response MUST be passed to the TU, and the client
        // transaction MUST transition to the "Completed" state." Leaving clears E and F.
        this.transition('completed');
        this.#user.onResponse(status, bytes);
        if (this.terminated) return 'passed'; // the TU disposed of us in onResponse
        // "Once the client transaction enters the "Completed" state, it MUST set Timer K
        // to fire in T4 seconds for unreliable transports, and zero seconds for reliable transports."
        this.arm('K', this.#t.K, () => this.onTimerK());
        return 'passed';
      case 'completed':
      case 'terminated':
        // Completed buffers response retransmissions (§17.1.2.2).
        return 'absorbed';
    }
  }

  /**
   * Timer E: retransmit. In Trying "the timer is reset with a value of
   * MIN(2*T1, T2)" and doubles up to T2; "If Timer E fires while in the
   * "Proceeding" state, ... Timer E MUST be reset with a value of T2 seconds." (§17.1.2.2)
   */
  private onTimerE(): void {
    if (!this.transmit(this.#request, true)) return;
    this.#timerE = this.state === 'proceeding' ? this.#t.T2 : Math.min(2 * this.#timerE, this.#t.T2);
    this.arm('E', this.#timerE, () => this.onTimerE(), this.state === 'trying' ? ['proceeding'] : []);
  }

  /** Timer F: "the client transaction SHOULD inform the TU about the timeout, and then it SHOULD enter the "Terminated" state." */
  private onTimerF(): void {
    this.terminate('timeout', () => this.#user.onTimeout());
  }

  /** Timer K: stop absorbing response retransmissions. */
  private onTimerK(): void {
    this.terminate('completed');
  }

  protected onSendFailed(error: unknown): void {
    if (this.terminated) return;
    // §17.1.4: inform the TU and go directly to Terminated.
    this.terminate('transport-error', () => this.#user.onTransportError(error));
  }
}
