import { create } from 'zustand';
import type { CallpathApi, LabSettings, SettingName } from '../../../app/contract';
import { patchOf, resultLine } from '../settings/logic';
import { describeError } from './live';

export type SettingsOutcome = { ok: boolean; line: string } | null;

interface SettingsSlice {
  open: boolean;
  /** The settings as the host last reported them. */
  current: LabSettings | null;
  /** What the fields show; replaced on every keystroke, never mutated. */
  draft: LabSettings | null;
  loading: boolean;
  applying: boolean;
  /** The host's error line, under the field it names. */
  fieldErrors: Partial<Record<SettingName, string>>;
  /** The last Apply's result (or a load error). */
  outcome: SettingsOutcome;
  show(): void;
  close(): void;
  load(api: CallpathApi): Promise<void>;
  edit(name: SettingName, value: string): void;
  apply(api: CallpathApi): Promise<void>;
}

export const useSettings = create<SettingsSlice>()((set, get) => ({
  open: false,
  current: null,
  draft: null,
  loading: false,
  applying: false,
  fieldErrors: {},
  outcome: null,
  show() {
    if (!get().open) set({ open: true, draft: null, fieldErrors: {}, outcome: null });
  },
  close() {
    // Cancel: the draft is thrown away; the next open shows the host's values again.
    set({ open: false, draft: null, fieldErrors: {}, outcome: null });
  },
  async load(api) {
    set({ loading: true });
    try {
      const current = await api.getSettings();
      // A draft being edited stays: a reload (the empty calls list asks after a proxy restart) must not eat typing.
      const { open, draft } = get();
      set({ current, draft: open ? (draft ?? current) : null, loading: false });
    } catch (err) {
      set({ loading: false, outcome: { ok: false, line: `Cannot read the settings: ${describeError(err)}` } });
    }
  },
  edit(name, value) {
    const { draft, fieldErrors } = get();
    if (!draft) return;
    const errors = { ...fieldErrors };
    delete errors[name]; // typing in a field clears its error; the host judges it again on Apply
    set({ draft: { ...draft, [name]: value }, fieldErrors: errors, outcome: null });
  },
  async apply(api) {
    const { current, draft, applying } = get();
    if (!current || !draft || applying) return;
    const patch = patchOf(current, draft);
    if (Object.keys(patch).length === 0) {
      set({ outcome: { ok: true, line: 'Nothing changed.' } });
      return;
    }
    set({ applying: true, outcome: null, fieldErrors: {} });
    try {
      const r = await api.applySettings(patch);
      if (r.ok) {
        // The host's values win (it normalizes, e.g. localhost → 127.0.0.1).
        set({ current: r.settings, draft: get().open ? r.settings : null, outcome: { ok: r.failed.length === 0, line: resultLine(r) } });
      } else {
        set({ current: r.settings, fieldErrors: r.field ? { [r.field]: r.error } : {}, outcome: { ok: false, line: resultLine(r) } });
      }
    } catch (err) {
      set({ outcome: { ok: false, line: `Apply failed: ${describeError(err)}` } });
    } finally {
      set({ applying: false });
    }
  },
}));
