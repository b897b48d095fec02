/**
 * Call events from the proxy's SIP messages (engine/publish/call-events.ts):
 * which message makes which event, once, with the parties and the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SipCaptureEvent } from '../../engine/events';
import { CallEventTracker } from '../../engine/publish/call-events';

let ts = 1_000;
function msg(direction: 'in' | 'out', start: string, cseq: string, opts: { toTag?: string; callId?: string; retransmission?: boolean; source?: string } = {}): SipCaptureEvent {
  const callId = opts.callId ?? 'c1';
  const raw = Buffer.from(
    `${start}\r\nVia: SIP/2.0/UDP 127.0.0.1:5091;branch=z9hG4bK-1\r\nFrom: "Alice" <sip:alice@a.example>;tag=fa\r\nTo: <sip:bob@b.example>${opts.toTag ? `;tag=${opts.toTag}` : ''}\r\nCall-ID: ${callId}\r\nCSeq: ${cseq}\r\nContent-Length: 0\r\n\r\n`,
  );
  const isResponse = start.startsWith('SIP/2.0');
  const status = isResponse ? Number(start.split(' ')[1]) : null;
  const [seq, method] = cseq.split(' ');
  return {
    kind: 'sip', tsUs: ts++, callId, source: opts.source, direction, transport: 'udp', src: 'a', dst: 'b', cseqSeq: Number(seq), cseqMethod: method!,
    method: isResponse ? null : start.split(' ')[0]!, status, label: start, branch: null, size: raw.length, raw, retransmission: opts.retransmission ?? false,
  };
}

const events = (t: CallEventTracker, ms: SipCaptureEvent[]) => ms.map((m) => t.observe(m)).filter((d) => d !== null);

test('an answered call: new, early, answered, ended by BYE — once each, numbered, with the parties and the callee tag once known', () => {
  const t = new CallEventTracker('node-a');
  const docs = events(t, [
    msg('in', 'INVITE sip:bob@b.example SIP/2.0', '1 INVITE'),
    msg('in', 'INVITE sip:bob@b.example SIP/2.0', '1 INVITE', { retransmission: true }),
    msg('out', 'SIP/2.0 100 Trying', '1 INVITE'),
    msg('out', 'SIP/2.0 180 Ringing', '1 INVITE', { toTag: 'tb' }),
    msg('out', 'SIP/2.0 183 Session Progress', '1 INVITE', { toTag: 'tb' }),
    msg('in', 'SIP/2.0 200 OK', '1 INVITE', { toTag: 'tb' }), // the UAS's 200 on its way in: the caller has not got it yet
    msg('out', 'SIP/2.0 200 OK', '1 INVITE', { toTag: 'tb' }),
    msg('out', 'SIP/2.0 200 OK', '1 INVITE', { toTag: 'tb', retransmission: true }),
    msg('in', 'ACK sip:bob@b.example SIP/2.0', '1 ACK', { toTag: 'tb' }),
    msg('in', 'BYE sip:bob@b.example SIP/2.0', '2 BYE', { toTag: 'tb' }),
    msg('out', 'SIP/2.0 200 OK', '2 BYE', { toTag: 'tb' }),
  ]);
  assert.deepEqual(docs.map((d) => [d.event, d.seq, d.status, d.reason]), [
    ['new', 1, null, null],
    ['early', 2, 180, null],
    ['answered', 3, 200, null],
    ['ended', 4, null, 'bye'],
  ]);
  assert.deepEqual(docs[0]!.from, { uri: 'sip:alice@a.example', tag: 'fa' });
  assert.deepEqual(docs[0]!.to, { uri: 'sip:bob@b.example', tag: null });
  assert.deepEqual(docs[2]!.to, { uri: 'sip:bob@b.example', tag: 'tb' });
  assert.equal(docs[0]!.node, 'node-a');
  assert.equal(docs[0]!.v, 1);
  assert.equal(t.size, 0, 'an ended call is forgotten');
  assert.deepEqual(JSON.parse(JSON.stringify(docs[3])), docs[3], 'the document is plain JSON');
});

test('a call that fails ends with its reason: rejected, cancelled (487 after CANCEL), timeout (408)', () => {
  const t = new CallEventTracker('n');
  const end = (callId: string, extra: SipCaptureEvent[], final: string) =>
    events(t, [msg('in', 'INVITE sip:b@b SIP/2.0', '1 INVITE', { callId }), ...extra, msg('out', final, '1 INVITE', { callId, toTag: 'x' })]).at(-1)!;
  assert.deepEqual([end('busy', [], 'SIP/2.0 486 Busy Here').reason, end('busy2', [], 'SIP/2.0 486 Busy Here').status], ['rejected', 486]);
  assert.equal(end('cx', [msg('in', 'CANCEL sip:b@b SIP/2.0', '1 CANCEL', { callId: 'cx' })], 'SIP/2.0 487 Request Terminated').reason, 'cancelled');
  assert.equal(end('to', [], 'SIP/2.0 408 Request Timeout').reason, 'timeout');
  assert.equal(t.size, 0);
});

test('no events for re-INVITEs, in-dialog requests of calls not seen, imported or watched calls; the calls followed are bounded', () => {
  const t = new CallEventTracker('n', 2);
  assert.equal(t.observe(msg('in', 'INVITE sip:b@b SIP/2.0', '5 INVITE', { toTag: 'x', callId: 'mid' })), null, 'an in-dialog INVITE');
  assert.equal(t.observe(msg('in', 'BYE sip:b@b SIP/2.0', '6 BYE', { toTag: 'x', callId: 'mid' })), null);
  assert.equal(t.observe(msg('in', 'INVITE sip:b@b SIP/2.0', '1 INVITE', { callId: 'imp', source: 'import-1' })), null);
  for (const id of ['a', 'b', 'c']) assert.equal(t.observe(msg('in', 'INVITE sip:b@b SIP/2.0', '1 INVITE', { callId: id }))?.event, 'new');
  assert.equal(t.forgotten, 1);
  assert.equal(t.observe(msg('out', 'SIP/2.0 200 OK', '1 INVITE', { callId: 'a', toTag: 'x' })), null, 'the oldest call was forgotten');
  assert.equal(t.observe(msg('out', 'SIP/2.0 200 OK', '1 INVITE', { callId: 'c', toTag: 'x' }))?.event, 'answered');
  assert.equal(t.observe(msg('in', 'INVITE sip:b@b SIP/2.0', '2 INVITE', { callId: 'c', toTag: 'x' })), null, 'a re-INVITE');
});

test('recording events follow the call, numbered with it, also once the BYE ended it (a recording is finalised after the BYE); an unknown call makes none', () => {
  const t = new CallEventTracker('n');
  events(t, [msg('in', 'INVITE sip:b@b SIP/2.0', '1 INVITE', { callId: 'rec' })]);
  const started = t.extra('rec', 'recording', 5, { phase: 'started', wav: '/r/2026-12-04/a.wav' })!;
  assert.deepEqual([started.event, started.seq, started.recording], ['recording', 2, { phase: 'started', wav: '/r/2026-12-04/a.wav' }]);
  const ended = events(t, [msg('out', 'SIP/2.0 200 OK', '1 INVITE', { callId: 'rec', toTag: 'x' }), msg('in', 'BYE sip:b@b SIP/2.0', '2 BYE', { callId: 'rec', toTag: 'x' })]).at(-1)!;
  assert.equal(ended.event, 'ended');
  const stopped = t.extra('rec', 'recording', 9, { phase: 'stopped', wav: '/r/2026-12-04/a.wav' })!;
  assert.deepEqual([stopped.seq, stopped.recording?.phase, stopped.from.uri], [5, 'stopped', 'sip:alice@a.example']);
  assert.equal(t.extra('never-seen', 'recording', 10), null);
  assert.equal(t.size, 0, 'ended calls are not counted as followed');
});
