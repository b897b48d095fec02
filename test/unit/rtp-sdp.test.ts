/**
 * The relay's SDP work (engine/rtp/sdp.ts): reading the streams an offer or
 * answer describes, refusing what the relay cannot act on with a reason a
 * 488 can carry, and rewriting the body so media flows through the relay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSdp, rewriteSdp, SDP_MAX_BYTES, type SdpMedia, type SdpRead } from '../../engine/rtp/sdp';
import { rng } from '../helpers/rng';

const RELAY = '203.0.113.10';
const lf = (...lines: string[]) => lines.join('\n') + '\n';
const crlf = (...lines: string[]) => lines.join('\r\n') + '\r\n';

/** SIPp's built-in uac scenario body, with LF line endings as a hand-written fixture would have. */
const SIPP_OFFER = lf(
  'v=0',
  'o=user1 53655765 2353687637 IN IP4 192.168.1.20',
  's=-',
  'c=IN IP4 192.168.1.20',
  't=0 0',
  'm=audio 6000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
);

function media(body: string): SdpMedia[] {
  const r = readSdp(body);
  assert.ok(r.ok, `expected the SDP to be read, got: ${r.ok ? '' : r.reason}`);
  return r.media;
}

function reason(body: string): string {
  let r: SdpRead | undefined;
  assert.doesNotThrow(() => {
    r = readSdp(body);
  });
  assert.ok(r && !r.ok, 'expected the SDP to be refused');
  assertReasonPhrase(r.reason);
  return r.reason;
}

function assertReasonPhrase(s: string): void {
  assert.equal(typeof s, 'string');
  assert.ok(s.length > 0 && s.length <= 100, `reason too long or empty: ${JSON.stringify(s)}`);
  assert.doesNotMatch(s, /[\r\n]/, 'a reason phrase is one line');
}

const relayOf = (ports: [number, number][], address = RELAY) => ({ address, ports: new Map(ports) });
const linesOf = (body: string) => body.split('\r\n').filter((l) => l !== '');

test('a SIPp PCMU offer reads as one sendrecv audio stream with RTCP on port + 1', () => {
  assert.deepEqual(media(SIPP_OFFER), [
    {
      index: 0,
      type: 'audio',
      protocol: 'RTP/AVP',
      port: 6000,
      address: '192.168.1.20',
      rtcpPort: 6001,
      rtcpMux: false,
      direction: 'sendrecv',
      payloads: [{ pt: 0, codec: 'PCMU', rate: 8000 }],
    },
  ]);
});

test('a rewritten SIPp offer reads back with the relay address and ports and the same payloads, in CRLF lines', () => {
  const out = rewriteSdp(SIPP_OFFER, relayOf([[0, 30000]]));
  assert.doesNotMatch(out.replaceAll('\r\n', ''), /[\r\n]/, 'every line ends in CRLF, none in a bare LF');
  assert.ok(out.endsWith('\r\n'));
  const [m] = media(out);
  assert.equal(m!.port, 30000);
  assert.equal(m!.address, RELAY);
  assert.equal(m!.rtcpPort, 30001);
  assert.deepEqual(m!.payloads, media(SIPP_OFFER)[0]!.payloads);
  const lines = linesOf(out);
  assert.ok(lines.includes('o=user1 53655765 2353687637 IN IP4 192.168.1.20'), 'o= keeps its address and version, as rtpengine does by default');
  assert.ok(lines.includes(`c=IN IP4 ${RELAY}`));
  assert.deepEqual(
    lines.filter((l) => l.includes('192.168.1.20')),
    ['o=user1 53655765 2353687637 IN IP4 192.168.1.20'],
    'the endpoint address survives only in o=',
  );
  assert.ok(lines.includes('a=rtpmap:0 PCMU/8000'));
});

test('static payload types are named per RFC 3551 when there is no a=rtpmap; a=rtpmap wins; an unmapped dynamic type stays unnamed', () => {
  const [m] = media(
    lf('v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=audio 4000 RTP/AVP 8 9 18 13 0 101 96 97', 'a=rtpmap:101 telephone-event/8000', 'a=rtpmap:97 opus/48000/2', 'a=rtpmap:0 pcmu/8000'),
  );
  assert.deepEqual(m!.payloads, [
    { pt: 8, codec: 'PCMA', rate: 8000 },
    { pt: 9, codec: 'G722', rate: 8000 },
    { pt: 18, codec: 'G729', rate: 8000 },
    { pt: 13, codec: 'CN', rate: 8000 },
    { pt: 0, codec: 'pcmu', rate: 8000 },
    { pt: 101, codec: 'telephone-event', rate: 8000 },
    { pt: 96, codec: null, rate: null },
    { pt: 97, codec: 'opus', rate: 48000 },
  ]);
});

test('a media-level c= wins over the session-level one, which the other streams inherit', () => {
  const ms = media(
    lf('v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=audio 4000 RTP/AVP 0', 'c=IN IP4 10.0.0.2', 'm=video 4002 RTP/AVP 96', 'a=rtpmap:96 H264/90000'),
  );
  assert.deepEqual(
    ms.map((m) => [m.type, m.address]),
    [
      ['audio', '10.0.0.2'],
      ['video', '10.0.0.1'],
    ],
  );
});

test('a c= only at media level is rewritten there; a c= only at session level is replaced and the stream gets its own', () => {
  const mediaLevel = rewriteSdp(lf('v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 't=0 0', 'm=audio 4000 RTP/AVP 0', 'c=IN IP4 10.0.0.2', 'a=sendrecv'), relayOf([[0, 30000]]));
  assert.deepEqual(linesOf(mediaLevel).slice(3), ['t=0 0', 'm=audio 30000 RTP/AVP 0', `c=IN IP4 ${RELAY}`, 'a=sendrecv']);

  const sessionLevel = rewriteSdp(lf('v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=audio 4000 RTP/AVP 0', 'i=main audio', 'a=sendrecv'), relayOf([[0, 30000]]));
  assert.deepEqual(linesOf(sessionLevel), [
    'v=0',
    'o=- 1 1 IN IP4 10.0.0.1',
    's=-',
    `c=IN IP4 ${RELAY}`,
    't=0 0',
    'm=audio 30000 RTP/AVP 0',
    'i=main audio',
    `c=IN IP4 ${RELAY}`,
    'a=sendrecv',
  ]);
});

const AUDIO_AND_REJECTED_VIDEO = lf(
  'v=0',
  'o=- 1 1 IN IP4 10.0.0.1',
  's=-',
  'c=IN IP4 10.0.0.1',
  't=0 0',
  'm=audio 4000 RTP/AVP 0 8',
  'a=sendrecv',
  'm=video 0 RTP/AVP 96',
  'a=rtpmap:96 VP8/90000',
);

test('audio with a rejected (port 0) video: the video reads as port 0 with no RTCP port, and is left as it was', () => {
  const [audio, video] = media(AUDIO_AND_REJECTED_VIDEO);
  assert.equal(audio!.port, 4000);
  assert.deepEqual([video!.index, video!.type, video!.port, video!.rtcpPort], [1, 'video', 0, 0]);
  assert.deepEqual(video!.payloads, [{ pt: 96, codec: 'VP8', rate: 90000 }]);

  const out = linesOf(rewriteSdp(AUDIO_AND_REJECTED_VIDEO, relayOf([[0, 30000]])));
  assert.ok(out.includes('m=audio 30000 RTP/AVP 0 8'));
  assert.ok(out.includes('m=video 0 RTP/AVP 96'));
  assert.equal(out[3], `c=IN IP4 ${RELAY}`, 'a rejected stream does not need the session c=, so the endpoint address goes');
});

test('a rejected stream stays rejected even when the caller lists it with a port (RFC 3264 §6)', () => {
  const out = linesOf(
    rewriteSdp(
      AUDIO_AND_REJECTED_VIDEO,
      relayOf([
        [0, 30000],
        [1, 30002],
      ]),
    ),
  );
  assert.ok(out.includes('m=video 0 RTP/AVP 96'));
  assert.ok(!out.some((l) => l.includes('30002')));
});

test('a live stream left outside the relay keeps the session c= it depends on, while the relayed one gets its own c=', () => {
  const out = linesOf(rewriteSdp(AUDIO_AND_REJECTED_VIDEO.replace('m=video 0', 'm=video 4002'), relayOf([[0, 30000]])));
  assert.equal(out[3], 'c=IN IP4 10.0.0.1');
  assert.deepEqual(out.slice(5, 7), ['m=audio 30000 RTP/AVP 0 8', `c=IN IP4 ${RELAY}`]);
  assert.ok(out.includes('m=video 4002 RTP/AVP 96'));
});

test('a=rtcp (RFC 3605) gives the RTCP port; rewritten to relay port + 1, with the relay address only where it carried one', () => {
  const body = lf(
    'v=0',
    'o=- 1 1 IN IP4 10.0.0.1',
    's=-',
    'c=IN IP4 10.0.0.1',
    't=0 0',
    'm=audio 4000 RTP/AVP 0',
    'a=rtcp:4005',
    'm=audio 5000 RTP/AVP 0',
    'a=rtcp:7001 IN IP4 192.168.7.7',
  );
  assert.deepEqual(
    media(body).map((m) => m.rtcpPort),
    [4005, 7001],
  );
  const out = rewriteSdp(
    body,
    relayOf([
      [0, 30000],
      [1, 30010],
    ]),
  );
  const lines = linesOf(out);
  assert.ok(lines.includes('a=rtcp:30001'));
  assert.ok(lines.includes(`a=rtcp:30011 IN IP4 ${RELAY}`));
  assert.deepEqual(
    media(out).map((m) => m.rtcpPort),
    [30001, 30011],
  );
});

test('a=rtcp-mux is read and kept', () => {
  const body = lf('v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=audio 4000 RTP/AVP 0', 'a=rtcp-mux', 'm=audio 5000 RTP/AVP 0');
  assert.deepEqual(
    media(body).map((m) => m.rtcpMux),
    [true, false],
  );
  assert.deepEqual(
    media(rewriteSdp(body, relayOf([[0, 30000]]))).map((m) => m.rtcpMux),
    [true, false],
  );
});

const WEBRTC_LIKE = crlf(
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=ice-options:trickle',
  'a=ice-lite',
  'm=audio 54400 RTP/SAVPF 111',
  'c=IN IP4 198.51.100.7',
  'a=rtcp:54400 IN IP4 198.51.100.7',
  'a=candidate:0 1 UDP 2113667327 192.168.0.5 54400 typ host',
  'a=candidate:1 1 UDP 1694302207 198.51.100.7 54400 typ srflx raddr 192.168.0.5 rport 54400',
  'a=end-of-candidates',
  'a=remote-candidates:1 198.51.100.9 6000',
  'a=ice-ufrag:F7gI',
  'a=ice-pwd:x9cml/YzichV2+XlhiMu8g',
  'a=fingerprint:sha-256 03:63:4B:E0:AA:51',
  'a=setup:actpass',
  'a=mid:0',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
);

test('ICE attributes are removed at both levels so candidates cannot route media around the relay; the rest stays in order', () => {
  const out = linesOf(rewriteSdp(WEBRTC_LIKE, relayOf([[0, 30000]])));
  assert.deepEqual(out, [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'm=audio 30000 RTP/SAVPF 111',
    `c=IN IP4 ${RELAY}`,
    `a=rtcp:30001 IN IP4 ${RELAY}`,
    'a=fingerprint:sha-256 03:63:4B:E0:AA:51',
    'a=setup:actpass',
    'a=mid:0',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
  ]);
});

test('a body with nothing to relay comes back unchanged, ICE included', () => {
  assert.equal(rewriteSdp(WEBRTC_LIKE, relayOf([])), WEBRTC_LIKE);
});

test('an IPv6 relay address is written as c=IN IP6 and in a=rtcp; an IPv6 offer reads', () => {
  const body = lf('v=0', 'o=- 1 1 IN IP6 2001:db8::5', 's=-', 'c=IN IP6 2001:db8::5', 't=0 0', 'm=audio 4000 RTP/AVP 0', 'a=rtcp:4001 IN IP6 2001:db8::5');
  assert.equal(media(body)[0]!.address, '2001:db8::5');
  const out = rewriteSdp(body, relayOf([[0, 30000]], '2001:db8::10'));
  const lines = linesOf(out);
  assert.ok(lines.includes('c=IN IP6 2001:db8::10'));
  assert.ok(lines.includes('a=rtcp:30001 IN IP6 2001:db8::10'));
  assert.equal(media(out)[0]!.address, '2001:db8::10');
  // An IPv4 offer through an IPv6 relay: the address family follows the relay.
  assert.ok(linesOf(rewriteSdp(SIPP_OFFER, relayOf([[0, 30000]], '2001:db8::10'))).includes('c=IN IP6 2001:db8::10'));
});

test('hold by c=0.0.0.0 (RFC 2543) reads fine; the relay port goes in but the zero address is passed through, as rtpengine does', () => {
  const body = lf('v=0', 'o=- 1 2 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 0.0.0.0', 't=0 0', 'm=audio 4000 RTP/AVP 0');
  const [m] = media(body);
  assert.equal(m!.address, '0.0.0.0');
  const out = rewriteSdp(body, relayOf([[0, 30000]]));
  const [after] = media(out);
  assert.equal(after!.port, 30000);
  assert.equal(after!.address, '0.0.0.0');
  assert.ok(!out.includes(RELAY), 'putting the relay address there would take the call off hold');
});

test('hold by a=sendonly / a=inactive reads as that direction; media level wins over session level', () => {
  const body = lf('v=0', 'o=- 1 2 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', 'a=inactive', 'm=audio 4000 RTP/AVP 0', 'a=sendonly', 'm=audio 4002 RTP/AVP 0', 'm=audio 4004 RTP/AVP 0', 'a=recvonly');
  assert.deepEqual(
    media(body).map((m) => m.direction),
    ['sendonly', 'inactive', 'recvonly'],
  );
  assert.equal(media(SIPP_OFFER)[0]!.direction, 'sendrecv');
});

test('a host name in c= is read (RFC 4566 §5.7), and a multicast TTL suffix is dropped from the address', () => {
  assert.equal(media(SIPP_OFFER.replace('c=IN IP4 192.168.1.20', 'c=IN IP4 media.example.com'))[0]!.address, 'media.example.com');
  assert.equal(media(SIPP_OFFER.replace('c=IN IP4 192.168.1.20', 'c=IN IP4 224.2.1.1/127'))[0]!.address, '224.2.1.1');
});

test('a non-RTP stream (T.38 over udptl) reads with no payload types', () => {
  const [m] = media(SIPP_OFFER.replace('m=audio 6000 RTP/AVP 0', 'm=image 6000 udptl t38'));
  assert.deepEqual([m!.type, m!.protocol, m!.port, m!.payloads], ['image', 'udptl', 6000, []]);
});

const bad: [string, string, RegExp][] = [
  ['not starting with v=0', SIPP_OFFER.replace('v=0\n', ''), /v=0/],
  ['v=1', SIPP_OFFER.replace('v=0', 'v=1'), /v=0/],
  ['empty', '', /empty/],
  ['no m= line', lf('v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0'), /no m= line/],
  ['no c= at either level', SIPP_OFFER.replace('c=IN IP4 192.168.1.20\n', ''), /m= line 1 \(audio\): no c= line/],
  ['port above 65535', SIPP_OFFER.replace('6000', '70000'), /port 70000 is out of range/],
  ['port that is not a number', SIPP_OFFER.replace('6000', 'abc'), /m= line 1 is not/],
  ['port with a count', SIPP_OFFER.replace('6000', '6000/2'), /m= line 1 is not/],
  ['port 65535 with no room for RTCP', SIPP_OFFER.replace('6000', '65535'), /no port for RTCP/],
  ['c=IN IP4 with garbage', SIPP_OFFER.replace('c=IN IP4 192.168.1.20', 'c=IN IP4 not$an#address'), /c= line 4: .* is not an IPv4 address or host name/],
  ['c=IN IP4 with a dotted quad out of range', SIPP_OFFER.replace('192.168.1.20\nt', '999.1.1.1\nt'), /999\.1\.1\.1/],
  ['c=IN IP4 with an IPv6 address', SIPP_OFFER.replace('c=IN IP4 192.168.1.20', 'c=IN IP4 2001:db8::1'), /IPv6 address .* given as IP4/],
  ['c= with no address', SIPP_OFFER.replace('c=IN IP4 192.168.1.20', 'c=IN IP4'), /c= line 4 is not/],
  ['c= of another network type', SIPP_OFFER.replace('c=IN IP4 192.168.1.20', 'c=ATM NSAP 47.0005'), /c= line 4 is not/],
  ['non-numeric format on an RTP m= line', SIPP_OFFER.replace('RTP/AVP 0', 'RTP/AVP 0 foo'), /format foo is not an RTP payload type/],
  ['payload type above 127', SIPP_OFFER.replace('RTP/AVP 0', 'RTP/AVP 200'), /format 200 is not an RTP payload type/],
  ['an RTP m= line with no formats', SIPP_OFFER.replace('RTP/AVP 0', 'RTP/AVP'), /no formats/],
  ['a=rtcp with no port', SIPP_OFFER + 'a=rtcp:abc\n', /a=rtcp port/],
  ['a=rtcp with a garbage address', SIPP_OFFER + 'a=rtcp:6001 IN IP4 1.2.3.4.5.6\n', /a=rtcp: .* is not an IPv4/],
  ['a line that is not x=value', SIPP_OFFER.replace('s=-', 'hello world'), /line 3 is not of the form x=value/],
  ['too big', SIPP_OFFER + 'a=x-pad:' + 'x'.repeat(SDP_MAX_BYTES) + '\n', /larger than 65536 bytes/],
  ['binary garbage', Buffer.from([0x76, 0x3d, 0x30, 0x0a, 0x00, 0xff, 0x13, 0x88, 0x6d, 0x3d]).toString('latin1'), /binary/],
  ['binary garbage decoded as UTF-8', 'v=0\n' + Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1]).toString('utf8'), /binary/],
];

for (const [what, body, expected] of bad) {
  test(`refused with a one-line reason, never thrown: ${what}`, () => {
    assert.match(reason(body), expected);
  });
}

test('input that is not a string at all is refused, not thrown', () => {
  assert.match(reason(undefined as unknown as string), /empty/);
  assert.match(reason(42 as unknown as string), /empty/);
});


const FUZZ_PIECES = [' ', '0', '65536', '/', 'm=', 'c=IN IP4 ', 'c=IN IP6 ', '0.0.0.0', '::', 'a=rtcp:', 'a=rtpmap:', '\n', '\r', '\u0000', '\u00ff', 'é', 'RTP/AVP', '-1', 'NaN'];

function mutate(body: string, random: () => number): string {
  const pick = (n: number) => Math.floor(random() * n);
  let s = body;
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds; r++) {
    const at = pick(s.length + 1);
    switch (pick(6)) {
      case 0:
        s = s.slice(0, at);
        break;
      case 1:
        s = s.slice(0, at) + s.slice(at + 1 + pick(8));
        break;
      case 2:
        s = s.slice(0, at) + String.fromCharCode(pick(256)) + s.slice(at + 1);
        break;
      case 3:
        s = s.slice(0, at) + FUZZ_PIECES[pick(FUZZ_PIECES.length)]! + s.slice(at);
        break;
      case 4: {
        const lines = s.split('\n');
        const i = pick(lines.length);
        lines.splice(pick(lines.length + 1), 0, lines[i]!);
        s = lines.join('\n');
        break;
      }
      default: {
        const lines = s.split('\n');
        lines.splice(pick(lines.length), 1);
        s = lines.join('\n');
      }
    }
  }
  return s;
}

test('a few thousand mutated and truncated offers never throw; whatever is read can be rewritten and read back through the relay', () => {
  const random = rng(0x5d9);
  const bases = [SIPP_OFFER, AUDIO_AND_REJECTED_VIDEO, WEBRTC_LIKE, crlf('v=0', 'o=- 1 1 IN IP6 ::1', 's=-', 'c=IN IP6 ::1', 't=0 0', 'm=audio 4000 RTP/AVP 0 101', 'a=rtcp:4001 IN IP6 ::1', 'a=rtpmap:101 telephone-event/8000', 'a=sendonly')];
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    const body = mutate(bases[i % bases.length]!, random);
    const r = readSdp(body);
    if (!r.ok) {
      assertReasonPhrase(r.reason);
      continue;
    }
    accepted++;
    for (const m of r.media) {
      assert.ok(Number.isInteger(m.port) && m.port >= 0 && m.port <= 65535, JSON.stringify(body));
      if (m.port !== 0) assert.ok(m.address !== null, JSON.stringify(body));
      for (const p of m.payloads) assert.ok(Number.isInteger(p.pt) && p.pt >= 0 && p.pt <= 127);
    }
    const ports = new Map(r.media.filter((m) => m.port !== 0).map((m) => [m.index, 20000 + 2 * m.index]));
    const again = readSdp(rewriteSdp(body, { address: RELAY, ports }));
    assert.ok(again.ok, `a rewritten body was refused (${again.ok ? '' : again.reason}): ${JSON.stringify(body)}`);
    for (const m of again.media) {
      const relayPort = ports.get(m.index);
      if (relayPort === undefined) continue;
      assert.equal(m.port, relayPort, JSON.stringify(body));
      assert.ok(m.address === RELAY || m.address === '0.0.0.0' || m.address === '::', JSON.stringify(body));
    }
  }
  assert.ok(accepted > 100, `the mutations should leave some offers readable (${accepted})`);
});
