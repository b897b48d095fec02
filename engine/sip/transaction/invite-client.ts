/**
 * INVITE client transaction, RFC 3261 §17.1.1 (Figure 5) as updated by
 * RFC 6026 §8.4 (Figure 5 there): a 2xx moves the transaction to Accepted,
 * where further 2xx responses are passed up until Timer M fires.
 *
 *                  start(): send INVITE, Timer A (UDP), Timer B
 *   Calling --1xx--> Proceeding
 *   Calling|Proceeding --300-699--> Completed (send ACK, Timer D)
 *   Calling|Proceeding --2xx--> Accepted (Timer M)
 *   Calling --Timer B--> Terminated (timeout)
 *   Completed --Timer D--> Terminated;  Accepted --Timer M--> Terminated
 */
import {
  TransactionMachine,
  type ResponseDisposition,
  type TransactionUserBase,
  type TransportSend,
} from './machine';
import type { TimerHost } from './timer-host';
import { timersFor, type TimerValues, type TransactionTimers } from './timers';

export type InviteClientState = 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated';

const LEGAL: Readonly<Record<InviteClientState, readonly InviteClientState[]>> = {
  calling: ['proceeding', 'completed', 'accepted', 'terminated'],
  proceeding: ['completed', 'accepted', 'terminated'],
  completed: ['terminated'],
  accepted: ['terminated'],
  terminated: [],
};

export interface InviteClientUser extends TransactionUserBase {
  /** A response the proxy core must see: every 1xx, the first 300-699, every 2xx (RFC 6026). */
  onResponse(status: number, bytes: Buffer): void;
  /** Timer B fired in Calling: no response at all (the proxy treats it as 408). */
  onTimeout(): void;
}

export interface InviteClientOptions {
  /** The INVITE as it goes on the wire. */
  request: Buffer;
  send: TransportSend;
  timers: TimerHost;
  /** TCP/TLS/SCTP: no Timer A, Timer D = 0. */
  reliable: boolean;
  values?: TimerValues;
  /**
   * Build the ACK for a 300-699 final response (RFC 3261 §17.1.1.3: same
   * Request-URI, Call-ID, From, CSeq number and top Via as the INVITE, To from
   * the response). Called once per transaction; the bytes are cached and re-sent.
   */
  buildAck(responseBytes: Buffer, status: number): Buffer;
  user: InviteClientUser;
}

export class InviteClientTransaction extends TransactionMachine<InviteClientState> {
  readonly kind = 'invite-client' as const;
  readonly #request: Buffer;
  readonly #t: TransactionTimers;
  readonly #reliable: boolean;
  readonly #user: InviteClientUser;
  readonly #buildAck: (responseBytes: Buffer, status: number) => Buffer;
  #timerA = 0;
  #ack: Buffer | undefined;
  #started = false;

  constructor(opts: InviteClientOptions) {
    super('calling', LEGAL, opts.timers, opts.send, opts.user);
    this.#request = opts.request;
    this.#reliable = opts.reliable;
    this.#t = timersFor(opts.reliable, opts.values);
    this.#user = opts.user;
    this.#buildAck = opts.buildAck;
  }

  /** The ACK sent for a non-2xx final response, once there is one. */
  get ack(): Buffer | undefined {
    return this.#ack;
  }

  /** Send the INVITE and start Timers A and B (RFC 3261 §17.1.1.2). Call once, after adding to the table. */
  start(): void {
    if (this.#started) throw new Error('invite-client transaction already started');
    this.#started = true;
    if (!this.transmit(this.#request, false)) return;
    // "If an unreliable transport is being used, the client transaction MUST start timer A with a value of T1."
    if (!this.#reliable) {
      this.#timerA = this.#t.A;
      this.arm('A', this.#timerA, () => this.onTimerA());
    }
    // "For any transport, the client transaction MUST start timer B with a value of 64*T1 seconds."
    this.arm('B', this.#t.B, () => this.onTimerB());
  }

  /** A response matched to this transaction (RFC 3261 §17.1.3) arrived. */
  receiveResponse(status: number, bytes: Buffer): ResponseDisposition {
    switch (this.state) {
      case 'calling':
      case 'proceeding':
        if (status < 200) {
          // "If the client transaction receives a provisional response while in the
          // "Calling" state, it transitions to the "Proceeding" state." Leaving Calling stops A and B.
          if (this.state === 'calling') this.transition('proceeding');
          this.#user.onResponse(status, bytes);
          return 'passed';
        }
        if (status < 300) {
          // RFC 6026 §8.4: "If a 2xx response is received ... the client transaction MUST
          // transition to the "Accepted" state, and Timer M MUST be started with a value of 64*T1."
          this.transition('accepted');
          this.arm('M', this.#t.M, () => this.onTimerM());
          this.#user.onResponse(status, bytes);
          return 'passed';
        }
        this.transition('completed');
        this.#user.onResponse(status, bytes);
        if (this.terminated) return 'passed'; // the TU disposed of us in onResponse
        // "the client transaction MUST pass the received response up to the TU, and the
        // client transaction MUST generate an ACK request" (§17.1.1.2)
        this.#ack = this.#buildAck(bytes, status);
        if (!this.transmit(this.#ack, false)) return 'passed';
        this.arm('D', this.#t.D, () => this.onTimerD());
        return 'passed';
      case 'completed':
        // "Any retransmissions of the final response that are received while in the
        // "Completed" state MUST cause the ACK to be re-passed to the transport layer
        // for retransmission, but the newly received response MUST NOT be passed up to the TU."
        if (status >= 300 && this.#ack !== undefined) this.transmit(this.#ack, true);
        return 'absorbed';
      case 'accepted':
        // RFC 6026 §8.4: "Any 2xx responses that match this client transaction and that are
        // received while in the "Accepted" state MUST be passed up to the TU."
        if (status >= 200 && status < 300) {
          this.#user.onResponse(status, bytes);
          return 'passed';
        }
        return 'absorbed';
      case 'terminated':
        return 'absorbed';
    }
  }

  /** Timer A: retransmit the INVITE and double A, without cap, until B stops it (§17.1.1.2). */
  private onTimerA(): void {
    if (!this.transmit(this.#request, true)) return;
    this.#timerA *= 2;
    this.arm('A', this.#timerA, () => this.onTimerA());
  }

  /** Timer B: "If the client transaction is still in the "Calling" state when timer B fires, ... inform the TU that a timeout has occurred." */
  private onTimerB(): void {
    this.terminate('timeout', () => this.#user.onTimeout());
  }

  /** Timer D: stop absorbing final-response retransmissions. */
  private onTimerD(): void {
    this.terminate('completed');
  }

  /** Timer M (RFC 6026): stop passing up 2xx retransmissions. */
  private onTimerM(): void {
    this.terminate('completed');
  }

  protected onSendFailed(error: unknown): void {
    // Nothing is sent in Accepted or Terminated, so the failure is always from Calling/Proceeding/Completed.
    if (this.terminated || this.state === 'accepted') return;
    // "If a fatal transport error is reported by the transport layer ..., the client
    // transaction SHOULD transition directly to the "Terminated" state" and inform the TU (§17.1.4).
    this.terminate('transport-error', () => this.#user.onTransportError(error));
  }
}
