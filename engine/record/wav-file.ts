/**
 * One WAV file being recorded. Samples are copied into a bounded buffer and
 * go to disk in large sequential writes, never one per packet, with at most
 * one file operation in flight; the header (written first with data size 0)
 * gets its sizes on close.
 *
 *   append ──► buffered chunks (≤ bufferBytes, counted with the one in flight)
 *                 │ a chunk's worth (flushBytes) queued, flush() or close()
 *                 ▼
 *              one writev of everything queued ──► disk, at 44 + bytes on disk
 *
 * Nothing here waits for the disk on the caller's behalf: `append` copies and
 * returns. When the buffer is full while the disk is behind, the samples are
 * dropped whole and counted (the relay's rule: bounded memory, every drop
 * counted). A file error (disk full, permission, I/O) puts the file in an
 * error state with a reason a user can read; appends then only count drops,
 * and `close()` still writes the header for the samples already on disk, so
 * none of them is lost. No method throws or rejects.
 *
 * Memory: chunks are allocated as data arrives (a quiet call holds one), and
 * a couple are kept for reuse, so 100 recordings do not each pin the bound.
 */
import { type FileHandle, mkdir, open, stat } from 'node:fs/promises';
import { endianness } from 'node:os';
import { dirname } from 'node:path';
import { DEFAULT_SAMPLE_RATE, WAV_HEADER_BYTES, type WavChannels, type WavFormat, blockAlign, maxDataBytes, wavHeader } from './wav';

/** Default bound on buffered samples: at 8 kHz stereo, about 33 s of audio. */
export const DEFAULT_BUFFER_BYTES = 1024 * 1024;
/** A write goes out when this much is queued (about 2 s at 8 kHz stereo). */
export const DEFAULT_FLUSH_BYTES = 64 * 1024;
/** Reused chunks kept per file; more would hold memory a quiet file does not need. */
const SPARE_CHUNKS = 2;
const BIG_ENDIAN = endianness() === 'BE';

export interface WavFileOptions {
  sampleRate?: number;
  channels: WavChannels;
  bufferBytes?: number;
  flushBytes?: number;
}

export type WavFileState = 'opening' | 'open' | 'error' | 'closing' | 'closed';

/**
 * Why samples were dropped: the buffer was full while the disk was behind;
 * the file is in its error state; the file was closing or closed; the WAV
 * reached the largest size its header can declare (about 37 h of 8 kHz
 * stereo); the chunk was not whole frames (a caller's bug, dropped whole so
 * the channels never swap).
 */
export type WavDropReason = 'buffer-full' | 'error' | 'closed' | 'size-limit' | 'partial-frame';

export interface WavCloseResult {
  path: string;
  /** Data bytes the finalised header declares (whole frames on disk). */
  dataBytes: number;
  durationMs: number;
  /** The first error, if any; the header may still have been finalised. */
  error: string | null;
  droppedSamples: number;
}

/** How each errno reads to a user; anything else is shown by its code. */
const FS_ERRORS: Record<string, string> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EIO: 'I/O error',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'part of the path is not a folder',
  EISDIR: 'is a folder',
  EEXIST: 'already exists',
  ELOOP: 'symbolic link refused',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files on the system',
};

/** "disk full (ENOSPC) writing /rec/2024-05-01/x.wav": an fs error as a user reads it. */
export function fsErrorText(err: unknown, doing: string, path: string): string {
  return `${fsErrorWhat(err)} ${doing} ${path}`;
}

/** The error as a user reads it, "disk full (ENOSPC)", without what was being done. */
export function fsErrorWhat(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : null;
  return code === null ? (err instanceof Error ? err.message : String(err)) : FS_ERRORS[code] ? `${FS_ERRORS[code]} (${code})` : code;
}

/**
 * `mkdir -p` that fails with the real reason: Node 20's `mkdir(…, { recursive:
 * true })` reports ENOENT where the file system is read-only, which would
 * send a user looking for a missing folder instead of a read-only mount.
 */
export async function makeFolder(path: string): Promise<void> {
  try {
    await mkdir(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return existingFolder(path);
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path) throw err;
    await makeFolder(parent);
    try {
      await mkdir(path);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
      return existingFolder(path);
    }
  }
}

async function existingFolder(path: string): Promise<void> {
  if (!(await stat(path)).isDirectory()) throw Object.assign(new Error(`${path} is not a folder`), { code: 'ENOTDIR' });
}

export class WavFile {
  readonly format: WavFormat;
  /** write(2)/writev(2) calls issued, header included: the figure that shows writes are batched. */
  writes = 0;
  readonly drops: Record<WavDropReason, number> = { 'buffer-full': 0, error: 0, closed: 0, 'size-limit': 0, 'partial-frame': 0 };

  private fh: FileHandle | null = null;
  private state_: WavFileState = 'opening';
  private error_: string | null = null;
  private readonly align: number;
  private readonly bufferBytes: number;
  private readonly flushBytes: number;
  private readonly maxData: number;
  /** Filled chunks, oldest first; the last is the one being filled. */
  private queue: { buf: Buffer; len: number }[] = [];
  private queued = 0;
  private inFlight = 0;
  private spare: Buffer[] = [];
  /** The one file operation in flight (open, a write, the header); never rejects. */
  private busy: Promise<void> | null = null;
  /** Data bytes on disk after the header (may end in a partial frame after a short write). */
  private onDisk = 0;
  /** Data bytes accepted by `append`. */
  private accepted = 0;
  private closing: Promise<WavCloseResult> | null = null;

  private constructor(
    readonly path: string,
    opts: WavFileOptions,
  ) {
    this.format = { sampleRate: opts.sampleRate ?? DEFAULT_SAMPLE_RATE, channels: opts.channels };
    this.align = blockAlign(opts.channels);
    // Chunks hold whole frames, so a frame never straddles two writes' worth of bookkeeping.
    const whole = (n: number) => Math.max(this.align, n - (n % this.align));
    this.flushBytes = whole(opts.flushBytes ?? DEFAULT_FLUSH_BYTES);
    this.bufferBytes = Math.max(this.flushBytes, whole(opts.bufferBytes ?? DEFAULT_BUFFER_BYTES));
    this.maxData = maxDataBytes(opts.channels);
    // Validates the format now (a bad rate is the caller's bug) rather than in the first write.
    wavHeader({ sampleRate: this.format.sampleRate, channels: opts.channels, dataBytes: 0 });
  }

  /**
   * Starts recording to `path`: creates its folder and the file (never over
   * an existing one) and writes a header with data size 0. Returns at once;
   * appends are buffered while the file opens. An open that fails leaves the
   * file in the error state.
   */
  static create(path: string, opts: WavFileOptions): WavFile {
    const f = new WavFile(path, opts);
    f.busy = f.openFile();
    return f;
  }

  get state(): WavFileState {
    return this.state_;
  }

  /** Why the file stopped being written, or null. */
  get error(): string | null {
    return this.error_;
  }

  /** Data bytes on disk (header not included). */
  get bytesWritten(): number {
    return this.onDisk;
  }

  /** Accepted but not yet on disk (queued plus the write in flight). */
  get bufferedBytes(): number {
    return this.queued + this.inFlight;
  }

  /** Duration of the samples on disk. */
  get durationMs(): number {
    return (Math.floor(this.onDisk / this.align) / this.format.sampleRate) * 1000;
  }

  get droppedSamples(): number {
    let n = 0;
    for (const v of Object.values(this.drops)) n += v;
    return n;
  }

  /**
   * Copies `samples` (interleaved when stereo) into the buffer; true when
   * taken, false when dropped and counted. Never waits and never throws.
   */
  append(samples: Int16Array): boolean {
    const n = samples.byteLength;
    if (n === 0) return true;
    const reason = this.refusal(samples.length, n);
    if (reason !== null) {
      this.drops[reason] += samples.length;
      return false;
    }
    const src = Buffer.from(samples.buffer, samples.byteOffset, n);
    let at = 0;
    while (at < n) {
      let last = this.queue[this.queue.length - 1];
      if (!last || last.len === last.buf.length) {
        last = { buf: this.spare.pop() ?? Buffer.allocUnsafe(this.flushBytes), len: 0 };
        this.queue.push(last);
      }
      const k = src.copy(last.buf, last.len, at);
      if (BIG_ENDIAN) last.buf.subarray(last.len, last.len + k).swap16();
      last.len += k;
      at += k;
    }
    this.queued += n;
    this.accepted += n;
    if (this.queued >= this.flushBytes) this.startWrite();
    return true;
  }

  private refusal(count: number, n: number): WavDropReason | null {
    if (this.state_ === 'error') return 'error';
    if (this.state_ === 'closing' || this.state_ === 'closed') return 'closed';
    if (count % this.format.channels !== 0) return 'partial-frame';
    if (this.accepted + n > this.maxData) return 'size-limit';
    if (this.queued + this.inFlight + n > this.bufferBytes) return 'buffer-full';
    return null;
  }

  /**
   * Writes everything appended so far, whatever its size: for the caller's
   * timer, so a quiet call still reaches the disk. Resolves once it is on
   * disk or the file is in error; appends made meanwhile are not waited for.
   */
  async flush(): Promise<void> {
    const target = this.accepted;
    while (this.error_ === null && this.onDisk < target) {
      if (this.busy === null) this.startWrite();
      if (this.busy === null) return;
      await this.busy;
    }
  }

  /**
   * Writes what is buffered, finalises the header's sizes and closes the
   * file. After an error it still writes the header for the samples already
   * on disk. Further appends are dropped as 'closed'. Calling it again
   * returns the same result.
   */
  close(): Promise<WavCloseResult> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<WavCloseResult> {
    // Closing first, so nothing appended from here on is taken and then left unwritten.
    if (this.state_ !== 'error') this.state_ = 'closing';
    await this.flush();
    while (this.busy !== null) await this.busy;
    const dataBytes = Math.min(this.onDisk - (this.onDisk % this.align), this.maxData);
    if (this.fh !== null) {
      const header = wavHeader({ sampleRate: this.format.sampleRate, channels: this.format.channels, dataBytes });
      try {
        this.writes++;
        await this.fh.write(header, 0, WAV_HEADER_BYTES, 0);
      } catch (err) {
        this.error_ ??= fsErrorText(err, 'finalising the header of', this.path);
      }
      try {
        await this.fh.close();
      } catch (err) {
        this.error_ ??= fsErrorText(err, 'closing', this.path);
      }
      this.fh = null;
    }
    this.state_ = 'closed';
    return { path: this.path, dataBytes, durationMs: (dataBytes / this.align / this.format.sampleRate) * 1000, error: this.error_, droppedSamples: this.droppedSamples };
  }

  private async openFile(): Promise<void> {
    let doing = 'creating the folder for';
    try {
      await makeFolder(dirname(this.path));
      doing = 'creating';
      // 'wx': never over an existing recording, and never through a symlink planted at the name.
      this.fh = await open(this.path, 'wx');
      doing = 'writing';
      this.writes++;
      const { bytesWritten } = await this.fh.write(wavHeader({ sampleRate: this.format.sampleRate, channels: this.format.channels, dataBytes: 0 }), 0, WAV_HEADER_BYTES, 0);
      if (bytesWritten !== WAV_HEADER_BYTES) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
      if (this.state_ === 'opening') this.state_ = 'open';
    } catch (err) {
      this.fail(fsErrorText(err, doing, this.path));
    }
    this.busy = null;
    if (this.queued >= this.flushBytes) this.startWrite();
  }

  /** Starts one write of everything queued, unless an operation is in flight. */
  private startWrite(): void {
    if (this.busy !== null || this.fh === null || this.error_ !== null || this.queued === 0) return;
    const chunks = this.queue;
    this.queue = [];
    this.inFlight = this.queued;
    this.queued = 0;
    this.busy = this.writeOut(chunks);
  }

  private async writeOut(chunks: { buf: Buffer; len: number }[]): Promise<void> {
    let bufs = chunks.map((c) => c.buf.subarray(0, c.len));
    try {
      // A short write (the disk filling mid-write) is followed by another for the rest, which then fails with the reason.
      while (bufs.length > 0) {
        this.writes++;
        const { bytesWritten } = await this.fh!.writev(bufs, WAV_HEADER_BYTES + this.onDisk);
        if (bytesWritten === 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
        this.onDisk += bytesWritten;
        this.inFlight -= bytesWritten;
        bufs = skip(bufs, bytesWritten);
      }
    } catch (err) {
      this.fail(fsErrorText(err, 'writing', this.path));
    }
    for (const c of chunks) if (this.spare.length < SPARE_CHUNKS && c.buf.length === this.flushBytes) this.spare.push(c.buf);
    this.busy = null;
    if (this.queued >= this.flushBytes) this.startWrite();
  }

  /** Enters the error state: what was waiting to be written is dropped and counted. */
  private fail(reason: string): void {
    this.error_ ??= reason;
    if (this.state_ !== 'closing' && this.state_ !== 'closed') this.state_ = 'error';
    this.drops.error += Math.ceil((this.queued + this.inFlight) / 2);
    this.queue = [];
    this.queued = 0;
    this.inFlight = 0;
  }
}

/** `bufs` without its first `n` bytes. */
function skip(bufs: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < bufs.length && n >= bufs[i]!.length) n -= bufs[i++]!.length;
  const rest = bufs.slice(i);
  if (n > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(n);
  return rest;
}
