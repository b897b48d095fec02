import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type UIEvent } from 'react';
import type { CallSummary } from '../../../app/contract';
import { useApi } from '../api';
import { CALL_STATES, filterCalls, isFilterActive, parseThresholdMs, sortCalls, type CallFilter, type SortKey } from '../calls/query';
import { sippHint } from '../calls/sippHint';
import { clockTime, hostPortOf, usToMs } from '../format';
import { useCalls } from '../store/calls';
import { useCallsView } from '../store/callsView';
import { useSettings } from '../store/settings';
import { useSnapshot } from '../store/snapshot';
import { useUi } from '../store/ui';
import { FilesBar } from './FilesBar';
import { rowWindow } from '../virtual';

/** Fixed row height (px) the windowing relies on; matches `.calls-row` in styles.css. */
export const ROW_H = 22;
/** Height of the sticky column header (px). */
const HEAD_H = 24;
/** The id `/` focuses. */
export const CALLS_FILTER_ID = 'calls-filter';

interface Column {
  key: SortKey;
  label: string;
  title?: string;
  num?: boolean;
}
const COLUMNS: readonly Column[] = [
  { key: 'time', label: 'time', title: 'Call start' },
  { key: 'callId', label: 'Call-ID' },
  { key: 'from', label: 'From' },
  { key: 'to', label: 'To' },
  { key: 'state', label: 'state' },
  { key: 'msgs', label: 'msgs', title: 'Messages captured', num: true },
  { key: 'rtx', label: 'rtx', title: 'Retransmissions', num: true },
  { key: 'trying', label: '100 ms', title: 'INVITE received → 100 Trying sent, ms', num: true },
];

export function CallsPanel() {
  const list = useCalls((s) => s.list);
  const loaded = useCalls((s) => s.loaded);
  const filter = useCallsView((s) => s.filter);
  const sort = useCallsView((s) => s.sort);
  const filtered = useMemo(() => filterCalls(list, filter), [list, filter]);
  const rows = useMemo(() => sortCalls(filtered, sort), [filtered, sort]);
  const active = isFilterActive(filter);

  return (
    <section className="panel calls-panel" aria-label="Calls">
      <div className="panel-title">
        Calls
        <span className="panel-sub" data-testid="calls-count">
          {active ? `${rows.length} of ${list.length}` : `${list.length}`}
        </span>
      </div>
      <CallsFilterBar />
      <FilesBar rows={rows} />
      {list.length === 0 ? (
        <CallsEmpty loaded={loaded} />
      ) : (
        <CallsTable rows={rows} filtered={active} />
      )}
    </section>
  );
}

function CallsFilterBar() {
  const filter = useCallsView((s) => s.filter);
  const setFilter = useCallsView((s) => s.setFilter);
  const clearFilter = useCallsView((s) => s.clearFilter);
  // The threshold is typed as text; the filter holds the parsed number.
  const [threshold, setThreshold] = useState('');
  const thresholdBad = threshold.trim() !== '' && parseThresholdMs(threshold) === null;
  return (
    <div className="calls-filter" role="search">
      <input
        id={CALLS_FILTER_ID}
        data-testid="calls-filter"
        className="input calls-filter-text"
        type="search"
        placeholder="Call-ID / From / To   ( / )"
        aria-label="Filter calls by Call-ID, From or To"
        value={filter.text}
        onChange={(e) => setFilter({ text: e.target.value })}
        onKeyDown={(e) => {
          if (e.key === 'Escape') e.currentTarget.blur();
        }}
      />
      <select
        data-testid="calls-filter-state"
        className="input"
        aria-label="Filter calls by state"
        value={filter.state}
        onChange={(e) => setFilter({ state: e.target.value as CallFilter['state'] })}
      >
        <option value="all">any state</option>
        {CALL_STATES.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
      <label className="calls-filter-check" title="Only calls with retransmissions">
        <input
          type="checkbox"
          data-testid="calls-filter-rtx"
          checked={filter.retransmissionsOnly}
          onChange={(e) => setFilter({ retransmissionsOnly: e.target.checked })}
        />
        rtx
      </label>
      <label className="calls-filter-trying" title="Only calls whose 100 Trying took longer than this">
        100 &gt;
        <input
          data-testid="calls-filter-trying"
          className={thresholdBad ? 'input input-num invalid' : 'input input-num'}
          inputMode="decimal"
          placeholder="ms"
          aria-label="100 Trying slower than (ms)"
          aria-invalid={thresholdBad}
          value={threshold}
          onChange={(e) => {
            setThreshold(e.target.value);
            setFilter({ tryingSlowerThanMs: parseThresholdMs(e.target.value) });
          }}
        />
        ms
      </label>
      {isFilterActive(filter) ? (
        <button
          type="button"
          className="btn btn-ghost"
          data-testid="calls-filter-clear"
          title="Clear the filters"
          onClick={() => {
            setThreshold('');
            clearFilter();
          }}
        >
          clear
        </button>
      ) : null}
    </div>
  );
}

/** Only the rows in view (plus overscan) are in the DOM; the body keeps the full height so the scrollbar is true. */
function CallsTable({ rows, filtered }: { rows: readonly CallSummary[]; filtered: boolean }) {
  const selected = useUi((s) => s.selectedCallId);
  const selectCall = useUi((s) => s.selectCall);
  const onSelect = useCallback((id: string) => selectCall(id), [selectCall]);
  const sort = useCallsView((s) => s.sort);
  const sortBy = useCallsView((s) => s.sortBy);
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

  const shown = rows.slice(next.start, next.end);
  return (
    <div className="calls-scroll" ref={scroller} onScroll={onScroll} data-testid="calls-scroll" role="grid" aria-rowcount={rows.length + 1}>
      <div className="calls-row calls-head" role="row">
        {COLUMNS.map((c) => {
          const on = sort.key === c.key;
          return (
            <div
              key={c.key}
              role="columnheader"
              aria-sort={on ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
              className={`calls-cell${c.num ? ' num' : ''}${on ? ' sorted' : ''}`}
            >
              <button type="button" className="th-sort" data-testid={`sort-${c.key}`} title={c.title ? `${c.title} — click to sort` : 'Click to sort'} onClick={() => sortBy(c.key)}>
                {c.label}
                {on ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}
              </button>
            </div>
          );
        })}
      </div>
      {rows.length === 0 && filtered ? (
        <div className="empty small" data-testid="calls-no-match">
          No calls match the filter.
        </div>
      ) : (
        <div className="calls-body" style={{ height: rows.length * ROW_H }}>
          {/* Keyed by position, not Call-ID: as new calls push the list down, each row element stays and only its text changes. */}
          {shown.map((c, i) => (
            <CallRow key={next.start + i} call={c} rowIndex={next.start + i} selected={c.callId === selected} onSelect={onSelect} />
          ))}
        </div>
      )}
    </div>
  );
}

const CallRow = memo(function CallRow(props: { call: CallSummary; rowIndex: number; selected: boolean; onSelect: (id: string) => void }) {
  const c = props.call;
  const stateText = c.finalStatus !== null && (c.state === 'failed' || c.state === 'terminated') ? `${c.state} ${c.finalStatus}` : c.state;
  return (
    <div
      role="row"
      data-testid="call-row"
      data-call-id={c.callId}
      aria-rowindex={props.rowIndex + 2}
      aria-selected={props.selected}
      className={props.selected ? 'calls-row selected' : 'calls-row'}
      style={{ transform: `translateY(${props.rowIndex * ROW_H}px)` }}
      onClick={() => props.onSelect(c.callId)}
    >
      <div role="gridcell" className="calls-cell mono">
        {clockTime(c.startedUs)}
      </div>
      <div role="gridcell" className="calls-cell mono" title={c.callId}>
        {c.callId}
      </div>
      <div role="gridcell" className="calls-cell" title={c.from}>
        {c.from}
      </div>
      <div role="gridcell" className="calls-cell" title={c.to}>
        {c.to}
      </div>
      <div role="gridcell" className={`calls-cell state-${c.state}`}>
        {stateText}
      </div>
      <div role="gridcell" className="calls-cell num mono">
        {c.messageCount}
      </div>
      <div role="gridcell" className={c.retransmissions > 0 ? 'calls-cell num mono warn' : 'calls-cell num mono'}>
        {c.retransmissions}
      </div>
      <div role="gridcell" className="calls-cell num mono">
        {usToMs(c.trying100Us, 3)}
      </div>
    </div>
  );
});

function CallsEmpty({ loaded }: { loaded: boolean }) {
  const api = useApi();
  const endpoint = useSnapshot((s) => s.snapshot?.components.find((c) => c.name === 'proxy')?.endpoint ?? null);
  const state = useSnapshot((s) => s.snapshot?.components.find((c) => c.name === 'proxy')?.state);
  const since = useSnapshot((s) => s.snapshot?.components.find((c) => c.name === 'proxy')?.sinceUs);
  // The route is a setting, not part of the snapshot: (re)read into the settings store now and whenever
  // the proxy changes state (a new --route or --sip restarts it, from the dialog or the HTTP API).
  const current = useSettings((s) => s.current);
  const loadError = useSettings((s) => (s.current === null && s.outcome?.ok === false ? s.outcome.line : null));
  useEffect(() => {
    void useSettings.getState().load(api);
  }, [api, state, since]);
  if (!loaded) return <div className="empty">Loading calls…</div>;
  if (loadError !== null) {
    return (
      <div className="empty" data-testid="calls-empty">
        <p>No calls yet.</p>
        <p className="error">{loadError}</p>
      </div>
    );
  }
  if (current === null) return <div className="empty">Reading the lab settings…</div>;
  const configured = current.sip.endsWith(':0') ? null : current.sip;
  const proxy = hostPortOf(endpoint) ?? configured ?? '127.0.0.1:5060';
  const hint = sippHint(proxy, current.route);
  return (
    <div className="empty" data-testid="calls-empty" data-mode={hint.mode}>
      <p>No calls yet.</p>
      {state === 'running' ? null : <p>Start the proxy with its toggle above, then:</p>}
      <p>
        {hint.mode === 'route'
          ? `Point SIPp at the proxy (${proxy}); it routes to --route ${current.route}. Start the UAS, then the UAC in a second terminal:`
          : `No --route: the proxy (${proxy}) routes by Request-URI. Start the UAS, then in a second terminal a UAC that names it and sends to the proxy:`}
      </p>
      <ol className="cmd-list">
        {hint.commands.map((c) => (
          <li key={c.text}>
            <span className="muted">{c.what}</span>
            <div className="cmd-row">
              <code className="cmd" data-testid="calls-empty-cmd" data-role={c.role}>
                {c.text}
              </code>
              <CopyButton text={c.text} />
            </div>
          </li>
        ))}
      </ol>
    </div>
  );
}

function CopyButton({ text }: { text: string }) {
  const [done, setDone] = useState<'copied' | 'failed' | null>(null);
  useEffect(() => {
    if (done === null) return;
    const t = setTimeout(() => setDone(null), 1500);
    return () => clearTimeout(t);
  }, [done]);
  const copy = () => {
    // No clipboard outside a secure context; the command text selects with one click instead (user-select: all).
    if (!navigator.clipboard) return setDone('failed');
    navigator.clipboard.writeText(text).then(
      () => setDone('copied'),
      () => setDone('failed'),
    );
  };
  return (
    <button type="button" className="btn btn-ghost" data-testid="calls-empty-copy" data-state={done ?? 'idle'} title="Copy the command" aria-label={`Copy ${text}`} onClick={copy}>
      {done === 'copied' ? 'copied' : done === 'failed' ? 'select it to copy' : 'copy'}
    </button>
  );
}
