/**
 * Where the call store keeps the bytes of the SIP messages it stores: copied
 * into slabs of its own, so a stored message never pins the capture batch it
 * arrived in (up to 192 KiB from the SIP worker), and without an ArrayBuffer
 * per message (which cost the host thread a malloc and an external-memory
 * adjustment for each of 14,000 messages a second at 1,000 calls/s).
 *
 * A slab is freed when the last message in it is released. Until then it is
 * held whole, and counted whole in `bytes`: a long call whose INVITE sits in
 * an old slab pins that slab, and the store's byte budget sees it. A message
 * larger than a quarter slab gets a buffer of its own.
 */
export const SLAB_BYTES = 64 * 1024;
const OWN_BUFFER_ABOVE = SLAB_BYTES / 4;

export class RawSlabs {
  /** Messages still held in each slab (keyed by the slab's ArrayBuffer, which every stored view shares). */
  private readonly live = new Map<ArrayBufferLike, number>();
  private slab: Buffer | null = null;
  private offset = 0;
  private held = 0;

  /** Bytes of every slab (and own buffer) still held. */
  get bytes(): number {
    return this.held;
  }

  /** A copy of `raw` in memory of the store's own. */
  store(raw: Buffer): Buffer {
    const n = raw.length;
    let target: Buffer;
    if (n > OWN_BUFFER_ABOVE) {
      target = Buffer.allocUnsafeSlow(n);
      this.held += n;
    } else {
      if (this.slab === null || this.offset + n > SLAB_BYTES) {
        if (this.slab !== null && this.live.get(this.slab.buffer) === 0) this.drop(this.slab.buffer);
        this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
        this.live.set(this.slab.buffer, 0);
        this.offset = 0;
        this.held += SLAB_BYTES;
      }
      target = this.slab.subarray(this.offset, this.offset + n);
      // 8-byte steps keep views aligned; the few bytes skipped are counted in the slab's size.
      this.offset += (n + 7) & ~7;
    }
    target.set(raw); // a native memcpy; Buffer#copy goes through a slower JS path here
    const ab = target.buffer;
    this.live.set(ab, (this.live.get(ab) ?? 0) + 1);
    return target;
  }

  /**
   * A stored message let go; its slab goes when nothing in it is left and it
   * is not the one being filled. Bytes are never written over: a view still
   * read elsewhere (an export streaming a frozen call) keeps its memory alive.
   */
  release(stored: Buffer): void {
    const ab = stored.buffer;
    const n = this.live.get(ab);
    if (n === undefined || n === 0) return;
    if (n > 1 || (this.slab !== null && this.slab.buffer === ab)) this.live.set(ab, n - 1);
    else this.drop(ab);
  }

  private drop(ab: ArrayBufferLike): void {
    this.live.delete(ab);
    this.held -= ab.byteLength;
  }
}
