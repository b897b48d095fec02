import { MAX_EXPORT_CALLS, type CallSummary } from '../../../app/contract';
import { useApi } from '../api';
import { formatBytes, selectionIds } from '../files/logic';
import { useConnection } from '../store/connection';
import { useFiles } from '../store/files';

/** Calls panel row: export the listed calls, open a capture, and the last file job's progress or result. */
export function FilesBar({ rows }: { rows: readonly CallSummary[] }) {
  const api = useApi();
  const online = useConnection((s) => s.status === 'connected');
  const job = useFiles((s) => s.job);
  const openChooser = useFiles((s) => s.openChooser);
  const runImport = useFiles((s) => s.runImport);
  const working = job.kind === 'exporting' || job.kind === 'importing';
  const n = Math.min(rows.length, MAX_EXPORT_CALLS);
  return (
    <div className="files-bar">
      <button
        type="button"
        className="btn"
        data-testid="export-calls"
        disabled={!online || working || n === 0}
        title="Export the calls that match the filter as one file"
        onClick={() => openChooser(selectionIds(rows))}
      >
        Export {n} call{n === 1 ? '' : 's'}…
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
