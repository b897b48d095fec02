/**
 * The ladder's media lane without a DOM: a stream's entries grouped into one
 * band, its span on the SIP time axis, its label (codec, packets, lost,
 * jitter), the loss mark, and what clicking it selects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LadderEntry, MediaEntry, SipEntry } from '../../app/contract';
import { buildLadder } from '../../app/ladder';
import { mediaArrowLabel, mediaArrowTitle, streamFactsByIndex, withMediaLabels } from '../../renderer/src/ladder/mediaArrow';
import { bandBox, bandsInRows, mediaBands, rowAtOrBefore, type BandLayout } from '../../renderer/src/ladder/mediaBand';

const sip = (index: number, tsUs: number, label: string, src: string, dst: string): SipEntry => ({
  index, lane: 'sip', tsUs, src, dst, label, owner: `sip:${label}`, direction: 'in', transport: 'udp',
  method: /^\d/.test(label) ? null : label, status: /^\d/.test(label) ? Number(label.slice(0, 3)) : null, cseq: '1 INVITE', branch: null, size: 300, retransmission: false, text: label,
});

const media = (index: number, tsUs: number, streamId: string, over: Partial<MediaEntry> = {}): MediaEntry => ({
  index, lane: 'media', tsUs, src: 'a:4000', dst: 'r:30000', label: 'RTP (engine label)', owner: `stream:${streamId}`, phase: 'stats', streamId,
  legTag: 'fa', mediaIndex: 0, codec: null, ssrc: null, packets: 0, bytes: 0, lost: 0, jitterUs: 0, reason: null, sdpIndex: 2, ...over,
});

/** A call through the proxy and the relay: the caller's stream and the one back, opened after the 200 OK, closed after the BYE. */
const entries: LadderEntry[] = [
  sip(0, 1_000, 'INVITE', 'a:5060', 'p:5060'),
  sip(1, 1_100, '100 Trying', 'p:5060', 'a:5060'),
  sip(2, 3_000, '200 OK', 'p:5060', 'a:5060'),
  sip(3, 3_200, 'ACK', 'a:5060', 'p:5060'),
  media(4, 3_500, 's1', { phase: 'opened', codec: 'PCMU/8000', ssrc: 0x1234 }),
  media(5, 3_600, 's2', { phase: 'opened', src: 'r:30000', dst: 'a:4000', codec: 'PCMU/8000' }),
  media(6, 8_000, 's1', { packets: 400, jitterUs: 900 }),
  sip(7, 10_000, 'BYE', 'a:5060', 'p:5060'),
  sip(8, 10_100, '200 OK', 'p:5060', 'a:5060'),
  media(9, 10_200, 's1', { phase: 'closed', packets: 997, lost: 3, jitterUs: 1_240, reason: 'bye' }),
  media(10, 10_300, 's2', { phase: 'closed', src: 'r:30000', dst: 'a:4000', packets: 1_000, jitterUs: 400, reason: 'bye' }),
];

const model = buildLadder(withMediaLabels(entries));
const layout: BandLayout = { colX: (p) => 100 + 200 * p, rowH: 20, lineAt: 0.5, selfW: 30, slotInset: 5 };

test('each stream is one band, its reports grouped by stream id, labelled with codec, packets, lost and jitter', () => {
  const bands = mediaBands(model);
  assert.deepEqual(bands.map((b) => b.streamId), ['s1', 's2']);
  const arrows = model.arrows.filter((a) => a.lane === 'media');
  assert.equal(arrows.length, 2, 'one arrow per stream, not one per report');
  assert.equal(arrows[0]!.label, '⚠ PCMU/8000 · 997 pkts, 3 lost (0.3%), jitter 1.2 ms · closed (bye)', 'the codec from the opened report, the figures from the last');
  assert.equal(arrows[1]!.label, 'PCMU/8000 · 1000 pkts, 0 lost, jitter 0.4 ms · closed (bye)');
});

test("a live stream's label says its figures are the relay's latest report and how old that report may be", () => {
  const liveEntries = [...entries.slice(0, 7), media(7, 10_003_500, 's1', { packets: 500, jitterUs: 900 })];
  const live = buildLadder(withMediaLabels(liveEntries));
  const arrow = live.arrows.find((a) => a.lane === 'media' && a.label.includes('500 pkts'))!;
  assert.equal(arrow.label, 'PCMU/8000 · 500 pkts, 0 lost, jitter 0.9 ms · live, as of +10 s', '10 s after it opened, not now');
  const title = mediaArrowTitle(streamFactsByIndex(liveEntries).get(7)!);
  assert.match(title, /one every 5 s in its first 30 s, then one a minute.*up to 60 s old/);
  assert.doesNotMatch(mediaArrowTitle(streamFactsByIndex(entries).get(9)!), /up to 60 s old/, 'a closed stream has its final figures');
});

test('a band spans the SIP time axis from its first report to the row its last report falls after', () => {
  const [s1, s2] = mediaBands(model);
  assert.deepEqual([s1!.row, s1!.lastRow], [4, 7], 'opened after the ACK, closed after the BYE\'s 200 OK');
  assert.deepEqual([s2!.row, s2!.lastRow], [5, 7]);
  const times = [{ tsUs: 1 }, { tsUs: 5 }, { tsUs: 5 }, { tsUs: 9 }];
  assert.equal(rowAtOrBefore(times, 5, 0), 2, 'the last row at that time');
  assert.equal(rowAtOrBefore(times, 4, 0), 0);
  assert.equal(rowAtOrBefore(times, 100, 1), 3);
  assert.equal(rowAtOrBefore(times, 0, 2), 2, 'never above its own row');
});

test('a stream still open whose last report came before the next message is a band of its own row only', () => {
  const open = buildLadder(withMediaLabels([...entries.slice(0, 5), sip(7, 10_000, 'BYE', 'a:5060', 'p:5060')]));
  const [b] = mediaBands(open);
  assert.deepEqual([b!.row, b!.lastRow, b!.closed], [4, 4, false]);
  assert.equal(open.arrows[4]!.label, 'PCMU/8000 opened');
});

test('loss is marked on the band and its label; a clean stream is not', () => {
  const [s1, s2] = mediaBands(model);
  assert.equal(s1!.lossy, true);
  assert.equal(s2!.lossy, false);
  assert.match(model.arrows[4]!.label, /^⚠ /);
  assert.doesNotMatch(model.arrows[5]!.label, /⚠/);
});

test('clicking a band selects the SIP message whose SDP set it up, or the stream itself when none did', () => {
  const [s1] = mediaBands(model);
  assert.equal(s1!.selectIndex, 2, 'the 200 OK carrying the answer');
  const ng = buildLadder(withMediaLabels([media(0, 1_000, 'n1', { phase: 'opened', sdpIndex: null }), media(1, 2_000, 'n1', { sdpIndex: null, packets: 50 })]));
  assert.equal(mediaBands(ng)[0]!.selectIndex, 0);
  const facts = streamFactsByIndex(entries);
  assert.match(mediaArrowTitle(facts.get(4)!), /Set up by the SDP of message #2: clicking the band selects that message/);
  assert.match(mediaArrowTitle(facts.get(4)!), /SSRC 0x00001234/);
  assert.match(mediaArrowTitle(streamFactsByIndex([media(0, 1_000, 'n1', { sdpIndex: null })]).get(0)!), /No SDP through our proxy/);
});

test('a stream\'s every entry finds the same, latest facts', () => {
  const facts = streamFactsByIndex(entries);
  assert.equal(facts.get(4), facts.get(9));
  assert.equal(facts.get(6), facts.get(4));
  assert.deepEqual([facts.get(4)!.reports, facts.get(4)!.packets, facts.get(4)!.codec, facts.get(4)!.reason], [3, 997, 'PCMU/8000', 'bye']);
  assert.equal(facts.has(2), false, 'SIP entries are not streams');
  assert.equal(mediaArrowLabel({ ...facts.get(4)!, codec: null }).startsWith('⚠ RTP · 997 pkts, 3 lost'), true, 'no codec known yet');
});

test('bands between the same columns over the same rows are set side by side', () => {
  const [s1, s2] = mediaBands(model);
  assert.deepEqual([s1!.left, s1!.right, s2!.left, s2!.right], [2, 3, 2, 3], 'both directions between the caller and the relay');
  assert.deepEqual([s1!.slot, s2!.slot], [0, 1]);
  const a = bandBox(s1!, 0, 16, layout)!;
  const b = bandBox(s2!, 0, 16, layout)!;
  assert.deepEqual(a, { x: 500, y: 90, width: 200, height: 70 }, 'from row 4\'s arrow line to the bottom of row 7, column 2 to column 3');
  assert.deepEqual([b.x, b.width], [505, 190], 'the second inset on both sides');
});

test('the windowed ladder draws each band as one piece per block of rows it crosses', () => {
  const [s1] = mediaBands(model);
  assert.deepEqual(bandBox(s1!, 0, 5, layout), { x: 500, y: 90, width: 200, height: 10 }, 'first block: from its line to the block\'s bottom');
  assert.deepEqual(bandBox(s1!, 5, 10, layout), { x: 500, y: 100, width: 200, height: 60 }, 'next block: from its top to the band\'s last row');
  assert.equal(bandBox(s1!, 10, 15, layout), null, 'past the band');
  const bands = mediaBands(model);
  assert.deepEqual(bandsInRows(bands, 0, 4).map((b) => b.streamId), []);
  assert.deepEqual(bandsInRows(bands, 5, 10).map((b) => b.streamId), ['s1', 's2']);
  assert.deepEqual(bandsInRows(bands, 8, 16).map((b) => b.streamId), []);
});

test('without media the entries are the same array; other lanes keep their objects', () => {
  const sipOnly = entries.filter((e) => e.lane === 'sip');
  assert.equal(withMediaLabels(sipOnly), sipOnly);
  const out = withMediaLabels(entries);
  assert.equal(out[0], entries[0]);
  assert.notEqual(out[4], entries[4]);
  assert.equal(out[4]!.label, 'PCMU/8000 opened');
  assert.equal(out[6]!.label, 'PCMU/8000 · 400 pkts, 0 lost, jitter 0.9 ms · live, as of +0 s', 'each report labelled as of itself');
});
