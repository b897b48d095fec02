/**
 * SDP through the proxy: with the relay running, an INVITE's offer and the
 * 200's answer are rewritten to the relay's ports, G.711 from SIPp crosses
 * the relay both ways and shows up on the call's streams; so does a late
 * offer (no SDP in the INVITE, the offer in the 200, the answer in the ACK); a bad SDP gets 488,
 * an exhausted pool 503 with Retry-After; with the relay stopped, SDP passes
 * untouched; a proxy restart leaves orphans that "release orphans now" takes back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Stream } from '../../engine/call/model';
import { RawUdp, isResponse, sipMessage } from '../helpers/raw-udp';
import { freePort } from '../helpers/ports';
import { runSipp, startSipp } from '../helpers/sipp';
import { startLab, withLab, type RunningLab } from '../helpers/lab';
import { until } from '../helpers/until';

const MEDIA_UAC = join(import.meta.dirname, '..', 'fixtures', 'sipp', 'uac-g711-media.xml');
const LATE_OFFER_UAC = join(import.meta.dirname, '..', 'fixtures', 'sipp', 'uac-late-offer.xml');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


const streamsOf = (lab: RunningLab, callId: string): Stream[] => (lab.host.getCall(callId)?.legs ?? []).flatMap((l) => l.media.flatMap((m) => m.streams));
const mLine = (text: string) => /^m=audio (\d+)/m.exec(text)?.[1];

test("a SIPp call with G.711 through the proxy: both SDPs carry the relay's ports, every RTP packet crosses both ways, and the BYE closes the session", async () => {
  const uasPort = await freePort();
  const [uasMedia, uacMedia] = [await freePort(), await freePort()];
  await withLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }], rtp: { host: '127.0.0.1', min: 22000, max: 22099 } }, async (lab) => {
    const uas = startSipp({ scenario: 'uas', port: uasPort, extra: ['-rtp_echo', '-mi', '127.0.0.1', '-mp', String(uasMedia)] });
    try {
      await sleep(300);
      const r = await runSipp({ scenario: MEDIA_UAC, remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, timeoutSec: 30, extra: ['-mi', '127.0.0.1', '-mp', String(uacMedia), '-trace_msg', '-message_file', 'uac.log'] });
      assert.equal(r.successful, 1, r.stdout);
      const uacLog = readFileSync(join(r.dir, 'uac.log'), 'latin1');
      const ok = uacLog.split(/-{20,}/).find((m) => /SIP\/2\.0 200 OK[\s\S]*CSeq: 1 INVITE/.test(m))!;
      const relayPortForCaller = Number(mLine(ok));
      assert.ok(relayPortForCaller >= 22000 && relayPortForCaller <= 22099, `the 200 OK the caller got names a relay port, not the UAS's ${uasMedia}: ${relayPortForCaller}`);
      await lab.settle();
      const callId = lab.host.listCalls(10)[0]!.callId;
      const sip = lab.host.getCall(callId)!.entries.filter((e) => e.lane === 'sip');
      assert.ok(sip.length > 0);
      // The BYE's close waits on the relay's shard (a worker thread) to shut the stream's sockets: the count follows that reply.
      const relay = await until('the BYE closed the session', () => {
        const r = lab.host.snapshot().relay!;
        return r.sessions.closed.bye === 1 && r;
      });
      assert.equal(relay.packets.relayed, 2 * 236, 'the 236 packets of g711a.pcap to the UAS, and its echo of each back');
      assert.equal(relay.packets.noPeer, 0, 'packets that beat the answer to the relay waited for it');
      assert.equal(relay.ports.inUse, 0);
      const s = await until('closed streams with figures', () => {
        const all = streamsOf(lab, callId);
        return all.length === 2 && all.every((x) => !x.open) && all;
      });
      const fromCaller = s.find((x) => x.id === 'm0-caller')!;
      const fromCallee = s.find((x) => x.id === 'm0-callee')!;
      assert.equal(fromCaller.packets, 236);
      assert.equal(fromCaller.lost, 0);
      assert.equal(fromCaller.codec, 'PCMA/8000');
      assert.equal(fromCallee.packets, 236, 'the echo');
      assert.equal(fromCaller.closeReason, 'bye');

      // The proxy rewrote the offer and the answer itself, on ports the relay lent it (a 100-port pool lends one stream's
      // four), and the relay lent it another stream once that one was taken. A stopped proxy gives them back.
      assert.deepEqual([relay.sessions.leased, relay.sessions.leaseStale, relay.sessions.leaseMissed], [1, 0, 0], 'the call was set up on lent ports, none the slow way');
      assert.equal(relay.ports.lent, 4);
      await lab.host.invoke({ cmd: 'setComponent', name: 'proxy', action: 'stop' });
      const back = lab.host.snapshot().relay!.ports;
      assert.deepEqual([back.lent, back.inUse], [0, 0], 'nothing lent to a stopped proxy');
      await lab.host.invoke({ cmd: 'setComponent', name: 'proxy', action: 'start' });
      await until('a new lease for the restarted proxy', () => lab.host.snapshot().relay!.ports.lent === 4);
    } finally {
      await uas.stop();
    }
  });
});

test("a late offer: the callee's offer in the 200 gets the caller-facing port, the caller's answer in the ACK the callee-facing one, and the media crosses both ways", async () => {
  const uasPort = await freePort();
  const [uasMedia, uacMedia] = [await freePort(), await freePort()];
  await withLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }], rtp: { host: '127.0.0.1', min: 22400, max: 22499 } }, async (lab) => {
    const uas = startSipp({ scenario: 'uas', port: uasPort, extra: ['-rtp_echo', '-mi', '127.0.0.1', '-mp', String(uasMedia)] });
    try {
      await sleep(300);
      const r = await runSipp({ scenario: LATE_OFFER_UAC, remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, timeoutSec: 30, extra: ['-mi', '127.0.0.1', '-mp', String(uacMedia), '-trace_msg', '-message_file', 'uac.log'] });
      assert.equal(r.successful, 1, r.stdout);
      const inRange = (p: number) => p >= 22400 && p <= 22499;
      const ok = readFileSync(join(r.dir, 'uac.log'), 'latin1').split(/-{20,}/).find((m) => /SIP\/2\.0 200 OK[\s\S]*CSeq: 1 INVITE/.test(m))!;
      const offeredToCaller = Number(mLine(ok));
      assert.ok(inRange(offeredToCaller), `the 200 OK's offer names a relay port, not the UAS's ${uasMedia}: ${offeredToCaller}`);
      await uas.stop(); // its message trace is whole once it exits
      const ack = readFileSync(join(uas.dir, 'messages.log'), 'latin1').split(/-{20,}/).find((m) => /^ACK sip:/m.test(m) && /m=audio/.test(m))!;
      assert.ok(ack, 'the ACK reached the UAS with its SDP');
      const answeredToCallee = Number(mLine(ack));
      assert.ok(inRange(answeredToCallee) && answeredToCallee !== offeredToCaller, `the ACK's answer names the other relay port: ${answeredToCallee}`);
      await lab.settle();
      // The BYE's close waits on the relay's shard (a worker thread) to shut the stream's sockets: the count follows that reply.
      const relay = await until('the BYE closed the session', () => {
        const r = lab.host.snapshot().relay!;
        return r.sessions.closed.bye === 1 && r;
      });
      assert.equal(relay.packets.relayed, 2 * 236, 'the 236 packets of g711a.pcap to the UAS, and its echo of each back');
      assert.equal(relay.sessions.closed.bye, 1);
      const callId = lab.host.listCalls(10)[0]!.callId;
      const s = await until('closed streams with figures', () => {
        const all = streamsOf(lab, callId);
        return all.length === 2 && all.every((x) => !x.open) && all;
      });
      const fromCaller = s.find((x) => x.id === 'm0-caller')!;
      const fromCallee = s.find((x) => x.id === 'm0-callee')!;
      assert.equal(fromCaller.packets, 236, "the caller's stream is the caller's, though the callee offered");
      assert.equal(fromCallee.packets, 236, 'the echo');
    } finally {
      await uas.stop();
    }
  });
});

test('a bad SDP is refused with 488 and the reason; a full pool with 503, Retry-After and "RTP port pool exhausted"; both counted', async () => {
  // The callee: takes INVITEs and never answers, so the first call holds its ports.
  const downstream = await RawUdp.open();
  const uasPort = downstream.port;
  await withLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }], rtp: { host: '127.0.0.1', min: 22200, max: 22203 } }, async (lab) => {
    const ua = await RawUdp.open();
    try {
      const invite = (callId: string, body: string) =>
        sipMessage(
          [
            `INVITE sip:bob@127.0.0.1:${uasPort} SIP/2.0`,
            `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-${callId}`,
            'Max-Forwards: 70',
            `From: <sip:alice@127.0.0.1>;tag=a-${callId}`,
            'To: <sip:bob@127.0.0.1>',
            `Call-ID: ${callId}`,
            'CSeq: 1 INVITE',
            `Contact: <sip:alice@127.0.0.1:${ua.port}>`,
            'Content-Type: application/sdp',
          ],
          body,
        );
      await ua.send(invite('bad-sdp', 'v=0\r\nthis is not SDP\r\n'), lab.sipPort);
      const r488 = await ua.waitFor(isResponse(488, 'INVITE'), 5_000, '488');
      assert.match(r488.split('\r\n')[0]!, /^SIP\/2\.0 488 Not Acceptable Here - bad SDP: /);
      // A range of 4 ports is 2 pairs: exactly one call. The first INVITE takes them (its UAS never answers).
      const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', ''].join('\r\n');
      await ua.send(invite('first', sdp), lab.sipPort);
      await ua.waitFor(isResponse(100, 'INVITE'), 5_000, '100 Trying');
      await ua.send(invite('second', sdp), lab.sipPort);
      const r503 = await ua.waitFor(isResponse(503, 'INVITE'), 5_000, '503');
      assert.match(r503, /Call-ID: second/, r503);
      assert.match(r503.split('\r\n')[0]!, /^SIP\/2\.0 503 Service Unavailable - RTP port pool exhausted/);
      assert.match(r503, /^Retry-After: 5\r$/m);
      await lab.settle();
      const snap = lab.host.snapshot();
      assert.equal(snap.sip!.answered['488'], 1);
      assert.equal(snap.sip!.answered['503'], 1);
      assert.equal(snap.relay!.ports.allocationFailures, 1);
      assert.ok(snap.drops.some((d) => d.where === 'sip.media' && /503/.test(d.reason)));
      // The first call's ports were taken before its sockets were bound, so its session may still be on its way in.
      await until('the first call keeps its session', () => lab.host.snapshot().relay!.sessions.live === 1);
      const forwarded = await downstream.waitFor((t) => t.startsWith('INVITE ') && /Call-ID: first/.test(t), 2_000, 'the first INVITE downstream');
      assert.match(forwarded, /^m=audio 2220[02] RTP\/AVP 0\r$/m, "the callee is offered the relay's port");
    } finally {
      await ua.close();
    }
  });
  await downstream.close();
});

test('with the relay stopped, calls pass with their SDP untouched and the relay shows no figures', async () => {
  const uasPort = await freePort();
  const uasMedia = await freePort();
  await withLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] }, async (lab) => {
    await lab.host.invoke({ cmd: 'setComponent', name: 'relay', action: 'stop' });
    await sleep(300);
    const uas = startSipp({ scenario: 'uas', port: uasPort, extra: ['-mi', '127.0.0.1', '-mp', String(uasMedia)] });
    try {
      await sleep(300);
      const r = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, duration: 100, timeoutSec: 20, extra: ['-trace_msg', '-message_file', 'uac.log'] });
      assert.equal(r.successful, 1, r.stdout);
      const ok = readFileSync(join(r.dir, 'uac.log'), 'latin1').split(/-{20,}/).find((m) => /SIP\/2\.0 200 OK[\s\S]*CSeq: 1 INVITE/.test(m))!;
      assert.equal(Number(mLine(ok)), uasMedia, "the caller got the UAS's own media port");
      assert.equal(lab.host.snapshot().relay, null);
    } finally {
      await uas.stop();
    }
  });
});

test('restarting only the proxy mid-call leaves the session an orphan; "release orphans now" frees its ports', async () => {
  const uasPort = await freePort();
  const lab = await startLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }], rtp: { host: '127.0.0.1', min: 22300, max: 22399 } });
  {
    const uas = startSipp({ scenario: 'uas', port: uasPort });
    try {
      await sleep(300);
      // A call that stays up for 8 s (the test ends it before its BYE).
      const abort = new AbortController();
      const call = runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, duration: 8_000, timeoutSec: 30, stop: abort.signal });
      await until('a live session', () => lab.host.snapshot().relay!.sessions.answered === 1);
      await lab.host.invoke({ cmd: 'setComponent', name: 'proxy', action: 'stop' });
      await lab.host.invoke({ cmd: 'setComponent', name: 'proxy', action: 'start' });
      assert.equal(lab.host.snapshot().relay!.sessions.live, 1, 'the relay still holds the session the old proxy set up');
      // Through the HTTP API, as a script on the lab box would.
      const res = await fetch(`${lab.base}/api/relay/release-orphans`, { method: 'POST', headers: { authorization: `Bearer ${lab.token}` } });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { released: 1 });
      const relay = lab.host.snapshot().relay!;
      assert.equal(relay.sessions.closed.orphan, 1);
      assert.equal(relay.ports.inUse, 0);
      abort.abort();
      await call;
    } finally {
      await uas.stop();
      await lab.stop();
    }
  }
});
