/**
 * The stateful proxy core, RFC 3261 §16, read from top to bottom in the
 * RFC's order:
 *
 *   receive ── §16.2 a server transaction per request, 100 Trying for an
 *              INVITE at once (§17.2.1), before anything that could wait
 *   §16.3      request validation (validate.ts)
 *   §16.4-16.5 Route processing and the target (routing.ts)
 *   §16.6      forwarding: our Via with a loop-detecting branch, Record-Route,
 *              Max-Forwards − 1, one client transaction, Timer C
 *   §16.7      responses: ours or discarded, relayed upstream
 *   §16.8      Timer C and the client transaction's timeouts
 *   §16.9      transport errors
 *   §16.10     CANCEL
 *   §16.11     stateless forwarding (ACK for a 2xx, late 2xx responses)
 *
 * Around it: admission (admission.ts) decides what waits behind the fast
 * path and what is refused at the door; counters.ts counts; the transport
 * boundary (capturing-transport.ts) sends, counts and captures each message
 * once. Departures from the RFC are noted where they are made.
 */
import type { Clock } from '../../clock';
import type { EventStream, NoteEvent } from '../../events';
import type { DropCounters } from '../../metrics/drops';
import type { LatencySummary } from '../../metrics/histogram';
import { buildAck, buildCancel, buildErrorResponse, buildResponse, parseMessage, spliceMessage, type SipMessage } from '../message';
import type { ProxyStats } from '../stats';
import {
  InviteClientTransaction,
  InviteServerTransaction,
  LingerTable,
  NonInviteClientTransaction,
  NonInviteServerTransaction,
  TIMER_C,
  TransactionTable,
  cancelTargetKey,
  constantCodec,
  clientKey,
  serverKeyFor,
  type ServerRequestFields,
  type TimerHandle,
  type TimerHost,
  type TimerValues,
  deriveTimers,
} from '../transaction';
import { formatHostPort, type HostPort, type NextHop } from '../../net/host-port';
import type { SipTransport } from '../transport/types';
import { AdmissionQueue, MIN_QUEUE_AGE_MS, OVERLOAD_HEADERS } from './admission';
import { metaOf, responseMeta, type CaptureMeta } from '../capture-meta';
import { CapturingTransport } from './capturing-transport';
import { ProxyCounters } from './counters';
import { ACCEPTED_INVITE, acceptedClientCodec, lingeringServerCodec, type AcceptedClient, type LingeringServer } from './linger-records';
import { createProxyBranchGenerator, loopHash, PROXY_BRANCH_MARK, sentByOf } from './loop-branch';
import { decideRoute, receivedParams, responseDestination, roundRobin } from './routing';
import { validateRequest, type Refusal } from './validate';
import { ackAnswerOf, answerOf, lateOfferOf, offerOf, sdpOf, type MediaEnd, type MediaHooks, type MediaOutcome, type MediaSdp } from './media';

export { MAX_PENDING } from './admission';

/** The settings that may change while the proxy runs: they apply to transactions started from then on. */
export interface ProxySettings {
  /** Round-robin targets for initial requests; null routes by Request-URI. */
  targets: NextHop[] | null;
  timers: TimerValues;
  /** Timer C (ms, §16.6 step 11); default TIMER_C. */
  timerC?: number;
}

export interface ProxyCoreOptions extends ProxySettings {
  self: HostPort;
  timerHost: TimerHost;
  clock: Clock;
  events: EventStream;
  drops: DropCounters;
  maxTransactions?: number;
  /** Event-loop delay of the thread this core runs on, for its stats. */
  loopDelay?: { summary(): LatencySummary };
  /**
   * When given, only what must be immediate happens as a datagram is read (a
   * new INVITE gets its server transaction and 100 Trying) and the rest waits
   * in arrival order until `defer` calls back (admission.ts). Without it, all
   * is inline.
   */
  defer?: (drain: () => void) => void;
  /** Messages allowed to wait behind the fast path (default MAX_PENDING). */
  maxPending?: number;
  /** Queue age (ms) that refuses new calls (default T1/2, at least 100). */
  maxQueueAgeMs?: number;
  /** The RTP relay while it runs (null: SDP passes untouched): asked at every offer and answer (media.ts). */
  media?: () => MediaHooks | null;
}

/** One message waiting behind the fast path: a new INVITE to route (its server transaction exists), or anything else to dispatch. */
type Pending = { ctx: ProxyContext; msg: null; peer: NextHop; tIn: number } | { ctx: null; msg: SipMessage; peer: NextHop; tIn: number };

type ServerTx = InviteServerTransaction | NonInviteServerTransaction;
type ClientTx = InviteClientTransaction | NonInviteClientTransaction;

/** Everything one proxied request needs: its two transactions and how to answer upstream (§16.2). */
interface ProxyContext {
  /** Released once a final response is sent: the transactions keep only bytes for up to 64·T1. */
  request: SipMessage | null;
  meta: CaptureMeta;
  server: ServerTx;
  serverKey: string;
  replyTo: NextHop;
  /** Where the request came from (for the Via rule when it is forwarded again over another transport). */
  peer: NextHop;
  client: ClientTx | null;
  clientKey: string | null;
  /** The request as forwarded (with our Via), for CANCEL and ACK construction. */
  forwarded: Buffer | null;
  forwardedTo: NextHop | null;
  branch: string | null;
  /** The request went over TCP only because it is large (§18.1.1): UDP is the fallback when TCP fails. */
  upgradedToTcp: boolean;
  /** Meta of the last response handed to the server transaction, for its retransmissions. */
  lastResponseMeta: CaptureMeta | null;
  /** Statuses received on the branch: a repeat is a retransmission (flagged in capture). */
  seenStatuses: number[];
  gotProvisional: boolean;
  cancelled: boolean;
  cancelSent: boolean;
  /**
   * The To tag upstream sees on responses to this request: the downstream
   * one of the last relayed response that had one, else ours, drawn once —
   * so a 200 to CANCEL and the INVITE's final response agree (§9.2).
   */
  toTag: string | null;
  /** Timer C (INVITE only), or its 64·T1 wait for the CANCEL's 487 once it fired. */
  timerC: TimerHandle | null;
  /** The settings in force when the request arrived: Timer C and its 64·T1 wait keep them across configure(). */
  settings: ProxySettings;
  /** The request's offer went to the relay: answers on this transaction go there too. */
  mediaOffered: boolean;
  /** An INVITE went downstream without SDP while the relay ran: its 18x/2xx carry the callee's late offer. */
  mediaLateOffer: boolean;
  /** The offer was an initial INVITE's: a final error ends the relay's session. */
  mediaInitial: boolean;
  /** The request's body as the relay rewrote it (kept for a re-send over another transport). */
  body: Buffer | null;
  /** An answer is with the relay: responses behind it wait here, in order. */
  mediaBusy: boolean;
  mediaWait: (() => void)[];
}

const DEFAULT_MAX_FORWARDS = 70;
/** RFC 3261 §18.1.1: "larger than 1300 bytes and the path MTU is unknown" → a congestion-controlled transport. */
const UDP_SIZE_FOR_TCP = 1300;
/** The largest UDP payload over IPv4 (65,535 − 8 − 20). */
const MAX_UDP_PAYLOAD = 65_507;
/** How long a next hop that refused TCP is sent large requests over UDP without trying TCP again (ms). */
const NO_TCP_MEMORY_MS = 5 * 60_000;

/** How long a caller should wait before trying again when the relay has no ports (RFC 3261 §21.5.4). */
const MEDIA_RETRY_AFTER: ReadonlyArray<readonly [string, string]> = [['Retry-After', '5']];

/** A non-INVITE client transaction in Completed: absorbs response retransmissions (RFC 3261 §17.1.2.2). */
const COMPLETED_CLIENT = 'completed-client' as const;

export class ProxyCore {
  // ----------------------------------------------------------- state
  private readonly options: ProxyCoreOptions;
  private settings: ProxySettings;
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
  /** Next hops that refused a TCP connection: host:port → until (monotonic ms). */
  private readonly noTcp = new Map<string, number>();
  private readonly newBranch = createProxyBranchGenerator();
  private pickTarget: () => NextHop;
  private readonly selfSentBy: string;
  private readonly recordRoute: string;
  private readonly wire: CapturingTransport;
  private readonly admission: AdmissionQueue<Pending> | null;
  readonly counters: ProxyCounters;
  private readonly tagPrefix = Math.floor(Math.random() * 36 ** 6).toString(36);
  private tagSeq = 0;
  /** The parsed response currently being handed to a client transaction (avoids a re-parse). */
  private inFlight: SipMessage | null = null;

  constructor(options: ProxyCoreOptions) {
    this.options = options;
    this.settings = { targets: options.targets, timers: options.timers, timerC: options.timerC };
    this.servers = new TransactionTable<ServerTx>({ max: options.maxTransactions });
    this.clients = new TransactionTable<ClientTx>({ max: options.maxTransactions });
    const t = deriveTimers(false, options.timers);
    const now = () => options.clock.monoMs();
    // A linger let go early (memory cap) can only turn a late retransmission into a new request: counted.
    const lingerOptions = { onDrop: (reason: string) => options.drops.count('sip.linger', reason) };
    this.lingeringServers = new LingerTable(t.L, options.timerHost, now, lingeringServerCodec, lingerOptions);
    this.lingeringInviteClients = new LingerTable(t.M, options.timerHost, now, acceptedClientCodec, lingerOptions);
    this.lingeringClients = new LingerTable(t.K, options.timerHost, now, constantCodec(COMPLETED_CLIENT), lingerOptions);
    this.pickTarget = targetPicker(options.targets, options.self);
    this.selfSentBy = formatHostPort(options.self);
    this.recordRoute = `<sip:${this.selfSentBy};lr>`;
    this.counters = new ProxyCounters(options.clock);
    this.wire = new CapturingTransport({ clock: options.clock, events: options.events, counters: this.counters, self: this.selfSentBy });
    this.admission = options.defer
      ? new AdmissionQueue<Pending>({
          clock: options.clock,
          defer: options.defer,
          handle: (w) => this.dispatch(w),
          maxPending: options.maxPending,
          // Never under 100 ms: a short T1 must not turn one GC pause or one slow slice into refused calls.
          maxQueueAgeMs: options.maxQueueAgeMs ?? Math.max(options.timers.T1 / 2, MIN_QUEUE_AGE_MS),
        })
      : null;
  }

  attach(udp: SipTransport | null, tcp: SipTransport | null): void {
    this.wire.attach(udp, tcp);
  }

  /** Ends every transaction (component stop). */
  detach(): void {
    this.admission?.clear();
    for (const tx of [...this.servers.values(), ...this.clients.values()]) tx.dispose();
    for (const ctx of this.contexts.values()) this.clearTimerC(ctx);
    this.lingeringServers.clear();
    this.lingeringInviteClients.clear();
    this.lingeringClients.clear();
    this.contexts.clear();
    this.byClientKey.clear();
    this.wire.detach();
  }

  /**
   * New timers, Timer C or targets, for transactions started from now on;
   * those in flight keep the values they started with (RFC 3261 §17 timers
   * belong to a transaction).
   */
  configure(change: Partial<ProxySettings>): void {
    const next: ProxySettings = { ...this.settings, ...change };
    this.settings = next;
    const t = deriveTimers(false, next.timers);
    this.lingeringServers.ttlMs = t.L;
    this.lingeringInviteClients.ttlMs = t.M;
    this.lingeringClients.ttlMs = t.K;
    if (change.targets !== undefined) this.pickTarget = targetPicker(next.targets, this.options.self);
  }

  stats(): ProxyStats {
    const c = this.counters;
    return {
      messagesIn: c.messagesIn,
      messagesOut: c.messagesOut,
      retransmissionsIn: c.retransmissionsIn,
      retransmissionsOut: c.retransmissionsOut,
      activeTransactions: this.servers.size + this.clients.size + this.lingeringServers.size + this.lingeringInviteClients.size + this.lingeringClients.size,
      callsPerSecond: c.callsPerSecond(),
      retransmissionsPerSecond: c.retransmissionsPerSecond(),
      retransmissionsInPerSecond: c.retransmissionsInPerSecond(),
      trying100: c.trying100Summary(),
      loopDelay: this.options.loopDelay?.summary() ?? { count: 0, p50: 0, p90: 0, p99: 0, max: 0 },
      answered: c.answeredByStatus(),
      finals: c.finalsByClass(),
      // The worker's: its gate and its UDP socket (worker/entry.ts).
      inline: null,
      udpBuffers: null,
    };
  }

  /** Messages waiting behind the fast path. */
  get pendingCount(): number {
    return this.admission?.length ?? 0;
  }

  /** Does the work waiting behind the fast path (all of it, or one slice). */
  drain(sliceMs = Infinity): void {
    this.admission?.drain(sliceMs);
  }

  // ---------------------------------------------------- §16.2 receiving

  /**
   * Transport entry point: never throws, whatever the bytes.
   *
   * `heldUs`: how long the message waited before it got here (`inline`
   * publish mode's simulated workers, inline-gate.ts). A new INVITE is
   * captured at its true read time, so its call's ladder and timings show
   * the wait; other held messages are captured when they get here. The
   * proxy's own timers and its `trying100` start now.
   */
  receive(data: Buffer, peer: NextHop, heldUs = 0): void {
    const tIn = this.options.clock.nowUs();
    this.counters.messagesIn++;
    const parsed = parseMessage(data, { stream: peer.transport === 'tcp' });
    if (!parsed.ok) {
      this.options.drops.count('sip.parse', parsed.error.reason);
      // A request with a usable Via gets 400 with a precise reason phrase; responses and ACKs are dropped.
      const reply = buildErrorResponse(parsed.error, this.newTag());
      if (reply) {
        this.counters.answered(400);
        this.wire.send(reply, peer, null, false);
      }
      return;
    }
    const msg = parsed.msg;
    const admission = this.admission;
    if (!admission) return this.dispatch({ ctx: null, msg, peer, tIn });
    if (admission.full) return this.refuseAtTheDoor(msg, peer, tIn);
    let ctx: ProxyContext | null = null;
    try {
      if (msg.isRequest && msg.method === 'INVITE') {
        const accepted = this.acceptNewInvite(msg, peer, tIn, heldUs);
        if (accepted === 'done') return;
        ctx = accepted === 'defer' ? null : accepted;
      }
    } catch (err) {
      return this.internalError(err);
    }
    admission.push(ctx ? { ctx, msg: null, peer, tIn } : { ctx: null, msg, peer, tIn });
  }

  /** Overloaded: new work is refused at the door instead of queued without bound (RFC 3261 §21.5.4). */
  private refuseAtTheDoor(msg: SipMessage, peer: NextHop, tIn: number): void {
    const meta = metaOf(msg);
    this.wire.received(tIn, peer, meta, msg.raw, false);
    if (msg.isRequest && msg.method !== 'ACK') {
      this.options.drops.count('sip.overload', 'request-refused-503');
      this.replyStateless(msg, peer, 503, 'Service Unavailable - Overloaded', meta, OVERLOAD_HEADERS);
    } else {
      const reason = msg.isRequest ? 'ack-dropped' : 'response-dropped';
      this.options.drops.count('sip.overload', reason);
      this.note(msg.callId, `${meta.label} dropped: the proxy's queue is full (overload, ${reason})`);
    }
  }

  /** One message's work: a new INVITE's routing (its transaction exists already), or a whole request or response. */
  private dispatch(w: Pending): void {
    try {
      if (w.ctx) this.proxyRequest(w.ctx);
      else if (w.msg.isRequest) this.onRequest(w.msg, w.peer, w.tIn);
      else this.onResponse(w.msg, w.peer, w.tIn);
    } catch (err) {
      this.internalError(err);
    }
  }

  /** A bug must cost one message, not the signalling path: counted, never thrown to the transport. */
  private internalError(err: unknown): void {
    this.options.drops.count('sip.core', `internal-error: ${(err as Error).message.slice(0, 80)}`);
  }

  /**
   * The fast path: an INVITE that starts a new transaction gets it, and its 100
   * Trying, now. 'defer' leaves the INVITE to the ordinary path (a
   * retransmission, or one that needs a stateless answer); 'done' means it was
   * answered already (table full, or refused while the queue is stale).
   */
  private acceptNewInvite(msg: SipMessage, peer: NextHop, tIn: number, heldUs: number): ProxyContext | 'defer' | 'done' {
    const key = serverKeyFor(requestFields(msg));
    if (key === undefined || this.servers.get(key) !== undefined || this.lingeringServers.get(key) !== undefined) return 'defer';
    const meta = metaOf(msg);
    this.wire.received(tIn - heldUs, peer, meta, msg.raw, false);
    const ctx = this.openServerTransaction(msg, peer, key, meta, tIn);
    if (!ctx) return 'done';
    // A new call (no To tag) while the queue is stale would only add to what times out: refuse it now, keep the rest.
    // Through its transaction, so the 503 is retransmitted until ACKed and the ACK is absorbed here (§17.2.1).
    if (msg.to.tag === undefined && this.admission!.stale(tIn)) {
      this.options.drops.count('sip.overload', 'new-call-refused-503');
      this.respond(ctx, 503, 'Service Unavailable - Overloaded', OVERLOAD_HEADERS);
      return 'done';
    }
    return ctx;
  }

  /** A request: matched to a server transaction (§17.2.3), captured once with what the match says, then handled. */
  private onRequest(msg: SipMessage, peer: NextHop, tIn: number): void {
    const fields = requestFields(msg);
    const key = serverKeyFor(fields);
    const existing = key === undefined ? undefined : this.servers.get(key);
    const meta = metaOf(msg);
    const lingering = existing === undefined && key !== undefined ? this.lingeringServers.get(key) : undefined;

    if (msg.method === 'ACK') {
      // ACK for a 300-699 is hop-by-hop (§17.1.1.3): absorbed by the INVITE server transaction.
      // One it reports in Accepted, or one matching nothing, is for a 2xx: end to end (§16.6, §13.2.2.4).
      const invite = existing instanceof InviteServerTransaction ? existing : undefined;
      const outcome = invite ? invite.receiveAck(msg.raw) : 'passed';
      this.wire.received(tIn, peer, meta, msg.raw, invite !== undefined && outcome === 'absorbed' && invite.state !== 'confirmed');
      if (invite ? outcome === 'passed' && this.contexts.has(invite) : lingering === undefined || lingering === ACCEPTED_INVITE) this.forwardAck(msg, peer);
      return;
    }

    const retransmission = existing !== undefined || lingering !== undefined;
    if (retransmission) this.counters.retransmissionIn();
    this.wire.received(tIn, peer, meta, msg.raw, retransmission);
    if (existing) {
      // Absorbed by the transaction, which re-sends its last response (§17.2.1, §17.2.2).
      existing.receiveRequest();
      return;
    }
    if (lingering !== undefined) {
      // Accepted absorbs INVITE retransmissions; Completed "MUST pass the final response to the transport layer for retransmission" (§17.2.2).
      if (lingering !== ACCEPTED_INVITE) this.wire.send(lingering.response, lingering.replyTo, lingering.meta, true);
      return;
    }
    if (key === undefined) return this.replyStateless(msg, peer, 400, 'Bad Request - Missing Via Branch', meta);
    if (msg.method === 'CANCEL') return this.onCancel(msg, peer, key, fields, meta);
    const ctx = this.openServerTransaction(msg, peer, key, meta, tIn);
    if (ctx) this.proxyRequest(ctx);
  }

  /**
   * A new server transaction and its proxy context; for an INVITE, its 100
   * Trying at once. Null when the table is full (answered 503 statelessly).
   */
  private openServerTransaction(msg: SipMessage, peer: NextHop, key: string, meta: CaptureMeta, tIn: number): ProxyContext | null {
    const method = msg.method;
    const replyTo = responseDestination(msg, peer);
    const reliable = peer.transport === 'tcp';
    const timerValues = this.settings.timers;
    // The transaction's callbacks read the context, which holds the transaction: tie the knot once.
    let ctx!: ProxyContext;
    const send = (bytes: Buffer, retrans: boolean) => this.wire.send(bytes, replyTo, ctx.lastResponseMeta ?? meta, retrans);
    const user = {
      onTimeout: () => undefined,
      onTransportError: () => this.options.drops.count('sip.transport', 'response-send-failed'),
      onTerminated: () => this.endServer(ctx),
    };
    const server =
      method === 'INVITE'
        ? new InviteServerTransaction({ send, timers: this.options.timerHost, reliable, values: timerValues, user: { ...user, onAck: () => undefined } })
        : new NonInviteServerTransaction({ send, timers: this.options.timerHost, reliable, values: timerValues, user });
    ctx = {
      request: msg,
      meta,
      server,
      serverKey: key,
      replyTo,
      peer,
      client: null,
      clientKey: null,
      forwarded: null,
      forwardedTo: null,
      branch: null,
      upgradedToTcp: false,
      lastResponseMeta: null,
      seenStatuses: [],
      gotProvisional: false,
      cancelled: false,
      cancelSent: false,
      toTag: null,
      timerC: null,
      settings: this.settings,
      mediaOffered: false,
      mediaLateOffer: false,
      mediaInitial: false,
      body: null,
      mediaBusy: false,
      mediaWait: [],
    };
    if (this.servers.add(key, ctx.server) !== 'added') {
      ctx.server.dispose();
      this.options.drops.count('sip.proxy', 'transaction-table-full-503');
      this.replyStateless(msg, peer, 503, 'Service Unavailable - Transaction Table Full', meta);
      return null;
    }
    this.contexts.set(ctx.server, ctx);

    if (method === 'INVITE') {
      // Before validation, routing, SDP or anything that could wait: the UAC's Timer A must stop (§16.2, §17.2.1).
      this.counters.callAccepted();
      ctx.lastResponseMeta = responseMeta(meta, 100, 'Trying', meta.branch);
      (server as InviteServerTransaction).sendTrying(buildResponse(msg, 100, 'Trying'));
      this.counters.trying100.record(this.options.clock.nowUs() - tIn);
    }
    return ctx;
  }

  // ------------------------------------- §16.3-16.6 validate, route, forward

  /** §16.3 validation, §16.4-16.5 routing, §16.6 forwarding over one client transaction. */
  private proxyRequest(ctx: ProxyContext, forceUdp = false): void {
    const msg = ctx.request;
    if (!msg) return;
    const refusal = validateRequest(msg, { selfSentBy: this.selfSentBy, hasTargets: this.settings.targets !== null && this.settings.targets.length > 0 });
    if (refusal) return this.refuse(ctx, refusal);
    const route = decideRoute(msg, this.options.self, this.settings.targets, this.pickTarget);
    if (!route.ok) return this.refuse(ctx, route);
    const hooks = this.options.media?.() ?? null;
    if (hooks && msg.method === 'BYE') hooks.end(msg.callId, 'bye');
    const offer = hooks && ctx.body === null && !forceUdp ? offerOf(msg) : null;
    if (hooks && offer) return this.offerThenForward(ctx, hooks, offer, route, forceUdp);
    if (hooks && msg.method === 'INVITE' && sdpOf(msg) === null) ctx.mediaLateOffer = true;
    this.forwardRouted(ctx, msg, route, forceUdp);
  }

  /**
   * The request's SDP goes to the relay first (after the INVITE's 100 Trying,
   * which already went): forwarded with the relay's ports, or refused with
   * the relay's reason (488 bad SDP, 503 no ports), or — relay unreachable —
   * forwarded untouched with a note.
   */
  private offerThenForward(ctx: ProxyContext, hooks: MediaHooks, offer: MediaSdp, route: Extract<ReturnType<typeof decideRoute>, { ok: true }>, forceUdp: boolean): void {
    ctx.mediaOffered = true;
    ctx.mediaInitial = offer.toTag === null && offer.ref?.cseqMethod === 'INVITE';
    const done = (r: MediaOutcome) => {
      const msg = ctx.request;
      if (!msg || ctx.server.terminated || ctx.server.lastStatus >= 200) return this.endMedia(ctx, 'rejected');
      if (ctx.cancelled) {
        // CANCELled while the relay worked: nothing went downstream, so this proxy answers the INVITE itself (§16.10).
        this.respond(ctx, 487, 'Request Terminated');
        return;
      }
      if (r === null) this.note(offer.callId, `the relay did not answer for ${ctx.meta.label}'s SDP: forwarded with its SDP untouched, media not relayed`);
      else if (!r.ok) {
        this.options.drops.count('sip.media', r.status === 503 ? 'offer-refused-503 (no relay ports)' : 'offer-refused-488 (bad SDP)');
        this.respond(ctx, r.status, `${r.status === 503 ? 'Service Unavailable' : 'Not Acceptable Here'} - ${r.reason}`, r.status === 503 ? MEDIA_RETRY_AFTER : undefined);
        return;
      } else ctx.body = Buffer.from(r.sdp, 'latin1');
      this.forwardRouted(ctx, msg, route, forceUdp);
    };
    hooks.offer(offer).then(done, () => done(null));
  }

  /** Ends the relay's session of a rejected or cancelled initial INVITE (once). */
  private endMedia(ctx: ProxyContext, reason: MediaEnd): void {
    if (!ctx.mediaInitial) return;
    ctx.mediaInitial = false;
    this.options.media?.()?.end(ctx.meta.callId, ctx.cancelled ? 'cancel' : reason);
  }

  /** §16.6 steps 3-11 once the request is routed (and its SDP rewritten, when it had any). */
  private forwardRouted(ctx: ProxyContext, msg: SipMessage, route: Extract<ReturnType<typeof decideRoute>, { ok: true }>, forceUdp: boolean): void {
    // Step 8: our Via, with a branch that lets §16.3 step 4 tell a loop from a spiral (loop-branch.ts).
    const branch = this.newBranch(loopHash(msg, msg.topVia));
    const mf = msg.maxForwards ?? DEFAULT_MAX_FORWARDS;
    const isInitialInvite = msg.method === 'INVITE' && !route.inDialog;
    const edits = {
      recordRoute: isInitialInvite ? this.recordRoute : undefined, // step 4
      removeFirstRoute: route.removeFirstRoute, // §16.4 (and step 6's loose routing)
      set: [['Max-Forwards', String(mf - 1)]] as [string, string][], // step 3
      topViaParams: receivedParams(msg, ctx.peer), // §18.2.1, RFC 3581
      body: ctx.body ?? undefined, // the relay's ports, when it rewrote the offer
    };
    let hop = route.hop;
    let forwarded = spliceMessage(msg, { ...edits, prependVia: ourVia(hop, this.selfSentBy, branch) });

    // Step 10 sends it, §18.1.1 picks the transport: a large request takes TCP where the next hop
    // may offer it (we chose UDP, the URI did not); what even UDP cannot carry is refused with 513.
    if (hop.transport === 'udp' && forwarded.length > UDP_SIZE_FOR_TCP && !route.transportNamed && !forceUdp && this.wire.hasTcp && !this.refusedTcp(hop)) {
      hop = { host: hop.host, port: hop.port, transport: 'tcp' };
      forwarded = spliceMessage(msg, { ...edits, prependVia: ourVia(hop, this.selfSentBy, branch) });
      ctx.upgradedToTcp = true;
    } else if (hop.transport === 'udp' && forwarded.length > MAX_UDP_PAYLOAD) {
      return this.refuse(ctx, { status: 513, reason: `Message Too Large - ${forwarded.length} Bytes Exceed One UDP Datagram` });
    }
    this.forward(ctx, msg, forwarded, hop, branch);
  }

  /** Step 10: one client transaction sends the request; step 11: Timer C for an INVITE. */
  private forward(ctx: ProxyContext, msg: SipMessage, forwarded: Buffer, hop: NextHop, branch: string): void {
    ctx.forwarded = forwarded;
    ctx.forwardedTo = hop;
    ctx.branch = branch;
    const fwdMeta: CaptureMeta = { ...ctx.meta, branch };
    const ackMeta: CaptureMeta = { ...fwdMeta, method: 'ACK', cseqMethod: 'ACK', label: 'ACK' };
    const ckey = clientKey(branch, msg.method);
    let ackBytes: Buffer | null = null;
    // One callback per transaction, not per send: a failure the transport learns of later (§17.1.4).
    const failed = (err: Error) => client.reportTransportError(err);
    const send = (bytes: Buffer, retrans: boolean): boolean => {
      const isAck = bytes === ackBytes;
      if (!this.wire.send(bytes, hop, isAck ? ackMeta : fwdMeta, retrans, failed)) return false;
      // Unanswered long enough to be retransmitted, or bound for a hop found dead moments ago: ask ICMP (udp-reachability.ts).
      if (!isAck && hop.transport === 'udp' && (retrans || this.wire.suspect(hop))) this.probeHop(hop, client);
      return true;
    };
    const user = {
      onResponse: (status: number, bytes: Buffer) => this.onBranchResponse(ctx, status, bytes),
      onTimeout: () => this.onBranchTimeout(ctx),
      onTransportError: (err: unknown) => this.onBranchTransportError(ctx, err),
      onTerminated: () => this.endClient(ckey, client),
    };
    const common = { request: forwarded, send, timers: this.options.timerHost, reliable: hop.transport === 'tcp', values: this.settings.timers, user };
    const client: ClientTx =
      msg.method === 'INVITE'
        ? new InviteClientTransaction({
            ...common,
            buildAck: (responseBytes) => {
              ackBytes = this.buildNon2xxAck(forwarded, responseBytes);
              return ackBytes;
            },
          })
        : new NonInviteClientTransaction(common);
    if (this.clients.add(ckey, client) !== 'added') {
      client.dispose();
      this.options.drops.count('sip.proxy', 'transaction-table-full-503');
      return this.respond(ctx, 503, 'Service Unavailable - Transaction Table Full');
    }
    ctx.client = client;
    ctx.clientKey = ckey;
    this.byClientKey.set(ckey, ctx);
    client.start();
    if (client instanceof InviteClientTransaction && !client.terminated) this.armTimerC(ctx);
  }

  /** A §16.3-16.5 refusal, answered upstream through the server transaction. */
  private refuse(ctx: ProxyContext, r: Refusal): void {
    this.respond(ctx, r.status, r.reason, r.headers);
  }

  /** Has this hop refused a TCP connection lately? */
  private refusedTcp(hop: NextHop): boolean {
    const until = this.noTcp.get(`${hop.host}:${hop.port}`);
    if (until === undefined) return false;
    if (until > this.options.clock.monoMs()) return true;
    this.noTcp.delete(`${hop.host}:${hop.port}`);
    return false;
  }

  // ------------------------------------------------------- §16.7 responses

  private onResponse(msg: SipMessage, peer: NextHop, tIn: number): void {
    const meta = metaOf(msg);
    const via = msg.topVia;
    // Step 1: "The proxy locates the client transaction"; §18.1.2: a response whose top Via
    // is not ours "MUST be silently discarded" — here counted, and kept in the call's record.
    if (sentByOf(via) !== this.selfSentBy || !via.branch?.startsWith(PROXY_BRANCH_MARK)) {
      this.wire.received(tIn, peer, meta, msg.raw, false);
      this.options.drops.count('sip.response', 'top-via-not-ours');
      return this.note(msg.callId, `${meta.label} discarded: its top Via (${via.raw.slice(0, 80)}) is not ours (RFC 3261 §18.1.2)`);
    }
    const key = clientKey(via.branch, msg.cseq.method);
    const client = this.clients.get(key);
    const status = msg.status;
    if (!client) {
      const lingering = this.lingeringInviteClients.get(key) ?? this.lingeringClients.get(key);
      if (lingering !== undefined) return this.onLingeringClient(lingering, msg, peer, tIn, meta);
      this.wire.received(tIn, peer, meta, msg.raw, false);
      // §16.7 / RFC 6026: a 2xx to an INVITE whose transaction is gone is forwarded statelessly.
      if (msg.cseq.method === 'INVITE' && status >= 200 && status < 300) return this.forwardResponseStateless(msg, meta);
      this.options.drops.count('sip.response', 'no-matching-transaction');
      return;
    }
    const ctx = this.byClientKey.get(key);
    const repeat = ctx ? ctx.seenStatuses.includes(status) : false;
    if (repeat) this.counters.retransmissionIn();
    else ctx?.seenStatuses.push(status);
    this.wire.received(tIn, peer, meta, msg.raw, repeat);
    this.inFlight = msg;
    client.receiveResponse(status, msg.raw);
    this.inFlight = null;
  }

  /** A response passed up by a client transaction: relayed upstream (§16.7 steps 2-9). */
  private onBranchResponse(ctx: ProxyContext, status: number, bytes: Buffer): void {
    if (status < 200) {
      // Step 2: "If the response is a provisional response (other than 100)" Timer C is reset — we reset on 101-199.
      if (status > 100 && ctx.timerC !== null && !ctx.cancelSent) this.armTimerC(ctx);
      if (!ctx.gotProvisional) {
        ctx.gotProvisional = true;
        if (ctx.cancelled) this.cancelBranch(ctx);
      }
      if (status === 100) return; // step 5: 100 Trying is not forwarded
    } else this.clearTimerC(ctx);
    const msg = this.inFlight && this.inFlight.raw === bytes ? this.inFlight : parseOrNull(bytes);
    if (!msg) return;
    this.upstream(ctx, status, msg);
  }

  /**
   * A response on its way up: an answer to an offer the relay rewrote, or
   * the callee's late offer, goes to the relay first, and whatever comes
   * behind it on the same transaction waits, so upstream sees the responses
   * in the order they came.
   */
  private upstream(ctx: ProxyContext, status: number, msg: SipMessage): void {
    if (ctx.mediaBusy) {
      ctx.mediaWait.push(() => this.upstream(ctx, status, msg));
      return;
    }
    const hooks = ctx.mediaOffered || ctx.mediaLateOffer ? (this.options.media?.() ?? null) : null;
    const sdp = hooks ? (ctx.mediaOffered ? answerOf(msg) : lateOfferOf(msg)) : null;
    if (!hooks || !sdp) return this.relayUpstream(ctx, status, msg, null);
    ctx.mediaBusy = true;
    // A late offer sets up the relay's session: a final error after it ends the session, as after an INVITE's own offer.
    if (ctx.mediaLateOffer) ctx.mediaInitial = true;
    const done = (r: MediaOutcome) => {
      ctx.mediaBusy = false;
      if (r !== null && !r.ok) this.note(sdp.callId, `the relay refused the SDP of ${status} (${r.reason}): relayed with its SDP untouched, media not relayed`);
      this.relayUpstream(ctx, status, msg, r?.ok ? Buffer.from(r.sdp, 'latin1') : null);
      while (!ctx.mediaBusy && ctx.mediaWait.length > 0) ctx.mediaWait.shift()!();
    };
    (ctx.mediaOffered ? hooks.answer(sdp) : hooks.offer(sdp)).then(done, () => done(null));
  }

  /** §16.7 steps 9-10: the response upstream, with the relay's SDP when it rewrote it. */
  private relayUpstream(ctx: ProxyContext, status: number, msg: SipMessage, body: Buffer | null): void {
    if (ctx.server.terminated) return;
    if (msg.to.tag !== undefined) ctx.toTag = msg.to.tag;
    const upstream = spliceMessage(msg, body ? { removeTopVia: true, body } : { removeTopVia: true }); // step 9
    ctx.lastResponseMeta = responseMeta(ctx.meta, status, msg.startLine.kind === 'response' ? msg.startLine.reason : '', ctx.meta.branch);
    ctx.server.respond(status, upstream);
    if (status >= 200) {
      this.counters.finalSent(status);
      if (status >= 300) this.endMedia(ctx, 'rejected');
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

  /** A response matching a client transaction that has lingered past its final response. */
  private onLingeringClient(tx: AcceptedClient | typeof COMPLETED_CLIENT, msg: SipMessage, peer: NextHop, tIn: number, meta: CaptureMeta): void {
    const status = msg.status;
    const repeat = tx === COMPLETED_CLIENT || tx.seenStatuses.includes(status);
    if (repeat) this.counters.retransmissionIn();
    this.wire.received(tIn, peer, meta, msg.raw, repeat);
    // RFC 6026 §8.4: 2xx retransmissions in Accepted go up, and the server side sends them on (§7.1); anything else is absorbed.
    if (tx === COMPLETED_CLIENT || status < 200 || status >= 300) return;
    this.withAnswer(msg, (body) => {
      const upstream = spliceMessage(msg, body ? { removeTopVia: true, body } : { removeTopVia: true });
      // A retransmission re-sends the same bytes; another 2xx (a fork downstream) is new (RFC 6026 §7.1).
      this.wire.send(upstream, tx.replyTo, tx.meta, upstream.equals(tx.sent));
    });
  }

  /**
   * A 2xx relayed outside its transaction (a retransmission, a late fork):
   * its SDP is rewritten as the first one was — the relay answers an answer
   * it already has with the same ports — else it goes up untouched.
   */
  private withAnswer(msg: SipMessage, send: (body: Buffer | null) => void): void {
    const hooks = this.options.media?.() ?? null;
    const answer = hooks ? answerOf(msg) : null;
    if (!hooks || !answer) return send(null);
    hooks.answer(answer).then(
      (r) => send(r?.ok ? Buffer.from(r.sdp, 'latin1') : null),
      () => send(null),
    );
  }

  // ---------------------------------------------- §16.8 timeouts, §16.9 errors

  /**
   * Timer C (§16.6 step 11, §16.8): "If timer C should fire, ... If the client
   * transaction has received a provisional response, the proxy MUST generate
   * a CANCEL request matching that transaction. If the client transaction has
   * not received a provisional response, the proxy MUST behave as if the
   * transaction received a 408."
   */
  private armTimerC(ctx: ProxyContext): void {
    const host = this.options.timerHost;
    if (ctx.timerC !== null) host.clear(ctx.timerC);
    const ms = ctx.settings.timerC ?? TIMER_C;
    ctx.timerC = host.set(ms, () => this.onTimerC(ctx, ms));
  }

  private clearTimerC(ctx: ProxyContext): void {
    if (ctx.timerC !== null) this.options.timerHost.clear(ctx.timerC);
    ctx.timerC = null;
  }

  private onTimerC(ctx: ProxyContext, ms: number): void {
    ctx.timerC = null;
    const client = ctx.client;
    if (!client || client.terminated || ctx.server.lastStatus >= 200) return;
    const seconds = ms / 1000;
    if (!ctx.gotProvisional) {
      this.note(ctx.meta.callId, `Timer C fired after ${seconds} s with no response on the branch: answered 408 upstream (RFC 3261 §16.8)`);
      this.endBranch(ctx);
      return this.respond(ctx, 408, 'Request Timeout - Timer C');
    }
    this.note(ctx.meta.callId, `Timer C fired ${seconds} s after the last provisional response: CANCEL sent downstream (RFC 3261 §16.8)`);
    ctx.cancelled = true;
    this.cancelBranch(ctx);
    // §9.1: a CANCELled INVITE client transaction waits 64·T1 for its final response; then we stop waiting and answer 408 ourselves.
    const wait = 64 * ctx.settings.timers.T1;
    ctx.timerC = this.options.timerHost.set(wait, () => {
      ctx.timerC = null;
      if (ctx.server.lastStatus >= 200) return;
      this.note(ctx.meta.callId, `No final response ${wait / 1000} s after Timer C's CANCEL: answered 408 upstream`);
      this.endBranch(ctx);
      this.respond(ctx, 408, 'Request Timeout - Timer C');
    });
  }

  /** Terminates the client transaction of ctx (after Timer C): nothing it may still receive goes upstream. */
  private endBranch(ctx: ProxyContext): void {
    const { client, clientKey: key } = ctx;
    if (!client || key === null) return;
    client.dispose();
    this.endClient(key, client);
  }

  /** Timer B/F: "the proxy ... behave as if the client transaction received a 408" (§16.8). */
  private onBranchTimeout(ctx: ProxyContext): void {
    this.clearTimerC(ctx);
    if (ctx.cancelled) return this.respond(ctx, 487, 'Request Terminated');
    this.respond(ctx, 408, 'Request Timeout');
  }

  /**
   * A transport error is "as if the client transaction received a 503"
   * (§16.9). A UAC that has CANCELled waits for the 487 (§9.2), whatever
   * ended the branch: it gets that, as it does after Timer B. A request that
   * took TCP only for its size (§18.1.1) goes again over UDP first.
   */
  private onBranchTransportError(ctx: ProxyContext, err: unknown): void {
    this.clearTimerC(ctx);
    if (ctx.upgradedToTcp && !ctx.gotProvisional && ctx.forwardedTo) {
      ctx.upgradedToTcp = false;
      this.noTcp.set(`${ctx.forwardedTo.host}:${ctx.forwardedTo.port}`, this.options.clock.monoMs() + NO_TCP_MEMORY_MS);
      this.endBranch(ctx);
      this.note(ctx.meta.callId, `${ctx.meta.label} (${ctx.forwarded?.length ?? 0} bytes) could not go over TCP to ${formatHostPort(ctx.forwardedTo)} (RFC 3261 §18.1.1): sent over UDP instead`);
      return this.proxyRequest(ctx, true);
    }
    if (ctx.cancelled) return this.respond(ctx, 487, 'Request Terminated');
    this.respond(ctx, 503, unreachableReason(err));
  }

  /** Answers the request of ctx upstream through its server transaction (one place for generated responses). */
  private respond(ctx: ProxyContext, status: number, reason: string, headers?: ReadonlyArray<readonly [string, string]>): void {
    if (!ctx.request || ctx.server.terminated || ctx.server.lastStatus >= 200) return;
    this.counters.answered(status);
    ctx.lastResponseMeta = responseMeta(ctx.meta, status, reason, ctx.meta.branch);
    ctx.server.respond(status, buildResponse(ctx.request, status, reason, { toTag: this.toTagOf(ctx), headers }));
    if (status >= 200) {
      this.counters.finalSent(status);
      this.clearTimerC(ctx);
      if (status >= 300) this.endMedia(ctx, 'rejected');
      releaseRequest(ctx);
    }
  }

  /** The To tag upstream sees for ctx (§9.2, §8.2.6.2): the downstream one once relayed, else ours, drawn once. */
  private toTagOf(ctx: ProxyContext): string {
    return (ctx.toTag ??= this.newTag());
  }

  /** RFC 3261 §8.2.6.2: a response we generate as a UAS carries a To tag (§16.3, §16.10). */
  private newTag(): string {
    return `cp${this.tagPrefix}${(this.tagSeq++).toString(36)}`;
  }

  // ---------------------------------------------------------- §16.10 CANCEL

  /** §16.10: 200 to the CANCEL, CANCEL the pending branch; the 487 comes back from downstream. */
  private onCancel(msg: SipMessage, peer: NextHop, key: string, fields: Parameters<typeof cancelTargetKey>[0], meta: CaptureMeta): void {
    const inviteKey = cancelTargetKey(fields);
    const invite = inviteKey === undefined ? undefined : this.servers.get(inviteKey);
    const ctx = invite ? this.contexts.get(invite) : undefined;
    const replyTo = responseDestination(msg, peer);
    const lastMeta = { current: meta };
    const server = new NonInviteServerTransaction({
      send: (bytes, retrans) => this.wire.send(bytes, replyTo, lastMeta.current, retrans),
      timers: this.options.timerHost,
      reliable: peer.transport === 'tcp',
      values: this.settings.timers,
      user: { onTransportError: () => undefined, onTerminated: () => this.servers.remove(key, server) },
    });
    this.servers.add(key, server);
    if (!ctx || ctx.server.lastStatus >= 200) {
      this.counters.answered(481);
      lastMeta.current = responseMeta(meta, 481, 'Call/Transaction Does Not Exist', meta.branch);
      server.respond(481, buildResponse(msg, 481, 'Call/Transaction Does Not Exist', { toTag: this.newTag() }));
      return;
    }
    this.counters.answered(200);
    lastMeta.current = responseMeta(meta, 200, 'OK', meta.branch);
    // §9.2: "the To tag of the response to the CANCEL and the To tag in the response to the original request SHOULD be the same".
    server.respond(200, buildResponse(msg, 200, 'OK', { toTag: this.toTagOf(ctx) }));
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
      send: (bytes, retrans) => this.wire.send(bytes, hop, cmeta, retrans, failed),
      timers: this.options.timerHost,
      reliable: hop.transport === 'tcp',
      values: this.settings.timers,
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

  // ------------------------------------------------- §16.11 stateless

  /** ACK for a 2xx (end to end) goes on statelessly, with a branch derived from the incoming one (§16.11). */
  /** An ACK for a 2xx, end to end; one carrying SDP (the answer to a late offer) goes to the relay first. */
  private forwardAck(msg: SipMessage, peer: NextHop): void {
    const hooks = this.options.media?.() ?? null;
    const answer = hooks ? ackAnswerOf(msg) : null;
    if (!hooks || !answer) return this.forwardStateless(msg, peer, null);
    const done = (r: MediaOutcome) => {
      if (r !== null && !r.ok) this.note(answer.callId, `the relay refused the SDP of the ACK (${r.reason}): forwarded with its SDP untouched, media not relayed`);
      this.forwardStateless(msg, peer, r?.ok ? Buffer.from(r.sdp, 'latin1') : null);
    };
    hooks.answer(answer).then(done, () => done(null));
  }

  /** `body`: the relay's rewrite of the request's SDP. */
  private forwardStateless(msg: SipMessage, peer: NextHop, body: Buffer | null): void {
    const refusal = validateRequest(msg, { selfSentBy: this.selfSentBy, hasTargets: this.settings.targets !== null && this.settings.targets.length > 0 });
    // An ACK cannot be answered: what would refuse another request drops it, counted and noted on its call.
    if (refusal && refusal.status !== 200) return this.dropAck(msg, `ack-${refusal.status}`, refusal.reason);
    const route = decideRoute(msg, this.options.self, this.settings.targets, this.pickTarget);
    if (!route.ok) return this.dropAck(msg, `ack-unroutable-${route.status}`, route.reason);
    const hop = route.hop;
    const mf = msg.maxForwards ?? DEFAULT_MAX_FORWARDS;
    // "the branch ID ... MUST be the same for retransmissions" (§16.11): derived from the incoming branch.
    const branch = `z9hG4bK-cp-${msg.topVia.branch ?? msg.callId}`;
    const out = spliceMessage(msg, {
      prependVia: ourVia(hop, this.selfSentBy, branch),
      removeFirstRoute: route.removeFirstRoute,
      set: [['Max-Forwards', String(mf - 1)]],
      topViaParams: receivedParams(msg, peer),
      body: body ?? undefined,
    });
    if (hop.transport === 'udp' && out.length > MAX_UDP_PAYLOAD) return this.dropAck(msg, 'ack-too-large', `${out.length} bytes exceed one UDP datagram to ${formatHostPort(hop)}`);
    this.wire.send(out, hop, { ...metaOf(msg), branch }, false);
  }

  private dropAck(msg: SipMessage, reason: string, why: string): void {
    this.options.drops.count('sip.proxy', reason);
    this.note(msg.callId, `ACK dropped: ${why}`);
  }

  /** A 2xx whose transaction is gone (its top Via checked ours already) goes to the next Via (§16.7 step 3, §18.2.2). */
  private forwardResponseStateless(msg: SipMessage, meta: CaptureMeta): void {
    const vias = msg.vias();
    const next = vias[1];
    if (!next) return this.options.drops.count('sip.response', 'no-via-left');
    const received = next.params.get('received') ?? next.host;
    const rport = next.params.get('rport');
    const port = rport ? Number(rport) : (next.port ?? 5060);
    const transport = next.transport === 'TCP' ? 'tcp' : 'udp';
    this.withAnswer(msg, (body) => this.wire.send(spliceMessage(msg, body ? { removeTopVia: true, body } : { removeTopVia: true }), { host: received, port, transport }, meta, false));
  }

  private replyStateless(msg: SipMessage, peer: NextHop, status: number, reason: string, meta: CaptureMeta, headers?: ReadonlyArray<readonly [string, string]>): void {
    this.counters.answered(status);
    this.counters.finalSent(status);
    const dest = responseDestination(msg, peer);
    this.wire.send(buildResponse(msg, status, reason, { toTag: this.newTag(), headers }), dest, responseMeta(meta, status, reason, meta.branch), false);
  }

  // ------------------------------------------------------------ plumbing

  private buildNon2xxAck(forwarded: Buffer, responseBytes: Buffer): Buffer {
    const req = parseMessage(forwarded);
    const res = this.inFlight && this.inFlight.raw === responseBytes ? { ok: true as const, msg: this.inFlight } : parseMessage(responseBytes);
    if (!req.ok || !res.ok) return Buffer.alloc(0);
    return buildAck(req.msg, res.msg);
  }

  private endServer(ctx: ProxyContext): void {
    this.clearTimerC(ctx);
    this.servers.remove(ctx.serverKey, ctx.server);
    this.contexts.delete(ctx.server);
  }

  /** A client transaction is over: by its own key, since ctx may have a newer branch by then (§18.1.1 fallback). */
  private endClient(key: string, client: ClientTx): void {
    this.clients.remove(key, client);
    this.byClientKey.delete(key);
  }

  /**
   * An ICMP error for the hop fails the client transaction only while it has
   * heard nothing back: a hop that answered is there, whatever a late ICMP says.
   */
  private probeHop(hop: NextHop, client: ClientTx): void {
    this.wire.probe(hop, (err) => {
      if (client.state === 'calling' || client.state === 'trying') client.reportTransportError(err);
    });
  }

  /** A line on the call's ladder (the note lane): why something happened that no message shows. */
  private note(callId: string, text: string): void {
    const ev: NoteEvent = { kind: 'note', tsUs: this.options.clock.nowUs(), callId, at: this.selfSentBy, text };
    this.options.events.emit(ev);
  }
}

/** Our Via for a hop (§16.6 step 8): the transport we send over, our sent-by, the branch. */
function ourVia(hop: NextHop, sentBy: string, branch: string): string {
  return `SIP/2.0/${hop.transport === 'tcp' ? 'TCP' : 'UDP'} ${sentBy};branch=${branch}`;
}

function targetPicker(targets: NextHop[] | null, self: HostPort): () => NextHop {
  return targets && targets.length > 0 ? roundRobin(targets) : () => ({ host: self.host, port: self.port, transport: 'udp' });
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
    case 'EMSGSIZE':
      return 'Service Unavailable - Next Hop Refused The Message Size';
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
