/**
 * Micro-benchmark of the SIP message layer's hot path: parse a typical INVITE
 * and touch what a proxy reads, then splice it for forwarding.
 * Run: node --import tsx test/bench/sip-parse.bench.ts
 * Prints one JSON line: {"parse_ns_per_msg":..,"splice_ns_per_msg":..}.
 * No reference tool runs here (Kamailio is not installed), so no ratio.
 */
import { parseMessage, spliceMessage } from '../../engine/sip/message/index';
import type { SipMessage } from '../../engine/sip/message/index';

const N = 200_000;
const SDP = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 192.0.2.101',
  's=-',
  'c=IN IP4 192.0.2.101',
  't=0 0',
  'm=audio 49172 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  '',
].join('\r\n');
const INVITE = Buffer.from(
  [
    'INVITE sip:bob@biloxi.example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK776asdhds;rport',
    'Max-Forwards: 70',
    'To: Bob <sip:bob@biloxi.example.com>',
    'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
    'CSeq: 314159 INVITE',
    'Contact: <sip:alice@192.0.2.101:5060>',
    'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY',
    'Supported: replaces, timer',
    'User-Agent: softphone/1.0',
    'Content-Type: application/sdp',
    `Content-Length: ${SDP.length}`,
    '',
    SDP,
  ].join('\r\n'),
);

let sink = 0;
function parseOnce(): SipMessage {
  const r = parseMessage(INVITE);
  if (!r.ok) throw new Error(r.error.phrase);
  const m = r.msg;
  sink += m.cseq.seq + m.topVia.port! + (m.to.tag === undefined ? 1 : 0) + m.callId.length + (m.maxForwards ?? 70);
  return m;
}

const parsed = parseOnce();
function spliceOnce(m: SipMessage): void {
  const out = spliceMessage(m, {
    prependVia: 'SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKp' + (sink & 0xffff),
    recordRoute: '<sip:198.51.100.1:5060;lr>',
    topViaParams: [
      ['received', '192.0.2.101'],
      ['rport', '5060'],
    ],
    set: [['max-forwards', String((m.maxForwards ?? 70) - 1)]],
  });
  sink += out.length;
}

function time(fn: () => void, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0) / n;
}

// Warm up both paths so the JIT settles before measuring.
time(parseOnce, 20_000);
time(() => spliceOnce(parsed), 20_000);
const parseNs = time(parseOnce, N);
const spliceNs = time(() => spliceOnce(parsed), N);
if (sink === 42) console.log('');
console.log(JSON.stringify({ parse_ns_per_msg: Math.round(parseNs), splice_ns_per_msg: Math.round(spliceNs) }));
