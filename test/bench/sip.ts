/**
 * SIP proxy benchmark (issue #3): callpath and Kamailio under the same SIPp
 * load, in one invocation, through the shared reference harness.
 *   - compare at 500 and 1,000 calls/s: 100 Trying p50/p99 on the wire (dumpcap), CPU, ratios;
 *   - the highest clean rate (0 failed, 0 retransmissions) of each over rising rates.
 * Args: [SECONDS=20] [RATES="250 500 750 1000 1500 2000 3000"]
 */
import { join } from 'node:path';
import { labCommand, runScript, sharedBench } from './shared-bench';

export async function main(args: string[]): Promise<void> {
  const seconds = args[0] ?? '20';
  const rates = args[1] ?? '250 500 750 1000 1500 2000 3000';
  const bench = sharedBench();
  const sut = labCommand('--sip 127.0.0.1:$SUT_PORT --route $UAS_HOST:$UAS_PORT --ui off --redis off --ng off');
  const env = { SUT_CMD: sut, IMPL: 'callpath' };

  const compare: Record<string, unknown>[] = [];
  for (const rate of ['500', '1000']) {
    process.stderr.write(`\n== compare at ${rate} calls/s for ${seconds} s ==\n`);
    const line = await runScript(join(bench, 'sip', 'compare.sh'), [rate, seconds], env);
    if (line) compare.push(line);
  }
  process.stderr.write('\n== highest clean rate: kamailio ==\n');
  const kam = await runScript(join(bench, 'sip', 'max-clean.sh'), [seconds, rates], { SUT: 'kamailio', IMPL: 'kamailio' });
  process.stderr.write('\n== highest clean rate: callpath ==\n');
  const ours = await runScript(join(bench, 'sip', 'max-clean.sh'), [seconds, rates], { SUT: 'cmd', ...env });

  const kMax = Number(kam?.max_clean_rate ?? 0);
  const cMax = Number(ours?.max_clean_rate ?? 0);
  const at = (rate: number) => compare.find((c) => c.rate === rate) as Record<string, Record<string, unknown>> | undefined;
  const fig = (rate: number) => {
    const c = at(rate);
    return c
      ? {
          callpath: { t100_p50_ms: c.sut?.t100_p50_ms, t100_p99_ms: c.sut?.t100_p99_ms, cpu_pct: c.sut?.cpu_pct, clean: c.sut?.clean },
          kamailio: { t100_p50_ms: c.kamailio?.t100_p50_ms, t100_p99_ms: c.kamailio?.t100_p99_ms, cpu_pct: c.kamailio?.cpu_pct, clean: c.kamailio?.clean },
          ratio_t100_p99: (c as unknown as Record<string, unknown>).ratio_t100_p99,
          ratio_cpu: (c as unknown as Record<string, unknown>).ratio_cpu,
        }
      : null;
  };
  const result = {
    bench: 'sip',
    seconds: Number(seconds),
    max_clean_rate: { callpath: cMax, kamailio: kMax, ratio: kMax > 0 ? Math.round((cMax / kMax) * 1000) / 1000 : null },
    at_500: fig(500),
    at_1000: fig(1000),
    steps: { callpath: ours?.steps ?? null, kamailio: kam?.steps ?? null },
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}
