/**
 * The wire tap (issue #12) on a loaded proxy: dumpcap on loopback gives every
 * SIP message its kernel timestamp, and a burst of INVITEs sent in one go
 * makes them wait in the SIP socket's receive queue — the time a proxy's own
 * timings cannot see. No timing targets: the test asserts relationships
 * (wire before engine for what we read, the 100 Trying on the wire at least
 * the queue wait of its INVITE, the snapshot's figures consistent with the
 * stored messages).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SipEntry } from '../../app/contract';
import { renderPrometheus } from '../../app/prometheus';
import { sipEntries, withLab } from '../helpers/lab';
import { RawUdp, sipMessage } from '../helpers/raw-udp';
import { freePort } from '../helpers/ports';
import { runSipp, startSipp } from '../helpers/sipp';

const SIPP_FIXTURES = fileURLToPath(new URL('../fixtures/sipp/', import.meta.url));

const BURST = 400;

function invite(ua: RawUdp, proxyPort: number, uasPort: number, callId: string): string {
  const branch = `z9hG4bK-${randomBytes(6).toString('hex')}`;
  return sipMessage([
    `INVITE sip:bob@127.0.0.1:${uasPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=${branch}`,
    'Max-Forwards: 70',
    `From: <sip:alice@127.0.0.1:${ua.port}>;tag=${randomBytes(4).toString('hex')}`,
    `To: <sip:bob@127.0.0.1:${proxyPort}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:alice@127.0.0.1:${ua.port}>`,
  ]);
}

test('with the wire tap on, a burst of INVITEs shows the time each waited in the kernel before the proxy read it', { timeout: 60_000 }, async (t) => {
  const uas = await RawUdp.open(); // never answers: each INVITE gets the proxy's 100 Trying and is forwarded here
  const uac = await RawUdp.open();
  try {
    await withLab({ wire: 'auto', route: [{ host: '127.0.0.1', port: uas.port, transport: 'udp' }] }, async (lab) => {
      const before = lab.host.snapshot().wire;
      assert.equal(before.on, true, `the tap is on as root: ${before.reason}`);
      assert.equal(before.iface, 'lo');
      assert.equal(before.filter, `udp port ${lab.sipPort} or tcp port ${lab.sipPort}`);

      const ids = Array.from({ length: BURST }, (_, i) => `wire-${i}-${randomBytes(3).toString('hex')}`);
      // All sent at once, without waiting for the proxy: the later ones queue in the SIP socket.
      await Promise.all(ids.map((id) => uac.send(invite(uac, lab.sipPort, uas.port, id), lab.sipPort)));
      // Wait for the proxy to have answered them all (the UAC's own socket may drop some of the 100s: not what this is about).
      for (const deadline = Date.now() + 15_000; Date.now() < deadline && (lab.host.snapshot().sip?.trying100.count ?? 0) < BURST; ) await new Promise((r) => setTimeout(r, 100));
      await lab.settle();

      const snap = lab.host.snapshot();
      const w = snap.wire;
      const stored = ids.map((id) => lab.host.getCall(id)).filter((c) => c !== null);
      assert.ok(stored.length > BURST / 2, `most calls stored (${stored.length})`);

      const invites: SipEntry[] = [];
      const tryings: SipEntry[] = [];
      for (const c of stored) {
        const sip = sipEntries(c);
        const inv = sip.find((e) => e.method === 'INVITE' && e.direction === 'in' && !e.retransmission);
        const t100 = sip.find((e) => e.status === 100 && e.direction === 'out');
        if (inv) invites.push(inv);
        if (inv && t100) tryings.push(t100);
        // The ladder reads the wire's time: the INVITE in, then our 100 Trying, then the INVITE forwarded.
        if (inv && t100) assert.ok(inv.tsUs <= t100.tsUs, `${c!.callId}: INVITE on the wire before its 100 Trying`);
      }
      const paired = invites.filter((e) => e.seen === 'both');
      assert.ok(paired.length >= invites.length * 0.9, `incoming INVITEs paired with their wire copy (${paired.length} of ${invites.length})`);
      for (const e of paired) {
        assert.ok(e.engineTsUs !== undefined);
        assert.ok(e.tsUs < e.engineTsUs!, `${e.index}: the wire saw the INVITE (${e.tsUs}) before the engine read it (${e.engineTsUs})`);
      }
      const gaps = paired.map((e) => e.engineTsUs! - e.tsUs).sort((a, b) => a - b);
      assert.ok(gaps[gaps.length - 1]! > gaps[0]!, 'INVITEs late in the burst waited longer than the first');

      // The snapshot's gap summary is over the same messages (and the few others the proxy read in the minute).
      assert.ok(w.gapUs.in.count >= paired.length, `gap samples ${w.gapUs.in.count} ≥ paired INVITEs ${paired.length}`);
      assert.ok(w.gapUs.in.p50 > 0 && w.gapUs.in.p50 <= w.gapUs.in.p99 && w.gapUs.in.p99 <= w.gapUs.in.max);
      const longest = gaps[gaps.length - 1]!;
      assert.ok(w.gapUs.in.max >= longest, `snapshot max gap ${w.gapUs.in.max} ≥ the longest stored INVITE's ${longest}`);
      assert.ok(w.gapUs.out.count > 0, 'outgoing messages paired too');
      assert.equal(w.gapUs.negative.in, 0, 'no incoming message read before it was on the wire (the clocks are aligned)');
      assert.ok(w.paired >= paired.length);
      assert.equal(w.engineOnly.in, 0, 'every INVITE the engine read was on the wire');

      // 100 Trying on the wire: from the INVITE's wire copy to our 100's, so at least the INVITE's wait in the queue.
      assert.ok(w.trying100.count >= tryings.length * 0.9, `wire 100 Trying samples ${w.trying100.count}`);
      assert.ok(w.trying100.max >= longest, `the slowest 100 Trying on the wire (${w.trying100.max} µs) includes the longest queue wait (${longest} µs)`);
      assert.ok(w.trying100.p99 >= w.gapUs.in.p50, 'wire 100 Trying p99 is at least the median queue wait');
      const engineTrying = snap.sip!.trying100;
      assert.ok(w.trying100.max >= engineTrying.max, `wire 100 Trying max ${w.trying100.max} ≥ the engine's ${engineTrying.max}: the wire adds the queue wait`);
      assert.ok(w.trying100.p99 >= engineTrying.p99, `wire 100 Trying p99 ${w.trying100.p99} ≥ the engine's ${engineTrying.p99}`);
      t.diagnostic(`100 Trying p99: engine ${engineTrying.p99} µs, wire ${w.trying100.p99} µs; queue wait p50/p99/max ${w.gapUs.in.p50}/${w.gapUs.in.p99}/${w.gapUs.in.max} µs; clock offset ${w.clockOffsetUs} ± ${w.clockSpreadUs} µs`);

      // The kernel's side and /metrics. The sampler reads every second, and this test can be over in less than two:
      // wait for a read that took the SIP socket's row.
      let kernel = snap.kernel;
      for (const deadline = Date.now() + 5_000; Date.now() < deadline && kernel.port !== lab.sipPort; kernel = lab.host.snapshot().kernel) await new Promise((r) => setTimeout(r, 100));
      assert.equal(kernel.port, lab.sipPort, JSON.stringify(kernel).slice(0, 400));
      assert.equal(kernel.unavailable, null);
      const metrics = renderPrometheus(lab.host.snapshot());
      assert.match(metrics, /^callpath_wire_tap_up 1$/m);
      assert.match(metrics, /^callpath_wire_gap_in_seconds\{quantile="0.99"\} [0-9.e-]+$/m);
      assert.match(metrics, /^callpath_udp_rcvbuf_errors_total \d+$/m);
      assert.match(metrics, /^callpath_sip_socket_rx_queue_bytes \d+$/m);
    });
  } finally {
    await uac.close();
    await uas.close();
  }
});

test('over TCP, SIPp calls through the proxy are paired on both connections: the UAC\'s to our port and ours to the UAS, found by its first INVITE', { timeout: 90_000 }, async (t) => {
  const CALLS = 60;
  const uasPort = await freePort();
  // Route by Request-URI (;transport=tcp): the UAS's address is not known before the first INVITE, so the tap learns it then.
  await withLab({ wire: 'auto', route: null }, async (lab) => {
    const uas = startSipp({ scenario: 'uas', port: uasPort, transport: 't1', extra: ['-m', String(CALLS)] });
    try {
      await new Promise((r) => setTimeout(r, 400));
      const uac = await runSipp({
        scenario: join(SIPP_FIXTURES, 'uac-tcp-to-uas.xml'),
        remote: `127.0.0.1:${lab.sipPort}`,
        port: await freePort(),
        transport: 't1',
        rate: 20,
        calls: CALLS,
        duration: 200,
        timeoutSec: 40,
        extra: ['-key', 'uas_port', String(uasPort)],
      });
      assert.equal(uac.successful, CALLS, 'every call completed through the proxy over TCP');
    } finally {
      await uas.stop();
    }
    await lab.settle();
    const w = lab.host.snapshot().wire;
    assert.equal(w.filter, `udp port ${lab.sipPort} or tcp port ${lab.sipPort}`);
    assert.deepEqual(w.tcpDestinations, [{ hop: `127.0.0.1:${uasPort}`, on: true, reason: null }], 'the UAS got a dumpcap of its own');

    const calls = lab.host.listCalls(1000).filter((c) => c.source !== 'watch');
    assert.equal(calls.length, CALLS);
    const byStart = calls.map((c) => sipEntries(lab.host.getCall(c.callId))).sort((a, b) => a[0]!.tsUs - b[0]!.tsUs);
    const unpaired = (es: SipEntry[]) => es.filter((e) => e.seen !== 'both').map((e) => `${e.direction} ${e.label} ${e.seen}`);
    for (const es of byStart) assert.ok(es.every((e) => e.transport === 'tcp'), 'every message travelled over TCP');
    // The first INVITE to the UAS went before its dumpcap ran; once it runs, every message of every call is seen on both sides.
    const late = byStart.slice(5);
    for (const es of late) assert.deepEqual(unpaired(es), [], `${es[0]!.label}: every message paired`);
    assert.equal(w.wireOnly.in + w.wireOnly.out, 0, 'nothing on the wire the engine did not handle');
    const engineOnly = byStart.flatMap(unpaired);
    t.diagnostic(`engine-only messages (before the UAS's dumpcap ran): ${engineOnly.length}; wire 100 Trying p99 ${w.trying100.p99} µs over ${w.trying100.count}`);
    // Both kinds of connection: our end of the one we opened reads as our SIP address, as the engine writes it.
    const one = late[0]!;
    const inviteOut = one.find((e) => e.method === 'INVITE' && e.direction === 'out')!;
    assert.equal(inviteOut.dst, `127.0.0.1:${uasPort}`);
    assert.ok(inviteOut.engineTsUs! >= inviteOut.tsUs - 1_000, 'our INVITE on the wire once we wrote it');
    const okIn = one.find((e) => e.status === 200 && e.cseq.endsWith('INVITE') && e.direction === 'in')!;
    assert.equal(okIn.seen, 'both', 'the UAS\'s 200 on our connection, paired');
    assert.ok(okIn.tsUs <= okIn.engineTsUs!, 'the wire saw the 200 before the engine read it');
    assert.ok(w.trying100.count >= CALLS - 5, `the wire 100 Trying measured over TCP (${w.trying100.count})`);
  });
});

test('with --wire off the messages keep the engine time and the status says why', { timeout: 30_000 }, async () => {
  await withLab({ wire: 'off' }, async (lab) => {
    const w = lab.host.snapshot().wire;
    assert.equal(w.on, false);
    assert.equal(w.reason, 'off (--wire off)');
  });
});

test('a dumpcap that cannot run leaves the tap off with one line why, and the proxy works', { timeout: 30_000 }, async () => {
  await withLab({ wire: { iface: 'no-such-interface0' } }, async (lab) => {
    const w = lab.host.snapshot().wire;
    assert.equal(w.on, false);
    assert.ok(w.reason && !w.reason.includes('\n') && /dumpcap/.test(w.reason), `one line: ${w.reason}`);
    assert.equal(lab.host.engine.status('proxy').state, 'running');
  });
});
