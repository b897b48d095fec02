import { memo, useCallback } from 'react';
import type { CallSummary } from '../../../app/contract';
import { clockTime, hostPortOf, usToMs } from '../format';
import { useCalls } from '../store/calls';
import { useSnapshot } from '../store/snapshot';
import { useUi } from '../store/ui';

/** Rows drawn at most; virtualization (a later issue) lifts this. */
export const MAX_ROWS = 500;

export function CallsPanel() {
  const list = useCalls((s) => s.list);
  const loaded = useCalls((s) => s.loaded);
  const selected = useUi((s) => s.selectedCallId);
  const selectCall = useUi((s) => s.selectCall);
  const onSelect = useCallback((id: string) => selectCall(id), [selectCall]);
  const rows = list.length > MAX_ROWS ? list.slice(0, MAX_ROWS) : list;

  return (
    <section className="panel calls-panel" aria-label="Calls">
      <div className="panel-title">
        Calls
        <span className="panel-sub">
          {list.length > MAX_ROWS ? `newest ${MAX_ROWS} of ${list.length}` : `${list.length}`}
        </span>
      </div>
      {list.length === 0 ? (
        <CallsEmpty loaded={loaded} />
      ) : (
        <div className="table-scroll">
          <table className="calls-table">
            <thead>
              <tr>
                <th className="col-time">time</th>
                <th className="col-callid">Call-ID</th>
                <th>From</th>
                <th>To</th>
                <th className="col-state">state</th>
                <th className="num col-msgs" title="Messages captured">msgs</th>
                <th className="num col-retrans" title="Retransmissions">rtx</th>
                <th className="num col-trying" title="INVITE received → 100 Trying sent, ms">100 ms</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => (
                <CallRow key={c.callId} call={c} selected={c.callId === selected} onSelect={onSelect} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

const CallRow = memo(function CallRow(props: { call: CallSummary; selected: boolean; onSelect: (id: string) => void }) {
  const c = props.call;
  const stateText = c.finalStatus !== null && (c.state === 'failed' || c.state === 'terminated') ? `${c.state} ${c.finalStatus}` : c.state;
  return (
    <tr
      data-testid="call-row"
      data-call-id={c.callId}
      aria-selected={props.selected}
      className={props.selected ? 'selected' : undefined}
      onClick={() => props.onSelect(c.callId)}
    >
      <td className="col-time mono">{clockTime(c.startedUs)}</td>
      <td className="col-callid mono" title={c.callId}>
        {c.callId}
      </td>
      <td className="ellipsis" title={c.from}>
        {c.from}
      </td>
      <td className="ellipsis" title={c.to}>
        {c.to}
      </td>
      <td className={`col-state state-${c.state}`}>{stateText}</td>
      <td className="num mono">{c.messageCount}</td>
      <td className={c.retransmissions > 0 ? 'num mono warn' : 'num mono'}>{c.retransmissions}</td>
      <td className="num mono">{usToMs(c.trying100Us, 3)}</td>
    </tr>
  );
});

function CallsEmpty({ loaded }: { loaded: boolean }) {
  const proxy = useSnapshot((s) => s.snapshot?.components.find((c) => c.name === 'proxy'));
  if (!loaded) return <div className="empty">Loading calls…</div>;
  const target = hostPortOf(proxy?.endpoint) ?? '127.0.0.1:5060';
  const running = proxy?.state === 'running';
  return (
    <div className="empty" data-testid="calls-empty">
      <p>No calls yet.</p>
      {running ? null : <p>Start the proxy with its toggle above, then:</p>}
      <p>Point SIPp at the proxy:</p>
      <code className="cmd">sipp -sn uac {target} -r 10</code>
    </div>
  );
}
