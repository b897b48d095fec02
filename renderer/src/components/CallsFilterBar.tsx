/**
 * The calls list's filter bar: the quick filters, the "more" panel (header,
 * status, method, address, time, source, outcome) and saved filters. What a
 * user types is parsed here and refused visibly when it is not valid; the
 * filter itself runs in the engine over every stored call.
 */
import { useEffect, useMemo, useState } from 'react';
import type { TimeWindow } from '../../../app/contract';
import { CALL_STATES, OUTCOMES, filterError, formatLocalTime, isFilterActive, parseLocalTime, parseMethod, parseStatus, parseThreshold, type CallFilter, type Parsed } from '../calls/query';
import { upDuringChip } from '../calls/upDuring';
import { useCallsView } from '../store/callsView';
import { useSavedFilters } from '../store/savedFilters';
import { useSnapshot } from '../store/snapshot';

/** The id `/` focuses. */
export const CALLS_FILTER_ID = 'calls-filter';

/** The sources the engine stores calls from (live, imports), as one string so the selector is a single value. */
export function useSources(): { id: string; name: string }[] {
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

/** A threshold of the filter in ms ("100 > [ ] ms"), typed as text and applied once it parses. */
function MsThreshold(props: { field: string; prefix: string; title: string; label: string; value: number | null; onValue: (v: number | null) => void }) {
  const generation = useCallsView((s) => s.generation);
  return (
    <label className="calls-filter-trying" title={props.title}>
      {props.prefix}
      <ParsedField key={`${props.field}-${generation}`} field={props.field} testId={`calls-filter-${props.field}`} label={props.label} placeholder="ms" className="input-num" value={props.value} format={fmtNumber} parse={parseThreshold} onValue={props.onValue} />
      ms
    </label>
  );
}

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

export function CallsFilterBar() {
  const filter = useCallsView((s) => s.filter);
  const setFilter = useCallsView((s) => s.setFilter);
  const clearFilter = useCallsView((s) => s.clearFilter);
  const invalidCount = useCallsView((s) => s.invalid.length);
  const [more, setMore] = useState(false);
  const regexError = filterError(filter);
  const extra = filter.header !== null || filter.status !== null || filter.method !== null || filter.address !== '' || filter.fromUs !== null || filter.toUs !== null || filter.source !== null || filter.outcome !== null || (filter.mediaJitterAtLeastMs ?? null) !== null;
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
        <MsThreshold field="trying" prefix="100 >" title="Only calls whose 100 Trying took longer than this (ms)" label="100 Trying slower than (ms)" value={filter.tryingSlowerThanMs} onValue={(v) => setFilter({ tryingSlowerThanMs: v })} />
        <MsThreshold field="publish" prefix="pub >" title="Only calls with a call event slower than this from its SIP message to Redis's reply (ms)" label="A call event slower than (ms), SIP message → Redis reply" value={filter.publishSlowerThanMs} onValue={(v) => setFilter({ publishSlowerThanMs: v })} />
        <label className="calls-filter-check" title="Only calls with a call event the application (reference consumer) has not received: given up by the publisher, or acknowledged by Redis and not received">
          <input type="checkbox" data-testid="calls-filter-undelivered" checked={filter.notDelivered} onChange={(e) => setFilter({ notDelivered: e.target.checked })} />
          not delivered
        </label>
        <label className="calls-filter-check" title="Only calls with a media stream that lost packets (the relay's latest report of each stream)">
          <input type="checkbox" data-testid="calls-filter-media-loss" checked={filter.mediaLoss === true} onChange={(e) => setFilter({ mediaLoss: e.target.checked })} />
          has media loss
        </label>
        <label className="calls-filter-check" title="Only calls the recorder dropped packets of on the way to their recording, or did not forward PCM frames of to the application (each call's record lane)">
          <input type="checkbox" data-testid="calls-filter-recorder-drops" checked={filter.recorderDrops === true} onChange={(e) => setFilter({ recorderDrops: e.target.checked })} />
          recorder drops
        </label>
        {filter.upDuring ? <UpDuringChip windows={filter.upDuring} onLift={() => setFilter({ upDuring: null })} /> : null}
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

/** The `upDuring` part of the filter (set by the kernel suspect's link): what it means, and ✕ to lift it. */
function UpDuringChip(props: { windows: readonly TimeWindow[]; onLift: () => void }) {
  const chip = upDuringChip(props.windows);
  return (
    <span className="calls-filter-chip" data-testid="calls-filter-up-during" title={chip.title}>
      {chip.text}
      <button type="button" className="btn btn-ghost" aria-label="Lift the time-window filter" title="Lift the time-window filter" onClick={props.onLift}>
        ✕
      </button>
    </span>
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
      <MsThreshold field="jitter" prefix="jitter ≥" title="Only calls with a media stream whose running jitter (RFC 3550) reached this at the relay's latest report of it (ms); the Relay suspect links here at 30 ms" label="A media stream's jitter at least (ms)" value={filter.mediaJitterAtLeastMs ?? null} onValue={(v) => setFilter({ mediaJitterAtLeastMs: v })} />
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
