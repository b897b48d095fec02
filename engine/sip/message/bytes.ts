/**
 * The splice and build functions assemble output as one latin1 string (so
 * slices of the original head copy byte-for-byte) and write it once. New text
 * from callers is UTF-8; `latin1Bytes` re-expresses it as one char per byte.
 */

/** Returns s as a string of UTF-8 bytes, one char per byte (identity for ASCII). */
export function latin1Bytes(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'utf8').toString('latin1');
  }
  return s;
}

/** Writes a latin1 head string followed by an optional body into one new Buffer. */
export function assemble(head: string, body?: Buffer): Buffer {
  const bodyLen = body === undefined ? 0 : body.length;
  const out = Buffer.allocUnsafe(head.length + bodyLen);
  out.write(head, 0, 'latin1');
  if (body !== undefined && bodyLen > 0) body.copy(out, head.length);
  return out;
}

/** A body given as Buffer or string (UTF-8) as bytes. */
export function bodyBytes(body: Buffer | string): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}
