/**
 * The stateful proxy core against RFC 3261 §16, point by point, as a SIP
 * engineer would check it on the wire: what is sent, to whom, with which
 * status, reason phrase and header fields — driven with recording transports,
 * a manual clock and a manual timer host (pure logic, no sockets).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../engine/clock';
import { EventStream, type NoteEvent } from '../../engine/events';
import { DropCounters } from '../../engine/metrics/drops';
import { ProxyCore } from '../../engine/sip/proxy/core';
import { createManualTimerHost, type TimerValues } from '../../engine/sip/transaction';
import type { NextHop } from '../../engine/net/host-port';
import type { SendFailure, SipTransport } from '../../engine/sip/transport/types';

// ------------------------------------------------------------------ rig

interface Sent {
  to: NextHop;
  text: string;
  /** Monotonic ms on the manual clock when it was handed to the transport. */
  at: number;
}

const UAC: NextHop = { transport: 'udp', host: '10.0.0.7', port: 40000 };
const UAS: NextHop = { transport: 'udp', host: '127.0.0.1', port: 5090 };
const TARGETS: NextHop[] = [UAS];

interface RigOptions {
  targets?: NextHop[] | null;
  timers?: TimerValues;
  timerC?: number;
  /** TCP sends fail (ECONNREFUSED) — except to the UAC, whose connection is up. */
  failTcp?: boolean;
}

function rig(o: RigOptions = {}) {
  const clock = createManualClock();
  const timers = createManualTimerHost(clock);
  const sent: Sent[] = [];
  const transport = (name: 'udp' | 'tcp'): SipTransport => ({
    name,
    send(data: Buffer, peer: NextHop, onFailure?: SendFailure) {
      sent.push({ to: peer, text: data.toString('latin1'), at: clock.monoMs() });
      if (name === 'tcp' && o.failTcp && peer.host !== UAC.host) queueMicrotask(() => onFailure?.(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })));
    },
    close: () => Promise.resolve(),
  });
  const events = new EventStream();
  const notes: NoteEvent[] = [];
  events.on((ev) => {
    if (ev.kind === 'note') notes.push(ev);
  });
  const drops = new DropCounters();
  const core = new ProxyCore({
    self: { host: '127.0.0.1', port: 5060 },
    targets: o.targets === undefined ? TARGETS : o.targets,
    timers: o.timers ?? { T1: 500, T2: 4000, T4: 5000 },
    timerC: o.timerC,
    timerHost: timers,
    clock,
    events,
    drops,
  });
  core.attach(transport('udp'), transport('tcp'));
  return { core, sent, timers, clock, drops, notes, tick: () => new Promise((r) => setTimeout(r, 0)) };
}

let n = 0;
/** A request from the UAC (or anyone): one Via with rport, Max-Forwards 70 unless told. */
function request(method: string, o: { uri?: string; maxForwards?: number | null; callId?: string; via?: string; toTag?: string; cseq?: number; extra?: string[]; body?: string } = {}): Buffer {
  n++;
  const body = o.body ?? '';
  const lines = [
    `${method} ${o.uri ?? 'sip:bob@127.0.0.1:5090'} SIP/2.0`,
    `Via: ${o.via ?? `SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-r${n};rport`}`,
    ...(o.maxForwards === null ? [] : [`Max-Forwards: ${o.maxForwards ?? 70}`]),
    'From: <sip:alice@a.example>;tag=a1',
    `To: <sip:bob@b.example>${o.toTag ? `;tag=${o.toTag}` : ''}`,
    `Call-ID: ${o.callId ?? `c16-${n}`}`,
    `CSeq: ${o.cseq ?? 1} ${method}`,
    'Contact: <sip:alice@192.0.2.1:5060>',
    ...(o.extra ?? []),
    `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
    '',
    body,
  ];
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/** The CANCEL a UAC sends for `inv` (same Via, Call-ID, From, To, CSeq number, §9.1). */
function cancelOf(inv: Buffer): Buffer {
  return Buffer.from(inv.toString('latin1').replace(/^INVITE /, 'CANCEL ').replace(/^CSeq: (\d+) INVITE/m, 'CSeq: $1 CANCEL'), 'latin1');
}

/** A UAS's response to a request we forwarded: every Via, From, To (with tag uas1 unless it had one), Call-ID and CSeq copied (§8.2.6.2). */
function answer(forwarded: string, code: number, why: string, toTag = 'uas1'): Buffer {
  const lines = forwarded.split('\r\n');
  const pick = (re: RegExp) => lines.filter((l) => re.test(l));
  const to = pick(/^To:/i)[0]!;
  return Buffer.from(
    [`SIP/2.0 ${code} ${why}`, ...pick(/^Via:/i), ...pick(/^From:/i), to.includes(';tag=') ? to : `${to};tag=${toTag}`, ...pick(/^Call-ID:/i), ...pick(/^CSeq:/i), 'Content-Length: 0', '', ''].join('\r\n'),
  );
}

const status = (s: Sent) => Number(/^SIP\/2\.0 (\d{3})/.exec(s.text)?.[1] ?? 0);
const reason = (s: Sent) => /^SIP\/2\.0 \d{3} ([^\r]*)/.exec(s.text)?.[1] ?? '';
const firstWord = (s: Sent) => (s.text.startsWith('SIP/2.0') ? String(status(s)) : s.text.split(' ')[0]!);
const header = (s: Sent, name: string) => new RegExp(`\\r\\n${name}: ([^\\r]*)`, 'i').exec(s.text)?.[1];
const toTag = (s: Sent) => /\r\nTo: [^\r]*;tag=([^;\r]+)/.exec(s.text)?.[1];
const cseqMethod = (s: Sent) => /\r\nCSeq: \d+ (\w+)/.exec(s.text)?.[1];
const isRequest = (s: Sent) => !s.text.startsWith('SIP/2.0');
const sameHop = (a: NextHop, b: NextHop) => a.host === b.host && a.port === b.port && a.transport === b.transport;

// ------------------------------------------------ 1. §16.3 verdicts

const routings: { name: string; targets: NextHop[] | null }[] = [
  { name: 'with a target configured', targets: TARGETS },
  { name: 'without targets (routing by Request-URI)', targets: null },
];

for (const { name, targets } of routings) {
  test(`§16.3 step 2: OPTIONS foo:bar gets 416 naming the scheme, and nothing goes towards foo:bar — ${name}`, () => {
    const { core, sent } = rig({ targets });
    core.receive(request('OPTIONS', { uri: 'foo:bar' }), UAC);
    assert.deepEqual(sent.map(firstWord), ['416'], 'one answer, no forwarding, no ACK');
    assert.match(reason(sent[0]!), /^Unsupported URI Scheme\b.*\bfoo\b/);
    assert.deepEqual(sent[0]!.to, UAC);
    assert.ok(toTag(sent[0]!), 'a generated final response carries our To tag (§8.2.6.2)');
  });

  test(`§16.3 step 2: INVITE foo:bar gets 100 then 416, and the UAC's ACK for it is absorbed, not sent anywhere — ${name}`, () => {
    const { core, sent } = rig({ targets });
    const inv = request('INVITE', { uri: 'foo:bar' });
    core.receive(inv, UAC);
    assert.deepEqual(sent.map(firstWord), ['100', '416']);
    assert.match(reason(sent[1]!), /foo/);
    const ack = inv.toString('latin1').replace(/^INVITE /, 'ACK ').replace('CSeq: 1 INVITE', 'CSeq: 1 ACK').replace(/^To: .*$/m, `To: <sip:bob@b.example>;tag=${toTag(sent[1]!)}`);
    core.receive(Buffer.from(ack, 'latin1'), UAC);
    assert.deepEqual(sent.map(firstWord), ['100', '416'], 'the ACK for a non-2xx is hop-by-hop: absorbed (§17.2.1)');
    assert.ok(!sent.some((s) => s.text.startsWith('ACK')));
  });

  test(`§16.3 step 2: a sips: Request-URI gets 416 saying TLS is not offered — ${name}`, () => {
    const { core, sent } = rig({ targets });
    core.receive(request('INVITE', { uri: 'sips:bob@127.0.0.1:5091' }), UAC);
    assert.deepEqual(sent.map(firstWord), ['100', '416']);
    assert.match(reason(sent[1]!), /^Unsupported URI Scheme\b.*\bsips\b/);
  });

  test(`§16.3 step 3: INVITE with Max-Forwards 0 gets 100 then 483 Too Many Hops, not forwarded — ${name}`, () => {
    const { core, sent } = rig({ targets });
    core.receive(request('INVITE', { maxForwards: 0 }), UAC);
    assert.deepEqual(sent.map(firstWord), ['100', '483']);
    assert.equal(reason(sent[1]!), 'Too Many Hops');
    assert.deepEqual(sent[1]!.to, UAC);
  });

  test(`§16.3 step 3: OPTIONS with Max-Forwards 0 is answered 200 with Allow by the proxy, not forwarded — ${name}`, () => {
    const { core, sent } = rig({ targets });
    core.receive(request('OPTIONS', { maxForwards: 0 }), UAC);
    assert.deepEqual(sent.map(firstWord), ['200']);
    assert.equal(reason(sent[0]!), 'OK');
    assert.deepEqual(sent[0]!.to, UAC);
    const allow = header(sent[0]!, 'Allow') ?? '';
    for (const m of ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS']) assert.match(allow, new RegExp(`\\b${m}\\b`), `Allow lists ${m}`);
  });

  test(`§16.3 step 5: Proxy-Require: foo gets 420 Bad Extension with Unsupported: foo, not forwarded — ${name}`, () => {
    const { core, sent } = rig({ targets });
    core.receive(request('INVITE', { extra: ['Proxy-Require: foo'] }), UAC);
    assert.deepEqual(sent.map(firstWord), ['100', '420']);
    assert.equal(reason(sent[1]!), 'Bad Extension');
    assert.equal(header(sent[1]!, 'Unsupported'), 'foo');
  });

  test(`§16.3 step 1: a Request-URI the proxy cannot read gets 400 naming the Request-URI — ${name}`, () => {
    const { core, sent } = rig({ targets });
    core.receive(request('INVITE', { uri: 'sip:@127.0.0.1:5090' }), UAC);
    core.receive(request('OPTIONS', { uri: '1x:y' }), UAC);
    assert.deepEqual(sent.map(firstWord), ['100', '400', '400']);
    for (const s of [sent[1]!, sent[2]!]) assert.match(reason(s), /^Bad Request - Malformed .*Request-URI$/);
    assert.ok(!sent.some(isRequest), 'nothing forwarded');
  });
}

test('§16.3 step 2: a tel: Request-URI goes to the configured target (a gateway)', () => {
  const { core, sent } = rig({ targets: TARGETS });
  core.receive(request('INVITE', { uri: 'tel:+15551234567' }), UAC);
  assert.deepEqual(sent.map(firstWord), ['100', 'INVITE']);
  assert.deepEqual(sent[1]!.to, UAS);
  assert.match(sent[1]!.text, /^INVITE tel:\+15551234567 SIP\/2\.0\r\n/, 'the Request-URI is not rewritten');
});

test('§16.3 step 2: a tel: Request-URI without targets gets 416: it names no host to go to', () => {
  const { core, sent } = rig({ targets: null });
  core.receive(request('INVITE', { uri: 'tel:+15551234567' }), UAC);
  assert.deepEqual(sent.map(firstWord), ['100', '416']);
  assert.match(reason(sent[1]!), /^Unsupported URI Scheme\b.*\btel\b/);
});

// ---------------------------------------- 3. §16.7, §18.1.2 reflection

test('§18.1.2: a 200 OK whose top Via is not ours is sent nowhere (not to the second Via), counted and noted', () => {
  const { core, sent, drops, notes } = rig();
  const reflected = Buffer.from(
    [
      'SIP/2.0 200 OK',
      'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-notours',
      'Via: SIP/2.0/UDP 198.51.100.66:5060;branch=z9hG4bK-victim;received=198.51.100.66;rport=5060',
      'From: <sip:alice@a.example>;tag=a1',
      'To: <sip:bob@b.example>;tag=b1',
      'Call-ID: reflect-1',
      'CSeq: 1 INVITE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
  core.receive(reflected, { transport: 'udp', host: '203.0.113.5', port: 5060 });
  assert.equal(sent.length, 0, 'not to the victim in the second Via, not anywhere');
  assert.equal(drops.get('sip.response', 'top-via-not-ours'), 1);
  assert.ok(notes.some((e) => e.callId === 'reflect-1' && /not ours/.test(e.text)));
  assert.deepEqual(core.stats().finals, { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, '6xx': 0 });
});

test('§16.7 / RFC 6026: a late 2xx with our Via on top, its transaction gone, still goes statelessly to the second Via', () => {
  const { core, sent, timers, drops } = rig();
  core.receive(request('INVITE', { callId: 'late-2xx' }), UAC);
  const fwd = sent.find((s) => s.text.startsWith('INVITE'))!;
  const ok = answer(fwd.text, 200, 'OK');
  core.receive(ok, UAS);
  timers.advance(64 * 500 + 100); // Timers L and M: both transactions gone
  assert.equal(core.stats().activeTransactions, 0);
  sent.length = 0;
  core.receive(ok, UAS);
  assert.deepEqual(sent.map(firstWord), ['200']);
  assert.deepEqual(sent[0]!.to, UAC, 'to received/rport of the second Via');
  assert.doesNotMatch(sent[0]!.text, /127\.0\.0\.1:5060;branch=/, 'our Via removed');
  assert.equal(drops.get('sip.response', 'top-via-not-ours'), 0);
});

// ------------------------------------------- 4. §9.2 CANCEL's To tag

test("§9.2: after a 180 with To tag uas1 was relayed, the 200 to the UAC's CANCEL carries tag uas1", () => {
  const { core, sent } = rig();
  const inv = request('INVITE', { callId: 'cancel-tag-1' });
  core.receive(inv, UAC);
  const fwd = sent.find((s) => s.text.startsWith('INVITE'))!;
  core.receive(answer(fwd.text, 180, 'Ringing'), UAS);
  assert.equal(toTag(sent.find((s) => status(s) === 180)!), 'uas1');
  core.receive(cancelOf(inv), UAC);
  const ok = sent.find((s) => status(s) === 200 && cseqMethod(s) === 'CANCEL')!;
  assert.ok(ok, '200 to the CANCEL');
  assert.deepEqual(ok.to, UAC);
  assert.equal(toTag(ok), 'uas1');
  const cancel = sent.find((s) => s.text.startsWith('CANCEL'))!;
  assert.deepEqual(cancel.to, UAS, 'the CANCEL goes on downstream (§16.10)');
});

test("§9.2: with nothing relayed yet, the 487 after the branch times out has the 200-to-CANCEL's To tag", () => {
  const { core, sent, timers } = rig();
  const inv = request('INVITE', { callId: 'cancel-tag-2' });
  core.receive(inv, UAC);
  core.receive(cancelOf(inv), UAC);
  const ok = sent.find((s) => status(s) === 200 && cseqMethod(s) === 'CANCEL')!;
  const tag = toTag(ok);
  assert.ok(tag, 'the 200 to CANCEL has a To tag');
  assert.ok(!sent.some((s) => s.text.startsWith('CANCEL')), 'no CANCEL downstream before a provisional (§9.1)');
  timers.advance(64 * 500 + 1); // Timer B
  const terminated = sent.find((s) => status(s) === 487)!;
  assert.ok(terminated, '487 Request Terminated upstream');
  assert.equal(cseqMethod(terminated), 'INVITE');
  assert.equal(toTag(terminated), tag);
});

// ---------------------------------------------------- 5. Timer C

test('§16.8: Timer C fires after a 180 — CANCEL downstream, a note, and the 487 relayed upstream', () => {
  const { core, sent, timers, notes } = rig({ timerC: 10_000 });
  core.receive(request('INVITE', { callId: 'timer-c-1' }), UAC);
  const fwd = sent.find((s) => s.text.startsWith('INVITE'))!;
  core.receive(answer(fwd.text, 180, 'Ringing'), UAS);
  timers.advance(9_999);
  assert.ok(!sent.some((s) => s.text.startsWith('CANCEL')), 'not before Timer C');
  timers.advance(2);
  const cancel = sent.find((s) => s.text.startsWith('CANCEL'))!;
  assert.ok(cancel, 'CANCEL sent');
  assert.deepEqual(cancel.to, UAS);
  assert.equal(/^Via: [^\r]*branch=([^;\r]+)/m.exec(cancel.text)?.[1], /^Via: [^\r]*branch=([^;\r]+)/m.exec(fwd.text)?.[1], "the CANCEL has the INVITE's branch (§9.1)");
  assert.ok(notes.some((e) => e.callId === 'timer-c-1' && /Timer C fired/.test(e.text)));
  assert.ok(!sent.some((s) => status(s) >= 200 && cseqMethod(s) === 'INVITE'), 'nothing final upstream yet: the 487 is awaited');
  core.receive(answer(cancel.text, 200, 'OK'), UAS);
  core.receive(answer(fwd.text, 487, 'Request Terminated'), UAS);
  const up = sent.filter((s) => status(s) === 487);
  assert.equal(up.length, 1);
  assert.deepEqual(up[0]!.to, UAC);
  assert.equal(toTag(up[0]!), 'uas1');
  assert.ok(sent.some((s) => s.text.startsWith('ACK') && sameHop(s.to, UAS)), 'the 487 is ACKed downstream (§17.1.1.3)');
});

test('§16.7 step 2: a 183 before expiry pushes Timer C back by a full Timer C', () => {
  const { core, sent, timers } = rig({ timerC: 10_000 });
  core.receive(request('INVITE', { callId: 'timer-c-2' }), UAC);
  const fwd = sent.find((s) => s.text.startsWith('INVITE'))!;
  core.receive(answer(fwd.text, 180, 'Ringing'), UAS);
  timers.advance(6_000);
  core.receive(answer(fwd.text, 183, 'Session Progress'), UAS);
  timers.advance(9_999); // 15,999 ms after the 180, 9,999 after the 183
  assert.ok(!sent.some((s) => s.text.startsWith('CANCEL')), 'reset by the 183');
  timers.advance(2);
  assert.ok(sent.some((s) => s.text.startsWith('CANCEL')));
});

test("§16.8: when downstream never answers Timer C's CANCEL, the UAC gets 408 64·T1 later", () => {
  const { core, sent, timers } = rig({ timerC: 10_000 });
  core.receive(request('INVITE', { callId: 'timer-c-3' }), UAC);
  const fwd = sent.find((s) => s.text.startsWith('INVITE'))!;
  core.receive(answer(fwd.text, 180, 'Ringing'), UAS);
  timers.advance(10_001);
  const cancelAt = sent.find((s) => s.text.startsWith('CANCEL'))!.at;
  timers.advance(64 * 500 - 2);
  assert.ok(!sent.some((s) => status(s) === 408));
  timers.advance(10);
  const timeout = sent.filter((s) => status(s) === 408);
  assert.equal(timeout.length, 1);
  assert.deepEqual(timeout[0]!.to, UAC);
  assert.match(reason(timeout[0]!), /^Request Timeout\b.*Timer C/);
  assert.equal(timeout[0]!.at - cancelAt, 64 * 500);
});

test('§16.8: Timer C with no provisional at all answers 408 upstream, without a CANCEL', () => {
  // T1 = 1 s: Timer B (64 s) comes after Timer C (10 s).
  const { core, sent, timers, notes } = rig({ timerC: 10_000, timers: { T1: 1000, T2: 4000, T4: 5000 } });
  const inv = request('INVITE', { callId: 'timer-c-4' });
  core.receive(inv, UAC);
  timers.advance(10_001);
  const timeout = sent.filter((s) => status(s) === 408);
  assert.equal(timeout.length, 1);
  assert.equal(timeout[0]!.at, 10_000);
  assert.match(reason(timeout[0]!), /Timer C/);
  assert.ok(!sent.some((s) => s.text.startsWith('CANCEL')), 'no CANCEL without a provisional (§9.1)');
  assert.ok(notes.some((e) => e.callId === 'timer-c-4' && /Timer C fired/.test(e.text)));
  // The UAC ACKs the 408 (absorbed, hop by hop); then the branch is over: no INVITE retransmission, no second final response.
  const ack = inv.toString('latin1').replace(/^INVITE /, 'ACK ').replace('CSeq: 1 INVITE', 'CSeq: 1 ACK').replace(/^To: .*$/m, `To: <sip:bob@b.example>;tag=${toTag(timeout[0]!)}`);
  core.receive(Buffer.from(ack, 'latin1'), UAC);
  const before = sent.length;
  timers.advance(60_000);
  assert.deepEqual(sent.slice(before).map(firstWord), [], 'Timer A stopped with the branch; Timer B adds nothing');
});

// ---------------------------------------------------- 6. §18.1.1 size

/** An INVITE whose body pads it to exactly `size` bytes. */
function bigInvite(size: number, callId: string, via?: string): Buffer {
  const make = (k: number) => request('INVITE', { callId, via, extra: ['Content-Type: application/sdp'], body: 'v=0\r\na=' + 'x'.repeat(k) + '\r\n' });
  let k = size;
  for (let i = 0; i < 3; i++) k += size - make(k).length;
  const msg = make(k);
  assert.equal(msg.length, size);
  return msg;
}

test('§18.1.1: a request over 1,300 bytes to a target configured without a transport goes over TCP, with a TCP Via', () => {
  const { core, sent } = rig();
  const inv = bigInvite(1_400, 'big-1');
  assert.ok(inv.length > 1_300);
  core.receive(inv, UAC);
  assert.deepEqual(sent.map(firstWord), ['100', 'INVITE']);
  assert.deepEqual(sent[1]!.to, { host: UAS.host, port: UAS.port, transport: 'tcp' });
  assert.match(sent[1]!.text, /^Via: SIP\/2\.0\/TCP 127\.0\.0\.1:5060;branch=/m);
});

test('§18.1.1: when TCP fails, the large request goes over UDP instead, with a UDP Via, and a note says so', async () => {
  const { core, sent, notes, tick } = rig({ failTcp: true });
  core.receive(bigInvite(1_400, 'big-2'), UAC);
  await tick();
  const invites = sent.filter((s) => s.text.startsWith('INVITE'));
  assert.equal(invites.length, 2, 'tried over TCP, then again over UDP');
  assert.equal(invites[0]!.to.transport, 'tcp');
  assert.deepEqual(invites[1]!.to, UAS);
  assert.match(invites[1]!.text, /^Via: SIP\/2\.0\/UDP 127\.0\.0\.1:5060;branch=/m);
  assert.doesNotMatch(invites[1]!.text, /^Via: SIP\/2\.0\/TCP 127\.0\.0\.1:5060/m, 'not two of our Vias');
  assert.ok(!sent.some((s) => status(s) === 503), 'no 503 upstream');
  assert.ok(notes.some((e) => e.callId === 'big-2' && /TCP/.test(e.text) && /UDP instead/.test(e.text)));
  sent.length = 0;
  core.receive(bigInvite(1_400, 'big-3'), UAC);
  await tick();
  assert.deepEqual(
    sent.filter((s) => s.text.startsWith('INVITE')).map((s) => s.to),
    [UAS],
    'the next large request to that hop goes straight over UDP: the refusal is remembered',
  );
});

test('§18.1.1: a request too large for one UDP datagram, when TCP fails, gets 513 Message Too Large, not 503', async () => {
  const { core, sent, tick } = rig({ failTcp: true });
  const fromTcp: NextHop = { transport: 'tcp', host: UAC.host, port: 40001 };
  const inv = bigInvite(65_450, 'huge-1', 'SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK-huge1');
  assert.ok(inv.length <= 65_536, 'still within what the parser accepts');
  core.receive(inv, fromTcp);
  await tick();
  const tried = sent.filter((s) => s.text.startsWith('INVITE'));
  assert.equal(tried.length, 1, 'tried over TCP only, never as an oversized UDP datagram');
  assert.ok(tried[0]!.text.length > 65_507);
  const answers = sent.filter((s) => !isRequest(s));
  assert.deepEqual(answers.map(status), [100, 513]);
  assert.match(reason(answers[1]!), /^Message Too Large\b/);
  assert.deepEqual(answers[1]!.to, fromTcp, 'over the connection the request came on');
});

// ----------------------------------------------------- 7. counters

test('counters: answered counts generated responses by status (not 100), finals counts final responses upstream by class, once per transaction', () => {
  const { core, sent, timers } = rig();
  // Generated 483.
  const tooMany = request('INVITE', { maxForwards: 0, callId: 'count-483' });
  core.receive(tooMany, UAC);
  core.receive(tooMany, UAC); // a retransmission: the 483 goes again, not counted again
  assert.equal(sent.filter((s) => status(s) === 483).length, 2);
  // Relayed 200, and its retransmission.
  core.receive(request('INVITE', { callId: 'count-200' }), UAC);
  const fwd = sent.find((s) => s.text.startsWith('INVITE') && s.text.includes('count-200'))!;
  const ok = answer(fwd.text, 200, 'OK');
  core.receive(ok, UAS);
  core.receive(ok, UAS);
  assert.equal(sent.filter((s) => status(s) === 200).length, 2, 'the retransmitted 200 goes upstream too');
  // Generated 408 (Timer B).
  core.receive(request('INVITE', { callId: 'count-408' }), UAC);
  timers.advance(64 * 500 + 1);
  assert.ok(sent.some((s) => status(s) === 408));
  const stats = core.stats();
  assert.deepEqual(stats.answered, { '408': 1, '483': 1 });
  assert.deepEqual(stats.finals, { '2xx': 1, '3xx': 0, '4xx': 2, '5xx': 0, '6xx': 0 });
});

// ------------------------------------------------- 8. live settings

test('configure() mid-call: the INVITE in flight keeps its Timer A and target, the next one uses the new T1 and target', () => {
  const { core, sent, timers } = rig();
  core.receive(request('INVITE', { callId: 'live-old' }), UAC);
  timers.advance(10);
  const newTarget: NextHop = { transport: 'udp', host: '127.0.0.1', port: 5092 };
  core.configure({ targets: [newTarget], timers: { T1: 100, T2: 4000, T4: 5000 }, timerC: 60_000 });
  core.receive(request('INVITE', { callId: 'live-new' }), UAC);
  timers.advance(4_000);
  const out = (callId: string) => sent.filter((s) => s.text.startsWith('INVITE') && s.text.includes(`Call-ID: ${callId}\r\n`));
  const old = out('live-old');
  const fresh = out('live-new');
  assert.deepEqual(old.slice(0, 4).map((s) => s.at), [0, 500, 1500, 3500], 'Timer A at 500, 1000, 2000 ms intervals');
  assert.deepEqual(fresh.slice(0, 4).map((s) => s.at - 10), [0, 100, 300, 700], 'Timer A at 100, 200, 400 ms intervals');
  assert.ok(old.every((s) => sameHop(s.to, UAS)), 'the call in flight stays on its target');
  assert.ok(fresh.every((s) => sameHop(s.to, newTarget)), 'the new call goes to the new target');
});

test('configure() mid-call: a new Timer C applies to the next call', () => {
  const { core, sent, timers } = rig({ timerC: 60_000 });
  core.configure({ targets: TARGETS, timers: { T1: 500, T2: 4000, T4: 5000 }, timerC: 5_000 });
  core.receive(request('INVITE', { callId: 'live-c' }), UAC);
  const fwd = sent.find((s) => s.text.startsWith('INVITE'))!;
  core.receive(answer(fwd.text, 180, 'Ringing'), UAS);
  timers.advance(5_001);
  assert.ok(sent.some((s) => s.text.startsWith('CANCEL')));
});

test('configure() mid-call: the INVITE in flight keeps its Timer C, on a reset too, and its 64·T1 wait for the 487', () => {
  const { core, sent, timers } = rig({ timerC: 10_000 });
  core.receive(request('INVITE', { callId: 'live-c-old' }), UAC);
  const fwd = sent.find((s) => s.text.startsWith('INVITE'))!;
  core.receive(answer(fwd.text, 180, 'Ringing'), UAS);
  timers.advance(1_000);
  core.configure({ targets: TARGETS, timers: { T1: 100, T2: 4000, T4: 5000 }, timerC: 60_000 });
  core.receive(answer(fwd.text, 183, 'Session Progress'), UAS); // resets Timer C: by the call's own 10 s
  timers.advance(10_001);
  const cancel = sent.find((s) => s.text.startsWith('CANCEL'));
  assert.ok(cancel, 'Timer C of the call in flight is still 10 s');
  assert.equal(cancel.at, 11_000);
  timers.advance(64 * 100 + 10);
  assert.ok(!sent.some((s) => status(s) === 408), "not 64 × the new T1: the call's T1 is 500 ms");
  timers.advance(64 * 500 - 64 * 100);
  assert.equal(sent.filter((s) => status(s) === 408).length, 1, '408 64 × 500 ms after the CANCEL');
});

// ------------------------------------------ 9. nothing dropped silently

test('an ACK with Max-Forwards 0 is neither forwarded nor answered: a drop counted, a note on its call', () => {
  const { core, sent, drops, notes } = rig();
  core.receive(request('ACK', { maxForwards: 0, toTag: 'b1', callId: 'ack-mf0' }), UAC);
  assert.equal(sent.length, 0);
  const counted = drops.list().filter((d) => d.where === 'sip.proxy' && d.reason.startsWith('ack-')).reduce((a, d) => a + d.count, 0);
  assert.equal(counted, 1);
  assert.ok(notes.some((e) => e.callId === 'ack-mf0' && /ACK/.test(e.text) && /Too Many Hops/.test(e.text)));
});

test('an ACK whose Request-URI cannot be routed is neither forwarded nor answered: a drop counted, a note on its call', () => {
  const { core, sent, drops, notes } = rig({ targets: null });
  core.receive(request('ACK', { uri: 'sip:bob@b.example', toTag: 'b1', callId: 'ack-unroutable' }), UAC);
  core.receive(request('ACK', { uri: 'foo:bar', toTag: 'b1', callId: 'ack-foo' }), UAC);
  assert.equal(sent.length, 0);
  const counted = drops.list().filter((d) => d.where === 'sip.proxy' && d.reason.startsWith('ack-')).reduce((a, d) => a + d.count, 0);
  assert.equal(counted, 2);
  assert.ok(notes.some((e) => e.callId === 'ack-unroutable' && /ACK dropped/.test(e.text)));
  assert.ok(notes.some((e) => e.callId === 'ack-foo' && /ACK dropped/.test(e.text)));
});

test('a forwarded ACK for a 2xx (end to end) is not counted as a drop', () => {
  const { core, sent, drops, notes } = rig({ targets: null });
  core.receive(request('ACK', { uri: 'sip:bob@127.0.0.1:6000', toTag: 'b1', callId: 'ack-ok' }), UAC);
  assert.deepEqual(sent.map(firstWord), ['ACK']);
  assert.equal(sent[0]!.to.port, 6000);
  assert.equal(drops.list().filter((d) => d.where === 'sip.proxy').length, 0);
  assert.equal(notes.length, 0);
});
