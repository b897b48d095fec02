/**
 * The calls list itself: a windowed table (only the rows in view are in the
 * DOM), sortable by clicking a header cell, with resizable columns.
 */
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type PointerEvent as ReactPointerEvent, type UIEvent } from 'react';
import type { CallSummary } from '../../../app/contract';
import { deliveryCell } from '../calls/delivery';
import { gridTemplate, sortsBy, visibleColumns, widthOf, type Column } from '../calls/columns';
import { mediaCells } from '../calls/media';
import { stateCell } from '../calls/query';
import { clockTime, usToMs } from '../format';
import { useCallsView } from '../store/callsView';
import { useUi } from '../store/ui';
import { setCallOrder } from '../useShortcuts';
import { rowWindow, scrollToRow } from '../virtual';
import { useSources } from './CallsFilterBar';

/** Fixed row height (px) the windowing relies on; matches `.calls-row` in styles.css. */
export const ROW_H = 22;
/** Height of the sticky column header (px). */
const HEAD_H = 24;

export function CallsTable({ rows, filtered }: { rows: readonly CallSummary[]; filtered: boolean }) {
  const selected = useUi((s) => s.selectedKey);
  const selectCall = useUi((s) => s.selectCall);
  const onSelect = useCallback((key: string) => selectCall(key), [selectCall]);
  const sort = useCallsView((s) => s.sort);
  const sortBy = useCallsView((s) => s.sortBy);
  const widths = useCallsView((s) => s.widths);
  const resize = useCallsView((s) => s.resize);
  const sources = useSources();
  const sourceCount = useMemo(() => Math.max(sources.length, new Set(rows.map((c) => c.source)).size), [sources, rows]);
  const columns = visibleColumns(sourceCount);
  const sourceName = useMemo(() => new Map(sources.map((s) => [s.id, s.name])), [sources]);
  const template = gridTemplate(columns, widths);
  const totalPx = columns.reduce((n, c) => n + widthOf(widths, c), 0);
  const scroller = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = () => setView((v) => (v.height === el.clientHeight && v.top === el.scrollTop ? v : { top: el.scrollTop, height: el.clientHeight }));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // The call keys in list order, for the keys that step between calls.
  useEffect(() => {
    setCallOrder(rows.map((c) => c.key));
    return () => setCallOrder([]);
  }, [rows]);
  // Keep the selected call in view as the keyboard moves it.
  useEffect(() => {
    const el = scroller.current;
    if (!el || selected === null) return;
    const i = rows.findIndex((c) => c.key === selected);
    if (i === -1) return;
    const top = scrollToRow(i, el.scrollTop, el.clientHeight - HEAD_H, ROW_H);
    if (top !== el.scrollTop) el.scrollTop = top;
    // `rows` left out on purpose: a live update must not scroll the list back to the selection.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selected]);

  const next = rowWindow(view.top, view.height - HEAD_H, ROW_H, rows.length);
  // Re-render on scroll only when the rendered window moves, not per pixel.
  const onScroll = useCallback((e: UIEvent<HTMLDivElement>) => {
    const el = e.currentTarget;
    setView((v) => {
      const a = rowWindow(v.top, v.height - HEAD_H, ROW_H, Number.MAX_SAFE_INTEGER);
      const b = rowWindow(el.scrollTop, v.height - HEAD_H, ROW_H, Number.MAX_SAFE_INTEGER);
      return a.start === b.start && a.end === b.end ? v : { top: el.scrollTop, height: v.height };
    });
  }, []);

  const startResize = (c: Column, e: ReactPointerEvent<HTMLSpanElement>) => {
    // The handle is in the header cell: a drag must not sort.
    e.preventDefault();
    e.stopPropagation();
    const startX = e.clientX;
    const startPx = widthOf(useCallsView.getState().widths, c);
    const handle = e.currentTarget;
    handle.setPointerCapture(e.pointerId);
    const move = (ev: PointerEvent) => resize(c.key, startPx, ev.clientX - startX);
    const up = () => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
      handle.removeEventListener('pointercancel', up);
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up);
    handle.addEventListener('pointercancel', up);
  };

  const shown = rows.slice(next.start, next.end);
  const rowStyle = { gridTemplateColumns: template };
  return (
    <div className="calls-scroll" ref={scroller} onScroll={onScroll} data-testid="calls-scroll" role="grid" aria-rowcount={rows.length + 1}>
      <div className="calls-row calls-head" role="row" style={{ ...rowStyle, minWidth: totalPx }}>
        {columns.map((c) => {
          const on = sort.key === c.key;
          if (!sortsBy(c.key)) {
            return (
              <div key={c.key} role="columnheader" data-testid={`th-${c.key}`} className={`calls-cell calls-th unsorted${c.num ? ' num' : ''}`} title={c.title}>
                <span className="th-name">{c.label}</span>
                <ResizeHandle column={c} onStart={startResize} />
              </div>
            );
          }
          const key = c.key;
          return (
            <div
              key={c.key}
              role="columnheader"
              data-testid={`th-${c.key}`}
              aria-sort={on ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
              className={`calls-cell calls-th${c.num ? ' num' : ''}${on ? ' sorted' : ''}`}
              title={c.title ? `${c.title} — click to sort` : 'Click to sort'}
              onClick={() => sortBy(key)}
            >
              {/* The whole cell sorts (the click bubbles here); the button is for the keyboard. */}
              <button type="button" className="th-sort" data-testid={`sort-${c.key}`}>
                {c.label}
                {on ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}
              </button>
              <ResizeHandle column={c} onStart={startResize} />
            </div>
          );
        })}
      </div>
      {rows.length === 0 && filtered ? (
        <div className="empty small" data-testid="calls-no-match">
          No calls match the filter.
        </div>
      ) : (
        <div className="calls-body" style={{ height: rows.length * ROW_H, minWidth: totalPx }}>
          {/* Keyed by position, not key: as new calls push the list down, each row element stays and only its text changes. */}
          {shown.map((c, i) => (
            <CallRow
              key={next.start + i}
              call={c}
              rowIndex={next.start + i}
              selected={c.key === selected}
              onSelect={onSelect}
              template={template}
              showSource={sourceCount > 1}
              sourceName={sourceName.get(c.source) ?? c.source}
            />
          ))}
        </div>
      )}
    </div>
  );
}

function ResizeHandle({ column: c, onStart }: { column: Column; onStart: (c: Column, e: ReactPointerEvent<HTMLSpanElement>) => void }) {
  return (
    <span
      className="col-resize"
      data-testid={`resize-${c.key}`}
      role="separator"
      aria-orientation="vertical"
      aria-label={`Resize the ${c.label} column`}
      title="Drag to resize"
      onClick={(e) => e.stopPropagation()}
      onPointerDown={(e) => onStart(c, e)}
    />
  );
}

const CallRow = memo(function CallRow(props: {
  call: CallSummary;
  rowIndex: number;
  selected: boolean;
  onSelect: (key: string) => void;
  template: string;
  showSource: boolean;
  sourceName: string;
}) {
  const c = props.call;
  const state = stateCell(c);
  const time = clockTime(c.startedUs);
  const trying = usToMs(c.trying100Us, 3);
  const delivery = deliveryCell(c.publish);
  const media = mediaCells(c.media);
  return (
    <div
      role="row"
      data-testid="call-row"
      data-call-id={c.callId}
      data-key={c.key}
      data-source={c.source}
      aria-rowindex={props.rowIndex + 2}
      aria-selected={props.selected}
      className={props.selected ? 'calls-row selected' : 'calls-row'}
      style={{ transform: `translateY(${props.rowIndex * ROW_H}px)`, gridTemplateColumns: props.template }}
      onClick={() => props.onSelect(c.key)}
    >
      <div role="gridcell" className="calls-cell mono" title={time}>
        {time}
      </div>
      {props.showSource ? (
        <div role="gridcell" className="calls-cell" data-testid="call-source" title={props.sourceName === c.source ? c.source : `${c.source}: ${props.sourceName}`}>
          {c.source === 'live' ? 'live' : props.sourceName}
        </div>
      ) : null}
      <div role="gridcell" className="calls-cell mono" title={c.callId}>
        {c.callId}
      </div>
      <div role="gridcell" className="calls-cell" title={c.from}>
        {c.from}
      </div>
      <div role="gridcell" className="calls-cell" title={c.to}>
        {c.to}
      </div>
      <div role="gridcell" className={`calls-cell ${state.className}`} data-testid="call-state" title={state.text}>
        {state.text}
      </div>
      <div role="gridcell" className="calls-cell num mono" title={`${c.messageCount} messages`}>
        {c.messageCount}
      </div>
      <div role="gridcell" className={c.retransmissions > 0 ? 'calls-cell num mono warn' : 'calls-cell num mono'} title={`${c.retransmissions} retransmissions`}>
        {c.retransmissions}
      </div>
      <div role="gridcell" className="calls-cell num mono" title={c.trying100Us === null ? 'no 100 Trying' : `${trying} ms`}>
        {trying}
      </div>
      <div role="gridcell" className={c.media ? 'calls-cell num mono' : 'calls-cell num mono muted'} data-testid="call-streams" title={media.title}>
        {media.streams}
      </div>
      <div role="gridcell" className={`calls-cell num mono ${media.lossClass}`} data-testid="call-loss" title={media.title}>
        {media.loss}
      </div>
      <div role="gridcell" className={`calls-cell ${delivery.className}`} data-testid="call-delivery" title={delivery.title}>
        {delivery.text}
      </div>
    </div>
  );
});

