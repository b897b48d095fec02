/**
 * The wire tap end to end on a recorded stream: a stand-in for dumpcap
 * (test/fixtures/wire/fake-dumpcap.sh) writes a pcapng the test builds, so
 * the times on the wire are known exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMonotonicClock } from '../../engine/clock';
import { EventStream, type SipCaptureEvent } from '../../engine/events';
import { DropCounters } from '../../engine/metrics/drops';
import { WireTap } from '../../engine/wire/tap';
import { ipv4Tcp, ipv4Udp, pcapng } from '../helpers/pcapng';

const FAKE = fileURLToPath(new URL('../fixtures/wire/fake-dumpcap.sh', import.meta.url));
const UAC: [string, number] = ['127.0.0.1', 5091];
const US: [string, number] = ['127.0.0.1', 5060];

const invite = (branch: string) => Buffer.from(`INVITE sip:bob@127.0.0.1:5090 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5091;branch=${branch}\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCall-ID: ${branch}-call\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`);
const trying = (branch: string) => Buffer.from(`SIP/2.0 100 Trying\r\nVia: SIP/2.0/UDP 127.0.0.1:5091;branch=${branch}\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCall-ID: ${branch}-call\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`);

test('the wire 100 Trying runs from the first copy of an INVITE, and INVITEs the proxy never read are kept as wire-only messages', { timeout: 20_000 }, async () => {
  const T = 1_700_000_000_000_000;
  const file = join(mkdtempSync(join(tmpdir(), 'callpath-wire-')), 'stream.pcapng');
  writeFileSync(
    file,
    pcapng([
      { tsUs: T, frame: ipv4Udp(UAC, US, invite('z9hG4bK-a')) },
      { tsUs: T + 500_000, frame: ipv4Udp(UAC, US, invite('z9hG4bK-a')) }, // the first copy was not answered in time: retransmitted
      { tsUs: T + 600_000, frame: ipv4Udp(US, UAC, trying('z9hG4bK-a')) },
      { tsUs: T + 1_000_000, frame: ipv4Udp(UAC, US, invite('z9hG4bK-b')) },
      { tsUs: T + 1_000_200, frame: ipv4Udp(US, UAC, trying('z9hG4bK-b')) },
      { tsUs: T + 1_500_000, frame: ipv4Udp(UAC, US, invite('z9hG4bK-b')) }, // a retransmission after the 100: no new sample
      { tsUs: T + 1_500_050, frame: ipv4Udp(US, UAC, trying('z9hG4bK-b')) },
      { tsUs: T + 1_600_000, frame: ipv4Udp(UAC, US, Buffer.from('\r\n\r\n')) }, // a keep-alive: not SIP, not a message
    ]),
  );
  process.env.CALLPATH_FAKE_PCAPNG = file;
  const events = new EventStream();
  const seen: SipCaptureEvent[] = [];
  events.on((e) => e.kind === 'sip' && seen.push(e));
  const drops = new DropCounters();
  const tap = new WireTap({ clock: createMonotonicClock(), events, drops }, () => ({ iface: 'lo' }), { engineWaitUs: 100_000, wireWaitUs: 100_000, maxPending: 1000 }, FAKE);
  let stage: unknown = null;
  await tap.start({ host: '127.0.0.1', port: 5060 }, (s) => (stage = s));
  try {
    assert.equal(typeof stage, 'function', 'the engine\'s SIP capture now goes through the tap');
    for (let i = 0; i < 100 && seen.length < 7; i++) await new Promise((r) => setTimeout(r, 20));
    const s = tap.stats();
    assert.equal(s.on, true);
    assert.equal(s.packets, 8);
    assert.equal(s.trying100.count, 2, 'one sample per INVITE transaction');
    assert.equal(s.trying100.max, 600_000, 'from the first copy of INVITE a, retransmission wait included');
    assert.ok(s.trying100.p50 <= 203, `INVITE b: 200 µs (bucket ${s.trying100.p50})`);

    // Nothing read them: every SIP message is kept from the wire alone, the second copy of each INVITE a retransmission.
    assert.deepEqual(seen.map((e) => [e.label, e.direction, e.seen, e.retransmission, e.engineTsUs]), [
      ['INVITE', 'in', 'wire', false, undefined],
      ['INVITE', 'in', 'wire', true, undefined],
      ['100 Trying', 'out', 'wire', false, undefined],
      ['INVITE', 'in', 'wire', false, undefined],
      ['100 Trying', 'out', 'wire', false, undefined],
      ['INVITE', 'in', 'wire', true, undefined],
      ['100 Trying', 'out', 'wire', true, undefined],
    ]);
    // Wire times keep their spacing on the engine clock (shifted by the measured offset only).
    assert.equal(seen[1]!.tsUs - seen[0]!.tsUs, 500_000);
    assert.deepEqual([s.wireOnly.in, s.wireOnly.out], [4, 3]);
  } finally {
    await tap.stop((s) => (stage = s));
  }
  assert.equal(stage, null, 'stopped: capture goes straight to the event stream again');
  assert.equal(tap.stats().on, false);
});

test('the tap gives way while the proxy refuses calls for overload: dumpcap paused, messages go on at once with engine time', { timeout: 20_000 }, async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'callpath-wire-')), 'stream.pcapng');
  writeFileSync(file, pcapng([]));
  process.env.CALLPATH_FAKE_PCAPNG = file;
  const events = new EventStream();
  const seen: SipCaptureEvent[] = [];
  events.on((e) => e.kind === 'sip' && seen.push(e));
  const drops = new DropCounters();
  const tap = new WireTap({ clock: createMonotonicClock(), events, drops }, () => ({ iface: 'lo' }), { engineWaitUs: 5_000_000, wireWaitUs: 5_000_000, maxPending: 1000 }, FAKE);
  let stage: ((ev: SipCaptureEvent) => void) | null = null;
  await tap.start({ host: '127.0.0.1', port: 5060 }, (s) => (stage = s));
  try {
    const ev = (branch: string): SipCaptureEvent => {
      const raw = invite(branch);
      return { kind: 'sip', tsUs: 1, callId: `${branch}-call`, direction: 'in', transport: 'udp', src: '127.0.0.1:5091', dst: '127.0.0.1:5060', cseqSeq: 1, cseqMethod: 'INVITE', method: 'INVITE', status: null, label: 'INVITE', branch, size: raw.length, raw, retransmission: false };
    };
    stage!(ev('z9hG4bK-before'));
    assert.equal(seen.length, 0, 'before: it waits for its wire copy');
    drops.count('sip.overload', 'new-call-refused-503');
    for (let i = 0; i < 50 && !tap.stats().paused; i++) await new Promise((r) => setTimeout(r, 20));
    const s = tap.stats();
    assert.deepEqual([s.paused, s.pauses], [true, 1]);
    stage!(ev('z9hG4bK-during'));
    assert.deepEqual(seen.map((e) => [e.branch, e.seen]), [['z9hG4bK-during', undefined]], 'during: on at once, engine time only');
    assert.equal(drops.list().find((d) => d.where === 'wire.tap' && d.reason === 'paused-for-overload')?.count, 1);
  } finally {
    await tap.stop((s) => (stage = s));
  }
});

test('over TCP: messages on a connection to our port and on one we opened to a next hop are paired; another client\'s connection to that hop is not ours', { timeout: 20_000 }, async () => {
  const T = 1_700_000_000_000_000;
  const uac: [string, number] = ['127.0.0.1', 40001];
  const uas: [string, number] = ['127.0.0.1', 5090];
  const ourEnd: [string, number] = ['127.0.0.1', 45000]; // the port the kernel gave our connection to the UAS
  const other: [string, number] = ['127.0.0.1', 46000]; // somebody else's connection to the same UAS
  const tcpInvite = (branch: string) => Buffer.from(invite(branch).toString('latin1').replace('SIP/2.0/UDP', 'SIP/2.0/TCP'));
  const inv = tcpInvite('z9hG4bK-t');
  const t100 = Buffer.from(trying('z9hG4bK-t').toString('latin1').replace('SIP/2.0/UDP', 'SIP/2.0/TCP'));
  const fwd = tcpInvite('z9hG4bKcp-fwd');
  const ringing = Buffer.from(fwd.toString('latin1').replace('INVITE sip:bob@127.0.0.1:5090 SIP/2.0', 'SIP/2.0 180 Ringing'));
  const theirs = tcpInvite('z9hG4bK-theirs');
  const dir = mkdtempSync(join(tmpdir(), 'callpath-wire-'));
  const main = join(dir, 'main.pcapng');
  const hop = join(dir, 'hop.pcapng');
  // The main dumpcap (our port): the UAC's INVITE in two segments, our 100 Trying back.
  writeFileSync(main, pcapng([
    { tsUs: T, frame: ipv4Tcp(uac, US, 1000, inv.subarray(0, 60)) },
    { tsUs: T + 40, frame: ipv4Tcp(uac, US, 1060, inv.subarray(60)) },
    { tsUs: T + 300, frame: ipv4Tcp(US, uac, 7000, t100) },
  ]));
  // The next hop's dumpcap: our INVITE out and its 180 back, and a stranger's INVITE to the same UAS.
  writeFileSync(hop, pcapng([
    { tsUs: T + 500, frame: ipv4Tcp(ourEnd, uas, 1, fwd) },
    { tsUs: T + 900, frame: ipv4Tcp(other, uas, 1, theirs) },
    { tsUs: T + 2000, frame: ipv4Tcp(uas, ourEnd, 1, ringing) },
  ]));
  process.env.CALLPATH_FAKE_PCAPNG = main;
  process.env.CALLPATH_FAKE_PCAPNG_TCP = hop;
  const events = new EventStream();
  const seen: SipCaptureEvent[] = [];
  events.on((e) => e.kind === 'sip' && seen.push(e));
  const drops = new DropCounters();
  const tap = new WireTap({ clock: createMonotonicClock(), events, drops }, () => ({ iface: 'lo' }), { engineWaitUs: 3_000_000, wireWaitUs: 300_000, maxPending: 1000 }, FAKE);
  let stage: ((ev: SipCaptureEvent) => void) | null = null;
  await tap.start({ host: '127.0.0.1', port: 5060 }, (s) => (stage = s));
  try {
    const ev = (raw: Buffer, direction: 'in' | 'out', src: string, dst: string, label: string, method: string | null): SipCaptureEvent => ({
      kind: 'sip', tsUs: 1, callId: 'x', direction, transport: 'tcp', src, dst, cseqSeq: 1, cseqMethod: 'INVITE', method, status: method ? null : Number(label.slice(0, 3)), label, branch: null, size: raw.length, raw, retransmission: false,
    });
    // As the engine writes them: our end is always our SIP address.
    stage!(ev(inv, 'in', '127.0.0.1:40001', '127.0.0.1:5060', 'INVITE', 'INVITE'));
    stage!(ev(t100, 'out', '127.0.0.1:5060', '127.0.0.1:40001', '100 Trying', null));
    stage!(ev(fwd, 'out', '127.0.0.1:5060', '127.0.0.1:5090', 'INVITE', 'INVITE')); // a new TCP destination: its dumpcap starts now
    stage!(ev(ringing, 'in', '127.0.0.1:5090', '127.0.0.1:5060', '180 Ringing', null));
    for (let i = 0; i < 150 && seen.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 500)); // the stranger's INVITE waits out its 300 ms
    assert.deepEqual(seen.map((e) => [e.label, e.direction, e.seen, e.transport]), [
      ['INVITE', 'in', 'both', 'tcp'],
      ['100 Trying', 'out', 'both', 'tcp'],
      ['INVITE', 'out', 'both', 'tcp'],
      ['180 Ringing', 'in', 'both', 'tcp'],
    ]);
    // Wire times: the INVITE from the segment that completed it; spacing kept.
    assert.equal(seen[1]!.tsUs - seen[0]!.tsUs, 260, '100 Trying 260 µs after the INVITE\'s last segment');
    assert.equal(seen[3]!.tsUs - seen[2]!.tsUs, 1500);
    const s = tap.stats();
    assert.equal(s.filter, 'udp port 5060 or tcp port 5060');
    assert.deepEqual(s.tcpDestinations, [{ hop: '127.0.0.1:5090', on: true, reason: null }]);
    assert.equal(s.trying100.count, 1, 'the wire 100 Trying over TCP');
    assert.ok(s.trying100.max >= 255 && s.trying100.max <= 265, `260 µs (${s.trying100.max})`);
    assert.deepEqual([s.wireOnly.in, s.wireOnly.out, s.engineOnly.in, s.engineOnly.out], [0, 0, 0, 0]);
    assert.equal(drops.list().find((d) => d.where === 'wire.tap' && d.reason === 'tcp-message-not-ours')?.count, 1, "the stranger's INVITE: counted, not shown");
  } finally {
    await tap.stop((s) => (stage = s));
    delete process.env.CALLPATH_FAKE_PCAPNG_TCP;
  }
});
