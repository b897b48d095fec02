import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCEPTED_INVITE, acceptedClientCodec, lingeringServerCodec, type AcceptedClient, type CompletedServer } from '../../engine/sip/proxy/linger-records';
import type { LingerCodec } from '../../engine/sip/transaction';

function roundTrip<T>(codec: LingerCodec<T>, v: T): T {
  const n = codec.size(v);
  const buf = Buffer.alloc(n + 10, 0xee);
  codec.write(v, buf, 5);
  assert.equal(buf[4], 0xee, 'nothing written before the offset');
  assert.ok(buf.subarray(5 + n).every((b) => b === 0xee), 'nothing written past size()');
  return codec.read(buf, 5, 5 + n);
}

test('a Completed non-INVITE server transaction comes back whole: response bytes, reply address, capture meta with its nulls', () => {
  const v: CompletedServer = {
    response: Buffer.from('SIP/2.0 200 OK\r\nCall-ID: ü@x\r\n\r\n'),
    replyTo: { host: '2001:db8::1', port: 5061, transport: 'tcp' },
    meta: { callId: 'ü@x', cseqSeq: 4_294_967_295, cseqMethod: 'BYE', method: null, status: 200, label: '200 OK', branch: '' },
  };
  const back = roundTrip(lingeringServerCodec, v) as CompletedServer;
  assert.deepEqual({ ...back, response: back.response.toString() }, { ...v, response: v.response.toString() });
  assert.equal(roundTrip(lingeringServerCodec, ACCEPTED_INVITE), ACCEPTED_INVITE);
});

test('an Accepted INVITE client transaction keeps the statuses it saw and the 2xx it sent', () => {
  const v: AcceptedClient = {
    sent: Buffer.from([0, 1, 2, 255]),
    replyTo: { host: '127.0.0.1', port: 5091, transport: 'udp' },
    meta: { callId: 'a@b', cseqSeq: 1, cseqMethod: 'INVITE', method: 'INVITE', status: null, label: 'INVITE', branch: null },
    seenStatuses: [100, 180, 200],
  };
  const back = roundTrip(acceptedClientCodec, v);
  assert.deepEqual({ ...back, sent: [...back.sent] }, { ...v, sent: [0, 1, 2, 255] });
});
