/**
 * rtpengine's NG control protocol (engine/rtp/ng/): the bencode codec, the
 * request parser and replies, the argument accessors, and the reply cache
 * that answers a retransmitted request without running it twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bdecode, bencode, MAX_DEPTH, str, type BValue } from '../../engine/rtp/ng/bencode';
import { MAX_COOKIE_BYTES, ngArgs, ngError, ngReply, parseNgRequest } from '../../engine/rtp/ng/message';
import { NgReplyCache } from '../../engine/rtp/ng/reply-cache';
import { rng } from '../helpers/rng';

const b = (s: string) => Buffer.from(s, 'latin1');
/** One bencoded string, written by hand so that tests do not lean on the encoder. */
const bs = (s: string) => `${Buffer.byteLength(s)}:${s}`;

function decodeErr(s: string | Buffer): string {
  const r = bdecode(typeof s === 'string' ? b(s) : s);
  assert.equal(r.ok, false, `expected ${String(s).slice(0, 40)} to be refused`);
  return r.ok ? '' : r.error;
}

function parseErr(s: string | Buffer): { cookie: string | null; error: string } {
  const r = parseNgRequest(typeof s === 'string' ? b(s) : s);
  assert.equal(r.ok, false, `expected ${String(s).slice(0, 40)} to be refused`);
  return r.ok ? { cookie: '', error: '' } : { cookie: r.cookie, error: r.error };
}

// --- bencode ---------------------------------------------------------------

/** Decoded dictionaries have no prototype; this copies them into plain objects to compare with literals. */
function plain(v: BValue): unknown {
  if (Buffer.isBuffer(v) || typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map(plain);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
}

test('decodes integers, strings, lists and dictionaries, and reports where the value ends', () => {
  const value = 'd4:listli-3ei0e4:spame3:numi9007199254740991e3:str0:e';
  const r = bdecode(b(value + 'XYZ'));
  assert.ok(r.ok);
  assert.equal(r.end, value.length, 'the value ends before the trailing XYZ, which is left to the caller');
  assert.deepEqual(plain(r.value), { list: [-3, 0, b('spam')], num: Number.MAX_SAFE_INTEGER, str: Buffer.alloc(0) });
});

test('a value survives encode then decode, and the bytes survive decode then encode', () => {
  const sdp = Buffer.concat([b('v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\n'), Buffer.from([0x00, 0xff, 0xc3])]);
  const value = { z: [1, -2, [b('deep'), { k: 0 }]], a: sdp, 'call-id': b('abc@host'), n: -9007199254740991, e: [] };
  const bytes = bencode(value);
  const back = bdecode(bytes);
  assert.ok(back.ok);
  assert.equal(back.end, bytes.length);
  assert.deepEqual(plain(back.value), value);
  assert.deepEqual(bencode(back.value), bytes, 'decode then encode gives the same bytes');
});

test('the encoder sorts keys by their bytes, writes JS strings as UTF-8 and leaves undefined entries out', () => {
  assert.equal(bencode({ result: 'ok', sdp: 'v=0', 'error-reason': undefined, B: 1, a: 'é' }).toString('utf8'), 'd1:Bi1e1:a2:é6:result2:ok3:sdp3:v=0e');
  assert.equal(bencode([]).toString(), 'le');
  assert.equal(bencode(-0).toString(), 'i0e', 'never i-0e, which a strict decoder refuses');
});

test('the decoder takes keys in any order, as rtpengine and Kamailio send them', () => {
  const r = bdecode(b('d7:command4:ping7:call-id1:xe'));
  assert.ok(r.ok);
  assert.equal(str((r.value as Record<string, BValue>)['command']), 'ping');
});

test('a repeated key keeps its first value', () => {
  const r = bdecode(b('d3:ICE6:remove3:ICE5:forcee'));
  assert.ok(r.ok);
  assert.equal(str((r.value as Record<string, BValue>)['ICE']), 'remove');
});

test('keys such as __proto__ are plain data, and absent keys read as undefined', () => {
  const r = bdecode(b('d9:__proto__d1:xi1ee11:constructori7ee'));
  assert.ok(r.ok);
  const d = r.value as Record<string, BValue>;
  assert.equal(Object.getPrototypeOf(d), null);
  assert.equal(d['constructor'], 7);
  assert.equal((d['__proto__'] as Record<string, BValue>)['x'], 1);
  assert.equal(d['toString'], undefined);
  assert.equal(({} as Record<string, unknown>)['x'], undefined, 'and no object prototype was touched');
});

test('integers: i0e and negatives are fine; leading zeros, -0, empty and beyond 2^53 are refused', () => {
  assert.deepEqual(bdecode(b('i0e')), { ok: true, value: 0, end: 3 });
  assert.deepEqual(bdecode(b('i-42e')), { ok: true, value: -42, end: 5 });
  assert.match(decodeErr('i01e'), /at byte 1: integer has a leading zero/);
  assert.match(decodeErr('i-01e'), /leading zero/);
  assert.match(decodeErr('i-0e'), /at byte 0: integer is -0/);
  assert.match(decodeErr('ie'), /integer has no digits/);
  assert.match(decodeErr('i-e'), /integer has no digits/);
  assert.match(decodeErr('i9007199254740992e'), /beyond 2\^53/);
  assert.match(decodeErr('i12345678901234567e'), /too many digits/);
  assert.match(decodeErr('i12'), /data ends inside integer/);
  assert.match(decodeErr('i1.5e'), /unexpected '\.' .* in integer/);
});

test('strings: a length past the end, a leading zero or a missing colon is refused', () => {
  assert.deepEqual(bdecode(b('0:')), { ok: true, value: Buffer.alloc(0), end: 2 });
  assert.equal(decodeErr('4:spa'), 'at byte 0: string of 4 bytes runs past the end of the data (3 left)');
  assert.match(decodeErr('99999999999:abc'), /string of 99999999999 bytes runs past the end of the data \(3 left\)/);
  assert.match(decodeErr('04:spam'), /leading zero/);
  assert.match(decodeErr('4spam'), /expected a digit or ':'/);
  assert.match(decodeErr(''), /data ends where a value should start/);
  assert.match(decodeErr('x'), /unexpected 'x'/);
});

test('unterminated lists and dictionaries, and non-string keys, are refused with the byte they started at', () => {
  assert.equal(decodeErr('l4:spami1e'), 'at byte 10: data ends inside the list opened at byte 0');
  assert.equal(decodeErr('d3:keyl'), 'at byte 7: data ends inside the list opened at byte 6');
  assert.match(decodeErr('d3:key'), /data ends before the value of key "key"/);
  assert.match(decodeErr('d3:keyi1e'), /data ends inside the dictionary opened at byte 0/);
  assert.match(decodeErr('di1e1:xe'), /at byte 1: unexpected 'i' .* where a dictionary key/);
});

test(`nesting: ${MAX_DEPTH} containers deep is decoded, one more is refused, and a depth bomb is refused at once`, () => {
  const ok = bdecode(b('l'.repeat(MAX_DEPTH) + 'e'.repeat(MAX_DEPTH)));
  assert.ok(ok.ok);
  assert.match(decodeErr('l'.repeat(MAX_DEPTH + 1) + 'e'.repeat(MAX_DEPTH + 1)), new RegExp(`at byte ${MAX_DEPTH}: nested deeper than ${MAX_DEPTH}`));
  assert.match(decodeErr('l'.repeat(100_000)), /nested deeper/);
  assert.match(decodeErr('d1:x'.repeat(100_000)), /nested deeper/);
});

test('str() gives the text of a string and undefined for anything else', () => {
  assert.equal(str(b('abc')), 'abc');
  assert.equal(str(1), undefined);
  assert.equal(str([b('a')]), undefined);
  assert.equal(str(undefined), undefined);
});

test('the encoder refuses what bencode cannot carry', () => {
  assert.throws(() => bencode(1.5), TypeError);
  assert.throws(() => bencode(Number.NaN), TypeError);
  assert.throws(() => bencode(2 ** 53), TypeError);
  assert.throws(() => bencode(null as unknown as BValue), TypeError);
  assert.throws(() => bencode([undefined] as unknown as BValue), TypeError);
  const cycle: Record<string, unknown> = {};
  cycle['self'] = cycle;
  assert.throws(() => bencode(cycle as BValue), /nested deeper/);
});

// --- requests and replies --------------------------------------------------

const SDP = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 192.0.2.10',
  's=-',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 49170 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=sendrecv',
  '',
].join('\r\n');

/** An offer as Kamailio's rtpengine module puts it on the wire: keys in its own order, command last. */
const KAMAILIO_OFFER =
  '8213_3 d' +
  bs('sdp') + bs(SDP) +
  bs('ICE') + bs('remove') +
  bs('flags') + 'l' + bs('trust-address') + bs('SIP-source-address') + 'e' +
  bs('replace') + 'l' + bs('origin') + bs('session-connection') + 'e' +
  bs('direction') + 'l' + bs('pub') + bs('priv') + 'e' +
  bs('record call') + bs('yes') +
  bs('call-id') + bs('a84b4c76e66710@pc33.atlanta.example.com') +
  bs('via-branch') + bs('z9hG4bK776asdhds') +
  bs('received-from') + 'l' + bs('IP4') + bs('192.0.2.10') + 'e' +
  bs('from-tag') + bs('1928301774') +
  bs('command') + bs('offer') +
  'e';

test('parses an offer as Kamailio sends it, SDP byte for byte', () => {
  const r = parseNgRequest(b(KAMAILIO_OFFER));
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.equal(r.cookie, '8213_3');
  assert.equal(r.command, 'offer');
  const a = ngArgs(r.command, r.args);
  assert.ok(a.ok, a.ok ? '' : a.error);
  assert.deepEqual(a.args, {
    callId: 'a84b4c76e66710@pc33.atlanta.example.com',
    fromTag: '1928301774',
    toTag: undefined,
    viaBranch: 'z9hG4bK776asdhds',
    sdp: SDP,
    flags: ['trust-address', 'SIP-source-address'],
    replace: ['origin', 'session-connection'],
    ice: 'remove',
    direction: ['pub', 'priv'],
    recordCall: 'yes',
    receivedFrom: { family: 'IP4', address: '192.0.2.10' },
  });
});

test('ping gets pong, in the bytes of the protocol document', () => {
  const r = parseNgRequest(b('5323_1 d7:command4:pinge'));
  assert.ok(r.ok);
  assert.equal(r.command, 'ping');
  assert.equal(ngReply(r.cookie, { result: 'pong' }).toString(), '5323_1 d6:result4:ponge');
});

test('an offer reply carries the cookie and the rewritten SDP; an error reply carries result and error-reason only', () => {
  const reply = ngReply('8213_3', { result: 'ok', sdp: SDP, warning: undefined });
  assert.equal(reply.toString(), `8213_3 d6:result2:ok3:sdp${bs(SDP)}e`);
  assert.equal(ngError('8213_3', 'No call-id in message').toString(), '8213_3 d12:error-reason21:No call-id in message6:result5:errore');
});

test('a reply bencode cannot carry becomes an error reply, not an exception on the control socket', () => {
  const reply = ngReply('c1', { result: 'ok', jitter: 0.5 });
  const r = bdecode(reply, 3);
  assert.ok(r.ok);
  const d = r.value as Record<string, BValue>;
  assert.equal(str(d['result']), 'error');
  assert.match(str(d['error-reason']) ?? '', /internal error: could not encode the reply .*0\.5/);
});

test('the command is lower-cased', () => {
  const r = parseNgRequest(b(`c d${bs('command')}${bs('Block DTMF')}e`));
  assert.ok(r.ok);
  assert.equal(r.command, 'block dtmf');
});

test('a datagram without a usable cookie gets no cookie back, so no reply', () => {
  assert.deepEqual(parseErr('d7:command4:pinge'), { cookie: null, error: 'no space between cookie and dictionary' });
  assert.deepEqual(parseErr(' d7:command4:pinge'), { cookie: null, error: 'empty cookie' });
  assert.deepEqual(parseErr(''), { cookie: null, error: 'no space between cookie and dictionary' });
  assert.deepEqual(parseErr('x'.repeat(MAX_COOKIE_BYTES + 1) + ' d7:command4:pinge'), { cookie: null, error: 'cookie longer than 64 bytes' });
  assert.deepEqual(parseErr('ab\u0001c d7:command4:pinge'), { cookie: null, error: 'cookie has a non-printable byte 0x01 at byte 2' });
  assert.deepEqual(parseErr(Buffer.concat([b('a'), Buffer.from([0xc3, 0xa9]), b(' d7:command4:pinge')])).cookie, null);
  const longest = 'x'.repeat(MAX_COOKIE_BYTES);
  const r = parseNgRequest(b(`${longest} d7:command4:pinge`));
  assert.ok(r.ok && r.cookie === longest, 'a 64-byte cookie is fine');
});

test('a bad body is refused with the cookie kept, so the sender gets an error reply that says why', () => {
  assert.deepEqual(parseErr('abc '), { cookie: 'abc', error: 'no dictionary after the cookie' });
  assert.deepEqual(parseErr('abc l4:spame'), { cookie: 'abc', error: 'the message is a list, not a dictionary' });
  assert.deepEqual(parseErr('abc 4:spam'), { cookie: 'abc', error: 'the message is a string, not a dictionary' });
  assert.deepEqual(parseErr('abc d3:foo3:bare'), { cookie: 'abc', error: 'no command' });
  assert.deepEqual(parseErr('abc d7:commandi1ee'), { cookie: 'abc', error: 'command is an integer, not a string' });
  assert.deepEqual(parseErr('abc d7:command0:e'), { cookie: 'abc', error: 'empty command' });
  // Offsets count from the start of the datagram, as a capture shows it.
  assert.deepEqual(parseErr('abc d7:command4:pin'), { cookie: 'abc', error: 'bad bencode at byte 14: string of 4 bytes runs past the end of the data (3 left)' });
  assert.deepEqual(parseErr('abc d7:commandi01ee'), { cookie: 'abc', error: 'bad bencode at byte 15: integer has a leading zero' });
  assert.deepEqual(parseErr('abc d7:commandi-0ee'), { cookie: 'abc', error: 'bad bencode at byte 14: integer is -0' });
  assert.match(parseErr('abc d7:command4:ping3:sdpl').error, /^bad bencode at byte 26: data ends inside the list opened at byte 25$/);
  assert.match(parseErr('abc d3:sdp99999999999:v=0e').error, /^bad bencode at byte 10: string of 99999999999 bytes runs past the end/);
  assert.match(parseErr('abc ' + 'l'.repeat(100_000)).error, /^bad bencode at byte 36: nested deeper than 32$/);
});

test('bytes after the dictionary are refused, except trailing whitespace (echo | nc adds a newline)', () => {
  assert.deepEqual(parseErr('abc d7:command4:pingeXYZ'), { cookie: 'abc', error: '3 bytes of trailing data after the dictionary, from byte 21' });
  assert.deepEqual(parseErr('abc d7:command4:pingei1e').error, '3 bytes of trailing data after the dictionary, from byte 21');
  assert.deepEqual(parseErr('abc d7:command4:pinge \n x').error, '4 bytes of trailing data after the dictionary, from byte 21');
  const r = parseNgRequest(b('abc d7:command4:pinge\r\n'));
  assert.ok(r.ok && r.command === 'ping');
});

test('the keys each command needs are checked, with rtpengine\'s own error texts', () => {
  const args = (s: string) => {
    const r = parseNgRequest(b(`c d${s}e`));
    assert.ok(r.ok, r.ok ? '' : r.error);
    return ngArgs(r.command, r.args);
  };
  const cmd = (c: string) => bs('command') + bs(c);
  const callId = bs('call-id') + bs('cid');
  const fromTag = bs('from-tag') + bs('ft');
  const sdp = bs('sdp') + bs(SDP);
  assert.deepEqual(args(cmd('offer') + fromTag + sdp), { ok: false, error: 'No call-id in message' });
  assert.deepEqual(args(cmd('offer') + callId + sdp), { ok: false, error: 'No from-tag in message' });
  assert.deepEqual(args(cmd('offer') + callId + fromTag), { ok: false, error: 'No SDP body in message' });
  assert.deepEqual(args(cmd('answer') + callId + fromTag + sdp), { ok: false, error: 'No to-tag in message' });
  assert.deepEqual(args(cmd('delete')), { ok: false, error: 'No call-id in message' });
  assert.deepEqual(args(cmd('query')), { ok: false, error: 'No call-id in message' });
  const del = args(cmd('delete') + callId);
  assert.ok(del.ok && del.args.callId === 'cid' && del.args.fromTag === undefined && del.args.flags.length === 0);
  assert.ok(args(cmd('ping')).ok, 'ping needs nothing');
  assert.ok(args(cmd('constructor')).ok, 'a command named like an Object property is just an unknown command');
  assert.ok(args(cmd('__proto__')).ok);
});

test('a key of the wrong type is an error naming the key, not silently absent', () => {
  const args = (s: string) => {
    const r = parseNgRequest(b(`c d${bs('command')}${bs('offer')}${s}e`));
    assert.ok(r.ok);
    return ngArgs(r.command, r.args);
  };
  assert.deepEqual(args(`${bs('call-id')}i1e`), { ok: false, error: '"call-id" is an integer, not a string' });
  assert.deepEqual(args(`${bs('flags')}${bs('trust-address')}`), { ok: false, error: '"flags" is a string, not a list of strings' });
  assert.deepEqual(args(`${bs('replace')}l${bs('origin')}i1ee`), { ok: false, error: '"replace" holds an integer, not only strings' });
  assert.deepEqual(args(`${bs('received from')}l${bs('IP4')}e`), { ok: false, error: '"received from" has 1 elements, expected the address family and the address' });
});

// --- fuzz ------------------------------------------------------------------


const FUZZ_SEEDS = [
  KAMAILIO_OFFER,
  '5323_1 d7:command4:pinge',
  `9_1 d${bs('command')}${bs('delete')}${bs('call-id')}${bs('x@y')}${bs('flags')}l${bs('fatal')}e${bs('delete delay')}i0ee`,
  `77_2 d${bs('tags')}d${bs('ft')}d${bs('medias')}ld${bs('index')}i1e${bs('streams')}ld${bs('local port')}i30000eeeeeee${bs('command')}${bs('query')}e`,
].map(b);

const BENCODE_BYTES = b('0123456789ilde:- ');

function mutate(seed: Buffer, next: () => number): Buffer {
  const pick = (n: number) => Math.floor(next() * n);
  const m = Buffer.from(seed);
  switch (pick(5)) {
    case 0:
      return m.subarray(0, pick(m.length));
    case 1: {
      for (let i = 1 + pick(4); i > 0; i--) m[pick(m.length)] = pick(256);
      return m;
    }
    case 2: {
      for (let i = 1 + pick(4); i > 0; i--) m[pick(m.length)] = BENCODE_BYTES[pick(BENCODE_BYTES.length)]!;
      return m;
    }
    case 3: {
      const at = pick(m.length);
      const from = pick(m.length);
      return Buffer.concat([m.subarray(0, at), m.subarray(from, from + pick(40)), m.subarray(at)]);
    }
    default: {
      const at = pick(m.length);
      return Buffer.concat([m.subarray(0, at), m.subarray(at + 1 + pick(8))]);
    }
  }
}

test('mutated and truncated requests never throw: each is a request or an error value', () => {
  const next = rng(0x6e67);
  let ok = 0;
  for (let i = 0; i < 4000; i++) {
    const seed = FUZZ_SEEDS[i % FUZZ_SEEDS.length]!;
    const input = mutate(seed, next);
    const r = parseNgRequest(input);
    if (r.ok) {
      ok++;
      assert.ok(r.command.length > 0 && r.cookie.length > 0 && r.cookie.length <= MAX_COOKIE_BYTES);
      const a = ngArgs(r.command, r.args);
      assert.equal(typeof a.ok, 'boolean');
      // What we accepted we can write back, and read again to the same thing.
      const again = bdecode(bencode(r.args));
      assert.ok(again.ok);
      assert.deepEqual(bencode(again.value), bencode(r.args));
    } else {
      assert.equal(typeof r.error, 'string');
      assert.ok(r.error.length > 0);
      assert.ok(r.cookie === null || typeof r.cookie === 'string');
    }
  }
  assert.ok(ok > 100 && ok < 4000, `a fair share of mutants still parse (${ok})`);
});

test('every proper prefix of a valid request is refused, and once past the cookie, with the cookie', () => {
  for (const seed of FUZZ_SEEDS) {
    const space = seed.indexOf(0x20);
    for (let n = 0; n < seed.length; n++) {
      const r = parseNgRequest(seed.subarray(0, n));
      assert.equal(r.ok, false, `prefix of ${n} bytes`);
      if (!r.ok && n > space) assert.equal(r.cookie, seed.toString('latin1', 0, space));
    }
    assert.ok(parseNgRequest(seed).ok);
  }
});

// --- reply cache -----------------------------------------------------------

function cacheWithClock(maxEntries = 100, ttlMs = 30_000) {
  let now = 0;
  const cache = new NgReplyCache({ maxEntries, ttlMs, monoMs: () => now });
  return { cache, advance: (ms: number) => (now += ms) };
}

const KAMAILIO = { host: '10.0.0.5', port: 22222 };

test('a retransmitted offer gets the cached reply and is not run again', () => {
  const { cache, advance } = cacheWithClock();
  let allocations = 0;
  const serve = (datagram: Buffer): Buffer | null => {
    const req = parseNgRequest(datagram);
    assert.ok(req.ok);
    const seen = cache.begin(req.cookie, KAMAILIO);
    if (seen.state === 'replied') return seen.reply;
    if (seen.state === 'in-progress') return null;
    allocations++;
    const reply = ngReply(req.cookie, { result: 'ok', sdp: `v=0 port ${30000 + 2 * allocations}` });
    cache.finish(req.cookie, KAMAILIO, reply);
    return reply;
  };
  const first = serve(b(KAMAILIO_OFFER));
  advance(1000); // Kamailio's rtpengine_tout_ms: it heard nothing and sends again
  const second = serve(b(KAMAILIO_OFFER));
  assert.equal(allocations, 1);
  assert.deepEqual(second, first);
});

test('a copy arriving while the original is still being worked on is reported in progress', () => {
  const { cache } = cacheWithClock();
  assert.deepEqual(cache.begin('8213_3', KAMAILIO), { state: 'new' });
  assert.deepEqual(cache.begin('8213_3', KAMAILIO), { state: 'in-progress' });
  cache.abandon('8213_3', KAMAILIO);
  assert.deepEqual(cache.begin('8213_3', KAMAILIO), { state: 'new' }, 'abandoned: the next copy runs afresh');
});

test('the same cookie from another sender is a different request', () => {
  const { cache } = cacheWithClock();
  cache.begin('1_1', KAMAILIO);
  cache.finish('1_1', KAMAILIO, b('1_1 d6:result4:ponge'));
  assert.deepEqual(cache.begin('1_1', { host: '10.0.0.6', port: 22222 }), { state: 'new' });
  assert.deepEqual(cache.begin('1_1', { host: '10.0.0.5', port: 22223 }), { state: 'new' });
  assert.equal(cache.begin('1_1', KAMAILIO).state, 'replied');
});

test('a reply is remembered for ttlMs after it was sent, then forgotten', () => {
  const { cache, advance } = cacheWithClock(100, 30_000);
  cache.begin('c', KAMAILIO);
  advance(5_000);
  cache.finish('c', KAMAILIO, b('c d6:result2:oke'));
  advance(29_999);
  assert.equal(cache.begin('c', KAMAILIO).state, 'replied');
  advance(1);
  assert.equal(cache.size, 0);
  assert.deepEqual(cache.begin('c', KAMAILIO), { state: 'new' });
});

test('a request never finished stops blocking its retransmissions after ttlMs', () => {
  const { cache, advance } = cacheWithClock(100, 30_000);
  cache.begin('c', KAMAILIO);
  advance(30_000);
  assert.deepEqual(cache.begin('c', KAMAILIO), { state: 'new' });
});

test('bounded: past maxEntries the oldest entry goes first', () => {
  const { cache, advance } = cacheWithClock(3);
  for (const c of ['a', 'b', 'c', 'd']) {
    cache.begin(c, KAMAILIO);
    cache.finish(c, KAMAILIO, b(`${c} d6:result2:oke`));
    advance(10);
  }
  assert.equal(cache.size, 3);
  assert.equal(cache.begin('b', KAMAILIO).state, 'replied');
  assert.equal(cache.begin('c', KAMAILIO).state, 'replied');
  assert.equal(cache.begin('d', KAMAILIO).state, 'replied');
  assert.deepEqual(cache.begin('a', KAMAILIO), { state: 'new' }, 'a, the oldest, was dropped');
  assert.equal(cache.size, 3, 'and marking a in progress dropped b in turn');
  assert.deepEqual(cache.begin('b', KAMAILIO), { state: 'new' });
});
