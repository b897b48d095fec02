/**
 * The calls panel: how many calls the list shows of all the engine stores,
 * the filter bar, the files bar (export, import) and the list — a live list
 * of the newest calls with no filter, an engine query's answer with one.
 */
import { useEffect, useMemo, useState } from 'react';
import type { CallSummary } from '../../../app/contract';
import { useApi } from '../api';
import { listCountText } from '../calls/counts';
import { DEFAULT_SORT, NO_FILTER, needsQuery } from '../calls/query';
import { sippHint } from '../calls/sippHint';
import type { ExportTarget } from '../files/logic';
import { selectionKeys } from '../files/logic';
import { hostPortOf } from '../format';
import { useCalls } from '../store/calls';
import { useCallsQuery } from '../store/callsQuery';
import { useCallsView } from '../store/callsView';
import { useSettings } from '../store/settings';
import { useSnapshot } from '../store/snapshot';
import { FilesBar } from './FilesBar';
import { CallsFilterBar } from './CallsFilterBar';
import { CallsTable } from './CallsTable';

const EMPTY: readonly CallSummary[] = [];

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
function CallsEmpty({ loaded }: { loaded: boolean }) {
  const api = useApi();
  const endpoint = useSnapshot((s) => s.snapshot?.components.find((c) => c.name === 'proxy')?.endpoint ?? null);
  const state = useSnapshot((s) => s.snapshot?.components.find((c) => c.name === 'proxy')?.state);
  const since = useSnapshot((s) => s.snapshot?.components.find((c) => c.name === 'proxy')?.sinceUs);
  const detail = useSnapshot((s) => s.snapshot?.components.find((c) => c.name === 'proxy')?.detail);
  // The route is a setting, not part of the snapshot: (re)read into the settings store now and whenever
  // the proxy changes state (a new --sip restarts it) or its routing line changes (a new --route reaches
  // the running proxy live, from the dialog or the HTTP API).
  const current = useSettings((s) => s.current);
  const loadError = useSettings((s) => (s.current === null && s.outcome?.ok === false ? s.outcome.line : null));
  useEffect(() => {
    void useSettings.getState().load(api);
  }, [api, state, since, detail]);
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

