/**
 * Proxy-core behaviour that SIPp cannot easily provoke, driven with a
 * recording transport and a manual clock (pure logic; the SIPp integration
 * tests cover the real sockets).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../engine/clock';
import { EventStream } from '../../engine/events';
import { DropCounters } from '../../engine/metrics/drops';
import { parseMessage } from '../../engine/sip/message';
import { ProxyCore } from '../../engine/sip/proxy/core';
import { createManualTimerHost } from '../../engine/sip/transaction';
import type { NextHop } from '../../engine/net/host-port';
import type { SendFailure, SipTransport } from '../../engine/sip/transport/types';

interface Sent {
  to: NextHop;
  text: string;
}

function rig(targets: NextHop[] | null = [{ host: '127.0.0.1', port: 5090, transport: 'udp' }], opts: { failTcp?: boolean; defer?: (drain: () => void) => void; maxPending?: number } = {}) {
  const clock = createManualClock();
  const timers = createManualTimerHost(clock);
  const sent: Sent[] = [];
  const transport = (name: 'udp' | 'tcp'): SipTransport => ({
    name,
    send(data: Buffer, peer: NextHop, onFailure?: SendFailure) {
      sent.push({ to: peer, text: data.toString('latin1') });
      if (name === 'tcp' && opts.failTcp) queueMicrotask(() => onFailure?.(new Error('ECONNREFUSED')));
    },
    close: () => Promise.resolve(),
  });
  const events = new EventStream();
  const drops = new DropCounters();
  const core = new ProxyCore({ self: { host: '127.0.0.1', port: 5060 }, targets, timers: { T1: 500, T2: 4000, T4: 5000 }, timerHost: timers, clock, events, drops, defer: opts.defer, maxPending: opts.maxPending });
  core.attach(transport('udp'), transport('tcp'));
  const uac: NextHop = { transport: 'udp', host: '10.0.0.7', port: 40000 };
  return { core, sent, timers, uac, drops, tick: () => new Promise((r) => setTimeout(r, 0)) };
}

let n = 0;
function invite(o: { maxForwards?: number; via?: string; callId?: string; extra?: string[]; uri?: string } = {}): Buffer {
  n++;
  const lines = [
    `INVITE ${o.uri ?? 'sip:bob@127.0.0.1:5060'} SIP/2.0`,
    `Via: ${o.via ?? `SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-t${n};rport`}`,
    ...(o.maxForwards === undefined ? ['Max-Forwards: 70'] : [`Max-Forwards: ${o.maxForwards}`]),
    'From: <sip:alice@a.example>;tag=a1',
    'To: <sip:bob@b.example>',
    `Call-ID: ${o.callId ?? `call-${n}`}`,
    'CSeq: 1 INVITE',
    'Contact: <sip:alice@192.0.2.1:5060>',
    ...(o.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}

const status = (s: Sent) => Number(/^SIP\/2\.0 (\d{3})/.exec(s.text)?.[1] ?? 0);
const reason = (s: Sent) => /^SIP\/2\.0 \d{3} ([^\r]*)/.exec(s.text)?.[1] ?? '';

test('answers 100 Trying before anything else, then forwards with our Via, Record-Route and Max-Forwards − 1 (RFC 3261 §16.6)', () => {
  const { core, sent, uac } = rig();
  core.receive(invite(), uac);
  assert.equal(status(sent[0]!), 100);
  const fwd = sent[1]!;
  assert.deepEqual(fwd.to, { transport: 'udp', host: '127.0.0.1', port: 5090 });
  const msg = parseMessage(Buffer.from(fwd.text, 'latin1'));
  assert.ok(msg.ok);
  assert.match(msg.msg.topVia.branch ?? '', /^z9hG4bK/);
  assert.equal(msg.msg.topVia.host, '127.0.0.1');
  assert.equal(msg.msg.maxForwards, 69);
  assert.equal(msg.msg.header('record-route'), '<sip:127.0.0.1:5060;lr>');
});

test('writes received and rport into the sender\'s Via, and answers to the source address (RFC 3581 §4)', () => {
  const { core, sent, uac } = rig();
  core.receive(invite(), uac);
  const fwd = parseMessage(Buffer.from(sent[1]!.text, 'latin1'));
  assert.ok(fwd.ok);
  const theirs = fwd.msg.vias()[1]!;
  assert.equal(theirs.params.get('received'), '10.0.0.7');
  assert.equal(theirs.params.get('rport'), '40000');
  assert.deepEqual(sent[0]!.to, uac, '100 Trying goes back to where the INVITE came from, not the Via host');
});

test('without rport, responses go to the received address and the Via port (RFC 3261 §18.2.2)', () => {
  const { core, sent, uac } = rig();
  core.receive(invite({ via: 'SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK-norport' }), uac);
  assert.deepEqual(sent[0]!.to, { transport: 'udp', host: '10.0.0.7', port: 5070 });
});

test('Max-Forwards 0 gets 483 Too Many Hops and is not forwarded (RFC 3261 §16.3 step 3)', () => {
  const { core, sent, uac } = rig();
  core.receive(invite({ maxForwards: 0 }), uac);
  assert.deepEqual(sent.map(status), [100, 483]);
  assert.equal(reason(sent[1]!), 'Too Many Hops');
  assert.match(sent[1]!.text, /\r\nTo: <sip:bob@b\.example>;tag=\w+/);
});

/** The next hop sends what we forwarded straight back to us: its own Via on top, Max-Forwards − 1, optionally a new Request-URI. */
function sentBack(forwarded: string, o: { uri?: string; branch?: string } = {}): Buffer {
  let text = forwarded.replace(/^Via: /m, `Via: SIP/2.0/UDP 127.0.0.1:5090;branch=${o.branch ?? 'z9hG4bK-hop1'}\r\nVia: `).replace(/^Max-Forwards: (\d+)/m, (_, mf: string) => `Max-Forwards: ${Number(mf) - 1}`);
  if (o.uri) text = text.replace(/^INVITE \S+/, `INVITE ${o.uri}`);
  return Buffer.from(text, 'latin1');
}

const ourVias = (text: string) => text.split('\r\n').filter((l) => l.startsWith('Via: SIP/2.0/UDP 127.0.0.1:5060;')).length;

test('a request that comes back unchanged from the next hop is a loop: 100 then 482 Loop Detected, back to that hop (RFC 3261 §16.3 step 4, §16.6 step 8)', () => {
  const { core, sent, uac } = rig();
  core.receive(invite({ callId: 'loop-1' }), uac);
  const fwd = sent.find((s) => s.text.startsWith('INVITE'))!;
  sent.length = 0;
  const nextHop: NextHop = { transport: 'udp', host: '127.0.0.1', port: 5090 };
  core.receive(sentBack(fwd.text), nextHop);
  assert.deepEqual(sent.map(firstWord), ['100', '482'], 'answered, not forwarded a second time');
  assert.equal(reason(sent[1]!), 'Loop Detected');
  assert.deepEqual(sent[1]!.to, nextHop, 'the 482 goes to the hop that sent the request back, not to the UAC');
  assert.match(sent[1]!.text, /^Via: SIP\/2\.0\/UDP 127\.0\.0\.1:5090;branch=z9hG4bK-hop1\r\n/m, "the 482 carries the next hop's Via on top");
});

test('a request routed back to us with a new Request-URI is a spiral: forwarded again, with two of our Vias (RFC 3261 §16.3 step 4)', () => {
  const { core, sent, uac } = rig();
  core.receive(invite({ callId: 'spiral-1' }), uac);
  const fwd = sent.find((s) => s.text.startsWith('INVITE'))!;
  sent.length = 0;
  core.receive(sentBack(fwd.text, { uri: 'sip:bob@127.0.0.1:5090' }), { transport: 'udp', host: '127.0.0.1', port: 5090 });
  assert.deepEqual(sent.map(firstWord), ['100', 'INVITE']);
  const again = sent[1]!;
  assert.equal(ourVias(again.text), 2, 'our Via from the first pass and a new one on top');
  const parsed = parseMessage(Buffer.from(again.text, 'latin1'));
  assert.ok(parsed.ok);
  const vias = parsed.msg.vias();
  assert.equal(vias.length, 4, 'ours, the next hop, ours, the UAC');
  assert.notEqual(vias[0]!.branch, vias[2]!.branch, 'a new branch for the new transaction');
  assert.equal(parsed.msg.maxForwards, 67);
});

test('a Via with our sent-by but a branch we did not mint is a spiral, not a loop: forwarded (RFC 3261 §16.3 step 4)', () => {
  const { core, sent, uac } = rig();
  core.receive(invite({ via: 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-l1, SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-old' }), uac);
  assert.deepEqual(sent.map(firstWord), ['100', 'INVITE']);
});

test('initial requests go round robin over the targets; in-dialog requests follow Route and Request-URI (RFC 3261 §16.5)', () => {
  const targets: NextHop[] = [
    { host: '127.0.0.1', port: 5090, transport: 'udp' },
    { host: '127.0.0.1', port: 5092, transport: 'udp' },
  ];
  const { core, sent, uac } = rig(targets);
  for (let i = 0; i < 4; i++) core.receive(invite(), uac);
  const forwardedTo = sent.filter((s) => s.text.startsWith('INVITE')).map((s) => s.to.port);
  assert.deepEqual(forwardedTo, [5090, 5092, 5090, 5092]);
  sent.length = 0;
  const bye = Buffer.from(
    [
      'BYE sip:bob@127.0.0.1:6000 SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-bye1',
      'Max-Forwards: 70',
      'Route: <sip:127.0.0.1:5060;lr>',
      'From: <sip:alice@a.example>;tag=a1',
      'To: <sip:bob@b.example>;tag=b1',
      'Call-ID: dialog-1',
      'CSeq: 2 BYE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
  core.receive(bye, uac);
  const fwd = sent.find((s) => s.text.startsWith('BYE'))!;
  assert.deepEqual(fwd.to, { transport: 'udp', host: '127.0.0.1', port: 6000 }, 'to the remote target, not a round-robin target');
  assert.doesNotMatch(fwd.text, /\r\nRoute:/, 'our own Route entry is removed (loose routing, §16.4)');
});

test('a TCP next hop that refuses the connection turns into 503 upstream (RFC 3261 §16.9)', async () => {
  const { core, sent, uac, tick } = rig([{ host: '127.0.0.1', port: 5090, transport: 'tcp' }], { failTcp: true });
  core.receive(invite(), uac);
  await tick();
  const statuses = sent.filter((s) => s.text.startsWith('SIP/2.0')).map(status);
  assert.deepEqual(statuses, [100, 503]);
});

test('a CANCEL before the next hop turned out unreachable: the UAC gets 200 to its CANCEL and 487, not 503 (RFC 3261 §9.2, §16.10)', async () => {
  const { core, sent, uac, tick } = rig([{ host: '127.0.0.1', port: 5090, transport: 'tcp' }], { failTcp: true });
  const inv = invite();
  core.receive(inv, uac);
  const cancel = Buffer.from(inv.toString('latin1').replace('INVITE sip:', 'CANCEL sip:').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL'), 'latin1');
  core.receive(cancel, uac);
  await tick();
  const answers = sent.filter((s) => s.text.startsWith('SIP/2.0')).map((s) => `${status(s)} ${/\r\nCSeq: \d+ (\w+)/.exec(s.text)?.[1]}`);
  assert.deepEqual(answers, ['100 INVITE', '200 CANCEL', '487 INVITE']);
});

test('a UAS that never answers: Timer A retransmits, Timer B gives 408 upstream after 64·T1 (RFC 3261 §16.8, §17.1.1.2)', () => {
  const { core, sent, uac, timers } = rig();
  core.receive(invite(), uac);
  timers.advance(31_999);
  assert.ok(!sent.some((s) => status(s) === 408));
  const retransmitted = sent.filter((s) => s.text.startsWith('INVITE')).length;
  assert.equal(retransmitted, 7, 'the INVITE plus Timer A at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s');
  timers.advance(2);
  assert.ok(sent.some((s) => status(s) === 408 && s.to.host === uac.host));
});

test('garbage is dropped and counted, never answered', () => {
  const { core, sent, uac, drops } = rig();
  core.receive(Buffer.from('\x00\x01 not sip at all'), uac);
  core.receive(Buffer.from('SIP/2.0 200 OK\r\n\r\n'), uac);
  assert.equal(sent.length, 0);
  const parseDrops = drops.list().filter((d) => d.where === 'sip.parse').reduce((a, d) => a + d.count, 0);
  assert.equal(parseDrops, 2);
});

/** A UAS's response to a request we forwarded: every Via, From, To (with a tag), Call-ID and CSeq copied (RFC 3261 §8.2.6.2). */
function answer(forwarded: string, code: number, why: string): Buffer {
  const lines = forwarded.split('\r\n');
  const pick = (re: RegExp) => lines.filter((l) => re.test(l));
  const to = pick(/^To:/i)[0]!;
  return Buffer.from(
    [`SIP/2.0 ${code} ${why}`, ...pick(/^Via:/i), ...pick(/^From:/i), /;tag=/.test(to) ? to : `${to};tag=uas1`, ...pick(/^Call-ID:/i), ...pick(/^CSeq:/i), 'Content-Length: 0', '', ''].join('\r\n'),
  );
}

test('past a 2xx, a retransmitted INVITE is absorbed and a retransmitted 200 still goes upstream, flagged, until 64·T1 (RFC 6026 §7.1, §8.4)', () => {
  const { core, sent, uac, timers } = rig();
  const inv = invite();
  core.receive(inv, uac);
  const fwd = sent.find((s) => s.text.startsWith('INVITE'))!;
  const uas: NextHop = { transport: 'udp', host: '127.0.0.1', port: 5090 };
  const ok = answer(fwd.text, 200, 'OK');
  core.receive(ok, uas);
  assert.deepEqual(sent.map((s) => (s.text.startsWith('SIP') ? status(s) : s.text.split(' ')[0])), [100, 'INVITE', 200]);
  assert.equal(core.stats().activeTransactions, 2, 'the INVITE server and client transactions linger in Accepted');

  sent.length = 0;
  core.receive(inv, uac);
  assert.equal(sent.length, 0, 'the retransmitted INVITE is absorbed: not forwarded, nothing re-sent');
  core.receive(ok, uas);
  assert.equal(sent.length, 1);
  assert.equal(status(sent[0]!), 200);
  assert.deepEqual(sent[0]!.to, uac, 'the retransmitted 2xx goes upstream (RFC 6026 §8.4, §7.1)');
  assert.equal(core.counters.retransmissionsIn, 2, 'the INVITE and the 200 that came again are counted as retransmissions');

  timers.advance(64 * 500 + 100);
  assert.equal(core.stats().activeTransactions, 0, 'Timers L and M ended both');
  sent.length = 0;
  core.receive(inv, uac);
  assert.equal(status(sent[0]!), 100, 'after Timer L the same INVITE is a new transaction again');
});

test('past its final response, a non-INVITE server transaction re-sends that response to each retransmission until Timer J (RFC 3261 §17.2.2)', () => {
  const { core, sent, uac, timers } = rig();
  const options = Buffer.from(
    ['OPTIONS sip:bob@127.0.0.1:5060 SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-opt1;rport', 'Max-Forwards: 70', 'From: <sip:alice@a.example>;tag=a1', 'To: <sip:bob@b.example>', 'Call-ID: opt-1', 'CSeq: 7 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'),
  );
  core.receive(options, uac);
  const fwd = sent.find((s) => s.text.startsWith('OPTIONS'))!;
  const uas: NextHop = { transport: 'udp', host: '127.0.0.1', port: 5090 };
  core.receive(answer(fwd.text, 200, 'OK'), uas);
  const first = sent.find((s) => status(s) === 200)!;
  assert.equal(core.stats().activeTransactions, 2, 'server (Timer J) and client (Timer K) linger');
  sent.length = 0;
  core.receive(options, uac);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.text, first.text, 'the same final response, byte for byte');
  core.receive(answer(fwd.text, 200, 'OK'), uas);
  assert.equal(sent.length, 1, 'a retransmitted response to the client side is absorbed');
  timers.advance(5_000 + 100);
  assert.equal(core.stats().activeTransactions, 1, 'Timer K (T4) ended the client side');
  timers.advance(64 * 500);
  assert.equal(core.stats().activeTransactions, 0, 'Timer J (64·T1) ended the server side');
});

/** A core whose deferred work runs only when the test says so (the worker uses setImmediate). */
function deferredRig(maxPending?: number) {
  let scheduled = 0;
  const r = rig(undefined, { defer: () => void scheduled++, maxPending });
  return { ...r, scheduled: () => scheduled };
}

const firstWord = (s: Sent) => (s.text.startsWith('SIP/2.0') ? String(status(s)) : s.text.split(' ')[0]!);

test('a burst of INVITEs gets every 100 Trying before any is routed; the forwarding follows in arrival order (RFC 3261 §16.2)', () => {
  const { core, sent, uac, scheduled } = deferredRig();
  const burst = [invite({ callId: 'burst-1' }), invite({ callId: 'burst-2' }), invite({ callId: 'burst-3' })];
  for (const b of burst) core.receive(b, uac);
  assert.deepEqual(sent.map(firstWord), ['100', '100', '100'], 'three 100 Trying as the INVITEs are read');
  assert.equal(scheduled(), 1, 'one drain asked for, not one per message');
  assert.equal(core.pendingCount, 3);
  core.drain();
  assert.deepEqual(sent.map(firstWord), ['100', '100', '100', 'INVITE', 'INVITE', 'INVITE']);
  assert.deepEqual(
    sent.slice(3).map((s) => /\r\nCall-ID: (\S+)/.exec(s.text)?.[1]),
    ['burst-1', 'burst-2', 'burst-3'],
    'forwarded in the order they arrived',
  );
});

test('a retransmission or a CANCEL read before the INVITE is routed waits its turn behind it (RFC 3261 §17.2.1, §9.2)', () => {
  const { core, sent, uac } = deferredRig();
  const inv = invite({ callId: 'early-cancel' });
  core.receive(inv, uac);
  core.receive(inv, uac);
  const cancel = Buffer.from(inv.toString('latin1').replace('INVITE sip:', 'CANCEL sip:').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL'), 'latin1');
  core.receive(cancel, uac);
  assert.deepEqual(sent.map(firstWord), ['100'], 'only the 100 Trying so far: the retransmission and the CANCEL are queued');
  core.drain();
  assert.deepEqual(sent.map(firstWord), ['100', 'INVITE', '100', '200'], 'INVITE routed once, the retransmission gets the last provisional again, the CANCEL its 200');
  assert.equal(core.counters.retransmissionsIn, 1);
});

test('past the bound of waiting messages, new requests get 503 at the door and it is counted (RFC 3261 §21.5.4)', () => {
  const { core, sent, uac, drops } = deferredRig(2);
  core.receive(invite({ callId: 'q1' }), uac);
  core.receive(invite({ callId: 'q2' }), uac);
  core.receive(invite({ callId: 'q3' }), uac);
  assert.deepEqual(sent.map(firstWord), ['100', '100', '503']);
  assert.equal(reason(sent[2]!), 'Service Unavailable - Overloaded');
  assert.match(sent[2]!.text, /\r\nRetry-After: 1\r\n/, 'the UAC and any proxy upstream are told when to come back (RFC 3261 §21.5.4)');
  assert.equal(drops.list().find((d) => d.where === 'sip.overload')?.count, 1);
  core.drain();
  assert.equal(sent.filter((s) => s.text.startsWith('INVITE')).length, 2, 'what was accepted is still forwarded');
});

test('while the oldest waiting message is older than T1/2, a new call gets 100 then 503 at the door; calls in progress and in-dialog requests still go through (RFC 6357 §4)', () => {
  const { core, sent, uac, drops, timers } = deferredRig();
  core.receive(invite({ callId: 'accepted-before' }), uac);
  timers.advance(251); // the INVITE above has now waited past T1/2 = 250 ms
  const refused = invite({ callId: 'refused' });
  core.receive(refused, uac);
  assert.deepEqual(sent.map((s) => `${firstWord(s)} ${s.text.match(/Call-ID: (\S+)/)?.[1]}`), ['100 accepted-before', '100 refused', '503 refused']);
  assert.equal(reason(sent[2]!), 'Service Unavailable - Overloaded');
  assert.match(sent[2]!.text, /\r\nRetry-After: 1\r\n/);
  assert.equal(drops.get('sip.overload', 'new-call-refused-503'), 1);
  // A re-INVITE in a dialog (To tag) is work in progress: queued, not refused.
  const reInvite = invite({ callId: 'in-dialog', uri: 'sip:bob@127.0.0.1:5090' }).toString('latin1').replace('To: <sip:bob@b.example>', 'To: <sip:bob@b.example>;tag=b1');
  core.receive(Buffer.from(reInvite, 'latin1'), uac);
  // The UAC's ACK for the 503 belongs to its transaction: absorbed, never forwarded.
  const to503 = /^To: .*$/m.exec(sent[2]!.text)![0];
  const ack = refused.toString('latin1').replace('INVITE sip:', 'ACK sip:').replace('CSeq: 1 INVITE', 'CSeq: 1 ACK').replace(/^To: .*$/m, to503);
  core.receive(Buffer.from(ack, 'latin1'), uac);
  core.drain();
  const forwarded = sent.filter((s) => !s.text.startsWith('SIP/2.0')).map((s) => `${firstWord(s)} ${s.text.match(/Call-ID: (\S+)/)?.[1]}`);
  assert.deepEqual(forwarded, ['INVITE accepted-before', 'INVITE in-dialog']);
});
