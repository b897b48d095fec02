import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallRecord } from '../../engine/call/model';
import type { CallEvent, MediaEvent, SipCaptureEvent } from '../../engine/events';
import { exportCall } from '../../engine/capture/export-call';
import { exportSelection, mergeByTime } from '../../engine/capture/export-stream';
import { CONTENT_TYPES } from '../../engine/capture/formats';
import { EXPORT_SCHEMA_VERSION, SELECTION_FORMATS } from '../../engine/capture/formats';
import { mermaidLadder } from '../../engine/capture/mermaid';
import { readCapture } from '../../engine/capture/pcap-read';
import { svgLadder } from '../../engine/capture/svg-ladder';
import { textLadder } from '../../engine/capture/text-ladder';

const UAC = '127.0.0.1:5091';
const PROXY = '127.0.0.1:5060';
const UAS = '127.0.0.1:5090';

function sip(tsUs: number, src: string, dst: string, label: string, retransmission = false, callId = 'c1'): SipCaptureEvent {
  const isResp = /^\d/.test(label);
  const raw = Buffer.from(`${isResp ? `SIP/2.0 ${label}` : `${label} sip:x SIP/2.0`}\r\nCall-ID: ${callId}\r\nX-At: ${tsUs}\r\n\r\n`);
  return {
    kind: 'sip',
    tsUs,
    callId,
    direction: 'in',
    transport: 'udp',
    src,
    dst,
    cseqSeq: 1,
    cseqMethod: 'INVITE',
    method: isResp ? null : label,
    status: isResp ? Number(label.slice(0, 3)) : null,
    label,
    branch: null,
    size: raw.length,
    raw,
    retransmission,
  };
}

function media(tsUs: number, phase: MediaEvent['phase'], packets: number): MediaEvent {
  return {
    kind: 'media',
    tsUs,
    callId: 'c1',
    phase,
    streamId: 's1',
    legTag: null,
    mediaIndex: 0,
    src: '127.0.0.1:40000',
    dst: '127.0.0.1:40002',
    codec: 'PCMU/8000',
    ssrc: 1,
    packets,
    bytes: packets * 172,
    lost: 1,
    jitterUs: 2_000,
    reason: phase === 'closed' ? 'bye' : null,
    sdp: { cseqSeq: 1, cseqMethod: 'INVITE', status: null },
  };
}

/** A stored call, as far as the exports read one. */
function record(entries: CallEvent[], callId = 'c1'): CallRecord {
  return { key: callId, callId, source: 'live', entries, entriesDropped: 0 } as unknown as CallRecord;
}

const labels = ['INVITE', '100 Trying', 'INVITE', '180 Ringing;x#1', 'INVITE'];
const call = [
  sip(1_000_000, UAC, PROXY, 'INVITE'),
  sip(1_000_300, PROXY, UAC, '100 Trying'),
  sip(1_000_500, PROXY, UAS, 'INVITE'),
  sip(1_000_900, UAS, PROXY, '180 Ringing;x#1'),
  sip(1_500_900, UAC, PROXY, 'INVITE', true),
];

/** Captured out of time order: the forwarded 180 (+332 ms) is stored before the received 200 (+119 ms). */
const outOfOrder = [
  sip(1_000_000, UAC, PROXY, 'INVITE'),
  sip(1_000_300, PROXY, UAS, 'INVITE'),
  sip(1_332_000, PROXY, UAC, '180 Ringing'),
  sip(1_119_000, UAS, PROXY, '200 OK'),
];

/** Every lane: SIP, a stream with 5 stats reports, publish, record and a note. */
const allLanes: CallEvent[] = [
  sip(1_000_000, UAC, PROXY, 'INVITE'),
  media(1_000_100, 'opened', 0),
  { kind: 'publish', tsUs: 1_000_200, callId: 'c1', phase: 'delivered', event: 'new', target: 'calls', src: 'callpath', dst: '127.0.0.1:6379', receivers: 2, sinceQueuedUs: 300, error: null },
  ...[1, 2, 3, 4, 5].map((k) => media(1_000_000 + k * 1_000_000, 'stats', k * 50)),
  { kind: 'record', tsUs: 1_000_300, callId: 'c1', phase: 'started', src: '127.0.0.1:40002', dst: 'record:/tmp/rec', path: null, packets: 0, dropped: 0, framesDropped: 0, detail: null },
  { kind: 'note', tsUs: 6_500_000, callId: 'c1', at: PROXY, text: 'Timer C fired' },
  sip(7_000_000, UAC, PROXY, 'BYE'),
];

/** The subset of Mermaid's sequenceDiagram grammar we emit; anything else is a bug. */
const MERMAID_LINE = [/^sequenceDiagram$/, /^ {2}%% .*$/, /^ {2}participant P\d+ as [^;#\n]+$/, /^ {2}P\d+(->>|-->>|-\))P\d+: [^;#\n]+$/, /^ {2}Note over P\d+: [^;#\n]+$/];
const mermaidOk = (text: string) => {
  for (const line of text.trimEnd().split('\n')) assert.ok(MERMAID_LINE.some((re) => re.test(line)), `not valid Mermaid: ${JSON.stringify(line)}`);
};

/** Record timestamps (µs) of a classic pcap, in file order. */
function pcapTimes(buf: Buffer): number[] {
  const out: number[] = [];
  for (let o = 24; o + 16 <= buf.length; ) {
    out.push(buf.readUInt32LE(o) * 1e6 + buf.readUInt32LE(o + 4));
    o += 16 + buf.readUInt32LE(o + 8);
  }
  return out;
}

async function collect(g: AsyncGenerator<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of g) parts.push(c);
  return Buffer.concat(parts);
}

const opts = { columnNames: {}, json: (c: CallRecord) => ({ callId: c.callId }) };

test('Mermaid output is a sequenceDiagram our grammar accepts, one arrow per message, retransmissions dotted', () => {
  const text = mermaidLadder({ ...record(call), callId: 'c1;evil#' });
  mermaidOk(text);
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('  participant')).length, 3, 'columns are distinct addresses');
  const arrows = lines.filter((l) => /P\d+-*>>P\d+/.test(l));
  assert.equal(arrows.length, call.length);
  assert.match(arrows[4]!, /^ {2}P0-->>P1: INVITE \+500\.900 ms \(retransmission\)$/);
  assert.match(arrows[1]!, /^ {2}P1->>P0: 100 Trying \+0\.300 ms$/);
  assert.deepEqual(labels.length, call.length);
});

test('the text ladder draws arrows between address columns in order, marks retransmissions, then lists raw messages', () => {
  const text = textLadder(record(call));
  const lines = text.split('\n');
  assert.equal(lines[0], 'Call-ID: c1');
  const header = lines[3]!;
  assert.ok(header.indexOf(UAC) < header.indexOf(PROXY) && header.indexOf(PROXY) < header.indexOf(UAS));
  const rows = lines.slice(4, 4 + call.length);
  assert.match(rows[0]!, /\+0\.000 +\|-+INVITE-+>\|/);
  assert.match(rows[1]!, /\+0\.300 +\|<-+100 Trying-+\|/);
  assert.match(rows[4]!, /\+500\.900 +\|\.+R INVITE\.+>\|/);
  assert.equal((text.match(/^----- #\d+/gm) ?? []).length, call.length);
});

test('every ladder export follows time order, not capture order (a forwarded 180 captured before an earlier received 200)', () => {
  const c = record(outOfOrder);
  const rows = textLadder(c).split('\n').slice(4, 8);
  assert.deepEqual(
    rows.map((r) => /(INVITE|200 OK|180 Ringing)/.exec(r)?.[1]),
    ['INVITE', 'INVITE', '200 OK', '180 Ringing'],
  );
  assert.match(rows[2]!, /^ +\+119\.000 /);
  assert.match(rows[3]!, /^ +\+332\.000 /);
  const raw = textLadder(c).split('\n').filter((l) => l.startsWith('----- #'));
  assert.match(raw[2]!, /^----- #3 \+119\.000 ms /, 'the raw messages too');
  const mmd = mermaidLadder(c).split('\n').filter((l) => l.includes('->>'));
  assert.deepEqual(
    mmd.map((l) => l.split(': ')[1]),
    ['INVITE +0.000 ms', 'INVITE +0.300 ms', '200 OK +119.000 ms', '180 Ringing +332.000 ms'],
  );
  const svg = svgLadder(c);
  assert.deepEqual(
    [...svg.matchAll(/<line class="arrow"[^>]* data-label="([^"]+)"/g)].map((m) => m[1]),
    ['INVITE', 'INVITE', '200 OK', '180 Ringing'],
  );
});

test('the pcap of one call holds its SIP messages in time order', () => {
  const { body, contentType } = exportCall(record(outOfOrder), 'pcap', opts);
  assert.equal(contentType, 'application/vnd.tcpdump.pcap');
  assert.deepEqual(pcapTimes(body), [1_000_000, 1_000_300, 1_119_000, 1_332_000]);
  const read = readCapture(body);
  assert.equal(read.format, 'pcap');
  assert.deepEqual(
    read.packets.map((p) => p.payload.toString().split('\r\n')[0]),
    ['INVITE sip:x SIP/2.0', 'INVITE sip:x SIP/2.0', 'SIP/2.0 200 OK', 'SIP/2.0 180 Ringing'],
  );
});

test('only SIP entries go into a pcap, and only their bytes into the txt raw section', () => {
  const c = record(allLanes);
  assert.deepEqual(pcapTimes(exportCall(c, 'pcap', opts).body), [1_000_000, 7_000_000]);
  const text = textLadder(c);
  assert.equal((text.match(/^----- #\d+/gm) ?? []).length, 2);
  assert.match(text, /^Messages: 2; other entries: 9$/m);
});

test('a multi-call pcap interleaves every call by timestamp, even when each call was captured out of order', async () => {
  const a = record([sip(10, UAC, PROXY, 'INVITE', false, 'a'), sip(50, PROXY, UAC, '180 Ringing', false, 'a'), sip(30, UAS, PROXY, '100 Trying', false, 'a')], 'a');
  const b = record([sip(40, UAC, PROXY, 'INVITE', false, 'b'), sip(20, PROXY, UAC, '100 Trying', false, 'b')], 'b');
  const c = record([sip(60, UAC, PROXY, 'BYE', false, 'c'), sip(5, UAC, PROXY, 'OPTIONS', false, 'c'), media(1, 'opened', 0)], 'c');
  const pcap = await collect(exportSelection([a, b, c], 'pcap', opts));
  assert.deepEqual(pcapTimes(pcap), [5, 10, 20, 30, 40, 50, 60]);
  assert.equal(readCapture(pcap).packets.length, 7);
});

test('the pcap selection merge keeps time order across calls, even when calls interleave', () => {
  const a = [1, 4, 9, 10].map((tsUs) => ({ tsUs, from: 'a' }));
  const b = [2, 3, 11].map((tsUs) => ({ tsUs, from: 'b' }));
  const c = [0, 5].map((tsUs) => ({ tsUs, from: 'c' }));
  const next = mergeByTime([a, [], b, c]);
  const got = [...next(4), ...next(4), ...next(4)];
  assert.deepEqual(
    got.map((x) => x.tsUs),
    [0, 1, 2, 3, 4, 5, 9, 10, 11],
  );
  assert.deepEqual(next(4), []);
});

test('the merge puts equal timestamps in call order', () => {
  const next = mergeByTime([[{ tsUs: 5, k: 'a' }], [{ tsUs: 5, k: 'b' }], [{ tsUs: 5, k: 'c' }], [{ tsUs: 1, k: 'd' }]]);
  assert.deepEqual(
    next(10).map((x) => x.k),
    ['d', 'a', 'b', 'c'],
  );
});

test('column names title the columns of the txt, Mermaid and SVG exports ("UAC (127.0.0.1:5091)")', () => {
  const names = { [UAC]: 'UAC', [UAS]: 'UAS' };
  const c = record(call);
  const header = textLadder(c, names).split('\n')[3]!;
  assert.match(header, /UAC \(127\.0\.0\.1:5091\) +127\.0\.0\.1:5060 +UAS \(127\.0\.0\.1:5090\)/);
  const mmd = mermaidLadder(c, names);
  mermaidOk(mmd);
  assert.match(mmd, /^ {2}participant P0 as UAC \(127\.0\.0\.1:5091\)$/m);
  assert.match(mmd, /^ {2}participant P1 as 127\.0\.0\.1:5060$/m);
  const svg = svgLadder(c, names);
  assert.deepEqual(
    [...svg.matchAll(/<text class="column"[^>]*>([^<]*)</g)].map((m) => m[1]),
    ['UAC (127.0.0.1:5091)', '127.0.0.1:5060', 'UAS (127.0.0.1:5090)'],
  );
  const raw = textLadder(c, names).split('\n').find((l) => l.startsWith('----- #1 '))!;
  assert.match(raw, /UAC \(127\.0\.0\.1:5091\) -> 127\.0\.0\.1:5060$/);
});

test('non-SIP entries are drawn in their lane: one media arrow per stream with its last figures, publish, record, a note on its endpoint', () => {
  const c = record(allLanes);
  const svg = svgLadder(c);
  const arrows = [...svg.matchAll(/<line class="arrow" ([^>]*)\/>/g)].map((m) => Object.fromEntries([...m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]])));
  assert.deepEqual(
    arrows.map((a) => a['data-lane']),
    ['sip', 'media', 'publish', 'record', 'note', 'sip'],
  );
  const stream = arrows[1]!;
  assert.equal(stream['data-packets'], '250');
  assert.equal(stream['data-owner'], 'stream:s1');
  assert.equal(stream['data-sdp-index'], '0', 'points back to the INVITE whose SDP set it up');
  assert.match(stream['data-label']!, /250 pkts, 1 lost/);
  assert.equal(arrows[4]!['data-direction'], 'self');
  assert.ok(!svg.includes('<marker'), 'no markers: resvg ignores their orientation');
  assert.equal((svg.match(/<polygon class="head"/g) ?? []).length, arrows.length, 'one drawn head per arrow');

  const mmd = mermaidLadder(c);
  mermaidOk(mmd);
  assert.equal((mmd.match(/-\)P/g) ?? []).length, 1, 'one media arrow');
  assert.match(mmd, /^ {2}Note over P1: Timer C fired \+5500\.000 ms$/m);

  const rows = textLadder(c).split('\n').slice(4, 10);
  assert.equal(rows.length, 6);
  assert.match(rows[1]!, /\+0\.100 +\|[ |]+\|=+>\|[ |]+ RTP PCMU\/8000 250 pkts, 1 lost/);
  assert.match(rows[4]!, /\|@ .* +Timer C fired$/);
});

test('exportCall covers every call format with its content type; json is the host\'s document', () => {
  const c = record(call);
  const json = (r: CallRecord) => ({ schemaVersion: EXPORT_SCHEMA_VERSION, call: r.callId });
  const doc = exportCall(c, 'json', { columnNames: {}, json });
  assert.deepEqual(JSON.parse(doc.body.toString()), { schemaVersion: 4, call: 'c1' });
  assert.equal(doc.contentType, 'application/json; charset=utf-8');
  assert.equal(exportCall(c, 'mmd', opts).contentType, 'text/vnd.mermaid; charset=utf-8');
  assert.equal(exportCall(c, 'txt', opts).contentType, 'text/plain; charset=utf-8');
  assert.match(exportCall(c, 'svg', opts).body.toString(), /^<svg /);
  const png = exportCall(c, 'png', opts);
  assert.equal(png.contentType, 'image/png');
  assert.equal(png.body.subarray(1, 4).toString(), 'PNG');
});

test('a JSON selection carries EXPORT_SCHEMA_VERSION and the column names, one document per call', async () => {
  const names = { [UAC]: 'UAC' };
  const doc = JSON.parse((await collect(exportSelection([record(call), record(outOfOrder, 'c2')], 'json', { columnNames: names, json: (c) => ({ callId: c.callId }) }))).toString());
  assert.equal(doc.schemaVersion, EXPORT_SCHEMA_VERSION);
  assert.equal(EXPORT_SCHEMA_VERSION, 4);
  assert.deepEqual(doc.columnNames, names);
  assert.deepEqual(doc.calls, [{ callId: 'c1' }, { callId: 'c2' }]);
});

test('the txt, md and svg selections hold every call in its own time-ordered ladder, with column names', async () => {
  const calls = [record(call), record(outOfOrder, 'c2')];
  const names = { [UAC]: 'UAC' };
  const txt = (await collect(exportSelection(calls, 'txt', { ...opts, columnNames: names }))).toString();
  assert.equal((txt.match(/^Messages: /gm) ?? []).length, 2);
  assert.match(txt, /UAC \(127\.0\.0\.1:5091\)/);
  const md = (await collect(exportSelection(calls, 'md', opts))).toString();
  assert.equal((md.match(/^```mermaid$/gm) ?? []).length, 2);
  const svg = (await collect(exportSelection(calls, 'svg', opts))).toString();
  assert.equal((svg.match(/<svg /g) ?? []).length, 3, 'one outer, one per call');
  assert.ok(svg.indexOf('data-label="200 OK"') < svg.indexOf('data-label="180 Ringing"'));
  for (const f of SELECTION_FORMATS) assert.ok(CONTENT_TYPES[f], f);
});
