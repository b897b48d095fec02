import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKeyHeader, parseStartLine, tokenizeSdp, tokenizeSip } from '../../renderer/src/ladder/sipText';

const INVITE = [
  'INVITE sip:service@127.0.0.1:5060 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1',
  'Max-Forwards: 70',
  'From: sipp <sip:sipp@127.0.0.1:5061>;tag=1',
  'To: <sip:service@127.0.0.1:5060>',
  'Call-ID: 1-abc@127.0.0.1',
  'CSeq: 1 INVITE',
  'Content-Type: application/sdp',
  'Content-Length: 129',
  '',
  'v=0',
  'o=user1 53655765 2353687637 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 6000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  '',
].join('\r\n');

test('splits a request start line into method, Request-URI and version', () => {
  assert.deepEqual(parseStartLine('INVITE sip:bob@example.com SIP/2.0'), { kind: 'request', method: 'INVITE', uri: 'sip:bob@example.com', version: 'SIP/2.0' });
});

test('splits a status line into version, status code and reason phrase (the reason may have spaces or be empty)', () => {
  assert.deepEqual(parseStartLine('SIP/2.0 100 Trying'), { kind: 'status', version: 'SIP/2.0', status: '100', reason: 'Trying' });
  assert.deepEqual(parseStartLine('SIP/2.0 486 Busy Here'), { kind: 'status', version: 'SIP/2.0', status: '486', reason: 'Busy Here' });
  assert.deepEqual(parseStartLine('SIP/2.0 200'), { kind: 'status', version: 'SIP/2.0', status: '200', reason: '' });
  assert.deepEqual(parseStartLine('garbage'), { kind: 'other', text: 'garbage' });
});

test('separates header names from values and marks Via, From, To, Call-ID and CSeq', () => {
  const t = tokenizeSip(INVITE);
  assert.equal(t.start.kind, 'request');
  assert.deepEqual(
    t.headers.map((h) => [h.name, h.value, h.key]),
    [
      ['Via', 'SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1', true],
      ['Max-Forwards', '70', false],
      ['From', 'sipp <sip:sipp@127.0.0.1:5061>;tag=1', true],
      ['To', '<sip:service@127.0.0.1:5060>', true],
      ['Call-ID', '1-abc@127.0.0.1', true],
      ['CSeq', '1 INVITE', true],
      ['Content-Type', 'application/sdp', false],
      ['Content-Length', '129', false],
    ],
  );
  assert.equal(t.headers[0]!.sep, ': ');
});

test('marks the compact forms v, f, t, i as key headers (RFC 3261 §7.3.3), case-insensitively', () => {
  for (const n of ['v', 'f', 't', 'i', 'VIA', 'call-id', 'cseq']) assert.equal(isKeyHeader(n), true, n);
  for (const n of ['Contact', 'Route', 'Max-Forwards', 'l', 'c']) assert.equal(isKeyHeader(n), false, n);
});

test('keeps a folded header line as a continuation of the header above, with its emphasis (RFC 3261 §7.3.1)', () => {
  const t = tokenizeSip('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK-1,\r\n SIP/2.0/UDP b;branch=z9hG4bK-2\r\nContact: <sip:a>\r\n\r\n');
  assert.equal(t.headers.length, 3);
  assert.equal(t.headers[1]!.continuation, true);
  assert.equal(t.headers[1]!.key, true);
  assert.equal(t.headers[1]!.value, ' SIP/2.0/UDP b;branch=z9hG4bK-2');
  assert.equal(t.body, '');
  assert.equal(t.sdp, null);
});

test('shows an SDP body as SDP lines, with m=, c= and a= highlighted', () => {
  const t = tokenizeSip(INVITE);
  assert.ok(t.sdp);
  assert.deepEqual(t.sdp.map((l) => l.type), ['v', 'o', 's', 'c', 't', 'm', 'a']);
  assert.deepEqual(t.sdp.filter((l) => l.key).map((l) => l.type), ['c', 'm', 'a']);
  assert.equal(t.sdp.find((l) => l.type === 'm')!.value, 'audio 6000 RTP/AVP 0');
});

test('recognises SDP by a compact Content-Type (c) or by a body starting v=0; other bodies are not SDP', () => {
  assert.ok(tokenizeSip('MESSAGE sip:a SIP/2.0\r\nc: application/sdp\r\n\r\nv=0\r\n').sdp);
  assert.ok(tokenizeSip('INVITE sip:a SIP/2.0\r\nCall-ID: x\r\n\r\nv=0\r\nm=audio 1 RTP/AVP 0\r\n').sdp);
  const text = tokenizeSip('MESSAGE sip:a SIP/2.0\r\nContent-Type: text/plain\r\n\r\nhello=world\r\n');
  assert.equal(text.sdp, null);
  assert.equal(text.body, 'hello=world\n');
});

test('keeps lines it cannot parse as text instead of dropping them', () => {
  const t = tokenizeSip('not a start line\nno colon here\n: empty name\n');
  assert.deepEqual(t.start, { kind: 'other', text: 'not a start line' });
  assert.deepEqual(t.headers.map((h) => h.value), ['no colon here', ': empty name']);
  assert.deepEqual(tokenizeSdp('v=0\nbroken\n'), [
    { type: 'v', value: '0', key: false },
    { type: '', value: 'broken', key: false },
  ]);
});
