import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_MESSAGE_BYTES,
  buildAck,
  buildCancel,
  buildErrorResponse,
  buildResponse,
  frameStream,
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
  peekHeader,
  spliceMessage,
  topViaBranchOf,
} from '../../engine/sip/message/index';
import type { ParseOptions, SipMessage, SipParseError } from '../../engine/sip/message/index';

const CRLF = '\r\n';

function text(lines: string[], body = ''): string {
  return lines.join(CRLF) + CRLF + CRLF + body;
}

const INVITE_LINES = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>',
  'Content-Type: application/sdp',
];
const SDP = 'v=0\r\no=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\ns=-\r\nc=IN IP4 192.0.2.101\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\n';
const INVITE = text([...INVITE_LINES, `Content-Length: ${SDP.length}`], SDP);

function ok(input: string | Buffer, opts?: ParseOptions): SipMessage {
  const r = parseMessage(typeof input === 'string' ? Buffer.from(input) : input, opts);
  if (!r.ok) assert.fail(`expected a parse, got ${r.error.reason}: ${r.error.phrase}`);
  return r.msg;
}

function bad(input: string | Buffer, opts?: ParseOptions): SipParseError {
  const r = parseMessage(typeof input === 'string' ? Buffer.from(input) : input, opts);
  if (r.ok) assert.fail('expected a parse error');
  return r.error;
}

/** Replace the line starting with `prefix` (or drop it when `line` is undefined). */
function withLine(lines: string[], prefix: string, line: string | undefined): string[] {
  const out: string[] = [];
  for (const l of lines) {
    if (l.startsWith(prefix)) {
      if (line !== undefined) out.push(line);
    } else out.push(l);
  }
  return out;
}

describe('parseMessage: start line and mandatory fields', () => {
  test('parses a typical INVITE: request line, mandatory fields and body', () => {
    const m = ok(INVITE);
    assert.deepEqual(m.startLine, { kind: 'request', method: 'INVITE', uri: 'sip:bob@biloxi.example.com', version: 'SIP/2.0' });
    assert.equal(m.isRequest, true);
    assert.equal(m.method, 'INVITE');
    assert.equal(m.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
    assert.deepEqual(m.cseq, { seq: 314159, method: 'INVITE' });
    assert.equal(m.maxForwards, 70);
    assert.equal(m.contentLength, SDP.length);
    assert.equal(m.from.tag, '1928301774');
    assert.equal(m.from.displayName, 'Alice');
    assert.equal(m.to.tag, undefined);
    assert.equal(m.to.uri, 'sip:bob@biloxi.example.com');
    assert.equal(m.topVia.branch, 'z9hG4bK776asdhds');
    assert.equal(m.body.toString(), SDP);
    assert.equal(m.header('content-type'), 'application/sdp');
  });

  test('parses a response status line with a UTF-8 reason phrase; method comes from CSeq', () => {
    const lines = ['SIP/2.0 180 Sonne läutet', ...INVITE_LINES.slice(1, 7), 'Content-Length: 0'];
    const m = ok(text(lines));
    assert.deepEqual(m.startLine, { kind: 'response', status: 180, reason: 'Sonne läutet', version: 'SIP/2.0' });
    assert.equal(m.isRequest, false);
    assert.equal(m.status, 180);
    assert.equal(m.method, 'INVITE');
    assert.equal(m.uri, undefined);
  });

  test('ignores CRLFs before the start line (RFC 3261 §7.5)', () => {
    const m = ok('\r\n\r\n' + INVITE);
    assert.equal(m.method, 'INVITE');
  });

  test('treats a missing Max-Forwards as acceptable (proxy assumes 70)', () => {
    const m = ok(text(withLine(INVITE_LINES, 'Max-Forwards', undefined)));
    assert.equal(m.maxForwards, undefined);
  });

  test('accepts header lines terminated by bare LF', () => {
    const m = ok(text([...INVITE_LINES, 'Content-Length: 4']).replaceAll('\r\n', '\n') + 'v=0\n');
    assert.equal(m.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
    assert.equal(m.body.toString(), 'v=0\n');
  });
});

describe('parseMessage: header names and values', () => {
  test('expands compact forms to canonical long names (RFC 3261 §7.3.3)', () => {
    const m = ok(
      text([
        'MESSAGE sip:bob@example.com SIP/2.0',
        'v: SIP/2.0/UDP host.example.com;branch=z9hG4bK1',
        'i: compact@example.com',
        'f: <sip:alice@example.com>;tag=1',
        't: <sip:bob@example.com>',
        'CSeq: 1 MESSAGE',
        'm: <sip:alice@host.example.com>',
        'c: text/plain',
        'k: timer',
        's: hello',
        'e: gzip',
        'o: presence',
        'r: <sip:carol@example.com>',
        'b: <sip:alice@example.com>',
        'x: 1800',
        'u: talk',
        'l: 0',
      ]),
    );
    assert.equal(m.callId, 'compact@example.com');
    const expected: Record<string, string> = {
      contact: '<sip:alice@host.example.com>',
      'content-type': 'text/plain',
      supported: 'timer',
      subject: 'hello',
      'content-encoding': 'gzip',
      event: 'presence',
      'refer-to': '<sip:carol@example.com>',
      'referred-by': '<sip:alice@example.com>',
      'session-expires': '1800',
      'allow-events': 'talk',
      'content-length': '0',
      via: 'SIP/2.0/UDP host.example.com;branch=z9hG4bK1',
    };
    for (const [name, value] of Object.entries(expected)) assert.equal(m.header(name), value, name);
    assert.equal(m.header('Content-Type'), 'text/plain');
    assert.equal(m.header('c'), 'text/plain');
    assert.equal(m.contentLength, 0);
  });

  test('matches header names case-insensitively, with whitespace before the colon', () => {
    const m = ok(text([...withLine(INVITE_LINES, 'Call-ID', 'cAlL-iD   : mixed@example.com'), 'Content-Length: 0']));
    assert.equal(m.callId, 'mixed@example.com');
    assert.equal(m.header('CALL-ID'), 'mixed@example.com');
    assert.equal(m.hasHeader('i'), true);
  });

  test('parses a folded header as one value (RFC 3261 §7.3.1)', () => {
    const m = ok(text([...INVITE_LINES, 'Subject: I know you are there,', '     pick up the phone', '\tand talk to me!', 'Content-Length: 0']));
    assert.equal(m.header('subject'), 'I know you are there, pick up the phone and talk to me!');
  });

  test('parses a folded Via whose value starts on the continuation line', () => {
    const lines = withLine(INVITE_LINES, 'Via:', 'Via:\r\n  SIP/2.0/UDP  pc33.atlanta.example.com\r\n  ;branch=z9hG4bKfold');
    const m = ok(text([...lines, 'Content-Length: 0']));
    assert.equal(m.topVia.host, 'pc33.atlanta.example.com');
    assert.equal(m.topVia.branch, 'z9hG4bKfold');
  });

  test('splits comma lists outside quoted strings and angle brackets', () => {
    const m = ok(
      text([
        ...INVITE_LINES.filter((l) => !l.startsWith('Contact')),
        'Contact: "Smith, John" <sip:john@a.example.com;x="1,2">;q=0.5, <sip:b@b.example.com;p=a,b>',
        'Contact: sip:c@c.example.com;expires=60',
        'Content-Length: 0',
      ]),
    );
    assert.deepEqual(m.headerValues('contact'), [
      '"Smith, John" <sip:john@a.example.com;x="1,2">;q=0.5',
      '<sip:b@b.example.com;p=a,b>',
      'sip:c@c.example.com;expires=60',
    ]);
    assert.equal(m.headers('m').length, 2);
    assert.equal(m.header('contact'), '"Smith, John" <sip:john@a.example.com;x="1,2">;q=0.5, <sip:b@b.example.com;p=a,b>');
  });

  test('does not split challenge, credential and date headers on commas', () => {
    const auth = 'Digest username="alice", realm="atlanta.example.com", nonce="84a4cc6f", uri="sip:bob@biloxi.example.com", response="7587245234b3434cc3412213e5f113a5432"';
    const m = ok(text([...INVITE_LINES, `Authorization: ${auth}`, 'Date: Sat, 13 Nov 2010 23:29:00 GMT', 'Content-Length: 0']));
    assert.deepEqual(m.headerValues('authorization'), [auth]);
    assert.deepEqual(m.headerValues('date'), ['Sat, 13 Nov 2010 23:29:00 GMT']);
  });

  test('unescapes a quoted display name with escaped quotes and backslashes', () => {
    const m = ok(text([...withLine(INVITE_LINES, 'From', 'From: "Alice \\"The Boss\\" \\\\ Smith" <sip:alice@atlanta.example.com>;tag=9'), 'Content-Length: 0']));
    assert.equal(m.from.displayName, 'Alice "The Boss" \\ Smith');
    assert.equal(m.from.tag, '9');
  });

  test('reads an IPv6 Via with port, valueless rport and received', () => {
    const lines = withLine(INVITE_LINES, 'Via:', 'Via: SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKv6;rport;received=2001:db8::9:255');
    const m = ok(text([...lines, 'Content-Length: 0']));
    assert.equal(m.topVia.host, '[2001:db8::9:1]');
    assert.equal(m.topVia.port, 5070);
    assert.equal(m.topVia.params.get('rport'), null);
    assert.equal(m.topVia.params.has('rport'), true);
    assert.equal(m.topVia.params.get('received'), '2001:db8::9:255');
  });

  test('accepts whitespace around the slashes and colon of a Via (RFC 4475 §3.1.1.1 style)', () => {
    const lines = withLine(INVITE_LINES, 'Via:', 'Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2 : 5060 ;branch=z9hG4bKws');
    const m = ok(text([...lines, 'Content-Length: 0']));
    assert.equal(m.topVia.protocol, 'SIP/2.0');
    assert.equal(m.topVia.transport, 'UDP');
    assert.equal(m.topVia.host, '192.0.2.2');
    assert.equal(m.topVia.port, 5060);
  });

  test('lists every via-parm top first across lines and commas', () => {
    const lines = withLine(INVITE_LINES, 'Via:', 'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com:5061;branch=z9hG4bK2\r\nv: SIP/2.0/TLS c.example.com;branch=z9hG4bK3');
    const m = ok(text([...lines, 'Content-Length: 0']));
    assert.deepEqual(
      m.vias().map((v) => [v.transport, v.host, v.port, v.branch]),
      [
        ['UDP', 'a.example.com', undefined, 'z9hG4bK1'],
        ['TCP', 'b.example.com', 5061, 'z9hG4bK2'],
        ['TLS', 'c.example.com', undefined, 'z9hG4bK3'],
      ],
    );
    assert.equal(m.topVia.host, 'a.example.com');
  });

  test('keeps a binary body byte for byte', () => {
    const body = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) body[i] = i;
    const headText = text([...INVITE_LINES.slice(0, -1), 'Content-Type: application/octet-stream', 'Content-Length: 256']);
    const m = ok(Buffer.concat([Buffer.from(headText), body]));
    assert.deepEqual(m.body, body);
  });

  test('truncates the body to a smaller Content-Length (RFC 3261 §18.3)', () => {
    const m = ok(text([...INVITE_LINES, 'Content-Length: 3'], 'v=0 trailing garbage'));
    assert.equal(m.body.toString(), 'v=0');
  });

  test('takes the rest of the datagram as body when Content-Length is absent', () => {
    const m = ok(text(INVITE_LINES, SDP));
    assert.equal(m.contentLength, undefined);
    assert.equal(m.body.toString(), SDP);
  });
});

describe('parseMessage: a tortuous INVITE (RFC 4475 §3.1.1.1 style)', () => {
  const body = 'v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\nt=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\n';
  const wsinv = [
    'INVITE sip:carol@chair.example.com;unknownparam SIP/2.0',
    'TO :',
    ' sip:carol@chair.example.com ;   tag    = 1918181833n',
    'from   : "C Tortuous \\\\\\""       <sip:ct@example.com>',
    '  ;',
    '  tag = 98asjd8',
    'MaX-fOrWaRdS: 0068',
    'Call-ID: wsinv.ndaksdj@192.0.2.1',
    `Content-Length   : ${body.length}`,
    'cseq: 0009',
    '  INVITE',
    'Via  : SIP  /   2.0',
    ' /UDP',
    '    192.0.2.2;rport;branch=390skdjuw',
    's :',
    'NewFangledHeader:   newfangled value',
    ' continued newfangled value',
    'UnknownHeaderWithUnusualValue: ;;,,;;,;',
    'Content-Type: application/sdp',
    'Route:',
    ' <sip:services.example.com;lr;unknownwith=value;unknown-no-value>',
    'v:  SIP  / 2.0  / TCP     spindle.example.com   ;',
    '  branch  =   z9hG4bK9ikj8  ,',
    ' SIP  /    2.0   / UDP  192.168.255.111   ; branch=',
    ' z9hG4bK30239',
    'm:"Quoted string \\"\\"" <sip:ct@example.com> ; newparam =',
    '      newvalue ;',
    '  secondparam ; q = 0.33',
  ].join('\r\n') + '\r\n\r\n' + body;

  test('parses every field of a whitespace-heavy, folded, mixed-case INVITE', () => {
    const m = ok(wsinv);
    assert.equal(m.uri, 'sip:carol@chair.example.com;unknownparam');
    assert.equal(m.to.uri, 'sip:carol@chair.example.com');
    assert.equal(m.to.tag, '1918181833n');
    assert.equal(m.from.displayName, 'C Tortuous \\"');
    assert.equal(m.from.tag, '98asjd8');
    assert.equal(m.maxForwards, 68);
    assert.deepEqual(m.cseq, { seq: 9, method: 'INVITE' });
    assert.equal(m.topVia.host, '192.0.2.2');
    assert.equal(m.topVia.params.get('rport'), null);
    assert.deepEqual(
      m.vias().map((v) => [v.transport, v.host, v.branch]),
      [
        ['UDP', '192.0.2.2', '390skdjuw'],
        ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
        ['UDP', '192.168.255.111', 'z9hG4bK30239'],
      ],
    );
    assert.equal(m.header('subject'), '');
    assert.equal(m.header('newfangledheader'), 'newfangled value continued newfangled value');
    assert.deepEqual(m.headerValues('route'), ['<sip:services.example.com;lr;unknownwith=value;unknown-no-value>']);
    const contact = parseNameAddr(m.headerValues('contact')[0] ?? '');
    assert.equal(contact?.displayName, 'Quoted string ""');
    assert.equal(contact?.params.get('q'), '0.33');
    assert.equal(contact?.params.get('secondparam'), null);
    assert.equal(m.body.toString(), body);
    assert.equal(spliceMessage(m, {}).toString(), wsinv);
  });
});

describe('parseMessage: malformed input', () => {
  test('rejects an empty datagram and a CRLF keepalive as empty', () => {
    assert.equal(bad('').reason, 'empty');
    assert.equal(bad('\r\n\r\n').reason, 'empty');
  });

  test('drops messages over 64 KiB as too-large without a reply', () => {
    const big = text([...INVITE_LINES, `Content-Length: ${MAX_MESSAGE_BYTES}`], 'x'.repeat(MAX_MESSAGE_BYTES));
    const e = bad(big);
    assert.equal(e.reason, 'too-large');
    assert.equal(e.reply, undefined);
    assert.equal(buildErrorResponse(e), undefined);
  });

  test('answers a missing Call-ID with a precise 400 phrase', () => {
    const e = bad(text([...withLine(INVITE_LINES, 'Call-ID', undefined), 'Content-Length: 0']));
    assert.equal(e.reason, 'missing-header');
    assert.equal(e.status, 400);
    assert.equal(e.phrase, 'Bad Request - Missing Call-ID');
    assert.equal(e.isRequest, true);
    assert.equal(e.method, 'INVITE');
    assert.equal(e.topVia, 'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport');
    const reply = buildErrorResponse(e, 'x1')?.toString() ?? assert.fail('no reply');
    assert.match(reply, /^SIP\/2\.0 400 Bad Request - Missing Call-ID\r\nVia: SIP\/2\.0\/UDP pc33\.atlanta\.example\.com;branch=z9hG4bK776asdhds;rport\r\n/);
    assert.match(reply, /\r\nTo: Bob <sip:bob@biloxi\.example\.com>;tag=x1\r\n/);
    assert.match(reply, /\r\nCSeq: 314159 INVITE\r\nContent-Length: 0\r\n\r\n$/);
  });

  test('rejects Content-Length larger than the body with a 400 that parses back (RFC 3261 §18.3)', () => {
    const e = bad(text([...INVITE_LINES, 'Content-Length: 9999'], SDP));
    assert.equal(e.reason, 'content-length-mismatch');
    assert.equal(e.phrase, 'Bad Request - Content-Length Exceeds Body');
    const reply = ok(buildErrorResponse(e, 'tag400') ?? assert.fail('no reply'));
    assert.equal(reply.status, 400);
    assert.equal(reply.to.tag, 'tag400');
    assert.equal(reply.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
    assert.equal(reply.topVia.branch, 'z9hG4bK776asdhds');
  });

  test('discards a response whose Content-Length exceeds the body, with nothing to answer', () => {
    const e = bad(text(['SIP/2.0 200 OK', ...INVITE_LINES.slice(1), 'Content-Length: 500'], SDP));
    assert.equal(e.reason, 'content-length-mismatch');
    assert.equal(e.isRequest, false);
    assert.equal(e.reply, undefined);
  });

  test('rejects a CSeq method that differs from the request method', () => {
    const e = bad(text([...withLine(INVITE_LINES, 'CSeq', 'CSeq: 314159 REGISTER'), 'Content-Length: 0']));
    assert.equal(e.reason, 'cseq-method-mismatch');
    assert.notEqual(e.reply, undefined);
  });

  test('rejects a malformed CSeq number', () => {
    assert.equal(bad(text([...withLine(INVITE_LINES, 'CSeq', 'CSeq: 99999999999 INVITE'), 'Content-Length: 0'])).reason, 'bad-cseq');
    assert.equal(bad(text([...withLine(INVITE_LINES, 'CSeq', 'CSeq: -1 INVITE'), 'Content-Length: 0'])).reason, 'bad-cseq');
  });

  test('rejects a header line without a colon as bad-header but still recovers the Via', () => {
    const e = bad(text([...INVITE_LINES, 'This is not a header', 'Content-Length: 0']));
    assert.equal(e.reason, 'bad-header');
    assert.notEqual(buildErrorResponse(e), undefined);
  });

  test('rejects a malformed start line', () => {
    assert.equal(bad(text(['INVITE  sip:bob@example.com SIP/2.0', ...INVITE_LINES.slice(1)])).reason, 'bad-start-line');
    assert.equal(bad(text(['SIP/2.0 99 Too Low', ...INVITE_LINES.slice(1)])).reason, 'bad-start-line');
    assert.equal(bad('\u0000\u0001garbage').reason, 'bad-start-line');
  });

  test('answers an unsupported SIP version with 505 (RFC 3261 §21.5.10)', () => {
    const e = bad(text(['INVITE sip:bob@biloxi.example.com SIP/7.0', ...INVITE_LINES.slice(1)]));
    assert.equal(e.reason, 'bad-version');
    assert.equal(e.status, 505);
    assert.match(buildErrorResponse(e)?.toString() ?? '', /^SIP\/2.0 505 /);
  });

  test('cannot answer without a usable top Via', () => {
    const noVia = bad(text([...withLine(INVITE_LINES, 'Via:', undefined), 'Content-Length: 0']));
    assert.equal(noVia.reason, 'missing-header');
    assert.equal(noVia.phrase, 'Bad Request - Missing Via');
    assert.equal(noVia.reply, undefined);
    const badVia = bad(text([...withLine(INVITE_LINES, 'Via:', 'Via: SIP/2.0/UDP'), 'Content-Length: 0']));
    assert.equal(badVia.reason, 'bad-via');
    assert.equal(badVia.reply, undefined);
  });

  test('never answers a malformed ACK (RFC 3261 §17.1.1.3: ACK gets no response)', () => {
    const lines = ['ACK sip:bob@biloxi.example.com SIP/2.0', ...INVITE_LINES.slice(1, 6), 'CSeq: 314159 ACK'];
    const e = bad(text([...lines, 'Content-Length: 12']));
    assert.equal(e.reason, 'content-length-mismatch');
    assert.equal(e.reply, undefined);
  });

  test('rejects malformed Max-Forwards, Content-Length, From and To', () => {
    assert.equal(bad(text([...withLine(INVITE_LINES, 'Max-Forwards', 'Max-Forwards: seventy'), 'Content-Length: 0'])).reason, 'bad-max-forwards');
    assert.equal(bad(text([...INVITE_LINES, 'Content-Length: 1a'])).reason, 'bad-content-length');
    assert.equal(bad(text([...INVITE_LINES, 'Content-Length: 0', 'l: 4'], 'abcd')).reason, 'bad-content-length');
    assert.equal(bad(text([...withLine(INVITE_LINES, 'From', 'From: <sip:alice@atlanta.example.com;tag=1'), 'Content-Length: 0'])).reason, 'bad-from');
    assert.equal(bad(text([...withLine(INVITE_LINES, 'To', 'To: "Bob <sip:bob@biloxi.example.com>'), 'Content-Length: 0'])).reason, 'bad-to');
  });

  test('requires Content-Length on stream transports (RFC 3261 §18.3)', () => {
    const e = bad(text(INVITE_LINES), { stream: true });
    assert.equal(e.phrase, 'Bad Request - Missing Content-Length');
  });
});

describe('parseUri and parseNameAddr', () => {
  test('parses user, password, host, port, valueless and valued params and headers', () => {
    const u = parseUri('sip:alice:secret@Atlanta.Example.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent');
    assert.ok(u);
    assert.equal(u.scheme, 'sip');
    assert.equal(u.user, 'alice');
    assert.equal(u.password, 'secret');
    assert.equal(u.host, 'atlanta.example.com');
    assert.equal(u.port, 5061);
    assert.equal(u.params.get('transport'), 'tcp');
    assert.equal(u.params.get('lr'), null);
    assert.deepEqual([...u.headers], [
      ['subject', 'project%20x'],
      ['priority', 'urgent'],
    ]);
  });

  test('parses an IPv6 host reference, sips and tel URIs', () => {
    const v6 = parseUri('sips:[2001:db8::10]:5061;maddr=[2001:db8::1]');
    assert.equal(v6?.scheme, 'sips');
    assert.equal(v6?.host, '[2001:db8::10]');
    assert.equal(v6?.port, 5061);
    const tel = parseUri('tel:+1-201-555-0123;phone-context=example.com');
    assert.equal(tel?.scheme, 'tel');
    assert.equal(tel?.user, '+1-201-555-0123');
    assert.equal(tel?.params.get('phone-context'), 'example.com');
    assert.equal(parseUri('sip:atlanta.example.com')?.user, undefined);
  });

  test('returns undefined for garbage URIs', () => {
    for (const g of ['', 'sip:', 'http://example.com', 'sip:@host', 'sip:a@ho st', 'sip:a@host:99999', 'sip:a@[::1', 'sip:a@host;', 'sip:a@host?x', 'tel:', 'sip:a@<host>']) {
      assert.equal(parseUri(g), undefined, g);
    }
  });

  test('treats params after an addr-spec as header params (RFC 3261 §20.10)', () => {
    const a = parseNameAddr('sip:bob@biloxi.example.com;tag=a6c85cf');
    assert.equal(a?.uri, 'sip:bob@biloxi.example.com');
    assert.equal(a?.tag, 'a6c85cf');
    assert.equal(a?.bracketed, false);
    const b = parseNameAddr('<sip:bob@biloxi.example.com;transport=udp>;tag=x');
    assert.equal(b?.uri, 'sip:bob@biloxi.example.com;transport=udp');
    assert.equal(b?.tag, 'x');
    assert.equal(b?.displayName, undefined);
  });

  test('accepts token display names and rejects garbage name-addrs', () => {
    assert.equal(parseNameAddr('Bob  Smith <sip:bob@example.com>')?.displayName, 'Bob Smith');
    assert.equal(parseNameAddr('"Bob" <tel:+1555>;tag=1')?.uri, 'tel:+1555');
    for (const g of ['', '<>', '"unterminated <sip:a@b>', '<sip:a@b', 'sip:a@b;tag=', 'Bob <nocolon>', 'sip:a@b, sip:c@d', '"x" sip:a@b']) {
      assert.equal(parseNameAddr(g), undefined, g);
    }
  });

  test('parameters: names are case-insensitive, a repeated name keeps its first place and its last value, none is an empty list', () => {
    const [via] = parseVia('SIP/2.0/UDP h;Branch=z9hG4bK1;rport;BRANCH=z9hG4bK2;received=192.0.2.1')!;
    assert.equal(via!.branch, 'z9hG4bK2');
    assert.deepEqual([...via!.params], [['branch', 'z9hG4bK2'], ['rport', null], ['received', '192.0.2.1']]);
    assert.equal(via!.params.size, 3);
    assert.equal(via!.params.get('maddr'), undefined);
    assert.equal(parseVia('SIP/2.0/UDP h')![0]!.params.size, 0);
  });

  test('parseVia rejects a Via with a bad port or missing sent-by', () => {
    assert.equal(parseVia('SIP/2.0/UDP host:70000'), undefined);
    assert.equal(parseVia('SIP/2.0/UDP ;branch=x'), undefined);
    assert.equal(parseVia('SIP/2.0 host'), undefined);
    assert.equal(parseVia('SIP/2.0/UDP a, SIP/2.0/TCP b')?.length, 2);
  });
});

describe('spliceMessage', () => {
  test('reproduces an unedited message byte for byte', () => {
    assert.equal(spliceMessage(ok(INVITE), {}).toString('latin1'), INVITE);
    const odd = text(['OPTIONS sip:x@example.com SIP/2.0', 'v:SIP/2.0/UDP h.example.com;branch=z9hG4bKo', 'i:  odd', 'Subject: a,', '  b', 'f: <sip:a@example.com>;tag=1', 't: sip:x@example.com', 'CSeq:1 OPTIONS', 'l:0']);
    assert.equal(spliceMessage(ok(odd), {}).toString('latin1'), odd);
  });

  test('forwards a request: our Via on top, Record-Route, received/rport, Max-Forwards decrement, new Request-URI (RFC 3261 §16.6)', () => {
    const m = ok(INVITE);
    const out = spliceMessage(m, {
      requestUri: 'sip:bob@192.0.2.4',
      prependVia: 'SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKproxy1;rport',
      recordRoute: '<sip:198.51.100.1;lr>',
      topViaParams: [
        ['received', '192.0.2.101'],
        ['rport', '5062'],
      ],
      set: [['Max-Forwards', String((m.maxForwards ?? 70) - 1)]],
    });
    const expected = INVITE.replace('INVITE sip:bob@biloxi.example.com SIP/2.0\r\n', 'INVITE sip:bob@192.0.2.4 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKproxy1;rport\r\n')
      .replace(';rport\r\nMax-Forwards: 70', ';rport=5062;received=192.0.2.101\r\nRecord-Route: <sip:198.51.100.1;lr>\r\nMax-Forwards: 69');
    assert.equal(out.toString('latin1'), expected);
    const again = ok(out);
    assert.equal(again.topVia.branch, 'z9hG4bKproxy1');
    assert.equal(again.vias()[1]?.params.get('received'), '192.0.2.101');
    assert.equal(again.maxForwards, 69);
  });

  test('inserts Record-Route before an existing Record-Route', () => {
    const m = ok(text([...INVITE_LINES, 'Record-Route: <sip:p2.example.com;lr>', 'Content-Length: 0']));
    const out = spliceMessage(m, { recordRoute: '<sip:p1.example.com;lr>' }).toString();
    assert.match(out, /Record-Route: <sip:p1.example.com;lr>\r\nRecord-Route: <sip:p2.example.com;lr>\r\n/);
    assert.deepEqual(ok(out).headerValues('record-route'), ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
  });

  test('removes only the first value of a multi-value top Via line, else the whole line (RFC 3261 §16.7)', () => {
    const multi = text(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1 , SIP/2.0/UDP a.example.com;branch=z9hG4bKa', ...INVITE_LINES.slice(2), 'Content-Length: 0']);
    const out1 = spliceMessage(ok(multi), { removeTopVia: true }).toString();
    assert.equal(out1, multi.replace('SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1 , ', ''));
    const single = text(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1', 'v: SIP/2.0/UDP a.example.com;branch=z9hG4bKa', ...INVITE_LINES.slice(2), 'Content-Length: 0']);
    const out2 = spliceMessage(ok(single), { removeTopVia: true }).toString();
    assert.equal(out2, single.replace('Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1\r\n', ''));
    assert.equal(ok(out2).topVia.branch, 'z9hG4bKa');
  });

  test('removes the first Route value with the same comma rule', () => {
    const m = ok(text([...INVITE_LINES, 'Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>', 'Route: <sip:p3.example.com;lr>', 'Content-Length: 0']));
    const once = ok(spliceMessage(m, { removeFirstRoute: true }));
    assert.deepEqual(once.headerValues('route'), ['<sip:p2.example.com;lr>', '<sip:p3.example.com;lr>']);
    const twice = ok(spliceMessage(once, { removeFirstRoute: true }));
    assert.deepEqual(twice.headerValues('route'), ['<sip:p3.example.com;lr>']);
    assert.equal(twice.headers('route').length, 1);
  });

  test('rewrites Content-Length for a new body and adds it when absent', () => {
    const m = ok(INVITE);
    const out = ok(spliceMessage(m, { body: 'v=0\r\n' }));
    assert.equal(out.contentLength, 5);
    assert.equal(out.body.toString(), 'v=0\r\n');
    const noCl = ok(text(INVITE_LINES, SDP));
    const framed = spliceMessage(noCl, {});
    assert.equal(framed.toString(), text([...INVITE_LINES, `Content-Length: ${SDP.length}`], SDP));
    assert.ok(parseMessage(framed, { stream: true }).ok);
  });

  test('adds, sets and removes headers while leaving compact and folded ones untouched', () => {
    const m = ok(text([...INVITE_LINES, 'Subject: folded', '  line', 'P-Debug: 1', 'P-Debug: 2', 'Content-Length: 0']));
    const out = spliceMessage(m, { remove: ['p-debug'], add: [['user-agent', 'callpath']], set: [['x-new', 'yes']] }).toString();
    assert.match(out, /Subject: folded\r\n {2}line\r\n/);
    assert.doesNotMatch(out, /P-Debug/);
    assert.match(out, /Content-Length: 0\r\nX-New: yes\r\nUser-Agent: callpath\r\n\r\n$/);
  });
});

describe('buildResponse, buildCancel, buildAck', () => {
  test('copies Via, From, To, Call-ID, CSeq and adds the To tag (RFC 3261 §8.2.6.2)', () => {
    const lines = withLine(INVITE_LINES, 'Via:', 'Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1\r\nVia: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds');
    const req = ok(text([...lines, 'Content-Length: 0']));
    const resp = ok(buildResponse(req, 486, 'Busy Here', { toTag: 'b7', headers: [['retry-after', '60']] }));
    assert.equal(resp.status, 486);
    assert.deepEqual(resp.vias().map((v) => v.branch), ['z9hG4bKp1', 'z9hG4bK776asdhds']);
    assert.equal(resp.from.tag, '1928301774');
    assert.equal(resp.to.tag, 'b7');
    assert.equal(resp.callId, req.callId);
    assert.deepEqual(resp.cseq, req.cseq);
    assert.equal(resp.header('retry-after'), '60');
    assert.equal(resp.contentLength, 0);
  });

  test('does not add a To tag to 100 Trying or when the request already has one', () => {
    const req = ok(INVITE);
    assert.equal(ok(buildResponse(req, 100, 'Trying', { toTag: 'x' })).to.tag, undefined);
    const inDialog = ok(text([...withLine(INVITE_LINES, 'To', 'To: <sip:bob@biloxi.example.com>;tag=abc'), 'Content-Length: 0']));
    assert.equal(ok(buildResponse(inDialog, 200, 'OK', { toTag: 'x' })).to.tag, 'abc');
  });

  test('builds a CANCEL with the same Request-URI, Call-ID, From, To, CSeq number, top Via and Routes (RFC 3261 §9.1)', () => {
    const lines = withLine(INVITE_LINES, 'Via:', 'Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1, SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds');
    const req = ok(text([...lines, 'Route: <sip:p2.example.com;lr>', 'Content-Length: 0']));
    const c = ok(buildCancel(req));
    assert.equal(c.method, 'CANCEL');
    assert.equal(c.uri, req.uri);
    assert.equal(c.callId, req.callId);
    assert.deepEqual(c.cseq, { seq: req.cseq.seq, method: 'CANCEL' });
    assert.equal(c.vias().length, 1);
    assert.equal(c.topVia.branch, 'z9hG4bKp1');
    assert.equal(c.header('to'), req.header('to'));
    assert.equal(c.header('from'), req.header('from'));
    assert.deepEqual(c.headerValues('route'), ['<sip:p2.example.com;lr>']);
  });

  test('builds an ACK for a non-2xx with the To of the response (RFC 3261 §17.1.1.3)', () => {
    const req = ok(INVITE);
    const resp = ok(buildResponse(req, 404, 'Not Found', { toTag: 'nf1' }));
    const ack = ok(buildAck(req, resp));
    assert.equal(ack.method, 'ACK');
    assert.equal(ack.to.tag, 'nf1');
    assert.equal(ack.from.tag, req.from.tag);
    assert.deepEqual(ack.cseq, { seq: 314159, method: 'ACK' });
    assert.equal(ack.topVia.raw, req.topVia.raw);
  });
});

describe('frameStream', () => {
  test('frames pipelined messages and skips keepalive CRLFs', () => {
    const one = Buffer.from(INVITE);
    const stream = Buffer.concat([Buffer.from('\r\n\r\n'), one, one.subarray(0, 100)]);
    const f1 = frameStream(stream);
    assert.ok('messageLength' in f1);
    assert.equal(f1.skip, 4);
    assert.equal(f1.messageLength, one.length);
    const rest = stream.subarray(f1.skip + f1.messageLength);
    assert.deepEqual(frameStream(rest), { need: 'more', skip: 0 });
    assert.ok(parseMessage(stream.subarray(f1.skip, f1.skip + f1.messageLength), { stream: true }).ok);
  });

  test('waits for the whole body and rejects a stream message without Content-Length', () => {
    const one = Buffer.from(INVITE);
    // The header section is complete, so the framer says how many bytes the message needs in all.
    assert.deepEqual(frameStream(one.subarray(0, one.length - 1)), { need: 'more', skip: 0, until: one.length });
    const r = frameStream(Buffer.from(text(INVITE_LINES)));
    assert.ok('error' in r);
    assert.equal(r.error.reason, 'missing-header');
  });

  test('reads a folded Content-Length when framing', () => {
    const folded = text([...INVITE_LINES, 'Content-Length:', `  ${SDP.length}`], SDP);
    assert.deepEqual(frameStream(Buffer.from(folded + 'OPTIONS')), { messageLength: Buffer.byteLength(folded), skip: 0 });
  });

  test('gives up on a header section that grows past 64 KiB', () => {
    const r = frameStream(Buffer.from('INVITE sip:a@b SIP/2.0\r\nX: ' + 'a'.repeat(MAX_MESSAGE_BYTES)));
    assert.ok('error' in r);
    assert.equal(r.error.reason, 'too-large');
  });
});

test('the top Via branch is read from the bytes alone: the first via-parm of the first Via line, long or compact form', () => {
  const msg = (vias: string[]) => Buffer.from(['OPTIONS sip:a@b SIP/2.0', ...vias, 'Call-ID: x', 'CSeq: 1 OPTIONS', '', ''].join('\r\n'));
  assert.equal(topViaBranchOf(msg(['Via: SIP/2.0/UDP p1:5060;branch=z9hG4bKtop, SIP/2.0/UDP p2;branch=z9hG4bKsecond', 'Via: SIP/2.0/UDP p3;branch=z9hG4bKthird'])), 'z9hG4bKtop');
  assert.equal(topViaBranchOf(msg(['v: SIP/2.0/TCP [::1]:5060;rport;branch=z9hG4bKcompact'])), 'z9hG4bKcompact');
  assert.equal(topViaBranchOf(msg(['Via: SIP/2.0/UDP p1:5060;rport'])), null, 'a Via without a branch (RFC 2543)');
  assert.equal(topViaBranchOf(msg([])), null, 'no Via at all');
  assert.equal(topViaBranchOf(Buffer.from('garbage')), null);
});

test('one header is read from the bytes alone: long or compact name, any case, UTF-8 kept, the first line of its name', () => {
  const raw = Buffer.from(['SIP/2.0 180 Ringing', 'v: SIP/2.0/UDP p1;branch=z9hG4bK1', 'f: "Zoë" <sip:zoe@a>;tag=a1', 'TO: <sip:bob@b>;tag=b7', 'To: <sip:second@b>', 'Call-ID: x', 'CSeq: 1 INVITE', '', 'To: not-a-header'].join('\r\n'));
  assert.equal(peekHeader(raw, 'From'), '"Zoë" <sip:zoe@a>;tag=a1');
  assert.equal(peekHeader(raw, 't'), '<sip:bob@b>;tag=b7');
  assert.equal(peekHeader(raw, 'Contact'), null);
  assert.equal(parseNameAddr(peekHeader(raw, 'to')!)?.tag, 'b7');
});
