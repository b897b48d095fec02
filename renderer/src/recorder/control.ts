/**
 * Recording one call by hand (the selected call's Record button and `r`),
 * the pure part: whether the call is being recorded as the console should
 * show it, what the button says and offers, and the line a command's answer
 * leaves beside it. Unit-tested without a DOM (test/unit/recorder-ui.test.ts).
 */
import { LIVE_SOURCE, type ComponentState, type RecordCallResult } from '../../../app/contract';
import type { ActiveRecording, RecorderStats } from './figures';

/** The recording of `callId` in the snapshot's recorder section, or null. */
export function activeRecordingOf(recorder: RecorderStats | null | undefined, callId: string): ActiveRecording | null {
  return recorder?.active.find((a) => a.callId === callId) ?? null;
}

/**
 * What the last accepted command made of a call, and the engine time of the
 * snapshot on screen when its answer came: snapshots up to that time were
 * built before the command took effect, so they do not say otherwise yet.
 */
export interface ExpectedRecording {
  callId: string;
  recording: boolean;
  asOfUs: number;
}

/**
 * Whether `callId` is being recorded, as the console shows it: the
 * snapshot's active recordings, except that a command just accepted wins
 * over the snapshots built before it (so the button does not flip back for
 * a batch after a click).
 */
export function shownRecording(recorder: RecorderStats | null | undefined, snapshotNowUs: number, callId: string, expected: ExpectedRecording | null): boolean {
  if (expected !== null && expected.callId === callId && snapshotNowUs <= expected.asOfUs) return expected.recording;
  return activeRecordingOf(recorder, callId) !== null;
}

export interface RecordButton {
  /** What a click (or `r`) asks: start (true) or stop (false). */
  on: boolean;
  label: string;
  title: string;
  disabled: boolean;
}

export interface RecordButtonInput {
  /** The call's source: only live calls go through the relay. */
  source: string;
  recording: boolean;
  /** The recorder component's state, or null when unknown. */
  recorderState: ComponentState | null;
  /** A command for this call is on its way. */
  pending: boolean;
  /** Connected to the engine. */
  online: boolean;
}

/**
 * The selected call's Record / Stop recording button. It stays clickable
 * while the recorder is stopped: the engine's refusal then says why, which
 * tells more than a greyed-out button.
 */
export function recordButton(i: RecordButtonInput): RecordButton {
  const on = !i.recording;
  const label = i.pending ? (on ? 'Starting…' : 'Stopping…') : on ? 'Record' : 'Stop recording';
  if (i.source !== LIVE_SOURCE) {
    return { on, label, disabled: true, title: `Only live calls can be recorded: the recorder taps the relay's media, and this call was read from ${i.source}.` };
  }
  if (!i.online) return { on, label, disabled: true, title: 'Not connected to the engine.' };
  const lines = on
    ? [
        'Record this call from now on (r): a stereo WAV (caller left, callee right) and a JSON sidecar in the recordings folder.',
        'It needs the recorder running and the relay carrying the call\'s media; otherwise the engine says why.',
      ]
    : ['Stop recording this call (r): the WAV header is finalised and the sidecar written; the call goes on.'];
  if (on && i.recorderState !== null && i.recorderState !== 'running') lines.push(`The recorder is ${i.recorderState}: start it with the recorder toggle first.`);
  return { on, label, disabled: i.pending, title: lines.join('\n') };
}

/** The line a `recordCall` answer leaves beside the button. */
export function recordResultLine(result: RecordCallResult): { text: string; error: boolean } {
  if (!result.ok) return { text: `refused: ${result.reason}`, error: true };
  return result.recording ? { text: 'recording', error: false } : { text: 'stopped: WAV finalised', error: false };
}
