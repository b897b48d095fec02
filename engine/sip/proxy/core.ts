/**
 * The stateful proxy core (RFC 3261 §16): server transaction → proxy context
 * → one client transaction, with 100 Trying sent the moment the INVITE server
 * transaction exists, retransmissions absorbed by the transaction layer, and
 * every message in and out captured.
 */
import type { Clock } from '../../clock';
import type { EventStream } from '../../events';
import type { DropCounters } from '../../metrics/drops';
import { Histogram, type LatencySummary } from '../../metrics/histogram';
import { RateMeter } from '../../metrics/rate';
import { buildAck, buildCancel, buildErrorResponse, buildResponse, parseMessage, spliceMessage, type SipMessage } from '../message';
import type { ProxyStats } from '../stats';
import {
  InviteClientTransaction,
  InviteServerTransaction,
  LingerTable,
  NonInviteClientTransaction,
  NonInviteServerTransaction,
  TransactionTable,
  cancelTargetKey,
  constantCodec,
  clientKey,
  createBranchGenerator,
  serverKeyFor,
  type ServerRequestFields,
  type TimerHost,
  type TimerValues,
  deriveTimers,
} from '../transaction';
import { formatHostPort, type HostPort, type NextHop } from '../../net/host-port';
import type { SendFailure, SipTransport } from '../transport/types';
import { captureEvent, metaOf, responseMeta, type CaptureMeta } from './capture';
import { ACCEPTED_INVITE, acceptedClientCodec, lingeringServerCodec, type AcceptedClient, type LingeringServer } from './linger-records';
import { decideRoute, responseDestination, roundRobin } from './routing';

export interface ProxyCoreOptions {
  self: HostPort;
  targets: NextHop[] | null;
  timers: TimerValues;
  timerHost: TimerHost;
  clock: Clock;
  events: EventStream;
  drops: DropCounters;
  maxTransactions?: number;
  /** Event-loop delay of the thread this core runs on, for its stats. */
  loopDelay?: { summary(): LatencySummary };
  /**
   * When given, only what must be immediate happens as a datagram is read — a
   * new INVITE gets its server transaction and 100 Trying — and everything else
   * (routing, forwarding, responses, other requests) waits in arrival order
   * until `defer` calls back (the worker passes setImmediate). A burst of
   * INVITEs is then answered before any of them is forwarded, and work is cut
   * into slices so the socket is read between them. Without it, all is inline.
   */
  defer?: (drain: () => void) => void;
  /** Messages allowed to wait behind the fast path (default MAX_PENDING). */
  maxPending?: number;
  /**
   * Once the oldest waiting message has waited this long (ms; default T1/2, at least 100),
   * new calls are refused with 503 at the door so the calls already accepted
   * finish before their peers' retransmission timers fire (RFC 6357 §4: reject
   * new work before work in progress suffers).
   */
  maxQueueAgeMs?: number;
}

/** Messages waiting behind the 100 Trying fast path before new ones are refused (503 to INVITEs, counted drops otherwise). */
export const MAX_PENDING = 20_000;
/**
 * On an overload 503 (RFC 3261 §21.5.4): without Retry-After a client "MUST
 * act as if it had received a 500"; with it, a proxy upstream tries another
 * server and "SHOULD NOT forward any other requests to that server for the
 * duration" — so 1 s, the least the header can say: long pauses make the
 * on/off oscillation RFC 6357 §5 warns of.
 */
const OVERLOAD_HEADERS: ReadonlyArray<readonly [string, string]> = [['Retry-After', '1']];

/** The shortest queue age that refuses new calls by default (ms). */
const MIN_QUEUE_AGE_MS = 100;
/** Deferred work done per slice before the socket is read again (ms). */
const SLICE_MS = 0.5;

/** One message waiting behind the fast path: a new INVITE to route (its server transaction exists), or anything else to dispatch. */
type Pending = { ctx: ProxyContext; msg: null; peer: NextHop; tIn: number } | { ctx: null; msg: SipMessage; peer: NextHop; tIn: number };

type ServerTx = InviteServerTransaction | NonInviteServerTransaction;
type ClientTx = InviteClientTransaction | NonInviteClientTransaction;

/** Everything one proxied request needs: the two transactions and how to answer upstream (§16.2). */
interface ProxyContext {
  /** Released once a final response is sent: the transactions keep only bytes for up to 64·T1. */
  request: SipMessage | null;
  meta: CaptureMeta;
  server: ServerTx;
  serverKey: string;
  replyTo: NextHop;
  client: ClientTx | null;
  clientKey: string | null;
  /** The request as forwarded (with our Via), for CANCEL and ACK construction. */
  forwarded: Buffer | null;
  forwardedTo: NextHop | null;
  branch: string | null;
  /** Meta of the last response handed to the server transaction, for its retransmissions. */
  lastResponseMeta: CaptureMeta | null;
  /** Statuses received on the branch: a repeat is a retransmission (flagged in capture). */
  seenStatuses: number[];
  gotProvisional: boolean;
  cancelled: boolean;
  cancelSent: boolean;
}

const DEFAULT_MAX_FORWARDS = 70;

/** A non-INVITE client transaction in Completed: absorbs response retransmissions (RFC 3261 §17.1.2.2). */
const COMPLETED_CLIENT = 'completed-client' as const;

export class ProxyCore {
  private readonly servers: TransactionTable<ServerTx>;
  private readonly clients: TransactionTable<ClientTx>;
  private readonly contexts = new Map<ServerTx, ProxyContext>();
  private readonly byClientKey = new Map<string, ProxyContext>();
  /** Server transactions in Accepted (Timer L) or Completed over UDP (Timer J): both 64·T1. */
  private readonly lingeringServers: LingerTable<LingeringServer>;
  /** INVITE client transactions in Accepted (Timer M, 64·T1). */
  private readonly lingeringInviteClients: LingerTable<AcceptedClient>;
  /** Non-INVITE client transactions in Completed over UDP (Timer K, T4). */
  private readonly lingeringClients: LingerTable<typeof COMPLETED_CLIENT>;
  private readonly newBranch = createBranchGenerator();
  private readonly pickTarget: () => NextHop;
  private readonly selfSentBy: string;
  private readonly recordRoute: string;
  /** Our address as capture writes it ("127.0.0.1:5060"). */
  private readonly selfKey: string;
  private transports: { udp: SipTransport | null; tcp: SipTransport | null } = { udp: null, tcp: null };
  private pending: (Pending | undefined)[] = [];
  private pendingHead = 0;
  private drainScheduled = false;
  private readonly drainSlice = () => this.drain(SLICE_MS);
  private readonly maxQueueAgeUs: number;

  // Counters for the snapshot.
  messagesIn = 0;
  messagesOut = 0;
  retransmissionsIn = 0;
  retransmissionsOut = 0;
  readonly trying100 = new Histogram();
  private readonly callRate = new RateMeter();
  private readonly retransRate = new RateMeter();
  private readonly loopDelay: { summary(): LatencySummary } | undefined;

  constructor(private readonly o: ProxyCoreOptions) {
    this.servers = new TransactionTable<ServerTx>({ max: o.maxTransactions });
    this.clients = new TransactionTable<ClientTx>({ max: o.maxTransactions });
    const t = deriveTimers(false, o.timers);
    const now = () => o.clock.monoMs();
    // A linger let go early (memory cap) can only turn a late retransmission into a new request: counted.
    const lingerOptions = { onDrop: (reason: string) => o.drops.count('sip.linger', reason) };
    this.lingeringServers = new LingerTable(t.L, o.timerHost, now, lingeringServerCodec, lingerOptions);
    this.lingeringInviteClients = new LingerTable(t.M, o.timerHost, now, acceptedClientCodec, lingerOptions);
    this.lingeringClients = new LingerTable(t.K, o.timerHost, now, constantCodec(COMPLETED_CLIENT), lingerOptions);
    this.pickTarget = o.targets && o.targets.length > 0 ? roundRobin(o.targets) : () => ({ host: o.self.host, port: o.self.port, transport: 'udp' });
    this.selfSentBy = formatHostPort(o.self);
    this.recordRoute = `<sip:${this.selfSentBy};lr>`;
    this.selfKey = this.selfSentBy;
    this.loopDelay = o.loopDelay;
    // Never under 100 ms: a short T1 must not turn one GC pause or one slow slice into refused calls.
    this.maxQueueAgeUs = (o.maxQueueAgeMs ?? Math.max(o.timers.T1 / 2, MIN_QUEUE_AGE_MS)) * 1000;
  }

  attach(udp: SipTransport | null, tcp: SipTransport | null): void {
    this.transports = { udp, tcp };
  }

  /** Ends every transaction (component stop). */
  detach(): void {
    this.pending = [];
    this.pendingHead = 0;
    for (const tx of [...this.servers.values(), ...this.clients.values()]) tx.dispose();
    this.lingeringServers.clear();
    this.lingeringInviteClients.clear();
    this.lingeringClients.clear();
    this.contexts.clear();
    this.byClientKey.clear();
    this.transports = { udp: null, tcp: null };
  }

  stats(): ProxyStats {
    const now = this.o.clock.monoMs();
    return {
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      retransmissionsIn: this.retransmissionsIn,
      retransmissionsOut: this.retransmissionsOut,
      activeTransactions: this.servers.size + this.clients.size + this.lingeringServers.size + this.lingeringInviteClients.size + this.lingeringClients.size,
      callsPerSecond: this.callRate.perSecond(now),
      retransmissionsPerSecond: this.retransRate.perSecond(now),
      trying100: this.trying100.summary(),
      loopDelay: this.loopDelay?.summary() ?? { count: 0, p50: 0, p90: 0, p99: 0, max: 0 },
    };
  }

  /** Transport entry point: never throws, whatever the bytes. */
  receive(data: Buffer, peer: NextHop): void {
    const tIn = this.o.clock.nowUs();
    this.messagesIn++;
    const parsed = parseMessage(data, { stream: peer.transport === 'tcp' });
    if (!parsed.ok) {
      this.o.drops.count('sip.parse', parsed.error.reason);
      // A request with a usable Via gets 400 with a precise reason phrase; responses and ACKs are dropped.
      const reply = buildErrorResponse(parsed.error, this.newTag());
      if (reply) this.sendRaw(reply, peer, null, false);
      return;
    }
    const msg = parsed.msg;
    if (!this.o.defer) return this.dispatch({ ctx: null, msg, peer, tIn });
    if (this.pending.length - this.pendingHead >= (this.o.maxPending ?? MAX_PENDING)) {
      // Overloaded: refuse new work at the door instead of queueing without bound (RFC 3261 §21.5.4).
      if (msg.isRequest && msg.method !== 'ACK') {
        this.o.drops.count('sip.overload', 'request-refused-503');
        this.replyStateless(msg, peer, 503, 'Service Unavailable - Overloaded', metaOf(msg), OVERLOAD_HEADERS);
      } else this.o.drops.count('sip.overload', msg.isRequest ? 'ack-dropped' : 'response-dropped');
      return;
    }
    let ctx: ProxyContext | null = null;
    try {
      if (msg.isRequest && msg.method === 'INVITE') {
        const accepted = this.acceptNewInvite(msg, peer, tIn);
        if (accepted === 'done') return;
        ctx = accepted === 'defer' ? null : accepted;
      }
    } catch (err) {
      return this.internalError(err);
    }
    this.pending.push(ctx ? { ctx, msg: null, peer, tIn } : { ctx: null, msg, peer, tIn });
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      this.o.defer(this.drainSlice);
    }
  }

  /** Does the work waiting behind the fast path: all of it, or until `sliceMs` has passed (then asks `defer` again). */
  drain(sliceMs = Infinity): void {
    this.drainScheduled = false;
    const deadline = sliceMs === Infinity ? Infinity : this.o.clock.monoMs() + sliceMs;
    let done = 0;
    while (this.pendingHead < this.pending.length) {
      const w = this.pending[this.pendingHead]!;
      this.pending[this.pendingHead++] = undefined;
      this.dispatch(w);
      if ((++done & 3) === 0 && this.o.clock.monoMs() >= deadline) break;
    }
    if (this.pendingHead >= this.pending.length) {
      this.pending = [];
      this.pendingHead = 0;
    } else {
      if (this.pendingHead > 4096) {
        this.pending = this.pending.slice(this.pendingHead);
        this.pendingHead = 0;
      }
      if (!this.drainScheduled && this.o.defer) {
        this.drainScheduled = true;
        this.o.defer(this.drainSlice);
      }
    }
  }

  /** How long the oldest waiting message has waited (µs), 0 when none waits. */
  private queueAgeUs(nowUs: number): number {
    const oldest = this.pending[this.pendingHead];
    return oldest === undefined ? 0 : nowUs - oldest.tIn;
  }

  /** Messages waiting behind the fast path. */
  get pendingCount(): number {
    return this.pending.length - this.pendingHead;
  }

  /** One message's work: a new INVITE's routing (its transaction exists already), or a whole request or response. */
  private dispatch(w: Pending): void {
    try {
      if (w.ctx) this.proxyRequest(w.ctx, w.peer);
      else if (w.msg.isRequest) this.onRequest(w.msg, w.peer, w.tIn);
      else this.onResponse(w.msg, w.peer, w.tIn);
    } catch (err) {
      this.internalError(err);
    }
  }

  /** A bug must cost one message, not the signalling path: counted, never thrown to the transport. */
  private internalError(err: unknown): void {
    this.o.drops.count('sip.core', `internal-error: ${(err as Error).message.slice(0, 80)}`);
  }

  /**
   * The fast path: an INVITE that starts a new transaction gets it, and its 100
   * Trying, now. 'defer' leaves the INVITE to the ordinary path (a
   * retransmission, or one that needs a stateless answer); 'done' means it was
   * answered already (table full).
   */
  private acceptNewInvite(msg: SipMessage, peer: NextHop, tIn: number): ProxyContext | 'defer' | 'done' {
    const key = serverKeyFor(requestFields(msg));
    if (key === undefined || this.servers.get(key) !== undefined || this.lingeringServers.get(key) !== undefined) return 'defer';
    const meta = metaOf(msg);
    this.capture(tIn, 'in', peer, this.selfKey, meta, msg.raw, false);
    const ctx = this.openServerTransaction(msg, peer, key, meta, tIn);
    if (!ctx) return 'done';
    // A new call (no To tag) while the queue is stale would only add to what times out: refuse it now, keep the rest.
    // Through its transaction, so the 503 is retransmitted until ACKed and the ACK is absorbed here (§17.2.1).
    if (msg.to.tag === undefined && this.queueAgeUs(tIn) > this.maxQueueAgeUs) {
      this.o.drops.count('sip.overload', 'new-call-refused-503');
      this.respond(ctx, 503, 'Service Unavailable - Overloaded', OVERLOAD_HEADERS);
      return 'done';
    }
    return ctx;
  }

  // ---------------------------------------------------------------- requests

  private onRequest(msg: SipMessage, peer: NextHop, tIn: number): void {
    const method = msg.method;
    const fields = requestFields(msg);
    const key = serverKeyFor(fields);
    const existing = key === undefined ? undefined : this.servers.get(key);
    const meta = metaOf(msg);
    const lingering = existing === undefined && key !== undefined ? this.lingeringServers.get(key) : undefined;
    if (lingering !== undefined) return this.onLingeringServer(lingering, msg, peer, tIn, meta);

    if (method === 'ACK') {
      if (existing instanceof InviteServerTransaction) {
        const ctx = this.contexts.get(existing);
        const outcome = existing.receiveAck(msg.raw);
        this.capture(tIn, 'in', peer, this.selfKey, meta, msg.raw, outcome === 'absorbed' && existing.state !== 'confirmed');
        // ACK for a 300-699 is hop-by-hop (§17.1.1.3): absorbed here. An ACK reported in Accepted is for a 2xx: forward.
        if (outcome === 'passed' && ctx) this.forwardStateless(msg, peer);
        return;
      }
      this.capture(tIn, 'in', peer, this.selfKey, meta, msg.raw, false);
      this.forwardStateless(msg, peer); // ACK for 2xx: end to end (§16.6, §13.2.2.4)
      return;
    }

    if (existing) {
      // A retransmission: absorbed by the transaction, which re-sends the last response (§17.2.1, §17.2.2).
      this.retransmissionsIn++;
      this.retransRate.mark(this.o.clock.monoMs());
      this.capture(tIn, 'in', peer, this.selfKey, meta, msg.raw, true);
      existing.receiveRequest();
      return;
    }

    this.capture(tIn, 'in', peer, this.selfKey, meta, msg.raw, false);
    if (key === undefined) {
      return this.replyStateless(msg, peer, 400, 'Bad Request - Missing Via Branch', meta);
    }
    if (method === 'CANCEL') return this.onCancel(msg, peer, key, fields, meta);

    const ctx = this.openServerTransaction(msg, peer, key, meta, tIn);
    if (ctx) this.proxyRequest(ctx, peer);
  }

  /**
   * A new server transaction and its proxy context; for an INVITE, its 100
   * Trying at once. Null when the table is full (answered 503 statelessly).
   */
  private openServerTransaction(msg: SipMessage, peer: NextHop, key: string, meta: CaptureMeta, tIn: number): ProxyContext | null {
    const method = msg.method;
    const replyTo = responseDestination(msg, peer);
    const reliable = peer.transport === 'tcp';
    // The transaction's callbacks read the context, which holds the transaction: tie the knot once.
    let ctx!: ProxyContext;
    const send = (bytes: Buffer, retrans: boolean) => this.sendTo(bytes, replyTo, ctx.lastResponseMeta ?? meta, retrans);
    const user = {
      onTimeout: () => undefined,
      onTransportError: () => this.o.drops.count('sip.transport', 'response-send-failed'),
      onTerminated: () => this.endServer(ctx),
    };
    const server =
      method === 'INVITE'
        ? new InviteServerTransaction({ send, timers: this.o.timerHost, reliable, values: this.o.timers, user: { ...user, onAck: () => undefined } })
        : new NonInviteServerTransaction({ send, timers: this.o.timerHost, reliable, values: this.o.timers, user });
    ctx = {
      request: msg,
      meta,
      server,
      serverKey: key,
      replyTo,
      client: null,
      clientKey: null,
      forwarded: null,
      forwardedTo: null,
      branch: null,
      lastResponseMeta: null,
      seenStatuses: [],
      gotProvisional: false,
      cancelled: false,
      cancelSent: false,
    };
    if (this.servers.add(key, ctx.server) !== 'added') {
      ctx.server.dispose();
      this.replyStateless(msg, peer, 503, 'Service Unavailable - Transaction Table Full', meta);
      return null;
    }
    this.contexts.set(ctx.server, ctx);

    if (method === 'INVITE') {
      // Before routing, SDP or anything that could wait: the UAC's Timer A must stop (§16.2, §17.2.1).
      this.callRate.mark(this.o.clock.monoMs());
      ctx.lastResponseMeta = responseMeta(meta, 100, 'Trying', meta.branch);
      (server as InviteServerTransaction).sendTrying(buildResponse(msg, 100, 'Trying'));
      this.trying100.record(this.o.clock.nowUs() - tIn);
    }
    return ctx;
  }

  /** §16.3 validation, §16.4-16.6 routing and forwarding, one client transaction. */
  private proxyRequest(ctx: ProxyContext, peer: NextHop): void {
    const msg = ctx.request;
    if (!msg) return;
    const mf = msg.maxForwards ?? DEFAULT_MAX_FORWARDS;
    if (mf <= 0) {
      // §16.3 step 3: "the element MUST NOT forward the request ... MUST return a 483".
      return this.respond(ctx, 483, 'Too Many Hops');
    }
    // §16.3 step 4: a request that already carries our sent-by has been here: a loop (we don't spiral).
    for (const v of msg.vias()) {
      const vb = v.port === undefined ? v.host : `${v.host}:${v.port}`;
      if (vb === this.selfSentBy) return this.respond(ctx, 482, 'Loop Detected');
    }
    const route = decideRoute(msg, this.o.self, this.o.targets, this.pickTarget);
    if (!route.ok) return this.respond(ctx, route.status, route.reason);
    const hop = route.hop;
    const branch = this.newBranch();
    const viaTransport = hop.transport === 'tcp' ? 'TCP' : 'UDP';
    const topViaParams: [string, string | null][] = [];
    if (peer.transport === 'udp') {
      // RFC 3581 §4: rport gets the source port, and received is then set even when the host matches (§18.2.1 sets it when not).
      const rport = msg.topVia.params.has('rport');
      if (rport) topViaParams.push(['rport', String(peer.port)]);
      if (rport || msg.topVia.host !== peer.host) topViaParams.push(['received', peer.host]);
    }
    const isInitialInvite = msg.method === 'INVITE' && !route.inDialog;
    const forwarded = spliceMessage(msg, {
      prependVia: `SIP/2.0/${viaTransport} ${this.selfSentBy};branch=${branch}`,
      recordRoute: isInitialInvite ? this.recordRoute : undefined,
      removeFirstRoute: route.removeFirstRoute,
      set: [['Max-Forwards', String(mf - 1)]],
      topViaParams,
    });
    ctx.forwarded = forwarded;
    ctx.forwardedTo = hop;
    ctx.branch = branch;
    const fwdMeta: CaptureMeta = { ...ctx.meta, branch };
    const reliable = hop.transport === 'tcp';
    const ckey = clientKey(branch, msg.method);
    let ackBytes: Buffer | null = null;
    // One callback per transaction, not per send: a failure the transport learns of later (§17.1.4).
    const failed = (err: Error) => client.reportTransportError(err);
    const send = (bytes: Buffer, retrans: boolean): boolean => {
      const isAck = bytes === ackBytes;
      const m = isAck ? { ...fwdMeta, method: 'ACK', cseqMethod: 'ACK', label: 'ACK' } : fwdMeta;
      if (!this.sendTo(bytes, hop, m, retrans, failed)) return false;
      // Unanswered long enough to be retransmitted, or bound for a hop found dead moments ago: ask ICMP (udp-reachability.ts).
      if (!isAck && hop.transport === 'udp' && (retrans || this.transports.udp?.suspect?.(hop))) this.probeHop(hop, client);
      return true;
    };
    const onTerminated = () => this.endClient(ctx);
    const client: ClientTx =
      msg.method === 'INVITE'
        ? new InviteClientTransaction({
            request: forwarded,
            send,
            timers: this.o.timerHost,
            reliable,
            values: this.o.timers,
            buildAck: (responseBytes) => {
              ackBytes = this.buildNon2xxAck(forwarded, responseBytes);
              return ackBytes;
            },
            user: {
              onResponse: (status, bytes) => this.onBranchResponse(ctx, status, bytes),
              onTimeout: () => this.onBranchTimeout(ctx),
              onTransportError: (err) => this.onBranchTransportError(ctx, err),
              onTerminated,
            },
          })
        : new NonInviteClientTransaction({
            request: forwarded,
            send,
            timers: this.o.timerHost,
            reliable,
            values: this.o.timers,
            user: {
              onResponse: (status, bytes) => this.onBranchResponse(ctx, status, bytes),
              onTimeout: () => this.onBranchTimeout(ctx),
              onTransportError: (err) => this.onBranchTransportError(ctx, err),
              onTerminated,
            },
          });
    if (this.clients.add(ckey, client) !== 'added') {
      client.dispose();
      return this.respond(ctx, 503, 'Service Unavailable - Transaction Table Full');
    }
    ctx.client = client;
    ctx.clientKey = ckey;
    this.byClientKey.set(ckey, ctx);
    client.start();
  }

  /** §16.10: 200 to the CANCEL, CANCEL the pending branch; the 487 comes back from downstream. */
  private onCancel(msg: SipMessage, peer: NextHop, key: string, fields: Parameters<typeof cancelTargetKey>[0], meta: CaptureMeta): void {
    const inviteKey = cancelTargetKey(fields);
    const invite = inviteKey === undefined ? undefined : this.servers.get(inviteKey);
    const ctx = invite ? this.contexts.get(invite) : undefined;
    const replyTo = responseDestination(msg, peer);
    const lastMeta = { current: meta };
    const server = new NonInviteServerTransaction({
      send: (bytes, retrans) => this.sendTo(bytes, replyTo, lastMeta.current, retrans),
      timers: this.o.timerHost,
      reliable: peer.transport === 'tcp',
      values: this.o.timers,
      user: { onTransportError: () => undefined, onTerminated: () => this.servers.remove(key, server) },
    });
    this.servers.add(key, server);
    if (!ctx || ctx.server.lastStatus >= 200) {
      lastMeta.current = responseMeta(meta, 481, 'Call/Transaction Does Not Exist', meta.branch);
      server.respond(481, buildResponse(msg, 481, 'Call/Transaction Does Not Exist', { toTag: this.newTag() }));
      return;
    }
    lastMeta.current = responseMeta(meta, 200, 'OK', meta.branch);
    // §9.2: the To tag of the 200 to a CANCEL should match the INVITE's response; ours is the same on every generated response of this context.
    server.respond(200, buildResponse(msg, 200, 'OK', { toTag: this.newTag() }));
    ctx.cancelled = true;
    this.cancelBranch(ctx);
  }

  /** §9.1: a CANCEL may only be sent once a provisional response has arrived on the branch. */
  private cancelBranch(ctx: ProxyContext): void {
    if (ctx.cancelSent || !ctx.forwarded || !ctx.forwardedTo || !ctx.client || ctx.client.terminated) return;
    if (!ctx.gotProvisional) return; // sent when the first provisional arrives
    const fwd = parseMessage(ctx.forwarded);
    if (!fwd.ok) return;
    ctx.cancelSent = true;
    const cancel = buildCancel(fwd.msg);
    const hop = ctx.forwardedTo;
    const cmeta: CaptureMeta = { ...ctx.meta, method: 'CANCEL', cseqMethod: 'CANCEL', label: 'CANCEL', branch: ctx.branch };
    const ckey = clientKey(ctx.branch!, 'CANCEL');
    const failed = (err: Error) => tx.reportTransportError(err);
    const tx: NonInviteClientTransaction = new NonInviteClientTransaction({
      request: cancel,
      send: (bytes, retrans) => this.sendTo(bytes, hop, cmeta, retrans, failed),
      timers: this.o.timerHost,
      reliable: hop.transport === 'tcp',
      values: this.o.timers,
      user: {
        // The 200 to our CANCEL is hop-by-hop: absorbed here.
        onResponse: () => undefined,
        onTimeout: () => undefined,
        onTransportError: () => undefined,
        onTerminated: () => this.clients.remove(ckey, tx),
      },
    });
    if (this.clients.add(ckey, tx) === 'added') tx.start();
  }

  // --------------------------------------------------------------- responses

  private onResponse(msg: SipMessage, peer: NextHop, tIn: number): void {
    const branch = msg.topVia.branch;
    const meta = metaOf(msg);
    const key = branch === undefined ? undefined : clientKey(branch, msg.cseq.method);
    const client = key === undefined ? undefined : this.clients.get(key);
    if (!client && key !== undefined) {
      const lingering = this.lingeringInviteClients.get(key) ?? this.lingeringClients.get(key);
      if (lingering !== undefined) return this.onLingeringClient(lingering, msg, peer, tIn, meta);
    }
    if (!client) {
      this.capture(tIn, 'in', peer, this.selfKey, meta, msg.raw, false);
      // §16.7 / RFC 6026: a 2xx to an INVITE whose transaction is gone is forwarded statelessly.
      if (msg.cseq.method === 'INVITE' && msg.status >= 200 && msg.status < 300) {
        this.forwardResponseStateless(msg, meta);
      } else {
        this.o.drops.count('sip.response', 'no-matching-transaction');
      }
      return;
    }
    const ctx = key === undefined ? undefined : this.byClientKey.get(key);
    const status = msg.status;
    const repeat = ctx ? ctx.seenStatuses.includes(status) : false;
    if (repeat) {
      this.retransmissionsIn++;
      this.retransRate.mark(this.o.clock.monoMs());
    } else ctx?.seenStatuses.push(status);
    this.capture(tIn, 'in', peer, this.selfKey, meta, msg.raw, repeat);
    this.inFlight = msg;
    client.receiveResponse(status, msg.raw);
    this.inFlight = null;
  }

  /** The parsed response currently being handed to a client transaction (avoids a re-parse). */
  private inFlight: SipMessage | null = null;

  /** A response passed up by a client transaction: relay it upstream (§16.7). */
  private onBranchResponse(ctx: ProxyContext, status: number, bytes: Buffer): void {
    if (status < 200) {
      if (!ctx.gotProvisional) {
        ctx.gotProvisional = true;
        if (ctx.cancelled) this.cancelBranch(ctx);
      }
      if (status === 100) return; // §16.7 step 5: 100 Trying is not forwarded
    }
    const msg = this.inFlight && this.inFlight.raw === bytes ? this.inFlight : parseOrNull(bytes);
    if (!msg) return;
    const upstream = spliceMessage(msg, { removeTopVia: true });
    ctx.lastResponseMeta = responseMeta(ctx.meta, status, msg.startLine.kind === 'response' ? msg.startLine.reason : '', ctx.meta.branch);
    ctx.server.respond(status, upstream);
    if (status >= 200) {
      releaseRequest(ctx);
      this.linger(ctx, upstream);
    }
  }

  /**
   * A relayed final response leaves both transactions only absorbing or
   * answering retransmissions until their last timer: hand them over to the
   * linger tables and let the machines, their timers and the context go.
   */
  private linger(ctx: ProxyContext, upstream: Buffer): void {
    const { server, client } = ctx;
    const meta = ctx.lastResponseMeta ?? ctx.meta;
    // Over TCP, Timers J and K are zero: those machines have already terminated and nothing lingers (§17.2.2, §17.1.2.2).
    if (server instanceof InviteServerTransaction ? server.state === 'accepted' : server.state === 'completed') {
      const key = ctx.serverKey;
      const tx: LingeringServer = server instanceof InviteServerTransaction ? ACCEPTED_INVITE : { response: upstream, replyTo: ctx.replyTo, meta };
      server.dispose();
      this.lingeringServers.add(key, tx);
    }
    if (!client || !ctx.clientKey) return;
    const ck = ctx.clientKey;
    if (client instanceof InviteClientTransaction && client.state === 'accepted') {
      client.dispose();
      this.lingeringInviteClients.add(ck, { replyTo: ctx.replyTo, meta, seenStatuses: ctx.seenStatuses, sent: upstream });
    } else if (client instanceof NonInviteClientTransaction && client.state === 'completed') {
      client.dispose();
      this.lingeringClients.add(ck, COMPLETED_CLIENT);
    }
  }

  /** A request matching a server transaction that has lingered past its final response. */
  private onLingeringServer(tx: LingeringServer, msg: SipMessage, peer: NextHop, tIn: number, meta: CaptureMeta): void {
    if (msg.method === 'ACK') {
      // Only an RFC 2543 peer's ACK for a 2xx matches the INVITE; Accepted passes it on (RFC 6026 §7.1).
      this.capture(tIn, 'in', peer, this.selfKey, meta, msg.raw, false);
      if (tx === ACCEPTED_INVITE) this.forwardStateless(msg, peer);
      return;
    }
    this.retransmissionsIn++;
    this.retransRate.mark(this.o.clock.monoMs());
    this.capture(tIn, 'in', peer, this.selfKey, meta, msg.raw, true);
    // Accepted absorbs INVITE retransmissions; Completed "MUST pass the final response to the transport layer for retransmission" (§17.2.2).
    if (tx !== ACCEPTED_INVITE) this.sendTo(tx.response, tx.replyTo, tx.meta, true);
  }

  /** A response matching a client transaction that has lingered past its final response. */
  private onLingeringClient(tx: AcceptedClient | typeof COMPLETED_CLIENT, msg: SipMessage, peer: NextHop, tIn: number, meta: CaptureMeta): void {
    const status = msg.status;
    const repeat = tx === COMPLETED_CLIENT || tx.seenStatuses.includes(status);
    if (repeat) {
      this.retransmissionsIn++;
      this.retransRate.mark(this.o.clock.monoMs());
    }
    this.capture(tIn, 'in', peer, this.selfKey, meta, msg.raw, repeat);
    // RFC 6026 §8.4: 2xx retransmissions in Accepted go up, and the server side sends them on (§7.1); anything else is absorbed.
    if (tx === COMPLETED_CLIENT || status < 200 || status >= 300) return;
    const upstream = spliceMessage(msg, { removeTopVia: true });
    // A retransmission re-sends the same bytes; another 2xx (a fork downstream) is new (RFC 6026 §7.1).
    this.sendTo(upstream, tx.replyTo, tx.meta, upstream.equals(tx.sent));
  }

  /** Timer B/F: "the proxy ... behave as if the client transaction received a 408" (§16.8). */
  private onBranchTimeout(ctx: ProxyContext): void {
    if (ctx.cancelled) return this.respond(ctx, 487, 'Request Terminated');
    this.respond(ctx, 408, 'Request Timeout');
  }

  /**
   * A transport error is "as if the client transaction received a 503"
   * (§16.9). A UAC that has CANCELled waits for the 487 (§9.2), whatever
   * ended the branch: it gets that, as it does after Timer B.
   */
  private onBranchTransportError(ctx: ProxyContext, err: unknown): void {
    if (ctx.cancelled) return this.respond(ctx, 487, 'Request Terminated');
    this.respond(ctx, 503, unreachableReason(err));
  }

  /** Answers the request of ctx upstream through its server transaction (one place for generated responses). */
  private respond(ctx: ProxyContext, status: number, reason: string, headers?: ReadonlyArray<readonly [string, string]>): void {
    if (!ctx.request || ctx.server.terminated || ctx.server.lastStatus >= 200) return;
    ctx.lastResponseMeta = responseMeta(ctx.meta, status, reason, ctx.meta.branch);
    ctx.server.respond(status, buildResponse(ctx.request, status, reason, { toTag: this.newTag(), headers }));
    if (status >= 200) releaseRequest(ctx);
  }

  /** RFC 3261 §8.2.6.2: a response we generate as a UAS carries a To tag (§16.3, §16.10). */
  private newTag(): string {
    return `cp${this.tagPrefix}${(this.tagSeq++).toString(36)}`;
  }

  private readonly tagPrefix = Math.floor(Math.random() * 36 ** 6).toString(36);
  private tagSeq = 0;

  // ------------------------------------------------------------ stateless

  private forwardStateless(msg: SipMessage, peer: NextHop): void {
    const mf = msg.maxForwards ?? DEFAULT_MAX_FORWARDS;
    if (mf <= 0) return this.o.drops.count('sip.proxy', 'ack-max-forwards');
    const route = decideRoute(msg, this.o.self, this.o.targets, this.pickTarget);
    if (!route.ok) return this.o.drops.count('sip.proxy', `stateless-unroutable-${route.status}`);
    const hop = route.hop;
    const topViaParams: [string, string | null][] = [];
    if (peer.transport === 'udp' && msg.topVia.params.has('rport')) topViaParams.push(['rport', String(peer.port)], ['received', peer.host]);
    // §16.11: a stateless branch must be the same for retransmissions; derive it from the incoming branch.
    const branch = `z9hG4bK-cp-${msg.topVia.branch ?? msg.callId}`;
    const out = spliceMessage(msg, {
      prependVia: `SIP/2.0/${hop.transport === 'tcp' ? 'TCP' : 'UDP'} ${this.selfSentBy};branch=${branch}`,
      removeFirstRoute: route.removeFirstRoute,
      set: [['Max-Forwards', String(mf - 1)]],
      topViaParams,
    });
    this.sendTo(out, hop, { ...metaOf(msg), branch }, false);
  }

  private forwardResponseStateless(msg: SipMessage, meta: CaptureMeta): void {
    const vias = msg.vias();
    const next = vias[1];
    if (!next) return this.o.drops.count('sip.response', 'no-via-left');
    const received = next.params.get('received') ?? next.host;
    const rport = next.params.get('rport');
    const port = rport ? Number(rport) : (next.port ?? 5060);
    const transport = next.transport === 'TCP' ? 'tcp' : 'udp';
    this.sendTo(spliceMessage(msg, { removeTopVia: true }), { host: received, port, transport }, meta, false);
  }

  private replyStateless(msg: SipMessage, peer: NextHop, status: number, reason: string, meta: CaptureMeta, headers?: ReadonlyArray<readonly [string, string]>): void {
    const dest = responseDestination(msg, peer);
    this.sendTo(buildResponse(msg, status, reason, { toTag: this.newTag(), headers }), dest, responseMeta(meta, status, reason, meta.branch), false);
  }

  // ------------------------------------------------------------ plumbing

  private buildNon2xxAck(forwarded: Buffer, responseBytes: Buffer): Buffer {
    const req = parseMessage(forwarded);
    const res = this.inFlight && this.inFlight.raw === responseBytes ? { ok: true as const, msg: this.inFlight } : parseMessage(responseBytes);
    if (!req.ok || !res.ok) return Buffer.alloc(0);
    return buildAck(req.msg, res.msg);
  }

  private endServer(ctx: ProxyContext): void {
    this.servers.remove(ctx.serverKey, ctx.server);
    this.contexts.delete(ctx.server);
  }

  private endClient(ctx: ProxyContext): void {
    if (ctx.clientKey && ctx.client) {
      this.clients.remove(ctx.clientKey, ctx.client);
      this.byClientKey.delete(ctx.clientKey);
    }
  }

  /**
   * Sends and captures. Returns false when the transport is gone (the
   * transaction reports it); a failure found later goes to `onFailure` — for a
   * client transaction, its transport error, which §16.9 treats "as if the
   * client transaction received a 503".
   */
  private sendTo(bytes: Buffer, hop: NextHop, meta: CaptureMeta, retrans: boolean, onFailure?: SendFailure): boolean {
    const t = hop.transport === 'tcp' ? this.transports.tcp : this.transports.udp;
    if (!t) return false;
    this.messagesOut++;
    if (retrans) {
      this.retransmissionsOut++;
      this.retransRate.mark(this.o.clock.monoMs());
    }
    t.send(bytes, hop, onFailure);
    this.captureSent(hop, meta, bytes, retrans);
    return true;
  }

  /**
   * An ICMP error for the hop fails the client transaction only while it has
   * heard nothing back: a hop that answered is there, whatever a late ICMP says.
   */
  private probeHop(hop: NextHop, client: ClientTx): void {
    this.transports.udp?.probe?.(hop, (err) => {
      if (client.state === 'calling' || client.state === 'trying') client.reportTransportError(err);
    });
  }

  private sendRaw(bytes: Buffer, peer: NextHop, meta: CaptureMeta | null, retrans: boolean): void {
    const t = peer.transport === 'tcp' ? this.transports.tcp : this.transports.udp;
    if (!t) return;
    this.messagesOut++;
    t.send(bytes, peer);
    if (meta) this.captureSent(peer, meta, bytes, retrans);
  }

  /**
   * Stamps an outgoing message once it has left: the UDP transport sends
   * inside `send()` (its lookup answers IP literals at once, see udp.ts) and
   * TCP hands the bytes to the socket there, so the stamp is taken after it.
   */
  private captureSent(to: NextHop, meta: CaptureMeta, bytes: Buffer, retrans: boolean): void {
    this.o.events.emit(captureEvent(this.o.clock.nowUs(), 'out', to.transport, this.selfKey, formatHostPort(to), meta, bytes, retrans));
  }

  private capture(tsUs: number, direction: 'in' | 'out', peer: NextHop, self: string, meta: CaptureMeta, raw: Buffer, retrans: boolean): void {
    this.o.events.emit(captureEvent(tsUs, direction, peer.transport, formatHostPort(peer), self, meta, raw, retrans));
  }
}


/** What server-transaction matching needs of a request (RFC 3261 §17.2.3). */
function requestFields(msg: SipMessage): ServerRequestFields {
  const via = msg.topVia;
  return {
    branch: via.branch,
    sentBy: via.port === undefined ? via.host : `${via.host}:${via.port}`,
    method: msg.method,
    // Read only for RFC 2543 peers; built eagerly all the same: a getter here (to skip parsing From)
    // measured no better, and slightly worse, at 1,000 calls/s (an accessor object per request).
    legacy: { requestUri: msg.uri ?? '', toTag: msg.to.tag, fromTag: msg.from.tag, callId: msg.callId, cseqNumber: msg.cseq.seq, topVia: via.raw },
  };
}

/** The 503's reason phrase names what the transport reported (RFC 3261 §16.9, §18.4), so the ladder shows why. */
function unreachableReason(err: unknown): string {
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'ECONNREFUSED':
      return 'Service Unavailable - Next Hop Port Unreachable';
    case 'EHOSTUNREACH':
    case 'EHOSTDOWN':
      return 'Service Unavailable - Next Hop Host Unreachable';
    case 'ENETUNREACH':
      return 'Service Unavailable - Next Hop Network Unreachable';
    case 'EACCES':
    case 'EPERM':
      return 'Service Unavailable - Sending To Next Hop Not Permitted';
    default:
      return 'Service Unavailable - Next Hop Unreachable';
  }
}

function releaseRequest(ctx: ProxyContext): void {
  ctx.request = null;
  ctx.forwarded = null;
}

function parseOrNull(bytes: Buffer): SipMessage | null {
  const r = parseMessage(bytes);
  return r.ok ? r.msg : null;
}
