import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { runSipp, startSipp } from '../helpers/sipp';
import { startDumpcap } from '../helpers/tshark';
import { sipEntries } from '../helpers/lab';

const shape = (ms: { label: string; src: string; dst: string }[]) => ms.map((m) => `${m.src} ${m.label} ${m.dst}`);

/**
 * The same ladder: the same arrows, in the same order on every hop. Across
 * hops the live capture may differ by one known swap (a response still in the
 * socket is stamped when read, after a relay that left first), while the wire
 * order is the truth; see capture-tshark.test.ts.
 */
function assertSameLadder(imported: string[], live: string[], what: string): void {
  assert.deepEqual([...imported].sort(), [...live].sort(), `${what}: the same arrows`);
  const perHop = (rows: string[]) => {
    const m = new Map<string, string[]>();
    for (const r of rows) {
      const [src, ...rest] = r.split(' ');
      const dst = rest.pop()!;
      const k = `${src}>${dst}`;
      m.set(k, [...(m.get(k) ?? []), rest.join(' ')]);
    }
    return Object.fromEntries([...m].sort());
  };
  assert.deepEqual(perHop(imported), perHop(live), `${what}: the same order on every hop`);
}

test('a dumpcap capture of a SIPp call imports to the same ladder the live capture showed, from pcapng and pcap (issue #5)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'callpath-import-'));
  const uasPort = await freePort();
  const live = await startLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] }, { ui: false });
  const pcapng = join(dir, 'call.pcapng');
  const dumpcap = await startDumpcap({ filter: `udp port ${live.sipPort}`, file: pcapng });
  const uas = startSipp({ scenario: 'uas', port: uasPort });
  let liveShape: string[] = [];
  let callId = '';
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${live.sipPort}`, port: await freePort(), calls: 1, duration: 100, timeoutSec: 15 });
    assert.equal(r.successful, 1, r.stdout);
    await live.settle();
    const call = live.host.listCalls(1)[0]!;
    callId = call.callId;
    liveShape = shape(sipEntries(live.host.getCall(callId)!));
  } finally {
    await new Promise((r) => setTimeout(r, 300));
    await dumpcap.stop();
    await uas.stop();
    await live.stop();
  }
  // Wireshark's classic format too, converted by its own tool.
  const pcap = join(dir, 'call.pcap');
  const conv = spawnSync('editcap', ['-F', 'pcap', pcapng, pcap]);
  assert.equal(conv.status, 0, 'editcap converts the capture');

  for (const file of [pcapng, pcap]) {
    const offline = await startLab({}, { ui: false });
    try {
      const r = offline.host.importCapture(readFileSync(file));
      assert.equal(r.calls, 1, `${file}: one call`);
      assert.deepEqual(r.skipped, {}, `${file}: nothing skipped`);
      assert.equal(offline.host.getCall(callId), null, `${file}: an imported call is not a live one`);
      const imported = offline.host.getCall(`${r.source}/${callId}`);
      assert.ok(imported, `${file}: the call is listed under its source and Call-ID`);
      assert.equal(imported.source, r.source);
      assertSameLadder(shape(sipEntries(imported)), liveShape, file);
      assert.equal(imported.state, 'terminated');
      assert.equal(imported.finalStatus, 200);
    } finally {
      await offline.stop();
    }
  }
});

test('a truncated or foreign file imports what is readable and says what was skipped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'callpath-import-'));
  const lab = await startLab({}, { ui: false });
  try {
    // A pcap of two SIP datagrams, cut in the middle of the second.
    const { pcapFile } = await import('../../engine/capture/pcap');
    const sip = (n: number) => Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK${n}\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: trunc-${n}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`);
    const whole = pcapFile([
      { tsUs: 1_000_000, transport: 'udp', src: '10.0.0.1:5060', dst: '10.0.0.2:5060', raw: sip(1) },
      { tsUs: 2_000_000, transport: 'udp', src: '10.0.0.1:5060', dst: '10.0.0.2:5060', raw: sip(2) },
    ]);
    const file = join(dir, 'cut.pcap');
    writeFileSync(file, whole.subarray(0, whole.length - 40));
    const r = lab.host.importCapture(readFileSync(file), 'cut.pcap');
    assert.equal(r.messages, 1);
    assert.deepEqual(r.skipped, { 'truncated packet': 1 });
    assert.ok(lab.host.getCall(`${r.source}/trunc-1`));
    // A file with no SIP in it is an error that says what was skipped, and adds no source.
    assert.throws(() => lab.host.importCapture(Buffer.from('definitely not a capture'), 'junk.bin'), /^Error: no SIP messages in junk\.bin \(skipped: 1 not a pcap or pcapng file\)$/);
    assert.deepEqual(lab.host.snapshot().calls.sources.map((x) => x.name), ['live', 'cut.pcap']);
  } finally {
    await lab.stop();
  }
});

test('npm run lab -- --open FILE imports at start and says so in one line; a missing file exits 2', async () => {
  const { spawn } = await import('node:child_process');
  const { pcapFile } = await import('../../engine/capture/pcap');
  const dir = mkdtempSync(join(tmpdir(), 'callpath-import-'));
  const file = join(dir, 'one.pcap');
  const raw = Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKo\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: open-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n');
  writeFileSync(file, pcapFile([{ tsUs: 1_000_000, transport: 'udp', src: '10.0.0.1:5060', dst: '10.0.0.2:5060', raw }]));
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--import', 'tsx', 'app/lab/cli.ts', '--ui', 'off', '--redis', 'off', '--ng', 'off', '--sip', '127.0.0.1:0', '--open', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!out.includes('console off') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  assert.match(out, new RegExp(`^callpath: imported 1 SIP messages in 1 calls from ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(pcap\\) as import-1$`, 'm'));

  const missing = spawnSync(process.execPath, ['--import', 'tsx', 'app/lab/cli.ts', '--ui', 'off', '--redis', 'off', '--ng', 'off', '--sip', '127.0.0.1:0', '--open', join(dir, 'nope.pcap')], { env, encoding: 'utf8', timeout: 20_000 });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr.trim(), /^callpath: cannot read capture .*nope\.pcap: ENOENT$/);
});
