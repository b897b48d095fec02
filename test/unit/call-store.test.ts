import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallStore, callKey, ENTRY_OVERHEAD_BYTES, CALL_OVERHEAD_BYTES } from '../../engine/call/store';
import type { CallEvent, MediaEvent, SipCaptureEvent } from '../../engine/events';
import { RawSlabs, SLAB_BYTES } from '../../engine/call/raw-slabs';

interface Msg {
  label: string;
  direction: 'in' | 'out';
  tsUs: number;
  callId?: string;
  cseqSeq?: number;
  cseqMethod?: string;
  source?: string;
  fromTag?: string;
  toTag?: string;
  body?: string;
}

function sip(m: Msg): SipCaptureEvent {
  const isResponse = /^\d{3}/.test(m.label);
  const status = isResponse ? Number(m.label.slice(0, 3)) : null;
  const method = isResponse ? null : m.label;
  const cseqMethod = m.cseqMethod ?? method ?? 'INVITE';
  const cseqSeq = m.cseqSeq ?? 1;
  const callId = m.callId ?? 'c1';
  const raw = Buffer.from(
    `${isResponse ? `SIP/2.0 ${m.label}` : `${m.label} sip:bob@b SIP/2.0`}\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:5091;branch=z9hG4bK${cseqSeq}\r\n` +
      `From: <sip:alice@a>;tag=${m.fromTag ?? 'a1'}\r\n` +
      `To: <sip:bob@b>${m.toTag ? `;tag=${m.toTag}` : ''}\r\n` +
      `Call-ID: ${callId}\r\nCSeq: ${cseqSeq} ${cseqMethod}\r\nUser-Agent: lab-ua/1.0\r\nContent-Length: ${(m.body ?? '').length}\r\n\r\n${m.body ?? ''}`,
  );
  return {
    kind: 'sip',
    tsUs: m.tsUs,
    callId,
    ...(m.source ? { source: m.source } : {}),
    direction: m.direction,
    transport: 'udp',
    src: m.direction === 'in' ? '127.0.0.1:5091' : '127.0.0.1:5060',
    dst: m.direction === 'in' ? '127.0.0.1:5060' : '127.0.0.1:5091',
    cseqSeq,
    cseqMethod,
    method,
    status,
    label: m.label,
    branch: null,
    size: raw.length,
    raw,
    retransmission: false,
  };
}

function media(partial: Partial<MediaEvent> & { tsUs: number; phase: MediaEvent['phase'] }): MediaEvent {
  return {
    kind: 'media',
    callId: 'c1',
    streamId: 's1',
    legTag: 'a1',
    mediaIndex: 0,
    src: '127.0.0.1:40000',
    dst: '127.0.0.1:30000',
    codec: 'PCMU/8000',
    ssrc: 1234,
    packets: 0,
    bytes: 0,
    lost: 0,
    jitterUs: 0,
    reason: null,
    sdp: null,
    ...partial,
  };
}

test('an import never merges into a live call with the same Call-ID, nor into another import', () => {
  const store = new CallStore();
  store.record(sip({ label: 'INVITE', direction: 'in', tsUs: 1_000 }));
  const first = store.addSource('a.pcap', 2_000);
  const second = store.addSource('b.pcap', 3_000);
  store.record(sip({ label: 'INVITE', direction: 'in', tsUs: 1_000, source: first }));
  store.record(sip({ label: 'INVITE', direction: 'in', tsUs: 1_000, source: second }));
  store.record(sip({ label: '100 Trying', direction: 'out', tsUs: 1_200, source: second }));
  assert.equal(store.size, 3);
  assert.equal(store.get('c1')!.entries.length, 1, 'the live call keeps only its own message');
  assert.equal(store.get(`${first}/c1`)!.entries.length, 1);
  assert.equal(store.get(`${second}/c1`)!.entries.length, 2);
  assert.deepEqual([store.active, store.activeLive], [3, 1], 'unfinished imports are stored calls in progress, not live ones');
  assert.deepEqual(
    store.sources().map((s) => [s.id, s.name]),
    [
      ['live', 'live'],
      [first, 'a.pcap'],
      [second, 'b.pcap'],
    ],
  );
});

test('a live Call-ID that looks like an import key gets a key of its own', () => {
  assert.equal(callKey('live', 'import-1/c1'), 'live/import-1/c1');
  assert.equal(callKey('import-1', 'c1'), 'import-1/c1');
  assert.equal(callKey('live', 'c1'), 'c1');
});

test('a call with no INVITE is finished once every request has its final response, and counts against the finished bound', () => {
  const store = new CallStore({ maxFinishedCalls: 2 });
  for (let i = 0; i < 5; i++) {
    const callId = `opt${i}`;
    store.record(sip({ label: 'OPTIONS', direction: 'in', tsUs: 1_000 + i, callId }));
    store.record(sip({ label: 'OPTIONS', direction: 'out', tsUs: 1_100 + i, callId }));
    assert.equal(store.get(callId)!.endedUs, null, 'waiting for its response');
    store.record(sip({ label: '200 OK', direction: 'in', tsUs: 1_200 + i, callId, cseqMethod: 'OPTIONS' }));
    store.record(sip({ label: '200 OK', direction: 'out', tsUs: 1_300 + i, callId, cseqMethod: 'OPTIONS' }));
    assert.equal(store.get(callId)!.state, 'terminated');
  }
  assert.equal(store.active, 0);
  assert.equal(store.size, 2, 'only the two newest finished OPTIONS calls stay');
  assert.equal(store.evicted['finished-limit'], 3);
  // A failed REGISTER is a failed call.
  store.record(sip({ label: 'REGISTER', direction: 'in', tsUs: 5_000, callId: 'reg' }));
  store.record(sip({ label: '403 Forbidden', direction: 'out', tsUs: 5_100, callId: 'reg', cseqMethod: 'REGISTER' }));
  assert.equal(store.get('reg')!.state, 'failed');
  assert.equal(store.get('reg')!.finalStatus, 403);
});

test('a CANCEL answered 200 does not finish the INVITE it cancels; the 487 does', () => {
  const store = new CallStore();
  store.record(sip({ label: 'INVITE', direction: 'in', tsUs: 1_000 }));
  store.record(sip({ label: 'CANCEL', direction: 'in', tsUs: 2_000 }));
  store.record(sip({ label: '200 OK', direction: 'out', tsUs: 2_100, cseqMethod: 'CANCEL' }));
  assert.equal(store.get('c1')!.endedUs, null);
  store.record(sip({ label: '487 Request Terminated', direction: 'out', tsUs: 3_000 }));
  assert.equal(store.get('c1')!.state, 'failed');
  assert.equal(store.get('c1')!.finalStatus, 487);
});

test('the byte budget evicts the oldest calls first, counts them, and the store holds no more than it says', () => {
  const body = 'x'.repeat(10_000);
  const store = new CallStore({ maxBytes: 100_000 });
  for (let i = 0; i < 30; i++) store.record(sip({ label: 'OPTIONS', direction: 'in', tsUs: i, callId: `big${i}`, body }));
  assert.ok(store.bytes <= 100_000, `held ${store.bytes}`);
  assert.ok(store.evicted.bytes > 0);
  assert.equal(store.size + store.evicted.bytes, 30);
  assert.ok(store.get('big29'), 'the newest call stays');
  assert.equal(store.get('big0'), undefined, 'the oldest went first');
  assert.equal(store.active, store.size);
  // What was evicted is let go: evicting everything leaves nothing counted but the slab being filled.
  store.setLimits({ maxBytes: 1 });
  assert.equal(store.size, 0);
  assert.ok(store.bytes <= SLAB_BYTES, `${store.bytes} bytes left`);
});

test('stored bytes are a copy of their own: they never pin the batch they arrived in', () => {
  const store = new CallStore();
  const batch = Buffer.alloc(200_000);
  const e = sip({ label: 'INVITE', direction: 'in', tsUs: 1 });
  e.raw.copy(batch, 1_000);
  store.record({ ...e, raw: batch.subarray(1_000, 1_000 + e.raw.length) });
  const kept = store.get('c1')!.entries[0] as SipCaptureEvent;
  assert.notEqual(kept.raw.buffer, batch.buffer);
  assert.equal(kept.raw.buffer.byteLength, SLAB_BYTES, 'a store slab, not the 200 kB batch');
  assert.deepEqual(kept.raw, e.raw);
  assert.equal(store.bytes, CALL_OVERHEAD_BYTES + ENTRY_OVERHEAD_BYTES + SLAB_BYTES, 'the slab is counted whole');
});

test('a call in progress idle past the bound (on the engine clock) is evicted by the sweep, and counted as idle', () => {
  const store = new CallStore({ maxIdleUs: 60e6 });
  // Event times from a capture file of long ago must not count as idle time.
  store.record(sip({ label: 'INVITE', direction: 'in', tsUs: 1_000, callId: 'stale' }));
  store.record(sip({ label: 'INVITE', direction: 'in', tsUs: 2_000, callId: 'fresh' }));
  const now = 1_800_000_000e6;
  store.sweep(now);
  assert.equal(store.size, 2, 'nothing is idle yet on the engine clock');
  store.sweep(now + 30e6);
  store.record(sip({ label: 'CANCEL', direction: 'in', tsUs: 3_000, callId: 'fresh' }));
  store.sweep(now + 61e6);
  assert.equal(store.get('stale'), undefined);
  assert.ok(store.get('fresh'), 'news within the bound keeps a call');
  assert.equal(store.evicted.idle, 1);
  assert.equal(store.active, 1);
  assert.equal(store.activeLive, 1);
});

test('a finished call evicted for bytes frees its place: the finished bound still keeps the newest ones', () => {
  const store = new CallStore({ maxFinishedCalls: 3, maxBytes: 10_000_000 });
  const finishOne = (i: number, body = '') => {
    const callId = `f${i}`;
    store.record(sip({ label: 'OPTIONS', direction: 'in', tsUs: i * 10, callId, body }));
    store.record(sip({ label: '200 OK', direction: 'out', tsUs: i * 10 + 1, callId, cseqMethod: 'OPTIONS' }));
  };
  for (let i = 0; i < 3; i++) finishOne(i);
  store.setLimits({ maxBytes: 1 }); // everything goes for bytes
  assert.equal(store.size, 0);
  store.setLimits({ maxBytes: 10_000_000 });
  for (let i = 3; i < 6; i++) finishOne(i);
  assert.deepEqual([...store.values()].map((c) => c.callId), ['f3', 'f4', 'f5'], 'three finished calls kept, none evicted early');
  assert.equal(store.evicted['finished-limit'], 0);
});

test('legs follow the SIP tags: the caller from the From tag, one callee per To tag (forking), streams under their leg', () => {
  const store = new CallStore();
  store.record(sip({ label: 'INVITE', direction: 'in', tsUs: 1 }));
  store.record(sip({ label: '180 Ringing', direction: 'out', tsUs: 2, toTag: 'b1' }));
  store.record(sip({ label: '180 Ringing', direction: 'out', tsUs: 3, toTag: 'b2' }));
  store.record(sip({ label: '200 OK', direction: 'out', tsUs: 4, toTag: 'b2' }));
  store.record(media({ tsUs: 5, phase: 'opened', legTag: 'a1' }));
  store.record(media({ tsUs: 6, phase: 'stats', legTag: 'a1', packets: 50, bytes: 8600, lost: 1, jitterUs: 900 }));
  store.record(media({ tsUs: 7, phase: 'opened', legTag: 'b2', streamId: 's2', mediaIndex: 0 }));
  const c = store.get('c1')!;
  assert.deepEqual(
    c.legs.map((l) => [l.tag, l.role]),
    [
      ['a1', 'caller'],
      ['b1', 'callee'],
      ['b2', 'callee'],
    ],
  );
  const s1 = c.legs[0]!.media[0]!.streams[0]!;
  assert.equal(s1.packets, 50);
  assert.equal(s1.lost, 1);
  assert.equal(c.legs[2]!.media[0]!.streams[0]!.id, 's2');
  assert.deepEqual(c.laneCounts, { sip: 4, media: 3, publish: 0, record: 0, note: 0 });
  assert.equal(c.messageCount, 4);
});

test('a call born from the relay alone (an NG offer, no SIP) is a call, and ends when its last stream closes', () => {
  const store = new CallStore();
  const events: CallEvent[] = [
    media({ tsUs: 1, phase: 'opened', callId: 'ng1', legTag: 'x' }),
    media({ tsUs: 2, phase: 'opened', callId: 'ng1', legTag: 'y', streamId: 's2' }),
    media({ tsUs: 3, phase: 'closed', callId: 'ng1', legTag: 'x', reason: 'delete' }),
  ];
  for (const e of events) store.record(e);
  assert.equal(store.get('ng1')!.endedUs, null, 'one stream still open');
  store.record(media({ tsUs: 4, phase: 'closed', callId: 'ng1', legTag: 'y', streamId: 's2', reason: 'final-timeout' }));
  assert.equal(store.get('ng1')!.state, 'terminated');
  assert.equal(store.active, 0);
});

test('entries of every lane rotate under the per-call bound with stable indexes', () => {
  const store = new CallStore({ maxMessagesPerCall: 10 });
  store.record(sip({ label: 'INVITE', direction: 'in', tsUs: 0 }));
  for (let i = 1; i <= 14; i++) store.record({ kind: 'note', tsUs: i, callId: 'c1', at: '127.0.0.1:5060', text: `note ${i}` });
  const c = store.get('c1')!;
  assert.equal(c.entries.length, 10);
  assert.equal(c.entriesDropped, 5);
  assert.equal((c.entries[0] as { text: string }).text, 'note 5');
  assert.equal(store.entriesDropped, 5);
});

test('message bytes share slabs; a slab is freed and uncounted when its last message goes, and bytes handed out are never written over', () => {
  const slabs = new RawSlabs();
  const msg = (fill: string, n = 16_000) => Buffer.alloc(n, fill);
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((f) => slabs.store(msg(f)));
  assert.ok(a!.buffer === b!.buffer && b!.buffer === d!.buffer, 'four 16 kB messages share one 64 KiB slab');
  assert.equal(slabs.bytes, SLAB_BYTES);
  const e = slabs.store(msg('e'));
  assert.ok(e.buffer !== a!.buffer, 'a message that does not fit opens the next slab');
  assert.equal(slabs.bytes, 2 * SLAB_BYTES);
  for (const x of [a, b, c]) slabs.release(x!);
  assert.equal(slabs.bytes, 2 * SLAB_BYTES, 'one message left holds the first slab');
  slabs.release(d!);
  assert.equal(slabs.bytes, SLAB_BYTES, 'the first slab is let go');
  slabs.release(e);
  assert.equal(slabs.bytes, SLAB_BYTES, 'the slab being filled stays, counted');
  const f = slabs.store(msg('f', 100));
  assert.equal(e.toString('latin1', 0, 3), 'eee', 'released bytes are not written over while a view may still be read');
  assert.equal(f.toString('latin1', 0, 3), 'fff');
  const big = slabs.store(msg('x', 40_000));
  assert.equal(big.buffer.byteLength, 40_000, 'a large message gets a buffer of its own');
  assert.equal(slabs.bytes, SLAB_BYTES + 40_000);
  slabs.release(big);
  slabs.release(big);
  assert.equal(slabs.bytes, SLAB_BYTES, 'released once, counted once');
});

test('a delivery that reaches the store before its call (the application got the event before Redis answered the publisher) is kept for the call, not lost; one for a call that never comes is forgotten', () => {
  const store = new CallStore();
  const pub = (tsUs: number, callId: string, phase: 'replied' | 'delivered', event = 'new'): CallEvent => ({ kind: 'publish', tsUs, callId, phase, event, target: `call:${callId}`, src: 'callpath', dst: '127.0.0.1:6379', receivers: 1, sinceQueuedUs: 300, error: null });
  store.record(pub(1_000, 'early', 'delivered'));
  assert.equal(store.size, 0, 'no call made from a delivery alone');
  store.record(pub(1_100, 'early', 'replied'));
  const call = store.get('early')!;
  assert.deepEqual([call.publish!.replied, call.publish!.delivered.pubsub], [1, 1], 'the early delivery counted for its call');
  store.record(pub(2_000, 'ghost', 'delivered'));
  store.record(pub(10_000_000, 'other', 'delivered'));
  store.record(sip({ label: 'INVITE', direction: 'in', tsUs: 10_000_100, callId: 'ghost' }));
  assert.equal(store.get('ghost')!.publish, null, 'held longer than 5 s: forgotten');
});
