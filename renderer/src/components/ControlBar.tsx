import { memo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { COMPONENT_NAMES, type ComponentName, type ComponentStatus } from '../../../app/contract';
import { useApi } from '../api';
import { shownError, toggleNotice } from '../controls/logic';
import { useConnection } from '../store/connection';
import { describeError } from '../store/live';
import { useSnapshot } from '../store/snapshot';

export function ControlBar() {
  const components = useSnapshot(useShallow((s) => s.snapshot?.components ?? []));
  const byName = new Map(components.map((c) => [c.name, c]));
  return (
    <nav className="control-bar" aria-label="Components">
      {COMPONENT_NAMES.map((name) => (
        <ComponentToggle key={name} name={name} status={byName.get(name) ?? null} />
      ))}
    </nav>
  );
}

const ComponentToggle = memo(function ComponentToggle({ name, status }: { name: ComponentName; status: ComponentStatus | null }) {
  const api = useApi();
  const applyComponent = useSnapshot((s) => s.applyComponent);
  const online = useConnection((s) => s.status === 'connected');
  const [busy, setBusy] = useState(false);
  // The last click's result when it did not do what was asked (or the call failed); cleared by the next click.
  const [notice, setNotice] = useState<string | null>(null);

  const state = status?.state ?? 'unknown';
  const running = state === 'running';
  // A failed component is off; a click tries to start it again (a stop from the API clears its error).
  const on = running;
  const transitional = state === 'starting' || state === 'stopping';
  const disabled = !online || !status || state === 'not-implemented' || transitional || busy;
  const error = shownError(status, notice);

  const onClick = () => {
    const action = on ? 'stop' : 'start';
    setBusy(true);
    setNotice(null);
    api
      .setComponent(name, action)
      .then((next) => {
        applyComponent(next);
        setNotice(toggleNotice(action, next));
      })
      .catch((err: unknown) => setNotice(describeError(err)))
      .finally(() => setBusy(false));
  };

  return (
    <div className={`component component-${state}`}>
      <button
        type="button"
        className="toggle"
        data-testid={`toggle-${name}`}
        data-state={state}
        aria-pressed={on}
        disabled={disabled}
        onClick={onClick}
        title={
          !online
            ? 'Not connected to the engine'
            : state === 'not-implemented'
              ? (status?.detail ?? 'Not implemented yet')
              : state === 'failed'
                ? `The ${name} failed${status?.error ? `: ${status.error}` : ''} — click to start it again`
                : running
                  ? `Stop the ${name}`
                  : `Start the ${name}`
        }
      >
        <span className="toggle-track" aria-hidden="true">
          <span className="toggle-knob" />
        </span>
        <span className="toggle-name">{name}</span>
        <span className="toggle-state">{busy && !transitional ? '…' : state}</span>
      </button>
      <div className="component-info">
        {status?.endpoint ? <span className="component-endpoint">{status.endpoint}</span> : null}
        {error ? (
          <span className="component-error" data-testid={`component-error-${name}`} title={error}>
            {error}
          </span>
        ) : null}
        {status?.detail && status.detail !== error ? (
          <span className="component-detail" data-testid={`component-detail-${name}`} title={status.detail}>
            {status.detail}
          </span>
        ) : null}
      </div>
    </div>
  );
});
