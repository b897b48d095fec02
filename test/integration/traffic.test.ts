/**
 * The built-in traffic (engine/traffic/) through the real lab: its caller
 * and callee place calls through our proxy and relay with G.711 both ways,
 * end them the ways the spec mixes (answered and hung up, busy, no answer,
 * cancelled), and account for them itself; with signalling loss the
 * endpoints and the proxy retransmit, the ladder marks the retransmissions,
 * and the calls still complete. Started and stopped like any component.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ComponentStatus } from '../../app/contract';
import { withLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { until } from '../helpers/until';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the built-in caller and callee place calls through the proxy and the relay: each ends as the mix says, RTP crosses both ways, and the ladders have SIP and media', async () => {
  await withLab({}, async (lab) => {
    const applied = await lab.host.applySettings({ traffic: 'cps=20 hold=1 answer=0.2 busy=20 noanswer=10 cancel=10 loss=0' });
    assert.ok(applied.ok, JSON.stringify(applied));
    assert.equal(lab.host.snapshot().traffic, null, 'off until started');
    const started = (await lab.host.invoke({ cmd: 'setComponent', name: 'traffic', action: 'start' })) as ComponentStatus;
    assert.equal(started.state, 'running', started.error ?? '');
    await sleep(4_000);
    const t = lab.host.snapshot().traffic!;
    await lab.host.invoke({ cmd: 'setComponent', name: 'traffic', action: 'stop' });
    assert.ok(t.calls.placed >= 40 && t.calls.placed <= 90, `about 20 calls/s for 4 s, as of its last report (once a second): ${t.calls.placed}`);
    assert.ok(t.calls.completed > 0 && t.calls.busy > 0 && t.calls.noAnswer > 0 && t.calls.cancelled > 0, `the generator's own account: ${JSON.stringify(t.calls)}`);
    assert.equal(t.calls.failed, 0, JSON.stringify(t.failures));
    assert.ok(t.setupMs.count > 0 && t.setupMs.p50 >= 200, `INVITE → 200 includes the 0.2 s of ringing: ${t.setupMs.p50} ms`);
    await lab.settle();
    const calls = lab.host.listCalls(1000);
    assert.ok(calls.length >= 60 && calls.length <= 90, `about 20 calls/s for 4 s through the proxy: ${calls.length}`);
    const byStatus = (s: number) => calls.filter((c) => c.finalStatus === s).length;
    assert.ok(byStatus(200) > 0 && byStatus(486) > 0 && byStatus(480) > 0 && byStatus(487) > 0, `answered, busy, no answer and cancelled calls: ${JSON.stringify({ 200: byStatus(200), 486: byStatus(486), 480: byStatus(480), 487: byStatus(487) })}`);
    const answered = calls.filter((c) => c.finalStatus === 200);
    const withMedia = answered.filter((c) => c.laneCounts.media > 0 && c.laneCounts.sip > 0);
    assert.equal(withMedia.length, answered.length, 'every answered call has a SIP and a media lane');
    // A BYE's close waits on the relay's shard to shut the sockets: give the last ones their reply.
    await until('the last BYEs closed their sessions', () => lab.host.snapshot().relay!.sessions.closed.bye >= answered.length, 5_000).catch(() => null);
    const relay = lab.host.snapshot().relay!;
    assert.ok(relay.packets.relayed > 1_000, `RTP crossed the relay: ${relay.packets.relayed}`);
    assert.equal(relay.sessions.closed.bye, answered.length, 'each answered call hung up with a BYE that closed its session');
  });
});

test('rtp=0: the calls still offer and answer SDP through the relay, but no RTP is sent or relayed', async () => {
  await withLab({}, async (lab) => {
    assert.ok((await lab.host.applySettings({ traffic: 'cps=20 hold=1 answer=0 busy=0 noanswer=0 cancel=0 loss=0 rtp=0' })).ok);
    const started = (await lab.host.invoke({ cmd: 'setComponent', name: 'traffic', action: 'start' })) as ComponentStatus;
    assert.equal(started.state, 'running', started.error ?? '');
    await sleep(3_000);
    const t = lab.host.snapshot().traffic!;
    await lab.host.invoke({ cmd: 'setComponent', name: 'traffic', action: 'stop' });
    assert.ok(t.calls.completed > 10, `calls answered and hung up: ${JSON.stringify(t.calls)}`);
    assert.equal(t.calls.failed, 0, JSON.stringify(t.failures));
    assert.equal(t.rtp.sent, 0, 'no RTP sent');
    const relay = lab.host.snapshot().relay!;
    assert.ok(relay.sessions.closed.bye > 10, `the relay still opened a session per call (SDP both ways): ${JSON.stringify(relay.sessions.closed)}`);
    assert.equal(relay.packets.relayed, 0, 'and relayed nothing');
  });
});

test("with 5 % of SIP datagrams dropped, the endpoints and the proxy retransmit, the ladder marks it, the calls still complete, and the generator counts what it dropped and re-sent", async () => {
  await withLab({}, async (lab) => {
    assert.ok((await lab.host.applySettings({ traffic: 'cps=20 hold=0.5 answer=0.1 busy=0 noanswer=0 cancel=0 loss=5' })).ok);
    await lab.host.invoke({ cmd: 'setComponent', name: 'traffic', action: 'start' });
    const running = await until('calls placed and answered', () => {
      const t = lab.host.snapshot().traffic;
      return t && t.calls.completed >= 40 ? t : null;
    }, 20_000);
    assert.ok(running.sip.lossDropped > 0, 'datagrams dropped on purpose');
    assert.ok(running.sip.retransmitted > 0, 'and re-sent by the endpoints');
    assert.ok(running.generator.busyPct > 0 && running.generator.busyPct < 100, `the generator's own load: ${running.generator.busyPct} %`);
    assert.ok(running.rtp.sent > 0 && running.rtp.received > 0, 'RTP both ways');
    await lab.host.invoke({ cmd: 'setComponent', name: 'traffic', action: 'stop' });
    await lab.settle();
    const snap = lab.host.snapshot();
    assert.equal(snap.traffic, null, 'stopped');
    assert.ok(snap.sip!.retransmissionsIn > 0, 'the proxy saw retransmissions');
    const retransmitted = lab.host.listCalls(1000).filter((c) => c.retransmissions > 0);
    assert.ok(retransmitted.length > 0, 'calls carry their retransmissions');
    const detail = lab.host.getCall(retransmitted[0]!.key)!;
    assert.ok(detail.entries.some((e) => e.lane === 'sip' && e.retransmission), 'the ladder marks them');
    const done = lab.host.listCalls(1000).filter((c) => c.finalStatus === 200).length;
    assert.ok(done >= 40, `calls still complete: ${done}`);
    // Placing stopped with the component: nothing new arrives.
    const before = lab.host.listCalls(1000).length;
    await sleep(500);
    assert.equal(lab.host.listCalls(1000).length, before);
  });
});

test('the traffic follows the proxy to a new address, and the proxy stopped fails a start with the reason', async () => {
  await withLab({}, async (lab) => {
    assert.ok((await lab.host.applySettings({ traffic: 'cps=10 hold=0.3 answer=0 busy=0 noanswer=0 cancel=0' })).ok);
    await lab.host.invoke({ cmd: 'setComponent', name: 'traffic', action: 'start' });
    const port = await freePort();
    assert.ok((await lab.host.applySettings({ sip: `127.0.0.1:${port}` })).ok);
    await until('the traffic calling the new address', () => lab.host.snapshot().traffic?.proxy === `127.0.0.1:${port}`, 10_000);
    await until('calls through it', () => (lab.host.snapshot().traffic?.calls.completed ?? 0) >= 3, 10_000);
    await lab.host.invoke({ cmd: 'setComponent', name: 'traffic', action: 'stop' });
    await lab.host.invoke({ cmd: 'setComponent', name: 'proxy', action: 'stop' });
    const refused = (await lab.host.invoke({ cmd: 'setComponent', name: 'traffic', action: 'start' })) as ComponentStatus;
    assert.equal(refused.state, 'failed');
    assert.equal(refused.error, 'the proxy is not running: the built-in traffic calls through it');
  });
});
