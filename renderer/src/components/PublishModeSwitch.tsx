import { useState } from 'react';
import type { PublishMode } from '../../../app/contract';
import { useApi } from '../api';
import { MODE_CHOICES, modeChoice } from '../publish/controls';
import { resultLine } from '../settings/logic';
import { useConnection } from '../store/connection';
import { describeError } from '../store/live';

/** The delivery mode, switched through the settings (`publishMode`), with the host's answer beside it. */
export function PublishModeSwitch({ mode }: { mode: PublishMode }) {
  const api = useApi();
  const online = useConnection((s) => s.status === 'connected');
  // The mode asked for, until the host answers; the snapshot's mode is the truth after that.
  const [pending, setPending] = useState<PublishMode | null>(null);
  const [outcome, setOutcome] = useState<{ ok: boolean; line: string } | null>(null);
  const shown = pending ?? mode;
  const choice = modeChoice(shown);

  const onChange = (next: PublishMode) => {
    if (next === mode) return;
    setPending(next);
    setOutcome(null);
    api
      .applySettings({ publishMode: next })
      .then((r) => setOutcome({ ok: r.ok && r.failed.length === 0, line: resultLine(r) }))
      .catch((err: unknown) => setOutcome({ ok: false, line: `Switching to ${next} failed: ${describeError(err)}` }))
      .finally(() => setPending(null));
  };

  return (
    <span className="publish-mode">
      <select
        data-testid="publish-mode"
        data-mode={mode}
        className={choice.bad ? 'input publish-mode-bad' : 'input'}
        aria-label="Delivery mode of call events"
        title={choice.title}
        value={shown}
        disabled={!online || pending !== null}
        onChange={(e) => onChange(e.target.value as PublishMode)}
      >
        {MODE_CHOICES.map((c) => (
          <option key={c.mode} value={c.mode} title={c.title}>
            {c.label}
          </option>
        ))}
      </select>
      {pending !== null ? <span className="muted">switching…</span> : null}
      {outcome ? (
        <span className={`publish-mode-result ellipsis ${outcome.ok ? 'muted' : 'error'}`} data-testid="publish-mode-result" data-ok={outcome.ok} title={outcome.line}>
          {outcome.line}
        </span>
      ) : null}
    </span>
  );
}
