import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../engine/clock';
import { CallStore } from '../../engine/call/store';
import type { SipCaptureEvent } from '../../engine/events';
import { Engine } from '../../engine/engine';
import { Publisher } from '../../engine/publish/publisher';
import { EventStream, type EngineEvent } from '../../engine/events';
import { Histogram } from '../../engine/metrics/histogram';
import { validateCommand } from '../../app/contract';
import { DEFAULT_SORT, NO_FILTER } from '../../engine/call/query';

function ev(partial: Partial<SipCaptureEvent> & { label: string; direction: 'in' | 'out'; tsUs: number }): SipCaptureEvent {
  const isResponse = /^\d{3}/.test(partial.label);
  const status = isResponse ? Number(partial.label.slice(0, 3)) : null;
  const method = isResponse ? null : partial.label;
  const cseq = `${partial.cseqSeq ?? 1} ${partial.cseqMethod ?? (isResponse ? 'INVITE' : partial.label)}`;
  const raw = Buffer.from(`${isResponse ? `SIP/2.0 ${partial.label}` : `${partial.label} sip:b@x SIP/2.0`}\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:alice@a>;tag=1\r\nTo: <sip:bob@b>\r\nCall-ID: ${partial.callId ?? 'c1'}\r\nCSeq: ${cseq}\r\n\r\n`);
  return {
    kind: 'sip',
    transport: 'udp',
    src: '127.0.0.1:5091',
    dst: '127.0.0.1:5060',
    callId: 'c1',
    cseqSeq: 1,
    cseqMethod: partial.cseqMethod ?? (method ?? 'INVITE'),
    method,
    status,
    branch: 'z9hG4bK1',
    size: raw.length,
    raw,
    retransmission: false,
    ...partial,
  };
}

test('histogram percentiles stay within 2% of the exact value', () => {
  const h = new Histogram();
  for (let v = 1; v <= 100_000; v++) h.record(v);
  for (const [p, exact] of [[50, 50_000], [90, 90_000], [99, 99_000]] as const) {
    const got = h.percentile(p);
    assert.ok(Math.abs(got - exact) / exact < 0.02, `p${p}: ${got} vs ${exact}`);
  }
  assert.equal(h.max, 100_000);
  assert.equal(h.summary().count, 100_000);
});

test('a call moves trying → early → confirmed → terminated with its milestones in µs (RFC 3261 §13, §15)', () => {
  const store = new CallStore();
  const t0 = 1_000_000;
  store.record(ev({ label: 'INVITE', direction: 'in', tsUs: t0 }));
  store.record(ev({ label: '100 Trying', direction: 'out', tsUs: t0 + 250 }));
  store.record(ev({ label: 'INVITE', direction: 'out', tsUs: t0 + 400 }));
  assert.equal(store.get('c1')?.state, 'trying');
  store.record(ev({ label: '180 Ringing', direction: 'in', tsUs: t0 + 900 }));
  store.record(ev({ label: '180 Ringing', direction: 'out', tsUs: t0 + 1000 }));
  assert.equal(store.get('c1')?.state, 'early');
  store.record(ev({ label: '200 OK', direction: 'out', tsUs: t0 + 3000 }));
  assert.equal(store.get('c1')?.state, 'confirmed');
  store.record(ev({ label: 'BYE', direction: 'in', tsUs: t0 + 9000, cseqSeq: 2 }));
  store.record(ev({ label: '200 OK', direction: 'out', tsUs: t0 + 9500, cseqMethod: 'BYE', cseqSeq: 2 }));
  const c = store.get('c1')!;
  assert.equal(c.state, 'terminated');
  assert.deepEqual(c.timings, { trying100Us: 250, forwardedUs: 400, ringingUs: 1000, answeredUs: 3000 });
  assert.equal(c.finalStatus, 200);
  assert.equal(c.endedUs, t0 + 9500);
  assert.equal(store.active, 0);
  assert.match(c.from, /alice/);
  assert.equal(store.trying100.summary().count, 1);
});

test('a 486 fails the call, and retransmissions are counted by kind', () => {
  const store = new CallStore();
  store.record(ev({ label: 'INVITE', direction: 'in', tsUs: 1 }));
  store.record(ev({ label: 'INVITE', direction: 'in', tsUs: 500_001, retransmission: true }));
  store.record(ev({ label: '486 Busy Here', direction: 'out', tsUs: 600_000 }));
  store.record(ev({ label: '486 Busy Here', direction: 'out', tsUs: 1_100_000, retransmission: true }));
  const c = store.get('c1')!;
  assert.equal(c.state, 'failed');
  assert.equal(c.finalStatus, 486);
  assert.equal(c.retransmissions, 2);
  assert.deepEqual(c.retransmissionsByKind, { INVITE: 1, '486': 1 });
});

test('keeps only the last N finished calls and a bounded ring of messages per call', () => {
  const store = new CallStore({ maxFinishedCalls: 3, maxActiveCalls: 100, maxMessagesPerCall: 4 });
  for (let i = 0; i < 5; i++) {
    store.record(ev({ callId: `c${i}`, label: 'INVITE', direction: 'in', tsUs: i * 10 }));
    store.record(ev({ callId: `c${i}`, label: '486 Busy Here', direction: 'out', tsUs: i * 10 + 1 }));
  }
  assert.equal(store.size, 3);
  assert.equal(store.get('c0'), undefined);
  assert.deepEqual(store.list(10).map((c) => c.callId), ['c4', 'c3', 'c2']);
  assert.equal(store.evicted["finished-limit"], 2);
  for (let i = 0; i < 10; i++) store.record(ev({ callId: 'long', label: 'INFO', direction: 'in', tsUs: 100 + i }));
  const long = store.get('long')!;
  assert.equal(long.entries.length, 4);
  assert.equal(long.entriesDropped, 6);
  assert.equal(long.messageCount, 10);
});

test('a component that fails to start shows failed with its error, and a missing one is not-implemented', async () => {
  const clock = createManualClock();
  const seen: EngineEvent[] = [];
  const engine = new Engine(
    {
      proxy: () => ({ name: 'proxy', endpoint: 'udp 127.0.0.1:1', start: () => Promise.reject(new Error('address in use')), stop: () => Promise.resolve() }),
      relay: () => ({ name: 'relay', endpoint: null, start: () => Promise.resolve(), stop: () => Promise.resolve() }),
    },
    { clock },
  );
  engine.events.on((e) => seen.push(e));
  const proxy = await engine.start('proxy');
  assert.equal(proxy.state, 'failed');
  assert.equal(proxy.error, 'address in use');
  assert.equal((await engine.start('recorder')).state, 'not-implemented');
  assert.equal((await engine.start('relay')).state, 'running');
  assert.equal((await engine.stop('relay')).state, 'stopped');
  const states = seen.filter((e) => e.kind === 'component').map((e) => (e.kind === 'component' ? `${e.status.name}:${e.status.state}` : ''));
  assert.deepEqual(states, ['proxy:starting', 'proxy:failed', 'relay:starting', 'relay:running', 'relay:stopping', 'relay:stopped']);
});

test('a part the config switches off says why when started, stays stopped rather than failed, and a stop clears an old error', async () => {
  const engine = new Engine({ publisher: (ctx) => new Publisher(ctx, () => ({ redis: null, mode: 'pubsub+list', queueMax: 100, dataDir: '/nonexistent', autoPipelining: true }), 'disabled with --redis off') }, { clock: createManualClock() });
  assert.equal(engine.enabled('publisher'), false, 'not started with the others');
  assert.equal(engine.stats('publisher'), null, 'no snapshot section while it is off');
  const tried = await engine.start('publisher');
  assert.equal(tried.state, 'stopped');
  assert.equal(tried.error, 'cannot start: disabled with --redis off');
  assert.equal((await engine.stop('publisher')).error, null, 'a stop clears what the last click said');
  // A part that really failed shows its error until it is stopped.
  const failing = new Engine({ proxy: () => ({ name: 'proxy', endpoint: null, start: () => Promise.reject(new Error('address in use')), stop: () => Promise.resolve() }) }, { clock: createManualClock() });
  assert.equal((await failing.start('proxy')).error, 'address in use');
  const stopped = await failing.stop('proxy');
  assert.deepEqual([stopped.state, stopped.error], ['stopped', null]);
});

test('concurrent start and stop calls are serialized, never interleaved', async () => {
  let running = 0;
  let maxConcurrent = 0;
  const slow = () =>
    new Promise<void>((r) => {
      running++;
      maxConcurrent = Math.max(maxConcurrent, running);
      setTimeout(() => {
        running--;
        r();
      }, 5);
    });
  const engine = new Engine({ relay: () => ({ name: 'relay', endpoint: null, start: slow, stop: slow }) });
  const results = await Promise.all([engine.start('relay'), engine.stop('relay'), engine.start('relay')]);
  assert.equal(maxConcurrent, 1);
  assert.deepEqual(results.map((r) => r.state), ['running', 'stopped', 'running']);
});

test('a listener that throws is counted and does not reach the emitter', () => {
  const s = new EventStream();
  let got = 0;
  s.on(() => {
    throw new Error('bug');
  });
  s.on(() => got++);
  s.emit({ kind: 'drop', tsUs: 0, where: 'x', reason: 'y' });
  assert.equal(got, 1);
  assert.equal(s.listenerErrors, 1);
});

test('UI commands are validated exactly: unknown commands, keys and values are refused', () => {
  assert.deepEqual(validateCommand({ cmd: 'setComponent', name: 'relay', action: 'start' }), { ok: true, value: { cmd: 'setComponent', name: 'relay', action: 'start' } });
  for (const bad of [null, 'x', [], { cmd: 'rm -rf' }, { cmd: 'getSnapshot', extra: 1 }, { cmd: 'setComponent', name: 'relay', action: 'kill' }, { cmd: 'setComponent', name: '__proto__', action: 'start' }, { cmd: 'listCalls', limit: 1e9 }, { cmd: 'listCalls', limit: 1.5 }, { cmd: 'getCall', key: '' }, { cmd: 'getCall', key: 'x'.repeat(2000) }, { cmd: 'getCall', key: 'x', fromIndex: -1 }, { cmd: 'getCall', key: 'x', fromIndex: 0.5 }, { cmd: 'getCall', key: 'x', fromIndex: '3' }, { cmd: 'getCall', callId: 'x' }, { cmd: 'queryCalls', filter: {}, sort: { key: 'time', dir: 'desc' }, offset: 0, limit: 10 }]) {
    assert.equal(validateCommand(bad).ok, false, JSON.stringify(bad));
  }
  assert.deepEqual(validateCommand({ cmd: 'getCall', key: 'x', fromIndex: 12 }), { ok: true, value: { cmd: 'getCall', key: 'x', fromIndex: 12 } });
  const query = { cmd: 'queryCalls', filter: { ...NO_FILTER, text: '(a|b', regex: true }, sort: DEFAULT_SORT, offset: 0, limit: 10 };
  const refused = validateCommand(query);
  assert.equal(refused.ok, false, 'a regular expression that does not compile is refused');
  assert.match((refused as { error: string }).error, /not a regular expression/);
  assert.equal(validateCommand({ ...query, filter: { ...NO_FILTER, text: 'a|b', regex: true } }).ok, true);
});
