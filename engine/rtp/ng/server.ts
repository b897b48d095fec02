/**
 * The NG control listener (rtpengine's `--listen-ng`): what Kamailio's
 * rtpengine module, OpenSIPS and the bench harness send. One UDP socket on
 * the main thread; each request is parsed (bad ones get an error reply, or
 * are dropped and counted when there is no cookie to answer), run against
 * the relay once (a retransmission gets the cached reply), and answered.
 *
 * Commands: ping, offer, answer, delete, query, list, start recording,
 * stop recording, and offer/answer's `record call` flag ("yes"/"on"). The
 * recording ones go to whoever the relay's `recordingControl` is (the host:
 * the recorder and the relay's tap); `pause recording` answers that it is
 * not supported.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { DropCounters } from '../../metrics/drops';
import type { HostPort } from '../../net/host-port';
import type { Relay } from '../relay';
import type { BEncodable } from './bencode';
import { ngArgs, ngError, ngReply, parseNgRequest } from './message';
import { DEFAULT_NG_REPLY_TTL_MS, NgReplyCache } from './reply-cache';

const REPLY_CACHE_ENTRIES = 10_000;
const ON = new Set(['yes', 'on', 'true']);

export interface NgCounters {
  requests: number;
  errors: number;
  retransmissions: number;
}

export class NgServer {
  private socket: Socket | null = null;
  private readonly cache: NgReplyCache;
  readonly counters: NgCounters = { requests: 0, errors: 0, retransmissions: 0 };

  constructor(
    private readonly relay: Relay,
    private readonly drops: DropCounters,
    monoMs: () => number,
  ) {
    this.cache = new NgReplyCache({ maxEntries: REPLY_CACHE_ENTRIES, ttlMs: DEFAULT_NG_REPLY_TTL_MS, monoMs });
  }

  async listen(at: HostPort): Promise<number> {
    const sock = createSocket(isIPv6(at.host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(at.port, at.host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.on('error', () => this.drops.count('relay.ng', 'socket-error'));
    sock.on('message', (msg, from) => void this.onDatagram(msg, from));
    this.socket = sock;
    return sock.address().port;
  }

  close(): void {
    try {
      this.socket?.close();
    } catch {
      // already closed
    }
    this.socket = null;
  }

  private async onDatagram(msg: Buffer, rinfo: RemoteInfo): Promise<void> {
    const from: HostPort = { host: rinfo.address, port: rinfo.port };
    const req = parseNgRequest(msg);
    if (!req.ok) {
      this.counters.errors++;
      if (req.cookie === null) return this.drops.count('relay.ng', 'no cookie (not an NG request)');
      this.drops.count('relay.ng', 'malformed request');
      return this.send(ngError(req.cookie, req.error), from);
    }
    const seen = this.cache.begin(req.cookie, from);
    if (seen.state === 'in-progress') {
      this.counters.retransmissions++;
      return;
    }
    if (seen.state === 'replied') {
      this.counters.retransmissions++;
      return this.send(seen.reply, from);
    }
    this.counters.requests++;
    let dict: { [key: string]: BEncodable | undefined };
    try {
      dict = await this.run(req.command, req.args);
    } catch (err) {
      dict = { 'error-reason': `internal error: ${(err as Error).message}` };
    }
    const why = dict['error-reason'];
    if (why !== undefined) this.counters.errors++;
    const reply = why !== undefined ? ngError(req.cookie, String(why)) : ngReply(req.cookie, dict);
    this.cache.finish(req.cookie, from, reply);
    this.send(reply, from);
  }

  /** One command against the relay: the reply's dictionary (`error-reason` set for an error). */
  private async run(command: string, raw: Parameters<typeof ngArgs>[1]): Promise<{ [key: string]: BEncodable | undefined }> {
    if (command === 'ping') return { result: 'pong' };
    if (command === 'pause recording') return { 'error-reason': 'pause recording is not supported: use stop recording (a later start recording writes a new file)' };
    if (!['offer', 'answer', 'delete', 'query', 'list', 'start recording', 'stop recording'].includes(command)) return { 'error-reason': `Unrecognized command "${command}"` };
    if (!this.relay.running) return { 'error-reason': 'the relay is not running' };
    if (command === 'list') return { result: 'ok', calls: this.relay.callIds() };
    const parsed = ngArgs(command, raw);
    if (!parsed.ok) return { 'error-reason': parsed.error };
    const a = parsed.args;
    const callId = a.callId!;
    switch (command) {
      case 'offer':
      case 'answer': {
        const req = { callId, fromTag: a.fromTag!, toTag: a.toTag ?? null, sdp: a.sdp!, ref: null, via: 'ng' as const };
        const r = command === 'offer' ? await this.relay.offer(req) : await this.relay.answer(req);
        if (!r.ok) return { 'error-reason': r.reason };
        // "record call": the SDP went through either way; a recorder that cannot start says why in a warning.
        if (a.recordCall !== undefined && ON.has(a.recordCall.toLowerCase())) {
          const rec = await this.record(callId, true);
          if (!rec.ok) return { result: 'ok', sdp: r.sdp, warning: `not recorded: ${rec.reason}` };
        }
        return { result: 'ok', sdp: r.sdp };
      }
      case 'start recording':
      case 'stop recording': {
        const rec = await this.record(callId, command === 'start recording');
        return rec.ok ? { result: 'ok' } : { 'error-reason': rec.reason };
      }
      case 'delete': {
        const found = await this.relay.delete(callId, 'delete');
        return found ? { result: 'ok' } : { 'error-reason': 'Call-ID not found or tags didn\'t match' };
      }
      default: {
        const s = this.relay.session(callId);
        if (!s) return { 'error-reason': 'Unknown call-id' };
        return {
          result: 'ok',
          created: Math.floor(s.createdUs / 1_000_000),
          'created_us': s.createdUs % 1_000_000,
          state: s.state,
          streams: s.streams.map((st) => ({
            index: st.mediaIndex,
            ports: [st.ports[0], st.ports[1]],
            packets: [st.figures[0]?.packets ?? 0, st.figures[1]?.packets ?? 0],
            lost: [st.figures[0]?.lost ?? 0, st.figures[1]?.lost ?? 0],
          })),
        };
      }
    }
  }

  private record(callId: string, on: boolean): Promise<{ ok: true } | { ok: false; reason: string }> {
    const control = this.relay.recordingControl;
    return control ? control(callId, on) : Promise.resolve({ ok: false, reason: 'no recorder in this engine' });
  }

  private send(reply: Buffer, to: HostPort): void {
    this.socket?.send(reply, to.port, to.host, (err) => {
      if (err) this.drops.count('relay.ng', 'reply-send-failed');
    });
  }
}
