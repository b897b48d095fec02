/**
 * The proxy between real SIPp ends (Debian's sip-tester): load over UDP and
 * TCP, retransmissions, timeouts, non-2xx ACKs, CANCEL and malformed input.
 * Each test starts its own in-process Host on an ephemeral port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { SipEntry } from '../../app/contract';
import { withLab, type RunningLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { RawUdp, headerLines, isResponse, sipMessage } from '../helpers/raw-udp';
import { runSipp, startSipp, type SippResult } from '../helpers/sipp';
import { sipEntries } from '../helpers/lab';

const FIXTURES = fileURLToPath(new URL('../fixtures/sipp/', import.meta.url));
const scenario = (name: string) => join(FIXTURES, name);

// ------------------------------------------------------------------ helpers

/** A SIPp UAS that ends by itself after `calls` calls (-m); `done()` waits for that, then collects its stats. */
function startUas(o: { scenario: string; port: number; calls: number; transport?: 'u1' | 't1' }) {
  const uas = startSipp({ scenario: o.scenario, port: o.port, transport: o.transport, extra: ['-m', String(o.calls)] });
  return {
    ...uas,
    /** Waits up to `ms` for SIPp to exit on its own (it was told -m), then stops it and returns its stats. */
    async done(ms = 20_000): Promise<SippResult> {
      await waitExit(uas.child, ms);
      return uas.stop();
    },
    messages: () => readFileSync(join(uas.dir, 'messages.log'), 'latin1'),
  };
}

function waitExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** SIPp's UAS binds its port asynchronously after spawn. */
const settle = () => new Promise((r) => setTimeout(r, 400));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The SIP messages SIPp logged as received (-trace_msg), start line first. */
function receivedBySipp(log: string): string[] {
  const out: string[] = [];
  for (const block of log.split(/^-{20,} .*$/m)) {
    const m = /^\s*(?:UDP|TCP) message received \[\d+\] bytes :\s*\n\s*\n([\s\S]*)$/.exec(block);
    if (m) out.push(m[1]!.replace(/^\s+/, ''));
  }
  return out;
}

function sippReport(r: SippResult): string {
  return `exit ${r.code}: successful ${r.successful}, failed ${r.failed}, unexpected ${r.unexpected}, retransmissions ${r.retransmissions} (${r.dir})\n${r.stdout.slice(-1500)}`;
}

function messagesOf(lab: RunningLab, callId: string): SipEntry[] {
  const call = lab.host.getCall(callId);
  assert.ok(call, `call ${callId} was captured`);
  return sipEntries(call);
}

/** The only call the lab captured (the tests that use it place exactly one). */
function onlyCallId(lab: RunningLab): string {
  const calls = lab.host.listCalls(10);
  assert.equal(calls.length, 1, `exactly one call captured: ${calls.map((c) => c.callId).join(', ')}`);
  return calls[0]!.callId;
}

const pick = (ms: SipEntry[], direction: 'in' | 'out', label: string | RegExp) =>
  ms.filter((m) => m.direction === direction && (typeof label === 'string' ? m.label === label : label.test(m.label)));


function parseDropTotal(lab: RunningLab): number {
  return lab.host
    .snapshot()
    .drops.filter((d) => d.where === 'sip.parse')
    .reduce((n, d) => n + d.count, 0);
}

const LOAD_CALLS = 1000;
const LOAD_RATE = 200;

test('relays 1,000 SIPp calls over UDP with no failed calls and no unexpected messages on either side (RFC 3261 §16)', { timeout: 90_000 }, async () => {
  const uasPort = await freePort();
  await withLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] }, async (lab) => {
    const uas = startUas({ scenario: 'uas', port: uasPort, calls: LOAD_CALLS });
    await settle();
    const uac = await runSipp({
      scenario: 'uac',
      remote: `127.0.0.1:${lab.sipPort}`,
      port: await freePort(),
      rate: LOAD_RATE,
      calls: LOAD_CALLS,
      duration: 50,
      timeoutSec: 60,
    });
    const server = await uas.done();
    assert.equal(uac.successful, LOAD_CALLS, `UAC: ${sippReport(uac)}`);
    assert.equal(uac.failed, 0, `UAC: ${sippReport(uac)}`);
    assert.equal(uac.unexpected, 0, `UAC: ${sippReport(uac)}`);
    assert.equal(server.successful, LOAD_CALLS, `UAS: ${sippReport(server)}`);
    assert.equal(server.failed, 0, `UAS: ${sippReport(server)}`);
    assert.equal(server.unexpected, 0, `UAS: ${sippReport(server)}`);
    await lab.settle();
    const answered = lab.host.listCalls(2 * LOAD_CALLS).filter((c) => c.finalStatus === 200);
    assert.equal(answered.length, LOAD_CALLS, 'every call is captured with its 200');
  });
});

test(
  'relays 1,000 SIPp calls over TCP, upstream on the UAC connection and downstream to a ;transport=tcp Request-URI (RFC 3261 §16.6, §18.2.2)',
  { timeout: 90_000 },
  async () => {
    const uasPort = await freePort();
    // Configured route targets are always UDP (proxy-component.ts), so this lab routes by
    // Request-URI and the UAC names the UAS with ;transport=tcp.
    await withLab({ route: null }, async (lab) => {
      const uas = startUas({ scenario: 'uas', port: uasPort, calls: LOAD_CALLS, transport: 't1' });
      await settle();
      const uac = await runSipp({
        scenario: scenario('uac-tcp-to-uas.xml'),
        remote: `127.0.0.1:${lab.sipPort}`,
        port: await freePort(),
        transport: 't1',
        rate: LOAD_RATE,
        calls: LOAD_CALLS,
        duration: 50,
        timeoutSec: 60,
        extra: ['-key', 'uas_port', String(uasPort)],
      });
      const server = await uas.done();
      assert.equal(uac.successful, LOAD_CALLS, `UAC: ${sippReport(uac)}`);
      assert.equal(uac.failed, 0, `UAC: ${sippReport(uac)}`);
      assert.equal(uac.unexpected, 0, `UAC: ${sippReport(uac)}`);
      assert.equal(server.successful, LOAD_CALLS, `UAS: ${sippReport(server)}`);
      assert.equal(server.failed, 0, `UAS: ${sippReport(server)}`);
      assert.equal(server.unexpected, 0, `UAS: ${sippReport(server)}`);
      await lab.settle();
      const one = lab.host.listCalls(1)[0]!;
      const ms = messagesOf(lab, one.callId);
      assert.ok(
        ms.every((m) => m.transport === 'tcp'),
        `every message of a call travels over TCP: ${ms.map((m) => `${m.direction} ${m.label} ${m.transport}`).join(', ')}`,
      );
      const inviteOut = pick(ms, 'out', 'INVITE')[0];
      assert.ok(inviteOut, 'the INVITE was forwarded');
      assert.equal(inviteOut.dst, `127.0.0.1:${uasPort}`);
      assert.match(headerLines(inviteOut.text, 'Via')[0]!, /^Via: SIP\/2\.0\/TCP /, 'our Via names the transport we used');
    });
  },
);

test(
  'absorbs retransmitted INVITEs without forwarding them and re-sends the last provisional for each (RFC 3261 §16.10, §17.2.1)',
  { timeout: 60_000 },
  async () => {
    const uasPort = await freePort();
    await withLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] }, async (lab) => {
      const uas = startUas({ scenario: scenario('uas-slow.xml'), port: uasPort, calls: 1 });
      await settle();
      const ua = await RawUdp.open();
      try {
        const callId = `raw-${randomBytes(6).toString('hex')}@127.0.0.1`;
        const fromTag = randomBytes(4).toString('hex');
        const target = `sip:service@127.0.0.1:${lab.sipPort}`;
        const invite = sipMessage([
          `INVITE ${target} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-${randomBytes(6).toString('hex')}`,
          'Max-Forwards: 70',
          `From: <sip:raw@127.0.0.1:${ua.port}>;tag=${fromTag}`,
          `To: <${target}>`,
          `Call-ID: ${callId}`,
          'CSeq: 1 INVITE',
          `Contact: <sip:raw@127.0.0.1:${ua.port}>`,
        ]);
        // The identical bytes three times, 300 ms apart: what a UAC's Timer A would do if our 100 were lost.
        for (let i = 0; i < 3; i++) {
          if (i > 0) await sleep(300);
          await ua.send(invite, lab.sipPort);
        }
        // Once the UAS rings, the last provisional is the 180: a retransmission now gets that (§17.2.1).
        await ua.waitFor(isResponse(180, 'INVITE'), 15_000, '180 Ringing');
        await ua.send(invite, lab.sipPort);
        await ua.waitFor((t) => ua.inbox.filter(isResponse(180, 'INVITE')).length >= 2 || isResponse(200, 'INVITE')(t), 15_000, 'the 180 again');
        const ok = await ua.waitFor(isResponse(200, 'INVITE'), 15_000, '200 OK to the INVITE');
        const toLine = headerLines(ok, 'To')[0]!;
        const contact = /<([^>]+)>/.exec(headerLines(ok, 'Contact')[0] ?? '')?.[1];
        assert.ok(contact, `the 200 has a Contact: ${ok}`);
        const rr = headerLines(ok, 'Record-Route').map((l) => l.slice('Record-Route:'.length).trim());
        assert.deepEqual(rr, [`<sip:127.0.0.1:${lab.sipPort};lr>`], 'the 200 carries our Record-Route');
        const inDialog = (method: string, seq: number) =>
          sipMessage([
            `${method} ${contact} SIP/2.0`,
            `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-${randomBytes(6).toString('hex')}`,
            `Route: ${rr[0]}`,
            'Max-Forwards: 70',
            `From: <sip:raw@127.0.0.1:${ua.port}>;tag=${fromTag}`,
            toLine,
            `Call-ID: ${callId}`,
            `CSeq: ${seq} ${method}`,
          ]);
        await ua.send(inDialog('ACK', 1), lab.sipPort);
        await ua.send(inDialog('BYE', 2), lab.sipPort);
        await ua.waitFor(isResponse(200, 'BYE'), 15_000, '200 OK to the BYE');

        const server = await uas.done();
        assert.equal(server.successful, 1, `UAS: ${sippReport(server)}`);
        assert.equal(server.unexpected, 0, `UAS: ${sippReport(server)}`);
        const invitesAtUas = receivedBySipp(uas.messages()).filter((t) => t.startsWith('INVITE '));
        assert.equal(invitesAtUas.length, 1, 'the UAS saw the INVITE once');

        const ms = messagesOf(lab, callId);
        const invitesIn = pick(ms, 'in', 'INVITE');
        assert.deepEqual(
          invitesIn.map((m) => m.retransmission),
          [false, true, true, true],
          'the INVITE arrived 3 times (then once more after the 180); every copy after the first is flagged as a retransmission',
        );
        const invitesOut = pick(ms, 'out', 'INVITE');
        assert.equal(invitesOut.length, 1, 'the INVITE went downstream once');
        assert.equal(invitesOut[0]!.dst, `127.0.0.1:${uasPort}`);
        const trying = pick(ms, 'out', '100 Trying');
        assert.deepEqual(
          trying.map((m) => m.retransmission),
          [false, true, true],
          'the 100 Trying (the last provisional at 0/300/600 ms) was sent, then re-sent flagged for each retransmission before the 180',
        );
        assert.ok(
          trying.every((m) => m.dst === `127.0.0.1:${ua.port}`),
          'the provisionals went to the UAC',
        );
        assert.equal(ua.inbox.filter((t) => t.startsWith('SIP/2.0 100 ')).length, 3, 'the UAC got a 100 for each INVITE it sent before the 180');
        assert.deepEqual(
          pick(ms, 'out', /^180 /).map((m) => m.retransmission),
          [false, true],
          'the 180 was relayed, then re-sent (flagged) for the retransmission that came after it',
        );
        assert.equal(ua.inbox.filter(isResponse(180, 'INVITE')).length, 2, 'the UAC got the 180 twice');
        await lab.settle();
        assert.ok(lab.host.snapshot().sip!.retransmissionsIn >= 2, 'the snapshot counts the retransmissions in');
      } finally {
        await ua.close();
        await uas.stop();
      }
    });
  },
);

test(
  'answers 408 after Timer B when the UAS never answers, retransmitting the INVITE downstream on Timer A and absorbing the ACK (RFC 3261 §16.8, §17.1.1.2)',
  { timeout: 60_000 },
  async () => {
    const uasPort = await freePort();
    const t1 = 50; // Timer B = 64·T1 = 3.2 s
    await withLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }], timers: { T1: t1, T2: 400, T4: 500 } }, async (lab) => {
      const uas = startUas({ scenario: scenario('uas-silent.xml'), port: uasPort, calls: 1 });
      await settle();
      const uac = await runSipp({ scenario: scenario('uac-expect-408.xml'), remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, timeoutSec: 20 });
      assert.equal(uac.successful, 1, `UAC got its 408 and ACKed it: ${sippReport(uac)}`);
      assert.equal(uac.unexpected, 0, `UAC: ${sippReport(uac)}`);
      await uas.done();

      await lab.settle();
      const ms = messagesOf(lab, onlyCallId(lab));
      const inviteIn = pick(ms, 'in', 'INVITE')[0]!;
      const invitesOut = pick(ms, 'out', 'INVITE');
      assert.equal(invitesOut[0]!.retransmission, false);
      const retrans = invitesOut.slice(1);
      // Timer A fires at T1, 3·T1, 7·T1, 15·T1, 31·T1, 63·T1 (< 64·T1): up to six retransmissions before Timer B.
      assert.ok(retrans.length >= 3 && retrans.length <= 6, `Timer A retransmissions: ${retrans.length}`);
      assert.ok(
        retrans.every((m) => m.retransmission && m.dst === `127.0.0.1:${uasPort}` && m.branch === invitesOut[0]!.branch),
        'each retransmission goes to the UAS, flagged, on the same branch',
      );
      const atUas = receivedBySipp(uas.messages()).filter((t) => t.startsWith('INVITE '));
      assert.equal(atUas.length, invitesOut.length, 'the UAS saw every (re)transmission');

      const r408 = pick(ms, 'out', '408 Request Timeout');
      assert.ok(r408.length >= 1, 'the 408 went upstream');
      assert.equal(r408[0]!.retransmission, false);
      assert.ok(r408[0]!.tsUs - inviteIn.tsUs >= 64 * t1 * 1000 - 20_000, `408 after Timer B: ${(r408[0]!.tsUs - inviteIn.tsUs) / 1000} ms`);
      assert.equal(pick(ms, 'in', 'ACK').length, 1, 'the UAC ACKed the 408');
      assert.equal(pick(ms, 'out', 'ACK').length, 0, 'the ACK for our own 408 is absorbed, not forwarded');
      assert.equal(pick(ms, 'out', 'CANCEL').length, 0, 'no CANCEL for a branch that never answered (§9.1)');
    });
  },
);

test(
  'relays a 486, absorbs the UAC ACK hop-by-hop and sends the UAS its own ACK with a single Via and its branch (RFC 3261 §16.7, §17.1.1.3)',
  { timeout: 60_000 },
  async () => {
    const uasPort = await freePort();
    await withLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] }, async (lab) => {
      const uas = startUas({ scenario: scenario('uas-busy.xml'), port: uasPort, calls: 1 });
      await settle();
      const uac = await runSipp({ scenario: scenario('uac-expect-486.xml'), remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, timeoutSec: 20 });
      const server = await uas.done();
      assert.equal(uac.successful, 1, `UAC: ${sippReport(uac)}`);
      assert.equal(uac.unexpected, 0, `UAC: ${sippReport(uac)}`);
      assert.equal(server.successful, 1, `UAS: ${sippReport(server)}`);
      assert.equal(server.unexpected, 0, `UAS: ${sippReport(server)}`);

      await lab.settle();
      const ms = messagesOf(lab, onlyCallId(lab));
      assert.equal(pick(ms, 'out', '486 Busy Here').length, 1, 'the 486 went upstream');
      const ackIn = pick(ms, 'in', 'ACK');
      assert.equal(ackIn.length, 1, 'the UAC ACKed');
      const inviteIn = pick(ms, 'in', 'INVITE')[0]!;
      assert.equal(ackIn[0]!.branch, inviteIn.branch, 'the UAC ACK belongs to the INVITE transaction');
      const inviteOut = pick(ms, 'out', 'INVITE')[0]!;
      const ackOut = pick(ms, 'out', 'ACK');
      assert.equal(ackOut.length, 1, 'one ACK downstream');
      assert.equal(ackOut[0]!.dst, `127.0.0.1:${uasPort}`);
      assert.equal(ackOut[0]!.branch, inviteOut.branch, 'the downstream ACK carries our INVITE branch');
      const vias = headerLines(ackOut[0]!.text, 'Via');
      assert.equal(vias.length, 1, `a single Via: ${ackOut[0]!.text}`);
      assert.match(vias[0]!, new RegExp(`^Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${lab.sipPort};branch=${inviteOut.branch!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
      assert.doesNotMatch(ackOut[0]!.text, new RegExp(inviteIn.branch!), 'the UAC ACK was not forwarded');

      const acksAtUas = receivedBySipp(uas.messages()).filter((t) => t.startsWith('ACK '));
      assert.equal(acksAtUas.length, 1);
      assert.equal(headerLines(acksAtUas[0]!, 'Via').length, 1, `the UAS got an ACK with a single Via: ${acksAtUas[0]}`);
    });
  },
);

test(
  'answers a CANCEL during ringing with 200, cancels the branch downstream and relays its 487 (RFC 3261 §16.10, §9.1)',
  { timeout: 60_000 },
  async () => {
    const uasPort = await freePort();
    await withLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] }, async (lab) => {
      const uas = startUas({ scenario: scenario('uas-cancel.xml'), port: uasPort, calls: 1 });
      await settle();
      const uac = await runSipp({ scenario: scenario('uac-cancel.xml'), remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, timeoutSec: 20 });
      const server = await uas.done();
      assert.equal(uac.successful, 1, `UAC: ${sippReport(uac)}`);
      assert.equal(uac.unexpected, 0, `UAC: ${sippReport(uac)}`);
      assert.equal(server.successful, 1, `UAS: ${sippReport(server)}`);
      assert.equal(server.unexpected, 0, `UAS: ${sippReport(server)}`);

      await lab.settle();
      const ms = messagesOf(lab, onlyCallId(lab));
      const cancelIn = pick(ms, 'in', 'CANCEL');
      assert.equal(cancelIn.length, 1);
      const ok = pick(ms, 'out', '200 OK').filter((m) => m.cseq.endsWith(' CANCEL'));
      assert.equal(ok.length, 1, 'the CANCEL was answered 200 upstream');
      const inviteOut = pick(ms, 'out', 'INVITE')[0]!;
      const cancelOut = pick(ms, 'out', 'CANCEL');
      assert.equal(cancelOut.length, 1, 'the CANCEL was forwarded downstream');
      assert.equal(cancelOut[0]!.dst, `127.0.0.1:${uasPort}`);
      assert.equal(cancelOut[0]!.branch, inviteOut.branch, 'on the branch of the INVITE it cancels (§9.1)');
      assert.equal(headerLines(cancelOut[0]!.text, 'Via').length, 1, 'with a single Via (§9.1)');
      const ringing = pick(ms, 'in', /^180 /)[0]!;
      assert.ok(cancelOut[0]!.tsUs >= ringing.tsUs, 'only after a provisional arrived (§9.1)');
      assert.equal(pick(ms, 'out', '487 Request Terminated').length, 1, 'the 487 was relayed upstream');
      assert.equal(pick(ms, 'out', 'ACK').length, 1, 'the 487 was ACKed downstream hop-by-hop');
    });
  },
);

test(
  'drops and counts garbage, answers a request without Call-ID with a precise 400, and keeps serving (RFC 3261 §16.3 step 1, §21.4.1)',
  { timeout: 60_000 },
  async () => {
    const uasPort = await freePort();
    await withLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] }, async (lab) => {
      const ua = await RawUdp.open();
      try {
        const dropsBefore = parseDropTotal(lab);
        await ua.send('\x16\x03\x01 this is not SIP at all\r\n\r\n', lab.sipPort);
        const branch = `z9hG4bK-${randomBytes(6).toString('hex')}`;
        await ua.send(
          sipMessage([
            `OPTIONS sip:service@127.0.0.1:${lab.sipPort} SIP/2.0`,
            `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=${branch}`,
            'Max-Forwards: 70',
            `From: <sip:raw@127.0.0.1:${ua.port}>;tag=abc`,
            `To: <sip:service@127.0.0.1:${lab.sipPort}>`,
            'CSeq: 7 OPTIONS',
          ]),
          lab.sipPort,
        );
        const reply = await ua.waitFor((t) => t.startsWith('SIP/2.0 '), 10_000, 'the 400');
        // Loopback UDP keeps order and the proxy handles datagrams one at a time: a reply to the garbage would be first.
        assert.equal(ua.inbox.length, 1, `nothing but the 400 came back: ${ua.inbox.join('\n---\n')}`);
        assert.equal(reply.split('\r\n')[0], 'SIP/2.0 400 Bad Request - Missing Call-ID');
        assert.match(reply, new RegExp(`^Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${ua.port};branch=${branch}\\r?$`, 'm'));
        assert.match(reply, /^CSeq: 7 OPTIONS\r?$/m);
        await lab.settle();
        assert.equal(parseDropTotal(lab) - dropsBefore, 2, `both are counted as sip.parse drops: ${JSON.stringify(lab.host.snapshot().drops)}`);
      } finally {
        await ua.close();
      }

      const uas = startUas({ scenario: 'uas', port: uasPort, calls: 1 });
      await settle();
      const uac = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, duration: 50, timeoutSec: 20 });
      const server = await uas.done();
      assert.equal(uac.successful, 1, `a call afterwards succeeds: ${sippReport(uac)}`);
      assert.equal(server.successful, 1, `UAS: ${sippReport(server)}`);
    });
  },
);

test(
  'adds a To tag to the responses it generates itself: the 200 to a CANCEL and the 400 to a malformed request (RFC 3261 §8.2.6.2, §16.3, §16.10)',
  { timeout: 60_000 },
  async () => {
    const uasPort = await freePort();
    await withLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] }, async (lab) => {
      const uas = startUas({ scenario: scenario('uas-cancel.xml'), port: uasPort, calls: 1 });
      await settle();
      const uac = await runSipp({ scenario: scenario('uac-cancel.xml'), remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, timeoutSec: 20 });
      await uas.done();
      assert.equal(uac.successful, 1, `UAC: ${sippReport(uac)}`);
      await lab.settle();
      const ms = messagesOf(lab, onlyCallId(lab));
      const cancelOk = pick(ms, 'out', '200 OK').find((m) => m.cseq.endsWith(' CANCEL'));
      assert.ok(cancelOk, 'the CANCEL was answered');
      // Both responses are checked before asserting, so a failure names every untagged one.
      const untagged: string[] = [];
      // §16.10: the proxy answers the CANCEL itself, as a UAS; §8.2.6.2: "the UAS MUST add a tag to the To header field in the response".
      if (!/;tag=/.test(headerLines(cancelOk.text, 'To')[0] ?? '')) untagged.push(cancelOk.text);

      const ua = await RawUdp.open();
      try {
        await ua.send(
          sipMessage([
            `OPTIONS sip:service@127.0.0.1:${lab.sipPort} SIP/2.0`,
            `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-${randomBytes(6).toString('hex')}`,
            'Max-Forwards: 70',
            `From: <sip:raw@127.0.0.1:${ua.port}>;tag=abc`,
            `To: <sip:service@127.0.0.1:${lab.sipPort}>`,
            'CSeq: 7 OPTIONS',
          ]),
          lab.sipPort,
        );
        const reply = await ua.waitFor((t) => t.startsWith('SIP/2.0 400 '), 10_000, 'the 400');
        // §16.3: a request failing the checks is answered by the proxy "as a user agent server (see Section 8.2)".
        if (!/;tag=/.test(headerLines(reply, 'To')[0] ?? '')) untagged.push(reply);
      } finally {
        await ua.close();
      }
      assert.deepEqual(untagged, [], 'responses without a To tag');
    });
  },
);
