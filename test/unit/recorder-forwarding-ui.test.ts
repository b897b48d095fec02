/**
 * The recorder panel's Forwarding section without a DOM: the target and how
 * it is reached, the totals with drops and failures warned, and each
 * connection's row with its connect, first-byte and close times, bytes and
 * drops; bytes always said to be what the kernel accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clockTime } from '../../renderer/src/format';
import { SENT_MEANS, connectionView, forwardingFigures, transportText, type ForwardConnection, type Forwarding } from '../../renderer/src/recorder/forwarding';

const T0 = 1_714_555_815_000_000;

const connection = (over: Partial<ForwardConnection> = {}): ForwardConnection => ({
  callId: 'c1@a',
  leg: 'caller',
  target: '127.0.0.1:9443',
  tls: true,
  state: 'open',
  startUs: T0,
  connectUs: T0 + 4_000,
  lastConnectUs: T0 + 4_000,
  firstByteUs: T0 + 6_500,
  bytesSent: 96_171,
  framesSent: 60,
  framesDropped: 0,
  bytesDropped: 0,
  queuedBytes: 0,
  maxQueuedBytes: 3_200,
  reconnects: 0,
  failures: 0,
  lastError: null,
  closeUs: null,
  closeReason: null,
  ...over,
});

const forwarding = (over: Partial<Forwarding> = {}): Forwarding => ({
  target: '127.0.0.1:9443',
  queueBytes: 262_144,
  tls: true,
  verify: 'ca',
  caFile: '/etc/callpath/app-ca.pem',
  totals: { connections: 2, active: 1, bytesSent: 1_250_000, framesSent: 780, framesDropped: 0, bytesDropped: 0, reconnects: 0, failures: 0, failureReasons: [], drops: [] },
  connections: [connection()],
  ...over,
});

const fig = (f: Forwarding, id: string) => forwardingFigures(f).find((x) => x.id === id)!;

test('the section says where the audio goes and how the certificate is checked; unverified TLS is warned', () => {
  assert.equal(fig(forwarding(), 'target').value, '127.0.0.1:9443');
  assert.equal(fig(forwarding(), 'transport').value, 'TLS, CA /etc/callpath/app-ca.pem');
  assert.equal(transportText({ tls: true, verify: 'system', caFile: null }), 'TLS, system CAs');
  assert.equal(transportText({ tls: false, verify: null, caFile: null }), 'TCP');
  const insecure = forwarding({ verify: 'none', caFile: null });
  assert.deepEqual([fig(insecure, 'transport').value, fig(insecure, 'transport').tone], ['TLS, not verified', 'warn']);
  assert.match(fig(insecure, 'transport').title, /not authenticated/);
});

test('the totals: open of opened, bytes sent said to be what the kernel accepted, drops and failures warned with their reasons', () => {
  const clean = forwarding();
  assert.equal(fig(clean, 'open').value, '1 / 2');
  assert.equal(fig(clean, 'sent').value, '1.3 MB');
  assert.ok(fig(clean, 'sent').title.includes(SENT_MEANS));
  assert.equal(SENT_MEANS, 'accepted by the kernel, not proof the application read them');
  assert.deepEqual([fig(clean, 'dropped').tone, fig(clean, 'failures').tone], [null, null]);
  const slow = forwarding({
    totals: {
      ...clean.totals,
      framesDropped: 340,
      bytesDropped: 108_800,
      failures: 3,
      reconnects: 2,
      failureReasons: [{ reason: 'connect timeout', count: 3 }],
      drops: [{ reason: 'connection lost', frames: 340, bytes: 108_800 }],
    },
  });
  assert.deepEqual([fig(slow, 'dropped').value, fig(slow, 'dropped').tone], ['340', 'warn']);
  assert.match(fig(slow, 'dropped').title, /connection lost: 340 frames \(108800 bytes\)/);
  assert.match(fig(slow, 'dropped').title, /relay and the WAV files lost nothing/);
  assert.deepEqual([fig(slow, 'failures').value, fig(slow, 'failures').tone], ['3 · 2 reconnects', 'warn']);
  assert.match(fig(slow, 'failures').title, /connect timeout: 3/);
});

test('a connection row: wall-clock connect, first byte after the connect, bytes, drops, and the close time with its reason', () => {
  const open = connectionView(connection(), 0);
  assert.deepEqual([open.callId, open.key, open.leg, open.state, open.connect, open.firstByte, open.bytes, open.dropped, open.close, open.tone], ['c1@a', 'c1@a', 'caller', 'open', clockTime(T0 + 4_000), '+2.5 ms', '96.2 kB', '0', '—', null]);
  assert.ok(open.title.includes(`sent 96171 bytes in 60 frames, header included: ${SENT_MEANS}`));
  const ended = connectionView(connection({ state: 'closed', closeUs: T0 + 7_000_000, closeReason: 'ended' }), 1);
  assert.equal(ended.close, `${clockTime(T0 + 7_000_000)} ended`);
  assert.equal(ended.tone, null);
  const behind = connectionView(connection({ framesDropped: 12, bytesDropped: 3_840 }), 2);
  assert.deepEqual([behind.dropped, behind.tone], ['⚠ 12', 'warn']);
});

test('a connection that never opened or was lost shows why, in the error colour', () => {
  const waiting = connectionView(connection({ state: 'failed', connectUs: null, lastConnectUs: null, firstByteUs: null, bytesSent: 0, framesDropped: 40, failures: 1, lastError: 'not connected within 5000 ms' }), 0);
  assert.deepEqual([waiting.connect, waiting.firstByte, waiting.close, waiting.tone], ['—', '—', 'not connected within 5000 ms', 'error']);
  assert.match(waiting.title, /connected never/);
  const timedOut = connectionView(connection({ state: 'closed', closeUs: T0 + 9_000_000, closeReason: 'end timeout after 2000 ms: 6400 PCM bytes not sent' }), 0);
  assert.equal(timedOut.tone, 'error');
  assert.match(timedOut.close, /end timeout after 2000 ms/);
  const reconnected = connectionView(connection({ lastConnectUs: T0 + 900_000, reconnects: 1, failures: 1, lastError: 'closed by the consumer' }), 0);
  assert.match(reconnected.title, new RegExp(`again ${clockTime(T0 + 900_000).replace(/\./g, '\\.')}`));
  assert.match(reconnected.title, /1 reconnect, 1 failure; last: closed by the consumer/);
});
