/**
 * Messages between a thread host (main thread, `thread-host.ts`) and the
 * worker it runs (`thread-side.ts`). Generic over what a start takes
 * (`Start`), what a started worker reports back (`Ready`, e.g. the port it
 * bound) and its counters (`Stats`). Structured clone carries all of it
 * except capture batches, which are transferred ArrayBuffers.
 *
 *   main                          worker
 *   start ───────────────────────▶
 *        ◀─────────────── started | start-failed
 *        ◀─────────────── capture (seq, batch) ... ─▶ ack (seq)
 *        ◀─────────────── stats (every few hundred ms)
 *   flush (id) ──────────────────▶
 *        ◀─────────────── capture, stats, flushed (id)
 *        ◀─────────────── failed (at any time after started)
 *        ◀─────────────── note (a ladder note, at most NOTES_PER_SECOND)
 *   configure (options) ─────────▶ (new settings, no reply)
 *        ◀─────────────── request (id, payload): the worker waits for …
 *   reply (id, value) ───────────▶ … this (inline publishing; the relay's SDP)
 *        ◀─────────────── tell (payload) ─▶ one way, either direction, no answer
 *   call (id, payload) ──────────▶ the main thread waits for …
 *        ◀─────────────── result (id, ok, value | message) … this (relay shards: bind, close)
 *   batch (messages) ◀──────────▶ replies, calls, tells, requests and results of one turn, in order
 *   stop ────────────────────────▶
 *        ◀─────────────── capture, stats, stopped
 */
import type { NoteEvent } from '../events';
import type { DropCount } from '../metrics/drops';

export type ToWorker<Start> =
  | { type: 'start'; options: Start }
  | { type: 'stop' }
  /** Every batch up to `seq` is in the main thread's hands. */
  | { type: 'ack'; seq: number }
  | { type: 'flush'; id: number }
  /** New settings for a running worker (ThreadService.configure). */
  | { type: 'configure'; options: Partial<Start> }
  /** The main thread has done what `request` `id` asked (or given up on it), with its answer if it has one. */
  | { type: 'reply'; id: number; value?: unknown }
  /** Work the main thread waits for (ThreadService.call), answered by `result`. */
  | { type: 'call'; id: number; payload: unknown }
  /** Work nobody waits for (ThreadService.tell): no answer. */
  | { type: 'tell'; payload: unknown }
  /** Several of the above sent in one turn of the main thread's loop (`outbox.ts`): handled in order. */
  | { type: 'batch'; messages: ToWorker<Start>[] };

export type FromWorker<Stats, Ready> =
  | { type: 'started'; ready: Ready }
  | { type: 'start-failed'; message: string }
  | { type: 'failed'; message: string }
  | { type: 'capture'; seq: number; batch: ArrayBuffer; count: number }
  | { type: 'stats'; stats: Stats; drops: DropCount[] }
  | { type: 'flushed'; id: number }
  /** A call event other than capture (a note on the ladder): rare, structured clone, rate-limited by the worker. */
  | { type: 'note'; note: NoteEvent }
  /** Work the worker waits for (inline publishing: the call's `new` event to Redis; an SDP for the relay); answered by `reply`. */
  | { type: 'request'; id: number; payload: unknown }
  /** Work the main thread does without the worker waiting (ThreadHostOptions.onTell): no answer. */
  | { type: 'tell'; payload: unknown }
  /** The answer to `call` `id`: the service's value, or its error's message. */
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; message: string }
  /** Several requests, tells and results sent in one turn of the worker's loop (`outbox.ts`): handled in order. */
  | { type: 'batch'; messages: FromWorker<Stats, Ready>[] }
  | { type: 'stopped' };
