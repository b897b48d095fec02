/**
 * Lab configuration: command-line flags over an optional JSON file over
 * defaults. Pure: the file reader and environment are passed in, and every
 * problem is one clear line (the CLI prints it and exits 2).
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { formatHostPort, type HostPort, type NextHop } from '../engine/net/host-port';
import type { TimerValues } from '../engine/sip/transaction/timers';
import type { WireMode } from '../engine/wire/tap';
import { DEFAULT_PUBLISH_MODE, DEFAULT_PUBLISH_QUEUE, PUBLISH_MODES, type PublishMode } from '../engine/publish/stats';
import { parseWatchTarget, type WatchTarget } from '../engine/wire/watch';
import { DEFAULT_TCP_IDLE_S } from '../engine/sip/transport/tcp-limits';
import type { MediaPathChoice } from '../engine/rtp/shard/protocol';
import { DEFAULT_RELAY_TIMEOUTS, type RelayTimeouts } from '../engine/rtp/stats';
import type { ForwardTarget } from '../engine/record/forward/forwarder';
import { RECORDING_LAYOUTS, type RecordingLayout } from '../engine/record/metadata';
import { DEFAULT_TRAFFIC, formatTrafficSpec, parseTrafficSpec, type TrafficSpec } from '../engine/traffic/spec';

/** The longest relay timeout a flag takes (s): 30 days. */
const MAX_RELAY_TIMEOUT_S = 30 * 86_400;
import { SETTING_FLAGS, SETTING_NAMES, type LabSettings, type SettingName, type SettingsPatch } from './contract';

/** Re-exported for the app's callers: one formatter, the engine's. */
export { formatHostPort };

export interface PortRange {
  host: string;
  min: number;
  max: number;
}

export interface LabConfig {
  sip: HostPort;
  /** Downstream targets in round-robin order; null = route by Request-URI. */
  route: NextHop[] | null;
  rtp: PortRange;
  /** `--rtp off`: the relay is switched off (SDP passes untouched); `rtp` keeps the range it would use. */
  relayOff: boolean;
  ng: HostPort | null;
  /** rtpengine's timeouts, s; 0 = off (engine/rtp/timeouts.ts). */
  relayTimeouts: RelayTimeouts;
  /** Worker threads relaying packets (`--rtp-shards`); null = one per core but one, at least 1. */
  rtpShards: number | null;
  /** Released port pairs kept bound for the next offers (`--rtp-warm`); null = from the open-file limit (engine/rtp/warm-pairs.ts). */
  rtpWarmPairs: number | null;
  /** Drop media from any source but the latched one (`--strict-source`). */
  strictSource: boolean;
  /** How the relay moves packets (`--media-path`): 'auto' = the native packet thread when built, else Node's dgram (engine/rtp/shard/media-path.ts). */
  mediaPath: MediaPathChoice;
  /**
   * Redis for call events: a redis:// or rediss:// URL; the literal 'auto'
   * (a Redis answering on 127.0.0.1:6379, else a private redis-server:
   * engine/publish/redis-server.ts); null = off.
   */
  redis: string | null;
  /** `--record DIR`: recordings go to DIR and the recorder starts with the lab; null: DATA/recordings, started from the console. */
  record: string | null;
  /** `--record off`: no recorder at all (its status says so). */
  recordOff: boolean;
  /** `--record-mix`: new recordings in stereo (caller left, callee right) or both mixed to mono. */
  recordMix: RecordingLayout;
  /**
   * `--forward HOST:PORT`: every recorded call's decoded PCM also goes to an
   * application there, over TCP, or TLS with `--forward-tls`, `--forward-ca`
   * (read here, at start) or `--forward-insecure`; null: not forwarded.
   */
  forward: ForwardTarget | null;
  /** `--traffic SPEC`: what the built-in traffic places when it runs (engine/traffic/spec.ts). */
  traffic: TrafficSpec;
  /** `--demo`: the built-in traffic starts with the lab. */
  demo: boolean;
  ui: HostPort | null;
  token: string | null;
  auth: boolean;
  /** SIP timer base values, ms (RFC 3261 §17); the settings and flags call them t1/t2/t4. */
  timers: TimerValues;
  /** Timer C, s (RFC 3261 §16.6 step 11): an INVITE branch with no final response this long after its last provisional is CANCELled. */
  timerCS: number;
  maxCalls: number;
  /** Entries kept per call (a pathological call rotates its oldest out, counted). */
  maxCallMessages: number;
  /** Bytes the call store may hold, MiB; the oldest calls are evicted beyond it (counted). */
  maxStoreMb: number;
  /** A call in progress with nothing new for this long (s) is evicted (counted); 0 = never. */
  maxCallIdleS: number;
  /** SIP/TCP connections open at once, in and out; null = from the process's descriptor limit (engine/sip/transport/tcp-limits.ts). */
  tcpMaxConns: number | null;
  /** Incoming SIP/TCP connections open at once from one address; null = a quarter of the total. */
  tcpMaxPerSource: number | null;
  /** A SIP/TCP connection idle this long (s) is closed (counted). */
  tcpIdleS: number;
  /** A pcap/pcapng file whose SIP calls are imported at start. */
  open: string | null;
  /** The wire tap on the SIP address's interface (`--wire auto|off|IFACE`; engine/wire/tap.ts). */
  wire: WireMode;
  /** SIP on the wire that does not cross the proxy, built into calls of the `watch` source (`--watch IFACE[:FILTER]`). */
  watch: WatchTarget | null;
  /** The app's data folder (`--data DIR`): a private Redis runs in `<dataDir>/redis-<port>/`. */
  dataDir: string;
  /** How call events reach Redis (`--publish-mode`): engine/publish/stats.ts. */
  publishMode: PublishMode;
  /** Where `--redis auto` looks for a Redis already running on 127.0.0.1 (6379; not a flag, tests move it). */
  redisProbePort: number;
  /** Call events waiting for Redis, at most (`--publish-queue`); past it the oldest are dropped, counted. */
  publishQueue: number;
}

/**
 * `$XDG_DATA_HOME/callpath`, else `~/.local/share/callpath` (the XDG base
 * directory spec, which also says a relative $XDG_DATA_HOME is to be
 * ignored). With no HOME in `env`, the OS's idea of the home directory.
 */
export function defaultDataDir(env: Record<string, string | undefined>): string {
  const xdg = env.XDG_DATA_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'callpath');
  return join(env.HOME || homedir(), '.local', 'share', 'callpath');
}

export const DEFAULT_CONFIG: LabConfig = {
  sip: { host: '127.0.0.1', port: 5060 },
  route: null,
  // Below Linux's ephemeral range (32768-60999), so no client socket on the box can take a relay port.
  rtp: { host: '127.0.0.1', min: 16384, max: 32767 },
  relayOff: false,
  ng: { host: '127.0.0.1', port: 2223 },
  relayTimeouts: { ...DEFAULT_RELAY_TIMEOUTS },
  rtpShards: null,
  rtpWarmPairs: null,
  strictSource: false,
  mediaPath: 'auto',
  redis: 'auto',
  record: null,
  recordOff: false,
  recordMix: 'stereo',
  forward: null,
  traffic: { ...DEFAULT_TRAFFIC },
  demo: false,
  ui: { host: '127.0.0.1', port: 7070 },
  token: null,
  auth: true,
  timers: { T1: 500, T2: 4000, T4: 5000 },
  timerCS: 180,
  maxCalls: 10_000,
  maxCallMessages: 500,
  maxStoreMb: 512,
  maxCallIdleS: 3600,
  tcpMaxConns: null,
  tcpMaxPerSource: null,
  tcpIdleS: DEFAULT_TCP_IDLE_S,
  open: null,
  wire: 'auto',
  watch: null,
  // For configs built without parseLabArgs (the Host in tests); parseLabArgs takes it from the env it is given.
  dataDir: defaultDataDir(process.env),
  publishMode: DEFAULT_PUBLISH_MODE,
  publishQueue: DEFAULT_PUBLISH_QUEUE,
  redisProbePort: 6379,
};

export const USAGE = `usage: npm run lab -- [options]
  --sip HOST:PORT            SIP proxy UDP+TCP listen address (default 127.0.0.1:5060)
  --route HOST:PORT[/tcp][,...]  downstream targets, round robin (default: route by Request-URI)
  --rtp HOST:MIN-MAX|off     relay address and port range (default 127.0.0.1:16384-32767, below the
                             kernel's ephemeral ports; the status warns when a range overlaps them);
                             off: no relay, SDP passes untouched
  --ng HOST:PORT|off         rtpengine-compatible control listener (default 127.0.0.1:2223)
  --timeout S                close a session with no media either way for S s (rtpengine's; default 60; 0 off)
  --silent-timeout S         …with media one way only for S s (default 3600; 0 off)
  --offer-timeout S          …offered and never answered for S s (default 3600; 0 off)
  --final-timeout S          …after S s whatever happens (default 14400; 0 off: unlike rtpengine, on by
                             default, since a session nobody deletes otherwise holds its ports for ever)
  --rtp-shards N             worker threads relaying media (default: one per core but one, at least 1)
  --media-path auto|native|node
                             how the relay moves packets: native = a C thread per shard (built by npm ci
                             with the system C compiler), node = Node's dgram; auto = native when built
  --rtp-warm N               released port pairs kept bound for the next calls, so they need no bind
                             (default: a quarter of the open-file limit above 1024, at most 4096; 0: bind per call)
  --strict-source            drop media from any source but the one a stream latched to
  --redis auto|URL|off       Redis for call events (default auto: the one answering on 127.0.0.1:6379,
                             else a private redis-server started on a free loopback port)
  --publish-mode MODE        how call events reach Redis: pubsub+list (PUBLISH call:<Call-ID>, RPUSH
                             call-mq:<Call-ID> when nobody heard it; default), stream (XADD
                             callpath:call-events), or inline (a reproduction of the incident: the SIP
                             worker waits for Redis before it answers an INVITE)
  --publish-queue N          call events held while Redis is slow or away; past it the oldest are
                             dropped, counted (default 10000)
  --record DIR|off           record every call the relay carries to DIR from the start (default: the recorder
                             is stopped, recordings go to DATA/recordings once it is started; off: no recorder)
  --record-mix stereo|mono   new recordings: caller left, callee right (default), or both mixed to one channel
  --forward HOST:PORT|off    also send each recorded call's decoded audio to an application: per call and leg
                             one connection, a JSON header line then 16-bit 8 kHz PCM (default off; the
                             header is documented in engine/record/forward/header.ts)
  --forward-tls              …over TLS, the certificate checked against the system's CAs
  --forward-ca FILE          …over TLS, the certificate checked against the PEM CA certificate(s) in FILE
  --forward-insecure         …over TLS without checking the certificate (labs only)
  --traffic SPEC             what the built-in caller and callee do when the traffic runs, key=value pairs:
                             cps (calls/s), hold (s), max (calls at once), answer (s of ringing), busy,
                             noanswer, cancel (% of calls), loss (% of SIP datagrams dropped on send)
                             (default "${formatTrafficSpec(DEFAULT_TRAFFIC)}")
  --demo                     start the built-in traffic with the lab: calls through the proxy and the
                             relay with G.711 both ways, no SIP gear needed
  --ui HOST:PORT|off         console and API address (default 127.0.0.1:7070)
  --token T                  API/UI token (also env CALLPATH_TOKEN; default: random, printed)
  --no-auth                  no token (loopback UI only)
  --t1 MS --t2 MS --t4 MS    SIP timer values (RFC 3261 §17; defaults 500/4000/5000)
  --timer-c S                proxy INVITE timer C (RFC 3261 §16.6): CANCEL a ringing branch after S s (default 180)
  --max-calls N              finished calls kept (default 10000)
  --max-call-messages N      ladder entries kept per call, oldest rotated out (default 500)
  --max-store-mb N           bytes the call store may hold, MiB; oldest calls evicted (default 512)
  --max-call-idle S          evict a call in progress idle this many seconds; 0 = never (default 3600)
  --tcp-max-conns N          SIP/TCP connections open at once, in and out; more are refused and counted
                             (default: the open-file limit less a quarter of it, at least 256, at most 4096)
  --tcp-max-per-source N     incoming SIP/TCP connections from one address (default: a quarter of the total)
  --tcp-idle S               close a SIP/TCP connection idle this many seconds (default 120)
  --open FILE                import the SIP calls of a .pcap/.pcapng file at start
  --wire auto|off|IFACE      wire tap: dumpcap on the SIP interface, kernel timestamps for every SIP
                             message (default auto: on when dumpcap can capture)
  --watch IFACE[:FILTER]     build calls from SIP on the wire that does not cross the proxy (a Kamailio
                             on this box), as their own source; FILTER is BPF (default "port 5060")
  --data DIR                 the app's data folder, e.g. for the private Redis (default
                             $XDG_DATA_HOME/callpath or ~/.local/share/callpath)
  --config FILE              JSON file with any of the above (keys: sip, route, rtp, ng, redis,
                             publishMode, record, recordMix, forward, forwardTls, forwardCa, forwardInsecure, traffic, demo, ui, token, noAuth, t1, t2, t4, timerC, maxCalls, maxCallMessages, maxStoreMb,
                             maxCallIdle, tcpMaxConns, tcpMaxPerSource, tcpIdle, wire, watch, data, publishQueue, timeout,
                             silentTimeout, offerTimeout, finalTimeout, rtpShards, rtpWarm, strictSource, mediaPath); flags win
  --help                     this text`;

export type ConfigResult = { ok: true; config: LabConfig; help?: boolean } | { ok: false; error: string };

class ConfigError extends Error {}

type Raw = Record<string, string | boolean>;

/** Flags that take no value. */
const SWITCH_FLAGS = ['no-auth', 'strict-source', 'forward-tls', 'forward-insecure', 'demo'];
const VALUE_FLAGS = ['sip', 'route', 'rtp', 'ng', 'redis', 'record', 'record-mix', 'forward', 'forward-ca', 'traffic', 'ui', 'token', 't1', 't2', 't4', 'timer-c', 'max-calls', 'max-call-messages', 'max-store-mb', 'max-call-idle', 'tcp-max-conns', 'tcp-max-per-source', 'tcp-idle', 'config', 'open', 'wire', 'watch', 'data', 'publish-mode', 'publish-queue', 'timeout', 'silent-timeout', 'offer-timeout', 'final-timeout', 'rtp-shards', 'rtp-warm', 'media-path'];
const JSON_KEYS: Record<string, string> = {
  sip: 'sip', route: 'route', rtp: 'rtp', ng: 'ng', redis: 'redis', record: 'record', recordMix: 'record-mix', ui: 'ui', token: 'token',
  forward: 'forward', forwardTls: 'forward-tls', forwardCa: 'forward-ca', forwardInsecure: 'forward-insecure', traffic: 'traffic', demo: 'demo',
  noAuth: 'no-auth', t1: 't1', t2: 't2', t4: 't4', timerC: 'timer-c', maxCalls: 'max-calls', maxCallMessages: 'max-call-messages', maxStoreMb: 'max-store-mb', maxCallIdle: 'max-call-idle', open: 'open',
  tcpMaxConns: 'tcp-max-conns', tcpMaxPerSource: 'tcp-max-per-source', tcpIdle: 'tcp-idle',
  wire: 'wire', watch: 'watch', data: 'data', publishMode: 'publish-mode', publishQueue: 'publish-queue',
  timeout: 'timeout', silentTimeout: 'silent-timeout', offerTimeout: 'offer-timeout', finalTimeout: 'final-timeout', rtpShards: 'rtp-shards', rtpWarm: 'rtp-warm', strictSource: 'strict-source', mediaPath: 'media-path',
};

export function parseLabArgs(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  readFile: (path: string) => string,
): ConfigResult {
  try {
    const flags = readFlags(argv);
    if (flags.help) return { ok: true, config: DEFAULT_CONFIG, help: true };
    const fromFile = typeof flags.config === 'string' ? readConfigFile(flags.config, readFile) : {};
    const raw: Raw = { ...fromFile, ...flags };
    if (raw.token === undefined && env.CALLPATH_TOKEN) raw.token = env.CALLPATH_TOKEN;
    return { ok: true, config: build(raw, env, readFile) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, error: err.message };
    throw err;
  }
}

function readFlags(argv: readonly string[]): Raw {
  const out: Raw = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    if (arg.startsWith('--') && SWITCH_FLAGS.includes(arg.slice(2))) {
      out[arg.slice(2)] = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}" (options start with --; see --help)`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!VALUE_FLAGS.includes(name)) throw new ConfigError(`unknown option --${name} (see --help)`);
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new ConfigError(`--${name} needs a value`);
    out[name] = value;
  }
  return out;
}

function readConfigFile(path: string, readFile: (p: string) => string): Raw {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(`cannot read config file ${path}: ${code}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  }
  const out: Raw = {};
  for (const [key, value] of Object.entries(json)) {
    const flag = JSON_KEYS[key];
    if (!flag) throw new ConfigError(`config file ${path}: unknown key "${key}"`);
    if (SWITCH_FLAGS.includes(flag)) {
      if (typeof value !== 'boolean') throw new ConfigError(`config file ${path}: "${key}" must be true or false`);
      if (value) out[flag] = true;
    } else if (flag === 'route' && Array.isArray(value)) {
      out[flag] = value.map(String).join(',');
    } else if (typeof value === 'string' || typeof value === 'number') {
      out[flag] = String(value);
    } else if (value === false && ['rtp', 'ng', 'redis', 'record', 'forward', 'ui', 'wire', 'watch'].includes(flag)) {
      out[flag] = 'off';
    } else {
      throw new ConfigError(`config file ${path}: "${key}" must be a string`);
    }
  }
  return out;
}

/**
 * How each engine-facing setting's flag string lands in a LabConfig — the
 * one place its parser is chosen, shared by the CLI (`build`) and the
 * console's settings dialog (`applySettingsPatch`).
 */
const SETTING_PARSERS: Record<SettingName, (c: LabConfig, v: string) => void> = {
  sip: (c, v) => (c.sip = parseHostPort(v, '--sip', true)),
  // Empty = route by Request-URI (what the dialog shows when no --route was given).
  route: (c, v) => (c.route = v.trim() === '' ? null : v.split(',').map((s) => parseRouteTarget(s.trim()))),
  rtp: (c, v) => {
    c.relayOff = isOff(v);
    if (!c.relayOff) c.rtp = parseRange(v);
  },
  ng: (c, v) => (c.ng = isOff(v) ? null : parseHostPort(v, '--ng', true)),
  timeout: (c, v) => (c.relayTimeouts = { ...c.relayTimeouts, timeout: parseInteger(v, '--timeout', 0, MAX_RELAY_TIMEOUT_S) }),
  silentTimeout: (c, v) => (c.relayTimeouts = { ...c.relayTimeouts, silentTimeout: parseInteger(v, '--silent-timeout', 0, MAX_RELAY_TIMEOUT_S) }),
  offerTimeout: (c, v) => (c.relayTimeouts = { ...c.relayTimeouts, offerTimeout: parseInteger(v, '--offer-timeout', 0, MAX_RELAY_TIMEOUT_S) }),
  finalTimeout: (c, v) => (c.relayTimeouts = { ...c.relayTimeouts, finalTimeout: parseInteger(v, '--final-timeout', 0, MAX_RELAY_TIMEOUT_S) }),
  redis: (c, v) => (c.redis = isOff(v) ? null : v === 'auto' ? 'auto' : parseRedisUrl(v)),
  publishMode: (c, v) => (c.publishMode = parsePublishMode(v)),
  record: (c, v) => {
    c.recordOff = isOff(v);
    c.record = c.recordOff ? null : nonEmpty(v, '--record');
  },
  recordMix: (c, v) => {
    const mix = RECORDING_LAYOUTS.find((m) => m === v.trim());
    if (!mix) throw new ConfigError(`--record-mix: "${v}" is not one of ${RECORDING_LAYOUTS.join(', ')}`);
    c.recordMix = mix;
  },
  traffic: (c, v) => {
    const r = parseTrafficSpec(v, c.traffic);
    if (!r.ok) throw new ConfigError(`--${r.error}`);
    c.traffic = r.spec;
  },
  t1: (c, v) => (c.timers = { ...c.timers, T1: parseInteger(v, '--t1', 1, 600_000) }),
  t2: (c, v) => (c.timers = { ...c.timers, T2: parseInteger(v, '--t2', 1, 600_000) }),
  t4: (c, v) => (c.timers = { ...c.timers, T4: parseInteger(v, '--t4', 1, 600_000) }),
  timerC: (c, v) => (c.timerCS = parseInteger(v, '--timer-c', 1, 86_400)),
  maxCalls: (c, v) => (c.maxCalls = parseInteger(v, '--max-calls', 1, 10_000_000)),
  maxCallMessages: (c, v) => (c.maxCallMessages = parseInteger(v, '--max-call-messages', 10, 100_000)),
  maxStoreMb: (c, v) => (c.maxStoreMb = parseInteger(v, '--max-store-mb', 16, 1_048_576)),
  maxCallIdle: (c, v) => (c.maxCallIdleS = parseInteger(v, '--max-call-idle', 0, 30 * 86_400)),
};

function build(raw: Raw, env: Record<string, string | undefined>, readFile: (path: string) => string): LabConfig {
  const str = (k: string) => (typeof raw[k] === 'string' ? (raw[k] as string) : undefined);
  const c: LabConfig = { ...DEFAULT_CONFIG, timers: { ...DEFAULT_CONFIG.timers }, relayTimeouts: { ...DEFAULT_CONFIG.relayTimeouts } };
  for (const name of SETTING_NAMES) {
    const v = str(SETTING_FLAGS[name].slice(2));
    if (v !== undefined) SETTING_PARSERS[name](c, v);
  }
  if (str('ui') !== undefined) c.ui = isOff(str('ui')!) ? null : parseHostPort(str('ui')!, '--ui', true);
  if (str('token') !== undefined) c.token = parseToken(str('token')!);
  if (raw['no-auth'] === true) c.auth = false;
  if (str('open') !== undefined) c.open = nonEmpty(str('open')!, '--open');
  if (str('wire') !== undefined) c.wire = parseWireMode(str('wire')!);
  if (str('watch') !== undefined) c.watch = isOff(str('watch')!) ? null : parseWatch(str('watch')!);
  c.dataDir = str('data') !== undefined ? parseDataDir(str('data')!) : defaultDataDir(env);
  // Start-up only (not in the settings dialog): they reach the proxy at its next start.
  if (str('tcp-max-conns') !== undefined) c.tcpMaxConns = parseInteger(str('tcp-max-conns')!, '--tcp-max-conns', 1, 1_000_000);
  if (str('tcp-max-per-source') !== undefined) c.tcpMaxPerSource = parseInteger(str('tcp-max-per-source')!, '--tcp-max-per-source', 1, 1_000_000);
  if (str('tcp-idle') !== undefined) c.tcpIdleS = parseInteger(str('tcp-idle')!, '--tcp-idle', 1, 86_400);
  if (str('rtp-shards') !== undefined) c.rtpShards = parseInteger(str('rtp-shards')!, '--rtp-shards', 1, 64);
  if (str('rtp-warm') !== undefined) c.rtpWarmPairs = parseInteger(str('rtp-warm')!, '--rtp-warm', 0, 32_768);
  if (raw['strict-source'] === true) c.strictSource = true;
  if (str('media-path') !== undefined) {
    const m = str('media-path')!;
    if (m !== 'auto' && m !== 'native' && m !== 'node') throw new ConfigError(`--media-path must be auto, native or node, not "${m}"`);
    c.mediaPath = m;
  }
  if (raw.demo === true) c.demo = true;
  c.forward = parseForward(raw, readFile);
  if (str('publish-queue') !== undefined) c.publishQueue = parseInteger(str('publish-queue')!, '--publish-queue', 1, 10_000_000);
  const timers = timerOrder(c);
  if (timers) throw new ConfigError(timers);

  if (c.ui) {
    const loopback = isLoopback(c.ui.host);
    if (!c.auth && c.token) throw new ConfigError('--no-auth and --token contradict each other');
    if (!c.auth && !loopback) throw new ConfigError(`--no-auth is allowed only on a loopback UI address, not ${formatHostPort(c.ui)}`);
    if (c.auth && !c.token && !loopback) {
      throw new ConfigError(`refusing to serve the console on non-loopback ${formatHostPort(c.ui)} without --token`);
    }
  }
  const clash = findPortClash(c);
  if (clash) throw new ConfigError(clash);
  return c;
}

/**
 * `--forward` and how it is reached. The CA file is read and its
 * certificates checked here, so a file that is missing or holds none is
 * refused at start with its name, not found out by every connection.
 */
function parseForward(raw: Raw, readFile: (path: string) => string): ForwardTarget | null {
  const v = typeof raw.forward === 'string' ? raw.forward : undefined;
  const caPath = typeof raw['forward-ca'] === 'string' ? raw['forward-ca'] : undefined;
  const wantsTls = raw['forward-tls'] === true;
  const insecure = raw['forward-insecure'] === true;
  if (v === undefined || isOff(v)) {
    const stray = wantsTls ? '--forward-tls' : caPath !== undefined ? '--forward-ca' : insecure ? '--forward-insecure' : null;
    if (stray) throw new ConfigError(`${stray} needs --forward HOST:PORT`);
    return null;
  }
  const target = parseHostPort(v, '--forward');
  if (caPath !== undefined && insecure) throw new ConfigError('--forward-ca and --forward-insecure contradict each other (check the certificate against FILE, or not at all)');
  if (caPath !== undefined) {
    if (caPath.trim() === '') throw new ConfigError('--forward-ca needs a PEM file');
    const caFile = resolve(caPath);
    return { target, tls: { ca: readCa(caFile, readFile), caFile } };
  }
  if (insecure) return { target, tls: { insecure: true } };
  return { target, tls: wantsTls ? {} : null };
}

/** The PEM text of a CA file, refused when it cannot be read or holds no certificate node can parse. */
function readCa(path: string, readFile: (path: string) => string): Buffer {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(`--forward-ca: cannot read ${path}: ${code}`);
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ConfigError(`--forward-ca: ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  for (const [i, pem] of blocks.entries()) {
    try {
      void new X509Certificate(pem).subject;
    } catch (err) {
      throw new ConfigError(`--forward-ca: certificate ${i + 1} in ${path} does not parse: ${(err as Error).message}`);
    }
  }
  return Buffer.from(text, 'utf8');
}

function parsePublishMode(v: string): PublishMode {
  const m = PUBLISH_MODES.find((x) => x === v.trim());
  if (!m) throw new ConfigError(`--publish-mode: "${v}" is not one of ${PUBLISH_MODES.join(', ')}`);
  return m;
}

function parseWireMode(v: string): WireMode {
  if (v === 'auto') return 'auto';
  if (isOff(v)) return 'off';
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(v)) throw new ConfigError(`--wire: "${v}" is not auto, off or an interface name`);
  return { iface: v };
}

function parseWatch(v: string): WatchTarget {
  const t = parseWatchTarget(v);
  if (!t) throw new ConfigError(`--watch: "${v}" is not IFACE[:FILTER] (e.g. lo:port 5070)`);
  return t;
}

function timerOrder(c: LabConfig): string | null {
  return c.timers.T1 > c.timers.T2 ? `--t1 (${c.timers.T1} ms) must not exceed --t2 (${c.timers.T2} ms)` : null;
}

/** The call store's bounds a config sets. */
export function storeLimitsOf(c: LabConfig): { maxFinishedCalls: number; maxMessagesPerCall: number; maxBytes: number; maxIdleUs: number } {
  return { maxFinishedCalls: c.maxCalls, maxMessagesPerCall: c.maxCallMessages, maxBytes: c.maxStoreMb * 2 ** 20, maxIdleUs: c.maxCallIdleS * 1e6 };
}

/** A config's engine-facing settings as the strings their flags take (what the dialog shows). */
export function settingsOf(c: LabConfig): LabSettings {
  return {
    sip: formatHostPort(c.sip),
    route: c.route ? c.route.map((t) => formatHostPort(t) + (t.transport === 'tcp' ? '/tcp' : '')).join(',') : '',
    rtp: c.relayOff ? 'off' : `${formatHostPort({ host: c.rtp.host, port: c.rtp.min })}-${c.rtp.max}`,
    ng: c.ng ? formatHostPort(c.ng) : 'off',
    timeout: String(c.relayTimeouts.timeout),
    silentTimeout: String(c.relayTimeouts.silentTimeout),
    offerTimeout: String(c.relayTimeouts.offerTimeout),
    finalTimeout: String(c.relayTimeouts.finalTimeout),
    redis: c.redis ?? 'off',
    publishMode: c.publishMode,
    record: c.recordOff ? 'off' : recordingsDir(c),
    recordMix: c.recordMix,
    traffic: formatTrafficSpec(c.traffic),
    t1: String(c.timers.T1),
    t2: String(c.timers.T2),
    t4: String(c.timers.T4),
    timerC: String(c.timerCS),
    maxCalls: String(c.maxCalls),
    maxCallMessages: String(c.maxCallMessages),
    maxStoreMb: String(c.maxStoreMb),
    maxCallIdle: String(c.maxCallIdleS),
  };
}

export type SettingsPatchResult =
  | { ok: true; config: LabConfig; changed: SettingName[] }
  | { ok: false; field: SettingName | null; error: string };

/**
 * Validates a settings patch and merges it into a copy of `config`, with the
 * CLI's parsers and its error lines; `field` names the setting an error is
 * about (for a rule between two, the one the patch set). `changed` lists the
 * settings whose value differs afterwards (`localhost` and `127.0.0.1` are
 * the same). The config given is never modified.
 */
export function applySettingsPatch(config: LabConfig, patch: SettingsPatch): SettingsPatchResult {
  const c: LabConfig = { ...config, timers: { ...config.timers } };
  const patched = SETTING_NAMES.filter((n) => patch[n] !== undefined);
  const blame = (...names: SettingName[]) => names.find((n) => patched.includes(n)) ?? null;
  for (const name of patched) {
    try {
      SETTING_PARSERS[name](c, patch[name]!);
    } catch (err) {
      if (err instanceof ConfigError) return { ok: false, field: name, error: err.message };
      throw err;
    }
  }
  const timers = timerOrder(c);
  if (timers) return { ok: false, field: blame('t1', 't2'), error: timers };
  const clash = findPortClash(c);
  if (clash) return { ok: false, field: blame('sip', 'ng', 'rtp'), error: clash };
  const before = settingsOf(config);
  const after = settingsOf(c);
  return { ok: true, config: c, changed: SETTING_NAMES.filter((n) => before[n] !== after[n]) };
}

/** Where recordings go: `--record DIR`, else DATA/recordings. */
export function recordingsDir(c: Pick<LabConfig, 'record' | 'dataDir'>): string {
  return c.record ?? join(c.dataDir, 'recordings');
}

function isOff(v: string): boolean {
  return v === 'off' || v === 'false' || v === 'none';
}

function nonEmpty(v: string, flag: string): string {
  if (v.trim() === '') throw new ConfigError(`${flag} needs a directory or "off"`);
  return v;
}

/** Listen addresses may use port 0 (the OS picks one: tests use it); targets may not. */
export function parseHostPort(v: string, flag: string, listen = false): HostPort {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(v) ?? /^([^:]+):(\d+)$/.exec(v);
  if (!m) throw new ConfigError(`${flag}: "${v}" is not HOST:PORT (IPv6 as [::1]:PORT)`);
  const host = m[1]!;
  if (host !== 'localhost' && isIP(host) === 0) throw new ConfigError(`${flag}: "${host}" is not an IP address`);
  const port = parseInteger(m[2]!, flag, listen ? 0 : 1, 65535);
  return { host: host === 'localhost' ? '127.0.0.1' : host, port };
}

/** HOST:PORT with an optional /udp or /tcp (default udp). */
function parseRouteTarget(v: string): NextHop {
  const m = /^(.*)\/(udp|tcp)$/i.exec(v);
  const hp = parseHostPort(m ? m[1]! : v, '--route');
  return { ...hp, transport: m ? (m[2]!.toLowerCase() as 'udp' | 'tcp') : 'udp' };
}

function parseRange(v: string): PortRange {
  const m = /^(.+):(\d+)-(\d+)$/.exec(v);
  if (!m) throw new ConfigError(`--rtp: "${v}" is not HOST:MIN-MAX`);
  const { host } = parseHostPort(`${m[1]}:1`, '--rtp');
  const min = parseInteger(m[2]!, '--rtp', 1024, 65535);
  const max = parseInteger(m[3]!, '--rtp', 1024, 65535);
  if (min > max) throw new ConfigError(`--rtp: impossible port range ${min}-${max} (MIN is above MAX)`);
  if (max - min + 1 < 4) throw new ConfigError(`--rtp: port range ${min}-${max} holds fewer than 4 ports (one call needs an RTP/RTCP pair per side)`);
  return { host, min, max };
}

/** A relative --data is taken from the current directory, as a shell user means it. */
function parseDataDir(v: string): string {
  if (v.trim() === '') throw new ConfigError('--data needs a directory');
  return resolve(v);
}

function parseRedisUrl(v: string): string {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new ConfigError(`--redis: "${v}" is not a URL (redis://HOST:PORT), "auto" or "off"`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ConfigError(`--redis: "${v}" must start with redis:// or rediss://`);
  return v;
}

function parseToken(v: string): string {
  if (!/^[\x21-\x7e]{1,256}$/.test(v)) throw new ConfigError('--token must be 1-256 printable characters without spaces');
  return v;
}

function parseInteger(v: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(v)) throw new ConfigError(`${flag}: "${v}" is not a whole number`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(`${flag}: ${n} is outside ${min}-${max}`);
  return n;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Two listeners of ours on one UDP port would fail late and confusingly; say it now. */
function findPortClash(c: LabConfig): string | null {
  const udp: [string, HostPort][] = [['--sip', c.sip]];
  if (c.ng) udp.push(['--ng', c.ng]);
  for (const [flag, hp] of udp) {
    if (!c.relayOff && hp.port !== 0 && hp.port >= c.rtp.min && hp.port <= c.rtp.max) return `${flag} port ${hp.port} lies inside the --rtp range ${c.rtp.min}-${c.rtp.max}`;
  }
  if (c.ng && c.sip.port !== 0 && c.ng.port === c.sip.port) return `--ng and --sip both use port ${c.sip.port}`;
  if (c.ui && c.sip.port !== 0 && c.ui.port === c.sip.port) return `--ui and --sip both use port ${c.sip.port} (SIP also listens on TCP)`;
  return null;
}
