/**
 * Properties of the SIP message layer and the TCP framer (issue #12), next
 * to sip-message-fuzz.test.ts (which mutates a few seed messages and touches
 * every accessor): here messages are generated from arbitrary field values,
 * written the ways peers write them, and the properties are round trips —
 *   - a generated message parses to the fields it was written from;
 *   - a message that parses, serialised again (spliceMessage with no edit,
 *     what the proxy forwards), parses to the same fields;
 *   - a stream of messages cut into arbitrary TCP segments is framed back
 *     into the same messages, byte for byte;
 *   - arbitrary bytes in arbitrary segments never throw out of the framer or
 *     the parser: each is a message or a counted, reasoned refusal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { frameStream, parseMessage, spliceMessage, type SipMessage } from '../../engine/sip/message/index';
import { StreamAssembler, type StreamFramer } from '../../engine/sip/transport/tcp';

const SEED = Number(process.env.SIP_FUZZ_SEED ?? 0x5eed) + 12;

// ---- arbitraries: field values as RFC 3261 §25 allows them (a useful subset)

const token = fc.stringMatching(/^[A-Za-z0-9\-.!%*_+`'~]{1,12}$/);
const word = fc.stringMatching(/^[A-Za-z0-9]{1,16}$/);
const host = fc.oneof(fc.ipV4(), fc.domain(), fc.ipV6().map((h) => `[${h}]`));
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
const uri = fc.record({ scheme: fc.constantFrom('sip', 'sips'), user: fc.option(word, { nil: undefined }), host, port }).map(
  (u) => `${u.scheme}:${u.user !== undefined ? u.user + '@' : ''}${u.host}${u.port !== undefined ? ':' + u.port : ''}`,
);
/** A quoted display name: printable, with `"` and `\` escaped (RFC 3261 §25.1 quoted-pair). */
const displayName = fc.option(fc.stringMatching(/^[A-Za-z0-9 ,;:<>@"\\]{0,16}$/), { nil: undefined });
const nameAddr = fc.record({ displayName, uri, tag: fc.option(word, { nil: undefined }) });
/** Header text without leading/trailing whitespace or CR/LF; may be UTF-8. */
const headerText = fc.oneof(
  fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,40}[\x21-\x7e])?$/),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((s) => /^\S(.*\S)?$/su.test(s) && ![...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)),
);
const extra = fc.record({ name: token.map((t) => 'X-' + t), value: headerText, fold: fc.boolean() });

interface Generated {
  kind: 'request' | 'response';
  method: string;
  uri: string;
  status: number;
  reason: string;
  viaHost: string;
  viaPort: number | undefined;
  viaTransport: string;
  branch: string;
  from: { displayName: string | undefined; uri: string; tag: string | undefined };
  to: { displayName: string | undefined; uri: string; tag: string | undefined };
  callId: string;
  cseq: number;
  maxForwards: number | undefined;
  extras: { name: string; value: string; fold: boolean }[];
  body: Uint8Array;
  compact: boolean;
  lf: boolean;
  withContentLength: boolean;
}

const generated: fc.Arbitrary<Generated> = fc.record({
  kind: fc.constantFrom('request' as const, 'response' as const),
  method: fc.oneof(fc.constantFrom('INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'INFO'), token),
  uri,
  status: fc.integer({ min: 100, max: 699 }),
  reason: fc.stringMatching(/^[A-Za-z0-9 .-]{0,20}$/),
  viaHost: fc.oneof(fc.ipV4(), fc.domain()),
  viaPort: port,
  viaTransport: fc.constantFrom('UDP', 'TCP', 'TLS'),
  branch: word.map((w) => 'z9hG4bK' + w),
  from: nameAddr,
  to: nameAddr,
  callId: fc.stringMatching(/^[A-Za-z0-9.!%*_+`'~\-@]{1,32}$/),
  cseq: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  maxForwards: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
  extras: fc.array(extra, { maxLength: 5 }),
  body: fc.uint8Array({ maxLength: 300 }),
  compact: fc.boolean(),
  lf: fc.boolean(),
  withContentLength: fc.boolean(),
});

function quote(s: string): string {
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

function writeNameAddr(a: Generated['from']): string {
  return (a.displayName !== undefined ? quote(a.displayName) + ' ' : '') + '<' + a.uri + '>' + (a.tag !== undefined ? ';tag=' + a.tag : '');
}

/** Folds a value at its first space onto a continuation line (RFC 3261 §7.3.1); unfolded, it reads the same. */
function fold(v: string, eol: string): string {
  const sp = v.indexOf(' ');
  return sp > 0 ? v.slice(0, sp) + eol + '   ' + v.slice(sp + 1) : v;
}

function serialise(g: Generated, opts: { forceContentLength?: boolean } = {}): Buffer {
  const eol = g.lf ? '\n' : '\r\n';
  const n = (long: string, short: string) => (g.compact ? short : long);
  const lines: string[] = [];
  lines.push(g.kind === 'request' ? `${g.method} ${g.uri} SIP/2.0` : `SIP/2.0 ${g.status} ${g.reason}`.trimEnd());
  lines.push(`${n('Via', 'v')}: SIP/2.0/${g.viaTransport} ${g.viaHost}${g.viaPort !== undefined ? ':' + g.viaPort : ''};branch=${g.branch}`);
  if (g.maxForwards !== undefined) lines.push(`Max-Forwards: ${g.maxForwards}`);
  lines.push(`${n('From', 'f')}: ${writeNameAddr(g.from)}`);
  lines.push(`${n('To', 't')}: ${writeNameAddr(g.to)}`);
  lines.push(`${n('Call-ID', 'i')}: ${g.callId}`);
  lines.push(`CSeq: ${g.cseq} ${g.method}`);
  for (const e of g.extras) lines.push(`${e.name}: ${e.fold ? fold(e.value, eol) : e.value}`);
  if (g.withContentLength || opts.forceContentLength === true) lines.push(`${n('Content-Length', 'l')}: ${g.body.length}`);
  return Buffer.concat([Buffer.from(lines.join(eol) + eol + eol, 'utf8'), g.body]);
}

/** The fields a message was written with, as the parser names them. */
function expectedFields(g: Generated, withContentLength: boolean): Array<[string, string]> {
  const out: Array<[string, string]> = [['via', `SIP/2.0/${g.viaTransport} ${g.viaHost}${g.viaPort !== undefined ? ':' + g.viaPort : ''};branch=${g.branch}`]];
  if (g.maxForwards !== undefined) out.push(['max-forwards', String(g.maxForwards)]);
  out.push(['from', writeNameAddr(g.from)], ['to', writeNameAddr(g.to)], ['call-id', g.callId], ['cseq', `${g.cseq} ${g.method}`]);
  for (const e of g.extras) out.push([e.name.toLowerCase(), e.value]);
  if (withContentLength) out.push(['content-length', String(g.body.length)]);
  return out;
}

/** Everything a parse yields that the proxy acts on, as plain data. */
function fieldsOf(m: SipMessage, opts: { contentLength: boolean } = { contentLength: true }) {
  return {
    startLine: m.startLine,
    callId: m.callId,
    cseq: m.cseq,
    topVia: { ...m.topVia, params: [...m.topVia.params] },
    from: { displayName: m.from.displayName, uri: m.from.uri, tag: m.from.tag },
    to: { displayName: m.to.displayName, uri: m.to.uri, tag: m.to.tag },
    maxForwards: m.maxForwards,
    fields: m.fields().filter(([n]) => opts.contentLength || n !== 'content-length'),
    body: Buffer.from(m.body).toString('hex'),
  };
}

test('a message written from arbitrary field values parses to those fields, on datagrams and streams', () => {
  fc.assert(
    fc.property(generated, (g) => {
      const bytes = serialise(g);
      const r = parseMessage(bytes);
      assert.ok(r.ok, r.ok ? '' : `${r.error.reason}: ${r.error.phrase}\n${bytes.toString('latin1')}`);
      const m = r.msg;
      if (g.kind === 'request') assert.deepEqual(m.startLine, { kind: 'request', method: g.method, uri: g.uri, version: 'SIP/2.0' });
      else assert.deepEqual(m.startLine, { kind: 'response', status: g.status, reason: g.reason.trimEnd(), version: 'SIP/2.0' });
      assert.equal(m.callId, g.callId);
      assert.deepEqual({ ...m.cseq }, { seq: g.cseq, method: g.method });
      assert.equal(m.topVia.branch, g.branch);
      assert.equal(m.topVia.transport, g.viaTransport);
      assert.equal(m.topVia.port, g.viaPort);
      for (const [got, want] of [
        [m.from, g.from],
        [m.to, g.to],
      ] as const) {
        assert.equal(got.uri, want.uri);
        assert.equal(got.tag, want.tag);
        assert.equal(got.displayName, want.displayName);
      }
      assert.equal(m.maxForwards, g.maxForwards);
      assert.deepEqual(m.fields(), expectedFields(g, g.withContentLength));
      assert.deepEqual(Buffer.from(m.body), Buffer.from(g.body));

      // On a stream Content-Length is required (RFC 3261 §18.3); with it, the same fields.
      const s = parseMessage(bytes, { stream: true });
      if (g.withContentLength) {
        assert.ok(s.ok);
        assert.deepEqual(fieldsOf(s.msg), fieldsOf(m));
      } else assert.ok(!s.ok && s.error.reason === 'missing-header');
    }),
    { numRuns: 3000, seed: SEED },
  );
});

test('a parsed message serialised again (spliced with no edit, as forwarded) parses to the same fields', () => {
  // Generated messages, then a few arbitrary byte edits: what still parses is the odd input this must hold for.
  const edit = fc.record({ at: fc.nat(), byte: fc.oneof(fc.constantFrom(0x20, 0x09, 0x0d, 0x0a, 0x2c, 0x3b, 0x22, 0x00, 0xff, 0xc3), fc.integer({ min: 0, max: 255 })), insert: fc.boolean() });
  let parsedAfterEdits = 0;
  fc.assert(
    fc.property(generated, fc.array(edit, { maxLength: 3 }), (g, edits) => {
      let bytes = serialise(g);
      for (const e of edits) {
        const i = e.at % (bytes.length + 1);
        bytes = e.insert ? Buffer.concat([bytes.subarray(0, i), Buffer.of(e.byte), bytes.subarray(i)]) : Buffer.concat([bytes.subarray(0, i), Buffer.of(e.byte), bytes.subarray(i + 1)]);
      }
      const first = parseMessage(bytes);
      if (!first.ok) return;
      if (edits.length > 0) parsedAfterEdits++;
      const again = parseMessage(spliceMessage(first.msg, {}));
      assert.ok(again.ok, again.ok ? '' : `re-serialised message failed: ${again.error.reason}`);
      // Content-Length is the one field a splice may add or correct (it always writes a right one).
      assert.deepEqual(fieldsOf(again.msg, { contentLength: false }), fieldsOf(first.msg, { contentLength: false }));
      assert.equal(again.msg.contentLength, first.msg.body.length);
      // And the re-serialised form is a fixed point: serialising it again changes nothing.
      assert.deepEqual(spliceMessage(again.msg, {}), again.msg.raw);
    }),
    { numRuns: 4000, seed: SEED + 1 },
  );
  assert.ok(parsedAfterEdits > 200, `only ${parsedAfterEdits} edited messages still parsed: the property saw too little odd input`);
});

// ---- the TCP framer: frameStream behind the transport's StreamAssembler, as the SIP worker wires them

const framer: StreamFramer = (buf) => {
  const r = frameStream(buf);
  if ('messageLength' in r) return { length: r.skip + r.messageLength, skip: r.skip };
  if ('need' in r) return { need: 'more', skip: r.skip, until: r.until };
  return { error: r.error.reason };
};

function assemble(chunks: readonly Buffer[]): { messages: Buffer[]; closed: string | null; frames: number } {
  const messages: Buffer[] = [];
  let closed: string | null = null;
  let frames = 0;
  const a = new StreamAssembler(
    (b) => {
      frames++;
      return framer(b);
    },
    (m) => messages.push(Buffer.from(m)),
    (why) => (closed = why),
  );
  for (const c of chunks) a.push(c);
  return { messages, closed, frames };
}

/** Cuts `bytes` at the given offsets (any, unsorted, repeated). */
function cut(bytes: Buffer, at: readonly number[]): Buffer[] {
  const points = [...new Set(at.map((n) => n % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

test('messages and keepalives cut into arbitrary TCP segments are framed back into the same messages, byte for byte (RFC 3261 §18.3)', () => {
  const item = fc.oneof(
    { weight: 4, arbitrary: generated.map((g) => ({ msg: serialise(g, { forceContentLength: true }) })) },
    { weight: 1, arbitrary: fc.constantFrom('\r\n\r\n', '\r\n', '\n').map((k) => ({ keepalive: Buffer.from(k) })) },
  );
  fc.assert(
    fc.property(fc.array(item, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 40 }), fc.boolean(), (items, at, bytewise) => {
      const stream = Buffer.concat(items.map((i) => ('msg' in i ? i.msg : i.keepalive)));
      const chunks = bytewise ? [...stream].map((b) => Buffer.of(b)) : cut(stream, at);
      const r = assemble(chunks);
      assert.equal(r.closed, null);
      const want = items.filter((i): i is { msg: Buffer } => 'msg' in i).map((i) => i.msg);
      assert.equal(r.messages.length, want.length);
      for (let k = 0; k < want.length; k++) {
        assert.deepEqual(r.messages[k], want[k]);
        const p = parseMessage(r.messages[k]!, { stream: true });
        assert.ok(p.ok, p.ok ? '' : p.error.reason);
      }
    }),
    { numRuns: 1500, seed: SEED + 2 },
  );
});

test('arbitrary bytes in arbitrary segments never throw out of the framer or the parser: each is a message or a refusal with a reason', () => {
  const prefix = fc.constantFrom('', 'INVITE sip:a@b SIP/2.0\r\nContent-Length: ', 'SIP/2.0 200 OK\r\nl: 5\r\n\r\n', '\r\n\r\n', 'OPTIONS sip:x SIP/2.0\r\nl: 99999999999999999999\r\n\r\n');
  const edit = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) });
  // Valid messages with a few bytes overwritten, raw bytes, and starts of messages: what a broken or hostile peer sends.
  const item = fc.oneof(
    fc.tuple(generated, fc.array(edit, { maxLength: 3 })).map(([g, edits]) => {
      const b = Buffer.from(serialise(g, { forceContentLength: true }));
      for (const e of edits) b[e.at % b.length] = e.byte;
      return b;
    }),
    fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
    prefix.map((p) => Buffer.from(p, 'latin1')),
  );
  const reasons = new Map<string, number>();
  fc.assert(
    fc.property(fc.array(item, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 20 }), (items, at) => {
      const stream = Buffer.concat(items);
      const r = assemble(cut(stream, at));
      const delivered = r.messages.reduce((n, m) => n + m.length, 0);
      assert.ok(delivered <= stream.length);
      if (r.closed !== null) {
        assert.match(r.closed, /^(framing: [a-z-]+|too-large)$/);
        reasons.set(r.closed, (reasons.get(r.closed) ?? 0) + 1);
      }
      for (const m of r.messages) {
        const p = parseMessage(m, { stream: true });
        if (!p.ok) {
          assert.notEqual(p.error.reason, 'internal');
          reasons.set(p.error.reason, (reasons.get(p.error.reason) ?? 0) + 1);
        }
      }
    }),
    { numRuns: 4000, seed: SEED + 3 },
  );
  assert.ok(reasons.size >= 6, `only ${JSON.stringify([...reasons])}: the bytes were too tame`);
});

test('a peer writing one byte at a time is framed in linear time: the framer runs once per line end, not once per byte', () => {
  const filler = 'X-Pad: ' + 'a'.repeat(200) + '\r\n';
  const head = 'MESSAGE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nf: <sip:a@h>;tag=1\r\nt: <sip:b@h>\r\ni: one-byte\r\nCSeq: 1 MESSAGE\r\n' + filler.repeat(100);
  const body = 'b'.repeat(30_000);
  const msg = Buffer.from(head + `Content-Length: ${body.length}\r\n\r\n` + body);
  const r = assemble([...msg].map((b) => Buffer.of(b)));
  assert.equal(r.closed, null);
  assert.deepEqual(r.messages, [msg]);
  const lines = head.split('\n').length + 2;
  assert.ok(r.frames <= lines + 1, `framed ${r.frames} times for ${lines} line ends`);
});

test('a header section that never ends is refused once past the message size limit, not buffered without end', () => {
  const r = assemble([Buffer.from('INVITE sip:a@b SIP/2.0\r\nX: '), ...Array.from({ length: 100 }, () => Buffer.alloc(1024, 0x61))]);
  assert.equal(r.closed, 'framing: too-large');
  assert.equal(r.messages.length, 0);
  const huge = assemble([Buffer.from('INVITE sip:a@b SIP/2.0\r\nContent-Length: 70000\r\n\r\n')]);
  assert.equal(huge.closed, 'framing: too-large');
});
