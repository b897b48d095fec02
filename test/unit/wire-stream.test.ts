import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMonotonicClock } from '../../engine/clock';
import { PcapngStream, readCapture } from '../../engine/capture/pcap-read';
import { parseProcNetUdp, parseUdpSnmp, emptyKernelStats, KernelUdpSampler } from '../../engine/metrics/kernel-udp';
import { DropWindows, MAX_DROP_WINDOWS } from '../../engine/metrics/drop-windows';
import { measureClockOffset } from '../../engine/wire/clock-offset';
import { parseWatchTarget } from '../../engine/wire/watch';
import { ipv4Udp, pcapng } from '../helpers/pcapng';

// ------------------------------------------------------------ a pcapng built by hand (raw IPv4, link type 101)

const FILE = pcapng(
  Array.from({ length: 20 }, (_, i) => ({
    tsUs: 1_700_000_000_000_000 + i * 137,
    frame: ipv4Udp(['127.0.0.1', 5091], ['127.0.0.1', 5060], Buffer.from(`OPTIONS sip:x SIP/2.0\r\nCall-ID: ${i}\r\n\r\n`)),
  })),
);

test('a pcapng stream read in chunks of any size gives the packets the whole file gives, with their µs timestamps', () => {
  const whole = readCapture(FILE).packets;
  assert.equal(whole.length, 20);
  for (const size of [1, 7, 64, 1000, FILE.length]) {
    const s = new PcapngStream();
    const got = [];
    for (let o = 0; o < FILE.length; o += size) got.push(...s.push(FILE.subarray(o, o + size)));
    assert.deepEqual(got.map((p) => [p.tsUs, p.src, p.dst, p.payload.toString()]), whole.map((p) => [p.tsUs, p.src, p.dst, p.payload.toString()]), `chunks of ${size}`);
    assert.deepEqual(s.skipped, {});
  }
});

test('a datagram cut by the snaplen: an import skips it; the tap\'s stream keeps its head with its full length', () => {
  const payload = Buffer.from(`INVITE sip:x SIP/2.0\r\n${'X-Pad: y\r\n'.repeat(300)}\r\n`);
  const file = pcapng([{ tsUs: 1_700_000_000_000_000, frame: ipv4Udp(['127.0.0.1', 5091], ['127.0.0.1', 5060], payload), snaplen: 1_028 }]);
  assert.deepEqual(readCapture(file).skipped, { 'packet cut by snaplen': 1 });
  const [p] = new PcapngStream(undefined, true).push(file);
  assert.equal(p!.payload.length, 1_000, 'the captured head: 1,028 bytes less the IP and UDP headers');
  assert.equal(p!.fullLength, payload.length);
  assert.ok(payload.subarray(0, 1_000).equals(p!.payload));
});

test('a stream that is not pcapng is said so once and read no further', () => {
  const s = new PcapngStream();
  assert.deepEqual(s.push(Buffer.from('hello, not a capture at all')), []);
  assert.deepEqual(s.push(FILE), []);
  assert.deepEqual(s.skipped, { 'not a pcapng stream': 1 });
});

// ------------------------------------------------------------ the kernel's side, in the real formats

const PROC_NET_UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            
  301: 0100007F:13C4 00000000:0000 07 00000000:0001F400 00:00000000 00000000     0        0 4242 2 0000000000000000 17         
  512: 00000000:0A8C 00000000:0000 07 00000000:00000000 00:00000000 00000000   109        0 5151 2 0000000000000000 0          
`;
const PROC_NET_UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  301: 00000000000000000000000001000000:13C4 00000000000000000000000000000000:0000 07 00000000:00000300 00:00000000 00000000     0        0 4243 2 0000000000000000 2
`;
const SNMP = (rcvbuf: number, inErr: number, sndbuf = 0) => `Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 100
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 34524968 9121 ${inErr} 36900754 ${rcvbuf} ${sndbuf} 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 0 0 0 0 0 0 0
`;

test('/proc/net/udp rows of the SIP port give its receive queue (hex bytes) and drops; IPv6 rows too', () => {
  assert.deepEqual(parseProcNetUdp(PROC_NET_UDP, 5060), [{ local: '127.0.0.1:5060', port: 5060, txQueueBytes: 0, rxQueueBytes: 0x1f400, drops: 17, inode: 4242 }]);
  assert.deepEqual(parseProcNetUdp(PROC_NET_UDP6, 5060), [{ local: '[::1]:5060', port: 5060, txQueueBytes: 0, rxQueueBytes: 0x300, drops: 2, inode: 4243 }]);
  assert.equal(parseProcNetUdp(PROC_NET_UDP).length, 2);
  assert.deepEqual(parseProcNetUdp(PROC_NET_UDP, 9), []);
});

test("the SIP port's rows are found among thousands of relay sockets, and a socket merely connected to that port is not one of them", () => {
  const row = (sl: number, local: string, rem: string, drops: number) => `${String(sl).padStart(5)}: ${local} ${rem} 07 00000000:00000000 00:00000000 00000000     0        0 ${9000 + sl} 2 0000000000000000 ${drops}`;
  const lines = [PROC_NET_UDP.split('\n')[0]!];
  for (let i = 0; i < 5000; i++) lines.push(row(i, `0100007F:${(16384 + i).toString(16).toUpperCase()}`, '00000000:0000', 0));
  lines.push(row(5000, '0100007F:9C40', '0100007F:13C4', 1)); // a client socket on 40000 connected to 5060
  lines.push(row(5001, '0100007F:13C4', '00000000:0000', 3));
  const text = lines.join('\n') + '\n';
  assert.deepEqual(
    parseProcNetUdp(text, 5060).map((r) => [r.local, r.drops]),
    [['127.0.0.1:5060', 3]],
  );
  assert.deepEqual(parseProcNetUdp(text, 16384 + 4999), parseProcNetUdp(text).filter((r) => r.port === 16384 + 4999));
});

test('/proc/net/snmp gives the Udp counters by their header names, not UdpLite', () => {
  assert.deepEqual(parseUdpSnmp(SNMP(2366082, 2366090, 7)), { inDatagrams: 34524968, inErrors: 2366090, rcvbufErrors: 2366082, sndbufErrors: 7 });
  assert.equal(parseUdpSnmp('Ip: a\nIp: 1\n'), null);
});

test("the sampler counts SndbufErrors over the last minute and reads the kernel's buffer sizes; without /proc/sys they are unknown, not zero", async () => {
  let sndbuf = 10;
  let now = 0;
  const clock = { nowUs: () => now * 1000, monoMs: () => now };
  const limits: Record<string, string> = { rmem_default: '212992\n', rmem_max: '212992\n', wmem_default: '212992\n', wmem_max: '4194304\n' };
  const s = new KernelUdpSampler(async (p) => (p === '/proc/net/snmp' ? SNMP(0, 0, sndbuf) : p.startsWith('/proc/sys/net/core/') ? limits[p.slice(19)]! : ''), () => null, clock);
  await s.sample();
  assert.deepEqual(s.stats().bufferLimits, { rmemDefault: 212_992, rmemMax: 212_992, wmemDefault: 212_992, wmemMax: 4_194_304 });
  now = 1_000;
  sndbuf = 13;
  await s.sample();
  assert.deepEqual(s.stats().sndbufErrors, { interval: 3, lastMinute: 3, total: 3 });
  now = 62_000;
  await s.sample();
  assert.equal(s.stats().sndbufErrors.lastMinute, 0, 'a minute on, the rise is history');
  assert.equal(s.stats().sndbufErrors.total, 3);
  const hidden = new KernelUdpSampler(async (p) => {
    if (p === '/proc/net/snmp') return SNMP(0, 0);
    throw new Error(`ENOENT: ${p}`);
  }, () => null, clock);
  await hidden.sample();
  assert.equal(hidden.stats().bufferLimits, null);
  assert.equal(hidden.stats().unavailable, null, 'the counters are still read');
});

test('the sampler reports the SIP socket and the UDP drop deltas per interval and since it started', async () => {
  let rcvbuf = 100;
  const files: Record<string, () => string> = { '/proc/net/snmp': () => SNMP(rcvbuf, rcvbuf + 5), '/proc/net/udp': () => PROC_NET_UDP, '/proc/net/udp6': () => PROC_NET_UDP6 };
  const s = new KernelUdpSampler(async (p) => files[p]!(), () => 5060, createMonotonicClock());
  await s.sample();
  rcvbuf = 130;
  await s.sample();
  rcvbuf = 131;
  await s.sample();
  const k = s.stats();
  assert.deepEqual([k.port, k.rxQueueBytes, k.socketDrops], [5060, 0x1f400 + 0x300, 19]);
  assert.deepEqual(k.rcvbufErrors, { interval: 1, lastMinute: 31, total: 31 });
  assert.deepEqual(k.inErrors, { interval: 1, lastMinute: 31, total: 31 });
  assert.equal(k.socketIntervalMs, 1_000, 'cheap reads: the socket rows every interval');
  const broken = new KernelUdpSampler(async () => {
    throw new Error('ENOENT: no such file');
  }, () => 5060, createMonotonicClock());
  await broken.sample();
  assert.match(broken.stats().unavailable!, /^cannot read the kernel's UDP figures: ENOENT/);
});

test('a costly /proc/net/udp (thousands of relay sockets) is read at most 1% of the time; the snmp counters every interval', async () => {
  let now = 0;
  const reads: string[] = [];
  let rcvbuf = 0;
  const files: Record<string, () => string> = { '/proc/net/snmp': () => SNMP(rcvbuf, rcvbuf), '/proc/net/udp': () => PROC_NET_UDP, '/proc/net/udp6': () => PROC_NET_UDP6 };
  const s = new KernelUdpSampler(
    async (p) => {
      reads.push(p);
      if (p === '/proc/net/udp') now += 40; // 40 ms of kernel time to list the sockets
      return files[p]!();
    },
    () => 5060,
    { monoMs: () => now, nowUs: () => now * 1_000 },
  );
  for (let i = 0; i < 10; i++) {
    rcvbuf += 2;
    await s.sample();
    now = (i + 1) * 1_000;
  }
  assert.equal(reads.filter((p) => p === '/proc/net/snmp').length, 10);
  assert.equal(reads.filter((p) => p === '/proc/net/udp').length, 3, 'at t = 0, 4 and 8 s: 40 ms of every 4 s');
  const k = s.stats();
  assert.equal(k.socketIntervalMs, 4_000);
  assert.deepEqual([k.rxQueueBytes, k.socketDrops], [0x1f400 + 0x300, 19], 'the last rows read stand between reads');
  assert.deepEqual(k.rcvbufErrors.interval, 2);
});

test("the sampler keeps when the drop counters rose, on the engine's clock: between the two reads that saw a rise, touching windows merged, the SIP socket's drops too", async () => {
  let t = 0;
  let rcvbuf = 100;
  let inErr = 100;
  let socketDrops = 17;
  const udp = () => PROC_NET_UDP.replace('0000000000000000 17', `0000000000000000 ${socketDrops}`);
  const files: Record<string, () => string> = { '/proc/net/snmp': () => SNMP(rcvbuf, inErr), '/proc/net/udp': udp, '/proc/net/udp6': () => '' };
  const base = 1_700_000_000_000_000;
  const s = new KernelUdpSampler(async (p) => files[p]!(), () => 5060, { monoMs: () => t * 1_000, nowUs: () => base + t * 1_000_000 });
  const at = (from: number, to: number) => ({ fromUs: base + from * 1_000_000, toUs: base + to * 1_000_000 });
  const steps: (() => void)[] = [
    () => undefined, // t0: the first read, nothing to compare with
    () => rcvbuf++, // t1
    () => rcvbuf++, // t2: touches t0–t1, merged
    () => undefined,
    () => undefined,
    () => inErr++, // t5: InErrors alone
    () => undefined,
    () => (socketDrops = 20), // t7: the SIP socket's own drops
    () => (socketDrops = 0), // t8: a new socket (the proxy restarted): counts from 0, no rise
    () => (socketDrops = 1), // t9
  ];
  for (const [i, step] of steps.entries()) {
    t = i;
    step();
    await s.sample();
  }
  assert.deepEqual(s.stats().dropWindows, [at(0, 2), at(4, 5), at(6, 7), at(8, 9)]);
  assert.deepEqual(emptyKernelStats().dropWindows, []);
});

test('the last minute of drops: a rise stays counted for a minute of reads after it stopped, then leaves; a new SIP socket starts its minute again', async () => {
  let t = 0;
  let rcvbuf = 100;
  let socketDrops = 5;
  const udp = () => PROC_NET_UDP.replace('0000000000000000 17', `0000000000000000 ${socketDrops}`);
  const files: Record<string, () => string> = { '/proc/net/snmp': () => SNMP(rcvbuf, 100), '/proc/net/udp': udp, '/proc/net/udp6': () => '' };
  const s = new KernelUdpSampler(async (p) => files[p]!(), () => 5060, { monoMs: () => t * 1_000, nowUs: () => t * 1_000_000 });
  const at = async (sec: number, change: () => void = () => undefined) => {
    t = sec;
    change();
    await s.sample();
    const k = s.stats();
    return [k.rcvbufErrors.interval, k.rcvbufErrors.lastMinute, k.socketDropsLastMinute];
  };
  assert.deepEqual(await at(0), [0, 0, 0]);
  assert.deepEqual(await at(1, () => ((rcvbuf = 103), (socketDrops = 7))), [3, 3, 2]);
  assert.deepEqual(await at(30), [0, 3, 2], 'half a minute on: no rise in the last read, still the minute\'s');
  assert.deepEqual(await at(61), [0, 0, 0], 'a minute after the last read that saw it: gone');
  assert.deepEqual(await at(62, () => (socketDrops = 1)), [0, 0, 0], 'a new socket on the same port counts from its own start');
  assert.deepEqual(await at(63, () => (socketDrops = 3)), [0, 0, 2]);
});

test('drop windows: overlapping ones merge whatever order they come in, and only the newest 32 are kept', () => {
  const w = new DropWindows();
  w.rose(10, 20);
  w.rose(30, 40);
  w.rose(15, 35); // a socket read spanning both
  w.rose(5, 1); // backwards: ignored
  assert.deepEqual(w.list(), [{ fromUs: 10, toUs: 40 }]);
  for (let i = 0; i < 40; i++) w.rose(100 + i * 10, 105 + i * 10);
  const kept = w.list();
  assert.equal(kept.length, MAX_DROP_WINDOWS);
  assert.deepEqual(kept[0], { fromUs: 180, toUs: 185 }, 'the oldest went first');
  assert.deepEqual(kept.at(-1), { fromUs: 490, toUs: 495 });
});

// ------------------------------------------------------------ clocks and flags

test('the clock offset is read at a millisecond edge of Date.now(), to within the reads around it', () => {
  // A fake realtime 250.4 µs ahead of the engine clock, ticking with it.
  let engineUs = 1_000_000_000;
  const clock = { nowUs: () => (engineUs += 3), monoMs: () => engineUs / 1000 };
  const now = () => Math.floor((engineUs + 250.4) / 1000);
  const o = measureClockOffset(clock, 3, now);
  assert.ok(Math.abs(o.offsetUs - 250.4) <= o.spreadUs, `${o.offsetUs} ± ${o.spreadUs}`);
  assert.ok(o.spreadUs <= 9);
});

test('--watch IFACE[:FILTER] takes a BPF filter after the first colon, port 5060 by default', () => {
  assert.deepEqual(parseWatchTarget('lo'), { iface: 'lo', filter: 'port 5060' });
  assert.deepEqual(parseWatchTarget('eth0:udp port 5070 or port 5080'), { iface: 'eth0', filter: 'udp port 5070 or port 5080' });
  assert.equal(parseWatchTarget('bad iface'), null);
  assert.equal(parseWatchTarget('lo:'), null);
});

// ------------------------------------------------------------ the engine time travels with the message

test('a message\'s engine time and who saw it go through the store, the contract entry and the JSON export and back', async () => {
  const { CallStore } = await import('../../engine/call/store');
  const { detailOf } = await import('../../app/entries');
  const { importJson } = await import('../../engine/capture/import-json');
  const { EXPORT_SCHEMA_VERSION } = await import('../../engine/capture/formats');
  const raw = Buffer.from('INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n');
  const store = new CallStore();
  store.record({
    kind: 'sip', tsUs: 1_000, engineTsUs: 85_163, seen: 'both', callId: 'c1', direction: 'in', transport: 'udp', src: '127.0.0.1:5091', dst: '127.0.0.1:5060',
    cseqSeq: 1, cseqMethod: 'INVITE', method: 'INVITE', status: null, label: 'INVITE', branch: 'z9hG4bK1', size: raw.length, raw, retransmission: false,
  });
  const detail = detailOf(store.get('c1')!);
  const entry = detail.entries[0]! as { engineTsUs?: number; seen?: string; tsUs: number };
  assert.deepEqual([entry.tsUs, entry.engineTsUs, entry.seen], [1_000, 85_163, 'both']);
  const doc = { schemaVersion: EXPORT_SCHEMA_VERSION, exportedBy: 'callpath', call: { ...detail, entries: detail.entries.map((e) => ({ ...e, raw: raw.toString('base64') })) } };
  const back = importJson(Buffer.from(JSON.stringify(doc))).events[0]!;
  assert.deepEqual(back.kind === 'sip' ? [back.tsUs, back.engineTsUs, back.seen] : null, [1_000, 85_163, 'both']);
});

test('--wire takes auto, off or an interface, --watch IFACE[:FILTER]; a bad value is one line', async () => {
  const { parseLabArgs, DEFAULT_CONFIG } = await import('../../app/config');
  const parse = (...argv: string[]) => parseLabArgs(argv, {}, () => '{"wire": false, "watch": "lo:udp port 5070"}');
  assert.equal(DEFAULT_CONFIG.wire, 'auto');
  assert.equal(DEFAULT_CONFIG.watch, null);
  const on = parse('--wire', 'eth0', '--watch', 'lo:udp port 5070');
  assert.ok(on.ok);
  assert.deepEqual([on.config.wire, on.config.watch], [{ iface: 'eth0' }, { iface: 'lo', filter: 'udp port 5070' }]);
  const off = parse('--wire', 'off', '--watch', 'off');
  assert.ok(off.ok);
  assert.deepEqual([off.config.wire, off.config.watch], ['off', null]);
  const file = parse('--config', 'c.json');
  assert.ok(file.ok);
  assert.deepEqual([file.config.wire, file.config.watch], ['off', { iface: 'lo', filter: 'udp port 5070' }]);
  const bad = parse('--wire', 'not an iface');
  assert.deepEqual(bad, { ok: false, error: '--wire: "not an iface" is not auto, off or an interface name' });
  const badWatch = parse('--watch', 'lo:');
  assert.ok(!badWatch.ok && badWatch.error.startsWith('--watch: "lo:" is not IFACE[:FILTER]'));
});

/** /proc texts where the second /proc/net/udp row (port 0x0A8C = 2700, inode 5151) is the built-in traffic's socket, with its drops, and the box's RcvbufErrors/InErrors. */
function generatorProcFiles(rcvbuf: () => number, generatorDrops: () => number): Record<string, () => string> {
  return {
    '/proc/net/snmp': () => SNMP(rcvbuf(), rcvbuf()),
    '/proc/net/udp': () => PROC_NET_UDP.replace('5151 2 0000000000000000 0 ', `5151 2 0000000000000000 ${generatorDrops()} `),
    '/proc/net/udp6': () => '',
  };
}

test("the built-in traffic's own sockets: what they drop is left out of the box's counters (and said), even when its sockets are read only every few seconds", async () => {
  let now = 0;
  let rcvbuf = 100;
  let generatorDrops = 0;
  let generatorOn = true;
  const files = generatorProcFiles(() => rcvbuf, () => generatorDrops);
  const s = new KernelUdpSampler(
    async (p) => {
      if (p === '/proc/net/udp') now += 30; // costly: the socket rows are read every 3 s, the counters every second
      return files[p]!();
    },
    () => 5060,
    { monoMs: () => now, nowUs: () => now * 1_000 },
    () => (generatorOn ? [2700] : []),
  );
  const at = async (sec: number, change: () => void = () => undefined) => {
    now = sec * 1_000;
    change();
    await s.sample();
    const k = s.stats();
    return { box: k.rcvbufErrors.lastMinute, less: k.lessGenerator.rcvbufErrors, generator: k.generatorDrops.lastMinute, windows: k.dropWindows.length };
  };
  assert.deepEqual(await at(0), { box: 0, less: 0, generator: 0, windows: 0 });
  // The generator falls behind between two reads of its socket: the box's count rises at once, the board's does not.
  assert.deepEqual(await at(1, () => ((rcvbuf += 40), (generatorDrops += 40))), { box: 40, less: 0, generator: 0, windows: 0 }, 'its socket not read yet: nothing charged to the call path');
  assert.deepEqual(await at(2), { box: 40, less: 0, generator: 0, windows: 0 });
  assert.deepEqual(await at(3), { box: 40, less: 0, generator: 40, windows: 0 }, 'read together: all of it the generator\'s, no drop window');
  // Another socket drops 3 (the relay, another process): those are the board's.
  assert.deepEqual(await at(4, () => (rcvbuf += 3)), { box: 43, less: 0, generator: 40, windows: 0 });
  assert.deepEqual(await at(6), { box: 43, less: 3, generator: 40, windows: 1 });
  const k = s.stats();
  assert.deepEqual(k.generatorDrops.ports, [2700]);
  assert.equal(k.generatorDrops.total, 40);
  assert.deepEqual(k.dropWindows, [{ fromUs: 3_000_000, toUs: 6_000_000 }], 'the window spans the two reads that took both');
  // The traffic stops: its total stays, and every read counts again.
  generatorOn = false;
  assert.deepEqual(await at(7, () => (rcvbuf += 1)), { box: 44, less: 4, generator: 40, windows: 1 });
  assert.deepEqual(await at(70), { box: 0, less: 0, generator: 0, windows: 1 }, 'a minute on: all gone from the minute');
  assert.equal(s.stats().generatorDrops.total, 40);
});

test("a generator that drops while its sockets are read leaves none of it on the board: only drops certain to be another socket's count", async () => {
  let now = 0;
  let rcvbuf = 100;
  let generatorDrops = 0;
  // What the saturated generator drops in the milliseconds its socket rows are being read: in its row, and in the box's counter after the first read.
  let duringRead = 0;
  const files = generatorProcFiles(() => rcvbuf, () => generatorDrops);
  const s = new KernelUdpSampler(
    async (p) => {
      if (p === '/proc/net/udp') {
        generatorDrops += duringRead;
        rcvbuf += duringRead;
      }
      return files[p]!();
    },
    () => 5060,
    { monoMs: () => now, nowUs: () => now * 1_000 },
    () => [2700],
  );
  const at = async (sec: number, during: number, between = 0) => {
    now = sec * 1_000;
    duringRead = during;
    generatorDrops += between;
    rcvbuf += between;
    await s.sample();
    const k = s.stats();
    return { less: k.lessGenerator.rcvbufErrors, windows: k.dropWindows.length };
  };
  // The generator drops thousands between reads and a varying number during them, for over a minute: never the board's.
  for (const [sec, during] of [[0, 900], [1, 10], [2, 860], [3, 5], [30, 700], [61, 3], [62, 0], [63, 0]] as const) {
    assert.deepEqual(await at(sec, during, 2_000), { less: 0, windows: 0 }, `at ${sec} s (${during} during the read)`);
  }
  // Another socket drops 3 while the generator is quiet: certain, so counted, with its window.
  rcvbuf += 3;
  assert.deepEqual(await at(64, 0), { less: 3, windows: 1 });
});

test("the built-in traffic's last-minute drops run out with the proxy stopped and the traffic off, when no socket is read any more", async () => {
  let now = 0;
  let rcvbuf = 100;
  let generatorDrops = 0;
  let running = true;
  const files = generatorProcFiles(() => rcvbuf, () => generatorDrops);
  const s = new KernelUdpSampler(async (p) => files[p]!(), () => (running ? 5060 : null), { monoMs: () => now, nowUs: () => now * 1_000 }, () => (running ? [2700] : []));
  const at = async (sec: number) => {
    now = sec * 1_000;
    await s.sample();
    return s.stats().generatorDrops.lastMinute;
  };
  await at(0);
  rcvbuf += 25;
  generatorDrops += 25;
  assert.equal(await at(1), 25);
  running = false; // proxy and traffic stopped: /proc/net/udp is no longer read
  assert.equal(await at(2), 25, 'still inside the minute');
  assert.equal(await at(62), 0, 'a minute on, the traffic panel no longer says it dropped any');
  assert.equal(s.stats().generatorDrops.total, 25, 'the total stays');
});
