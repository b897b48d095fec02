/**
 * Bencode, as rtpengine's NG control protocol carries it
 * (docs/ng_control_protocol.md in sipwise/rtpengine): integers `i-3e`, byte
 * strings `4:spam`, lists `l…e`, dictionaries `d…e` with byte-string keys.
 * Pure functions; the decoder never throws.
 *
 * Strings stay Buffers: an SDP body or a Call-ID is bytes, and decoding it
 * as text here would decide an encoding nobody asked for. `str()` gives the
 * text where a caller wants it.
 *
 * The decoder is strict where a lenient one would guess (leading zeros,
 * `i-0e`, lengths past the end, integers beyond 2^53) and bounded against
 * hostile input: nesting is limited to MAX_DEPTH, so recursion depth is too.
 * Two places follow rtpengine rather than the bencode specification, because
 * real clients depend on them:
 * - dictionary keys need not be sorted: rtpengine "does not honour" the
 *   order (ng_control_protocol.md) and Kamailio sends `command` wherever it
 *   likes;
 * - a repeated key is accepted and the first one kept: rtpengine's decoder
 *   does not check keys for uniqueness (bencode.h), so refusing would fail
 *   requests rtpengine serves.
 */

export type BValue = Buffer | number | BValue[] | { [key: string]: BValue };
export type BDict = { [key: string]: BValue };

/** What `bencode()` accepts: decoded values, plus JS strings (written as UTF-8) and dictionary entries left undefined (skipped). */
export type BEncodable = BValue | string | readonly BEncodable[] | { readonly [key: string]: BEncodable | undefined };

export type BDecodeResult = { ok: true; value: BValue; end: number } | { ok: false; error: string; at: number };

/** Containers inside containers, at most. A real NG request nests 3 deep; the limit keeps `lll…` from exhausting the stack. */
export const MAX_DEPTH = 32;

/** Digits in an integer or a string length: 2^53 has 16, and nothing longer can be valid. */
const MAX_DIGITS = 16;

const I = 0x69;
const L = 0x6c;
const D = 0x64;
const E = 0x65;
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** The text of a byte string (UTF-8), or undefined for anything else. */
export function str(v: BValue | undefined): string | undefined {
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
}

export function isDict(v: BValue | undefined): v is BDict {
  return v !== undefined && typeof v === 'object' && !Buffer.isBuffer(v) && !Array.isArray(v);
}

/** "a string", "a list"… for error messages. */
export function kindOf(v: BValue): string {
  if (Buffer.isBuffer(v)) return 'a string';
  if (typeof v === 'number') return 'an integer';
  return Array.isArray(v) ? 'a list' : 'a dictionary';
}

/**
 * Decodes one value starting at `start`. `end` is the offset just past it;
 * what follows is the caller's business. Offsets (in `end`, `at` and the
 * error text) are offsets in `buf`, so they point into the datagram.
 *
 * Strings are copied out of `buf`: a value kept after the datagram is gone
 * (an SDP stored with a session) must not pin or share its memory.
 *
 * Dictionaries have no prototype, so a key such as `__proto__` or
 * `constructor` is plain data and a missing key reads as undefined.
 */
export function bdecode(buf: Buffer, start = 0): BDecodeResult {
  const p = new Decoder(buf, start);
  const value = p.value(0);
  if (value === undefined) return { ok: false, error: `at byte ${p.errAt}: ${p.err}`, at: p.errAt };
  return { ok: true, value, end: p.pos };
}

class Decoder {
  pos: number;
  err = '';
  errAt = 0;

  constructor(
    private readonly buf: Buffer,
    start: number,
  ) {
    this.pos = start;
  }

  private fail(at: number, reason: string): undefined {
    this.err = reason;
    this.errAt = at;
    return undefined;
  }

  /** `depth` counts the containers around this value. */
  value(depth: number): BValue | undefined {
    const c = this.buf[this.pos];
    if (c === undefined) return this.fail(this.pos, 'data ends where a value should start');
    if (c === I) return this.integer();
    if (c >= ZERO && c <= NINE) return this.string();
    if (c === L || c === D) {
      if (depth >= MAX_DEPTH) return this.fail(this.pos, `nested deeper than ${MAX_DEPTH}`);
      return c === L ? this.list(depth + 1) : this.dict(depth + 1);
    }
    return this.fail(this.pos, `unexpected ${describe(c)}, expected i, l, d or a string length`);
  }

  /**
   * Reads decimal digits (a leading zero only as the whole number) up to
   * `stop`. Returns the value or undefined with the error set.
   */
  private digits(what: string, stop: number): number | undefined {
    const { buf } = this;
    const first = this.pos;
    let n = 0;
    while (this.pos < buf.length && buf[this.pos]! >= ZERO && buf[this.pos]! <= NINE) {
      if (this.pos - first >= MAX_DIGITS) return this.fail(first, `${what} has too many digits`);
      n = n * 10 + (buf[this.pos]! - ZERO);
      this.pos++;
    }
    if (this.pos === first) return this.fail(this.pos, `${what} has no digits`);
    if (buf[first] === ZERO && this.pos - first > 1) return this.fail(first, `${what} has a leading zero`);
    if (!Number.isSafeInteger(n)) return this.fail(first, `${what} is beyond 2^53`);
    if (this.pos >= buf.length) return this.fail(this.pos, `data ends inside ${what}`);
    if (buf[this.pos] !== stop) return this.fail(this.pos, `unexpected ${describe(buf[this.pos]!)} in ${what}, expected a digit or '${String.fromCharCode(stop)}'`);
    this.pos++;
    return n;
  }

  private integer(): number | undefined {
    const start = this.pos++;
    const negative = this.buf[this.pos] === MINUS;
    if (negative) this.pos++;
    const n = this.digits('integer', E);
    if (n === undefined) return undefined;
    if (negative && n === 0) return this.fail(start, 'integer is -0');
    return negative ? -n : n;
  }

  private string(): Buffer | undefined {
    const lengthAt = this.pos;
    const n = this.digits('string length', COLON);
    if (n === undefined) return undefined;
    const left = this.buf.length - this.pos;
    if (n > left) return this.fail(lengthAt, `string of ${n} bytes runs past the end of the data (${left} left)`);
    const s = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }

  private list(depth: number): BValue[] | undefined {
    const opened = this.pos++;
    const out: BValue[] = [];
    for (;;) {
      if (this.pos >= this.buf.length) return this.fail(this.pos, `data ends inside the list opened at byte ${opened}`);
      if (this.buf[this.pos] === E) {
        this.pos++;
        return out;
      }
      const v = this.value(depth);
      if (v === undefined) return undefined;
      out.push(v);
    }
  }

  private dict(depth: number): BDict | undefined {
    const opened = this.pos++;
    const out: BDict = Object.create(null) as BDict;
    for (;;) {
      const c = this.buf[this.pos];
      if (c === undefined) return this.fail(this.pos, `data ends inside the dictionary opened at byte ${opened}`);
      if (c === E) {
        this.pos++;
        return out;
      }
      if (c < ZERO || c > NINE) return this.fail(this.pos, `unexpected ${describe(c)} where a dictionary key (a string) should start`);
      const key = this.string();
      if (key === undefined) return undefined;
      if (this.pos >= this.buf.length) return this.fail(this.pos, `data ends before the value of key "${printable(key)}"`);
      const v = this.value(depth);
      if (v === undefined) return undefined;
      const k = key.toString('utf8');
      if (!Object.hasOwn(out, k)) out[k] = v;
    }
  }
}

function describe(byte: number): string {
  const hex = '0x' + byte.toString(16).padStart(2, '0');
  return byte > 0x20 && byte < 0x7f ? `'${String.fromCharCode(byte)}' (${hex})` : `byte ${hex}`;
}

function printable(b: Buffer): string {
  const s = b.subarray(0, 40).toString('latin1').replace(/[^\x20-\x7e]/g, '?');
  return b.length > 40 ? s + '…' : s;
}

/**
 * Encodes a value; dictionary keys sorted by their bytes, as bencode
 * requires (rtpengine does not need it, but a canonical form makes replies
 * comparable byte for byte).
 *
 * Throws a TypeError for what bencode cannot carry (a fraction, NaN, an
 * integer beyond 2^53, null, a boolean, undefined in a list) or nesting
 * deeper than MAX_DEPTH (a cycle): that is a bug in the caller's reply, not
 * bad input. `ngReply()` catches it and answers with an error instead.
 */
export function bencode(v: BEncodable): Buffer {
  const out: Buffer[] = [];
  encodeInto(v, out, 0);
  return Buffer.concat(out);
}

function encodeInto(v: BEncodable, out: Buffer[], depth: number): void {
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    out.push(Buffer.from(`${b.length}:`, 'latin1'), b);
  } else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new TypeError(`bencode: ${v} is not an integer bencode can carry`);
    out.push(Buffer.from(`i${v}e`, 'latin1')); // `${-0}` is "0": never i-0e
  } else if (Buffer.isBuffer(v)) {
    out.push(Buffer.from(`${v.length}:`, 'latin1'), v);
  } else if (Array.isArray(v)) {
    if (depth >= MAX_DEPTH) throw new TypeError(`bencode: nested deeper than ${MAX_DEPTH} (a cycle?)`);
    out.push(Buffer.from('l', 'latin1'));
    for (const item of v as readonly BEncodable[]) {
      if (item === undefined) throw new TypeError('bencode: undefined in a list');
      encodeInto(item, out, depth + 1);
    }
    out.push(Buffer.from('e', 'latin1'));
  } else if (v !== null && typeof v === 'object') {
    if (depth >= MAX_DEPTH) throw new TypeError(`bencode: nested deeper than ${MAX_DEPTH} (a cycle?)`);
    const entries: [Buffer, BEncodable][] = [];
    for (const [k, item] of Object.entries(v as { readonly [key: string]: BEncodable | undefined })) {
      if (item !== undefined) entries.push([Buffer.from(k, 'utf8'), item]);
    }
    entries.sort((a, b) => Buffer.compare(a[0], b[0]));
    out.push(Buffer.from('d', 'latin1'));
    for (const [k, item] of entries) {
      out.push(Buffer.from(`${k.length}:`, 'latin1'), k);
      encodeInto(item, out, depth + 1);
    }
    out.push(Buffer.from('e', 'latin1'));
  } else {
    throw new TypeError(`bencode: cannot encode ${v === null ? 'null' : typeof v}`);
  }
}
