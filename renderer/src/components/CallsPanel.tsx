import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type PointerEvent as ReactPointerEvent, type UIEvent } from 'react';
import type { CallSummary } from '../../../app/contract';
import { useApi } from '../api';
import { gridTemplate, visibleColumns, widthOf, type Column } from '../calls/columns';
import { listCountText } from '../calls/counts';
import {
  CALL_STATES,
  OUTCOMES,
  DEFAULT_SORT,
  NO_FILTER,
  filterError,
  formatLocalTime,
  isFilterActive,
  needsQuery,
  parseLocalTime,
  parseMethod,
  parseStatus,
  parseThreshold,
  stateCell,
  type CallFilter,
  type Parsed,
} from '../calls/query';
import { sippHint } from '../calls/sippHint';
import type { ExportTarget } from '../files/logic';
import { selectionKeys } from '../files/logic';
import { clockTime, hostPortOf, usToMs } from '../format';
import { useCalls } from '../store/calls';
import { useCallsQuery } from '../store/callsQuery';
import { useCallsView } from '../store/callsView';
import { useSavedFilters } from '../store/savedFilters';
import { useSettings } from '../store/settings';
import { useSnapshot } from '../store/snapshot';
import { useUi } from '../store/ui';
import { setCallOrder } from '../useShortcuts';
import { FilesBar } from './FilesBar';
import { rowWindow, scrollToRow } from '../virtual';

/** Fixed row height (px) the windowing relies on; matches `.calls-row` in styles.css. */
export const ROW_H = 22;
/** Height of the sticky column header (px). */
const HEAD_H = 24;
/** The id `/` focuses. */
export const CALLS_FILTER_ID = 'calls-filter';

const EMPTY: readonly CallSummary[] = [];

/** The sources the engine stores calls from (live, imports), as one string so the selector is a single value. */
function useSources(): { id: string; name: string }[] {
  const joined = useSnapshot((s) => s.snapshot?.calls.sources.map((x) => `${x.id}\t${x.name}`).join('\n') ?? '');
  return useMemo(
    () =>
      joined === ''
        ? []
        : joined.split('\n').map((line) => {
            const [id = '', name = ''] = line.split('\t');
            return { id, name };
          }),
    [joined],
  );
}

export function CallsPanel() {
  const list = useCalls((s) => s.list);
  const loaded = useCalls((s) => s.loaded);
  const filter = useCallsView((s) => s.filter);
  const sort = useCallsView((s) => s.sort);
  const page = useCallsQuery((s) => s.page);
  const pageQuery = useCallsQuery((s) => s.query);
  const queryError = useCallsQuery((s) => s.error);
  const loading = useCallsQuery((s) => s.loading);
  const stored = useSnapshot((s) => s.snapshot?.calls.stored ?? null);
  const evicted = useSnapshot((s) => s.snapshot?.calls.evicted ?? null);
  const queried = needsQuery(filter, sort);
  const rows = queried ? (page?.calls ?? EMPTY) : list;
  const matched = queried ? (page?.matched ?? null) : null;
  const countText = listCountText({
    queried,
    shown: rows.length,
    matched,
    stored: queried && page ? page.stored : stored,
    evicted: queried && page ? page.evicted : evicted,
  });

  // "Export N calls…": a query covers every match; the live list its keys, or every stored call when it holds fewer.
  const target = useMemo((): ExportTarget | null => {
    if (queried) return page && pageQuery && page.matched > 0 ? { kind: 'query', query: pageQuery, count: page.matched } : null;
    if (stored !== null && stored > list.length) return { kind: 'query', query: { filter: NO_FILTER, sort: DEFAULT_SORT }, count: stored };
    return list.length > 0 ? { kind: 'keys', keys: selectionKeys(list) } : null;
  }, [queried, page, pageQuery, stored, list]);

  return (
    <section className="panel calls-panel" aria-label="Calls">
      <div className="panel-title">
        Calls
        <span className="panel-sub ellipsis" data-testid="calls-count" data-matched={queried ? (matched ?? undefined) : rows.length} data-shown={rows.length} data-stored={stored ?? undefined} title={countText}>
          {countText}
          {queried && loading ? ' …' : ''}
        </span>
      </div>
      <CallsFilterBar />
      {queryError !== null ? (
        <div className="error banner" data-testid="calls-query-error">
          {queryError}
        </div>
      ) : null}
      <FilesBar target={target} />
      {list.length === 0 && !queried ? <CallsEmpty loaded={loaded} /> : <CallsTable rows={rows} filtered={queried && page !== null} />}
    </section>
  );
}

/** A typed filter field: keeps what is typed, applies it when it parses, and shows it invalid (the filter left off) when not. */
function ParsedField<T>(props: {
  field: string;
  testId: string;
  label: string;
  placeholder: string;
  className?: string;
  type?: string;
  value: T | null;
  format: (v: T | null) => string;
  parse: (s: string) => Parsed<T>;
  onValue: (v: T | null) => void;
}) {
  const { field, value, format, parse, onValue } = props;
  const setInvalid = useCallsView((s) => s.setInvalid);
  const [text, setText] = useState(() => format(value));
  const parsed = parse(text);
  // The filter changed from elsewhere (clear, a saved filter): show its value.
  useEffect(() => {
    const p = parse(text);
    if (!p.ok || p.value !== value) {
      if (p.ok || value !== null) setText(format(value));
    }
    // Only when the filter's value moves, not on typing.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  useEffect(() => () => setInvalid(field, false), [field, setInvalid]);
  return (
    <input
      data-testid={props.testId}
      className={`input ${props.className ?? ''}${parsed.ok ? '' : ' invalid'}`}
      type={props.type ?? 'text'}
      placeholder={props.placeholder}
      aria-label={props.label}
      aria-invalid={!parsed.ok}
      title={parsed.ok ? props.label : `${props.label}: not valid, this part of the filter is off`}
      value={text}
      onChange={(e) => {
        const next = e.target.value;
        setText(next);
        const p = parse(next);
        setInvalid(field, !p.ok);
        onValue(p.ok ? p.value : null);
      }}
    />
  );
}

const fmtNumber = (v: number | null) => (v === null ? '' : String(v));
const fmtText = (v: string | null) => v ?? '';

function CallsFilterBar() {
  const filter = useCallsView((s) => s.filter);
  const setFilter = useCallsView((s) => s.setFilter);
  const clearFilter = useCallsView((s) => s.clearFilter);
  const invalidCount = useCallsView((s) => s.invalid.length);
  const generation = useCallsView((s) => s.generation);
  const [more, setMore] = useState(false);
  const regexError = filterError(filter);
  const extra = filter.header !== null || filter.status !== null || filter.method !== null || filter.address !== '' || filter.fromUs !== null || filter.toUs !== null || filter.source !== null || filter.outcome !== null;
  return (
    <div className="calls-filter-block" role="search">
      <div className="calls-filter">
        <input
          id={CALLS_FILTER_ID}
          data-testid="calls-filter"
          className={regexError !== null && filter.text !== '' ? 'input calls-filter-text invalid' : 'input calls-filter-text'}
          type="search"
          placeholder={filter.regex ? 'regex on Call-ID / From / To   ( / )' : 'Call-ID / From / To   ( / )'}
          aria-label="Filter calls by Call-ID, From or To"
          value={filter.text}
          onChange={(e) => setFilter({ text: e.target.value })}
          onKeyDown={(e) => {
            if (e.key === 'Escape') e.currentTarget.blur();
          }}
        />
        <label className="calls-filter-check" title="Read the text and the header value as regular expressions (case-insensitive)">
          <input type="checkbox" data-testid="calls-filter-regex" checked={filter.regex} onChange={(e) => setFilter({ regex: e.target.checked })} />
          .*
        </label>
        <select data-testid="calls-filter-state" className="input" aria-label="Filter calls by state" value={filter.state} onChange={(e) => setFilter({ state: e.target.value as CallFilter['state'] })}>
          <option value="all">any state</option>
          {CALL_STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <label className="calls-filter-check" title="Only calls with retransmissions">
          <input type="checkbox" data-testid="calls-filter-rtx" checked={filter.retransmissionsOnly} onChange={(e) => setFilter({ retransmissionsOnly: e.target.checked })} />
          rtx
        </label>
        <label className="calls-filter-trying" title="Only calls whose 100 Trying took longer than this (ms)">
          100 &gt;
          <ParsedField
            key={`trying-${generation}`}
            field="trying"
            testId="calls-filter-trying"
            label="100 Trying slower than (ms)"
            placeholder="ms"
            className="input-num"
            value={filter.tryingSlowerThanMs}
            format={fmtNumber}
            parse={parseThreshold}
            onValue={(v) => setFilter({ tryingSlowerThanMs: v })}
          />
          ms
        </label>
        <button
          type="button"
          className={extra ? 'btn btn-ghost on' : 'btn btn-ghost'}
          data-testid="calls-filter-more"
          aria-expanded={more}
          title="Header, status, method, address, time, source, outcome; saved filters"
          onClick={() => setMore(!more)}
        >
          {more ? 'less ▴' : 'more ▾'}
        </button>
        {isFilterActive(filter) || invalidCount > 0 ? (
          <button type="button" className="btn btn-ghost" data-testid="calls-filter-clear" title="Clear the filters" onClick={clearFilter}>
            clear
          </button>
        ) : null}
      </div>
      {regexError !== null ? (
        <div className="error small-print" data-testid="calls-filter-regex-error">
          {regexError}
        </div>
      ) : null}
      {more ? <MoreFilters /> : null}
    </div>
  );
}

function MoreFilters() {
  const filter = useCallsView((s) => s.filter);
  const setFilter = useCallsView((s) => s.setFilter);
  const generation = useCallsView((s) => s.generation);
  const sources = useSources();
  const header = filter.header ?? { name: '', value: '' };
  const setHeader = (h: { name: string; value: string }) => setFilter({ header: h.name.trim() === '' && h.value === '' ? null : h });
  return (
    <div className="calls-filter calls-filter-more" data-testid="calls-filter-panel">
      <input
        data-testid="calls-filter-header-name"
        className="input calls-filter-hname"
        placeholder="any header"
        aria-label="Header name (empty: any header)"
        title="Header name: User-Agent, Reason, X-… (empty: any header)"
        value={header.name}
        onChange={(e) => setHeader({ ...header, name: e.target.value })}
      />
      <input
        data-testid="calls-filter-header-value"
        className="input calls-filter-hvalue"
        placeholder="header value"
        aria-label="Header value"
        value={header.value}
        onChange={(e) => setHeader({ ...header, value: e.target.value })}
      />
      <ParsedField key={`status-${generation}`} field="status" testId="calls-filter-status" label="A response with this status" placeholder="status" className="input-num" value={filter.status} format={fmtNumber} parse={parseStatus} onValue={(v) => setFilter({ status: v })} />
      <ParsedField key={`method-${generation}`} field="method" testId="calls-filter-method" label="A request with this method" placeholder="method" className="input-method" value={filter.method} format={fmtText} parse={parseMethod} onValue={(v) => setFilter({ method: v })} />
      <input
        data-testid="calls-filter-address"
        className="input calls-filter-address"
        placeholder="address:port"
        aria-label="An address any message came from or went to"
        value={filter.address}
        onChange={(e) => setFilter({ address: e.target.value })}
      />
      <label className="calls-filter-trying" title="Calls that started at or after this (local time)">
        from
        <ParsedField key={`fromUs-${generation}`} field="fromUs" testId="calls-filter-from" label="Started at or after" placeholder="" type="datetime-local" value={filter.fromUs} format={formatLocalTime} parse={parseLocalTime} onValue={(v) => setFilter({ fromUs: v })} />
      </label>
      <label className="calls-filter-trying" title="Calls that started at or before this (local time)">
        to
        <ParsedField key={`toUs-${generation}`} field="toUs" testId="calls-filter-to" label="Started at or before" placeholder="" type="datetime-local" value={filter.toUs} format={formatLocalTime} parse={parseLocalTime} onValue={(v) => setFilter({ toUs: v })} />
      </label>
      <select data-testid="calls-filter-source" className="input" aria-label="Filter calls by source" value={filter.source ?? ''} onChange={(e) => setFilter({ source: e.target.value === '' ? null : e.target.value })}>
        <option value="">any source</option>
        {sources.map((s) => (
          <option key={s.id} value={s.id}>
            {s.id === s.name ? s.id : `${s.id}: ${s.name}`}
          </option>
        ))}
      </select>
      <select
        data-testid="calls-filter-outcome"
        className="input"
        aria-label="Filter failed calls by outcome"
        value={filter.outcome ?? ''}
        onChange={(e) => setFilter({ outcome: e.target.value === '' ? null : (e.target.value as CallFilter['outcome']) })}
      >
        <option value="">any outcome</option>
        {OUTCOMES.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <SavedFilters />
    </div>
  );
}

function SavedFilters() {
  const saved = useSavedFilters((s) => s.saved);
  const save = useSavedFilters((s) => s.save);
  const remove = useSavedFilters((s) => s.remove);
  const replaceFilter = useCallsView((s) => s.replaceFilter);
  const [name, setName] = useState('');
  const [picked, setPicked] = useState('');
  const doSave = () => {
    if (save(name, useCallsView.getState().filter)) {
      setPicked(name.trim());
      setName('');
    }
  };
  return (
    <span className="calls-saved">
      <select
        data-testid="calls-saved-pick"
        className="input"
        aria-label="Saved filters"
        value={saved.some((s) => s.name === picked) ? picked : ''}
        onChange={(e) => {
          const s = saved.find((x) => x.name === e.target.value);
          setPicked(e.target.value);
          if (s) replaceFilter(s.filter);
        }}
      >
        <option value="">saved filters…</option>
        {saved.map((s) => (
          <option key={s.name} value={s.name}>
            {s.name}
          </option>
        ))}
      </select>
      {picked !== '' && saved.some((s) => s.name === picked) ? (
        <button type="button" className="btn btn-ghost" data-testid="calls-saved-delete" title={`Forget the saved filter "${picked}"`} onClick={() => (remove(picked), setPicked(''))}>
          ✕
        </button>
      ) : null}
      <input
        data-testid="calls-saved-name"
        className="input calls-saved-name"
        placeholder="name"
        aria-label="Name for the current filter"
        value={name}
        onChange={(e) => setName(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') doSave();
        }}
      />
      <button type="button" className="btn" data-testid="calls-saved-save" disabled={name.trim() === ''} title="Save the current filter under this name" onClick={doSave}>
        save
      </button>
    </span>
  );
}

/** Only the rows in view (plus overscan) are in the DOM; the body keeps the full height so the scrollbar is true. */
function CallsTable({ rows, filtered }: { rows: readonly CallSummary[]; filtered: boolean }) {
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
          return (
            <div
              key={c.key}
              role="columnheader"
              data-testid={`th-${c.key}`}
              aria-sort={on ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
              className={`calls-cell calls-th${c.num ? ' num' : ''}${on ? ' sorted' : ''}`}
              title={c.title ? `${c.title} — click to sort` : 'Click to sort'}
              onClick={() => sortBy(c.key)}
            >
              {/* The whole cell sorts (the click bubbles here); the button is for the keyboard. */}
              <button type="button" className="th-sort" data-testid={`sort-${c.key}`}>
                {c.label}
                {on ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}
              </button>
              <span
                className="col-resize"
                data-testid={`resize-${c.key}`}
                role="separator"
                aria-orientation="vertical"
                aria-label={`Resize the ${c.label} column`}
                title="Drag to resize"
                onClick={(e) => e.stopPropagation()}
                onPointerDown={(e) => startResize(c, e)}
              />
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
