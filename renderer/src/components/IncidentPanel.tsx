import { useMemo, useState } from 'react';
import type { IncidentId, IncidentPhase } from '../../../app/contract';
import { useApi } from '../api';
import { incidentPanel, QUICK_TITLE, type IncidentButton, type IncidentDetails, type IncidentRow } from '../incidents/panel';
import { useConnection } from '../store/connection';
import { describeError } from '../store/live';
import { useSnapshot } from '../store/snapshot';

/**
 * The incident lab (#16), under the suspects board: one click reproduces an
 * incident of the story, a second applies its fix under the same load. With
 * none running it is one line of buttons, so it takes no room from the
 * calls list; while one runs it opens on its live checks, its story and
 * where to look (collapsible, and bounded in height, for the same reason).
 */
export function IncidentPanel() {
  const api = useApi();
  const online = useConnection((s) => s.status === 'connected');
  const incident = useSnapshot((s) => s.snapshot?.incident ?? null);
  const view = useMemo(() => incidentPanel(incident), [incident]);
  const [quick, setQuick] = useState(false);
  const [open, setOpen] = useState(true);
  // One command at a time: setting an incident up restarts components, and a second click meanwhile would race it.
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const send = (command: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    command()
      .catch((err: unknown) => setError(describeError(err)))
      .finally(() => setBusy(false));
  };
  const run = (id: IncidentId, phase: IncidentPhase) => {
    setOpen(true);
    send(() => api.runIncident(id, phase, quick));
  };
  const disabled = !online || busy;
  const expanded = view.running !== null && open;

  return (
    <section className="incidents" aria-label="Incidents" data-testid="incidents" data-expanded={expanded}>
      <div className="incidents-line">
        <span className="strip-title" title="Reproduce an incident of the story with one click, then apply its fix under the same load; its checks pass or fail live.">
          Incidents
        </span>
        {view.rows.map((row) => (
          <Row key={row.id} row={row} disabled={disabled} onRun={(phase) => run(row.id, phase)} onStop={() => send(() => api.stopIncident())} />
        ))}
        <label className="calls-filter-check incidents-quick" title={QUICK_TITLE}>
          <input type="checkbox" data-testid="incident-quick" checked={quick} onChange={(e) => setQuick(e.target.checked)} />
          quick
        </label>
        {busy ? <span className="muted">…</span> : null}
        {error ? (
          <span className="error ellipsis" data-testid="incident-command-error" role="alert" title={error}>
            {error}
          </span>
        ) : null}
        {view.running ? (
          <button type="button" className="btn btn-ghost incidents-toggle" data-testid="incident-details-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? '▾ details' : '▸ details'}
          </button>
        ) : null}
      </div>
      {expanded && view.running ? <Details d={view.running} /> : null}
    </section>
  );
}

function Row({ row, disabled, onRun, onStop }: { row: IncidentRow; disabled: boolean; onRun: (phase: IncidentPhase) => void; onStop: () => void }) {
  return (
    <span className={row.running ? `incident-row incident-${row.running}` : 'incident-row'} data-testid={`incident-${row.id}`} data-running={row.running ?? 'no'}>
      <span className="incident-title">{row.title}</span>
      {row.badge ? (
        <span className="incident-badge" title={row.badge.title}>
          {row.badge.text}
        </span>
      ) : null}
      <Button b={row.run} testid={`incident-run-${row.id}`} disabled={disabled} onClick={() => onRun('bad')} />
      {row.fix ? <Button b={row.fix} testid={`incident-fix-${row.id}`} disabled={disabled} onClick={() => onRun('fixed')} /> : null}
      {row.stop ? <Button b={row.stop} testid="incident-stop" disabled={disabled} onClick={onStop} /> : null}
    </span>
  );
}

function Button({ b, testid, disabled, onClick }: { b: IncidentButton; testid: string; disabled: boolean; onClick: () => void }) {
  return (
    <button type="button" className={b.pressed ? 'btn incident-btn on' : 'btn incident-btn'} data-testid={testid} aria-pressed={b.pressed} disabled={disabled || !b.enabled} title={b.title} onClick={onClick}>
      {b.label}
    </button>
  );
}

function Details({ d }: { d: IncidentDetails }) {
  return (
    <div className="incident-details" data-testid="incident-details">
      <div className="incident-live">
        <div className="incident-heading">
          <strong>{d.heading}</strong> <span className="muted">{d.phaseLine}</span>
        </div>
        <div className={`incident-verdict incident-verdict-${d.verdict.state}`} data-testid="incident-verdict" data-verdict={d.verdict.state} title={d.verdict.title}>
          {d.verdict.text}
        </div>
        <ul className="incident-checks">
          {d.checks.map((c) => (
            <li key={c.text} className={`incident-check incident-check-${String(c.pass)}`} data-testid="incident-check" data-pass={String(c.pass)} title={c.title}>
              {c.text}
            </li>
          ))}
        </ul>
        {d.error ? (
          <div className="error" data-testid="incident-error" role="alert">
            ⚠ {d.error}
          </div>
        ) : null}
        {d.log.length > 0 ? (
          <ol className="incident-log mono" data-testid="incident-log" title="What the runner did, oldest first">
            {d.log.map((line, i) => (
              // A rolling window of lines that may repeat: the position is the only identity.
              <li key={i}>{line}</li>
            ))}
          </ol>
        ) : null}
      </div>
      <div className="incident-story">
        {d.knownBad ? <p className="warn">{d.knownBad}</p> : null}
        <p>{d.story}</p>
        <p>
          <span className="strip-title">This phase</span> {d.phaseDoes}
        </p>
        <p className="muted">{d.otherPhase}</p>
        <span className="strip-title">Look at</span>
        <ul className="incident-look">
          {d.lookAt.map((l) => (
            <li key={l}>{l}</li>
          ))}
        </ul>
      </div>
    </div>
  );
}
