import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SipCaptureEvent } from '../../engine/events';
import { CaptureBatchWriter, decodeCaptureBatch, encodeCaptureBatch } from '../../engine/sip/worker/capture-codec';

function ev(o: Partial<SipCaptureEvent> = {}): SipCaptureEvent {
  const raw = o.raw ?? Buffer.from('INVITE sip:bob@b.example SIP/2.0\r\nCall-ID: a@b\r\n\r\n');
  return {
    kind: 'sip', tsUs: 1_796_000_000_123_456, direction: 'in', transport: 'udp', src: '10.0.0.1:5060', dst: '127.0.0.1:5060',
    callId: 'a@b', cseqSeq: 1, cseqMethod: 'INVITE', method: 'INVITE', status: null, label: 'INVITE', branch: 'z9hG4bK-1',
    size: raw.length, raw, retransmission: false, ...o,
  };
}

test('a batch crosses threads intact: every field, µs timestamps, null method/branch/status, non-ASCII text, raw bytes', () => {
  const events = [
    ev(),
    ev({ direction: 'out', transport: 'tcp', method: null, status: 180, label: '180 Sonné ☎', branch: null, retransmission: true, cseqSeq: 4_294_967_295 }),
    ev({ src: '[2001:db8::1]:5060', callId: 'ünïcode@example', raw: Buffer.from([0, 1, 2, 0xff]) }),
  ];
  const back = decodeCaptureBatch(encodeCaptureBatch(events));
  assert.equal(back.length, 3);
  back.forEach((b, i) => {
    const e = events[i]!;
    assert.deepEqual({ ...b, raw: b.raw.toString('hex') }, { ...e, size: e.raw.length, raw: e.raw.toString('hex') });
  });
});

test('an empty batch is empty, and a string over the 64 KiB cap is cut without corrupting the events after it', () => {
  assert.deepEqual(decodeCaptureBatch(encodeCaptureBatch([])), []);
  const long = 'é'.repeat(40_000); // 80,000 UTF-8 bytes
  const back = decodeCaptureBatch(encodeCaptureBatch([ev({ label: long }), ev({ callId: 'after' })]));
  assert.equal(back.length, 2);
  assert.ok(back[0]!.label.length > 30_000 && long.startsWith(back[0]!.label), 'cut at a character boundary');
  assert.equal(back[1]!.callId, 'after');
});

test('one writer serves batch after batch: a taken batch is its own copy, the scratch grows for big messages, discard drops and counts', () => {
  const w = new CaptureBatchWriter(64);
  w.append(ev({ callId: 'first' }));
  const first = w.take();
  w.append(ev({ callId: 'second', raw: Buffer.alloc(70_000, 0x41) })); // outgrows the 64-byte scratch
  w.append(ev({ callId: 'third' }));
  assert.equal(w.count, 2);
  const second = w.take();
  assert.deepEqual(decodeCaptureBatch(first).map((e) => e.callId), ['first'], 'later appends do not touch a taken batch');
  const back = decodeCaptureBatch(second);
  assert.deepEqual(back.map((e) => e.callId), ['second', 'third']);
  assert.equal(back[0]!.raw.length, 70_000);
  w.append(ev());
  w.append(ev());
  assert.equal(w.discard(), 2);
  assert.equal(w.count, 0);
  assert.equal(w.take().byteLength, 0);
});
