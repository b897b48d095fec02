import { create } from 'zustand';
import { LIVE_SOURCE, type CallpathApi } from '../../../app/contract';
import { recordResultLine, shownRecording, type ExpectedRecording } from '../recorder/control';
import { describeError } from './live';
import { useSnapshot } from './snapshot';

/** The call the ladder shows, as the Record button knows it (so `r` acts on the same call). */
export interface RecordTarget {
  key: string;
  callId: string;
  source: string;
}

interface RecordingSlice {
  /** Set by the selected call's Record button while it is on screen. */
  target: RecordTarget | null;
  /** Call-ID of the command on its way, or null: one at a time. */
  pending: string | null;
  /** The last command's answer, for the call it was about. */
  notice: { callId: string; text: string; error: boolean } | null;
  expected: ExpectedRecording | null;
  setTarget(target: RecordTarget | null): void;
  /** Starts (`on`) or stops recording a live call and keeps the engine's answer. */
  record(api: CallpathApi, callId: string, on: boolean): void;
  /** `r`: records the target call, or stops recording it. */
  toggleTarget(api: CallpathApi): void;
}

export const useRecording = create<RecordingSlice>()((set, get) => ({
  target: null,
  pending: null,
  notice: null,
  expected: null,
  setTarget(target) {
    const t = get().target;
    if (t?.key !== target?.key || t?.callId !== target?.callId || t?.source !== target?.source) set({ target });
  },
  record(api, callId, on) {
    if (get().pending !== null) return;
    set({ pending: callId, notice: null });
    api
      .recordCall(callId, on)
      .then((result) => {
        const asOfUs = useSnapshot.getState().snapshot?.nowUs ?? 0;
        set({ notice: { callId, ...recordResultLine(result) }, expected: result.ok ? { callId, recording: result.recording, asOfUs } : get().expected });
      })
      .catch((err: unknown) => set({ notice: { callId, text: describeError(err), error: true } }))
      .finally(() => set({ pending: null }));
  },
  toggleTarget(api) {
    const { target, expected } = get();
    if (target === null) return;
    if (target.source !== LIVE_SOURCE) {
      set({ notice: { callId: target.callId, text: `only live calls can be recorded (this one is from ${target.source})`, error: true } });
      return;
    }
    const snap = useSnapshot.getState().snapshot;
    get().record(api, target.callId, !shownRecording(snap?.recorder, snap?.nowUs ?? 0, target.callId, expected));
  },
}));
