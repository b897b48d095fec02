/**
 * What the built-in traffic places (`--traffic`, the console's traffic
 * setting): one spec string of `key=value` pairs, so a lab box, the config
 * file and the settings dialog all say it the same way, e.g.
 *   "cps=10 hold=5 max=200 answer=1 busy=10 noanswer=5 cancel=5 loss=0"
 *
 * - cps: new calls per second; hold: seconds a call stays up once answered;
 * - max: calls in progress at most (a new call waits for a free place and
 *   is counted as `held back`, never queued without bound);
 * - answer: seconds the callee rings before it answers (or, for `noanswer`,
 *   before it gives up with 480);
 * - busy / noanswer / cancel: percent of calls the callee refuses with 486,
 *   rings out with 480, or the caller CANCELs while ringing; the rest answer;
 * - loss: percent of SIP datagrams the generator's own endpoints drop on
 *   send, both ways, so the proxy and the endpoints retransmit;
 * - rtp: 1 (the default) sends G.711 both ways while a call is up; 0 still
 *   offers and answers SDP but sends no RTP: a signalling-only load, as
 *   SIPp's in ../shared/bench (incident 1 runs so: its two cores go to
 *   Redis's fan-out, not to media it is not about).
 */

export interface TrafficSpec {
  cps: number;
  holdS: number;
  maxCalls: number;
  answerS: number;
  busyPct: number;
  noAnswerPct: number;
  cancelPct: number;
  lossPct: number;
  /** 1: RTP both ways; 0: SDP but no RTP. */
  rtp: number;
}

export const DEFAULT_TRAFFIC: TrafficSpec = { cps: 5, holdS: 5, maxCalls: 200, answerS: 1, busyPct: 10, noAnswerPct: 5, cancelPct: 5, lossPct: 0, rtp: 1 };

/** Each key: its field, and the range a value must fall in. */
const KEYS: Record<string, { field: keyof TrafficSpec; min: number; max: number; integer?: boolean }> = {
  cps: { field: 'cps', min: 0.1, max: 2000 },
  hold: { field: 'holdS', min: 0, max: 3600 },
  max: { field: 'maxCalls', min: 1, max: 100_000, integer: true },
  answer: { field: 'answerS', min: 0, max: 120 },
  busy: { field: 'busyPct', min: 0, max: 100 },
  noanswer: { field: 'noAnswerPct', min: 0, max: 100 },
  cancel: { field: 'cancelPct', min: 0, max: 100 },
  loss: { field: 'lossPct', min: 0, max: 50 },
  rtp: { field: 'rtp', min: 0, max: 1, integer: true },
};

export type TrafficSpecResult = { ok: true; spec: TrafficSpec } | { ok: false; error: string };

/** Reads a spec; keys left out keep their defaults (or `base`'s). */
export function parseTrafficSpec(text: string, base: TrafficSpec = DEFAULT_TRAFFIC): TrafficSpecResult {
  const spec: TrafficSpec = { ...base };
  for (const item of text.trim().split(/[\s,]+/).filter(Boolean)) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).toLowerCase();
    const k = KEYS[key];
    if (!k) return { ok: false, error: `traffic: unknown "${key}"; one of ${Object.keys(KEYS).join(', ')}` };
    const value = Number(eq < 0 ? NaN : item.slice(eq + 1));
    if (!Number.isFinite(value) || value < k.min || value > k.max || (k.integer && !Number.isInteger(value))) {
      return { ok: false, error: `traffic: ${key} must be ${k.integer ? 'a whole number' : 'a number'} from ${k.min} to ${k.max}, not "${eq < 0 ? '' : item.slice(eq + 1)}"` };
    }
    spec[k.field] = value;
  }
  if (spec.busyPct + spec.noAnswerPct + spec.cancelPct > 100) return { ok: false, error: `traffic: busy + noanswer + cancel is ${spec.busyPct + spec.noAnswerPct + spec.cancelPct} %, more than 100 %` };
  return { ok: true, spec };
}

/** The spec as `parseTrafficSpec` reads it back. */
export function formatTrafficSpec(s: TrafficSpec): string {
  return `cps=${s.cps} hold=${s.holdS} max=${s.maxCalls} answer=${s.answerS} busy=${s.busyPct} noanswer=${s.noAnswerPct} cancel=${s.cancelPct} loss=${s.lossPct} rtp=${s.rtp}`;
}

/** What the callee does with a call (the caller names it in the Request-URI's user part, so the callee needs no shared state). */
export type CallScript = 'answer' | 'busy' | 'noanswer' | 'cancel';

/** The script for a draw `u` in [0, 1) under the spec's mix. */
export function scriptFor(s: TrafficSpec, u: number): CallScript {
  const p = u * 100;
  if (p < s.busyPct) return 'busy';
  if (p < s.busyPct + s.noAnswerPct) return 'noanswer';
  if (p < s.busyPct + s.noAnswerPct + s.cancelPct) return 'cancel';
  return 'answer';
}
