/**
 * SIP proxy benchmark (issue #3): callpath and Kamailio under the same SIPp
 * load, in one invocation, through the shared reference harness.
 *   - compare at 500 and 1,000 calls/s: 100 Trying p50/p99 on the wire (dumpcap), CPU, ratios;
 *   - the highest clean rate (0 failed, 0 retransmissions) of each over rising rates.
 * Args: [SECONDS=20] [RATES="250 500 750 1000 1500 2000 3000"] [WIRE=auto]
 * WIRE is the lab's `--wire` (auto: the wire tap runs where dumpcap can
 * capture, as it does for a user; off: without it), so the tap's cost is
 * measured as the difference between two invocations.
 */
import { join } from 'node:path';
import { labCommand, runScript, runScriptAll, sharedBench, type Json } from './shared-bench';

export async function main(args: string[]): Promise<void> {
  const seconds = args[0] ?? '20';
  // Past 3,000 calls/s both proxies were still clean on a quiet box: go on until one is not (or SIPp is the limit).
  const rates = args[1] ?? '250 500 750 1000 1500 2000 3000 4000 5000';
  const bench = sharedBench();
  const wire = args[2] ?? 'auto';
  if (!/^(auto|off|[\w.:-]+)$/.test(wire)) throw new Error(`WIRE must be auto, off or an interface name, not ${wire}`);
  const sut = labCommand(`--sip 127.0.0.1:$SUT_PORT --route $UAS_HOST:$UAS_PORT --ui off --redis off --ng off --wire ${wire}`);
  const env = { SUT_CMD: sut, IMPL: 'callpath' };

  const compare: Json[] = [];
  /** The full per-run lines of each compare: relay latencies (INVITE→180/200) that the compare summary leaves out. */
  const fullRuns = new Map<string, { kamailio?: Json; callpath?: Json }>();
  for (const rate of ['500', '1000']) {
    process.stderr.write(`\n== compare at ${rate} calls/s for ${seconds} s ==\n`);
    const { last, runs } = await runScriptAll(join(bench, 'sip', 'compare.sh'), [rate, seconds], env);
    if (last) compare.push(last);
    fullRuns.set(rate, { kamailio: runs.find((r) => r.tag === 'kamailio')?.run, callpath: runs.find((r) => r.tag === 'sut')?.run });
  }
  process.stderr.write('\n== highest clean rate: kamailio ==\n');
  const kam = await runScript(join(bench, 'sip', 'max-clean.sh'), [seconds, rates], { SUT: 'kamailio', IMPL: 'kamailio' });
  process.stderr.write('\n== highest clean rate: callpath ==\n');
  const ours = await runScript(join(bench, 'sip', 'max-clean.sh'), [seconds, rates], { SUT: 'cmd', ...env });

  const kMax = Number(kam?.max_clean_rate ?? 0);
  const cMax = Number(ours?.max_clean_rate ?? 0);
  const at = (rate: number) => compare.find((c) => c.rate === rate) as Record<string, Record<string, unknown>> | undefined;
  const relay = (r: Json | undefined) => (r ? { t180_p50_ms: r.t180_p50_ms, t180_p99_ms: r.t180_p99_ms, t200_p99_ms: r.t200_p99_ms, t100_max_ms: r.t100_max_ms, box_busy_pct: r.sys_busy_pct_of_2cores } : {});
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
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}
