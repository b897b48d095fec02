import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode, type RefObject } from 'react';
import type { CallDetail, LadderEntry, SipEntry } from '../../../app/contract';
import { LADDER_BLOCK_ROWS, LADDER_ROW_H, LadderBody, LadderHeader, type LadderSvgProps } from '../ladder/LadderSvg';
import { DiffView } from '../ladder/DiffView';
import { publishArrowTitle, publishArrowTone, withPublishLabels } from '../ladder/publishArrow';
import { mediaArrowTitle, streamFactsByIndex, withMediaLabels } from '../ladder/mediaArrow';
import { recordArrowTitle, recordArrowTone, withRecordLabels } from '../ladder/recordArrow';
import { MessageView } from '../ladder/MessageView';
import { buildLadder, formatRelMs } from '../../../app/ladder';
import { useCallDetail } from '../ladder/useCallDetail';
import { usToMs } from '../format';
import { useCalls } from '../store/calls';
import { useUi } from '../store/ui';
import { setLadderOrder } from '../useShortcuts';
import { rowWindow, scrollToRow } from '../virtual';
import { wireBadge } from '../wire';
import { RecordButton } from './RecordButton';

/** Rows drawn above and below the ones in view. */
const OVERSCAN = 12;

export function LadderPanel() {
  const callKey = useUi((s) => s.selectedKey);
  return (
    <section className="panel ladder-panel" aria-label="Ladder">
      {callKey === null ? (
        <div className="empty" data-testid="ladder-empty">
          <p>No call selected.</p>
          <p>Pick a call on the left to see its message ladder; click an arrow to read the message.</p>
        </div>
      ) : (
        <CallLadder key={callKey} callKey={callKey} />
      )}
    </section>
  );
}

function CallLadder({ callKey }: { callKey: string }) {
  const { detail, error } = useCallDetail(callKey);
  const callId = useCalls((s) => s.byId.get(callKey)?.callId ?? callKey);
  if (detail === undefined) {
    return <div className="empty">{error ? <span className="error">{error}</span> : 'Loading call…'}</div>;
  }
  if (detail === null) {
    return (
      <div className="empty">
        <p>The engine no longer holds call {callId}</p>
        <p className="muted">(evicted from its bounded call store).</p>
        {error ? <p className="error">{error}</p> : null}
      </div>
    );
  }
  return <LadderView detail={detail} error={error} />;
}

function LadderView({ detail, error }: { detail: CallDetail; error: string | null }) {
  const selected = useUi((s) => s.selectedMessage);
  const open = useUi((s) => s.messageOpen);
  const diffBase = useUi((s) => s.diffBase);
  const diff = useUi((s) => s.diff);
  const timeMode = useUi((s) => s.timeMode);
  const cycleTimeMode = useUi((s) => s.cycleTimeMode);
  const setHelp = useUi((s) => s.setHelp);
  const selectMessage = useUi((s) => s.selectMessage);
  const moveSelection = useUi((s) => s.moveSelection);
  // Publish arrows say where each event went and how long it took, streams their codec and figures, recordings their file (the exports keep the engine's labels).
  const model = useMemo(() => buildLadder(withRecordLabels(withMediaLabels(withPublishLabels(detail.entries)))), [detail.entries]);
  useEffect(() => {
    setLadderOrder(model.arrows.map((a) => a.index));
    return () => setLadderOrder([]);
  }, [model]);
  const byIndex = useMemo(() => new Map<number, LadderEntry>(detail.entries.map((m) => [m.index, m])), [detail.entries]);
  const streams = useMemo(() => streamFactsByIndex(detail.entries), [detail.entries]);
  const titleOf = useCallback((index: number) => {
    const stream = streams.get(index);
    if (stream) return mediaArrowTitle(stream);
    const m = byIndex.get(index);
    return m ? entryTitle(m) : undefined;
  }, [byIndex, streams]);
  const toneOf = useCallback((index: number) => {
    const m = byIndex.get(index);
    if (m?.lane === 'publish') return publishArrowTone(m);
    return m?.lane === 'record' ? recordArrowTone(m) : undefined;
  }, [byIndex]);

  const scroller = useRef<HTMLDivElement>(null);
  const sticky = useRef<HTMLDivElement>(null);
  const rowOf = useMemo(() => new Map<number, number>(model.arrows.map((a) => [a.index, a.row])), [model]);

  // Keep the selected arrow in view as the keyboard moves it (the body always draws the selected arrow).
  useEffect(() => {
    if (selected === null) return;
    const el = scroller.current;
    if (!el) return;
    const arrowRow = rowOf.get(selected);
    if (arrowRow === undefined) return;
    const head = sticky.current?.offsetHeight ?? 0;
    const top = scrollToRow(arrowRow, el.scrollTop, el.clientHeight - head, LADDER_ROW_H);
    if (top !== el.scrollTop) el.scrollTop = top;
    const arrow = el.querySelector<SVGGElement>(`[data-testid="ladder-arrow"][data-index="${selected}"]`);
    // Roving focus: if an arrow had focus, the selected one takes it (so Enter/Space act on the selection).
    if (arrow && el.contains(document.activeElement) && document.activeElement !== arrow) arrow.focus({ preventScroll: true });
  }, [selected, rowOf]);
  const onSelect = useCallback((i: number, shift: boolean) => (shift ? useUi.getState().compareWith(i) : selectMessage(i)), [selectMessage]);
  const onCursor = useCallback((i: number) => {
    if (useUi.getState().selectedMessage !== i) moveSelection(i);
  }, [moveSelection]);
  const onClose = useCallback(() => useUi.getState().closeMessage(), []);
  const onCloseDiff = useCallback(() => useUi.getState().closeDiff(), []);
  // A stream is one arrow placed at its first entry; opening it shows its latest figures.
  const latestOf = useMemo(() => new Map<number, number>(model.arrows.flatMap((a) => (a.stream ? [[a.index, a.stream.lastIndex] as [number, number]] : []))), [model]);
  const message = selected === null || !open ? undefined : byIndex.get(latestOf.get(selected) ?? selected);
  // Only SIP messages have text to compare; a diff that names another lane says so.
  const diffA = diff === null ? undefined : byIndex.get(diff.a);
  const diffB = diff === null ? undefined : byIndex.get(diff.b);
  const diffSip = diffA?.lane === 'sip' && diffB?.lane === 'sip' ? { a: diffA, b: diffB } : null;

  return (
    <div className="ladder-layout">
      <CallHeader detail={detail} />
      {error ? <div className="error banner">refresh failed: {error}</div> : null}
      {model.arrows.length === 0 ? (
        <div className="empty">No messages captured for this call.</div>
      ) : (
        <LadderScroller
          scroller={scroller}
          sticky={sticky}
          model={model}
          timeMode={timeMode}
          selected={selected}
          selectedRow={selected === null ? null : (rowOf.get(selected) ?? null)}
          diffBase={diffBase}
          diffBaseRow={diffBase === null ? null : (rowOf.get(diffBase) ?? null)}
          titleOf={titleOf}
          toneOf={toneOf}
          onSelect={onSelect}
          onCursor={onCursor}
        >
          <div className="ladder-sticky" ref={sticky}>
            <div className="ladder-toolbar">
              <button type="button" className="btn btn-ghost" data-testid="time-mode" data-mode={timeMode} onClick={cycleTimeMode} title="Time display: absolute → relative to the first message → delta (t)">
                time: <b>{timeMode}</b> <kbd>t</kbd>
              </button>
              <span className={model.retransmissions > 0 ? 'warn' : 'muted'} data-testid="ladder-retrans" data-count={model.retransmissions} title="Retransmitted messages in this ladder (dashed arrows)">
                retransmissions <b className="mono">{model.retransmissions}</b>
              </span>
              <span className="header-spacer" />
              <button type="button" className="btn btn-ghost" onClick={() => setHelp(true)} title="Keyboard shortcuts (?)">
                <kbd>?</kbd> keys
              </button>
            </div>
            <LadderHeader model={model} timeMode={timeMode} />
          </div>
        </LadderScroller>
      )}
      {diffSip && model.startUs !== null ? (
        <DiffView a={diffSip.a} b={diffSip.b} startUs={model.startUs} onClose={onCloseDiff} />
      ) : diffA && diffB ? (
        <div className="message-hint muted" data-testid="diff-not-sip">
          Only SIP messages can be compared ({diffA.lane} and {diffB.lane} chosen). Esc closes.
        </div>
      ) : message && model.startUs !== null ? (
        <MessageView message={message} startUs={model.startUs} onClose={onClose} />
      ) : (
        <div className="message-hint muted">Click an arrow to read the message, or move with ↑/↓ (j/k) and press Enter; d marks a message to compare (or shift-click a second one); t switches the time; ? lists the keys.</div>
      )}
    </div>
  );
}

/**
 * The ladder's scroll box: the sticky toolbar and column headers (children)
 * over the windowed body. The scroll state lives here, so a scroll step
 * re-renders only this (and only when the drawn blocks change), not the
 * call header or the message pane.
 */
function LadderScroller(props: Omit<LadderSvgProps, 'blocks'> & { scroller: RefObject<HTMLDivElement | null>; sticky: RefObject<HTMLDivElement | null>; children: ReactNode }) {
  const { scroller, sticky, children, ...body } = props;
  const { model, selectedRow } = body;
  const count = model.arrows.length;
  const [view, setView] = useState({ first: 0, end: 0 });
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = () => {
      // Body rows under the sticky header: body y 0 is at scrollTop 0, below the header.
      const head = sticky.current?.offsetHeight ?? 0;
      const w = rowWindow(Math.max(0, el.scrollTop - head), el.clientHeight, LADDER_ROW_H, Number.MAX_SAFE_INTEGER, OVERSCAN);
      const first = Math.floor(w.start / LADDER_BLOCK_ROWS);
      const end = Math.floor((w.end - 1) / LADDER_BLOCK_ROWS);
      // State changes only when the drawn blocks change, not per scrolled pixel.
      setView((v) => (v.first === first && v.end === end ? v : { first, end }));
    };
    measure();
    el.addEventListener('scroll', measure, { passive: true });
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => {
      el.removeEventListener('scroll', measure);
      ro.disconnect();
    };
  }, [scroller, sticky]);
  const blocks = useMemo(() => {
    const drawn: number[] = [];
    const last = Math.min(view.end, Math.ceil(count / LADDER_BLOCK_ROWS) - 1);
    for (let b = view.first; b <= last; b++) drawn.push(b);
    // The selected arrow stays in the DOM even out of view (it may hold focus): its block is drawn too.
    if (selectedRow !== null && selectedRow < count) {
      const b = Math.floor(selectedRow / LADDER_BLOCK_ROWS);
      if (!drawn.includes(b)) drawn.push(b);
      drawn.sort((x, y) => x - y);
    }
    return drawn;
  }, [view, count, selectedRow]);
  return (
    <div className="ladder-scroll" ref={scroller} data-testid="ladder-scroll">
      {children}
      <LadderBody {...body} blocks={blocks} />
    </div>
  );
}

function CallHeader({ detail }: { detail: CallDetail }) {
  const t = detail.timings;
  const kinds = Object.entries(detail.retransmissionsByKind).filter(([, n]) => n > 0);
  const duration = (detail.endedUs ?? detail.updatedUs) - detail.startedUs;
  const nonSip = Object.entries(detail.laneCounts).filter(([lane, n]) => lane !== 'sip' && n > 0);
  return (
    <div className="call-header">
      <div className="call-header-main">
        <span className="mono call-id" title={detail.callId}>
          {detail.callId}
        </span>
        <span className={`state-pill state-${detail.state}`}>
          {detail.state}
          {detail.finalStatus !== null ? ` ${detail.finalStatus}` : ''}
        </span>
        <span className="ellipsis muted" title={`${detail.from} → ${detail.to}`}>
          {detail.from} → {detail.to}
        </span>
        <RecordButton callKey={detail.key} callId={detail.callId} source={detail.source} />
      </div>
      <div className="call-header-facts">
        <Fact label="100 Trying" value={t.trying100Us} />
        <Fact label="forwarded" value={t.forwardedUs} />
        <Fact label="ringing" value={t.ringingUs} />
        <Fact label="answered" value={t.answeredUs} />
        <span>
          span <b className="mono">{formatRelMs(duration)}</b>
        </span>
        <span>
          msgs <b className="mono">{detail.messageCount}</b>
        </span>
        <span className={detail.retransmissions > 0 ? 'warn' : undefined} title={kinds.map(([k, n]) => `${k}: ${n}`).join('\n') || undefined}>
          retrans <b className="mono">{detail.retransmissions}</b>
          {kinds.length > 0 ? ` (${kinds.map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}
        </span>
        {nonSip.length > 0 ? <span title="Entries of the other lanes">{nonSip.map(([lane, n]) => `${lane} ${n}`).join(' · ')}</span> : null}
        {detail.source !== 'live' ? <span title="Where this call came from">source <b className="mono">{detail.source}</b></span> : null}
        {detail.entriesDropped > 0 ? (
          <span className="warn" title="Entries not kept for this call (per-call capture bound)">
            dropped <b className="mono">{detail.entriesDropped}</b>
          </span>
        ) : null}
      </div>
    </div>
  );
}

/** An arrow's tooltip: a SIP message's transport, size and transaction; another lane's label and endpoints. */
function entryTitle(m: LadderEntry): string {
  if (m.lane === 'publish') return `${publishArrowTitle(m)}\n${m.lane} · ${m.owner}`;
  if (m.lane === 'record') return `${recordArrowTitle(m)}\n${m.lane} · ${m.owner}`;
  if (m.lane !== 'sip') return `${m.label}\n${m.src} → ${m.dst}\n${m.lane} · ${m.owner}`;
  const s: SipEntry = m;
  const wire = wireBadge(s);
  return `${s.label}${s.retransmission ? ' (retransmission)' : ''}\n${s.src} → ${s.dst} ${s.transport.toUpperCase()} ${s.size} B\nCSeq ${s.cseq}${s.branch ? `\nbranch ${s.branch}` : ''}${wire ? `\n${wire.text}` : ''}`;
}

function Fact({ label, value }: { label: string; value: number | null }) {
  return (
    <span>
      {label} <b className="mono">{value === null ? '—' : `${usToMs(value, 3)} ms`}</b>
    </span>
  );
}
