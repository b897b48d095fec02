/**
 * /metrics in the Prometheus text exposition format (version 0.0.4), built
 * from a snapshot so the numbers match what the UI shows.
 */
import type { LatencySummary, Snapshot } from './contract';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function renderPrometheus(s: Snapshot): string {
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge' | 'summary', help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) out.push(`${name}${labels} ${Number.isFinite(v) ? v : 0}`);
  };
  metric('callpath_up', 'gauge', 'The engine host is serving.', [['', 1]]);
  metric('callpath_uptime_seconds', 'gauge', 'Seconds since the engine started.', [['', (s.nowUs - s.startedUs) / 1e6]]);
  metric(
    'callpath_component_up',
    'gauge',
    'Component state: 1 running, 0 otherwise (label state gives the state).',
    s.components.map((c) => [`{component="${c.name}",state="${c.state}"}`, c.state === 'running' ? 1 : 0]),
  );
  if (s.sip) sipLines(s.sip, metric, out);
  summaryLines(out, 'callpath_event_loop_delay_seconds', 'Event-loop delay of the host thread (UI, API, call store).', s.eventLoopDelay);
  wireLines(s, metric, out);
  publishLines(s, metric, out);
  relayLines(s, metric);
  forwardLines(s, metric);
  metric('callpath_calls_stored', 'gauge', 'Calls held in the bounded call store, all sources.', [['', s.calls.stored]]);
  metric('callpath_calls_active', 'gauge', 'Stored calls still in progress.', [['', s.calls.active]]);
  metric('callpath_call_store_bytes', 'gauge', 'Bytes the call store holds: the slabs holding stored messages, plus a fixed cost per entry and call.', [['', s.calls.bytes]]);
  metric('callpath_call_store_max_bytes', 'gauge', 'The call store byte budget.', [['', s.calls.maxBytes]]);
  metric('callpath_calls_evicted_total', 'counter', 'Calls evicted from the bounded call store, by reason.', Object.entries(s.calls.evictedBy).map(([r, n]) => [`{reason="${esc(r)}"}`, n]));
  metric('callpath_call_entries_rotated_total', 'counter', 'Ladder entries rotated out of calls longer than the per-call bound.', [['', s.calls.entriesDropped]]);
  metric(
    'callpath_drops_total',
    'counter',
    'Deliberate drops by place and reason.',
    s.drops.map((d) => [`{where="${esc(d.where)}",reason="${esc(d.reason)}"}`, d.count]),
  );
  return out.join('\n') + '\n';
}

type Metric = (name: string, type: 'counter' | 'gauge' | 'summary', help: string, samples: [string, number][]) => void;

/** The proxy's section; absent while the proxy is. */
function sipLines(sip: NonNullable<Snapshot['sip']>, metric: Metric, out: string[]): void {
  metric('callpath_sip_messages_total', 'counter', 'SIP messages by direction.', [
    ['{direction="in"}', sip.messagesIn],
    ['{direction="out"}', sip.messagesOut],
  ]);
  metric('callpath_sip_retransmissions_total', 'counter', 'SIP retransmissions received (in) and sent (out).', [
    ['{direction="in"}', sip.retransmissionsIn],
    ['{direction="out"}', sip.retransmissionsOut],
  ]);
  metric('callpath_sip_calls_per_second', 'gauge', 'New calls (initial INVITEs) per second.', [['', sip.callsPerSecond]]);
  metric('callpath_sip_retransmissions_per_second', 'gauge', 'Retransmissions per second, both directions.', [['', sip.retransmissionsPerSecond]]);
  metric('callpath_sip_active_calls', 'gauge', 'Live calls not yet terminated or failed (imported calls not counted).', [['', sip.activeCalls]]);
  metric('callpath_sip_active_transactions', 'gauge', 'Live SIP transactions (RFC 3261 §17).', [['', sip.activeTransactions]]);
  metric(
    'callpath_sip_responses_generated_total',
    'counter',
    'Responses the proxy generated itself (not relayed), by status: 408 timeouts, 483, 503 overload, … (100 Trying not counted).',
    Object.entries(sip.answered).map(([status, n]) => [`{status="${status}"}`, n]),
  );
  metric(
    'callpath_sip_final_responses_total',
    'counter',
    'Final responses sent upstream, relayed or generated, once per transaction, by class.',
    Object.entries(sip.finals).map(([cls, n]) => [`{class="${cls}"}`, n]),
  );
  summaryLines(out, 'callpath_sip_trying_latency_seconds', 'INVITE read to 100 Trying sent, engine time (after any wait in the kernel), last minute.', sip.trying100);
  summaryLines(out, 'callpath_sip_event_loop_delay_seconds', 'Event-loop delay of the SIP worker thread.', sip.loopDelay);
}

/** The wire tap and the kernel's side of the SIP socket. */
function wireLines(s: Snapshot, metric: Metric, out: string[]): void {
  const w = s.wire;
  metric('callpath_wire_tap_up', 'gauge', 'The wire tap (dumpcap on the SIP interface) is capturing.', [['', w.on ? 1 : 0]]);
  if (w.on || w.paired > 0) {
    metric('callpath_wire_messages_total', 'counter', 'SIP messages by who saw them: both the wire and the engine, the wire only, the engine only.', [
      ['{seen="both"}', w.paired],
      ['{seen="wire",direction="in"}', w.wireOnly.in],
      ['{seen="wire",direction="out"}', w.wireOnly.out],
      ['{seen="engine",direction="in"}', w.engineOnly.in],
      ['{seen="engine",direction="out"}', w.engineOnly.out],
    ]);
    summaryLines(out, 'callpath_wire_gap_in_seconds', 'Incoming SIP: engine read time minus wire time (kernel queue and event loop), last minute.', w.gapUs.in);
    summaryLines(out, 'callpath_wire_gap_out_seconds', 'Outgoing SIP: engine stamp (after the send returned) minus wire time, last minute.', w.gapUs.out);
    summaryLines(out, 'callpath_wire_trying_latency_seconds', 'INVITE first on the wire to our 100 Trying on the wire, last minute.', w.trying100);
  }
  const k = s.kernel;
  if (k.unavailable === null) {
    if (k.port !== null) {
      metric('callpath_sip_socket_rx_queue_bytes', 'gauge', 'Bytes waiting in the SIP socket receive queue (/proc/net/udp rx_queue).', [['', k.rxQueueBytes]]);
      metric('callpath_sip_socket_drops_total', 'counter', 'Datagrams the SIP socket dropped (/proc/net/udp drops).', [['', k.socketDrops]]);
      if (s.sip?.udpBuffers) metric('callpath_sip_socket_buffer_bytes', 'gauge', 'The SIP UDP socket\'s buffers as the kernel set them (getsockopt SO_RCVBUF / SO_SNDBUF: what it granted, doubled for its bookkeeping).', [['{buffer="receive"}', s.sip.udpBuffers.rcvBytes], ['{buffer="send"}', s.sip.udpBuffers.sndBytes]]);
      metric('callpath_sip_socket_read_interval_seconds', 'gauge', 'How often the two series above are read from /proc/net/udp: every second, or less often while listing every UDP socket of the box is costly.', [['', k.socketIntervalMs / 1000]]);
    }
    metric('callpath_udp_rcvbuf_errors_total', 'counter', 'System-wide UDP receive-buffer drops since the engine started (/proc/net/snmp RcvbufErrors).', [['', k.rcvbufErrors.total]]);
    metric('callpath_udp_in_errors_total', 'counter', 'System-wide UDP receive errors since the engine started (/proc/net/snmp InErrors).', [['', k.inErrors.total]]);
    metric('callpath_udp_sndbuf_errors_total', 'counter', 'System-wide UDP sends refused for a full send buffer since the engine started (/proc/net/snmp SndbufErrors).', [['', k.sndbufErrors.total]]);
    metric('callpath_traffic_udp_drops_total', 'counter', "Datagrams the built-in traffic's own sockets dropped (/proc/net/udp drops): part of the two series above, the generator's rather than the call path's.", [['', k.generatorDrops.total]]);
  }
}

/**
 * The RTP relay; absent while it is stopped. The port and session series
 * carry rtpengine's names and labels (`ports_used`, `ports_free`, `ports`
 * with name/address, `closed_sessions_total` by reason) under our prefix,
 * so an rtpengine dashboard fits with the prefix changed.
 */
function relayLines(s: Snapshot, metric: Metric): void {
  const r = s.relay;
  if (!r) return;
  const labels = `name="default",address="${esc(r.address)}"`;
  const where = `{${labels}}`;
  metric('callpath_relay_ports', 'gauge', 'Usable relay ports (even RTP / odd RTCP pairs inside --rtp).', [[where, r.ports.total]]);
  metric('callpath_relay_ports_used', 'gauge', 'Relay ports held by sessions now.', [[where, r.ports.inUse]]);
  metric('callpath_relay_leased_sessions_total', 'counter', 'Relay sessions the proxy set up on lent ports without asking the relay (lease.ts), and those on a stale lease whose media is not relayed.', [[`{${labels},lease="ok"}`, r.sessions.leased], [`{${labels},lease="stale"}`, r.sessions.leaseStale]]);
  metric('callpath_relay_lease_missed_total', 'counter', "Initial INVITE offers the proxy sent to the relay the slow way (a thread round trip before the INVITE went on) because its lease of ports had run dry.", [[where, r.sessions.leaseMissed]]);
  metric('callpath_relay_ports_lent', 'gauge', 'Relay ports bound ahead and lent to the SIP worker for its next INVITEs, in no session (not in ports_used).', [[where, r.ports.lent]]);
  metric('callpath_relay_ports_free', 'gauge', 'Relay ports free to hand out now (not counting those in quarantine).', [[where, r.ports.free]]);
  metric('callpath_relay_ports_quarantined', 'gauge', 'Released relay ports waiting out the quarantine before reuse.', [[where, r.ports.quarantined]]);
  metric('callpath_relay_ports_busy', 'gauge', 'Relay ports another process held when the relay tried to bind them, out of the pool until tried again.', [[where, r.ports.busy]]);
  metric('callpath_relay_ports_high_water', 'gauge', 'Most relay ports in use at once since the relay started.', [[where, r.ports.highWater]]);
  metric('callpath_relay_port_allocation_failures_total', 'counter', 'Offers refused because no port pair was free (a 503 through the proxy).', [[where, r.ports.allocationFailures]]);
  metric('callpath_relay_port_bind_failures_total', 'counter', 'Port pairs another process held when the relay tried to bind them (skipped).', [[where, r.ports.bindFailures]]);
  metric('callpath_relay_sessions', 'gauge', 'Live relay sessions by state.', [
    ['{state="offered"}', r.sessions.offered],
    ['{state="answered"}', r.sessions.answered],
  ]);
  metric('callpath_relay_closed_sessions_total', 'counter', 'Relay sessions closed since start, by reason (bye, delete, timeout, silent-timeout, offer-timeout, final-timeout, manual, orphan, shutdown, ...).', Object.entries(r.sessions.closed).map(([k, n]) => [`{reason="${esc(k)}"}`, n]));
  metric('callpath_relay_oldest_session_seconds', 'gauge', 'Age of the oldest live relay session.', [['', (r.oldest[0]?.ageMs ?? 0) / 1000]]);
  metric('callpath_relay_packets_total', 'counter', 'Packets relayed (RTP and RTCP), both directions.', [['', r.packets.relayed]]);
  metric('callpath_relay_bytes_total', 'counter', 'Bytes relayed (UDP payload).', [['', r.packets.bytes]]);
  metric('callpath_relay_dropped_packets_total', 'counter', 'Packets the relay dropped, by reason.', [
    ['{reason="garbage"}', r.packets.garbage],
    ['{reason="strict-source"}', r.packets.strictDrops],
    ['{reason="no-peer"}', r.packets.noPeer],
    ['{reason="stray"}', r.packets.stray],
    ['{reason="send-error"}', r.packets.sendErrors],
  ]);
  metric('callpath_relay_final_timeout_seconds', 'gauge', 'The final-timeout in force (0 = off: sessions nobody deletes hold their ports for ever).', [['', r.timeouts.finalTimeout]]);
}

/**
 * PCM forwarding to an application (`--forward`); absent while the recorder
 * is stopped or forwards nothing. Bytes are those the kernel accepted, not
 * proof the application read them.
 */
function forwardLines(s: Snapshot, metric: Metric): void {
  const f = s.recorder?.forwarding;
  if (!f) return;
  const t = f.totals;
  const labels = `target="${esc(f.target)}",transport="${f.tls ? 'tls' : 'tcp'}"`;
  const where = `{${labels}}`;
  const states = { connecting: 0, open: 0, failed: 0 };
  for (const c of f.connections) if (c.state !== 'closed') states[c.state]++;
  metric('callpath_forward_connections', 'gauge', 'Forwarding connections not closed yet (one per recorded call and leg), by state: connecting, open, failed (waiting to reconnect).', Object.entries(states).map(([state, n]) => [`{${labels},state="${state}"}`, n]));
  metric('callpath_forward_connections_total', 'counter', 'Forwarding connections opened (one per recorded call and leg) since the recorder started.', [[where, t.connections]]);
  metric('callpath_forward_bytes_total', 'counter', 'Bytes the kernel accepted for the application, headers included: not proof the application read them.', [[where, t.bytesSent]]);
  metric('callpath_forward_frames_total', 'counter', 'PCM frames (one decoded chunk of a leg) the kernel accepted for the application.', [[where, t.framesSent]]);
  metric('callpath_forward_dropped_frames_total', 'counter', 'PCM frames dropped rather than wait for the application, by reason (queue full, not connected, connection lost, end timeout, closed, not PCM, too many connections); the WAVs and the relay lost nothing.', t.drops.map((d) => [`{${labels},reason="${esc(d.reason)}"}`, d.frames]));
  metric('callpath_forward_reconnects_total', 'counter', 'Forwarding connection attempts after a failure.', [[where, t.reconnects]]);
  metric('callpath_forward_failures_total', 'counter', 'Forwarding connection attempts that failed, by error code or reason (ECONNREFUSED, connect timeout, DEPTH_ZERO_SELF_SIGNED_CERT, closed by the consumer, ...).', t.failureReasons.map((r) => [`{${labels},reason="${esc(r.reason)}"}`, r.count]));
}

/** The Redis publisher and the reference consumer (the story's application); absent while they are stopped. */
function publishLines(s: Snapshot, metric: Metric, out: string[]): void {
  const p = s.publisher;
  if (p) {
    metric('callpath_publisher_connected', 'gauge', `The publisher's Redis connection is ready (mode label: how events are delivered).`, [[`{mode="${p.mode}"}`, p.connected ? 1 : 0]]);
    metric('callpath_publisher_reconnects_total', 'counter', 'Reconnections to Redis since the publisher started.', [['', p.reconnects]]);
    metric('callpath_publisher_events_total', 'counter', 'Call events since the publisher started: created, replied by Redis, failed (given up or dropped), retried (written again after a broken link).', [
      ['{outcome="created"}', p.events.created],
      ['{outcome="replied"}', p.events.replied],
      ['{outcome="failed"}', p.events.failed],
      ['{outcome="retried"}', p.events.retried],
    ]);
    metric('callpath_publisher_list_fallbacks_total', 'counter', 'PUBLISHes that reached nobody, so the event went to RPUSH call-mq:<Call-ID>.', [['', p.events.listFallbacks]]);
    metric('callpath_publisher_queue_depth', 'gauge', 'Events waiting to be written to Redis now.', [['', p.queue.depth]]);
    metric('callpath_publisher_queue_max', 'gauge', 'The queue bound (--publish-queue); past it the oldest events are dropped.', [['', p.queue.max]]);
    metric('callpath_publisher_inflight', 'gauge', 'Commands written to Redis and not yet answered.', [['', p.queue.inflight]]);
    metric('callpath_publisher_dropped_total', 'counter', 'Oldest events dropped from the full queue while Redis was slow or away.', [['', p.queue.dropped]]);
    summaryLines(out, 'callpath_publish_wait_seconds', 'Event created (its SIP message, engine time) to command written: the SIP worker capture batch (up to 20 ms) and our queue, last minute.', p.latencyUs.wait);
    summaryLines(out, 'callpath_publish_redis_seconds', 'Command written to Redis reply: Redis, the network and our event loop, last minute.', p.latencyUs.redis);
    summaryLines(out, 'callpath_publish_latency_seconds', 'Event created (its SIP message, engine time) to Redis reply, last minute.', p.latencyUs.total);
    summaryLines(out, 'callpath_publish_receivers', 'Receivers per PUBLISH (pubsub+list and inline), last minute.', p.receivers, 1);
    if (p.numpat !== null) metric('callpath_redis_numpat', 'gauge', 'PUBSUB NUMPAT on the publisher\'s Redis, polled every second: distinct patterns (connections sharing one count once; see callpath_publish_receivers).', [['', p.numpat]]);
    if (p.numsub !== null) metric('callpath_redis_numsub', 'gauge', 'PUBSUB NUMSUB of the channel last published to, polled every second: connections subscribed to one call by name.', [['', p.numsub.count]]);
    if (p.inline) {
      metric('callpath_inline_workers', 'gauge', 'inline publish mode: simulated SIP workers.', [['', p.inline.workers]]);
      metric('callpath_inline_workers_busy', 'gauge', 'inline publish mode: SIP workers blocked waiting for Redis now.', [['', p.inline.busy]]);
      metric('callpath_inline_waiting', 'gauge', 'inline publish mode: SIP messages waiting for a free worker now.', [['', p.inline.waiting]]);
    }
  }
  const c = s.consumer;
  if (c) {
    metric('callpath_consumer_received_total', 'counter', 'Call events the reference consumer (the application) received, by how they came; repeats not counted.', Object.entries(c.received).map(([via, n]) => [`{via="${via}"}`, n]));
    metric('callpath_consumer_duplicates_total', 'counter', 'The same Call-ID and seq received again.', [['', c.duplicates]]);
    metric('callpath_consumer_malformed_total', 'counter', 'Messages the consumer could not read as call events.', [['', c.malformed]]);
    summaryLines(out, 'callpath_consumer_delivery_seconds', 'Event created (engine wall clock) to the consumer handling it, last minute.', c.latencyUs);
  }
}

/** A LatencySummary in seconds (µs / 1e6), or as it is (`unit` 1) for counts. */
function summaryLines(out: string[], name: string, help: string, l: LatencySummary, unit = 1e6): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} summary`);
  out.push(`${name}{quantile="0.5"} ${l.p50 / unit}`);
  out.push(`${name}{quantile="0.9"} ${l.p90 / unit}`);
  out.push(`${name}{quantile="0.99"} ${l.p99 / unit}`);
  out.push(`${name}{quantile="1"} ${l.max / unit}`);
  out.push(`${name}_count ${l.count}`);
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
