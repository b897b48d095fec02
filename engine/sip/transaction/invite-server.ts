/**
 * INVITE server transaction, RFC 3261 §17.2.1 (Figure 7) as updated by
 * RFC 6026 §7.1 (Figure 7 there): a 2xx moves the transaction to Accepted,
 * where further 2xx responses from the TU are sent and retransmitted INVITEs
 * absorbed until Timer L fires.
 *
 *   (created on INVITE) Proceeding: sendTrying() at once, 1xx from TU sent
 *   Proceeding --300-699 from TU--> Completed (Timer G (UDP), Timer H)
 *   Proceeding --2xx from TU--> Accepted (Timer L)
 *   Completed --ACK--> Confirmed (Timer I);  Completed --Timer H--> Terminated (timeout)
 *   Confirmed --Timer I--> Terminated;  Accepted --Timer L--> Terminated
 */
import {
  TransactionMachine,
  type RetransmissionOutcome,
  type TransactionUserBase,
  type TransportSend,
} from './machine';
import type { TimerHost } from './timer-host';
import { timersFor, type TimerValues, type TransactionTimers } from './timers';

export type InviteServerState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

const LEGAL: Readonly<Record<InviteServerState, readonly InviteServerState[]>> = {
  proceeding: ['completed', 'accepted', 'terminated'],
  completed: ['confirmed', 'terminated'],
  confirmed: ['terminated'],
  accepted: ['terminated'],
  terminated: [],
};

export interface InviteServerUser extends TransactionUserBase {
  /** Timer H fired: the ACK for our 300-699 never came (§17.2.1: "inform the TU that a failure has occurred"). */
  onTimeout(): void;
  /**
   * An ACK matched this transaction in Accepted (RFC 6026 §7.1: "passed up to the TU");
   * the proxy forwards it. ACKs for a 300-699 are absorbed and not reported here.
   */
  onAck?(bytes: Buffer): void;
  /** A retransmitted INVITE arrived; `resent` says whether the last response went out again. */
  onRetransmittedRequest?(resent: boolean): void;
}

export interface InviteServerOptions {
  send: TransportSend;
  timers: TimerHost;
  /** TCP/TLS/SCTP: no Timer G, Timer I = 0. */
  reliable: boolean;
  values?: TimerValues;
  user: InviteServerUser;
}

export class InviteServerTransaction extends TransactionMachine<InviteServerState> {
  readonly kind = 'invite-server' as const;
  readonly #t: TransactionTimers;
  readonly #reliable: boolean;
  readonly #user: InviteServerUser;
  #timerG = 0;
  #lastResponse: Buffer | undefined;
  #lastStatus = 0;

  /** "When a server transaction is constructed for a request, it enters the "Proceeding" state." (§17.2.1) */
  constructor(opts: InviteServerOptions) {
    super('proceeding', LEGAL, opts.timers, opts.send, opts.user);
    this.#reliable = opts.reliable;
    this.#t = timersFor(opts.reliable, opts.values);
    this.#user = opts.user;
  }

  /** Status of the last response sent (0 before any). */
  get lastStatus(): number {
    return this.#lastStatus;
  }

  /**
   * Send 100 Trying now. RFC 3261 §16.2 lets a stateful proxy "generate a 100
   * (Trying) response" itself, and §17.2.1 wants one within 200 ms; the proxy
   * core calls this as soon as the transaction exists.
   */
  sendTrying(bytes: Buffer): boolean {
    return this.respond(100, bytes);
  }

  /**
   * Send a response from the TU. Returns false when the state does not take
   * this response (e.g. a second final) or the transport failed.
   */
  respond(status: number, bytes: Buffer): boolean {
    switch (this.state) {
      case 'proceeding': {
        if (!this.transmit(bytes, false)) return false;
        this.#lastResponse = bytes;
        this.#lastStatus = status;
        if (status < 200) return true;
        if (status < 300) {
          // RFC 6026 §7.1: "If, while in the "Proceeding" state, the TU passes a 2xx response
          // to the server transaction, the server transaction MUST pass this response to the
          // transport layer for transmission ... and the server transaction MUST then transition
          // to the "Accepted" state" with Timer L = 64*T1.
          this.transition('accepted');
          this.arm('L', this.#t.L, () => this.onTimerL());
          return true;
        }
        // "the state machine MUST enter the "Completed" state, and for unreliable transports,
        // timer G is set to fire in T1 seconds ... timer H MUST be set to fire in 64*T1 seconds
        // for all transports." (§17.2.1)
        this.transition('completed');
        if (!this.#reliable) {
          this.#timerG = this.#t.G;
          this.arm('G', this.#timerG, () => this.onTimerG());
        }
        this.arm('H', this.#t.H, () => this.onTimerH());
        return true;
      }
      case 'accepted': {
        // RFC 6026 §7.1: "Any retransmission of the 2xx response passed from the TU to the
        // transaction while in the "Accepted" state MUST be passed to the transport layer."
        if (status < 200 || status >= 300) return false;
        const retransmission = this.#lastResponse !== undefined && bytes.equals(this.#lastResponse);
        if (!this.transmit(bytes, retransmission)) return false;
        this.#lastResponse = bytes;
        this.#lastStatus = status;
        return true;
      }
      case 'completed':
      case 'confirmed':
      case 'terminated':
        return false;
    }
  }

  /** A retransmission of the INVITE matched this transaction (RFC 3261 §17.2.3). */
  receiveRequest(): RetransmissionOutcome {
    let outcome: RetransmissionOutcome = 'absorbed';
    // "If a request retransmission is received while in the "Proceeding" state, the most
    // recent provisional response that was received from the TU MUST be passed to the
    // transport layer for retransmission." And in "Completed": "the server SHOULD pass
    // the response to the transport for retransmission." (§17.2.1) Accepted absorbs it
    // (RFC 6026 §7.1: retransmissions of the INVITE "MUST NOT be passed up to the TU").
    if ((this.state === 'proceeding' || this.state === 'completed') && this.#lastResponse !== undefined) {
      if (this.transmit(this.#lastResponse, true)) outcome = 'resent';
    }
    this.#user.onRetransmittedRequest?.(outcome === 'resent');
    return outcome;
  }

  /**
   * An ACK matched this transaction. In Completed it confirms our 300-699
   * ("If an ACK is received while the server transaction is in the "Completed"
   * state, the server transaction MUST transition to the "Confirmed" state");
   * in Accepted it goes up to the TU (RFC 6026); otherwise it is absorbed.
   */
  receiveAck(bytes: Buffer): 'confirmed' | 'passed' | 'absorbed' {
    switch (this.state) {
      case 'completed':
        this.transition('confirmed');
        // Timer I: T4 for unreliable transports, zero for reliable (§17.2.1).
        this.arm('I', this.#t.I, () => this.onTimerI());
        return 'confirmed';
      case 'accepted':
        this.#user.onAck?.(bytes);
        return 'passed';
      case 'proceeding':
      case 'confirmed':
      case 'terminated':
        return 'absorbed';
    }
  }

  /** Timer G: retransmit the final response, "G=MIN(2*T1, T2)" doubling up to T2. */
  private onTimerG(): void {
    if (this.#lastResponse === undefined || !this.transmit(this.#lastResponse, true)) return;
    this.#timerG = Math.min(2 * this.#timerG, this.#t.T2);
    this.arm('G', this.#timerG, () => this.onTimerG());
  }

  /** Timer H: "the server transaction MUST transition to the "Terminated" state, and MUST indicate to the TU that a transaction failure has occurred." */
  private onTimerH(): void {
    this.terminate('timeout', () => this.#user.onTimeout());
  }

  /** Timer I: stop absorbing ACK retransmissions. */
  private onTimerI(): void {
    this.terminate('completed');
  }

  /** Timer L (RFC 6026): stop absorbing INVITE retransmissions. */
  private onTimerL(): void {
    this.terminate('completed');
  }

  protected onSendFailed(error: unknown): void {
    if (this.terminated) return;
    if (this.state === 'accepted') {
      // RFC 6026 leaves Accepted only on Timer L: report, keep absorbing retransmissions.
      this.#user.onTransportError(error);
      return;
    }
    // Figure 7: "Transport Err. / Inform TU" from Proceeding and Completed to Terminated (§17.2.4).
    this.terminate('transport-error', () => this.#user.onTransportError(error));
  }
}
