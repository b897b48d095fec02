import { useApi } from '../api';
import { ForwardingSection } from '../recorder/ForwardingSection';
import { FINISHED_SHOWN, MEASURED, activeView, finishedView, recorderAbsentLine, recorderFigures, recorderWarning, type RecorderStats } from '../recorder/figures';
import { useSnapshot } from '../store/snapshot';
import { FigureCell } from './FigureCell';
import { useUi } from '../store/ui';

/**
 * The bottom strip's recorder: its state (and the reason when in error), the
 * folder and totals (each says what it counts, measured in the engine), the
 * calls being recorded with their drops, the newest finished recordings with
 * their files, what the start-up repair fixed, and with --forward the PCM
 * forwarding and its connections. Stopped, one line says so
 * and how to start it.
 */
export function RecorderPanel() {
  const recorder = useSnapshot((s) => s.snapshot?.recorder ?? null);
  const warning = recorder ? recorderWarning(recorder) : null;
  return (
    <div className={recorder?.state === 'error' ? 'recorder-panel recorder-error' : 'recorder-panel'} data-testid="recorder-panel" data-recorder={recorder?.state ?? 'stopped'}>
      <div className="recorder-head">
        <span className="strip-title" title={`Call recorder. Every number: ${MEASURED}.`}>
          Recorder · engine
        </span>
      </div>
      {warning ? (
        <div className="recorder-warning error ellipsis" data-testid="recorder-warning" role="alert" title={`${warning.text}\n${warning.title}`}>
          ⚠ {warning.text}
        </div>
      ) : null}
      {recorder ? (
        <div className="recorder-body">
          <div className="recorder-figures">
            {recorderFigures(recorder).map((f) => (
              <FigureCell panel="recorder" key={f.id} {...f} />
            ))}
          </div>
          <div className="recorder-lists">
            <Active recorder={recorder} />
            {recorder.forwarding ? <ForwardingSection forwarding={recorder.forwarding} /> : null}
            <Finished recorder={recorder} />
          </div>
        </div>
      ) : (
        <AbsentLine />
      )}
    </div>
  );
}

function AbsentLine() {
  const line = useSnapshot((s) => recorderAbsentLine(s.snapshot?.components.find((c) => c.name === 'recorder')));
  return (
    <div className="recorder-absent muted" data-testid="recorder-absent" title={line}>
      {line}
    </div>
  );
}

function Active({ recorder }: { recorder: RecorderStats }) {
  const selectCall = useUi((s) => s.selectCall);
  const selected = useUi((s) => s.selectedKey);
  const rows = recorder.active.map(activeView);
  if (rows.length === 0) return <div className="recorder-none muted small-print">No call is being recorded.</div>;
  return (
    <div className="recorder-table" data-testid="recorder-active" role="table" aria-label="Calls being recorded">
      <div className="recorder-row recorder-row-head" role="row" title="Calls being recorded now (engine). caller / callee: packets taken from the relay · refused by the full queue (⚠).">
        <span role="columnheader">Call-ID</span>
        <span role="columnheader">dur</span>
        <span role="columnheader">size</span>
        <span role="columnheader">caller</span>
        <span role="columnheader">callee</span>
      </div>
      {rows.map((r) => (
        <div key={r.callId} role="row" data-testid="recorder-active-row" data-call-id={r.callId} className={`recorder-row${r.key === selected ? ' selected' : ''}${r.tone ? ` ${r.tone}` : ''}`} title={r.title}>
          <button type="button" role="cell" className="recorder-call mono ellipsis" onClick={() => selectCall(r.key)}>
            {r.callId}
          </button>
          <span role="cell" className="mono">
            {r.duration}
          </span>
          <span role="cell" className="mono">
            {r.size}
          </span>
          <span role="cell" className={`mono${r.caller.tone ? ` ${r.caller.tone}` : ''}`} data-testid="recorder-active-caller">
            {r.caller.text}
          </span>
          <span role="cell" className={`mono${r.callee.tone ? ` ${r.callee.tone}` : ''}`} data-testid="recorder-active-callee">
            {r.callee.text}
          </span>
        </div>
      ))}
    </div>
  );
}

function Finished({ recorder }: { recorder: RecorderStats }) {
  const selectCall = useUi((s) => s.selectCall);
  // Where the files are served (the lab server), they download and play; elsewhere (the desktop app) the paths show, with "show in folder".
  const api = useApi();
  const show = api.showRecording;
  const rows = recorder.finished.slice(0, FINISHED_SHOWN).map((s) => finishedView(s, api.recordingUrl));
  if (rows.length === 0) return <div className="recorder-none muted small-print">No recording finished yet.</div>;
  return (
    <div className="recorder-finished" data-testid="recorder-finished" role="list" aria-label="Recent finished recordings">
      <div className="recorder-finished-head" title={`The newest ${FINISHED_SHOWN} finished recordings, newest first (engine): WAV and JSON sidecar file names; hover for the full paths.`}>
        finished
      </div>
      {rows.map((r) => (
        <div key={r.wav} role="listitem" data-testid="recorder-finished-row" data-call-id={r.callId} className={`recorder-done${r.tone ? ` ${r.tone}` : ''}`} title={r.title}>
          <div className="recorder-done-line">
            <button type="button" className="recorder-call mono ellipsis" onClick={() => selectCall(r.key)}>
              {r.callId}
            </button>
            <span className="mono">
              {r.duration} · {r.size}
            </span>
            {r.drops ? <span className="warn mono">{r.drops}</span> : null}
          </div>
          <div className="recorder-done-files mono ellipsis muted">
            {r.wavUrl !== null && r.metadataUrl !== null ? (
              <>
                <a href={r.wavUrl} download={r.wav} data-testid="recorder-finished-wav">
                  {r.wav}
                </a>{' '}
                ·{' '}
                <a href={r.metadataUrl} download={r.metadata}>
                  {r.metadata}
                </a>
              </>
            ) : (
              <>
                <span data-testid="recorder-finished-wav">{r.wav}</span> · {r.metadata}
                {show ? (
                  <>
                    {' '}
                    <button type="button" className="recorder-call" onClick={() => void show(r.wavPath).catch(() => undefined)} title={`Open the folder of ${r.wavPath} with the file selected`}>
                      show in folder
                    </button>
                  </>
                ) : null}
              </>
            )}
          </div>
          {r.wavUrl !== null && !r.error ? <audio className="recorder-play" controls preload="none" src={r.wavUrl} data-testid="recorder-finished-play" /> : null}
          {r.error ? (
            <div className="error ellipsis" data-testid="recorder-finished-error">
              {r.error}
            </div>
          ) : null}
        </div>
      ))}
    </div>
  );
}
