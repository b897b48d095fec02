/**
 * SIP proxy benchmark (issue #3): callpath and Kamailio under the same SIPp
 * load, in one invocation, through the shared reference harness.
 *   - proxy only: Kamailio against callpath with `--rtp off` (SDP passes
 *     untouched), at 500 and 1,000 calls/s: 100 Trying p50/p99 on the wire
 *     (dumpcap), CPU, ratios;
 *   - with the media relay (issue #14): Kamailio + its rtpengine module +
 *     rtpengine (test/bench/kamailio-rtpengine.sh, the story's call path)
 *     against callpath with its relay on, which rewrites every SDP: the same
 *     figures plus INVITE→180/200, which now include the relay's work;
 *   - the highest clean rate (0 failed, 0 retransmissions) of each over rising
 *     rates: one SIPp UAC up to 1,500 calls/s (the harness's max-clean.sh),
 *     several above it, one per 1,000 calls/s (sipp-fleet.ts), so one SIPp
 *     instance never sets the ceiling.
 * Every figure carries the generator's CPU (SIPp UAC and UAS, % of one core;
 * SIPp is single-threaded, so a UAC near 100 % means the generator, not the
 * proxy, set the limit) and the whole box's busy share (% of both cores).
 * Args: [SECONDS=20] [RATES="250 500 750 1000 1500 2000 3000"] [WIRE=auto]
 * WIRE is the lab's `--wire` (auto: the wire tap runs where dumpcap can
 * capture, as it does for a user; off: without it), so the tap's cost is
 * measured as the difference between two invocations.
 */
import { join } from 'node:path';
import { labCommand, ROOT, runScript, runScriptAll, sharedBench, type Json } from './shared-bench';
import { fleetRun, GENERATOR_BOUND_PCT, PER_UAC_RATE } from './sipp-fleet';

const ratio = (a: unknown, b: unknown): number | null => {
  const x = Number(a);
  const y = Number(b);
  return Number.isFinite(x) && x >= 0 && y > 0 ? Math.round((x / y) * 1000) / 1000 : null;
};

/** Rates one SIPp UAC drives in the harness's max-clean.sh; above it the ladder goes on with several (sipp-fleet.ts). */
const ONE_UAC_MAX_RATE = 1500;

/** The generator's share of one run (run-proxy.sh's per-run line): SIPp UAC and UAS CPU, and the box's busy share. */
function generator(r: Json | undefined | null): Json {
  if (!r) return {};
  const uac = Number(r.cpu_sipp_uac_pct);
  return { sipp_uac_cpu_pct: r.cpu_sipp_uac_pct ?? null, sipp_uas_cpu_pct: r.cpu_sipp_uas_pct ?? null, box_busy_pct: r.sys_busy_pct_of_2cores ?? null, generator_bound: Number.isFinite(uac) ? uac >= GENERATOR_BOUND_PCT : null };
}

/** One run's figures, wire-measured (dumpcap on the UAC leg), with clean as compare.sh defines it. */
function mediaFigures(r: Json | null, rate: number, seconds: number): Json | null {
  if (!r) return null;
  const clean = r.failed === 0 && r.retrans === 0 && r.ok === rate * seconds;
  return { t100_p50_ms: r.t100_p50_ms, t100_p99_ms: r.t100_p99_ms, t180_p99_ms: r.t180_p99_ms, t200_p50_ms: r.t200_p50_ms, t200_p99_ms: r.t200_p99_ms, cpu_pct: r.cpu_sut_pct, clean, failed: r.failed, retrans: r.retrans, ...generator(r) };
}

/**
 * The highest clean rate up a ladder of rates: the harness's max-clean.sh
 * with one SIPp UAC up to ONE_UAC_MAX_RATE, each step with the generator's
 * share from its per-rate line ("rate 500: {…}"); then, while still clean,
 * the same step with several UACs (one per PER_UAC_RATE calls/s), so a
 * single SIPp never sets the ceiling. sutCmd is the same SUT as a command.
 */
async function maxClean(bench: string, seconds: string, rates: string, env: Record<string, string>, sutCmd: string): Promise<Json | null> {
  const all = rates.split(/\s+/).filter(Boolean).map(Number);
  const one = all.filter((r) => r <= ONE_UAC_MAX_RATE);
  const { last, runs } = await runScriptAll(join(bench, 'sip', 'max-clean.sh'), [seconds, one.join(' ')], env);
  if (!last || !Array.isArray(last.steps)) return last;
  const steps: Json[] = (last.steps as Json[]).map((s) => ({ ...s, uacs: 1, ...generator(runs.find((r) => r.tag === `rate ${String(s.rate)}`)?.run) }));
  let best = Number(last.max_clean_rate);
  let firstUnclean = last.first_unclean_rate ?? null;
  for (const rate of all.filter((r) => r > ONE_UAC_MAX_RATE)) {
    if (firstUnclean !== null) break;
    process.stderr.write(`\n-- ${env.IMPL} at ${rate} calls/s with ${Math.ceil(rate / PER_UAC_RATE)} SIPp UACs --\n`);
    const r = await fleetRun(bench, { sutCmd, impl: env.IMPL ?? 'sut', rate, seconds: Number(seconds), env });
    process.stderr.write(`fleet ${rate}: ${JSON.stringify(r)}\n`);
    const clean = r.failed === 0 && r.retrans === 0 && r.ok === rate * Number(seconds);
    steps.push({
      rate, ok: r.ok, failed: r.failed, retrans: r.retrans, t100_p99_ms: null, sipp_t100_p99_ms: r.sipp_t100_p99_ms, cpu_pct: r.cpu_sut_pct, clean, uacs: r.uacs,
      sipp_uac_cpu_pct: Math.max(...(r.cpu_sipp_uac_pct as number[])), sipp_uac_cpu_pct_each: r.cpu_sipp_uac_pct, sipp_uas_cpu_pct: r.cpu_sipp_uas_pct, box_busy_pct: r.sys_busy_pct_of_2cores, generator_bound: r.generator_bound,
    });
    if (clean) best = rate;
    else firstUnclean = rate;
  }
  return { ...last, max_clean_rate: best, first_unclean_rate: firstUnclean, steps };
}

export async function main(args: string[]): Promise<void> {
  const seconds = args[0] ?? '20';
  // Past 3,000 calls/s both proxies were still clean on a quiet box: go on until one is not (or SIPp is the limit).
  const rates = args[1] ?? '250 500 750 1000 1500 2000 3000 4000 5000';
  const bench = sharedBench();
  const wire = args[2] ?? 'auto';
  if (!/^(auto|off|[\w.:-]+)$/.test(wire)) throw new Error(`WIRE must be auto, off or an interface name, not ${wire}`);
  const sut = labCommand(`--sip 127.0.0.1:$SUT_PORT --route $UAS_HOST:$UAS_PORT --ui off --redis off --ng off --rtp off --wire ${wire}`);
  const env = { SUT_CMD: sut, IMPL: 'callpath' };
  const withRelay = { SUT: 'cmd', IMPL: 'callpath-relay', SUT_CMD: labCommand(`--sip 127.0.0.1:$SUT_PORT --route $UAS_HOST:$UAS_PORT --ui off --redis off --ng off --wire ${wire}`) };
  const reference = { SUT: 'cmd', IMPL: 'kamailio-rtpengine', SUT_CMD: join(ROOT, 'test', 'bench', 'kamailio-rtpengine.sh'), SHARED_BENCH: bench };

  const compare: Json[] = [];
  /** The full per-run lines of each compare: relay latencies (INVITE→180/200) that the compare summary leaves out. */
  const fullRuns = new Map<string, { kamailio?: Json; callpath?: Json }>();
  for (const rate of ['500', '1000']) {
    process.stderr.write(`\n== compare at ${rate} calls/s for ${seconds} s ==\n`);
    const { last, runs } = await runScriptAll(join(bench, 'sip', 'compare.sh'), [rate, seconds], env);
    if (last) compare.push(last);
    fullRuns.set(rate, { kamailio: runs.find((r) => r.tag === 'kamailio')?.run, callpath: runs.find((r) => r.tag === 'sut')?.run });
  }
  const media: Record<string, Json> = {};
  for (const rate of ['500', '1000']) {
    process.stderr.write(`\n== with the media relay at ${rate} calls/s for ${seconds} s: kamailio + rtpengine, then callpath ==\n`);
    const ref = await runScript(join(bench, 'sip', 'run-proxy.sh'), [rate, seconds], reference);
    const ours = await runScript(join(bench, 'sip', 'run-proxy.sh'), [rate, seconds], withRelay);
    media[`at_${rate}`] = { callpath: mediaFigures(ours, Number(rate), Number(seconds)), kamailio_rtpengine: mediaFigures(ref, Number(rate), Number(seconds)), ratio_t100_p99: ratio(ours?.t100_p99_ms, ref?.t100_p99_ms), ratio_t200_p99: ratio(ours?.t200_p99_ms, ref?.t200_p99_ms), ratio_cpu: ratio(ours?.cpu_sut_pct, ref?.cpu_sut_pct) };
  }
  process.stderr.write('\n== highest clean rate with the media relay: kamailio + rtpengine ==\n');
  const refMax = await maxClean(bench, seconds, rates, reference, reference.SUT_CMD);
  process.stderr.write('\n== highest clean rate with the media relay: callpath ==\n');
  const oursMax = await maxClean(bench, seconds, rates, withRelay, withRelay.SUT_CMD);
  media.max_clean_rate = { callpath: Number(oursMax?.max_clean_rate ?? 0), kamailio_rtpengine: Number(refMax?.max_clean_rate ?? 0), ratio: ratio(oursMax?.max_clean_rate, refMax?.max_clean_rate) };

  process.stderr.write('\n== highest clean rate: kamailio ==\n');
  // The harness's own Kamailio, as a command for the steps with several UACs (run-proxy.sh starts it the same way).
  const kamailioCmd = `exec kamailio -f ${join(bench, 'sip', 'kamailio.cfg')} -DD -E -n \${KAM_CHILDREN:-4} -m 512 -M 16 -A 'CTL_SOCK="unix:/tmp/bench-kam-ctl-fleet-${process.pid}.sock"'`;
  const kam = await maxClean(bench, seconds, rates, { SUT: 'kamailio', IMPL: 'kamailio' }, kamailioCmd);
  process.stderr.write('\n== highest clean rate: callpath ==\n');
  const ours = await maxClean(bench, seconds, rates, { SUT: 'cmd', ...env }, sut);

  const kMax = Number(kam?.max_clean_rate ?? 0);
  const cMax = Number(ours?.max_clean_rate ?? 0);
  const at = (rate: number) => compare.find((c) => c.rate === rate) as Record<string, Record<string, unknown>> | undefined;
  const relay = (r: Json | undefined) => (r ? { t180_p50_ms: r.t180_p50_ms, t180_p99_ms: r.t180_p99_ms, t200_p99_ms: r.t200_p99_ms, t100_max_ms: r.t100_max_ms, ...generator(r) } : {});
  const fig = (rate: number) => {
    const c = at(rate);
    const full = fullRuns.get(String(rate)) ?? {};
    return c
      ? {
          callpath: { t100_p50_ms: c.sut?.t100_p50_ms, t100_p99_ms: c.sut?.t100_p99_ms, cpu_pct: c.sut?.cpu_pct, clean: c.sut?.clean, ...relay(full.callpath) },
          kamailio: { t100_p50_ms: c.kamailio?.t100_p50_ms, t100_p99_ms: c.kamailio?.t100_p99_ms, cpu_pct: c.kamailio?.cpu_pct, clean: c.kamailio?.clean, ...relay(full.kamailio) },
          ratio_t100_p99: (c as unknown as Record<string, unknown>).ratio_t100_p99,
          ratio_cpu: (c as unknown as Record<string, unknown>).ratio_cpu,
        }
      : null;
  };
  const result = {
    bench: 'sip',
    seconds: Number(seconds),
    wire,
    max_clean_rate: { callpath: cMax, kamailio: kMax, ratio: kMax > 0 ? Math.round((cMax / kMax) * 1000) / 1000 : null },
    at_500: fig(500),
    at_1000: fig(1000),
    steps: { callpath: ours?.steps ?? null, kamailio: kam?.steps ?? null },
    with_media_relay: { ...media, steps: { callpath: oursMax?.steps ?? null, kamailio_rtpengine: refMax?.steps ?? null } },
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}
