/**
 * At start, finds the WAVs a crash left unfinished in a recordings folder
 * (`DIR/YYYY-MM-DD/*.wav`) and writes the header sizes that cover the
 * samples on disk (see `repairPlan` in wav.ts), so every recording plays.
 *
 * It reads each file's 44-byte header and its size, nothing more, and
 * rewrites only the header of a file that needs it. Bounded: only day
 * folders and `.wav` names are looked at, newest day first, up to
 * `maxEntries` directory entries; symbolic links (a day folder or a file) are skipped and
 * every open refuses to follow one, so nothing outside DIR is read or
 * written. A bad file is reported with its reason, never thrown.
 *
 * Run it before the recorder starts: a file being recorded at the time would
 * look unfinished and be "repaired" under the writer.
 */
import { constants, type Dirent } from 'node:fs';
import { type FileHandle, open, opendir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fsErrorText } from './wav-file';
import { WAV_HEADER_BYTES, parseWavHeader, repairPlan, wavHeader } from './wav';

/** Directory entries looked at in day folders, WAV or not: the scan's bound. */
export const DEFAULT_MAX_REPAIR_ENTRIES = 200_000;
const DAY_FOLDER = /^\d{4}-\d{2}-\d{2}$/;
const WAV_NAME = /\.wav$/i;

export interface RepairedWav {
  path: string;
  /** What the header said before. */
  was: { riffSize: number; dataBytes: number };
  dataBytes: number;
  durationMs: number;
  why: string;
}

export interface UnrepairedWav {
  path: string;
  reason: string;
}

export interface RepairReport {
  /** WAV files whose header was read (repaired or not). */
  checked: number;
  repaired: RepairedWav[];
  failed: UnrepairedWav[];
  /** Symbolic links and other non-files under a day folder with a .wav name, left alone. */
  skipped: number;
  /** The scan stopped at `maxEntries`; the rest (older days) was not looked at. */
  truncated: boolean;
}

/** Scans `dir` and repairs what a crash left unfinished. Never throws; a missing `dir` is an empty report. */
export async function repairRecordings(dir: string, opts: { maxEntries?: number } = {}): Promise<RepairReport> {
  const maxEntries = opts.maxEntries ?? DEFAULT_MAX_REPAIR_ENTRIES;
  let entries = 0;
  const report: RepairReport = { checked: 0, repaired: [], failed: [], skipped: 0, truncated: false };
  let days: Dirent[];
  try {
    days = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') report.failed.push({ path: dir, reason: fsErrorText(err, 'reading', dir) });
    return report;
  }
  // Dirent types come from lstat: a symlinked day folder is not a directory here.
  const names = days.filter((d) => d.isDirectory() && DAY_FOLDER.test(d.name)).map((d) => d.name);
  names.sort().reverse();
  for (const day of names) {
    const folder = join(dir, day);
    try {
      for await (const e of await opendir(folder)) {
        if (++entries > maxEntries) {
          report.truncated = true;
          return report;
        }
        if (!WAV_NAME.test(e.name)) continue;
        if (!e.isFile() || !(await repairOne(join(folder, e.name), report))) report.skipped++;
        else report.checked++;
      }
    } catch (err) {
      report.failed.push({ path: folder, reason: fsErrorText(err, 'reading', folder) });
    }
  }
  return report;
}

/**
 * Checks one file and rewrites its header if the plan says so; the outcome
 * goes into `report`. False when it turned out not to be a regular file.
 */
async function repairOne(path: string, report: RepairReport): Promise<boolean> {
  let fh: FileHandle | null = null;
  let doing = 'opening';
  try {
    // O_NOFOLLOW: the name could have been swapped for a link since the listing; O_NONBLOCK: or for a FIFO.
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st = await fh.stat();
    if (!st.isFile()) return false;
    doing = 'reading';
    const buf = Buffer.alloc(WAV_HEADER_BYTES);
    const { bytesRead } = await fh.read(buf, 0, WAV_HEADER_BYTES, 0);
    const parsed = parseWavHeader(buf.subarray(0, bytesRead));
    if (!parsed.ok) {
      report.failed.push({ path, reason: parsed.reason });
      return true;
    }
    const h = parsed.header;
    const plan = repairPlan(h, st.size);
    if (!plan.needed) return true;
    await fh.close();
    fh = null;
    doing = 'repairing the header of';
    fh = await open(path, constants.O_WRONLY | constants.O_NOFOLLOW);
    const { bytesWritten } = await fh.write(wavHeader({ sampleRate: h.sampleRate, channels: h.channels, dataBytes: plan.dataBytes }), 0, WAV_HEADER_BYTES, 0);
    if (bytesWritten !== WAV_HEADER_BYTES) throw Object.assign(new Error('short write'), { code: 'EIO' });
    await fh.sync();
    report.repaired.push({
      path,
      was: { riffSize: h.riffSize, dataBytes: h.dataBytes },
      dataBytes: plan.dataBytes,
      durationMs: (plan.dataBytes / (h.channels * 2) / h.sampleRate) * 1000,
      why: plan.why,
    });
  } catch (err) {
    report.failed.push({ path, reason: fsErrorText(err, doing, path) });
  } finally {
    await fh?.close().catch(() => undefined);
  }
  return true;
}
