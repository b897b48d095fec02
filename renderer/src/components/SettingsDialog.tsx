import { memo, useEffect, useMemo, useRef, type FormEvent, type KeyboardEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { ComponentName, ComponentState, SettingsPatch } from '../../../app/contract';
import { useApi } from '../api';
import { SETTING_GROUPS, fieldId, flagOf, patchOf, previewLine, type SettingField } from '../settings/logic';
import { useConnection } from '../store/connection';
import { useSettings } from '../store/settings';
import { useSnapshot } from '../store/snapshot';

/** The lab flags, editable (`,` or the header's Settings button). */
export function SettingsDialog() {
  const open = useSettings((s) => s.open);
  if (!open) return null;
  return <SettingsCard />;
}

function SettingsCard() {
  const api = useApi();
  const close = useSettings((s) => s.close);
  const load = useSettings((s) => s.load);
  const apply = useSettings((s) => s.apply);
  const draft = useSettings((s) => s.draft);
  const current = useSettings((s) => s.current);
  const applying = useSettings((s) => s.applying);
  const online = useConnection((s) => s.status === 'connected');
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => {
    void load(api);
  }, [api, load]);
  const ready = draft !== null;
  useEffect(() => {
    if (ready) formRef.current?.querySelector<HTMLInputElement>('input')?.focus();
  }, [ready]);

  const patch = useMemo(() => (current && draft ? patchOf(current, draft) : {}), [current, draft]);
  const dirty = Object.keys(patch).length > 0;

  const onKeyDown = (e: KeyboardEvent<HTMLElement>) => {
    // The dialog owns the keyboard while open: nothing typed here reaches the console shortcuts.
    e.stopPropagation();
    if (e.key === 'Escape') {
      e.preventDefault();
      close();
    }
  };
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void apply(api);
  };

  return (
    <div className="overlay" data-testid="settings-overlay" onClick={close}>
      <div className="overlay-card settings-card" role="dialog" aria-modal="true" aria-labelledby="settings-title" data-testid="settings-dialog" onClick={(e) => e.stopPropagation()} onKeyDown={onKeyDown}>
        <div className="overlay-title">
          <span id="settings-title">Lab settings</span>
          <span className="header-spacer" />
          <button type="button" className="btn btn-ghost" onClick={close} title="Close (Esc)">
            ✕
          </button>
        </div>
        {draft === null ? (
          <p className="muted" data-testid="settings-loading">
            reading the settings…
          </p>
        ) : (
          <form ref={formRef} className="settings-form" onSubmit={onSubmit} noValidate>
            {SETTING_GROUPS.map((g) => (
              <fieldset key={g.title} className="settings-group">
                <legend>{g.title}</legend>
                {g.fields.map((f) => (
                  <SettingRow key={f.name} field={f} />
                ))}
              </fieldset>
            ))}
            <p className="muted small-print">
              As the command-line flags take them. The UI address, token and auth are start-up only and cannot be changed here.
            </p>
            <div className="settings-footer">
              <Preview patch={patch} />
              <Outcome />
              <div className="settings-buttons">
                <button type="button" className="btn" data-testid="settings-cancel" onClick={close}>
                  Cancel
                </button>
                <button type="submit" className="btn btn-primary" data-testid="settings-apply" disabled={!online || applying || !dirty}>
                  {applying ? 'Applying…' : 'Apply'}
                </button>
              </div>
            </div>
          </form>
        )}
      </div>
    </div>
  );
}

const SettingRow = memo(function SettingRow({ field }: { field: SettingField }) {
  const value = useSettings((s) => s.draft?.[field.name] ?? '');
  const changed = useSettings((s) => s.current !== null && s.draft !== null && s.draft[field.name] !== s.current[field.name]);
  const error = useSettings((s) => s.fieldErrors[field.name] ?? null);
  const edit = useSettings((s) => s.edit);
  const id = fieldId(field.name);
  const errorId = `${id}-error`;
  return (
    <div className={changed ? 'settings-row changed' : 'settings-row'}>
      <label htmlFor={id}>
        {field.label} <span className="mono muted">{flagOf(field.name)}</span>
      </label>
      <input
        id={id}
        name={field.name}
        data-testid={id}
        className={error ? 'input mono invalid' : 'input mono'}
        value={value}
        spellCheck={false}
        autoComplete="off"
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errorId : `${id}-hint`}
        onChange={(e) => edit(field.name, e.target.value)}
      />
      {error ? (
        <span id={errorId} className="settings-error" data-testid={`${id}-error`} role="alert">
          {error}
        </span>
      ) : (
        <span id={`${id}-hint`} className="settings-hint muted">
          {field.hint}
        </span>
      )}
    </div>
  );
});

function Preview({ patch }: { patch: SettingsPatch }) {
  const states = useSnapshot(
    useShallow((s) => {
      const out: Partial<Record<ComponentName, ComponentState>> = {};
      for (const c of s.snapshot?.components ?? []) out[c.name] = c.state;
      return out;
    }),
  );
  const line = previewLine(patch, states);
  return (
    <p className="settings-preview muted" data-testid="settings-preview">
      {line}
    </p>
  );
}

function Outcome() {
  const outcome = useSettings((s) => s.outcome);
  if (!outcome) return null;
  return (
    <p className={outcome.ok ? 'settings-outcome ok' : 'settings-outcome error'} data-testid="settings-result" data-state={outcome.ok ? 'ok' : 'error'} role="status">
      {outcome.line}
    </p>
  );
}

