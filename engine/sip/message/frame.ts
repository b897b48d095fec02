/**
 * Framing SIP over a byte stream (TCP, TLS): the header section ends at the
 * first empty line and Content-Length gives the body size. RFC 3261 §18.3:
 * "In the case of stream-oriented transports such as TCP, the Content-Length
 * header field indicates the size of the body. All stream-oriented transports
 * MUST use Content-Length." Leading CRLFs (RFC 5626 keepalives) are skipped.
 */
import { MAX_MESSAGE_BYTES, parseError } from './errors';
import type { SipParseError } from './errors';
import { canonicalName } from './headers';
import { parseDigits } from './fields';

/**
 * - `{ messageLength, skip }`: drop `skip` bytes (keepalive CRLFs), then the
 *   message is the next `messageLength` bytes (pass them to parseMessage).
 * - `{ need: 'more', skip, until? }`: drop `skip` bytes and wait for more
 *   data; `until`, when the header section is complete, is how many bytes
 *   (from the start of `buf`, `skip` included) the message needs, so a caller
 *   need not frame again before they are there.
 * - `{ error, skip }`: the stream cannot be framed; close the connection.
 */
export type FrameResult =
  | { readonly messageLength: number; readonly skip: number }
  | { readonly need: 'more'; readonly skip: number; readonly until?: number }
  | { readonly error: SipParseError; readonly skip: number };

export function frameStream(buf: Buffer): FrameResult {
  const len = buf.length;
  let skip = 0;
  while (skip < len && (buf[skip] === 0x0d || buf[skip] === 0x0a)) skip++;
  let headEnd = -1;
  let bodyStart = -1;
  let lf = buf.indexOf(0x0a, skip);
  while (lf >= 0) {
    const n = buf[lf + 1];
    if (n === 0x0a) {
      headEnd = lf + 1;
      bodyStart = lf + 2;
      break;
    }
    if (n === 0x0d && buf[lf + 2] === 0x0a) {
      headEnd = lf + 1;
      bodyStart = lf + 3;
      break;
    }
    if (n === undefined || (n === 0x0d && lf + 2 >= len)) break;
    lf = buf.indexOf(0x0a, lf + 1);
  }
  if (headEnd < 0) {
    if (len - skip > MAX_MESSAGE_BYTES) return { error: parseError('too-large', 'Message Too Large', { status: 513 }), skip };
    return { need: 'more', skip };
  }
  const head = buf.toString('latin1', skip, headEnd);
  let cl = -2;
  let pos = 0;
  while (pos < head.length) {
    let nl = head.indexOf('\n', pos);
    if (nl < 0) nl = head.length;
    const c = head.charCodeAt(pos) | 0x20;
    if (c === 0x6c || c === 0x63) {
      const colon = head.indexOf(':', pos);
      if (colon > pos && colon < nl && canonicalName(head.slice(pos, colon).trimEnd()) === 'content-length') {
        // The value may continue on folded lines (RFC 3261 §7.3.1).
        let ve = nl;
        while (ve + 1 < head.length && (head.charCodeAt(ve + 1) === 0x20 || head.charCodeAt(ve + 1) === 0x09)) {
          const next = head.indexOf('\n', ve + 1);
          ve = next < 0 ? head.length : next;
        }
        const v = parseDigits(head, colon + 1, ve);
        if (v < 0 || (cl >= 0 && v !== cl)) return { error: parseError('bad-content-length', 'Bad Request - Malformed Content-Length'), skip };
        cl = v;
      }
    }
    pos = nl + 1;
  }
  if (cl === -2) return { error: parseError('missing-header', 'Bad Request - Missing Content-Length'), skip };
  const messageLength = bodyStart - skip + cl;
  if (messageLength > MAX_MESSAGE_BYTES) return { error: parseError('too-large', 'Message Too Large', { status: 513 }), skip };
  if (len - skip < messageLength) return { need: 'more', skip, until: skip + messageLength };
  return { messageLength, skip };
}
