/**
 * TCP segments → SIP messages (engine/capture/tcp-flows.ts), as the import,
 * `--watch` and the wire tap follow a connection: split and joined messages,
 * the capture's own retransmissions and gaps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CapturedPacket } from '../../engine/capture/pcap-read';
import { TcpFlows } from '../../engine/capture/tcp-flows';

const msg = (n: number, body = '') =>
  `OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5091;branch=z9hG4bK-${n}\r\nCall-ID: c${n}\r\nCSeq: ${n} OPTIONS\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

function follow(segments: [number, string][], flows = new TcpFlows()) {
  const out: { text: string; tsUs: number }[] = [];
  segments.forEach(([seq, text], i) => {
    const p: CapturedPacket = { tsUs: 1000 + i, transport: 'tcp', src: '127.0.0.1:40000', dst: '127.0.0.1:5060', payload: Buffer.from(text, 'latin1'), seq };
    flows.push(p, (bytes, seg) => out.push({ text: bytes.toString('latin1'), tsUs: seg.tsUs }));
  });
  return { out, flows };
}

test('a message split over segments comes out whole, with the time of the segment that completed it; two in one segment come out as two', () => {
  const a = msg(1, 'v=0\r\n');
  const b = msg(2);
  const c = msg(3);
  const { out, flows } = follow([
    [100, a.slice(0, 40)],
    [140, a.slice(40)],
    [100 + a.length, b + c],
  ]);
  assert.deepEqual(out, [
    { text: a, tsUs: 1001 },
    { text: b, tsUs: 1002 },
    { text: c, tsUs: 1002 },
  ]);
  assert.deepEqual(flows.skipped, {});
});

test("a segment the capture saw twice (TCP's own retransmission) gives its message once; an overlapping one gives only its new bytes", () => {
  const a = msg(1);
  const b = msg(2);
  const { out, flows } = follow([
    [0, a],
    [0, a], // retransmitted whole
    [a.length - 10, a.slice(-10) + b], // overlaps the end of a
  ]);
  assert.deepEqual(out.map((m) => m.text), [a, b]);
  assert.deepEqual(flows.skipped, { 'TCP segment retransmitted': 1 });
});

test('bytes missing from the capture drop the message they belong to, counted, and the flow picks up at the next message', () => {
  const a = msg(1, 'x'.repeat(100));
  const b = msg(2);
  const c = msg(3);
  const { out, flows } = follow([
    [0, a.slice(0, 50)],
    // a.slice(50, 80) never captured
    [80, a.slice(80)], // the rest of a: the middle of a message, not a start
    [a.length, b],
    [a.length + b.length, c],
  ]);
  assert.deepEqual(out.map((m) => m.text), [b, c]);
  assert.equal(flows.skipped['TCP bytes missing from the capture (message dropped)'], 1);
});

test('a stream that is not SIP is counted and skipped until a message starts again; a message cut by the end of the capture is counted', () => {
  const b = msg(2);
  const junk = 'GET-\x00\x01 not sip at all\r\n\r\n';
  const { out, flows } = follow([
    [0, junk],
    [junk.length, 'more junk'],
    [junk.length + 9, b],
    [junk.length + 9 + b.length, msg(3).slice(0, 30)],
  ]);
  assert.deepEqual(out.map((m) => m.text), [b]);
  assert.equal(Object.keys(flows.skipped).filter((k) => k.startsWith('TCP stream not SIP')).length, 1);
  flows.end();
  assert.equal(flows.skipped['TCP message cut at the end of the capture'], 1);
});

test('flows are bounded: past the limit the oldest is forgotten, counted', () => {
  const flows = new TcpFlows(2);
  const seg = (port: number): CapturedPacket => ({ tsUs: 1, transport: 'tcp', src: `127.0.0.1:${port}`, dst: '127.0.0.1:5060', payload: Buffer.from(msg(port)), seq: 1 });
  const got: string[] = [];
  for (const port of [40001, 40002, 40003]) flows.push(seg(port), (b) => got.push(b.toString('latin1')));
  assert.equal(got.length, 3);
  assert.equal(flows.skipped['TCP flow forgotten (too many followed)'], 1);
});
