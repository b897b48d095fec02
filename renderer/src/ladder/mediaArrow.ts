/**
 * How the ladder words a media stream on screen: its entries (opened, stats,
 * closed) grouped by stream id into one set of facts — the codec as soon as
 * any report knew it, the latest figures — and the band's label and tooltip.
 * The exports keep the engine's labels (engine/ladder/entries.ts); this is
 * the screen's wording only. Pure, unit-tested (test/unit/ladder-media.test.ts).
 */
import { STREAM_REPORTS, type LadderEntry, type MediaEntry } from '../../../app/contract';
import { formatMs } from '../../../app/ladder';

/** One stream as its entries so far tell it. */
export interface StreamFacts {
  streamId: string;
  /** Index of its first and latest entry. */
  firstIndex: number;
  lastIndex: number;
  firstTsUs: number;
  lastTsUs: number;
  /** The latest codec any of its reports named, or null. */
  codec: string | null;
  src: string;
  dst: string;
  packets: number;
  lost: number;
  jitterUs: number;
  phase: MediaEntry['phase'];
  reason: string | null;
  legTag: string | null;
  mediaIndex: number;
  ssrc: number | null;
  /** The SIP entry whose SDP set it up (the latest report that knew it), or null. */
  sdpIndex: number | null;
  reports: number;
}

function fold(f: StreamFacts | undefined, e: MediaEntry): StreamFacts {
  return {
    streamId: e.streamId,
    firstIndex: f?.firstIndex ?? e.index,
    lastIndex: e.index,
    firstTsUs: f?.firstTsUs ?? e.tsUs,
    lastTsUs: e.tsUs,
    codec: e.codec ?? f?.codec ?? null,
    src: e.src,
    dst: e.dst,
    packets: e.packets,
    lost: e.lost,
    jitterUs: e.jitterUs,
    phase: e.phase,
    reason: e.reason ?? f?.reason ?? null,
    legTag: e.legTag ?? f?.legTag ?? null,
    mediaIndex: e.mediaIndex,
    ssrc: e.ssrc ?? f?.ssrc ?? null,
    sdpIndex: e.sdpIndex ?? f?.sdpIndex ?? null,
    reports: (f?.reports ?? 0) + 1,
  };
}

/** Lost as a share of expected (received + lost), as Wireshark's RTP stream analysis gives it. */
export const lossShare = (f: Pick<StreamFacts, 'packets' | 'lost'>): number => (f.lost > 0 && f.packets + f.lost > 0 ? f.lost / (f.packets + f.lost) : 0);

/**
 * "⚠ PCMU/8000 · 1234 pkts, 3 lost (0.2%), jitter 1.2 ms · closed (bye)";
 * "… · live, as of +10 s" while open (the relay's latest report, 10 s after
 * the stream opened: not now);
 * "PCMU/8000 opened" before the first figures.
 */
export function mediaArrowLabel(f: StreamFacts): string {
  const codec = f.codec ?? 'RTP';
  if (f.phase === 'opened' && f.reports === 1) return `${codec} opened`;
  const lost = f.lost > 0 ? `${f.lost} lost (${(lossShare(f) * 100).toFixed(1)}%)` : '0 lost';
  const when = f.phase === 'closed' ? ` · closed (${f.reason ?? 'closed'})` : ` · live, as of +${Math.round((f.lastTsUs - f.firstTsUs) / 1e6)} s`;
  return `${f.lost > 0 ? '⚠ ' : ''}${codec} · ${f.packets} pkts, ${lost}, jitter ${formatMs(f.jitterUs, 1)} ms${when}`;
}

/** How old a live stream's figures can be, in words. */
const REPORTS = `A live stream's figures are the relay's latest report: one every ${STREAM_REPORTS.everyS} s in its first ${STREAM_REPORTS.slowerAfterS} s, then one a minute, and the final one when it closes; so they can be up to ${STREAM_REPORTS.laterEveryS} s old.`;

/** The band's tooltip: its figures, endpoints, identity, and where clicking it goes. */
export function mediaArrowTitle(f: StreamFacts): string {
  return [
    mediaArrowLabel(f),
    `${f.src} → ${f.dst}`,
    `stream ${f.streamId} · leg ${f.legTag ?? '—'} · m= #${f.mediaIndex}${f.ssrc !== null ? ` · SSRC 0x${f.ssrc.toString(16).padStart(8, '0')}` : ''}`,
    `${f.reports} report${f.reports === 1 ? '' : 's'}, ${formatMs(f.lastTsUs - f.firstTsUs, 0)} ms from the first to the latest; jitter is RFC 3550 interarrival jitter, loss is Wireshark's (expected − received), both as the relay measured them.`,
    ...(f.phase === 'closed' ? [] : [REPORTS]),
    f.sdpIndex === null
      ? 'No SDP through our proxy set it up (NG, or that message has rotated out). Its row opens its latest report.'
      : `Set up by the SDP of message #${f.sdpIndex}: clicking the band selects that message; its row opens the stream's latest report.`,
  ].join('\n');
}

/** Every stream of a call, by the index of each of its entries (so any of them finds its stream's latest facts). */
export function streamFactsByIndex(entries: readonly LadderEntry[]): Map<number, StreamFacts> {
  const byStream = new Map<string, StreamFacts>();
  const indexes = new Map<string, number[]>();
  for (const e of entries) {
    if (e.lane !== 'media') continue;
    byStream.set(e.streamId, fold(byStream.get(e.streamId), e));
    let list = indexes.get(e.streamId);
    if (!list) indexes.set(e.streamId, (list = []));
    list.push(e.index);
  }
  const out = new Map<number, StreamFacts>();
  for (const [id, list] of indexes) {
    const f = byStream.get(id)!;
    for (const i of list) out.set(i, f);
  }
  return out;
}

/**
 * The entries as the screen's ladder draws them: each media entry labelled
 * with its stream's facts as of that entry (the ladder shows a stream's
 * latest), the rest as they are — the same objects when there is no media.
 */
export function withMediaLabels(entries: readonly LadderEntry[]): LadderEntry[] {
  if (!entries.some((e) => e.lane === 'media')) return entries as LadderEntry[];
  const so = new Map<string, StreamFacts>();
  return entries.map((e) => {
    if (e.lane !== 'media') return e;
    const f = fold(so.get(e.streamId), e);
    so.set(e.streamId, f);
    return { ...e, label: mediaArrowLabel(f) };
  });
}
