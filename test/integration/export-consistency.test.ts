/**
 * An export is a consistent snapshot: calls evicted while it streams are in
 * it whole, the body is valid in its format, and a slow reader neither
 * truncates it nor piles up listeners. Real lab server over real HTTP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startLab } from '../helpers/lab';
import type { SipCaptureEvent } from '../../engine/events';
import { NO_FILTER, DEFAULT_SORT } from '../../engine/call/query';

function message(callId: string, label: string, tsUs: number, direction: 'in' | 'out', cseqMethod: string, pad: number): SipCaptureEvent {
  const status = /^\d/.test(label) ? Number(label.slice(0, 3)) : null;
  const body = 'v=0\r\n' + 'a=x\r\n'.repeat(pad);
  const raw = Buffer.from(
    `${status ? `SIP/2.0 ${label}` : `${label} sip:b@127.0.0.1 SIP/2.0`}\r\nVia: SIP/2.0/UDP 127.0.0.1:5091;branch=z9hG4bK-${callId}-${cseqMethod}\r\n` +
      `From: <sip:a@127.0.0.1>;tag=a\r\nTo: <sip:b@127.0.0.1>${status ? ';tag=b' : ''}\r\nCall-ID: ${callId}\r\nCSeq: ${cseqMethod === 'BYE' ? 2 : 1} ${cseqMethod}\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body}`,
  );
  return {
    kind: 'sip',
    tsUs,
    callId,
    direction,
    transport: 'udp',
    src: direction === 'in' ? '127.0.0.1:5091' : '127.0.0.1:5060',
    dst: direction === 'in' ? '127.0.0.1:5060' : '127.0.0.1:5091',
    cseqSeq: cseqMethod === 'BYE' ? 2 : 1,
    cseqMethod,
    method: status ? null : label,
    status,
    label,
    branch: null,
    size: raw.length,
    raw,
    retransmission: false,
  };
}

/** A whole finished call: INVITE, 100, 200, BYE, 200 (5 SIP entries). */
function call(emit: (e: SipCaptureEvent) => void, callId: string, t: number, pad = 0): void {
  emit(message(callId, 'INVITE', t, 'in', 'INVITE', pad));
  emit(message(callId, '100 Trying', t + 100, 'out', 'INVITE', pad));
  emit(message(callId, '200 OK', t + 1_000, 'out', 'INVITE', pad));
  emit(message(callId, 'BYE', t + 2_000, 'in', 'BYE', pad));
  emit(message(callId, '200 OK', t + 2_100, 'out', 'BYE', pad));
}

test('a JSON export racing eviction is valid JSON with every call whole, and a slow reader piles up no listeners', { timeout: 60_000 }, async () => {
  const lab = await startLab({ maxCalls: 300 });
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    const emit = (e: SipCaptureEvent) => lab.host.engine.events.emit(e);
    for (let i = 0; i < 300; i++) call(emit, `old-${i}`, 1_000_000 + i * 10_000, 400);
    assert.equal(lab.host.snapshot().calls.stored, 300);

    const body = JSON.stringify({ query: { filter: NO_FILTER, sort: DEFAULT_SORT }, format: 'json' });
    const chunks: Buffer[] = [];
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request(`${lab.base}/api/export`, { method: 'POST', headers: { Authorization: `Bearer ${lab.token}`, 'Content-Type': 'application/json' } }, resolve);
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-callpath-calls'], '300');
    res.pause(); // a slow reader: the server waits on backpressure
    await new Promise((r) => setTimeout(r, 300));
    // Meanwhile every one of those calls is evicted by newer ones.
    for (let i = 0; i < 600; i++) call(emit, `new-${i}`, 9_000_000 + i * 10_000, 0);
    assert.equal(lab.host.getCall('old-0'), null, 'the exported calls are gone from the store');
    res.on('data', (c: Buffer) => chunks.push(c));
    await new Promise<void>((resolve, reject) => {
      res.on('end', resolve);
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('aborted')));
      res.resume();
    });
    const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { schemaVersion: number; calls: { callId: string; entries: unknown[] }[] };
    assert.equal(doc.schemaVersion, 4);
    assert.equal(doc.calls.length, 300);
    assert.ok(doc.calls.every((c) => c.callId.startsWith('old-') && c.entries.length === 5), 'every call in the file is whole');
    assert.deepEqual(warnings.filter((w) => /MaxListeners/.test(w)), [], 'no listener pile-up on backpressure');
    assert.equal(lab.host.engine.drops.get('lab.http', 'handler-error'), 0);
  } finally {
    process.off('warning', onWarning);
    await lab.stop();
  }
});

test('a query export reaches every stored call, not a window, and says how many it holds', { timeout: 60_000 }, async () => {
  const lab = await startLab({ maxCalls: 20_000 });
  try {
    const emit = (e: SipCaptureEvent) => lab.host.engine.events.emit(e);
    for (let i = 0; i < 10_000; i++) call(emit, `c-${i}`, 1_000_000 + i * 1_000);
    const filter = { ...NO_FILTER, text: 'c-1' }; // c-1, c-10…, c-100…, c-1000…c-1999: 1,111 calls
    const page = await lab.host.queryCalls(filter, DEFAULT_SORT, 0, 10);
    assert.equal(page.matched, 1_111);
    assert.equal(page.stored, 10_000);
    assert.equal(page.calls.length, 10);
    const res = await fetch(`${lab.base}/api/export`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${lab.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: { filter, sort: DEFAULT_SORT }, format: 'pcap' }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-callpath-calls'), '1111');
    const pcap = Buffer.from(await res.arrayBuffer());
    let records = 0;
    let last = -Infinity;
    let ordered = true;
    for (let o = 24; o + 16 <= pcap.length; ) {
      const ts = pcap.readUInt32LE(o) * 1e6 + pcap.readUInt32LE(o + 4);
      if (ts < last) ordered = false;
      last = ts;
      o += 16 + pcap.readUInt32LE(o + 8);
      records++;
    }
    assert.equal(records, 1_111 * 5, 'every SIP message of every matching call');
    assert.ok(ordered, 'one file in time order across calls');
  } finally {
    await lab.stop();
  }
});

test('importing an export of live calls gives new calls under the file\'s source; the live call is untouched (pcap and JSON round trips)', { timeout: 60_000 }, async () => {
  const lab = await startLab();
  try {
    call((e) => lab.host.engine.events.emit(e), 'rt-1', 5_000_000, 3);
    const auth = { Authorization: `Bearer ${lab.token}` };
    const live = lab.host.getCall('rt-1')!;
    const shape = (d: NonNullable<ReturnType<typeof lab.host.getCall>>) => d.entries.map((e) => (e.lane === 'sip' ? `${e.tsUs} ${e.src}>${e.dst} ${e.label} ${Buffer.from(e.text).toString('base64')}` : e.label));

    const pcap = Buffer.from(await (await fetch(`${lab.base}/api/calls/rt-1/ladder.pcap`, { headers: auth })).arrayBuffer());
    const fromPcap = (await (await fetch(`${lab.base}/api/import?name=rt-1.pcap`, { method: 'POST', headers: auth, body: pcap })).json()) as { source: string; calls: number; messages: number };
    assert.deepEqual([fromPcap.calls, fromPcap.messages], [1, 5]);
    const json = Buffer.from(await (await fetch(`${lab.base}/api/calls/rt-1/ladder.json`, { headers: auth })).arrayBuffer());
    const fromJson = (await (await fetch(`${lab.base}/api/import?name=rt-1.json`, { method: 'POST', headers: auth, body: json })).json()) as { source: string; calls: number; messages: number; format: string };
    assert.match(fromJson.format, /schemaVersion 4/);
    assert.notEqual(fromPcap.source, fromJson.source, 'each file is a source of its own');

    assert.deepEqual(shape(lab.host.getCall('rt-1')!), shape(live), 'the live call gained nothing');
    for (const source of [fromPcap.source, fromJson.source]) {
      const imported = lab.host.getCall(`${source}/rt-1`)!;
      assert.ok(imported, source);
      assert.deepEqual(shape(imported), shape(live), `${source}: the same messages, bytes and times`);
      assert.equal(imported.state, 'terminated');
    }
    const list = (await lab.host.queryCalls({ ...NO_FILTER, source: fromJson.source }, DEFAULT_SORT, 0, 10)).calls;
    assert.deepEqual(list.map((c) => c.key), [`${fromJson.source}/rt-1`], 'the list filters by source');

    // A schemaVersion 1 file (SIP only, under `messages`) still imports.
    const v2 = JSON.parse(json.toString('utf8')) as { call: { entries: unknown[] } };
    const v1 = { schemaVersion: 1, exportedBy: 'callpath', call: { ...v2.call, entries: undefined, messages: v2.call.entries } };
    const fromV1 = (await (await fetch(`${lab.base}/api/import?name=old.json`, { method: 'POST', headers: auth, body: JSON.stringify(v1) })).json()) as { source: string; messages: number };
    assert.equal(fromV1.messages, 5);
    assert.deepEqual(shape(lab.host.getCall(`${fromV1.source}/rt-1`)!), shape(live));
  } finally {
    await lab.stop();
  }
});
