import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallDetail, CallSummary } from '../../app/contract';
import { pcapFile } from '../../engine/capture/pcap';
import { startLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { runSipp, startSipp } from '../helpers/sipp';
import { inTimeOrder, sipEntries } from '../helpers/lab';

interface WireRow {
  tsUs: number;
  src: string;
  dst: string;
  callId: string;
  cseq: string;
  label: string;
}

function tsharkRows(file: string, transport: 'udp' | 'tcp'): WireRow[] {
  const out = execFileSync(
    'tshark',
    ['-r', file, '-T', 'fields', '-E', 'separator=\t', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', `${transport}.srcport`, '-e', 'ip.dst', '-e', `${transport}.dstport`, '-e', 'sip.Call-ID', '-e', 'sip.CSeq', '-e', 'sip.Method', '-e', 'sip.Status-Code', '-Y', 'sip'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [t, sip, sport, dip, dport, callId, cseq, method, status] = line.split('\t');
      const [sec, frac = ''] = t!.split('.');
      return {
        tsUs: Number(sec) * 1e6 + Number(frac.padEnd(9, '0').slice(0, 6)),
        src: `${sip}:${sport}`,
        dst: `${dip}:${dport}`,
        callId: callId!,
        cseq: cseq!,
        label: method || status!,
      };
    });
}

test('a call exported as pcap reads back in tshark message for message (addresses, Call-ID, CSeq, µs timestamps); txt, Mermaid and JSON carry the same messages (issue #5)', async () => {
  const uasPort = await freePort();
  const lab = await startLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] });
  const uas = startSipp({ scenario: 'uas', port: uasPort });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, duration: 100, timeoutSec: 15 });
    assert.equal(r.successful, 1, r.stdout);
    await lab.settle();
    const auth = { Authorization: `Bearer ${lab.token}` };
    const [call] = (await (await fetch(`${lab.base}/api/calls`, { headers: auth })).json()) as CallSummary[];
    const id = encodeURIComponent(call!.callId);
    const detail = (await (await fetch(`${lab.base}/api/calls/${id}`, { headers: auth })).json()) as CallDetail;
    const res = await fetch(`${lab.base}/api/calls/${id}/ladder.pcap`, { headers: auth });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/vnd.tcpdump.pcap');
    const file = join(mkdtempSync(join(tmpdir(), 'callpath-pcap-')), 'call.pcap');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));

    const wire = tsharkRows(file, 'udp');
    assert.equal(wire.length, sipEntries(detail).length, 'every captured message is in the file');
    // The pcap is interleaved by time (the export's rule), so compare in time order: capture order can differ from it
    // (seen once in a CI run with the relay on: one message 1.4 ms out of place; the cause is not pinned down).
    inTimeOrder(sipEntries(detail)).forEach((m, i) => {
      const w = wire[i]!;
      assert.equal(w.tsUs, m.tsUs, `timestamp of message ${i} to the microsecond`);
      assert.equal(w.src, m.src);
      assert.equal(w.dst, m.dst);
      assert.equal(w.callId, call!.callId);
      assert.equal(w.cseq, m.cseq);
      assert.equal(w.label, m.method ?? String(m.status));
    });
    const expert = execFileSync('tshark', ['-r', file, '-Y', '_ws.malformed || _ws.expert.severity >= error'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    assert.equal(expert.trim(), '', 'tshark finds nothing malformed');
    assert.equal((await fetch(`${lab.base}/api/calls/nope/ladder.pcap`, { headers: auth })).status, 404);

    // The same call as text, Mermaid and JSON.
    const txt = await (await fetch(`${lab.base}/api/calls/${id}/ladder.txt`, { headers: auth })).text();
    assert.match(txt, new RegExp(`^Call-ID: ${call!.callId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    for (const m of sipEntries(detail)) assert.ok(txt.includes(m.label.slice(0, 12)), `the ladder shows ${m.label}`);
    assert.ok(txt.includes('INVITE sip:'), 'raw messages follow the ladder');
    const mmd = await (await fetch(`${lab.base}/api/calls/${id}/ladder.mmd`, { headers: auth })).text();
    assert.equal(mmd.split('\n').filter((l) => /->>/.test(l)).length, sipEntries(detail).length, 'one Mermaid arrow per message');
    const json = (await (await fetch(`${lab.base}/api/calls/${id}/ladder.json`, { headers: auth })).json()) as { schemaVersion: number; call: { entries: { lane: string; raw: string; text: string }[] } };
    assert.equal(json.schemaVersion, 4);
    const sipInJson = json.call.entries.filter((e) => e.lane === 'sip');
    assert.equal(sipInJson.length, sipEntries(detail).length);
    assert.equal(Buffer.from(sipInJson[0]!.raw, 'base64').toString('utf8'), sipInJson[0]!.text);
    assert.equal((await fetch(`${lab.base}/api/calls/${id}/ladder.exe`, { headers: auth })).status, 404);
  } finally {
    await uas.stop();
    await lab.stop();
  }
});

test('TCP messages become one reassemblable stream per direction; IPv6 addresses are kept', () => {
  const msg = (cseq: number) => Buffer.from(`OPTIONS sip:a@[::1] SIP/2.0\r\nVia: SIP/2.0/TCP [::1]:5070;branch=z9hG4bK${cseq}\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: tcp-1\r\nCSeq: ${cseq} OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`);
  const file = join(mkdtempSync(join(tmpdir(), 'callpath-pcap-')), 'tcp.pcap');
  writeFileSync(
    file,
    pcapFile([
      { tsUs: 1_700_000_000_000_001, transport: 'tcp', src: '[::1]:5070', dst: '[::1]:5060', raw: msg(1) },
      { tsUs: 1_700_000_000_000_502, transport: 'tcp', src: '[::1]:5070', dst: '[::1]:5060', raw: msg(2) },
    ]),
  );
  const out = execFileSync('tshark', ['-r', file, '-d', 'tcp.port==5060,sip', '-T', 'fields', '-e', 'ipv6.src', '-e', 'tcp.seq', '-e', 'sip.CSeq', '-e', 'frame.time_epoch', '-Y', 'sip'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const rows = out.trim().split('\n').map((l) => l.split('\t'));
  assert.deepEqual(rows.map((r) => r[2]), ['1 OPTIONS', '2 OPTIONS']);
  assert.equal(rows[0]![0], '::1');
  assert.equal(Number(rows[1]![1]), 1 + msg(1).length, 'the second segment continues the sequence');
  assert.match(rows[1]![3]!, /^1700000000\.000502/);
});

test('POST /api/export streams a selection of calls as one pcap (time-ordered, all calls) or JSON; bad selections get 400', async () => {
  const uasPort = await freePort();
  const lab = await startLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] });
  const uas = startSipp({ scenario: 'uas', port: uasPort });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 3, rate: 10, duration: 50, timeoutSec: 15 });
    assert.equal(r.successful, 3, r.stdout);
    await lab.settle();
    const auth = { Authorization: `Bearer ${lab.token}`, 'Content-Type': 'application/json' };
    const calls = lab.host.listCalls(10);
    const picked = calls.slice(0, 2).map((c) => c.callId);
    const res = await fetch(`${lab.base}/api/export`, { method: 'POST', headers: auth, body: JSON.stringify({ keys: [...picked, 'missing-call'], format: 'pcap' }) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-callpath-calls'), '2');
    assert.equal(res.headers.get('x-callpath-missing'), '1');
    const file = join(mkdtempSync(join(tmpdir(), 'callpath-pcap-')), 'sel.pcap');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const wire = tsharkRows(file, 'udp');
    const expected = picked.reduce((n, id) => n + sipEntries(lab.host.getCall(id)!).length, 0);
    assert.equal(wire.length, expected, 'every message of both calls');
    assert.deepEqual([...new Set(wire.map((w) => w.callId))].sort(), [...picked].sort());
    assert.ok(wire.every((w, i) => i === 0 || w.tsUs >= wire[i - 1]!.tsUs), 'in time order across calls');

    const json = (await (await fetch(`${lab.base}/api/export`, { method: 'POST', headers: auth, body: JSON.stringify({ keys: picked, format: 'json' }) })).json()) as { schemaVersion: number; calls: { callId: string }[] };
    assert.equal(json.schemaVersion, 4);
    assert.deepEqual(json.calls.map((c) => c.callId), picked);

    for (const body of ['nope', '{"keys":[],"format":"pcap"}', '{"keys":["a"],"format":"exe"}', '{"keys":["a"],"format":"pcap","x":1}']) {
      const bad = await fetch(`${lab.base}/api/export`, { method: 'POST', headers: auth, body });
      assert.equal(bad.status, 400, body);
    }
  } finally {
    await uas.stop();
    await lab.stop();
  }
});
