/**
 * UdpReachability on real loopback sockets: the kernel's own ICMP port
 * unreachable, and a real socket standing in for a live hop to count what
 * reaches it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { DropCounters } from '../../engine/metrics/drops';
import { PROBE_PAYLOAD, UdpReachability } from '../../engine/sip/transport/udp-reachability';
import type { NextHop } from '../../engine/net/host-port';
import { freePort } from '../helpers/ports';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rig(probeIntervalMs = 200) {
  const drops = new DropCounters();
  const r = new UdpReachability({ localHost: '127.0.0.1', monoMs: () => performance.now(), drops, probeIntervalMs, suspectMs: 1_000 });
  return { r, drops };
}

async function liveHop(): Promise<{ peer: NextHop; received: Buffer[]; close: () => void }> {
  const sock = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  sock.on('message', (m) => received.push(m));
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  return { peer: { transport: 'udp', host: '127.0.0.1', port: sock.address().port }, received, close: () => sock.close() };
}

test('every transaction waiting on a dead hop hears of its ICMP error from one probe, and the error is counted once', async () => {
  const { r, drops } = rig(5_000);
  const peer: NextHop = { transport: 'udp', host: '127.0.0.1', port: await freePort() };
  const heard: string[] = [];
  try {
    for (let i = 0; i < 20; i++) r.probe(peer, (err) => heard.push((err as NodeJS.ErrnoException).code ?? '?'));
    await sleep(100);
    assert.deepEqual(heard, Array(20).fill('ECONNREFUSED'));
    assert.equal(drops.get('sip.udp', 'next-hop-unreachable ECONNREFUSED'), 1);
    assert.equal(r.suspect(peer), true, 'a hop just found dead is suspect');
    assert.equal(r.suspect({ ...peer, port: peer.port === 65535 ? 65534 : peer.port + 1 }), false, 'another hop is not');

    // Within the interval the verdict stands: a new asker hears it without a new probe.
    let late: unknown;
    r.probe(peer, (err) => (late = err));
    await sleep(10);
    assert.equal((late as NodeJS.ErrnoException | undefined)?.code, 'ECONNREFUSED');
    assert.equal(drops.get('sip.udp', 'next-hop-unreachable ECONNREFUSED'), 1);
  } finally {
    r.close();
  }
});

test('a live hop gets one keep-alive per interval however many ask, and no asker is failed', async () => {
  const { r, drops } = rig(200);
  const hop = await liveHop();
  let failed = 0;
  try {
    for (let i = 0; i < 50; i++) r.probe(hop.peer, () => failed++);
    await sleep(100);
    assert.equal(hop.received.length, 1, 'one probe for fifty askers');
    assert.deepEqual(hop.received[0], PROBE_PAYLOAD, 'the probe is a CRLFCRLF keep-alive');
    await sleep(150);
    r.probe(hop.peer, () => failed++);
    await sleep(50);
    assert.equal(hop.received.length, 2, 'the next interval probes again');
    assert.equal(failed, 0);
    assert.deepEqual(drops.list(), []);
    assert.equal(r.suspect(hop.peer), false);
  } finally {
    r.close();
    hop.close();
  }
});

test('a hop that comes back after an ICMP error is not failed once a new interval has begun', async () => {
  const { r } = rig(100);
  const port = await freePort();
  const peer: NextHop = { transport: 'udp', host: '127.0.0.1', port };
  try {
    let first: unknown;
    r.probe(peer, (err) => (first = err));
    await sleep(50);
    assert.ok(first, 'dead at first');
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(port, '127.0.0.1', () => resolve()));
    try {
      await sleep(100);
      let again: unknown;
      r.probe(peer, (err) => (again = err));
      await sleep(100);
      assert.equal(again, undefined, 'alive again: no verdict');
    } finally {
      sock.close();
    }
  } finally {
    r.close();
  }
});

test('a hop the kernel will not connect to (a broadcast address) is unreachable at once, and asked again later it still is', async () => {
  const { r, drops } = rig(50);
  const peer: NextHop = { transport: 'udp', host: '255.255.255.255', port: 5060 };
  try {
    const codes: string[] = [];
    r.probe(peer, (err) => codes.push((err as NodeJS.ErrnoException).code ?? '?'));
    await sleep(80);
    r.probe(peer, (err) => codes.push((err as NodeJS.ErrnoException).code ?? '?'));
    await sleep(80);
    assert.deepEqual(codes, ['EACCES', 'EACCES']);
    assert.equal(drops.get('sip.udp', 'next-hop-unreachable EACCES'), 2);
  } finally {
    r.close();
  }
});

test('after close, probes still in flight report nothing and a new probe is not sent', async () => {
  const { r } = rig(50);
  const heard: unknown[] = [];
  for (let i = 0; i < 10; i++) r.probe({ transport: 'udp', host: '127.0.0.1', port: await freePort() }, (err) => heard.push(err));
  r.close();
  await sleep(100);
  assert.equal(heard.length, 0, 'nothing is reported after close');
  r.probe({ transport: 'udp', host: '127.0.0.1', port: 9 }, (err) => heard.push(err));
  await sleep(50);
  assert.equal(heard.length, 0, 'a closed watcher probes nothing');
});
