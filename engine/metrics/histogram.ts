/**
 * A log-linear histogram for latencies (HDR-style, ~1.5% relative error):
 * O(1) record with no allocation, so it can sit on the SIP hot path.
 * Values are integers in the caller's unit (the engine uses µs).
 */
const SUB_BUCKETS = 64; // per power of two → worst-case error 1/64
const MAX_EXPONENT = 40; // covers up to ~2^40 µs (12 days)

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export class Histogram {
  private readonly counts = new Float64Array(SUB_BUCKETS * (MAX_EXPONENT + 1));
  count = 0;
  max = 0;
  sum = 0;

  record(value: number): void {
    const v = value < 0 ? 0 : Math.round(value);
    this.counts[bucketOf(v)]!++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** Upper edge of the bucket holding the p-th percentile (0 < p ≤ 100), capped at the observed max. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(bucketUpper(i), this.max);
    }
    return this.max;
  }

  summary(): LatencySummary {
    return { count: this.count, p50: this.percentile(50), p90: this.percentile(90), p99: this.percentile(99), max: this.max };
  }

  /** Adds every value `other` holds (same bucket layout), for merging windows. */
  merge(other: Histogram): void {
    if (other.count === 0) return;
    const a = this.counts;
    const b = other.counts;
    for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.max = 0;
    this.sum = 0;
  }
}

function bucketOf(v: number): number {
  if (v < SUB_BUCKETS) return v;
  // v in [2^k, 2^(k+1)), k ≥ 6: 64 sub-buckets of width 2^(k-6).
  const exp = Math.min(Math.floor(Math.log2(v)) - 6, MAX_EXPONENT - 1);
  const sub = Math.floor(v / 2 ** exp) - SUB_BUCKETS; // 0..63 within this power of two
  return Math.min(exp * SUB_BUCKETS + SUB_BUCKETS + Math.min(sub, SUB_BUCKETS - 1), SUB_BUCKETS * (MAX_EXPONENT + 1) - 1);
}

function bucketUpper(i: number): number {
  if (i < SUB_BUCKETS) return i;
  const exp = Math.floor((i - SUB_BUCKETS) / SUB_BUCKETS);
  const sub = (i - SUB_BUCKETS) % SUB_BUCKETS;
  return (SUB_BUCKETS + sub + 1) * 2 ** exp - 1;
}
