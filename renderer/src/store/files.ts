import { create } from 'zustand';
import type { CallpathApi, ExportFormat } from '../../../app/contract';
import { PROGRESS_AFTER_MS, exportErrorLine, exportRequestOf, exportResultLine, formatsForTarget, importErrorLine, importFailed, importResultLine, targetCount, type ExportTarget } from '../files/logic';
import { useAliases } from './aliases';
import { describeError, requestRelist } from './live';

/** The open format chooser: what it exports, and which formats it offers. */
export interface ExportChooser {
  target: ExportTarget;
  formats: readonly ExportFormat[];
  /** What the chooser's title says ("call X" or "12 calls"). */
  subject: string;
}

export type FileJob =
  | { kind: 'idle' }
  | { kind: 'exporting'; format: ExportFormat; bytes: number; slow: boolean }
  | { kind: 'importing' }
  | { kind: 'done'; ok: boolean; line: string };

interface FilesSlice {
  chooser: ExportChooser | null;
  job: FileJob;
  /** `subject`: how the title names one call (its Call-ID, not its key). */
  openChooser(target: ExportTarget, subject?: string): void;
  closeChooser(): void;
  runExport(api: CallpathApi, format: ExportFormat): Promise<void>;
  runImport(api: CallpathApi): Promise<void>;
}

const busy = (job: FileJob) => job.kind === 'exporting' || job.kind === 'importing';

export const useFiles = create<FilesSlice>()((set, get) => ({
  chooser: null,
  job: { kind: 'idle' },
  openChooser(target, subject) {
    const n = targetCount(target);
    if (n === 0) return;
    const one = target.kind === 'keys' && n === 1;
    set({ chooser: { target, formats: formatsForTarget(target), subject: subject ?? (one ? `call ${target.keys[0]}` : `${n.toLocaleString('en-US')} calls`) } });
  },
  closeChooser() {
    set({ chooser: null });
  },
  async runExport(api, format) {
    const chooser = get().chooser;
    if (!chooser || busy(get().job)) return;
    set({ chooser: null, job: { kind: 'exporting', format, bytes: 0, slow: false } });
    const timer = setTimeout(() => {
      const job = get().job;
      if (job.kind === 'exporting') set({ job: { ...job, slow: true } });
    }, PROGRESS_AFTER_MS);
    try {
      // The column names given in the console travel with every export.
      const request = exportRequestOf(chooser.target, format, useAliases.getState().aliases);
      const outcome = await api.exportCalls(request, (bytes) => {
        const job = get().job;
        if (job.kind === 'exporting') set({ job: { ...job, bytes } });
      });
      set({ job: { kind: 'done', ok: true, line: exportResultLine(outcome) } });
    } catch (err) {
      set({ job: { kind: 'done', ok: false, line: exportErrorLine(describeError(err)) } });
    } finally {
      clearTimeout(timer);
    }
  },
  async runImport(api) {
    if (busy(get().job)) return;
    set({ job: { kind: 'importing' } });
    try {
      const outcome = await api.openCapture();
      if (outcome === null) {
        set({ job: { kind: 'idle' } });
        return;
      }
      set({ job: { kind: 'done', ok: !importFailed(outcome), line: importResultLine(outcome) } });
      requestRelist();
    } catch (err) {
      set({ job: { kind: 'done', ok: false, line: importErrorLine(describeError(err)) } });
    }
  },
}));
