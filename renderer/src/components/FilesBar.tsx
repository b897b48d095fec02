import { useApi } from '../api';
import { formatBytes, targetCount, type ExportTarget } from '../files/logic';
import { useConnection } from '../store/connection';
import { useFiles } from '../store/files';

/**
 * Calls panel row: export the listed calls (with a filter: every stored call
 * that matches, through the engine's query), open a capture, and the last
 * file job's progress or result.
 */
export function FilesBar({ target }: { target: ExportTarget | null }) {
  const api = useApi();
  const online = useConnection((s) => s.status === 'connected');
  const job = useFiles((s) => s.job);
  const openChooser = useFiles((s) => s.openChooser);
  const runImport = useFiles((s) => s.runImport);
  const working = job.kind === 'exporting' || job.kind === 'importing';
  const n = target === null ? 0 : targetCount(target);
  return (
    <div className="files-bar">
      <button
        type="button"
        className="btn"
        data-testid="export-calls"
        data-count={n}
        data-scope={target?.kind ?? 'none'}
        disabled={!online || working || n === 0}
        title={target?.kind === 'query' ? 'Export every stored call that matches the filter, as one file' : 'Export the listed calls as one file'}
        onClick={() => target && openChooser(target)}
      >
        Export {n.toLocaleString('en-US')} call{n === 1 ? '' : 's'}…
      </button>
      <button type="button" className="btn" data-testid="open-capture" disabled={!online || working} title="Import the SIP calls of a .pcap or .pcapng file" onClick={() => void runImport(api)}>
        Open capture…
      </button>
      <FileJobStatus />
    </div>
  );
}

function FileJobStatus() {
  const job = useFiles((s) => s.job);
  switch (job.kind) {
    case 'idle':
      return null;
    case 'importing':
      return (
        <span className="files-status muted" data-testid="files-status" data-state="importing">
          importing…
        </span>
      );
    case 'exporting':
      return job.slow ? (
        <span className="files-status" data-testid="files-status" data-state="exporting">
          <progress data-testid="export-progress" aria-label={`Exporting ${job.format}`} />
          <span className="mono">{formatBytes(job.bytes)}</span>
        </span>
      ) : (
        <span className="files-status muted" data-testid="files-status" data-state="exporting">
          exporting {job.format}…
        </span>
      );
    case 'done':
      return (
        <span className={job.ok ? 'files-status ellipsis' : 'files-status ellipsis error'} data-testid="files-status" data-state={job.ok ? 'ok' : 'error'} title={job.line}>
          {job.line}
        </span>
      );
  }
}
