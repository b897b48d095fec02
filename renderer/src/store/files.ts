import { create } from 'zustand';
import type { CallpathApi, ExportFormatName } from '../../../app/contract';
import { PROGRESS_AFTER_MS, exportErrorLine, exportResultLine, formatsFor, importErrorLine, importResultLine } from '../files/logic';
import { describeError, requestRelist } from './live';

/** The open format chooser: which calls, and which formats it offers. */
export interface ExportChooser {
  callIds: string[];
  formats: readonly ExportFormatName[];
  /** What the chooser's title says ("call X" or "12 calls"). */
  subject: string;
}

export type FileJob =
  | { kind: 'idle' }
  | { kind: 'exporting'; format: ExportFormatName; bytes: number; slow: boolean }
  | { kind: 'importing' }
  | { kind: 'done'; ok: boolean; line: string };

interface FilesSlice {
  chooser: ExportChooser | null;
  job: FileJob;
  openChooser(callIds: string[]): void;
  closeChooser(): void;
  runExport(api: CallpathApi, format: ExportFormatName): Promise<void>;
  runImport(api: CallpathApi): Promise<void>;
}

const busy = (job: FileJob) => job.kind === 'exporting' || job.kind === 'importing';

export const useFiles = create<FilesSlice>()((set, get) => ({
  chooser: null,
  job: { kind: 'idle' },
  openChooser(callIds) {
    if (callIds.length === 0) return;
    set({ chooser: { callIds, formats: formatsFor(callIds.length), subject: callIds.length === 1 ? `call ${callIds[0]}` : `${callIds.length} calls` } });
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
      const outcome = await api.exportCalls({ callIds: chooser.callIds, format }, (bytes) => {
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
      set({ job: { kind: 'done', ok: true, line: importResultLine(outcome) } });
      requestRelist();
    } catch (err) {
      set({ job: { kind: 'done', ok: false, line: importErrorLine(describeError(err)) } });
    }
  },
}));
