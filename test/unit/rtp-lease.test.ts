/**
 * The SIP worker's side of the relay lease (engine/rtp/lease.ts): which SDP
 * it rewrites itself on lent ports, what it tells the relay, and when it
 * leaves the SDP to the relay instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_LEASED_CALLS, WorkerLease, type LeaseGrant } from '../../engine/rtp/lease';
import type { MediaSdp } from '../../engine/rtp/media-sdp';
import { readSdp } from '../../engine/rtp/sdp';

const RELAY = '203.0.113.10';
const crlf = (...lines: string[]) => lines.join('\r\n') + '\r\n';

const OFFER = crlf('v=0', 'o=alice 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 6000 RTP/AVP 0 8', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000');
const ANSWER = crlf('v=0', 'o=bob 2 2 IN IP4 198.51.100.7', 's=-', 'c=IN IP4 198.51.100.7', 't=0 0', 'm=audio 7000 RTP/AVP 8', 'a=rtpmap:8 PCMA/8000');
/** Audio, a disabled video stream, and a second audio stream. */
const OFFER_3M = crlf('v=0', 'o=alice 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 6000 RTP/AVP 0', 'm=video 0 RTP/AVP 96', 'm=audio 6002 RTP/AVP 8');

type Over = Partial<Omit<MediaSdp, 'ref'>> & { cseqSeq?: number; cseqMethod?: string };
const media = (callId: string, sdp: string, toTag: string | null, status: number | null, { cseqSeq = 1, cseqMethod = 'INVITE', ...over }: Over): MediaSdp => ({ callId, fromTag: 'ft', toTag, sdp, ref: { cseqSeq, cseqMethod, status }, ...over });
const invite = (callId: string, sdp = OFFER, over: Over = {}): MediaSdp => media(callId, sdp, null, null, over);
const reply = (callId: string, status: number, sdp = ANSWER, over: Over = {}): MediaSdp => media(callId, sdp, 'tt', status, over);

function grant(epoch: number, units: [number, number, number][]): LeaseGrant {
  return { epoch, address: RELAY, units: units.map(([shard, a, b]) => ({ shard, ports: [a, b] as const })) };
}

/** Address and port of each m= line as the peer will read them. */
function where(sdp: string): [string | null, number][] {
  const r = readSdp(sdp);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.media.map((m) => [m.address, m.port]);
}

test('an initial INVITE offer goes out on a lent unit: the callee is sent the callee-facing port, the relay is told which unit the call took', () => {
  const lease = new WorkerLease();
  lease.grant(grant(3, [[0, 30000, 30002], [0, 30004, 30006]]));
  const step = lease.offer(invite('c1'));
  assert.ok(step && step.outcome.ok);
  assert.deepEqual(where(step.outcome.sdp), [[RELAY, 30002]]);
  assert.ok(step.tell);
  assert.deepEqual({ ...step.tell, media: step.tell.media.length }, { epoch: 3, callId: 'c1', fromTag: 'ft', shard: 0, streams: [{ mediaIndex: 0, ports: [30000, 30002] }], media: 1, ref: { cseqSeq: 1, cseqMethod: 'INVITE', status: null } });
  assert.equal(step.tell.media[0]!.port, 6000, "the relay learns the caller's own address from the offer as read");
  assert.equal(lease.held, 1, 'the unit is used');
});

test("the answers to that INVITE (18x, 2xx and its retransmission) give the caller the caller-facing port; the relay is told the answer and the callee's tag", () => {
  const lease = new WorkerLease();
  lease.grant(grant(1, [[0, 30000, 30002]]));
  lease.offer(invite('c1'));
  for (const status of [183, 200, 200]) {
    const step = lease.answer(reply('c1', status));
    assert.ok(step && step.outcome.ok, `${status}`);
    assert.deepEqual(where(step.outcome.sdp), [[RELAY, 30000]]);
    assert.deepEqual([step.tell?.callId, step.tell?.toTag, step.tell?.epoch, step.tell?.ref.status], ['c1', 'tt', 1, status]);
  }
});

test('everything that is not an initial INVITE or its answer is left to the relay (null)', () => {
  const lease = new WorkerLease();
  lease.grant(grant(1, [[0, 30000, 30002], [0, 30004, 30006], [0, 30008, 30010]]));
  assert.equal(lease.offer(invite('re', OFFER, { toTag: 'tt' })), null, 'a re-INVITE (in a dialog)');
  assert.equal(lease.offer(invite('up', OFFER, { cseqMethod: 'UPDATE' })), null, 'an UPDATE');
  assert.ok(lease.offer(invite('c1')));
  assert.equal(lease.offer(invite('c1', OFFER, { cseqSeq: 2 })), null, 'a second INVITE of a call already leased (after a 401, say)');
  assert.equal(lease.answer(reply('c1', 200, ANSWER, { cseqSeq: 2 })), null, 'the answer to that second INVITE');
  assert.equal(lease.answer(reply('c1', 200, ANSWER, { fromTag: 'other' })), null, 'an answer in another dialog');
  assert.equal(lease.answer(reply('c1', 200, ANSWER, { cseqMethod: 'UPDATE' })), null, 'the answer to an UPDATE');
  assert.equal(lease.answer(reply('nobody', 200)), null, 'an answer to a call the lease never saw');
  assert.equal(lease.offer(invite('held', crlf('v=0', 'o=a 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 0 RTP/AVP 0'))), null, 'an offer with nothing to relay');
  assert.equal(lease.held, 2, 'none of them took a unit');
});

test('bad SDP gets the 488 reason the relay would give, and takes no unit', () => {
  const lease = new WorkerLease();
  lease.grant(grant(1, [[0, 30000, 30002]]));
  const step = lease.offer(invite('bad', 'v=0\r\nm=audio nope\r\n'));
  assert.ok(step && !step.outcome.ok);
  assert.equal(step.outcome.status, 488);
  assert.match(step.outcome.reason, /^bad SDP: /);
  assert.equal(step.tell, null);
  assert.equal(lease.held, 1);
  assert.ok(lease.offer(invite('c1')));
  const answer = lease.answer(reply('c1', 200, 'garbage'));
  assert.ok(answer && !answer.outcome.ok && answer.outcome.status === 488 && answer.tell === null);
});

test("with no units, or too few in any one shard for the offer's streams, the offer goes to the relay", () => {
  const lease = new WorkerLease();
  assert.equal(lease.offer(invite('c0')), null, 'nothing granted yet');
  lease.grant(grant(1, [[0, 30000, 30002], [1, 31000, 31002]]));
  assert.equal(lease.offer(invite('c1', OFFER_3M)), null, "two streams, one unit per shard: a session's streams live in one shard");
  assert.equal(lease.held, 2);
});

test('the lease counts the initial offers it ran dry for, and only those: not an offer with nothing to relay, a re-INVITE, or an UPDATE', () => {
  const lease = new WorkerLease();
  lease.offer(invite('c0'));
  lease.grant(grant(1, [[0, 30000, 30002], [1, 31000, 31002]]));
  lease.offer(invite('c1', OFFER_3M));
  assert.equal(lease.dry, 2, 'nothing granted yet, then too few units in one shard');
  lease.offer(invite('held', crlf('v=0', 'o=a 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 0 RTP/AVP 0')));
  lease.offer(invite('re', OFFER, { toTag: 'tt' }));
  lease.offer(invite('up', OFFER, { cseqMethod: 'UPDATE' }));
  assert.ok(lease.offer(invite('c2')));
  assert.equal(lease.dry, 2);
});

test("an offer with two relayed streams takes two units of one shard; the disabled m= line keeps port 0 and gets none", () => {
  const lease = new WorkerLease();
  lease.grant(grant(1, [[0, 30000, 30002], [1, 31000, 31002], [1, 31004, 31006]]));
  const step = lease.offer(invite('c1', OFFER_3M));
  assert.ok(step && step.outcome.ok && step.tell);
  assert.equal(step.tell.shard, 1);
  assert.deepEqual(step.tell.streams, [{ mediaIndex: 0, ports: [31000, 31002] }, { mediaIndex: 2, ports: [31004, 31006] }]);
  assert.deepEqual(where(step.outcome.sdp).map(([, p]) => p), [31002, 0, 31006]);
  const answer = lease.answer(reply('c1', 200, crlf('v=0', 'o=b 2 2 IN IP4 198.51.100.7', 's=-', 'c=IN IP4 198.51.100.7', 't=0 0', 'm=audio 7000 RTP/AVP 0', 'm=video 0 RTP/AVP 96', 'm=audio 7002 RTP/AVP 8')));
  assert.ok(answer && answer.outcome.ok);
  assert.deepEqual(where(answer.outcome.sdp).map(([, p]) => p), [31000, 0, 31004]);
  assert.equal(lease.held, 1);
});

test('a grant with a new epoch replaces every unit and forgets the calls of the old one; a top-up of the same epoch adds', () => {
  const lease = new WorkerLease();
  lease.grant(grant(1, [[0, 30000, 30002], [0, 30004, 30006]]));
  lease.offer(invite('c1'));
  lease.grant(grant(1, [[0, 30008, 30010]]));
  assert.equal(lease.held, 2, 'topped up');
  lease.grant(grant(2, [[0, 40000, 40002]]));
  assert.equal(lease.held, 1, "the old epoch's units are gone");
  assert.equal(lease.answer(reply('c1', 200)), null, "an answer to the old relay run's call asks the relay");
  const step = lease.offer(invite('c2'));
  assert.deepEqual([step?.tell?.epoch, step?.tell?.streams[0]!.ports], [2, [40000, 40002]]);
});

test('revoked (the relay stopped): nothing lent is used, no answer is rewritten', () => {
  const lease = new WorkerLease();
  lease.grant(grant(1, [[0, 30000, 30002], [0, 30004, 30006]]));
  lease.offer(invite('c1'));
  lease.revoke();
  assert.equal(lease.held, 0);
  assert.equal(lease.offer(invite('c2')), null);
  assert.equal(lease.answer(reply('c1', 200)), null);
});

test("a call that ended is forgotten; past MAX_LEASED_CALLS the oldest is, and its late answer asks the relay", () => {
  const lease = new WorkerLease();
  const n = MAX_LEASED_CALLS + 1;
  lease.grant({ epoch: 1, address: RELAY, units: Array.from({ length: n + 1 }, (_, i) => ({ shard: 0, ports: [2 * i, 2 * i + 1] as const })) });
  lease.offer(invite('ended'));
  lease.end('ended');
  assert.equal(lease.answer(reply('ended', 200)), null, 'ended');
  for (let i = 0; i < n; i++) assert.ok(lease.offer(invite(`c${i}`)));
  assert.equal(lease.answer(reply('c0', 200)), null, 'the oldest, evicted');
  assert.ok(lease.answer(reply('c1', 200)), 'the next one is still known');
});
