/**
 * The RTP relay driven over NG as Kamailio's rtpengine module drives it,
 * with real UDP endpoints on both sides: media through, figures as
 * Wireshark would count them, the port pool's bound, rtpengine's timeouts,
 * and bad input on every socket it owns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Stream } from '../../engine/call/model';
import { NgClient, RtpEndpoint, pcmuSdp, sdpAddress, sdpPort } from '../helpers/ng';
import { freePort } from '../helpers/ports';
import { withLab, type RunningLab } from '../helpers/lab';
import { until } from '../helpers/until';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** The call's streams as the store holds them (from the relay's media events). */
function streams(lab: RunningLab, callId: string): Stream[] {
  return (lab.host.getCall(callId)?.legs ?? []).flatMap((l) => l.media.flatMap((m) => m.streams));
}

async function setUp(ng: NgClient, callId: string, caller: RtpEndpoint, callee: RtpEndpoint): Promise<{ toCallee: number; toCaller: number }> {
  const offer = await ng.request({ command: 'offer', 'call-id': callId, 'from-tag': 'caller-tag', sdp: pcmuSdp(caller.port) });
  assert.equal(offer.result, 'ok', String(offer['error-reason']));
  assert.equal(sdpAddress(offer.sdp), '127.0.0.1');
  const answer = await ng.request({ command: 'answer', 'call-id': callId, 'from-tag': 'caller-tag', 'to-tag': 'callee-tag', sdp: pcmuSdp(callee.port, 2) });
  assert.equal(answer.result, 'ok', String(answer['error-reason']));
  return { toCallee: sdpPort(offer.sdp), toCaller: sdpPort(answer.sdp) };
}

// Both media paths (engine/rtp/shard/media-path.ts): the native packet thread, the default where it is built, and Node's dgram, the fallback.
for (const mediaPath of ['native', 'node'] as const) test(`a call set up over NG relays RTP both ways; loss is counted as Wireshark counts it, garbage is dropped and counted, delete frees the ports (${mediaPath} media path)`, async () => {
  const ngPort = await freePort();
  await withLab({ ng: { host: '127.0.0.1', port: ngPort }, rtp: { host: '127.0.0.1', min: 21000, max: 21099 }, rtpWarmPairs: 8, mediaPath }, async (lab) => {
    assert.deepEqual(lab.host.snapshot().relay!.mediaPath, { name: mediaPath, why: mediaPath === 'node' ? 'asked for (--media-path node)' : null });
    const ng = await NgClient.open(ngPort);
    const caller = await RtpEndpoint.open(0x1111);
    const callee = await RtpEndpoint.open(0x2222);
    try {
      const { toCallee, toCaller } = await setUp(ng, 'ng-call-1', caller, callee);
      assert.notEqual(toCallee, toCaller);
      assert.ok(toCallee >= 21000 && toCallee <= 21099 && toCallee % 2 === 0, `relay port ${toCallee} is an even port of the range`);
      // The caller sends to the port the answer gave it; the callee to the port in the offer. Packets 10 and 11 lost on the way.
      await Promise.all([caller.stream(toCaller, 50, new Set([10, 11])), callee.stream(toCallee, 50)]);
      // Garbage on a relay port: too short, and RTP version 1.
      const junk = createSocket('udp4');
      junk.send(Buffer.from('hello'), toCaller, '127.0.0.1');
      junk.send(Buffer.from([0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9]), toCaller, '127.0.0.1');
      await sleep(200);
      junk.close();
      assert.equal(callee.received.length, 48, 'the callee got every packet the caller sent (48 of 50; two were lost before the relay)');
      assert.equal(caller.received.length, 50, 'the caller got all 50 of the callee');
      assert.equal(callee.received[0]!.readUInt32BE(8), 0x1111, 'packets arrive unchanged (the SSRC of the caller)');
      // The figures reach the call as the relay's `stats` media events (at most one per stream every 5 s).
      const s = await until('stream figures', () => {
        const all = streams(lab, 'ng-call-1');
        return all.length === 2 && all.every((x) => x.packets > 0) && all;
      }, 12_000);
      const fromCaller = s.find((x) => x.id === 'm0-caller')!;
      const fromCallee = s.find((x) => x.id === 'm0-callee')!;
      assert.equal(fromCaller.packets, 48);
      assert.equal(fromCaller.lost, 2, 'expected 50 (highest − first + 1), received 48');
      assert.equal(fromCallee.packets, 50);
      assert.equal(fromCallee.lost, 0);
      assert.equal(fromCaller.codec, 'PCMU/8000');
      const relay = lab.host.snapshot().relay!;
      assert.ok(relay.packets.garbage >= 2, `garbage counted: ${relay.packets.garbage}`);
      assert.equal(relay.ports.inUse, 4, 'one call holds two pairs: four ports');
      assert.equal(relay.sessions.live, 1);

      const del = await ng.request({ command: 'delete', 'call-id': 'ng-call-1', 'from-tag': 'caller-tag' });
      assert.equal(del.result, 'ok');
      const after = lab.host.snapshot().relay!;
      assert.equal(after.ports.inUse, 0);
      assert.equal(after.ports.quarantined, 4, 'released ports wait out the quarantine');
      assert.equal(after.sessions.closed.delete, 1);
      const closed = await until('closed streams', () => streams(lab, 'ng-call-1').every((x) => !x.open && x.closeReason === 'delete'));
      assert.ok(closed);
      // Nothing is relayed after the delete: the pairs stay bound (warm) for the next call, and a late packet is counted as stray.
      const before = callee.received.length;
      caller.sock.send(caller.packet(), toCaller, '127.0.0.1');
      await until('the late packet counted as stray', () => lab.host.snapshot().relay!.packets.stray === 1);
      assert.equal(callee.received.length, before);
    } finally {
      ng.close();
      caller.close();
      callee.close();
    }
  });
});

test('a pool of four pairs holds two calls: the third offer is refused as pool exhausted, and a freed pair comes back after the quarantine', async () => {
  const ngPort = await freePort();
  await withLab({ ng: { host: '127.0.0.1', port: ngPort }, rtp: { host: '127.0.0.1', min: 21200, max: 21207 }, rtpShards: 1, rtpWarmPairs: 2 }, async (lab) => {
    const ng = await NgClient.open(ngPort);
    try {
      const offer = (id: string) => ng.request({ command: 'offer', 'call-id': id, 'from-tag': 't', sdp: pcmuSdp(40000) });
      assert.equal((await offer('pool-1')).result, 'ok');
      assert.equal((await offer('pool-2')).result, 'ok');
      const third = await offer('pool-3');
      assert.equal(third.result, 'error');
      assert.match(String(third['error-reason']), /RTP port pool exhausted/);
      const s = lab.host.snapshot().relay!;
      assert.equal(s.ports.allocationFailures, 1);
      assert.equal(s.ports.free, 0);
      assert.equal((await ng.request({ command: 'delete', 'call-id': 'pool-1' })).result, 'ok');
      assert.equal((await offer('pool-3')).result, 'error', 'the freed pairs are still in quarantine');
      await sleep(2_200);
      assert.equal((await offer('pool-3')).result, 'ok', 'after the quarantine they are handed out again');
      assert.equal(lab.host.snapshot().relay!.ports.highWater, 8);
    } finally {
      ng.close();
    }
  });
});

test('the next call on the same ports takes them warm (still bound, no bind): media flows both ways as on a first call', async () => {
  const ngPort = await freePort();
  await withLab({ ng: { host: '127.0.0.1', port: ngPort }, rtp: { host: '127.0.0.1', min: 21300, max: 21303 }, rtpShards: 1, rtpWarmPairs: 2 }, async (lab) => {
    const ng = await NgClient.open(ngPort);
    const caller = await RtpEndpoint.open(0x3333);
    const callee = await RtpEndpoint.open(0x4444);
    try {
      const first = await setUp(ng, 'warm-1', caller, callee);
      await Promise.all([caller.stream(first.toCaller, 5), callee.stream(first.toCallee, 5)]);
      assert.equal((await ng.request({ command: 'delete', 'call-id': 'warm-1' })).result, 'ok');
      await sleep(2_200); // the quarantine
      const second = await setUp(ng, 'warm-2', caller, callee);
      assert.deepEqual(second, first, 'the only two pairs, handed out again');
      const [fromCaller, fromCallee] = [callee.received.length, caller.received.length];
      await Promise.all([caller.stream(second.toCaller, 20), callee.stream(second.toCallee, 20)]);
      await until('media of the second call', () => callee.received.length === fromCaller + 20 && caller.received.length === fromCallee + 20);
      assert.equal(lab.host.snapshot().relay!.ports.bindFailures, 0);
    } finally {
      ng.close();
      caller.close();
      callee.close();
    }
  });
});

test("the caller's first packets may beat the answer to the relay: they wait for the callee's address (up to 500 ms), then go out; older ones are dropped and counted", async () => {
  const ngPort = await freePort();
  // Two pairs: the offer takes both, so the caller-facing port is the one the offer did not name.
  await withLab({ ng: { host: '127.0.0.1', port: ngPort }, rtp: { host: '127.0.0.1', min: 21400, max: 21403 }, rtpShards: 1, rtpWarmPairs: 2 }, async (lab) => {
    const ng = await NgClient.open(ngPort);
    const caller = await RtpEndpoint.open(0x5555);
    const callee = await RtpEndpoint.open(0x6666);
    const early = async (callId: string, waitMs: number) => {
      const offer = await ng.request({ command: 'offer', 'call-id': callId, 'from-tag': 'caller-tag', sdp: pcmuSdp(caller.port) });
      assert.equal(offer.result, 'ok', String(offer['error-reason']));
      const toCaller = sdpPort(offer.sdp) === 21400 ? 21402 : 21400;
      const sent = caller.packet();
      caller.sock.send(sent, toCaller, '127.0.0.1');
      await sleep(waitMs);
      const before = callee.received.length;
      const answer = await ng.request({ command: 'answer', 'call-id': callId, 'from-tag': 'caller-tag', 'to-tag': 'callee-tag', sdp: pcmuSdp(callee.port, 2) });
      assert.equal(answer.result, 'ok', String(answer['error-reason']));
      assert.equal(sdpPort(answer.sdp), toCaller);
      await sleep(200);
      const got = callee.received.slice(before);
      assert.equal((await ng.request({ command: 'delete', 'call-id': callId })).result, 'ok');
      return { got, sent };
    };
    try {
      const soon = await early('early-1', 100);
      assert.equal(soon.got.length, 1, 'the packet sent 100 ms before the answer reached the callee once the answer named it');
      assert.ok(soon.got[0]!.equals(soon.sent), 'unchanged');
      assert.equal(lab.host.snapshot().relay!.packets.noPeer, 0);
      await sleep(2_200); // the quarantine
      const late = await early('early-2', 800);
      assert.equal(late.got.length, 0, 'a packet 800 ms older than the answer is not sent');
      // The shard's counters reach the snapshot with its periodic stats.
      await until('the stale packet counted', () => lab.host.snapshot().relay!.packets.noPeer === 1);
    } finally {
      ng.close();
      caller.close();
      callee.close();
    }
  });
});

test("rtpengine's timeouts close what nobody deletes, each with its reason: offer-timeout, timeout, final-timeout", async () => {
  const ngPort = await freePort();
  const timeouts = { timeout: 1, silentTimeout: 3600, offerTimeout: 1, finalTimeout: 3 };
  await withLab({ ng: { host: '127.0.0.1', port: ngPort }, rtp: { host: '127.0.0.1', min: 21300, max: 21399 }, relayTimeouts: timeouts }, async (lab) => {
    const ng = await NgClient.open(ngPort);
    const caller = await RtpEndpoint.open(1);
    const callee = await RtpEndpoint.open(2);
    const [mute1, mute2] = [await RtpEndpoint.open(3), await RtpEndpoint.open(4)];
    try {
      // Never answered.
      assert.equal((await ng.request({ command: 'offer', 'call-id': 'never-answered', 'from-tag': 't', sdp: pcmuSdp(40000) })).result, 'ok');
      // Answered, then nothing flows.
      await setUp(ng, 'silent-call', mute1, mute2);
      // Answered and media flowing the whole time: only final-timeout can end it.
      const { toCaller, toCallee } = await setUp(ng, 'endless-call', caller, callee);
      const flowing = Promise.all([caller.stream(toCaller, 200), callee.stream(toCallee, 200)]);
      const closed = () => lab.host.snapshot().relay!.sessions.closed;
      await until('offer-timeout and timeout', () => closed()['offer-timeout'] === 1 && closed().timeout === 1, 6_000);
      assert.equal(lab.host.snapshot().relay!.sessions.live, 1, 'the call with media is still up');
      await until('final-timeout', () => closed()['final-timeout'] === 1, 6_000);
      assert.equal(lab.host.snapshot().relay!.sessions.live, 0);
      assert.equal(lab.host.snapshot().relay!.ports.inUse, 0, 'every port is back');
      await flowing;
    } finally {
      ng.close();
      for (const e of [caller, callee, mute1, mute2]) e.close();
    }
  });
});

test('bad NG requests get an error reply with the reason, or are dropped and counted; a retransmitted offer is answered from the cache, not run twice', async () => {
  const ngPort = await freePort();
  await withLab({ ng: { host: '127.0.0.1', port: ngPort }, rtp: { host: '127.0.0.1', min: 21400, max: 21499 } }, async (lab) => {
    const ng = await NgClient.open(ngPort);
    try {
      ng.send(Buffer.from('no-cookie-at-all'));
      ng.send(Buffer.alloc(1500, 0xff));
      const bad = await ng.raw(Buffer.from('c1 d7:command5:offer4:sdp'), 'c1');
      assert.equal(bad.result, 'error');
      assert.match(String(bad['error-reason']), /bencode/);
      const noCallId = await ng.request({ command: 'offer', 'from-tag': 't', sdp: pcmuSdp(40000) });
      assert.equal(noCallId['error-reason'], 'No call-id in message');
      assert.match(String((await ng.request({ command: 'frobnicate' }))['error-reason']), /Unrecognized command/);
      assert.match(String((await ng.request({ command: 'offer', 'call-id': 'x', 'from-tag': 't', sdp: 'v=0\r\nm=audio 1 RTP/AVP 0\r\n' }))['error-reason']), /bad SDP/);
      assert.equal((await ng.request({ command: 'answer', 'call-id': 'nobody', 'from-tag': 'a', 'to-tag': 'b', sdp: pcmuSdp(40000) })).result, 'error');
      const first = await ng.request({ command: 'offer', 'call-id': 'retrans', 'from-tag': 't', sdp: pcmuSdp(40000) }, 'same-cookie');
      const again = await ng.request({ command: 'offer', 'call-id': 'retrans', 'from-tag': 't', sdp: pcmuSdp(40000) }, 'same-cookie');
      assert.deepEqual(again, first);
      assert.equal(lab.host.snapshot().relay!.ports.inUse, 4, 'one allocation for the offer and its retransmission');
      assert.equal((await ng.request({ command: 'ping' })).result, 'pong', 'the listener still answers');
      const drops = lab.host.snapshot().drops.filter((d) => d.where === 'relay.ng');
      assert.ok(drops.some((d) => /no cookie/.test(d.reason) && d.count >= 1), JSON.stringify(drops));
    } finally {
      ng.close();
    }
  });
});

test('--rtp off: the relay is not started, says why, and a start from the console answers with that reason', async () => {
  const ngPort = await freePort();
  await withLab({ relayOff: true, ng: { host: '127.0.0.1', port: ngPort } }, async (lab) => {
    const status = lab.host.snapshot().components.find((c) => c.name === 'relay')!;
    assert.equal(status.state, 'stopped');
    assert.match(status.detail ?? '', /disabled with --rtp off/);
    assert.equal(lab.host.snapshot().relay, null);
    const started = (await lab.host.invoke({ cmd: 'setComponent', name: 'relay', action: 'start' })) as { state: string; error: string | null; detail: string | null };
    assert.notEqual(started.state, 'running');
    assert.match(`${started.error ?? ''} ${started.detail ?? ''}`, /--rtp off/);
    assert.equal(lab.host.settings().rtp, 'off');
  });
});

test('stopping the relay from the console closes its sessions as manual and frees every port', async () => {
  const ngPort = await freePort();
  await withLab({ ng: { host: '127.0.0.1', port: ngPort }, rtp: { host: '127.0.0.1', min: 21500, max: 21599 } }, async (lab) => {
    const ng = await NgClient.open(ngPort);
    try {
      for (const id of ['m1', 'm2']) assert.equal((await ng.request({ command: 'offer', 'call-id': id, 'from-tag': 't', sdp: pcmuSdp(40000) })).result, 'ok');
      await lab.host.invoke({ cmd: 'setComponent', name: 'relay', action: 'stop' });
      assert.equal(lab.host.snapshot().relay, null, 'a stopped relay has no figures');
      await lab.host.invoke({ cmd: 'setComponent', name: 'relay', action: 'start' });
      const s = lab.host.snapshot().relay!;
      assert.equal(s.sessions.closed.manual, 2);
      assert.equal(s.ports.inUse, 0);
    } finally {
      ng.close();
    }
  });
});
