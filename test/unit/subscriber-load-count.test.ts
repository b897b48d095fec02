/**
 * The subscriber load counts the pmessage replies it reads without parsing
 * RESP (#16): whatever sizes the socket's reads come in — one byte, a
 * message and a half, many at once — the count is the number of messages
 * Redis sent, a marker split over several reads included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MarkerCounter } from '../../engine/publish/subscriber-load';

const MARKER = Buffer.from('*4\r\n$8\r\npmessage\r\n');

/** One pmessage reply as Redis writes it, with a JSON payload that may hold '*' and '$'. */
function pmessage(channel: string, payload: string): Buffer {
  const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  return Buffer.from(`*4\r\n$8\r\npmessage\r\n${bulk('call:*')}${bulk(channel)}${bulk(payload)}`);
}

/** The stream cut at the given points (sorted, deduplicated, inside it). */
function cut(stream: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((a) => a % (stream.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of [...points, stream.length]) {
    if (p > from) chunks.push(stream.subarray(from, p));
    from = Math.max(from, p);
  }
  return chunks;
}

test('the count is the number of pmessage replies however the stream is cut into reads', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ channel: fc.string({ maxLength: 20 }), payload: fc.json({ maxDepth: 2 }) }), { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 60 }),
      fc.boolean(),
      (messages, at, bytewise) => {
        // A payload cannot hold CR or LF: JSON escapes them, and the channel here is a Call-ID.
        const clean = messages.map((m) => ({ channel: m.channel.replace(/[\r\n]/g, ''), payload: m.payload }));
        const stream = Buffer.concat(clean.map((m) => pmessage(m.channel, m.payload)));
        const chunks = bytewise ? [...stream].map((b) => Buffer.from([b])) : cut(stream, at);
        const counter = new MarkerCounter(MARKER);
        const counted = chunks.reduce((n, c) => n + counter.feed(c), 0);
        assert.equal(counted, clean.length);
      },
    ),
    { numRuns: 400 },
  );
});

test('a marker split just before its last byte, and a near-marker that is not one, across reads', () => {
  const counter = new MarkerCounter(MARKER);
  assert.equal(counter.feed(MARKER.subarray(0, MARKER.length - 1)), 0);
  assert.equal(counter.feed(MARKER.subarray(MARKER.length - 1)), 1);
  assert.equal(counter.feed(Buffer.from('payload *4\r\n$8\r\npmess')), 0);
  assert.equal(counter.feed(Buffer.from('ages\r\n')), 0, '"pmessages" is not the marker');
  assert.equal(counter.feed(Buffer.concat([MARKER, Buffer.from('x'), MARKER])), 2);
  assert.throws(() => new MarkerCounter(Buffer.from('*a*')), /first byte/);
});
