/**
 * The built-in caller (a UAC, RFC 3261 §8.1, §12, §13.2, §15): places a call
 * through the proxy with an SDP offer, ACKs the 2xx end to end and sends RTP
 * to the answer's address, hangs up with a BYE after the hold time; CANCELs
 * while ringing when the call's script says so. INVITE, CANCEL and BYE go
 * through the SIP layer's own client transactions (retransmissions, Timers
 * A/B/E/F); the ACK for a 2xx is the caller's own, re-sent for each
 * retransmitted 2xx (§13.2.2.4).
 */
import { randomBytes } from 'node:crypto';
import type { RemoteInfo } from 'node:dgram';
import { buildAck, buildCancel, parseMessage, type SipMessage } from '../sip/message';
import { InviteClientTransaction, NonInviteClientTransaction, type TimerHost } from '../sip/transaction';
import type { LossyUdp } from './lossy-udp';
import type { MediaPump } from './media-pump';
import { audioOf, buildInDialog, buildInvite, dialogOf, sdpOf, type Addr, type Dialog } from './messages';
import type { CallScript } from './spec';

/** How a call placed by the caller ended. */
export type CallOutcome = 'completed' | 'busy' | 'noAnswer' | 'cancelled' | 'failed';

export interface CallerEvents {
  /** The 2xx arrived: INVITE sent → 2xx received, ms (the generator's own clock, not the wire). */
  answered(callId: string, setupMs: number): void;
  ended(callId: string, outcome: CallOutcome, why: string): void;
}

/** The caller CANCELs a `cancel` call this long after its first 18x. */
const CANCEL_AFTER_MS = 300;

interface OutCall {
  callId: string;
  fromTag: string;
  script: CallScript;
  sentMs: number;
  invite: SipMessage;
  inviteBranch: string;
  dialog: Dialog | null;
  ack: Buffer | null;
  cancelTimer: NodeJS.Timeout | null;
  byeTimer: NodeJS.Timeout | null;
  ended: boolean;
}

const token = () => randomBytes(6).toString('hex');

export class Caller {
  private readonly calls = new Map<string, OutCall>();
  /** Client transactions by top Via branch and CSeq method (§17.1.3). */
  private readonly txs = new Map<string, InviteClientTransaction | NonInviteClientTransaction>();
  private seq = 0;
  /** Calls placed and not yet ended. */
  private live = 0;

  constructor(
    private readonly sip: LossyUdp,
    private readonly media: MediaPump,
    private readonly timers: TimerHost,
    private readonly proxy: Addr,
    private readonly callee: Addr,
    private readonly holdMs: () => number,
    private readonly events: CallerEvents,
  ) {}

  get active(): number {
    return this.live;
  }

  /** Places one call; its script tells the callee what to do with it. */
  place(script: CallScript): string {
    const n = ++this.seq;
    const callId = `${n}-${token()}@callpath-traffic`;
    const fromTag = token();
    const branch = `z9hG4bK-tg${token()}`;
    const bytes = buildInvite({ callId, fromTag, branch, script, caller: this.sip.local, callee: this.callee, sdp: sdpOf(this.media.caller.local.host, this.media.caller.local.port, n) });
    const parsed = parseMessage(bytes);
    if (!parsed.ok) throw new Error(`traffic: built an INVITE that does not parse (${parsed.error.reason})`);
    const call: OutCall = { callId, fromTag, script, sentMs: performance.now(), invite: parsed.msg, inviteBranch: branch, dialog: null, ack: null, cancelTimer: null, byeTimer: null, ended: false };
    this.calls.set(callId, call);
    this.live++;
    const key = `${branch} INVITE`;
    const tx = new InviteClientTransaction({
      request: bytes,
      send: (b, re) => this.sip.send(b, this.proxy, re),
      timers: this.timers,
      reliable: false,
      buildAck: (resp) => {
        const r = parseMessage(resp);
        return r.ok ? buildAck(call.invite, r.msg) : Buffer.alloc(0);
      },
      user: {
        onResponse: (status, b) => this.onInviteResponse(call, status, b),
        onTimeout: () => this.end(call, 'failed', 'no response to the INVITE (Timer B)'),
        onTransportError: () => this.end(call, 'failed', 'the INVITE could not be sent'),
        onTerminated: () => this.txs.delete(key),
      },
    });
    this.txs.set(key, tx);
    tx.start();
    return callId;
  }

  /** A datagram on the caller's SIP socket: a response to one of its transactions, or a 2xx retransmitted past it. */
  receive(bytes: Buffer, _from: RemoteInfo): void {
    const r = parseMessage(bytes);
    if (!r.ok || r.msg.isRequest) return;
    const msg = r.msg;
    const tx = this.txs.get(`${msg.topVia.branch ?? ''} ${msg.cseq.method}`);
    if (tx) {
      tx.receiveResponse(msg.status, bytes);
      return;
    }
    // A 2xx to the INVITE after its transaction ended: the ACK again (§13.2.2.4).
    const call = this.calls.get(msg.callId);
    if (call?.ack && msg.status >= 200 && msg.status < 300 && msg.cseq.method === 'INVITE') this.sip.send(call.ack, this.proxy, true);
  }

  private onInviteResponse(call: OutCall, status: number, bytes: Buffer): void {
    if (status < 200) {
      if (status > 100 && call.script === 'cancel' && call.cancelTimer === null && !call.ended) call.cancelTimer = setTimeout(() => this.cancel(call), CANCEL_AFTER_MS);
      return;
    }
    if (status >= 300) {
      const outcome = status === 486 ? 'busy' : status === 480 ? 'noAnswer' : status === 487 ? 'cancelled' : 'failed';
      return this.end(call, outcome, `${status} to the INVITE`);
    }
    if (call.ack) {
      this.sip.send(call.ack, this.proxy, true); // a retransmitted 2xx: the same ACK again
      return;
    }
    const r = parseMessage(bytes);
    const dialog = r.ok ? dialogOf(r.msg, this.sip.local, call.fromTag) : null;
    if (!r.ok || !dialog) return this.end(call, 'failed', '2xx without a To-tag or Contact');
    call.dialog = dialog;
    call.ack = buildInDialog(dialog, 'ACK', 1, `z9hG4bK-tg${token()}`);
    this.sip.send(call.ack, this.proxy, false);
    if (call.ended) return; // CANCELled, but the 2xx won the race: ACKed, and hung up below
    this.events.answered(call.callId, performance.now() - call.sentMs);
    const to = audioOf(r.msg.body.toString('latin1'));
    if (to) this.media.start(call.callId, 'caller', to);
    call.byeTimer = setTimeout(() => this.bye(call), this.holdMs());
  }

  private cancel(call: OutCall): void {
    call.cancelTimer = null;
    if (call.ended || call.dialog) return;
    const key = `${call.inviteBranch} CANCEL`;
    const tx = new NonInviteClientTransaction({
      request: buildCancel(call.invite),
      send: (b, re) => this.sip.send(b, this.proxy, re),
      timers: this.timers,
      reliable: false,
      user: { onResponse: () => undefined, onTimeout: () => undefined, onTransportError: () => undefined, onTerminated: () => this.txs.delete(key) },
    });
    this.txs.set(key, tx);
    tx.start();
  }

  private bye(call: OutCall): void {
    call.byeTimer = null;
    const d = call.dialog;
    if (!d) return;
    this.media.stop(call.callId);
    const branch = `z9hG4bK-tg${token()}`;
    const key = `${branch} BYE`;
    const tx = new NonInviteClientTransaction({
      request: buildInDialog(d, 'BYE', 2, branch),
      send: (b, re) => this.sip.send(b, this.proxy, re),
      timers: this.timers,
      reliable: false,
      user: {
        onResponse: (status) => {
          if (status >= 200) this.end(call, status < 300 ? 'completed' : 'failed', status < 300 ? 'BYE answered' : `${status} to the BYE`);
        },
        onTimeout: () => this.end(call, 'failed', 'no response to the BYE (Timer F)'),
        onTransportError: () => this.end(call, 'failed', 'the BYE could not be sent'),
        onTerminated: () => this.txs.delete(key),
      },
    });
    this.txs.set(key, tx);
    tx.start();
  }

  private end(call: OutCall, outcome: CallOutcome, why: string): void {
    if (call.ended) return;
    call.ended = true;
    this.live--;
    if (call.cancelTimer) clearTimeout(call.cancelTimer);
    if (call.byeTimer) clearTimeout(call.byeTimer);
    this.media.stop(call.callId);
    // Kept a little for a late 2xx retransmission to be ACKed again, then forgotten.
    setTimeout(() => this.calls.delete(call.callId), 32_000).unref();
    this.events.ended(call.callId, outcome, why);
  }

  /** Hangs up what is up (a BYE each) and stops placing; resolves once they are answered or given up. */
  async hangUpAll(waitMs: number): Promise<void> {
    for (const call of this.calls.values()) {
      if (call.byeTimer) {
        clearTimeout(call.byeTimer);
        this.bye(call);
      } else if (!call.dialog && !call.ended) this.cancel(call);
    }
    const until = performance.now() + waitMs;
    while (performance.now() < until && [...this.calls.values()].some((c) => !c.ended)) await new Promise((r) => setTimeout(r, 50));
  }

  dispose(): void {
    for (const tx of this.txs.values()) tx.dispose();
    this.txs.clear();
    for (const c of this.calls.values()) {
      if (c.cancelTimer) clearTimeout(c.cancelTimer);
      if (c.byeTimer) clearTimeout(c.byeTimer);
    }
    this.calls.clear();
  }
}
