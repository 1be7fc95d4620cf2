/**
 * Histogram math on Prometheus cumulative buckets: merging label sets, deltas between two scrapes, quantiles
 * and means. A server histogram only knows how many observations fell under each bound, so every quantile
 * read from it is an estimate whose error is bounded by the bucket width; reports should say so.
 * @module
 */
import type { PromBucket, PromHistogramSeries } from "./prom_text.ts";

/** Cumulative buckets sorted by `le` (the last one `Infinity` when the server sent `+Inf`), sum and count. */
export interface BucketHistogram {
  buckets: PromBucket[];
  /** Sum of all observations, when the server sent `_sum`. */
  sum?: number;
  /** Number of observations (`_count`, else the `+Inf` bucket). */
  count: number;
}

/** What {@link histogramDelta} returns: the histogram of the observations made between two scrapes. */
export interface HistogramDelta {
  histogram: BucketHistogram;
  /**
   * True when a count went down (the server restarted between the scrapes). The histogram is then `after`
   * alone (Prometheus's convention: the counters restarted from zero), a lower bound on what happened.
   */
  reset: boolean;
}

/**
 * Merges the series of one histogram family (one per label set, e.g. per `engine`) into one histogram.
 * Series with the same bounds (the normal case) add exactly. With different bounds, the result has the union
 * of the bounds and each series contributes, at bound `b`, its cumulative count at its largest own bound `<= b`
 * (observations it knows to be `<= b`), so the merge never invents observations.
 *
 * @example
 * ```ts
 * import { mergeHistograms } from "./histogram.ts";
 * const h = mergeHistograms([
 *   { labels: { engine: "0" }, buckets: [{ le: 0.1, count: 1 }, { le: Infinity, count: 2 }], sum: 0.3, count: 2 },
 *   { labels: { engine: "1" }, buckets: [{ le: 0.1, count: 3 }, { le: Infinity, count: 3 }], sum: 0.2, count: 3 },
 * ]); // {buckets: [{le: 0.1, count: 4}, {le: Infinity, count: 5}], sum: 0.5, count: 5}
 * ```
 */
export function mergeHistograms(series: readonly PromHistogramSeries[]): BucketHistogram | undefined {
  if (series.length === 0) return undefined;
  const bounds = [...new Set(series.flatMap((s) => s.buckets.map((b) => b.le)))].sort((a, b) => a - b);
  const buckets = bounds.map((le) => ({ le, count: 0 }));
  let sum: number | undefined = 0;
  let count = 0;
  for (const s of series) {
    let j = -1;
    for (let i = 0; i < bounds.length; i++) {
      while (j + 1 < s.buckets.length && s.buckets[j + 1].le <= bounds[i]) j++;
      if (j >= 0) buckets[i].count += s.buckets[j].count;
    }
    sum = sum === undefined || s.sum === undefined ? undefined : sum + s.sum;
    count += s.count ?? s.buckets.at(-1)?.count ?? 0;
  }
  return { buckets, sum, count };
}

/**
 * The observations made between two scrapes of the same histogram: `after - before`, bucket by bucket.
 * Bounds missing from `before` count as 0 there. A decrease anywhere, or different bounds, means the
 * server restarted: `reset` is true and the result is `after` (see {@link HistogramDelta}).
 *
 * @example
 * ```ts
 * import { histogramDelta } from "./histogram.ts";
 * const before = { buckets: [{ le: 1, count: 2 }, { le: Infinity, count: 3 }], sum: 4, count: 3 };
 * const after = { buckets: [{ le: 1, count: 5 }, { le: Infinity, count: 7 }], sum: 9, count: 7 };
 * histogramDelta(before, after); // {histogram: {buckets: [{le: 1, count: 3}, {le: Infinity, count: 4}], sum: 5, count: 4}, reset: false}
 * ```
 */
export function histogramDelta(before: BucketHistogram, after: BucketHistogram): HistogramDelta {
  const old = new Map(before.buckets.map((b) => [b.le, b.count]));
  const sameBounds = before.buckets.every((b) => after.buckets.some((a) => a.le === b.le));
  const buckets = after.buckets.map((b) => ({ le: b.le, count: b.count - (old.get(b.le) ?? 0) }));
  const count = after.count - before.count;
  const sum = after.sum === undefined || before.sum === undefined ? undefined : after.sum - before.sum;
  const reset = !sameBounds || count < 0 || buckets.some((b) => b.count < 0) ||
    (sum !== undefined && sum < 0);
  if (reset) return { histogram: after, reset: true };
  return { histogram: { buckets, sum, count }, reset: false };
}

/**
 * Estimates quantile `q` (0..1) from cumulative buckets, as Prometheus's `histogram_quantile` does:
 * find the bucket holding the rank `q x count` and interpolate linearly between its lower and upper bound
 * (observations are assumed spread evenly inside a bucket). The first bucket's lower bound is 0 (latencies
 * and token counts are never negative). A rank in the `+Inf` bucket returns the largest finite bound, which
 * is then only a lower bound of the true quantile. Undefined when the histogram holds no observations.
 *
 * @example
 * ```ts
 * import { histogramQuantile } from "./histogram.ts";
 * const h = { buckets: [{ le: 0.1, count: 4 }, { le: 0.5, count: 8 }, { le: Infinity, count: 8 }], count: 8 };
 * histogramQuantile(h, 0.75); // 0.1 + (0.5 - 0.1) x (6 - 4) / (8 - 4) = 0.3
 * ```
 */
export function histogramQuantile(h: BucketHistogram, q: number): number | undefined {
  if (!(q >= 0 && q <= 1)) {
    throw new RangeError(`Cannot estimate quantile ${q}: q must be between 0 and 1 (p99 is 0.99).`);
  }
  const buckets = h.buckets.at(-1)?.le === Infinity
    ? h.buckets
    : [...h.buckets, { le: Infinity, count: h.count }];
  const total = buckets.at(-1)!.count;
  if (!(total > 0)) return undefined;
  const rank = q * total;
  const i = buckets.findIndex((b) => b.count >= rank);
  if (i === buckets.length - 1) {
    return buckets.length >= 2 ? buckets[buckets.length - 2].le : undefined;
  }
  const upper = buckets[i].le;
  const lower = i === 0 ? 0 : buckets[i - 1].le;
  if (i === 0 && upper <= 0) return upper;
  const below = i === 0 ? 0 : buckets[i - 1].count;
  const inBucket = buckets[i].count - below;
  if (inBucket <= 0) return upper;
  return lower + (upper - lower) * ((rank - below) / inBucket);
}

/**
 * Mean observation: `sum / count`. Undefined when there are no observations or the server sent no `_sum`.
 *
 * @example
 * ```ts
 * import { histogramMean } from "./histogram.ts";
 * histogramMean({ buckets: [], sum: 1.5, count: 3 }); // 0.5
 * ```
 */
export function histogramMean(h: BucketHistogram): number | undefined {
  return h.count > 0 && h.sum !== undefined ? h.sum / h.count : undefined;
}
