/**
 * rtpengine's NG control protocol, one datagram at a time
 * (docs/ng_control_protocol.md in sipwise/rtpengine): a request is
 * `<cookie> <bencoded dictionary>` with a `command` key; the reply is the same
 * cookie, a space, and a dictionary with `result` ("ok", "pong" or "error",
 * then `error-reason`). Kamailio's and OpenSIPS's rtpengine modules speak it
 * over UDP and match replies to requests by cookie. Pure functions; bad
 * input comes back as an error value, never as an exception.
 *
 *   5323_1 d7:command4:pinge      →   5323_1 d6:result4:ponge
 *
 * Where we are stricter than rtpengine, on purpose:
 * - the cookie must be 1–64 printable bytes (rtpengine takes anything before
 *   the first space): it is echoed back verbatim, so it must be short and clean;
 * - bytes after the dictionary are refused (rtpengine ignores them), except
 *   trailing whitespace, which `echo '… d7:command4:pinge' | nc -u` adds:
 *   anything else means the sender and we disagree about the framing, and
 *   acting on half of what it meant is worse than saying so.
 * And one difference: the command is lower-cased, so "block DTMF" arrives as
 *   "block dtmf" (rtpengine matches commands case-sensitively).
 * JSON dictionaries, which rtpengine also accepts, are not: Kamailio and
 * OpenSIPS send bencode.
 */
import { bdecode, bencode, isDict, kindOf, str, type BDict, type BEncodable } from './bencode';

export const MAX_COOKIE_BYTES = 64;

export type NgRequest = { ok: true; cookie: string; command: string; args: BDict };
/** `cookie` is null when there is none we could echo: such a datagram gets no reply (rtpengine does not answer a datagram without a cookie either). */
export type NgParseError = { ok: false; cookie: string | null; error: string };

const SPACE = 0x20;

export function parseNgRequest(datagram: Buffer): NgRequest | NgParseError {
  const space = datagram.indexOf(SPACE);
  if (space === -1) return { ok: false, cookie: null, error: 'no space between cookie and dictionary' };
  if (space === 0) return { ok: false, cookie: null, error: 'empty cookie' };
  if (space > MAX_COOKIE_BYTES) return { ok: false, cookie: null, error: `cookie longer than ${MAX_COOKIE_BYTES} bytes` };
  for (let i = 0; i < space; i++) {
    const c = datagram[i]!;
    if (c <= SPACE || c >= 0x7f) return { ok: false, cookie: null, error: `cookie has a non-printable byte 0x${c.toString(16).padStart(2, '0')} at byte ${i}` };
  }
  const cookie = datagram.toString('latin1', 0, space);
  const fail = (error: string): NgParseError => ({ ok: false, cookie, error });

  const start = space + 1;
  if (start >= datagram.length) return fail('no dictionary after the cookie');
  const decoded = bdecode(datagram, start);
  if (!decoded.ok) return fail(`bad bencode ${decoded.error}`);
  if (!isDict(decoded.value)) return fail(`the message is ${kindOf(decoded.value)}, not a dictionary`);
  let end = decoded.end;
  while (end < datagram.length && isWhitespace(datagram[end]!)) end++;
  if (end < datagram.length) {
    return fail(`${datagram.length - decoded.end} bytes of trailing data after the dictionary, from byte ${decoded.end}`);
  }

  const args = decoded.value;
  const cmd = args['command'];
  if (cmd === undefined) return fail('no command');
  const command = str(cmd)?.toLowerCase();
  if (command === undefined) return fail(`command is ${kindOf(cmd)}, not a string`);
  if (command === '') return fail('empty command');
  return { ok: true, cookie, command, args };
}

function isWhitespace(c: number): boolean {
  return c === SPACE || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * `<cookie> <dictionary>`. Values may be plain strings and numbers; undefined
 * entries are left out. A value bencode cannot carry (a bug in the caller)
 * turns into an error reply rather than an exception on the control socket.
 */
export function ngReply(cookie: string, dict: { readonly [key: string]: BEncodable | undefined }): Buffer {
  let body: Buffer;
  try {
    body = bencode(dict);
  } catch (e) {
    body = bencode({ result: 'error', 'error-reason': `internal error: could not encode the reply (${(e as Error).message})` });
  }
  return Buffer.concat([Buffer.from(cookie + ' ', 'latin1'), body]);
}

/** rtpengine's error reply: `result` "error" and a human-readable `error-reason`, nothing else. */
export function ngError(cookie: string, reason: string): Buffer {
  return ngReply(cookie, { result: 'error', 'error-reason': reason });
}

/**
 * The arguments the relay acts on, under rtpengine's key names. Absent keys
 * are undefined; `flags` and `replace` are empty lists when absent.
 */
export interface NgArgs {
  /** `call-id` */
  callId: string | undefined;
  /** `from-tag` */
  fromTag: string | undefined;
  /** `to-tag` */
  toTag: string | undefined;
  /** `via-branch` */
  viaBranch: string | undefined;
  /** `sdp`: the whole body, as text. */
  sdp: string | undefined;
  /** `flags`: e.g. "trust-address", "SIP-source-address", "strict-source". */
  flags: string[];
  /** `replace`: e.g. "origin", "session-connection". */
  replace: string[];
  /** `ICE`: "remove", "force", "default", "force-relay", "optional". */
  ice: string | undefined;
  /** `direction`: two interface names. */
  direction: string[] | undefined;
  /** `record call`: "yes", "no", "on", "off". */
  recordCall: string | undefined;
  /** `received from` (rtpengine also takes `received-from`): address family ("IP4"/"IP6") and the SIP source address. */
  receivedFrom: { family: string; address: string } | undefined;
}

/** Keys each command cannot do without, with rtpengine's own error texts (daemon/call_interfaces.c). */
const REQUIRED = new Map<string, readonly (keyof NgArgs)[]>([
  ['offer', ['sdp', 'callId', 'fromTag']],
  ['answer', ['sdp', 'callId', 'fromTag', 'toTag']],
  // The protocol document still asks for from-tag too; current rtpengine (call_delete_ng) needs only call-id.
  ['delete', ['callId']],
  ['query', ['callId']],
  ['start recording', ['callId']],
  ['stop recording', ['callId']],
]);
const MISSING: Partial<Record<keyof NgArgs, string>> = {
  sdp: 'No SDP body in message',
  callId: 'No call-id in message',
  fromTag: 'No from-tag in message',
  toTag: 'No to-tag in message',
};

export type NgArgsResult = { ok: true; args: NgArgs } | { ok: false; error: string };

/**
 * Reads the keys above from a request's dictionary. A key of the wrong type
 * (a list where a string belongs) is an error, not silently absent, so the
 * reply tells the engineer which key is wrong. `command` is the lower-cased
 * command from `parseNgRequest`.
 */
export function ngArgs(command: string, args: BDict): NgArgsResult {
  const errors: string[] = [];
  const text = (key: string): string | undefined => {
    const v = args[key];
    if (v === undefined) return undefined;
    const s = str(v);
    if (s === undefined) errors.push(`"${key}" is ${kindOf(v)}, not a string`);
    return s;
  };
  const texts = (key: string): string[] | undefined => {
    const v = args[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      errors.push(`"${key}" is ${kindOf(v)}, not a list of strings`);
      return undefined;
    }
    const out: string[] = [];
    for (const item of v) {
      const s = str(item);
      if (s === undefined) {
        errors.push(`"${key}" holds ${kindOf(item)}, not only strings`);
        return undefined;
      }
      out.push(s);
    }
    return out;
  };

  const rf = args['received from'] !== undefined ? texts('received from') : texts('received-from');
  let receivedFrom: NgArgs['receivedFrom'];
  if (rf !== undefined) {
    if (rf.length === 2) receivedFrom = { family: rf[0]!, address: rf[1]! };
    else errors.push(`"received from" has ${rf.length} elements, expected the address family and the address`);
  }
  const out: NgArgs = {
    callId: text('call-id'),
    fromTag: text('from-tag'),
    toTag: text('to-tag'),
    viaBranch: text('via-branch'),
    sdp: text('sdp'),
    flags: texts('flags') ?? [],
    replace: texts('replace') ?? [],
    ice: text('ICE'),
    direction: texts('direction'),
    recordCall: text('record call'),
    receivedFrom,
  };
  if (errors.length > 0) return { ok: false, error: errors.join('; ') };
  for (const key of REQUIRED.get(command) ?? []) {
    if (out[key] === undefined) return { ok: false, error: MISSING[key] ?? `no ${key}` };
  }
  return { ok: true, args: out };
}
