import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createManualClock } from '../../engine/clock';
import { createBranchGenerator, hasMagicCookie, MAGIC_COOKIE, newBranch } from '../../engine/sip/transaction/branch';
import { NonInviteServerTransaction } from '../../engine/sip/transaction/non-invite-server';
import { createManualTimerHost, createRealTimerHost } from '../../engine/sip/transaction/timer-host';
import { DEFAULT_TIMER_VALUES, deriveTimers, TIMER_B, TIMER_D, timersFor } from '../../engine/sip/transaction/timers';
import {
  cancelTargetKey,
  clientKey,
  legacyServerKey,
  serverKey,
  serverKeyFor,
  TransactionTable,
  type LegacyRequestFields,
} from '../../engine/sip/transaction/transaction-table';
import type { TransactionKind } from '../../engine/sip/transaction/machine';

describe('transaction matching (RFC 3261 §17.1.3, §17.2.3)', () => {
  it('matches a response to a client transaction by top Via branch and CSeq method, keeping CANCEL apart from INVITE (§17.1.3)', () => {
    assert.equal(clientKey('z9hG4bKa', 'INVITE'), clientKey('z9hG4bKa', 'INVITE'));
    assert.notEqual(clientKey('z9hG4bKa', 'INVITE'), clientKey('z9hG4bKa', 'CANCEL'));
    assert.notEqual(clientKey('z9hG4bKa', 'INVITE'), clientKey('z9hG4bKb', 'INVITE'));
  });

  it('matches an ACK to its INVITE server transaction and gives CANCEL its own (§17.2.3)', () => {
    const invite = serverKey('z9hG4bK77', 'pc33.atlanta.com:5060', 'INVITE');
    assert.equal(serverKey('z9hG4bK77', 'pc33.atlanta.com:5060', 'ACK'), invite);
    assert.notEqual(serverKey('z9hG4bK77', 'pc33.atlanta.com:5060', 'CANCEL'), invite);
    assert.equal(serverKey('z9hG4bK77', 'PC33.Atlanta.com:5060', 'INVITE'), invite, 'host compared case-insensitively');
    assert.notEqual(serverKey('z9hG4bK77', 'pc33.atlanta.com:5070', 'INVITE'), invite, 'sent-by is part of the match');
    assert.notEqual(serverKey('z9hG4bK77', 'pc33.atlanta.com:5060', 'INVITE'), clientKey('z9hG4bK77', 'INVITE'));
  });

  it('finds the INVITE a CANCEL targets (§9.2)', () => {
    const fields = { branch: 'z9hG4bK77', sentBy: 'a.example:5060', method: 'CANCEL' };
    assert.equal(cancelTargetKey(fields), serverKey('z9hG4bK77', 'a.example:5060', 'INVITE'));
    assert.equal(serverKeyFor(fields), serverKey('z9hG4bK77', 'a.example:5060', 'CANCEL'));
  });

  it('falls back to Request-URI, tags, Call-ID, CSeq and top Via for RFC 2543 requests without the magic cookie (§17.2.3)', () => {
    const invite: LegacyRequestFields = {
      requestUri: 'sip:bob@b.example',
      toTag: undefined,
      fromTag: 'f1',
      callId: 'c1@a.example',
      cseqNumber: 1,
      method: 'INVITE',
      topVia: 'SIP/2.0/UDP a.example:5060',
    };
    const ack = { ...invite, method: 'ACK', toTag: 'totag-from-our-response' };
    assert.equal(legacyServerKey(ack), legacyServerKey(invite), 'the ACK carries the To tag of our response');
    assert.notEqual(legacyServerKey({ ...invite, method: 'CANCEL' }), legacyServerKey(invite));
    assert.notEqual(legacyServerKey({ ...invite, cseqNumber: 2 }), legacyServerKey(invite));
    const bye = { ...invite, method: 'BYE', toTag: 't1', cseqNumber: 2 };
    assert.notEqual(legacyServerKey({ ...bye, toTag: 't2' }), legacyServerKey(bye), 'non-INVITE keys include the To tag');

    const { method: _m, ...legacy } = invite;
    assert.equal(serverKeyFor({ branch: '1234', sentBy: 'a.example', method: 'INVITE', legacy }), legacyServerKey(invite));
    assert.equal(serverKeyFor({ branch: undefined, sentBy: 'a.example', method: 'ACK', legacy }), legacyServerKey(invite));
    assert.equal(serverKeyFor({ branch: undefined, sentBy: 'a.example', method: 'INVITE' }), undefined);
    assert.equal(
      serverKeyFor({ branch: 'z9hG4bKx', sentBy: 'a.example', method: 'INVITE', legacy }),
      serverKey('z9hG4bKx', 'a.example', 'INVITE'),
    );
  });
});

describe('transaction table', () => {
  const tx = (kind: TransactionKind) => ({ kind });

  it('counts live transactions by kind and forgets them on removal', () => {
    const table = new TransactionTable<{ kind: TransactionKind }>();
    assert.equal(table.max, 100_000);
    assert.equal(table.add('a', tx('invite-server')), 'added');
    assert.equal(table.add('b', tx('invite-client')), 'added');
    assert.equal(table.add('c', tx('invite-client')), 'added');
    assert.equal(table.add('a', tx('invite-server')), 'duplicate');
    assert.deepEqual(table.counts(), {
      'invite-client': 2,
      'non-invite-client': 0,
      'invite-server': 1,
      'non-invite-server': 0,
    });
    assert.equal(table.remove('b'), true);
    assert.equal(table.remove('b'), false);
    assert.equal(table.counts()['invite-client'], 1);
    assert.equal(table.size, 2);
  });

  it('refuses new transactions when full and counts the rejections (the proxy answers 503)', () => {
    const table = new TransactionTable<{ kind: TransactionKind }>({ max: 2 });
    table.add('a', tx('non-invite-server'));
    table.add('b', tx('non-invite-server'));
    assert.equal(table.add('c', tx('non-invite-server')), 'full');
    assert.equal(table.add('d', tx('invite-server')), 'full');
    assert.equal(table.rejected, 2);
    assert.equal(table.get('c'), undefined);
    table.remove('a');
    assert.equal(table.add('c', tx('non-invite-server')), 'added');
  });

  it('removes a transaction only if it is the one stored under the key', () => {
    const table = new TransactionTable<{ kind: TransactionKind }>();
    const first = tx('invite-client');
    const second = tx('invite-client');
    table.add('k', second);
    assert.equal(table.remove('k', first), false);
    assert.equal(table.get('k'), second);
  });

  it('drops a transaction when it terminates, wired through onTerminated', () => {
    const host = createManualTimerHost();
    const table = new TransactionTable<NonInviteServerTransaction>();
    const key = serverKey('z9hG4bKq', 'a.example', 'OPTIONS');
    const t: NonInviteServerTransaction = new NonInviteServerTransaction({
      send: () => undefined,
      timers: host,
      reliable: false,
      user: { onTransportError: () => undefined, onTerminated: () => table.remove(key, t) },
    });
    table.add(key, t);
    assert.equal(table.get(serverKey('z9hG4bKq', 'A.EXAMPLE', 'OPTIONS')), t);
    t.respond(200, Buffer.from('SIP/2.0 200 OK\r\n\r\n'));
    host.advance(32_000);
    assert.equal(table.size, 0);
    assert.equal(table.counts()['non-invite-server'], 0);
  });
});

describe('branch ids (RFC 3261 §8.1.1.7)', () => {
  it('begin with the magic cookie z9hG4bK and do not repeat', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(newBranch());
    assert.equal(seen.size, 10_000);
    for (const b of seen) assert.ok(b.startsWith(MAGIC_COOKIE) && hasMagicCookie(b));
    assert.equal(hasMagicCookie('1234'), false);
    assert.equal(hasMagicCookie(undefined), false);
  });

  it('differ between generators by their random prefix and use only token characters', () => {
    const a = createBranchGenerator()();
    const b = createBranchGenerator()();
    assert.notEqual(a, b);
    assert.match(a, /^z9hG4bK[0-9a-f]{16}\.[0-9a-z]+$/);
  });
});

describe('timers (RFC 3261 Table 4, RFC 6026)', () => {
  it('derives every timer from T1, T2 and T4 for UDP', () => {
    assert.deepEqual(DEFAULT_TIMER_VALUES, { T1: 500, T2: 4000, T4: 5000 });
    assert.deepEqual(deriveTimers(false), {
      T1: 500,
      T2: 4000,
      T4: 5000,
      A: 500,
      B: 32_000,
      D: 32_000,
      E: 500,
      F: 32_000,
      G: 500,
      H: 32_000,
      I: 5000,
      J: 32_000,
      K: 5000,
      L: 32_000,
      M: 32_000,
    });
    assert.equal(TIMER_B, 32_000);
    assert.equal(TIMER_D, 32_000);
  });

  it('runs no A/E/G and zero D/I/J/K over reliable transports', () => {
    const t = deriveTimers(true);
    assert.deepEqual([t.A, t.E, t.G, t.D, t.I, t.J, t.K], [0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual([t.B, t.F, t.H, t.L, t.M], [32_000, 32_000, 32_000, 32_000, 32_000]);
  });

  it('scales with a tuned T1 and keeps Timer D at least 32 s', () => {
    const t = deriveTimers(false, { T1: 1000, T2: 4000, T4: 5000 });
    assert.equal(t.B, 64_000);
    assert.equal(t.D, 64_000);
    assert.equal(deriveTimers(false, { T1: 100, T2: 4000, T4: 5000 }).D, 32_000);
    assert.equal(timersFor(false), timersFor(false), 'memoised per transport and values');
  });

  it('the manual host fires due timers in order, skips cleared ones, and moves the clock with it', () => {
    const clock = createManualClock();
    const host = createManualTimerHost(clock);
    const fired: string[] = [];
    host.set(300, () => fired.push(`b@${clock.monoMs()}`));
    host.set(100, () => {
      fired.push(`a@${clock.monoMs()}`);
      host.set(50, () => fired.push(`c@${clock.monoMs()}`));
    });
    const cleared = host.set(200, () => fired.push('never'));
    host.set(300, () => fired.push(`d@${clock.monoMs()}`));
    host.clear(cleared);
    host.advance(299);
    assert.deepEqual(fired, ['a@100', 'c@150']);
    host.advance(1);
    assert.deepEqual(fired, ['a@100', 'c@150', 'b@300', 'd@300']);
    assert.equal(host.pending(), 0);
    assert.equal(host.now(), 300);
  });

  it('the real host fires unref\'d timeouts and can clear them', async () => {
    const host = createRealTimerHost();
    let fired = 0;
    const h = host.set(1, () => fired++);
    host.clear(h);
    await new Promise<void>((resolve) => {
      host.set(5, () => {
        fired += 10;
        resolve();
      });
      setTimeout(() => undefined, 50); // keep the loop alive: host timers are unref'd
    });
    assert.equal(fired, 10);
  });
});
