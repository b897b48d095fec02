import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createManualClock } from '../../engine/clock';
import { InviteClientTransaction } from '../../engine/sip/transaction/invite-client';
import { InviteServerTransaction } from '../../engine/sip/transaction/invite-server';
import { IllegalTransitionError, type TerminationReason } from '../../engine/sip/transaction/machine';
import { NonInviteClientTransaction } from '../../engine/sip/transaction/non-invite-client';
import { NonInviteServerTransaction } from '../../engine/sip/transaction/non-invite-server';
import { createManualTimerHost, type ManualTimerHost } from '../../engine/sip/transaction/timer-host';

const INVITE = Buffer.from('INVITE sip:bob@example.com SIP/2.0\r\n\r\n');
const OPTIONS = Buffer.from('OPTIONS sip:bob@example.com SIP/2.0\r\n\r\n');
const R100 = Buffer.from('SIP/2.0 100 Trying\r\n\r\n');
const R180 = Buffer.from('SIP/2.0 180 Ringing\r\n\r\n');
const R200 = Buffer.from('SIP/2.0 200 OK\r\n\r\n');
const R486 = Buffer.from('SIP/2.0 486 Busy Here\r\n\r\n');
const ACK = Buffer.from('ACK sip:bob@example.com SIP/2.0\r\n\r\n');

interface Sent {
  at: number;
  bytes: Buffer;
  retransmission: boolean;
}

/** A fake world: manual time, a recording transport, and a recording user. */
function world(opts: { fail?: 'false' | 'error' | 'throw' | ((n: number) => boolean) } = {}) {
  const clock = createManualClock();
  const host: ManualTimerHost = createManualTimerHost(clock);
  const sent: Sent[] = [];
  const events: string[] = [];
  const terminations: TerminationReason[] = [];
  const send = (bytes: Buffer, retransmission: boolean): boolean | Error | undefined => {
    const n = sent.length;
    sent.push({ at: clock.monoMs(), bytes, retransmission });
    const f = opts.fail;
    if (f === undefined) return undefined;
    if (typeof f === 'function') return f(n) ? false : true;
    if (f === 'false') return false;
    if (f === 'error') return new Error('ECONNREFUSED');
    throw new Error('EHOSTUNREACH');
  };
  const user = {
    onResponse: (status: number) => events.push(`response ${status}`),
    onTimeout: () => events.push('timeout'),
    onTransportError: (e: unknown) => events.push(`transport-error ${(e as Error).message}`),
    onTerminated: (r: TerminationReason) => {
      terminations.push(r);
      events.push(`terminated ${r}`);
    },
    onAck: () => events.push('ack'),
    onRetransmittedRequest: (resent: boolean) => events.push(`retransmitted-request resent=${resent}`),
  };
  return { clock, host, sent, events, terminations, send, user };
}

const times = (sent: Sent[]) => sent.map((s) => s.at);

describe('INVITE client transaction (RFC 3261 §17.1.1, RFC 6026)', () => {
  function inviteClient(w: ReturnType<typeof world>, reliable = false) {
    return new InviteClientTransaction({
      request: INVITE,
      send: w.send,
      timers: w.host,
      reliable,
      buildAck: () => ACK,
      user: w.user,
    });
  }

  it('retransmits the INVITE with Timer A doubling from T1 and flags retransmissions (§17.1.1.2)', () => {
    const w = world();
    const tx = inviteClient(w);
    tx.start();
    assert.equal(tx.state, 'calling');
    w.host.advance(31_999);
    assert.deepEqual(times(w.sent), [0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert.deepEqual(
      w.sent.map((s) => s.retransmission),
      [false, true, true, true, true, true, true],
    );
    assert.ok(w.sent.every((s) => s.bytes === INVITE));
  });

  it('times out once when Timer B (64*T1 = 32 s) fires in Calling (§17.1.1.2)', () => {
    const w = world();
    const tx = inviteClient(w);
    tx.start();
    w.host.advance(32_000);
    assert.deepEqual(w.events, ['timeout', 'terminated timeout']);
    assert.equal(tx.state, 'terminated');
    assert.equal(w.host.pending(), 0);
    w.host.advance(120_000);
    assert.equal(w.events.filter((e) => e === 'timeout').length, 1);
    assert.equal(w.sent.length, 7);
  });

  it('stops retransmitting and leaves Timer B behind on a provisional response (§17.1.1.2)', () => {
    const w = world();
    const tx = inviteClient(w);
    tx.start();
    w.host.advance(700);
    assert.equal(tx.receiveResponse(180, R180), 'passed');
    assert.equal(tx.state, 'proceeding');
    assert.deepEqual(tx.armedTimers, []);
    w.host.advance(120_000);
    assert.deepEqual(times(w.sent), [0, 500]);
    assert.deepEqual(w.events, ['response 180']);
    tx.receiveResponse(183, R180);
    assert.deepEqual(w.events, ['response 180', 'response 183']);
  });

  it('ACKs a 300-699 via buildAck, re-sends the ACK for a retransmitted final, then Timer D terminates (§17.1.1.2)', () => {
    const w = world();
    let acksBuilt = 0;
    const tx = new InviteClientTransaction({
      request: INVITE,
      send: w.send,
      timers: w.host,
      reliable: false,
      buildAck: (bytes, status) => {
        acksBuilt++;
        assert.equal(bytes, R486);
        assert.equal(status, 486);
        return ACK;
      },
      user: w.user,
    });
    tx.start();
    tx.receiveResponse(180, R180);
    w.host.advance(1000);
    assert.equal(tx.receiveResponse(486, R486), 'passed');
    assert.equal(tx.state, 'completed');
    assert.deepEqual(w.sent.at(-1), { at: 1000, bytes: ACK, retransmission: false });
    w.host.advance(2000);
    assert.equal(tx.receiveResponse(486, R486), 'absorbed');
    assert.deepEqual(w.sent.at(-1), { at: 3000, bytes: ACK, retransmission: true });
    assert.equal(acksBuilt, 1);
    assert.deepEqual(w.events, ['response 180', 'response 486']);
    w.host.advance(31_999 - 2000);
    assert.equal(tx.state, 'completed');
    w.host.advance(1);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(w.terminations, ['completed']);
  });

  it('moves to Accepted on 2xx, passes every further 2xx up without ACKing, and ends on Timer M (RFC 6026 §8.4)', () => {
    const w = world();
    const tx = inviteClient(w);
    tx.start();
    w.host.advance(200);
    tx.receiveResponse(200, R200);
    assert.equal(tx.state, 'accepted');
    w.host.advance(10_000);
    assert.equal(tx.receiveResponse(200, R200), 'passed');
    assert.equal(tx.receiveResponse(180, R180), 'absorbed');
    assert.equal(tx.receiveResponse(486, R486), 'absorbed');
    assert.equal(w.sent.length, 1, 'no retransmission after 2xx and no ACK from the transaction');
    w.host.advance(22_000);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(w.events, ['response 200', 'response 200', 'terminated completed']);
  });

  it('over TCP runs no Timer A, keeps Timer B, and terminates right after the ACK (Timer D = 0)', () => {
    const w = world();
    const tx = inviteClient(w, true);
    tx.start();
    assert.deepEqual(tx.armedTimers, ['B']);
    w.host.advance(10_000);
    assert.equal(w.sent.length, 1);
    tx.receiveResponse(603, R486);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(w.events, ['response 603', 'terminated completed']);
    assert.equal(w.sent.at(-1)?.bytes, ACK);

    const w2 = world();
    const tx2 = inviteClient(w2, true);
    tx2.start();
    w2.host.advance(32_000);
    assert.deepEqual(w2.events, ['timeout', 'terminated timeout']);
  });

  for (const fail of ['false', 'error', 'throw'] as const) {
    it(`reports a transport error (send ${fail === 'throw' ? 'throws' : `returns ${fail}`}) and terminates (§17.1.4)`, () => {
      const w = world({ fail });
      const tx = inviteClient(w);
      tx.start();
      assert.equal(tx.state, 'terminated');
      assert.equal(w.events.length, 2);
      assert.match(w.events[0] ?? '', /^transport-error /);
      assert.equal(w.events[1], 'terminated transport-error');
      assert.equal(w.host.pending(), 0);
    });
  }

  it('reports a transport error on a Timer A retransmission and stops (§17.1.4)', () => {
    const w = world({ fail: (n) => n === 2 });
    const tx = inviteClient(w);
    tx.start();
    w.host.advance(60_000);
    assert.deepEqual(times(w.sent), [0, 500, 1500]);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(w.terminations, ['transport-error']);
  });
});

describe('non-INVITE client transaction (RFC 3261 §17.1.2)', () => {
  function nonInviteClient(w: ReturnType<typeof world>, reliable = false) {
    return new NonInviteClientTransaction({ request: OPTIONS, send: w.send, timers: w.host, reliable, user: w.user });
  }

  it('retransmits with Timer E doubling from T1 capped at T2, then times out on Timer F at 64*T1 (§17.1.2.2)', () => {
    const w = world();
    const tx = nonInviteClient(w);
    tx.start();
    w.host.advance(31_999);
    assert.deepEqual(times(w.sent), [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    assert.ok(w.sent.slice(1).every((s) => s.retransmission));
    assert.deepEqual(w.events, []);
    w.host.advance(1);
    assert.deepEqual(w.events, ['timeout', 'terminated timeout']);
    assert.equal(w.host.pending(), 0);
  });

  it('keeps Timers E and F through a provisional and then retransmits every T2 (§17.1.2.2)', () => {
    const w = world();
    const tx = nonInviteClient(w);
    tx.start();
    w.host.advance(600);
    tx.receiveResponse(100, R100);
    assert.equal(tx.state, 'proceeding');
    assert.deepEqual(tx.armedTimers.sort(), ['E', 'F']);
    w.host.advance(9500 - 600);
    assert.deepEqual(times(w.sent), [0, 500, 1500, 5500, 9500]);
    w.host.advance(32_000 - 9500);
    assert.deepEqual(w.events, ['response 100', 'timeout', 'terminated timeout']);
  });

  it('passes the final response up once, absorbs its retransmissions, and ends on Timer K = T4 (§17.1.2.2)', () => {
    const w = world();
    const tx = nonInviteClient(w);
    tx.start();
    w.host.advance(100);
    tx.receiveResponse(200, R200);
    assert.equal(tx.state, 'completed');
    assert.deepEqual(tx.armedTimers, ['K']);
    assert.equal(tx.receiveResponse(200, R200), 'absorbed');
    w.host.advance(4999);
    assert.equal(tx.state, 'completed');
    w.host.advance(1);
    assert.deepEqual(w.events, ['response 200', 'terminated completed']);
    assert.equal(w.sent.length, 1);
  });

  it('over TCP runs no Timer E and terminates on the final response (Timer K = 0)', () => {
    const w = world();
    const tx = nonInviteClient(w, true);
    tx.start();
    assert.deepEqual(tx.armedTimers, ['F']);
    w.host.advance(20_000);
    assert.equal(w.sent.length, 1);
    tx.receiveResponse(404, R486);
    assert.equal(tx.state, 'terminated');
    assert.equal(w.host.pending(), 0);
  });

  it('reports a transport error on a Timer E retransmission (§17.1.4)', () => {
    const w = world({ fail: (n) => n === 1 });
    const tx = nonInviteClient(w);
    tx.start();
    w.host.advance(1000);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(w.terminations, ['transport-error']);
  });
});

describe('INVITE server transaction (RFC 3261 §17.2.1, RFC 6026)', () => {
  function inviteServer(w: ReturnType<typeof world>, reliable = false) {
    return new InviteServerTransaction({ send: w.send, timers: w.host, reliable, user: w.user });
  }

  it('starts in Proceeding and sends 100 Trying at once for the proxy core (§17.2.1, §16.2)', () => {
    const w = world();
    const tx = inviteServer(w);
    assert.equal(tx.state, 'proceeding');
    assert.equal(tx.sendTrying(R100), true);
    assert.deepEqual(w.sent, [{ at: 0, bytes: R100, retransmission: false }]);
    assert.equal(tx.lastStatus, 100);
  });

  it('re-sends the most recent provisional for a retransmitted INVITE in Proceeding and reports it (§17.2.1)', () => {
    const w = world();
    const tx = inviteServer(w);
    assert.equal(tx.receiveRequest(), 'absorbed', 'nothing to re-send before any response');
    tx.sendTrying(R100);
    tx.respond(180, R180);
    w.host.advance(300);
    assert.equal(tx.receiveRequest(), 'resent');
    assert.deepEqual(w.sent.at(-1), { at: 300, bytes: R180, retransmission: true });
    assert.deepEqual(w.events, ['retransmitted-request resent=false', 'retransmitted-request resent=true']);
  });

  it('retransmits a 300-699 on Timer G (T1 doubling, capped at T2) until the ACK, then Timer I ends it (§17.2.1)', () => {
    const w = world();
    const tx = inviteServer(w);
    tx.sendTrying(R100);
    tx.respond(486, R486);
    assert.equal(tx.state, 'completed');
    w.host.advance(12_000);
    assert.deepEqual(times(w.sent), [0, 0, 500, 1500, 3500, 7500, 11500]);
    assert.ok(w.sent.slice(2).every((s) => s.retransmission && s.bytes === R486));
    assert.equal(tx.receiveAck(ACK), 'confirmed');
    assert.equal(tx.state, 'confirmed');
    assert.deepEqual(tx.armedTimers, ['I']);
    assert.equal(tx.receiveAck(ACK), 'absorbed');
    w.host.advance(4999);
    assert.equal(w.sent.length, 7, 'no Timer G after the ACK');
    assert.equal(tx.state, 'confirmed');
    w.host.advance(1);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(w.terminations, ['completed']);
    assert.ok(!w.events.includes('ack'), 'the ACK of a non-2xx is not passed up');
  });

  it('re-sends the final response for a retransmitted INVITE in Completed (§17.2.1)', () => {
    const w = world();
    const tx = inviteServer(w);
    tx.respond(404, R486);
    w.host.advance(100);
    assert.equal(tx.receiveRequest(), 'resent');
    assert.deepEqual(w.sent.at(-1), { at: 100, bytes: R486, retransmission: true });
  });

  it('reports a failure when Timer H (64*T1) fires without an ACK (§17.2.1)', () => {
    const w = world();
    const tx = inviteServer(w);
    tx.respond(500, R486);
    w.host.advance(31_999);
    assert.equal(w.sent.length, 11);
    assert.equal(tx.state, 'completed');
    w.host.advance(1);
    assert.deepEqual(w.events, ['timeout', 'terminated timeout']);
    assert.equal(w.host.pending(), 0);
  });

  it('moves to Accepted on 2xx, absorbs INVITE retransmissions, sends the 2xx the TU passes, and ends on Timer L (RFC 6026 §7.1)', () => {
    const w = world();
    const tx = inviteServer(w);
    tx.sendTrying(R100);
    tx.respond(200, R200);
    assert.equal(tx.state, 'accepted');
    assert.deepEqual(tx.armedTimers, ['L']);
    w.host.advance(1000);
    assert.equal(tx.receiveRequest(), 'absorbed');
    assert.equal(w.sent.length, 2, 'the server transaction never retransmits a 2xx itself');
    assert.equal(tx.respond(200, R200), true);
    assert.deepEqual(w.sent.at(-1), { at: 1000, bytes: R200, retransmission: true });
    assert.equal(tx.respond(486, R486), false, 'no non-2xx final after a 2xx');
    assert.equal(tx.receiveAck(ACK), 'passed');
    w.host.advance(31_000);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(w.events, ['retransmitted-request resent=false', 'ack', 'terminated completed']);
  });

  it('over TCP runs no Timer G and terminates on the ACK (Timer I = 0) but keeps Timer H', () => {
    const w = world();
    const tx = inviteServer(w, true);
    tx.respond(486, R486);
    assert.deepEqual(tx.armedTimers, ['H']);
    w.host.advance(10_000);
    assert.equal(w.sent.length, 1);
    tx.receiveAck(ACK);
    assert.equal(tx.state, 'terminated');

    const w2 = world();
    const tx2 = inviteServer(w2, true);
    tx2.respond(486, R486);
    w2.host.advance(32_000);
    assert.deepEqual(w2.events, ['timeout', 'terminated timeout']);
  });

  it('refuses responses once a final is sent', () => {
    const w = world();
    const tx = inviteServer(w);
    tx.respond(486, R486);
    assert.equal(tx.respond(180, R180), false);
    assert.equal(tx.respond(200, R200), false);
    assert.equal(w.sent.length, 1);
  });

  it('reports a transport error while sending a response and terminates (§17.2.4)', () => {
    const w = world({ fail: 'error' });
    const tx = inviteServer(w);
    assert.equal(tx.respond(486, R486), false);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(w.events, ['transport-error ECONNREFUSED', 'terminated transport-error']);
  });

  it('reports a transport error in Accepted without leaving it (RFC 6026 leaves Accepted only on Timer L)', () => {
    const w = world({ fail: (n) => n === 1 });
    const tx = inviteServer(w);
    tx.respond(200, R200);
    assert.equal(tx.respond(200, R200), false);
    assert.equal(tx.state, 'accepted');
    assert.deepEqual(w.events, ['transport-error transport refused the message']);
  });
});

describe('non-INVITE server transaction (RFC 3261 §17.2.2)', () => {
  function nonInviteServer(w: ReturnType<typeof world>, reliable = false) {
    return new NonInviteServerTransaction({ send: w.send, timers: w.host, reliable, user: w.user });
  }

  it('discards retransmissions in Trying, re-sends the last provisional in Proceeding and the final in Completed', () => {
    const w = world();
    const tx = nonInviteServer(w);
    assert.equal(tx.state, 'trying');
    assert.equal(tx.receiveRequest(), 'absorbed');
    tx.respond(100, R100);
    assert.equal(tx.state, 'proceeding');
    assert.equal(tx.receiveRequest(), 'resent');
    assert.equal(w.sent.at(-1)?.bytes, R100);
    tx.respond(200, R200);
    assert.equal(tx.state, 'completed');
    assert.equal(tx.receiveRequest(), 'resent');
    assert.deepEqual(w.sent.at(-1), { at: 0, bytes: R200, retransmission: true });
    assert.deepEqual(
      w.sent.map((s) => s.retransmission),
      [false, true, false, true],
    );
  });

  it('discards further final responses from the TU in Completed (§17.2.2)', () => {
    const w = world();
    const tx = nonInviteServer(w);
    tx.respond(200, R200);
    assert.equal(tx.respond(500, R486), false);
    assert.equal(w.sent.length, 1);
  });

  it('stays Completed for Timer J = 64*T1 over UDP, then terminates (§17.2.2)', () => {
    const w = world();
    const tx = nonInviteServer(w);
    tx.respond(200, R200);
    w.host.advance(31_999);
    assert.equal(tx.state, 'completed');
    assert.equal(w.sent.length, 1, 'a non-INVITE server transaction never retransmits on its own');
    w.host.advance(1);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(w.terminations, ['completed']);
  });

  it('over TCP terminates as soon as the final is sent (Timer J = 0)', () => {
    const w = world();
    const tx = nonInviteServer(w, true);
    tx.respond(200, R200);
    assert.equal(tx.state, 'terminated');
    assert.equal(w.host.pending(), 0);
  });

  it('reports a transport error and terminates (§17.2.4)', () => {
    const w = world({ fail: 'throw' });
    const tx = nonInviteServer(w);
    assert.equal(tx.respond(200, R200), false);
    assert.deepEqual(w.events, ['transport-error EHOSTUNREACH', 'terminated transport-error']);
  });
});

describe('state machine discipline', () => {
  it('rejects moves the RFC figures do not have', () => {
    const w = world();
    const ic = new InviteClientTransaction({
      request: INVITE,
      send: w.send,
      timers: w.host,
      reliable: false,
      buildAck: () => ACK,
      user: w.user,
    });
    assert.throws(() => ic.transition('calling'), IllegalTransitionError);
    ic.transition('proceeding');
    assert.throws(() => ic.transition('calling'), IllegalTransitionError);
    ic.transition('completed');
    assert.throws(() => ic.transition('accepted'), /invite-client transaction: illegal transition completed -> accepted/);

    const nic = new NonInviteClientTransaction({ request: OPTIONS, send: w.send, timers: w.host, reliable: false, user: w.user });
    nic.transition('completed');
    assert.throws(() => nic.transition('proceeding'), IllegalTransitionError);

    const is = new InviteServerTransaction({ send: w.send, timers: w.host, reliable: false, user: w.user });
    assert.throws(() => is.transition('confirmed'), IllegalTransitionError);
    is.transition('accepted');
    assert.throws(() => is.transition('completed'), IllegalTransitionError);

    const nis = new NonInviteServerTransaction({ send: w.send, timers: w.host, reliable: false, user: w.user });
    nis.transition('terminated');
    for (const to of ['trying', 'proceeding', 'completed', 'terminated'] as const) {
      assert.throws(() => nis.transition(to), IllegalTransitionError);
    }
  });

  it('clears the timers of the state it leaves', () => {
    const w = world();
    const tx = new InviteClientTransaction({
      request: INVITE,
      send: w.send,
      timers: w.host,
      reliable: false,
      buildAck: () => ACK,
      user: w.user,
    });
    tx.start();
    assert.equal(w.host.pending(), 2);
    tx.receiveResponse(486, R486);
    assert.deepEqual(tx.armedTimers, ['D']);
    assert.equal(w.host.pending(), 1);
  });

  it('refuses to start twice and lets the TU dispose of a transaction without timeout reports', () => {
    const w = world();
    const tx = new NonInviteClientTransaction({ request: OPTIONS, send: w.send, timers: w.host, reliable: false, user: w.user });
    tx.start();
    assert.throws(() => tx.start(), /already started/);
    tx.dispose();
    tx.dispose();
    assert.equal(w.host.pending(), 0);
    w.host.advance(60_000);
    assert.deepEqual(w.events, ['terminated disposed']);
  });

  it('passes the manual clock forward with the timers so callbacks read the firing time', () => {
    const w = world();
    const tx = new NonInviteClientTransaction({ request: OPTIONS, send: w.send, timers: w.host, reliable: false, user: w.user });
    tx.start();
    w.host.advance(1000);
    assert.equal(w.clock.monoMs(), 1000);
    assert.deepEqual(times(w.sent), [0, 500]);
  });
});
