/**
 * Descriptive statistics for latency samples: percentiles, summaries and bootstrap confidence intervals.
 *
 * Percentiles use linear interpolation between closest ranks (Hyndman-Fan type 7, numpy's default and
 * what vLLM bench reports): for sorted x[0..n-1], rank h = (n - 1) p / 100, and
 * P(p) = x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]). An empty sample has no percentile
 * (`undefined`, never 0). `quantile` is the same interpolation on a 0..1 scale (p99 is 0.99).
 *
 * Two means on purpose: `mean` sums left to right (what the tier rows and facts have always computed),
 * while `summarize`'s mean is simple-statistics' compensated sum (its long summaries have always used it);
 * they agree to the last few bits, and keeping each keeps every written number identical.
 * @module
 */
import { mean as ssMean, standardDeviation } from "simple-statistics";
import { createRng } from "./random.ts";

/**
 * The p-th percentile (0..100) of already sorted values, by linear interpolation (type 7).
 *
 * @example
 * ```ts
 * import { percentileSorted } from "./stats.ts";
 * percentileSorted([1, 2, 3, 4], 50); // 2.5
 * ```
 */
export function percentileSorted(sorted: readonly number[], p: number): number | undefined {
  if (!(p >= 0 && p <= 100)) {
    throw new RangeError(`Cannot take percentile ${p}: p must be between 0 and 100.`);
  }
  const n = sorted.length;
  return n === 0 ? undefined : atRank(sorted, (n - 1) * p / 100);
}

/**
 * The q-th quantile (0..1) of already sorted values: {@link percentileSorted} on a 0..1 scale (the rank is
 * (n - 1) q, so no rounding from scaling q by 100); undefined for no values.
 *
 * @example
 * ```ts
 * import { quantileSorted } from "./stats.ts";
 * quantileSorted([1, 2, 3, 4], 0.5); // 2.5
 * ```
 */
export function quantileSorted(sorted: readonly number[], q: number): number | undefined {
  if (!(q >= 0 && q <= 1)) {
    throw new RangeError(`Cannot take quantile ${q}: q must be between 0 and 1 (p99 is 0.99).`);
  }
  const n = sorted.length;
  return n === 0 ? undefined : atRank(sorted, (n - 1) * q);
}

/**
 * The q-th quantile (0..1) of values, by linear interpolation (type 7); undefined for no values.
 *
 * @example
 * ```ts
 * import { quantile } from "./stats.ts";
 * quantile([10, 40, 20, 30], 0.9); // 37
 * ```
 */
export function quantile(values: readonly number[], q: number): number | undefined {
  return quantileSorted(sortedNumbers(values), q);
}

/**
 * The median (the 50th percentile, interpolated for an even count); undefined for no values.
 *
 * @example
 * ```ts
 * import { median } from "./stats.ts";
 * median([4, 1, 3, 2]); // 2.5
 * ```
 */
export function median(values: readonly number[]): number | undefined {
  return percentile(values, 50);
}

/**
 * The arithmetic mean, summed left to right; undefined for no values. Every entry counts (no filtering),
 * so a NaN in gives NaN out.
 *
 * @example
 * ```ts
 * import { mean } from "./stats.ts";
 * mean([1, 2, 6]); // 3
 * ```
 */
export function mean(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Linear interpolation at fractional rank h (0..n-1) of a sorted, non-empty array. */
function atRank(sorted: readonly number[], h: number): number {
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * The p-th percentile (0..100) of values, by linear interpolation (type 7); undefined for no values.
 *
 * @example
 * ```ts
 * import { percentile } from "./stats.ts";
 * percentile([10, 40, 20, 30], 90); // 37
 * ```
 */
export function percentile(values: readonly number[], p: number): number | undefined {
  return percentileSorted(sortedNumbers(values), p);
}

/** n, mean, p50, p90, p95, p99, max and (population) std of a sample; all but n undefined when n = 0. */
export interface Summary {
  n: number;
  mean?: number;
  p50?: number;
  p90?: number;
  p95?: number;
  p99?: number;
  max?: number;
  /** Population standard deviation (divides by n), as vLLM bench's np.std. */
  std?: number;
}

/** The statistics `summarize` returns, in order (the `stat` column of long summaries). */
export const SUMMARY_STATS = ["n", "mean", "p50", "p90", "p95", "p99", "max", "std"] as const;

/**
 * Summarizes a sample. `undefined` and NaN entries (metrics not applicable to a request) are dropped.
 *
 * @example
 * ```ts
 * import { summarize } from "./stats.ts";
 * const s = summarize([100, 120, undefined, 140]); // { n: 3, mean: 120, p50: 120, ... }
 * ```
 */
export function summarize(values: readonly (number | undefined)[]): Summary {
  const xs = finite(values);
  if (xs.length === 0) return { n: 0 };
  xs.sort((a, b) => a - b);
  return {
    n: xs.length,
    mean: ssMean(xs),
    p50: percentileSorted(xs, 50),
    p90: percentileSorted(xs, 90),
    p95: percentileSorted(xs, 95),
    p99: percentileSorted(xs, 99),
    max: xs[xs.length - 1],
    std: standardDeviation(xs),
  };
}

/** Options of {@link bootstrapCi}. */
export interface BootstrapOptions {
  /** PRNG seed; the same seed gives the same interval. Default 0. */
  seed?: number;
  /** Number of resamples. Default 1000. */
  resamples?: number;
  /** Coverage of the interval, 0..1. Default 0.95. */
  confidence?: number;
}

/** A percentile with its bootstrap confidence interval. */
export interface PercentileCi {
  /** The percentile of the sample itself. */
  estimate: number;
  lo: number;
  hi: number;
  confidence: number;
  resamples: number;
  n: number;
}

/**
 * Percentile-bootstrap confidence interval for the p-th percentile: resample the values with replacement
 * `resamples` times (seeded), take the percentile of each resample, and report the (1 - confidence) / 2
 * and (1 + confidence) / 2 percentiles of those. Undefined for an empty sample.
 *
 * @example
 * ```ts
 * import { bootstrapCi } from "./stats.ts";
 * const ci = bootstrapCi([210, 205, 230, 220, 290, 215], 50, { seed: 1 });
 * // ci.lo <= ci.estimate <= ci.hi
 * ```
 */
export function bootstrapCi(
  values: readonly (number | undefined)[],
  p: number,
  opts: BootstrapOptions = {},
): PercentileCi | undefined {
  const confidence = opts.confidence ?? 0.95;
  const resamples = opts.resamples ?? 1000;
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`Cannot bootstrap with confidence ${confidence}: use a value between 0 and 1.`);
  }
  if (!(Number.isInteger(resamples) && resamples > 0)) {
    throw new RangeError(`Cannot bootstrap with ${resamples} resamples: use a positive integer.`);
  }
  const xs = finite(values).sort((a, b) => a - b);
  const n = xs.length;
  if (n === 0) return undefined;
  const estimate = percentileSorted(xs, p)!;
  const rng = createRng(opts.seed ?? 0);
  const stats = new Float64Array(resamples);
  // Resampling indices into the sorted sample and sorting the indices keeps the resample sorted.
  const idx = new Uint32Array(n);
  const sample = new Array<number>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rng() * n);
    idx.sort();
    for (let i = 0; i < n; i++) sample[i] = xs[idx[i]];
    stats[r] = percentileSorted(sample, p)!;
  }
  stats.sort();
  const tail = (1 - confidence) / 2 * 100;
  const sorted = Array.from(stats);
  return {
    estimate,
    lo: percentileSorted(sorted, tail)!,
    hi: percentileSorted(sorted, 100 - tail)!,
    confidence,
    resamples,
    n,
  };
}

function finite(values: readonly (number | undefined)[]): number[] {
  const out: number[] = [];
  for (const v of values) if (v !== undefined && Number.isFinite(v)) out.push(v);
  return out;
}

function sortedNumbers(values: readonly number[]): number[] {
  return finite(values).sort((a, b) => a - b);
}
