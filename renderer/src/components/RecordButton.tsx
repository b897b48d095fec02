import { useEffect } from 'react';
import { useApi } from '../api';
import { formatBytes } from '../files/logic';
import { activeRecordingOf, recordButton, shownRecording } from '../recorder/control';
import { formatDurationShort } from '../relay/sessions';
import { useConnection } from '../store/connection';
import { useRecording } from '../store/recording';
import { useSnapshot } from '../store/snapshot';

/**
 * The selected call's Record / Stop recording button (also `r`), what its
 * recording has so far while it runs, and the engine's answer to the last
 * click (a refusal with its reason). It names the call for `r` while shown.
 */
export function RecordButton({ callKey, callId, source }: { callKey: string; callId: string; source: string }) {
  const api = useApi();
  const online = useConnection((s) => s.status === 'connected');
  const recorderState = useSnapshot((s) => s.snapshot?.components.find((c) => c.name === 'recorder')?.state ?? null);
  const expected = useRecording((s) => s.expected);
  const recording = useSnapshot((s) => shownRecording(s.snapshot?.recorder, s.snapshot?.nowUs ?? 0, callId, expected));
  const pending = useRecording((s) => s.pending === callId);
  const notice = useRecording((s) => (s.notice?.callId === callId ? s.notice : null));
  const setTarget = useRecording((s) => s.setTarget);
  useEffect(() => {
    setTarget({ key: callKey, callId, source });
    return () => setTarget(null);
  }, [setTarget, callKey, callId, source]);
  const b = recordButton({ source, recording, recorderState, pending, online });
  return (
    <span className="record-control">
      <button
        type="button"
        className={recording ? 'btn record-btn recording' : 'btn record-btn'}
        data-testid="record-call"
        data-recording={recording ? 'true' : 'false'}
        aria-pressed={recording}
        disabled={b.disabled}
        title={b.title}
        onClick={() => useRecording.getState().record(api, callId, b.on)}
      >
        {recording ? '■' : '●'} {b.label} <kbd>r</kbd>
      </button>
      {recording ? <RecordingSoFar callId={callId} /> : null}
      {notice ? (
        <span className={`ellipsis ${notice.error ? 'error' : 'muted'}`} data-testid="record-call-result" title={notice.text}>
          {notice.text}
        </span>
      ) : null}
    </span>
  );
}

/** The running recording's duration, size and drops, from the snapshot (engine). */
function RecordingSoFar({ callId }: { callId: string }) {
  const a = useSnapshot((s) => activeRecordingOf(s.snapshot?.recorder, callId));
  if (!a) return null;
  const drops = a.caller.drops + a.callee.drops;
  return (
    <span className="record-so-far mono" data-testid="record-call-figures" title={`Recorded so far (engine): ${a.durationMs} ms of audio, ${a.bytes} bytes on disk; packets refused by the full queue ${drops}.\nWAV ${a.wav}`}>
      {formatDurationShort(a.durationMs)} · {formatBytes(a.bytes)}
      {drops > 0 ? <span className="warn"> · ⚠ {drops} dropped</span> : null}
    </span>
  );
}
