import { useUi } from '../store/ui';
import { CONNECTIONS_SHOWN, SENT_MEANS, connectionView, forwardingFigures, type Forwarding } from './forwarding';

/**
 * The recorder panel's Forwarding section, shown while a `--forward`
 * target is set: where the PCM goes and how, the totals, and the
 * connections (active first, then the newest closed) with their connect,
 * first-byte and close times, bytes and drops.
 */
export function ForwardingSection({ forwarding }: { forwarding: Forwarding }) {
  const selectCall = useUi((s) => s.selectCall);
  const rows = forwarding.connections.slice(0, CONNECTIONS_SHOWN).map(connectionView);
  return (
    <div className="recorder-forwarding" data-testid="recorder-forwarding" role="group" aria-label="Forwarding">
      <div className="recorder-finished-head" title={`PCM forwarded to an application (--forward). Bytes sent are ${SENT_MEANS}.`}>
        forwarding
      </div>
      <div className="recorder-forward-figures">
        {forwardingFigures(forwarding).map((f) => (
          <span key={f.id} className={`recorder-forward-figure${f.tone ? ` ${f.tone}` : ''}`} data-testid={`recorder-forward-${f.id}`} data-value={f.value} title={f.title}>
            <span className="muted">{f.label}</span> <span className="mono">{f.value}</span>
          </span>
        ))}
      </div>
      <div className="muted small-print">bytes sent: {SENT_MEANS}</div>
      {rows.length === 0 ? (
        <div className="recorder-none muted small-print">No connection yet: one opens per leg when a recorded call's first audio is decoded.</div>
      ) : (
        <div className="recorder-table" role="table" aria-label="Forwarding connections">
          <div className="recorder-forward-row recorder-row-head" role="row" title={`One connection per recorded call and leg (engine). Connect and close: wall-clock time; first byte: after the connect; bytes: ${SENT_MEANS}; dropped: PCM frames.`}>
            <span role="columnheader">Call-ID</span>
            <span role="columnheader">leg</span>
            <span role="columnheader">state</span>
            <span role="columnheader">connect</span>
            <span role="columnheader">1st byte</span>
            <span role="columnheader">bytes</span>
            <span role="columnheader">dropped</span>
            <span role="columnheader">close</span>
          </div>
          {rows.map((r) => (
            <div key={r.id} role="row" data-testid="recorder-forward-row" data-call-id={r.callId} data-leg={r.leg} data-state={r.state} className={`recorder-forward-row${r.tone ? ` ${r.tone}` : ''}`} title={r.title}>
              <button type="button" role="cell" className="recorder-call mono ellipsis" onClick={() => selectCall(r.key)}>
                {r.callId}
              </button>
              <span role="cell">{r.leg}</span>
              <span role="cell">{r.state}</span>
              <span role="cell" className="mono">
                {r.connect}
              </span>
              <span role="cell" className="mono">
                {r.firstByte}
              </span>
              <span role="cell" className="mono">
                {r.bytes}
              </span>
              <span role="cell" className={`mono${r.dropped !== '0' ? ' warn' : ''}`}>
                {r.dropped}
              </span>
              <span role="cell" className="mono">
                {r.close}
              </span>
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
