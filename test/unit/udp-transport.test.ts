/** The UDP transport on a real loopback socket: what reaches the proxy core, and what is only counted. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { DropCounters } from '../../engine/metrics/drops';
import { openUdpTransport } from '../../engine/sip/transport/udp';

test('a datagram of nothing but CRLFs is counted as a keep-alive and never reaches the proxy; a SIP message starting with CRLF does (RFC 5626 §3.5.1, RFC 3261 §7.5)', async () => {
  const drops = new DropCounters();
  const delivered: string[] = [];
  const t = await openUdpTransport('127.0.0.1', 0, (d) => delivered.push(d.toString('latin1')), drops, (err) => assert.fail(err), {
    monoMs: () => performance.now(),
    probeIntervalMs: 500,
  });
  const ua = dgram.createSocket('udp4');
  try {
    const send = (text: string) => new Promise<void>((resolve, reject) => ua.send(Buffer.from(text, 'latin1'), t.port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    await send('\r\n\r\n');
    await send('\n');
    await send('\r\nOPTIONS sip:a@127.0.0.1 SIP/2.0\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(delivered, ['\r\nOPTIONS sip:a@127.0.0.1 SIP/2.0\r\n\r\n']);
    assert.equal(drops.get('sip.keepalive', 'udp'), 2);
  } finally {
    ua.close();
    await t.close();
  }
});
