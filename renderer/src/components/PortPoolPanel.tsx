import { useState } from 'react';
import type { RelayStats } from '../../../app/contract';
import { useApi } from '../api';
import { closedByReason } from '../relay/closed';
import { MEASURED, finalTimeoutWarning, overlapWarning, poolGauge, relayAbsentLine, relayFigures } from '../relay/figures';
import { RELEASE_TITLE, releasedText, sessionView } from '../relay/sessions';
import { useConnection } from '../store/connection';
import { describeError } from '../store/live';
import { useSnapshot } from '../store/snapshot';
import { FigureCell } from './FigureCell';
import { useUi } from '../store/ui';
import { PortPoolChart } from './PortPoolChart';

/**
 * The bottom strip's RTP port pool: the pool as a gauge and over time, the
 * relay's figures (each says where and over what window it is measured),
 * sessions closed by reason, the oldest live sessions and "release orphans
 * now"; the warnings that explain a leak before it happens. Without the
 * relay's figures, one line says why and what that means for the calls.
 */
export function PortPoolPanel() {
  const relay = useSnapshot((s) => s.snapshot?.relay ?? null);
  const final = relay ? finalTimeoutWarning(relay.timeouts) : null;
  const overlap = relay ? overlapWarning(relay) : null;
  return (
    <div className={final ? 'portpool-panel portpool-leaking' : 'portpool-panel'} data-testid="portpool-panel" data-relay={relay ? 'on' : 'off'}>
      <div className="portpool-head">
        <span className="strip-title" title={`RTP port pool. Every number: ${MEASURED}.`}>
          RTP port pool · engine · rates over 10 s
        </span>
        <ReleaseOrphans available={relay !== null} />
      </div>
      {final ? (
        <div className="portpool-warning error" data-testid="portpool-final-timeout-off" role="alert" title={final.title}>
          ⚠ {final.text}
        </div>
      ) : null}
      {overlap ? (
        <div className="portpool-warning" data-testid="portpool-ephemeral-overlap" role="alert" title={overlap.title}>
          ⚠ {overlap.text}
        </div>
      ) : null}
      {relay ? (
        <div className="portpool-body">
          <div className="portpool-left">
            <Gauge relay={relay} />
            <Figures relay={relay} />
          </div>
          <PortPoolChart />
          <div className="portpool-right">
            <Closed relay={relay} />
            <Sessions relay={relay} />
          </div>
        </div>
      ) : (
        <AbsentLine />
      )}
    </div>
  );
}

function AbsentLine() {
  const line = useSnapshot((s) => relayAbsentLine(s.snapshot?.components.find((c) => c.name === 'relay')));
  return (
    <div className="portpool-absent muted" data-testid="portpool-absent" title={line}>
      {line}
    </div>
  );
}

function Gauge({ relay }: { relay: RelayStats }) {
  const g = poolGauge(relay.ports);
  const p = relay.ports;
  return (
    <div className={`portpool-gauge${g.tone ? ` ${g.tone}` : ''}`} data-testid="portpool-gauge" data-in-use={p.inUse} data-total={p.total} title={g.title}>
      <div className="portpool-gauge-text">
        <span className="portpool-figure-label">in use</span>
        <span className="mono portpool-gauge-value">{g.text}</span>
        <span className="muted mono">
          lent {p.lent} · q {p.quarantined} · free {p.free}
        </span>
      </div>
      <div className="portpool-bar" role="meter" aria-label="Ports in use" aria-valuemin={0} aria-valuemax={p.total} aria-valuenow={p.inUse}>
        <span className="portpool-bar-used" style={{ width: `${g.inUse * 100}%` }} />
        <span className="portpool-bar-lent" style={{ width: `${g.lent * 100}%` }} />
        <span className="portpool-bar-quarantined" style={{ width: `${g.quarantined * 100}%` }} />
        <span className="portpool-bar-high" style={{ left: `${g.highWater * 100}%` }} title={`high-water ${p.highWater}`} />
      </div>
    </div>
  );
}

function Figures({ relay }: { relay: RelayStats }) {
  return (
    <div className="portpool-figures">
      {relayFigures(relay).map((f) => (
        <FigureCell panel="portpool" key={f.id} {...f} />
      ))}
    </div>
  );
}

function Closed({ relay }: { relay: RelayStats }) {
  const { total, list } = closedByReason(relay.sessions.closed);
  return (
    <div className="portpool-closed ellipsis" data-testid="portpool-closed" data-total={total}>
      <span className="portpool-figure-label" title="Sessions the relay closed since it started, by reason (engine)">
        closed {total}
      </span>
      {list.map((c) => (
        <span key={c.reason} className={c.tone ?? undefined} data-testid={`portpool-closed-${c.reason}`} data-count={c.count} title={c.title}>
          {` · ${c.reason} ${c.count}`}
        </span>
      ))}
    </div>
  );
}

function Sessions({ relay }: { relay: RelayStats }) {
  const selectCall = useUi((s) => s.selectCall);
  const selected = useUi((s) => s.selectedKey);
  const rows = relay.oldest.map((r) => sessionView(r, relay.timeouts));
  if (rows.length === 0) {
    return <div className="portpool-sessions muted small-print">No live sessions.</div>;
  }
  return (
    <div className="portpool-sessions" data-testid="portpool-sessions" role="table" aria-label="Oldest live relay sessions">
      <div className="portpool-session portpool-session-head" role="row" title="The ten oldest live sessions, oldest first (engine, now)">
        <span role="columnheader">Call-ID</span>
        <span role="columnheader">age</span>
        <span role="columnheader">idle</span>
        <span role="columnheader">state</span>
        <span role="columnheader">via</span>
      </div>
      {rows.map((r) => (
        <div key={r.callId} role="row" data-testid="portpool-session" data-call-id={r.callId} className={r.key === selected ? 'portpool-session selected' : 'portpool-session'} title={r.title}>
          <button type="button" role="cell" className="portpool-session-call mono ellipsis" onClick={() => selectCall(r.key)}>
            {r.callId}
          </button>
          <span role="cell" className={`mono${r.ageTone ? ` ${r.ageTone}` : ''}`}>
            {r.age}
          </span>
          <span role="cell" className={`mono${r.idleTone ? ` ${r.idleTone}` : ''}`}>
            {r.idle}
          </span>
          <span role="cell">{r.state}</span>
          <span role="cell">{r.via}</span>
        </div>
      ))}
    </div>
  );
}

/** "Release orphans now": one command, its result (or the engine's refusal) beside it. */
function ReleaseOrphans({ available }: { available: boolean }) {
  const api = useApi();
  const online = useConnection((s) => s.status === 'connected');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ text: string; error: boolean } | null>(null);
  const release = () => {
    setBusy(true);
    setResult(null);
    api
      .releaseOrphans()
      .then((r) => setResult({ text: releasedText(r.released), error: false }))
      .catch((err: unknown) => setResult({ text: describeError(err), error: true }))
      .finally(() => setBusy(false));
  };
  return (
    <span className="portpool-release">
      <button type="button" className="btn" data-testid="release-orphans" disabled={!online || !available || busy} title={RELEASE_TITLE} onClick={release}>
        {busy ? 'releasing…' : 'release orphans now'}
      </button>
      {result ? (
        <span className={`ellipsis${result.error ? ' error' : ' muted'}`} data-testid="release-orphans-result" title={result.text}>
          {result.text}
        </span>
      ) : null}
    </span>
  );
}
