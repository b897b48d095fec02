/**
 * Every stored byte bounded: calls that never finish (OPTIONS nobody answers)
 * and large messages must not grow the console without limit. Real sockets,
 * the real proxy worker and the real host: a black-hole UAS that reads and
 * never answers, and a sender on raw UDP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startLab } from '../helpers/lab';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function options(callId: string, port: number, body = ''): Buffer {
  return Buffer.from(
    `OPTIONS sip:uas@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${callId}\r\nMax-Forwards: 70\r\n` +
      `From: <sip:probe@127.0.0.1>;tag=${callId}\r\nTo: <sip:uas@127.0.0.1>\r\nCall-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\n` +
      `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
}

const bind = (s: Socket) => new Promise<number>((r) => s.bind(0, '127.0.0.1', () => r(s.address().port)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sendPaced(sock: Socket, port: number, n: number, perTick: number, make: (i: number) => Buffer): Promise<void> {
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + perTick);
    for (; i < end; i++) sock.send(make(i), port, '127.0.0.1');
    await sleep(10);
  }
}

const MB = 2 ** 20;

test('20,000 unanswered OPTIONS and 3,000 of 60 kB leave the store within its byte budget and memory back within a bound', { timeout: 120_000 }, async (t) => {
  const blackHole = createSocket('udp4');
  blackHole.on('message', () => undefined); // reads, never answers
  const uasPort = await bind(blackHole);
  const budgetMb = 48;
  // A short T1 so the proxy's own transactions for the unanswered requests end (Timer F, 64·T1) within the test:
  // what is left after them is what the console keeps.
  const lab = await startLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }], maxStoreMb: budgetMb, timers: { T1: 50, T2: 400, T4: 500 } }, { ui: false });
  const sender = createSocket('udp4');
  const senderPort = await bind(sender);
  try {
    gc();
    const before = process.memoryUsage();
    await sendPaced(sender, lab.sipPort, 20_000, 40, (i) => options(`small-${i}`, senderPort));
    const big = 'x'.repeat(60_000);
    await sendPaced(sender, lab.sipPort, 3_000, 10, (i) => options(`large-${i}`, senderPort, big));
    await sleep(4_000); // Timer F (3.2 s) ends every transaction; the 408s are captured too
    await lab.settle();
    const s = lab.host.snapshot();
    assert.ok(s.calls.bytes <= budgetMb * MB, `the store holds ${(s.calls.bytes / MB).toFixed(1)} MB of a ${budgetMb} MB budget`);
    assert.ok(s.calls.evictedBy.bytes > 0, 'the budget evicted the oldest calls, and counted them');
    // The kernel may drop some of the burst; what arrived last is kept, what came first went first.
    assert.match(lab.host.listCalls(1)[0]?.callId ?? '', /^large-/, 'the newest calls are still there');
    assert.equal(lab.host.getCall('small-0'), null, 'the oldest went first');
    gc();
    await sleep(200);
    gc();
    const after = process.memoryUsage();
    const external = (after.arrayBuffers - before.arrayBuffers) / MB;
    const rss = (after.rss - before.rss) / MB;
    // Without the budget the 60 kB messages alone (received, forwarded, retransmitted) are over 500 MB of raw bytes.
    assert.ok(external < budgetMb + 32, `external (Buffer) memory grew by ${external.toFixed(1)} MB`);
    // Beside the store's budget, RSS holds the SIP worker's working set for 20,000 concurrent transactions
    // (about 250 MB here; V8 keeps its heap for reuse) and what glibc's malloc keeps in its arenas after the
    // proxy and the store freed their 60 kB copies (about 400 MB, reused, not returned even after the engine
    // stops; forcing such buffers into their own mappings cost the proxy half its capacity). What must hold is
    // that this is a ceiling: a second round adds nothing.
    t.diagnostic(`RSS +${rss.toFixed(0)} MB, external +${external.toFixed(0)} MB after the first round`);
    assert.ok(rss < budgetMb + 900, `RSS grew by ${rss.toFixed(1)} MB`);

    // Not growing: the same again lands in the same bound.
    await sendPaced(sender, lab.sipPort, 3_000, 10, (i) => options(`again-${i}`, senderPort, big));
    await sleep(4_000);
    await lab.settle();
    gc();
    const again = process.memoryUsage();
    assert.ok(lab.host.snapshot().calls.bytes <= budgetMb * MB);
    assert.ok((again.arrayBuffers - before.arrayBuffers) / MB < budgetMb + 32, `external memory after a second round: ${((again.arrayBuffers - before.arrayBuffers) / MB).toFixed(1)} MB`);
    assert.ok((again.rss - after.rss) / MB < 100, `RSS after a second round grew by another ${((again.rss - after.rss) / MB).toFixed(1)} MB`);
  } finally {
    sender.close();
    blackHole.close();
    await lab.stop();
  }
});

test('an answered OPTIONS is a finished call: 20,000 of them stay under the finished-call bound', { timeout: 120_000 }, async () => {
  const uas = createSocket('udp4');
  // Answers each OPTIONS 200 back to the proxy that sent it (top Via = the proxy's).
  uas.on('message', (msg, rinfo) => {
    const text = msg.toString('latin1');
    const head = text.slice(0, text.indexOf('\r\n\r\n'));
    const lines = head.split('\r\n');
    const keep = lines.filter((l) => /^(via|from|to|call-id|cseq):/i.test(l));
    const to = keep.map((l) => (/^to:/i.test(l) ? `${l};tag=uas` : l));
    uas.send(Buffer.from(`SIP/2.0 200 OK\r\n${to.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`), rinfo.port, rinfo.address);
  });
  const uasPort = await bind(uas);
  const lab = await startLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }], maxCalls: 2_000 }, { ui: false });
  const sender = createSocket('udp4');
  sender.on('message', () => undefined);
  const senderPort = await bind(sender);
  try {
    await sendPaced(sender, lab.sipPort, 20_000, 40, (i) => options(`ok-${i}`, senderPort));
    // A request or response the kernel dropped in the burst is retransmitted by the proxy (Timer E) and answered late.
    for (let waited = 0; waited < 10_000 && lab.host.snapshot().calls.active > 0; waited += 250) {
      await sleep(250);
      await lab.settle();
    }
    const s = lab.host.snapshot();
    assert.ok(s.calls.stored <= 2_000 + s.calls.active, `stored ${s.calls.stored}, active ${s.calls.active}`);
    assert.ok(s.calls.active < 500, `answered OPTIONS are not left active (${s.calls.active})`);
    assert.ok(s.calls.evictedBy['finished-limit'] >= 17_000, `evicted as finished: ${s.calls.evictedBy['finished-limit']}`);
    // The kernel may drop a datagram of the burst before the proxy reads it (the sender does not retransmit): the newest stored call stands for the last ones.
    const newest = lab.host.listCalls(1)[0];
    assert.match(newest?.callId ?? '', /^ok-/);
    assert.equal(newest?.state, 'terminated');
  } finally {
    sender.close();
    uas.close();
    await lab.stop();
  }
});
