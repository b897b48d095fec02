/**
 * The built-in callee (a UAS, RFC 3261 §8.2, §12.1.1, §13.3, §15.1.2): does
 * with each INVITE what the Request-URI's user part says (the caller's call
 * script): `answer` rings for the answer delay, then 200 with an SDP answer
 * and RTP to the offer's address; `busy` answers 486; `noanswer` rings, then
 * 480; `cancel` rings until the caller's CANCEL (200, then 487). A BYE gets
 * 200. INVITE, CANCEL and BYE run in the SIP layer's own server
 * transactions; the 2xx is re-sent by the callee itself until its ACK comes
 * (§13.3.1.4: T1 doubling up to T2, giving up after 64·T1).
 */
import { randomBytes } from 'node:crypto';
import type { RemoteInfo } from 'node:dgram';
import { buildResponse, parseMessage, parseUri, type SipMessage } from '../sip/message';
import { InviteServerTransaction, NonInviteServerTransaction, T1, T2, type TimerHost } from '../sip/transaction';
import type { LossyUdp } from './lossy-udp';
import type { MediaPump } from './media-pump';
import { audioOf, sdpOf, type Addr } from './messages';
import type { CallScript } from './spec';

/** A `cancel` call rings at most this long if its CANCEL never comes (then 480). */
const RING_AT_MOST_MS = 32_000;

interface InCall {
  callId: string;
  toTag: string;
  tx: InviteServerTransaction;
  invite: SipMessage;
  replyTo: Addr;
  answerTimer: NodeJS.Timeout | null;
  /** The 2xx, re-sent until the ACK comes. */
  ok: Buffer | null;
  okTimer: NodeJS.Timeout | null;
  okInterval: number;
  okSentMs: number;
}

const SCRIPTS = new Set<CallScript>(['answer', 'busy', 'noanswer', 'cancel']);

export class Callee {
  private readonly calls = new Map<string, InCall>();
  /** Server transactions by top Via branch and method (ACK and CANCEL find the INVITE's by its branch, §17.2.3). */
  private readonly txs = new Map<string, InviteServerTransaction | NonInviteServerTransaction>();
  /** 2xx given up on: no ACK within 64·T1. */
  ackTimeouts = 0;
  /** The o= session id of each answer: one per answer is all RFC 4566 asks. */
  private sdpSessions = 0;

  constructor(
    private readonly sip: LossyUdp,
    private readonly media: MediaPump,
    private readonly timers: TimerHost,
    private readonly answerMs: () => number,
  ) {}

  receive(bytes: Buffer, from: RemoteInfo): void {
    const r = parseMessage(bytes);
    if (!r.ok || !r.msg.isRequest) return;
    const msg = r.msg;
    const replyTo = { host: from.address, port: from.port };
    const branch = msg.topVia.branch ?? '';
    switch (msg.method) {
      case 'INVITE':
        return this.onInvite(msg, branch, replyTo);
      case 'ACK':
        return this.onAck(msg, branch, bytes);
      case 'CANCEL':
        return this.onNonInvite(msg, branch, replyTo, () => {
          const invite = this.txs.get(`${branch} INVITE`);
          const call = this.calls.get(msg.callId);
          if (invite instanceof InviteServerTransaction && call && invite.lastStatus < 200) this.final(call, 487, 'Request Terminated');
          return 200;
        });
      case 'BYE':
        return this.onNonInvite(msg, branch, replyTo, () => {
          this.media.stop(msg.callId);
          this.forget(msg.callId);
          return 200;
        });
      default:
        return this.onNonInvite(msg, branch, replyTo, () => 405);
    }
  }

  private onInvite(msg: SipMessage, branch: string, replyTo: Addr): void {
    const key = `${branch} INVITE`;
    const existing = this.txs.get(key);
    if (existing) {
      existing.receiveRequest(); // a retransmission: the last response again
      return;
    }
    if (this.calls.has(msg.callId)) return; // a re-INVITE: not part of the scripts
    const user = parseUri(msg.uri ?? '')?.user ?? 'answer';
    const script: CallScript = SCRIPTS.has(user as CallScript) ? (user as CallScript) : 'answer';
    const tx = new InviteServerTransaction({
      send: (b, re) => this.sip.send(b, replyTo, re),
      timers: this.timers,
      reliable: false,
      user: { onTimeout: () => undefined, onTransportError: () => undefined, onTerminated: () => this.txs.delete(key) },
    });
    this.txs.set(key, tx);
    const call: InCall = { callId: msg.callId, toTag: randomBytes(6).toString('hex'), tx, invite: msg, replyTo, answerTimer: null, ok: null, okTimer: null, okInterval: T1, okSentMs: 0 };
    this.calls.set(msg.callId, call);
    if (script === 'busy') return this.final(call, 486, 'Busy Here');
    tx.respond(180, buildResponse(msg, 180, 'Ringing', { toTag: call.toTag, headers: this.dialogHeaders(msg) }));
    if (script === 'answer') call.answerTimer = setTimeout(() => this.answer(call), this.answerMs());
    else if (script === 'noanswer') call.answerTimer = setTimeout(() => this.final(call, 480, 'Temporarily Unavailable'), this.answerMs());
    else call.answerTimer = setTimeout(() => this.final(call, 480, 'Temporarily Unavailable'), RING_AT_MOST_MS);
  }

  /** Record-Route copied into responses that make the dialog (§12.1.1), and our Contact. */
  private dialogHeaders(msg: SipMessage): [string, string][] {
    return [...msg.headers('Record-Route').map((v) => ['Record-Route', v] as [string, string]), ['Contact', `<sip:callee@${this.sip.local.host}:${this.sip.local.port}>`]];
  }

  private answer(call: InCall): void {
    call.answerTimer = null;
    if (call.tx.lastStatus >= 200) return;
    const sdp = sdpOf(this.media.callee.local.host, this.media.callee.local.port, ++this.sdpSessions);
    call.ok = buildResponse(call.invite, 200, 'OK', { toTag: call.toTag, headers: [...this.dialogHeaders(call.invite), ['Content-Type', 'application/sdp']], body: sdp });
    call.tx.respond(200, call.ok);
    call.okSentMs = performance.now();
    call.okTimer = setTimeout(() => this.resendOk(call), T1);
    const to = audioOf(call.invite.body.toString('latin1'));
    if (to) this.media.start(call.callId, 'callee', to);
  }

  /** §13.3.1.4: the 2xx again at T1, 2·T1, … capped at T2, until the ACK or 64·T1. */
  private resendOk(call: InCall): void {
    call.okTimer = null;
    if (!call.ok) return;
    if (performance.now() - call.okSentMs >= 64 * T1) {
      this.ackTimeouts++;
      call.ok = null;
      return;
    }
    if (!call.tx.terminated) call.tx.respond(200, call.ok);
    else this.sip.send(call.ok, call.replyTo, true);
    call.okInterval = Math.min(call.okInterval * 2, T2);
    call.okTimer = setTimeout(() => this.resendOk(call), call.okInterval);
  }

  private final(call: InCall, status: number, reason: string): void {
    if (call.answerTimer) clearTimeout(call.answerTimer);
    call.answerTimer = null;
    if (call.tx.lastStatus >= 200) return;
    call.tx.respond(status, buildResponse(call.invite, status, reason, { toTag: call.toTag }));
    setTimeout(() => this.forget(call.callId), 32_000).unref();
  }

  private onAck(msg: SipMessage, branch: string, bytes: Buffer): void {
    const tx = this.txs.get(`${branch} INVITE`);
    if (tx instanceof InviteServerTransaction) {
      tx.receiveAck(bytes); // the ACK for a 300-699 (same branch as the INVITE)
      return;
    }
    const call = this.calls.get(msg.callId);
    if (call?.ok) {
      // The ACK for the 2xx: stop re-sending it.
      call.ok = null;
      if (call.okTimer) clearTimeout(call.okTimer);
      call.okTimer = null;
    }
  }

  private onNonInvite(msg: SipMessage, branch: string, replyTo: Addr, handle: () => number): void {
    const key = `${branch} ${msg.method}`;
    const existing = this.txs.get(key);
    if (existing) {
      existing.receiveRequest();
      return;
    }
    const tx = new NonInviteServerTransaction({
      send: (b, re) => this.sip.send(b, replyTo, re),
      timers: this.timers,
      reliable: false,
      user: { onTransportError: () => undefined, onTerminated: () => this.txs.delete(key) },
    });
    this.txs.set(key, tx);
    const status = handle();
    tx.respond(status, buildResponse(msg, status, status === 200 ? 'OK' : 'Method Not Allowed'));
  }

  private forget(callId: string): void {
    const call = this.calls.get(callId);
    if (!call) return;
    if (call.answerTimer) clearTimeout(call.answerTimer);
    if (call.okTimer) clearTimeout(call.okTimer);
    this.calls.delete(callId);
  }

  dispose(): void {
    for (const tx of this.txs.values()) tx.dispose();
    this.txs.clear();
    for (const id of this.calls.keys()) this.forget(id); // a Map visits each key once while its entries are deleted
  }
}
