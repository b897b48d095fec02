/**
 * A next hop that cannot be reached must become a 503 upstream (RFC 3261
 * §16.9: a transport error is "as if the client transaction received a
 * 503"; §18.4: ICMP errors are transport errors), not a 408 after Timer B's
 * 32 s of silence. Real sockets on loopback: the kernel's own ICMP port
 * unreachable, the kernel's own refusal to send to a broadcast address, and a
 * real SIPp UAS once the hop comes back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { SipEntry } from '../../app/contract';
import { withLab, type RunningLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { RawUdp, headerLines, isResponse, sipMessage } from '../helpers/raw-udp';
import { runSipp, startSipp } from '../helpers/sipp';
import { sipEntries } from '../helpers/lab';


const hex = (n: number) => randomBytes(n).toString('hex');

function invite(ua: RawUdp, sipPort: number, callId: string, branch: string): string {
  return sipMessage([
    `INVITE sip:bob@127.0.0.1:${sipPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=${branch}`,
    'Max-Forwards: 70',
    `From: <sip:raw@127.0.0.1:${ua.port}>;tag=u1`,
    `To: <sip:bob@127.0.0.1:${sipPort}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:raw@127.0.0.1:${ua.port}>`,
  ]);
}

/** The ACK for a non-2xx final response: same branch as the INVITE, To from the response (§17.1.1.3). */
function ackFor(ua: RawUdp, sipPort: number, callId: string, branch: string, response: string): string {
  return sipMessage([
    `ACK sip:bob@127.0.0.1:${sipPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=${branch}`,
    'Max-Forwards: 70',
    `From: <sip:raw@127.0.0.1:${ua.port}>;tag=u1`,
    headerLines(response, 'To')[0]!,
    `Call-ID: ${callId}`,
    'CSeq: 1 ACK',
  ]);
}

/** What the proxy sent for one call, in order: "INVITE", "INVITE (retransmission)", "503 …". */
function sentLadder(lab: RunningLab, callId: string): string[] {
  const call = lab.host.getCall(callId);
  assert.ok(call, `call ${callId} was captured`);
  return sipEntries(call).filter((m: SipEntry) => m.direction === 'out').map((m) => (m.retransmission ? `${m.label} (retransmission)` : m.label));
}

function udpCount(lab: RunningLab, reason: string): number {
  return lab.host.snapshot().drops.find((d) => d.where === 'sip.udp' && d.reason === reason)?.count ?? 0;
}

test(
  'a UDP next hop with no one on its port: the ICMP port unreachable becomes 503 at the first retransmission, the next call gets it at once, and a UAS that comes up there is used again (RFC 3261 §16.9, §18.4)',
  { timeout: 60_000 },
  async () => {
    const deadPort = await freePort();
    // T1 = 100 ms: Timer A at 100 ms, Timer B (the 408 this must beat) at 6.4 s.
    await withLab({ route: [{ host: '127.0.0.1', port: deadPort, transport: 'udp' }], timers: { T1: 100, T2: 400, T4: 500 } }, async (lab) => {
      const ua = await RawUdp.open();
      try {
        const first = `dead-hop-${hex(6)}`;
        const firstBranch = `z9hG4bK-${hex(6)}`;
        await ua.send(invite(ua, lab.sipPort, first, firstBranch), lab.sipPort);
        const reply = await ua.waitFor((t) => t.startsWith('SIP/2.0 503 ') && t.includes(first), 5_000, 'the 503 (Timer B would give 408 at 6.4 s)');
        assert.equal(reply.split('\r\n')[0], 'SIP/2.0 503 Service Unavailable - Next Hop Port Unreachable');
        await ua.send(ackFor(ua, lab.sipPort, first, firstBranch, reply), lab.sipPort);
        await lab.settle();
        assert.deepEqual(
          sentLadder(lab, first),
          ['100 Trying', 'INVITE', 'INVITE (retransmission)', '503 Service Unavailable - Next Hop Port Unreachable'],
          'the hop was asked once it had left the INVITE unanswered for T1, and the ACK for our 503 was absorbed',
        );
        assert.ok(udpCount(lab, 'next-hop-unreachable ECONNREFUSED') >= 1, `the ICMP error is counted: ${JSON.stringify(lab.host.snapshot().drops)}`);

        // The hop is known dead: the next INVITE to it is probed as it goes, so its 503 needs no retransmission first.
        const second = `dead-hop-${hex(6)}`;
        const secondBranch = `z9hG4bK-${hex(6)}`;
        await ua.send(invite(ua, lab.sipPort, second, secondBranch), lab.sipPort);
        const reply2 = await ua.waitFor((t) => t.startsWith('SIP/2.0 503 ') && t.includes(second), 5_000, 'the second 503');
        await ua.send(ackFor(ua, lab.sipPort, second, secondBranch, reply2), lab.sipPort);
        await lab.settle();
        assert.deepEqual(sentLadder(lab, second), ['100 Trying', 'INVITE', '503 Service Unavailable - Next Hop Port Unreachable']);
      } finally {
        await ua.close();
      }

      // Someone listens there now: calls go through again, and the UAS takes our probe for the keep-alive it is.
      const uas = startSipp({ scenario: 'uas', port: deadPort, extra: ['-m', '1'] });
      try {
        await new Promise((r) => setTimeout(r, 500));
        const uac = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, duration: 50, timeoutSec: 20 });
        assert.equal(uac.successful, 1, `a call to the revived hop succeeds: exit ${uac.code}, failed ${uac.failed} (${uac.dir})`);
        assert.equal(uac.unexpected, 0);
      } finally {
        const server = await uas.stop();
        assert.equal(server.unexpected, 0, `the UAS saw nothing unexpected (${server.dir})`);
      }
    });
  },
);

test(
  'a UDP next hop the socket may not send to (a broadcast address: EACCES) becomes 503 at once, counted, not 408 after Timer B (RFC 3261 §16.9, §18.4)',
  { timeout: 30_000 },
  async () => {
    await withLab({ route: [{ host: '255.255.255.255', port: 5060, transport: 'udp' }] }, async (lab) => {
      const ua = await RawUdp.open();
      try {
        const callId = `unsendable-${hex(6)}`;
        await ua.send(invite(ua, lab.sipPort, callId, `z9hG4bK-${hex(6)}`), lab.sipPort);
        const reply = await ua.waitFor(isResponse(503, 'INVITE'), 5_000, 'the 503');
        assert.equal(reply.split('\r\n')[0], 'SIP/2.0 503 Service Unavailable - Sending To Next Hop Not Permitted');
        await lab.settle();
        // The failure is the send's own: no Timer A retransmission (T1 = 500 ms) came before it.
        assert.deepEqual(sentLadder(lab, callId), ['100 Trying', 'INVITE', '503 Service Unavailable - Sending To Next Hop Not Permitted']);
        assert.equal(udpCount(lab, 'send-error EACCES'), 1, `the failed send is counted: ${JSON.stringify(lab.host.snapshot().drops)}`);
      } finally {
        await ua.close();
      }
    });
  },
);

test(
  'a TCP next hop that refuses the connection: every INVITE sent while it was opening gets 503, not only the first (RFC 3261 §16.9, §18.4)',
  { timeout: 30_000 },
  async () => {
    const deadPort = await freePort();
    await withLab({ route: [{ host: '127.0.0.1', port: deadPort, transport: 'tcp' }] }, async (lab) => {
      const ua = await RawUdp.open();
      try {
        const calls = [0, 1, 2].map(() => `tcp-refused-${hex(6)}`);
        // Sent back to back: all three reach the connection before the refusal does.
        for (const callId of calls) await ua.send(invite(ua, lab.sipPort, callId, `z9hG4bK-${hex(6)}`), lab.sipPort);
        for (const callId of calls) {
          // Timer B over TCP is 32 s: a 503 within 5 s is the connection's failure, not a timeout.
          const reply = await ua.waitFor((t) => t.startsWith('SIP/2.0 503 ') && t.includes(callId), 5_000, `the 503 for ${callId}`);
          assert.equal(reply.split('\r\n')[0], 'SIP/2.0 503 Service Unavailable - Next Hop Port Unreachable');
        }
        await lab.settle();
        for (const callId of calls) assert.deepEqual(sentLadder(lab, callId), ['100 Trying', 'INVITE', '503 Service Unavailable - Next Hop Port Unreachable']);
      } finally {
        await ua.close();
      }
    });
  },
);
