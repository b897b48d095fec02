/**
 * Forwarding decoded PCM to an application (engine/record/forward/): real
 * TCP and TLS consumers on 127.0.0.1 receive the documented header, then
 * exactly the samples sent, per leg; a slow or absent consumer costs
 * counted drops and reconnects, never unbounded memory, never a wait; and
 * the recorder hands each call's decoded audio to the forwarder.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { createManualClock, createMonotonicClock } from '../../engine/clock';
import type { Direction } from '../../engine/record/call-recording';
import { type ForwarderOptions, Forwarder } from '../../engine/record/forward/forwarder';
import { type PcmStreamHeader, decodePcmHeader, encodePcmHeader, PCM_HEADER_MAX_BYTES } from '../../engine/record/forward/header';
import { Recorder } from '../../engine/record/recorder';
import { g711Stream, noise, soxDecode, tone } from '../helpers/g711-rtp';
import { freePort } from '../helpers/ports';
import { until } from '../helpers/until';

const root = mkdtempSync(join(tmpdir(), 'callpath-forward-'));
const servers: Server[] = [];
const forwarders: Forwarder[] = [];
after(async () => {
  await Promise.all(forwarders.map((f) => f.close()));
  for (const s of servers) s.close();
  rmSync(root, { recursive: true, force: true });
});

const CALL_ID = 'a84b4c76e66710@pc33.atlanta.com';
const FRAME = 800;

/** Frame i of a leg: its first sample is i, the rest a pattern of (i, j), so any frame received names itself. */
function frame(i: number, n = FRAME, salt = 0): Int16Array {
  const f = new Int16Array(n);
  f[0] = i;
  for (let j = 1; j < n; j++) f[j] = (((i * 31 + j * 17 + salt) & 0xffff) << 16) >> 16;
  return f;
}

interface Received {
  socket: Socket;
  chunks: Buffer[];
  ended: boolean;
  closed: boolean;
}

/** A consumer: records what each connection receives. `paused`: it reads nothing until its socket is resumed. */
function consumer(o: { tls?: { key: Buffer; cert: Buffer }; paused?: boolean; port?: number; allowHalfOpen?: boolean } = {}) {
  const conns: Received[] = [];
  const tlsErrors: string[] = [];
  const onSocket = (socket: Socket) => {
    const r: Received = { socket, chunks: [], ended: false, closed: false };
    conns.push(r);
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => r.chunks.push(d));
    socket.on('end', () => (r.ended = true));
    socket.on('close', () => (r.closed = true));
    if (o.paused) socket.pause();
  };
  const server = o.tls ? createTlsServer({ key: o.tls.key, cert: o.tls.cert }, onSocket) : createServer({ allowHalfOpen: o.allowHalfOpen ?? false }, onSocket);
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => tlsErrors.push(err.code ?? err.message));
  servers.push(server);
  const listening = new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  return { server, conns, tlsErrors, listening };
}

/** The header and the PCM a connection received. */
function parse(r: Received): { header: PcmStreamHeader; pcm: Int16Array; bytes: number } {
  const all = Buffer.concat(r.chunks);
  const d = decodePcmHeader(all);
  assert.equal(d.status, 'ok', `header: ${JSON.stringify(d)}`);
  if (d.status !== 'ok') throw new Error('unreachable');
  const body = all.subarray(d.length);
  assert.equal(body.length % 2, 0, 'whole samples');
  const pcm = new Int16Array(body.length / 2);
  for (let k = 0; k < pcm.length; k++) pcm[k] = body.readInt16LE(2 * k);
  return { header: d.header, pcm, bytes: all.length };
}

/** The frames of a received stream, each checked whole and equal to the frame it names; their indices in order. */
function frameIndices(pcm: Int16Array, n = FRAME, salt = 0): number[] {
  assert.equal(pcm.length % n, 0, 'whole frames');
  const out: number[] = [];
  for (let k = 0; k < pcm.length; k += n) {
    const got = pcm.subarray(k, k + n);
    assert.deepEqual(got, frame(got[0]!, n, salt), `frame at sample ${k} is whole`);
    out.push(got[0]!);
  }
  return out;
}

function forwarder(over: Partial<ForwarderOptions> & Pick<ForwarderOptions, 'target'>): Forwarder {
  const f = new Forwarder({ tls: null, backoff: { initialMs: 20, maxMs: 80 }, clock: createMonotonicClock(), ...over });
  forwarders.push(f);
  return f;
}

const fig = (f: Forwarder, leg: Direction, callId = CALL_ID) => f.stats().connections.find((c) => c.leg === leg && c.callId === callId)!;
const turn = () => new Promise<void>((r) => setImmediate(r));

test('the header is one JSON line starting {"magic":"callpath-pcm", that the reference decoder reads back; a Call-ID too long for its bound is refused as a value', () => {
  const e = encodePcmHeader({ callId: CALL_ID, leg: 'callee', startUs: 1714555815123000, connection: 2, sampleOffset: 16000 });
  assert.ok(e.ok);
  const text = e.bytes.toString('utf8');
  assert.equal(text, `{"magic":"callpath-pcm","version":1,"callId":"${CALL_ID}","leg":"callee","sampleRate":8000,"format":"s16le","channels":1,"startUs":1714555815123000,"connection":2,"sampleOffset":16000}\n`);
  const pcm = Buffer.from([1, 0, 2, 0]);
  const d = decodePcmHeader(Buffer.concat([e.bytes, pcm]));
  assert.equal(d.status, 'ok');
  assert.equal(d.status === 'ok' && d.length, e.bytes.length, 'the PCM starts right after the "\\n"');
  assert.equal(d.status === 'ok' && d.header.sampleOffset, 16000);
  assert.deepEqual(decodePcmHeader(e.bytes.subarray(0, 40)), { status: 'incomplete' });
  assert.equal(decodePcmHeader(Buffer.from('{"magic":"rtpengine","version":1}\n')).status, 'invalid');
  assert.equal(decodePcmHeader(Buffer.alloc(PCM_HEADER_MAX_BYTES, 0x20)).status, 'invalid', 'no newline within the bound');
  const quoted = encodePcmHeader({ callId: 'a"b\nc', leg: 'caller', startUs: 0, connection: 0, sampleOffset: 0 });
  assert.ok(quoted.ok && quoted.bytes.indexOf(0x0a) === quoted.bytes.length - 1, 'a newline in the Call-ID is escaped, the line stays one line');
  const long = encodePcmHeader({ callId: 'x'.repeat(PCM_HEADER_MAX_BYTES), leg: 'caller', startUs: 0, connection: 0, sampleOffset: 0 });
  assert.equal(long.ok, false);
});

test('plain TCP, a stereo call: one connection per leg, each the header then exactly the samples sent; end() closes both "ended" with complete figures', async () => {
  const c = consumer();
  const port = await c.listening;
  const f = forwarder({ target: { host: '127.0.0.1', port } });
  const sent = { caller: [] as Int16Array[], callee: [] as Int16Array[] };
  for (let i = 0; i < 10; i++) {
    for (const leg of ['caller', 'callee'] as const) {
      const samples = frame(i, FRAME, leg === 'caller' ? 0 : 1);
      sent[leg].push(samples);
      f.send(CALL_ID, leg, samples);
    }
    if (i === 4) await until('both legs open', () => fig(f, 'caller').state === 'open' && fig(f, 'callee').state === 'open', 5000);
  }
  sent.caller[0]!.fill(7); // send() copied: the caller may reuse its array
  sent.caller[0] = frame(0);
  await f.end(CALL_ID);
  await until('both connections closed at the consumer', () => c.conns.length === 2 && c.conns.every((r) => r.closed), 5000);

  for (const r of c.conns) {
    const { header, pcm, bytes } = parse(r);
    assert.equal(header.callId, CALL_ID);
    assert.equal(header.sampleRate, 8000);
    assert.equal(header.format, 's16le');
    assert.equal(header.channels, 1);
    assert.equal(header.connection, 0);
    assert.equal(header.sampleOffset, 0);
    const leg = header.leg;
    const expected = new Int16Array(10 * FRAME);
    sent[leg].forEach((s, i) => expected.set(s, i * FRAME));
    assert.deepEqual(pcm, expected, `${leg}: exactly the samples sent, in order`);
    const x = fig(f, leg);
    assert.equal(x.state, 'closed');
    assert.equal(x.closeReason, 'ended');
    assert.equal(x.target, `127.0.0.1:${port}`);
    assert.equal(x.tls, false);
    assert.equal(x.bytesSent, bytes, 'bytes sent = what the consumer received, header included');
    assert.equal(x.framesSent, 10);
    assert.equal(x.framesDropped, 0);
    assert.equal(x.reconnects, 0);
    assert.equal(x.startUs, header.startUs);
    assert.ok(x.connectUs !== null && x.firstByteUs !== null && x.closeUs !== null);
    assert.ok(x.startUs <= x.connectUs && x.connectUs <= x.firstByteUs && x.firstByteUs <= x.closeUs, 'start ≤ connect ≤ first byte ≤ close');
  }
  const t = f.stats().totals;
  assert.deepEqual([t.connections, t.active, t.framesSent, t.framesDropped], [2, 0, 20, 0]);
});

function certificate(): { key: Buffer; cert: Buffer } {
  const key = join(root, 'key.pem');
  const cert = join(root, 'cert.pem');
  execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

test('TLS with a self-signed certificate: trusted through `ca`, refused without it (the reason counted), accepted with insecure', async () => {
  const pem = certificate();
  const c = consumer({ tls: pem });
  const port = await c.listening;
  const target = { host: '127.0.0.1', port };
  const samples = () => Array.from({ length: 5 }, (_, i) => frame(i));
  const expected = new Int16Array(5 * FRAME);
  samples().forEach((s, i) => expected.set(s, i * FRAME));

  const trusted = forwarder({ target, tls: { ca: pem.cert, servername: 'localhost' } });
  for (const s of samples()) trusted.send('trusted', 'caller', s);
  await trusted.end('trusted');
  assert.equal(fig(trusted, 'caller', 'trusted').closeReason, 'ended');
  assert.equal(fig(trusted, 'caller', 'trusted').tls, true);

  const insecure = forwarder({ target, tls: { insecure: true } });
  for (const s of samples()) insecure.send('insecure', 'caller', s);
  await insecure.end('insecure');
  assert.equal(fig(insecure, 'caller', 'insecure').closeReason, 'ended');

  const refused = forwarder({ target, tls: { servername: 'localhost' } });
  refused.send('refused', 'caller', frame(0));
  await until('the certificate refused', () => refused.stats().totals.failures > 0, 5000);
  const x = fig(refused, 'caller', 'refused');
  assert.match(x.lastError ?? '', /self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
  assert.deepEqual(refused.stats().totals.failureReasons[0], { reason: 'DEPTH_ZERO_SELF_SIGNED_CERT', count: x.failures });
  assert.equal(x.framesDropped, 1, 'the frame queued behind the failed handshake is counted');
  await refused.end('refused');
  assert.match(fig(refused, 'caller', 'refused').closeReason ?? '', /self-signed certificate/);

  await until('two streams received', () => c.conns.filter((r) => r.closed && r.chunks.length > 0).length === 2, 5000);
  const streams = c.conns.filter((r) => r.chunks.length > 0).map(parse);
  assert.deepEqual(streams.map((s) => s.header.callId).sort(), ['insecure', 'trusted'], 'nothing of the refused call reached the consumer');
  for (const s of streams) assert.deepEqual(s.pcm, expected);
  assert.ok(c.tlsErrors.length > 0, 'the consumer saw the refused handshakes');
});

/** Sends frames 1…`frames` to one leg as fast as the event loop allows (a turn now and then so socket callbacks run); the most ever held, sampled. */
async function flood(f: Forwarder, callId: string, frames: number): Promise<number> {
  let most = 0;
  for (let i = 1; i <= frames; i++) {
    assert.equal(f.send(callId, 'caller', frame(i)), undefined);
    if (i % 50 === 0) {
      most = Math.max(most, fig(f, 'caller', callId).queuedBytes);
      await turn();
    }
  }
  return most;
}

// 10 min of audio (9.6 MB): more than loopback's socket buffers take from a consumer that reads nothing (a few MB), so the bound is reached.
const FLOOD_FRAMES = 6000;

test('a consumer that stops reading: send never waits, the queue stays within its bound, the new frames are dropped and counted; once it reads again it gets the header and whole frames in order, the counted ones missing', async () => {
  const c = consumer({ paused: true });
  const port = await c.listening;
  const queueBytes = 64 * 1024;
  const f = forwarder({ target: { host: '127.0.0.1', port }, queueBytes, endTimeoutMs: 10_000 });
  f.send('slow', 'caller', frame(0));
  await until('open', () => fig(f, 'caller', 'slow').state === 'open', 5000);
  const most = await flood(f, 'slow', FLOOD_FRAMES);

  const x = fig(f, 'caller', 'slow');
  assert.ok(most <= queueBytes && x.maxQueuedBytes <= queueBytes, `held at most ${x.maxQueuedBytes} of ${queueBytes} bytes`);
  assert.ok(x.framesDropped > 0, 'frames were dropped');
  assert.equal(x.bytesDropped, x.framesDropped * FRAME * 2);
  assert.deepEqual(f.stats().totals.drops, [{ reason: 'queue full', frames: x.framesDropped, bytes: x.bytesDropped }]);
  assert.equal(x.state, 'open', 'a slow consumer is not a failure');

  c.conns[0]!.socket.resume();
  await f.end('slow');
  await until('the consumer read everything', () => c.conns[0]!.closed, 10_000);
  const done = fig(f, 'caller', 'slow');
  assert.equal(done.closeReason, 'ended');
  const { header, pcm, bytes } = parse(c.conns[0]!);
  assert.equal(header.callId, 'slow');
  const got = frameIndices(pcm);
  assert.equal(got[0], 0);
  assert.ok(got.every((v, k) => k === 0 || v > got[k - 1]!), 'in order');
  assert.equal(got.length, done.framesSent);
  assert.equal(done.framesSent + done.framesDropped, FLOOD_FRAMES + 1, 'every frame sent or counted dropped');
  assert.equal(bytes, done.bytesSent);
});

test('end() against a consumer that reads nothing gives up after its timeout: the socket destroyed, the PCM not sent counted, the reason says so', async () => {
  const c = consumer({ paused: true });
  const port = await c.listening;
  const f = forwarder({ target: { host: '127.0.0.1', port }, queueBytes: 64 * 1024, endTimeoutMs: 200 });
  f.send('stuck', 'caller', frame(0));
  await until('open', () => fig(f, 'caller', 'stuck').state === 'open', 5000);
  await flood(f, 'stuck', FLOOD_FRAMES);
  const before = fig(f, 'caller', 'stuck').framesDropped;
  const t0 = Date.now();
  await f.end('stuck');
  assert.ok(Date.now() - t0 < 2000, 'end() is bounded by its timeout');
  const x = fig(f, 'caller', 'stuck');
  assert.equal(x.state, 'closed');
  const m = /^end timeout after 200 ms: (\d+) PCM bytes not sent$/.exec(x.closeReason ?? '');
  assert.ok(m && Number(m[1]) > 0, x.closeReason ?? '');
  assert.equal(x.framesDropped - before, Number(m[1]) / (FRAME * 2), 'the unsent frames are counted dropped');
  assert.equal(x.framesSent + x.framesDropped, FLOOD_FRAMES + 1);
  const drops = f.stats().totals.drops.find((d) => d.reason === 'end timeout');
  assert.equal(drops?.bytes, Number(m[1]));
  c.conns[0]!.socket.resume();
  await until('the consumer closed', () => c.conns[0]!.closed, 10_000);
  assert.ok(Buffer.concat(c.conns[0]!.chunks).length >= x.bytesSent, 'what the socket acknowledged reached the consumer');
});

test('end() against a consumer that never closes its side: all of it was handed over, so the close after the timeout is still "ended"', async () => {
  const c = consumer({ allowHalfOpen: true });
  const port = await c.listening;
  const f = forwarder({ target: { host: '127.0.0.1', port }, endTimeoutMs: 150 });
  for (let i = 0; i < 3; i++) f.send('half', 'callee', frame(i));
  await f.end('half');
  const x = fig(f, 'callee', 'half');
  assert.equal(x.closeReason, 'ended');
  assert.equal(x.framesSent, 3);
  await until('received', () => c.conns[0]?.ended, 5000);
  assert.deepEqual(frameIndices(parse(c.conns[0]!).pcm), [0, 1, 2]);
});

test('the consumer is down: frames dropped and counted, reconnects back off, and when it comes up the header says where the audio resumes and the PCM flows', async () => {
  const port = await freePort();
  const f = forwarder({ target: { host: '127.0.0.1', port }, backoff: { initialMs: 20, maxMs: 80 } });
  const SMALL = 160; // 20 ms frames, one every 10 ms
  let i = 0;
  const startMs = performance.now();
  const timer = setInterval(() => f.send('down', 'caller', frame(i++, SMALL)), 10);
  try {
    await until('a few refused attempts', () => (fig(f, 'caller', 'down')?.reconnects ?? 0) >= 3, 5000);
    const x = fig(f, 'caller', 'down');
    assert.match(x.lastError ?? '', /ECONNREFUSED/);
    assert.ok(x.framesDropped > 0);
    assert.equal(x.framesSent, 0);
    assert.equal(x.connectUs, null);
    assert.equal(f.stats().totals.failureReasons.find((r) => r.reason === 'ECONNREFUSED')?.count, x.failures);
    // The backoff: 20, 40, 80, 80 ms… so never more than one attempt per 20 ms since the first (a busy box only
    // makes them rarer; counting against the 10 ms frames instead failed when the box delayed the frame timer).
    const elapsedMs = performance.now() - startMs;
    assert.ok(x.reconnects <= elapsedMs / 20, `${x.reconnects + 1} attempts in ${Math.round(elapsedMs)} ms`);

    const c = consumer({ port });
    await c.listening;
    await until('PCM at the consumer', () => c.conns[0] && Buffer.concat(c.conns[0].chunks).length > 4 * SMALL * 2 + 300, 5000);
    clearInterval(timer);
    await f.end('down');
    await until('closed', () => c.conns[0]!.closed, 5000);
    const { header, pcm } = parse(c.conns[0]!);
    const done = fig(f, 'caller', 'down');
    assert.equal(header.connection, done.reconnects, 'the header counts the attempts before it');
    assert.ok(header.connection >= 3);
    assert.equal(header.sampleOffset % SMALL, 0);
    const got = frameIndices(pcm, SMALL);
    assert.equal(got[0], header.sampleOffset / SMALL, 'the first sample after the header is sample sampleOffset of the leg');
    assert.deepEqual(got, got.map((_, k) => got[0]! + k), 'then every frame, none missing');
    assert.equal(done.framesSent, got.length);
    assert.equal(done.framesSent + done.framesDropped, i, 'every frame sent or counted dropped');
    assert.equal(done.closeReason, 'ended');
    assert.ok(done.connectUs !== null && done.firstByteUs !== null);
  } finally {
    clearInterval(timer);
  }
});

test('a consumer that drops the connection mid-call: counted, and the next connection starts with a header saying connection 1 and where the audio resumes', async () => {
  const c = consumer();
  const port = await c.listening;
  const f = forwarder({ target: { host: '127.0.0.1', port }, backoff: { initialMs: 30, maxMs: 30 } });
  let i = 0;
  const send = () => f.send('reset', 'callee', frame(i++, 160));
  const timer = setInterval(send, 10);
  try {
    await until('the first connection carries PCM', () => c.conns[0] && c.conns[0].chunks.length > 2, 5000);
    c.conns[0]!.socket.destroy();
    await until('a second connection carries PCM', () => c.conns[1] && Buffer.concat(c.conns[1].chunks).length > 1000, 5000);
    clearInterval(timer);
    await f.end('reset');
    await until('closed', () => c.conns[1]!.closed, 5000);
    const first = parse(c.conns[0]!);
    const second = parse(c.conns[1]!);
    assert.deepEqual([first.header.connection, first.header.sampleOffset], [0, 0]);
    assert.equal(second.header.connection, 1);
    assert.equal(second.header.startUs, first.header.startUs, 'the same leg, the same start');
    const resumed = frameIndices(second.pcm, 160);
    assert.equal(resumed[0], second.header.sampleOffset / 160);
    assert.ok(resumed[0]! >= frameIndices(first.pcm, 160).length, 'it resumes after what the first connection carried');
    const x = fig(f, 'callee', 'reset');
    assert.equal(x.reconnects, 1);
    assert.equal(x.failures, 1);
    assert.match(x.lastError ?? '', /closed by the consumer|ECONNRESET|EPIPE|closed/);
    assert.equal(x.framesSent + x.framesDropped, i);
  } finally {
    clearInterval(timer);
  }
});

test('the recorder forwards each direction’s decoded audio, equal to sox’s decode of its payload, and ends the connections when the call’s recording stops', async () => {
  const c = consumer();
  const port = await c.listening;
  const clock = createManualClock(Date.UTC(2024, 4, 1, 9, 30, 15) * 1000);
  const f = forwarder({ target: { host: '127.0.0.1', port }, clock });
  const r = new Recorder({ dir: join(root, 'rec'), clock, forwarder: f });
  assert.ok((await r.start()).ok);
  const caller = g711Stream(tone(1000, 8000), { law: 'PCMU', ssrc: 1 });
  const callee = g711Stream(noise(3, 8000), { law: 'PCMA', ssrc: 2 });
  assert.deepEqual(r.record({ callId: CALL_ID }), { ok: true });
  const start = clock.nowUs();
  caller.packets.forEach((p, k) => {
    r.push(CALL_ID, 'caller', start + k * 20_000, p);
    r.push(CALL_ID, 'callee', start + k * 20_000, callee.packets[k]!);
    if (k % 10 === 9) r.drain();
  });
  const summary = await r.stopCall(CALL_ID);
  await r.close();
  assert.equal(summary?.error, null);
  await until('both legs closed at the consumer', () => c.conns.length === 2 && c.conns.every((x) => x.closed), 5000);
  const byLeg = new Map(c.conns.map((x) => parse(x)).map((p) => [p.header.leg, p.pcm] as const));
  assert.deepEqual(Array.from(byLeg.get('caller')!), soxDecode('PCMU', caller.payloads));
  assert.deepEqual(Array.from(byLeg.get('callee')!), soxDecode('PCMA', callee.payloads));
  assert.deepEqual(
    f.stats().connections.map((x) => x.closeReason),
    ['ended', 'ended'],
  );
});

test('at most maxConnections at once: a leg past it gets none for the rest of its call, its PCM counted as "too many connections"; once a call ends its legs are free again', async () => {
  const c = consumer();
  const port = await c.listening;
  const f = forwarder({ target: { host: '127.0.0.1', port }, maxConnections: 2 });
  f.send('first', 'caller', frame(0));
  f.send('first', 'callee', frame(0));
  f.send('second', 'caller', frame(0));
  f.send('second', 'caller', frame(1));
  await until('two connections at the consumer', () => c.conns.length === 2, 5000);
  const s = f.stats();
  assert.equal(s.totals.connections, 2);
  assert.deepEqual(s.totals.drops, [{ reason: 'too many connections', frames: 2, bytes: 2 * FRAME * 2 }]);
  assert.deepEqual(s.connections.map((x) => x.callId).sort(), ['first', 'first']);
  await f.end('first');
  f.send('second', 'caller', frame(2));
  assert.equal(f.stats().totals.drops[0]!.frames, 3, 'refused for the rest of its call, though a connection is free now');
  await f.end('second');
  f.send('third', 'caller', frame(0));
  await until('the next call gets a connection', () => f.stats().totals.connections === 3, 5000);
});

test("each call's frames not forwarded are taken once per call, those of a connection that closed between two takes and of a leg refused a connection included", async () => {
  const c = consumer({ paused: true });
  const port = await c.listening;
  const f = forwarder({ target: { host: '127.0.0.1', port }, queueBytes: 64 * 1024, endTimeoutMs: 200, maxConnections: 1 });
  f.send('stuck', 'caller', frame(0));
  await until('open', () => fig(f, 'caller', 'stuck').state === 'open', 5000);
  await flood(f, 'stuck', FLOOD_FRAMES);
  const first = fig(f, 'caller', 'stuck').framesDropped;
  assert.ok(first > 0, 'the queue filled');
  assert.deepEqual([...f.takeDropped()], [['stuck', first]]);
  assert.deepEqual([...f.takeDropped()], [], 'taken once');
  f.send('refused', 'callee', frame(0));
  f.send('refused', 'callee', frame(1));
  // The connection closes (its end times out, what it held counted dropped) before the next take.
  await f.end('stuck');
  const done = fig(f, 'caller', 'stuck');
  assert.equal(done.state, 'closed');
  assert.ok(done.framesDropped > first, 'the end timeout dropped what was queued');
  assert.deepEqual(new Map(f.takeDropped()), new Map([['refused', 2], ['stuck', done.framesDropped - first]]));
  assert.equal(f.stats().totals.framesDropped, done.framesDropped + 2, 'every frame in the totals is in some call\'s takes');
  c.conns[0]?.socket.resume();
});
