/**
 * The benchmarks' history (test/bench/history.ts): what a run appends, the
 * report's table of each part's latest ratios, and the history chart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendRecord, historySvg, ratiosOf, readRecords, reportTable, type BenchRecord } from '../bench/history';

const rec = (part: string, date: string, result: unknown): BenchRecord => ({ part, args: [], commit: 'abc123', date, machine: { cores: 2, load1Before: 0.3, node: 'v20' }, result });

test('every number under a key naming a ratio is found, by its path, arrays included', () => {
  const r = { bench: 'rtp', points: [{ calls: 100, ratio_cpu_per_pkt: 1.35 }, { calls: 250, ratio_cpu_per_pkt: 1.58 }], max_clean_calls: { rtpengine: 500, callpath: 500 }, media: { ratio: { cpu: 0.9 } }, note: 'ratio' };
  assert.deepEqual(ratiosOf(r), [
    ['points[0].ratio_cpu_per_pkt', 1.35],
    ['points[1].ratio_cpu_per_pkt', 1.58],
    ['media.ratio.cpu', 0.9],
  ]);
});

test('a run appends one line; a torn line is skipped; the report shows the latest run of each part', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'callpath-bench-')), 'results.jsonl');
  appendRecord(rec('sip', '2026-12-05T08:00:00Z', { ratio_cpu: 1.2 }), file);
  appendRecord(rec('sip', '2026-12-05T09:00:00Z', { ratio_cpu: 0.9 }), file);
  appendRecord(rec('rtp', '2026-12-05T09:30:00Z', { nothing: 1 }), file);
  writeFileSync(file, readFileSync(file, 'utf8') + '{"part":"sip","args":[');
  const records = readRecords(file);
  assert.equal(records.length, 3);
  const table = reportTable(records);
  assert.match(table, /\| sip \| 2026-12-05 09:00 \| abc123 \| 0.3 \(2\) \| ratio_cpu \| 0.9 \|/);
  assert.doesNotMatch(table, /\| 1.2 \|/, 'only the latest sip run');
  assert.match(table, /\| rtp \| .* \(no ratio in its result\)/);
  const svg = historySvg(records);
  assert.match(svg, /^<svg /);
  assert.match(svg, /sip \(2 runs; ratio, 1 = parity\)/);
  assert.equal((svg.match(/<polyline/g) ?? []).length, 1, 'one line: the sip ratio over its two runs');
});
