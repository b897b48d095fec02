import { memo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { COMPONENTS, type ComponentName, type ComponentStatus } from '../../../app/contract';
import { useApi } from '../api';
import { useConnection } from '../store/connection';
import { describeError } from '../store/live';
import { useSnapshot } from '../store/snapshot';

export function ControlBar() {
  const components = useSnapshot(useShallow((s) => s.snapshot?.components ?? []));
  const byName = new Map(components.map((c) => [c.name, c]));
  return (
    <nav className="control-bar" aria-label="Components">
      {COMPONENTS.map((name) => (
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
  const [callError, setCallError] = useState<string | null>(null);

  const state = status?.state ?? 'unknown';
  const running = state === 'running';
  const transitional = state === 'starting' || state === 'stopping';
  const disabled = !online || !status || state === 'not-implemented' || transitional || busy;
  const error = callError ?? status?.error ?? null;

  const onClick = () => {
    setBusy(true);
    setCallError(null);
    api
      .setComponent(name, running ? 'stop' : 'start')
      .then(applyComponent)
      .catch((err: unknown) => setCallError(describeError(err)))
      .finally(() => setBusy(false));
  };

  return (
    <div className={`component component-${state}`}>
      <button
        type="button"
        className="toggle"
        data-testid={`toggle-${name}`}
        data-state={state}
        aria-pressed={running}
        disabled={disabled}
        onClick={onClick}
        title={
          !online
            ? 'Not connected to the engine'
            : state === 'not-implemented'
              ? (status?.detail ?? 'Not implemented yet')
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
          <span className="component-error" title={error}>
            {error}
          </span>
        ) : null}
        {status?.detail ? (
          <span className="component-detail" title={status.detail}>
            {status.detail}
          </span>
        ) : null}
      </div>
    </div>
  );
});
