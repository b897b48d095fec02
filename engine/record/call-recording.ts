/**
 * One call being recorded: RTP from the relay's tap in, a WAV and its JSON
 * sidecar out.
 *
 *   push() ──► PacketQueue (bounded; full → refused, counted per direction)
 *                 │ drain(), on the Recorder's timer
 *                 ▼
 *   Playout per direction (reorder, G.711 decode, silence for gaps)
 *                 │ PCM chunks
 *                 ▼
 *   CallTimeline (both directions on one 8 kHz clock) ──► WavFile (bounded buffer, large writes)
 *
 * `push` only queues, so the relay never waits on decoding or the disk. The
 * work happens in `drain`, synchronously and bounded by its budget; the disk
 * writes happen in WavFile, which never makes anyone wait. Packets are taken,
 * not copied: the caller hands over buffers it will not reuse.
 *
 * With `onPcm`, each direction's PCM is also handed out as it is decoded
 * (the Recorder forwards it to an application, forward/forwarder.ts).
 *
 * Errors: a file error (disk full, unwritable folder) puts the WavFile, and
 * so the recording, in its error state with the reason; pushes are still
 * taken and counted, and `stop()` still finalises the header for what
 * reached the disk. Nothing here throws on what the network sends.
 */
import { rtpKind, rtpPayloadType } from '../rtp/rtp-packet';
import type { PayloadFormat } from '../rtp/stream-stats';
import { CallTimeline, TIMELINE_RATE } from './call-timeline';
import { type RecordingDirection, type RecordingLayout, type RecordingPaths, buildRecordingMetadata, recordingPaths, writeRecordingMetadata } from './metadata';
import { type DirectionIndex, PacketQueue } from './packet-queue';
import { PayloadCounts } from './payload-names';
import { type PcmSink, Playout } from './playout';
import { DEFAULT_BUFFER_BYTES, DEFAULT_FLUSH_BYTES, WavFile } from './wav-file';

export type Direction = 'caller' | 'callee';

/** The call as SIP names it; only the Call-ID is required. */
export interface CallIdentity {
  callId: string;
  fromUri?: string;
  fromTag?: string;
  toUri?: string;
  toTag?: string;
}

/** Payload type → format per direction, from each side's SDP (RFC 3551's static types apply underneath). */
export interface DirectionPayloads {
  caller?: ReadonlyMap<number, PayloadFormat>;
  callee?: ReadonlyMap<number, PayloadFormat>;
}

export interface CallRecordingOptions {
  /** Stereo (caller left, callee right; the default) or both mixed to mono. */
  mix?: RecordingLayout;
  /** Bound of the queue between the tap and the drain, in packets. */
  queuePackets?: number;
  /** Packets the playout holds back for reordering. */
  reorderWindow?: number;
  /** A direction silent this long while the other talks is written as silence (see call-timeline.ts). */
  idleMs?: number;
  /** The WavFile's buffer bound, bytes. */
  bufferBytes?: number;
  /**
   * Each direction's decoded PCM as its Playout produces it (gaps already
   * filled with silence), in `drain` and `stop`: on the drain's thread, never
   * the relay's. The Recorder's forwarder sends it to an application
   * (forward/forwarder.ts). The array is shared with the WAV path: read it,
   * do not change it. Must not throw (Forwarder.send does not).
   */
  onPcm?: (direction: Direction, samples: Int16Array) => void;
}

export const CALL_RECORDING_DEFAULTS = { mix: 'stereo', queuePackets: 256, idleMs: 1000 } as const;
/** Most frames handed to the WavFile in one append: 1 s. */
const MAX_APPEND_FRAMES = TIMELINE_RATE;
/** Decoded samples held while the disk is behind before they are pushed at the WavFile anyway (it drops and counts). */
const MAX_PENDING_SAMPLES = 16 * TIMELINE_RATE;

export type RecordingState = 'recording' | 'error' | 'stopped';

/** Packets taken into the queue, and those dropped on the way (refused by the full queue, or by the relay's tap). */
export interface DirectionFigures {
  packets: number;
  drops: number;
}

/** For the UI while the recording runs. */
export interface CallRecordingFigures {
  callId: string;
  state: RecordingState;
  error: string | null;
  startUs: number;
  wav: string;
  metadata: string;
  /** Data bytes on disk (header not included). */
  bytes: number;
  durationMs: number;
  queued: number;
  caller: DirectionFigures;
  callee: DirectionFigures;
}

/** What `stop()` resolves with. */
export interface RecordingSummary {
  callId: string;
  wav: string;
  metadata: string;
  startUs: number;
  endUs: number;
  /** Data bytes the finalised WAV header declares. */
  bytes: number;
  durationMs: number;
  /** Packets dropped on the way here (the relay's tap behind, the queue full), both directions. */
  drops: number;
  /** Samples the WavFile dropped (buffer full, error). */
  droppedSamples: number;
  /** The first error: the WAV's, else the sidecar's. */
  error: string | null;
  /** Why the sidecar could not be written, or null. */
  metadataError: string | null;
}

export class CallRecording {
  readonly paths: RecordingPaths;
  readonly layout: RecordingLayout;
  /** Pushes refused because the recording was stopping or stopped. */
  refusedAfterStop = 0;
  /** Of its drops, those already handed to the recorder's per-call reports (`takeDrops`). */
  private reportedDrops = 0;

  private readonly queue: PacketQueue;
  private readonly playouts: [Playout, Playout];
  private readonly payloads: [PayloadCounts, PayloadCounts];
  private readonly timeline: CallTimeline;
  private readonly wav: WavFile;
  private readonly bufferBytes: number;
  private readonly idleUs: number;
  private latestUs: number;
  private accepting = true;
  private stopping: Promise<RecordingSummary> | null = null;
  private summary: RecordingSummary | null = null;

  constructor(
    private identity: CallIdentity,
    dir: string,
    readonly startUs: number,
    payloads: DirectionPayloads = {},
    options: CallRecordingOptions = {},
  ) {
    this.layout = options.mix === 'mono' ? 'mono' : 'stereo';
    const channels = this.layout === 'stereo' ? 2 : 1;
    this.paths = recordingPaths(dir, identity.callId, startUs);
    this.queue = new PacketQueue(positiveInt(options.queuePackets, CALL_RECORDING_DEFAULTS.queuePackets));
    this.idleUs = positiveInt(options.idleMs, CALL_RECORDING_DEFAULTS.idleMs) * 1000;
    this.latestUs = startUs;
    this.timeline = new CallTimeline(startUs, channels);
    const window = options.reorderWindow;
    const onPcm = options.onPcm;
    const sink = (d: DirectionIndex, direction: Direction): PcmSink =>
      onPcm === undefined
        ? (s, p) => this.timeline.pcm(d, s, p)
        : (s, p) => {
            onPcm(direction, s);
            this.timeline.pcm(d, s, p);
          };
    this.playouts = [
      new Playout(sink(0, 'caller'), { payloads: payloads.caller, window }),
      new Playout(sink(1, 'callee'), { payloads: payloads.callee, window }),
    ];
    this.payloads = [new PayloadCounts(payloads.caller), new PayloadCounts(payloads.callee)];
    const align = channels * 2;
    const bytes = positiveInt(options.bufferBytes, DEFAULT_BUFFER_BYTES);
    this.bufferBytes = Math.max(DEFAULT_FLUSH_BYTES, bytes - (bytes % align));
    this.wav = WavFile.create(this.paths.wav, { channels, sampleRate: TIMELINE_RATE, bufferBytes: this.bufferBytes, flushBytes: DEFAULT_FLUSH_BYTES });
  }


  /**
   * What SIP says of the call, learnt after the recording started: a call's
   * media can open before the call store has its INVITE (the proxy does not
   * wait for the relay), so From, To and the tags may only be known by the
   * stop. Fields already known stay.
   */
  complete(more: Omit<CallIdentity, 'callId'>): void {
    const c = { ...this.identity };
    for (const k of ['fromUri', 'fromTag', 'toUri', 'toTag'] as const) if (!c[k] && more[k]) c[k] = more[k];
    this.identity = c;
  }

  get call(): Readonly<CallIdentity> {
    return this.identity;
  }

  get state(): RecordingState {
    if (this.summary !== null) return 'stopped';
    return this.wav.error === null ? 'recording' : 'error';
  }

  get error(): string | null {
    return this.summary !== null ? this.summary.error : this.wav.error;
  }

  /**
   * One datagram as the relay received it, taken (not copied). False when
   * refused: the queue is full (counted as a drop for the direction) or the
   * recording is stopping. Never throws, never waits.
   */
  push(direction: Direction, arrivalUs: number, packet: Buffer): boolean {
    if (!this.accepting) {
      this.refusedAfterStop++;
      return false;
    }
    return this.queue.push(direction === 'caller' ? 0 : 1, arrivalUs, packet);
  }

  /** Packets of this direction dropped on the way here (the relay's tap fell behind): counted with the queue's. */
  dropped(direction: Direction, count: number): void {
    this.queue.countDropped(direction === 'caller' ? 0 : 1, count);
  }

  /** Packets dropped (both directions) since the last call: the recorder's per-call report takes them. */
  takeDrops(): number {
    const total = this.queue.drops[0] + this.queue.drops[1];
    const n = total - this.reportedDrops;
    this.reportedDrops = total;
    return n;
  }

  /** Decodes up to `budget` queued packets and hands the frames both directions have reached to the WAV. Returns the packets taken. */
  drain(budget = Infinity): number {
    if (this.summary !== null) return 0;
    const n = this.queue.drain(budget, this.onPacket);
    for (const d of this.timeline.goneQuiet(this.idleUs)) {
      this.playouts[d].flush();
      this.timeline.markIdle(d);
    }
    this.write(this.timeline.readyUntil(this.idleUs), false);
    return n;
  }

  /** Starts a write of whatever the WAV buffers, for a quiet call's few packets; the Recorder calls it now and then. */
  flushToDisk(): void {
    if (this.summary === null && this.wav.bufferedBytes > 0) void this.wav.flush();
  }

  figures(): CallRecordingFigures {
    const q = this.queue;
    return {
      callId: this.call.callId,
      state: this.state,
      error: this.error,
      startUs: this.startUs,
      wav: this.paths.wav,
      metadata: this.paths.metadata,
      bytes: this.summary?.bytes ?? this.wav.bytesWritten,
      durationMs: this.summary?.durationMs ?? Math.round(this.wav.durationMs),
      queued: q.length,
      caller: { packets: q.accepted[0], drops: q.drops[0] },
      callee: { packets: q.accepted[1], drops: q.drops[1] },
    };
  }

  /**
   * Stops taking packets, decodes what is queued, plays out what the jitter
   * buffers hold, finalises the WAV and writes the sidecar. `endUs` defaults
   * to the later of the last arrival and the end of the audio. Calling it
   * again returns the same result. Never rejects.
   */
  stop(endUs?: number): Promise<RecordingSummary> {
    this.stopping ??= this.finish(endUs);
    return this.stopping;
  }

  private readonly onPacket = (d: DirectionIndex, arrivalUs: number, packet: Buffer): void => {
    if (rtpKind(packet) === 'rtp') {
      // A non-number arrival (a caller's bug) is taken as the latest one, not allowed to poison the clock.
      const at = Number.isFinite(arrivalUs) ? arrivalUs : this.latestUs;
      if (at > this.latestUs) this.latestUs = at;
      this.timeline.arrival(d, at);
      this.payloads[d].count(rtpPayloadType(packet));
    }
    this.playouts[d].push(packet);
  };

  /**
   * Hands frames up to `upTo` to the WavFile in appends of at most a second,
   * no more than its buffer has room for; the rest waits for the next drain.
   * Past MAX_PENDING_SAMPLES of decoded audio waiting (the disk is behind),
   * or when `force`, it appends anyway and the WavFile drops and counts.
   */
  private write(upTo: number, force: boolean): void {
    const align = this.timeline.channels * 2;
    while (this.timeline.frames < upTo) {
      let room = Math.floor((this.bufferBytes - this.wav.bufferedBytes) / align);
      if (room <= 0) {
        if (!force && this.timeline.pendingSamples <= MAX_PENDING_SAMPLES) return;
        room = MAX_APPEND_FRAMES;
      }
      const n = Math.min(upTo - this.timeline.frames, room, MAX_APPEND_FRAMES);
      this.wav.append(this.timeline.take(this.timeline.frames + n));
    }
  }

  private async finish(endUs: number | undefined): Promise<RecordingSummary> {
    this.accepting = false;
    this.queue.drain(Infinity, this.onPacket);
    for (const p of this.playouts) p.flush();
    const end = this.timeline.end();
    let force = false;
    for (;;) {
      this.write(end, force);
      if (this.timeline.frames >= end) break;
      const before = this.wav.bufferedBytes;
      await this.wav.flush();
      // The WavFile always frees its buffer on flush (written or dropped on error); if it did not, do not spin.
      force = this.wav.bufferedBytes >= before;
    }
    const closed = await this.wav.close();
    const audioEndUs = this.startUs + (this.timeline.frames * 1_000_000) / TIMELINE_RATE;
    const stopUs = typeof endUs === 'number' && Number.isFinite(endUs) ? endUs : Math.max(this.latestUs, audioEndUs);
    const c = this.call;
    const doc = buildRecordingMetadata({
      callId: c.callId, startUs: this.startUs, endUs: stopUs, paths: this.paths, layout: this.layout, sampleRate: TIMELINE_RATE,
      from: { uri: c.fromUri || null, tag: c.fromTag || null },
      to: { uri: c.toUri || null, tag: c.toTag || null },
      caller: this.direction(0),
      callee: this.direction(1),
      dataBytes: closed.dataBytes, droppedSamples: closed.droppedSamples, error: closed.error,
    });
    const written = await writeRecordingMetadata(this.paths.metadata, doc);
    const metadataError = written.ok ? null : written.reason;
    const { wav, metadata } = this.paths;
    this.summary = { callId: c.callId, wav, metadata, startUs: this.startUs, endUs: stopUs, bytes: closed.dataBytes, durationMs: doc.durationMs, drops: this.queue.drops[0] + this.queue.drops[1], droppedSamples: closed.droppedSamples, error: closed.error ?? metadataError, metadataError };
    return this.summary;
  }

  private direction(d: DirectionIndex): RecordingDirection {
    const f = this.playouts[d].snapshot();
    const p = this.payloads[d];
    return { codec: p.decodedCodec(), undecoded: p.undecoded(), packets: f.packets, lost: f.lostPackets, late: f.late, duplicates: f.duplicates, drops: this.queue.drops[d] };
  }
}

function positiveInt(v: number | undefined, fallback: number): number {
  return v !== undefined && Number.isInteger(v) && v > 0 ? v : fallback;
}
