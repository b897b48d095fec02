import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import {
  buildAck,
  buildCancel,
  buildErrorResponse,
  buildResponse,
  frameStream,
  parseMessage,
  parseNameAddr,
  parseUri,
  spliceMessage,
} from '../../engine/sip/message/index';
import type { SipMessage } from '../../engine/sip/message/index';

/** Fixed by default so CI is reproducible; set SIP_FUZZ_SEED to explore. */
const FUZZ_SEED = Number(process.env.SIP_FUZZ_SEED ?? 0x5eed);

const SEEDS = [
  [
    'INVITE sip:bob@biloxi.example.com;transport=udp SIP/2.0',
    'Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK776asdhds;rport, SIP/2.0/TCP a.example.com;branch=z9hG4bK2',
    'v: SIP/2.0/UDP b.example.com;received=192.0.2.1',
    'Max-Forwards: 70',
    't: "Bob, \\"B\\"" <sip:bob@biloxi.example.com>',
    'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
    'i: a84b4c76e66710@pc33.atlanta.example.com',
    'CSeq: 314159 INVITE',
    'Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>',
    'Contact: "x,y" <sip:alice@pc33.atlanta.example.com;a=b,c>;q=0.1, sip:c@d',
    'Subject: folded,',
    '   value',
    'Authorization: Digest username="a", realm="b,c"',
    'Content-Type: application/sdp',
    'Content-Length: 13',
    '',
    'v=0\r\ns=-\r\nx\u0000y',
  ].join('\r\n'),
  [
    'SIP/2.0 200 OK',
    'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
    'To: <sip:bob@biloxi.example.com>;tag=a6c85cf',
    'f: <sip:alice@atlanta.example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710',
    'CSeq: 314159 INVITE',
    'Record-Route: <sip:p1.example.com;lr>',
    '',
    '',
  ].join('\r\n'),
  [
    'REGISTER sips:registrar.example.com SIP/2.0',
    'Via: SIP / 2.0 / TLS client.example.com:5061 ;branch=z9hG4bKreg;rport',
    'To: sip:alice@example.com',
    'From: sip:alice@example.com;tag=r1',
    'Call-ID: reg1',
    'CSeq: 1 REGISTER',
    'Contact: <sip:alice@[2001:db8::2]:5061;transport=tls>;expires=3600',
    'l: 0',
    '',
    '',
  ].join('\n'),
].map((s) => Buffer.from(s, 'latin1'));

const SPECIAL = [0x0d, 0x0a, 0x3a, 0x22, 0x00, 0x2c, 0x3c, 0x3e, 0x3b, 0x20, 0x09, 0x5c, 0xff, 0x40];

type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; byte: number }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'duplicate'; at: number; len: number };

const byteArb = fc.oneof(fc.constantFrom(...SPECIAL), fc.integer({ min: 0, max: 255 }));
const at = fc.nat({ max: 2000 });
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at, byte: byteArb }),
  fc.record({ kind: fc.constant('truncate' as const), at }),
  fc.record({ kind: fc.constant('insert' as const), at, byte: byteArb }),
  fc.record({ kind: fc.constant('delete' as const), at, len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at, len: fc.integer({ min: 1, max: 80 }) }),
);

function mutate(seed: Buffer, muts: readonly Mutation[]): Buffer {
  let b = seed;
  for (const m of muts) {
    const i = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.kind) {
      case 'flip':
        if (b.length > 0) {
          b = Buffer.from(b);
          b[i % b.length] = m.byte;
        }
        break;
      case 'truncate':
        b = b.subarray(0, i);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, i), Buffer.of(m.byte), b.subarray(i)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, i), b.subarray(i + m.len)]);
        break;
      case 'duplicate':
        b = Buffer.concat([b.subarray(0, i + m.len), b.subarray(i)]);
        break;
    }
  }
  return b;
}

/** Touch every accessor and every builder; none may throw. */
function exercise(m: SipMessage): void {
  void m.startLine;
  void m.method;
  void m.uri;
  void m.status;
  void m.body.length;
  void m.callId;
  void m.cseq;
  void m.from.tag;
  void m.to.tag;
  void m.maxForwards;
  void m.contentLength;
  for (const [name] of m.fields()) {
    m.header(name);
    m.headers(name);
    m.headerValues(name);
  }
  for (const v of m.vias()) void v.branch;
  for (const c of m.headerValues('contact')) parseNameAddr(c);
  if (m.uri !== undefined) parseUri(m.uri);
  const fwd = spliceMessage(m, {
    prependVia: 'SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKfz',
    recordRoute: '<sip:198.51.100.1;lr>',
    topViaParams: [
      ['received', '192.0.2.9'],
      ['rport', '5999'],
    ],
    removeFirstRoute: true,
    set: [['max-forwards', '69']],
  });
  const back = parseMessage(fwd);
  // What we forward must parse again and keep its identity.
  assert.ok(back.ok, back.ok ? '' : `spliced output failed to parse: ${back.error.reason}`);
  assert.equal(back.msg.callId, m.callId);
  assert.equal(back.msg.topVia.branch, 'z9hG4bKfz');
  assert.deepEqual(back.msg.body, m.body);
  const plain = parseMessage(spliceMessage(m, { removeTopVia: true }));
  if (plain.ok) void plain.msg.vias();
  if (m.isRequest) {
    buildResponse(m, 400, 'Bad', { toTag: 't' });
    buildCancel(m);
    buildAck(m, m);
  }
  frameStream(m.raw);
}

function gcIfAvailable(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    setFlagsFromString('--expose-gc');
    const fromContext: unknown = runInNewContext('gc');
    return typeof fromContext === 'function' ? (fromContext as () => void) : undefined;
  } catch {
    return undefined;
  }
}

test('never throws on 100,000 mutated messages, and accessors on parsed ones never throw', () => {
  const gc = gcIfAvailable();
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  let parsed = 0;
  const reasons = new Map<string, number>();
  fc.assert(
    fc.property(fc.nat({ max: SEEDS.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (seedIx, muts) => {
      const input = mutate(SEEDS[seedIx] as Buffer, muts);
      const r = parseMessage(input);
      if (r.ok) {
        parsed++;
        exercise(r.msg);
      } else {
        assert.notEqual(r.error.reason, 'internal', 'the catch-all backstop fired');
        assert.doesNotMatch(r.error.phrase, /[\r\n]/);
        reasons.set(r.error.reason, (reasons.get(r.error.reason) ?? 0) + 1);
        const reply = buildErrorResponse(r.error, 'tag');
        if (reply !== undefined) assert.match(reply.toString('latin1'), /^SIP\/2\.0 (400|505) /);
      }
      const s = parseMessage(input, { stream: true });
      if (s.ok) void s.msg.body;
      frameStream(input);
    }),
    { numRuns: 100_000, seed: FUZZ_SEED },
  );
  const elapsedMs = performance.now() - started;
  // Both outcomes must be exercised, or the mutations are too weak/strong.
  assert.ok(parsed > 1000, `only ${parsed} mutated messages parsed`);
  assert.ok(reasons.size >= 5, `only ${reasons.size} distinct error reasons`);
  assert.ok(elapsedMs < 60_000, `fuzzing took ${Math.round(elapsedMs)} ms`);
  console.log(`fuzz: ${parsed} parsed, reasons ${JSON.stringify(Object.fromEntries(reasons))}, ${Math.round(elapsedMs)} ms, gc ${gc !== undefined}`);
  if (gc !== undefined) {
    gc();
    const grownMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    assert.ok(grownMiB < 64, `heap grew by ${grownMiB.toFixed(1)} MiB over 100k parses`);
  }
});

test('never throws on random bytes, including ones that start like SIP', () => {
  fc.assert(
    fc.property(fc.constantFrom('', 'INVITE sip:a@b SIP/2.0\r\n', 'SIP/2.0 200 OK\r\n', 'v: '), fc.uint8Array({ maxLength: 600 }), (prefix, bytes) => {
      const input = Buffer.concat([Buffer.from(prefix), bytes]);
      const r = parseMessage(input);
      if (r.ok) exercise(r.msg);
      else assert.notEqual(r.error.reason, 'internal');
      frameStream(input);
      parseUri(input.toString('latin1'));
      parseNameAddr(input.toString('latin1'));
    }),
    { numRuns: 20_000, seed: FUZZ_SEED + 1 },
  );
});
