/**
 * The benchmarks' history: every run of a part appends one line to
 * test/bench/results.jsonl (the part, its arguments, its JSON result, the
 * git commit, the date, and the machine: cores and load before the run, so a
 * figure from a busy box can be told apart); `npm run bench -- report`
 * prints the latest result of each part as a table of its ratios (ours ÷ the
 * reference tool's, measured in the same run) and draws their history as
 * test/bench/history.svg. Pure but for the file and git reads.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';

export const RESULTS = join(import.meta.dirname, 'results.jsonl');
export const HISTORY_SVG = join(import.meta.dirname, 'history.svg');

export interface BenchRecord {
  part: string;
  args: string[];
  commit: string | null;
  date: string;
  /** load1Before: the 1-minute load average when the run began (null: not recorded). */
  machine: { cores: number; load1Before: number | null; node: string };
  result: unknown;
}

export function machineNow(): BenchRecord['machine'] {
  return { cores: availableParallelism(), load1Before: Math.round(loadavg()[0]! * 100) / 100, node: process.version };
}

export function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

export function appendRecord(r: BenchRecord, file = RESULTS): void {
  appendFileSync(file, JSON.stringify(r) + '\n');
}

export function readRecords(file = RESULTS): BenchRecord[] {
  if (!existsSync(file)) return [];
  const out: BenchRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as BenchRecord);
    } catch {
      // a torn last line (a run killed mid-write) is skipped
    }
  }
  return out;
}

/** Every number under a key that names a ratio (ours ÷ the reference's), by its dotted path. */
export function ratiosOf(result: unknown, prefix = ''): [string, number][] {
  if (result === null || typeof result !== 'object') return [];
  const out: [string, number][] = [];
  for (const [k, v] of Object.entries(result as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number' && Number.isFinite(v) && /ratio/i.test(path)) out.push([path, v]);
    else if (Array.isArray(v)) v.forEach((x, i) => out.push(...ratiosOf(x, `${path}[${i}]`)));
    else if (v && typeof v === 'object') out.push(...ratiosOf(v, path));
  }
  return out;
}

/** The latest record of each part, as a Markdown table of its ratios. */
export function reportTable(records: BenchRecord[]): string {
  const latest = new Map<string, BenchRecord>();
  for (const r of records) latest.set(r.part, r);
  const lines = ['| part | when | commit | load before (of cores) | ratio (callpath ÷ reference, same run) | value |', '|---|---|---|---|---|---|'];
  for (const r of [...latest.values()].sort((a, b) => a.part.localeCompare(b.part))) {
    const ratios = ratiosOf(r.result);
    const head = `| ${r.part} | ${r.date.slice(0, 16).replace('T', ' ')} | ${r.commit ?? '—'} | ${r.machine.load1Before ?? '—'} (${r.machine.cores}) |`;
    if (ratios.length === 0) lines.push(`${head} (no ratio in its result) | |`);
    for (const [i, [path, v]] of ratios.entries()) lines.push(`${i === 0 ? head : '| | | | |'} ${path} | ${v} |`);
  }
  return lines.join('\n');
}

const COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7'];

/** Each part's ratios over its runs, one small chart per part, one line per ratio; 1.0 (parity) dashed. */
export function historySvg(records: BenchRecord[], maxSeries = 6): string {
  const parts = [...new Set(records.map((r) => r.part))].sort();
  const W = 520;
  const H = 150;
  const pad = { l: 40, r: 200, t: 22, b: 18 };
  const charts: string[] = [];
  parts.forEach((part, pi) => {
    const runs = records.filter((r) => r.part === part);
    const names = [...new Set(runs.flatMap((r) => ratiosOf(r.result).map(([p]) => p)))].slice(0, maxSeries);
    const y0 = pi * H;
    const values = runs.flatMap((r) => ratiosOf(r.result).filter(([p]) => names.includes(p)).map(([, v]) => v));
    const top = Math.max(2, ...values);
    const x = (i: number) => pad.l + (runs.length <= 1 ? 0 : (i * (W - pad.l - pad.r)) / (runs.length - 1));
    const y = (v: number) => y0 + pad.t + (1 - Math.min(v, top) / top) * (H - pad.t - pad.b);
    charts.push(`<text x="4" y="${y0 + 14}" font-size="12" font-weight="bold">${esc(part)} (${runs.length} run${runs.length === 1 ? '' : 's'}; ratio, 1 = parity)</text>`);
    charts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${y(1)}" y2="${y(1)}" stroke="#999" stroke-dasharray="4 3"/><text x="4" y="${y(1) + 4}" font-size="10">1.0</text><text x="4" y="${y(top) + 8}" font-size="10">${top.toFixed(1)}</text>`);
    names.forEach((name, ni) => {
      const pts = runs.map((r, i) => [i, ratiosOf(r.result).find(([p]) => p === name)?.[1]] as const).filter((p): p is readonly [number, number] => p[1] !== undefined);
      const color = COLORS[ni % COLORS.length]!;
      if (pts.length > 0) charts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.map(([i, v]) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>` + pts.map(([i, v]) => `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2" fill="${color}"/>`).join(''));
      charts.push(`<text x="${W - pad.r + 8}" y="${y0 + pad.t + 12 * ni + 4}" font-size="10" fill="${color}">${esc(name.length > 34 ? `…${name.slice(-33)}` : name)}</text>`);
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Math.max(H, parts.length * H)}" font-family="sans-serif" style="background:#fff">${charts.join('')}</svg>\n`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function writeReport(records = readRecords()): string {
  writeFileSync(HISTORY_SVG, historySvg(records));
  return reportTable(records);
}
