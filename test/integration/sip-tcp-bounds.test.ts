/**
 * SIP/TCP connections are bounded (issue #12): past the per-source and total
 * bounds a new connection is refused at once and counted, idle ones are
 * closed, and neither the console's API nor a well-behaved peer notices.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startLab, type RunningLab } from '../helpers/lab';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` every 50 ms for up to `ms` (a busy box may take a while to accept and refuse). */
async function until(pred: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !pred() && Date.now() < end; ) await sleep(50);
}

type Conn = Awaited<ReturnType<typeof open>>;

/** Connects from `from` (any 127/8 address is this box's loopback); resolves once the lab has had time to refuse it. */
async function open(lab: RunningLab, from: string): Promise<{ sock: Socket; refused: () => boolean }> {
  const sock = connect({ host: '127.0.0.1', port: lab.sipPort, localAddress: from });
  let closed = false;
  sock.on('error', () => undefined);
  sock.on('close', () => (closed = true));
  // A refused connection may be reset before its 'connect' is reported: either way it is settled.
  await new Promise<void>((resolve) => {
    sock.once('connect', () => resolve());
    sock.once('close', () => resolve());
  });
  return { sock, refused: () => closed };
}

function invite(n: string, port: number): string {
  return [
    `OPTIONS sip:bob@127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/TCP 127.0.0.9:5099;branch=z9hG4bK-bounds-${n}`,
    'Max-Forwards: 70',
    'From: <sip:alice@127.0.0.9>;tag=a',
    `To: <sip:bob@127.0.0.1:${port}>`,
    `Call-ID: bounds-${n}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Sends an OPTIONS (routed by Request-URI back to the proxy itself: it answers with a final response either way) and waits for any response. */
async function answered(sock: Socket, text: string): Promise<string> {
  let inbound = '';
  sock.on('data', (d: Buffer) => (inbound += d.toString('latin1')));
  sock.write(text);
  for (let i = 0; i < 50 && !/^SIP\/2\.0 \d{3} /m.test(inbound); i++) await sleep(100);
  return inbound;
}

test('connections past the per-source and total bounds are refused and counted; the API and other peers carry on; idle ones are closed (RFC 3261 §18.3)', async () => {
  const lab = await startLab({ tcpMaxConns: 8, tcpMaxPerSource: 5, tcpIdleS: 2 });
  const socks: Socket[] = [];
  try {
    const fromA: Conn[] = [];
    for (let i = 0; i < 8; i++) fromA.push(await open(lab, '127.0.0.1'));
    socks.push(...fromA.map((c) => c.sock));
    await until(() => fromA.filter((c) => c.refused()).length >= 3);
    await sleep(200);
    assert.deepEqual(fromA.map((c) => c.refused()), [false, false, false, false, false, true, true, true], 'the 6th to 8th from one address are refused');

    const fromB: Conn[] = [];
    for (let i = 0; i < 4; i++) fromB.push(await open(lab, '127.0.0.2'));
    socks.push(...fromB.map((c) => c.sock));
    await until(() => fromB.some((c) => c.refused()));
    await sleep(200);
    assert.deepEqual(fromB.map((c) => c.refused()), [false, false, false, true], 'the 9th connection in all is refused');

    await lab.settle();
    await sleep(300);
    const drops = lab.host.snapshot().drops.filter((d) => d.where === 'sip.tcp');
    const count = (reason: string) => drops.find((d) => d.reason === reason)?.count ?? 0;
    assert.equal(count('refused-per-source-cap'), 3);
    assert.equal(count('refused-total-cap'), 1);

    // The console's API still answers, and says the same.
    const res = await fetch(`${lab.base}/metrics`, { headers: { authorization: `Bearer ${lab.token}` } });
    assert.equal(res.status, 200);
    const metrics = await res.text();
    assert.match(metrics, /callpath_drops_total\{where="sip\.tcp",reason="refused-per-source-cap"\} 3\b/);
    assert.match(metrics, /callpath_drops_total\{where="sip\.tcp",reason="refused-total-cap"\} 1\b/);

    // An admitted connection still carries SIP.
    assert.match(await answered(fromB[0]!.sock, invite('b0', lab.sipPort)), /^SIP\/2\.0 \d{3} /m);

    // Idle connections are closed after --tcp-idle (2 s here) and counted; then a new one is admitted and works.
    await until(() => [...fromA, ...fromB].every((c) => c.refused()), 10_000);
    assert.ok([...fromA, ...fromB].every((c) => c.refused()), 'every idle connection was closed');
    await lab.settle();
    await sleep(300);
    const idle = lab.host.snapshot().drops.find((d) => d.where === 'sip.tcp' && d.reason === 'idle-closed')?.count ?? 0;
    assert.equal(idle, 8);
    const again = await open(lab, '127.0.0.1');
    socks.push(again.sock);
    assert.match(await answered(again.sock, invite('again', lab.sipPort)), /^SIP\/2\.0 \d{3} /m);
    assert.equal(again.refused(), false);
  } finally {
    for (const s of socks) s.destroy();
    await lab.stop();
  }
});
