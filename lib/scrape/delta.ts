/**
 * What happened on the server between two scrapes: counter increases, per-second rates, histograms of the
 * observations made in between, and the prefix-cache hit rate over the interval.
 *
 * Counter resets (the server restarted between the scrapes) are never reported as negative increases: the
 * metric is listed in `resets` and its increase is the value after the reset (Prometheus's `increase()`
 * convention), which is a lower bound of what really happened.
 * @module
 */
import { type BucketHistogram, histogramDelta } from "./histogram.ts";
import {
  COUNTER_ALIASES,
  type CounterKey,
  HISTOGRAM_ALIASES,
  type HistogramKey,
  type ServerMetricKey,
  type ServerMetrics,
} from "./vllm_metrics.ts";

/** A scrape's view with the time it was taken (ms on the run's monotonic clock). */
export interface TimedServerMetrics {
  t_ms: number;
  metrics: ServerMetrics;
}

/** The server's activity between two scrapes. Metrics missing from either scrape are absent. */
export interface MetricsDelta {
  /** after.t_ms - before.t_ms. */
  interval_ms: number;
  /** Counter increases over the interval (tokens, requests, preemptions). */
  counters: Partial<Record<CounterKey, number>>;
  /** Counter increase / interval in seconds; absent when the interval is not positive. */
  rates_per_s: Partial<Record<CounterKey, number>>;
  /** Histograms of the observations made during the interval (e.g. the TTFT of requests that got a first token). */
  histograms: Partial<Record<HistogramKey, BucketHistogram>>;
  /** prefix_cache_hits / prefix_cache_queries over the interval; undefined when nothing was queried. */
  prefix_cache_hit_rate?: number;
  /** Metrics whose counts went down between the scrapes: their values here count only from the reset. */
  resets: ServerMetricKey[];
}

/** What {@link counterDelta} returns. */
export interface CounterDelta {
  /** The increase; undefined when either value is missing. */
  delta?: number;
  /** True when the counter went down (reset): `delta` is then the value after the reset. */
  reset: boolean;
}

/**
 * The increase of a counter between two readings, never negative.
 *
 * @example
 * ```ts
 * import { counterDelta } from "./delta.ts";
 * counterDelta(100, 160); // {delta: 60, reset: false}
 * counterDelta(100, 7); // {delta: 7, reset: true}: the server restarted and has counted 7 since
 * ```
 */
export function counterDelta(before: number | undefined, after: number | undefined): CounterDelta {
  if (before === undefined || after === undefined) return { delta: undefined, reset: false };
  return after < before ? { delta: after, reset: true } : { delta: after - before, reset: false };
}

/**
 * The server's activity between two scrapes of the same server.
 *
 * Formulas: counter increase = after - before (after alone on a reset); rate = increase / (interval_ms / 1000);
 * histogram = after - before bucket by bucket; hit rate = Δprefix_cache_hits / Δprefix_cache_queries.
 *
 * @example
 * ```ts
 * import { metricsDelta } from "./delta.ts";
 * const before = { t_ms: 0, metrics: { gauges: {}, counters: { generation_tokens: 1000 }, histograms: {}, sources: {} } };
 * const after = { t_ms: 2000, metrics: { gauges: {}, counters: { generation_tokens: 1500 }, histograms: {}, sources: {} } };
 * const d = metricsDelta(before, after);
 * d.counters.generation_tokens; // 500
 * d.rates_per_s.generation_tokens; // 250
 * ```
 */
export function metricsDelta(before: TimedServerMetrics, after: TimedServerMetrics): MetricsDelta {
  const interval_ms = after.t_ms - before.t_ms;
  const out: MetricsDelta = { interval_ms, counters: {}, rates_per_s: {}, histograms: {}, resets: [] };
  for (const key of Object.keys(COUNTER_ALIASES) as CounterKey[]) {
    const { delta, reset } = counterDelta(before.metrics.counters[key], after.metrics.counters[key]);
    if (delta === undefined) continue;
    out.counters[key] = delta;
    if (interval_ms > 0) out.rates_per_s[key] = delta / (interval_ms / 1000);
    if (reset) out.resets.push(key);
  }
  for (const key of Object.keys(HISTOGRAM_ALIASES) as HistogramKey[]) {
    const b = before.metrics.histograms[key];
    const a = after.metrics.histograms[key];
    if (!a || !b) continue;
    const { histogram, reset } = histogramDelta(b, a);
    out.histograms[key] = histogram;
    if (reset) out.resets.push(key);
  }
  const queries = out.counters.prefix_cache_queries;
  const hits = out.counters.prefix_cache_hits;
  if (queries !== undefined && hits !== undefined && queries > 0) out.prefix_cache_hit_rate = hits / queries;
  return out;
}
