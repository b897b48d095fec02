/**
 * Who sent an SDP (engine/rtp/media-sdp.ts senderTag): the rule the relay
 * uses to tell an offer or answer from the caller from one from the callee,
 * for SIP through our proxy and for NG alike.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { senderTag, type MediaRequest } from '../../engine/rtp/media-sdp';

const sip = (status: number | null, cseqMethod = 'INVITE'): MediaRequest => ({ callId: 'c', fromTag: 'caller', toTag: status === null && cseqMethod === 'INVITE' ? null : 'callee', sdp: '', ref: { cseqSeq: 1, cseqMethod, status }, via: 'sip' });

test('SIP: a request comes from its From party, a response from its To party', () => {
  assert.equal(senderTag(sip(null), 'offer'), 'caller', 'the INVITE offer');
  assert.equal(senderTag(sip(200), 'answer'), 'callee', "the 200's answer");
  assert.equal(senderTag(sip(200), 'offer'), 'callee', "a late offer in the 200 is the callee's");
  assert.equal(senderTag(sip(null, 'ACK'), 'answer'), 'caller', "the late offer's answer in the ACK is the caller's");
  const reInviteFromCallee: MediaRequest = { ...sip(null), fromTag: 'callee', toTag: 'caller' };
  assert.equal(senderTag(reInviteFromCallee, 'offer'), 'callee', 'a re-INVITE the other way');
  assert.equal(senderTag({ ...reInviteFromCallee, ref: { cseqSeq: 2, cseqMethod: 'INVITE', status: 200 } }, 'answer'), 'caller', 'and its answer');
});

test("NG: an offer's from-tag is the offerer's, an answer's to-tag the answerer's", () => {
  const ng: MediaRequest = { callId: 'c', fromTag: 'a', toTag: 'b', sdp: '', ref: null, via: 'ng' };
  assert.equal(senderTag(ng, 'offer'), 'a');
  assert.equal(senderTag(ng, 'answer'), 'b');
  assert.equal(senderTag({ ...ng, toTag: null }, 'answer'), null, 'an answer without a to-tag names no one');
});
