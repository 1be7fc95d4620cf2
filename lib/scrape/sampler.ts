/**
 * Server metrics sampled during a run: the queue, KV usage, preemptions and prefix-cache counters every
 * `interval_ms`, as time-stamped rows ready for a CSV or a chart.
 * @module
 */
import { IntervalLoop } from "./_interval_sampler.ts";
import { PERFORMANCE_CLOCK, type ScrapeClock, scrapeMetrics } from "./scrape.ts";
import { COUNTER_ALIASES, GAUGE_ALIASES } from "./vllm_metrics.ts";

/** The families a sample reads: the gauges and counters of vllm_metrics.ts, never the histograms. */
export const SAMPLED_FAMILIES: ReadonlySet<string> = new Set([
  ...Object.values(GAUGE_ALIASES).flatMap((g) => g.names),
  ...Object.values(COUNTER_ALIASES).flat(),
]);

/** One sample of the server's state. A failed scrape is a row with `error` and no values. */
export interface MetricsSample {
  /** Clock time the scrape was sent. */
  t_ms: number;
  /** Requests in the running batch. */
  running?: number;
  /** Requests waiting to be scheduled. */
  waiting?: number;
  /** Fraction 0..1 of KV blocks in use. */
  kv_usage?: number;
  /** Cumulative preemptions since the server started. */
  preemptions_total?: number;
  /** Cumulative prompt tokens looked up in the prefix cache. */
  prefix_cache_queries_total?: number;
  /** Cumulative prompt tokens found in the prefix cache. */
  prefix_cache_hits_total?: number;
  /** Cumulative prompt tokens processed. */
  prompt_tokens_total?: number;
  /** Cumulative generated tokens. */
  generation_tokens_total?: number;
  /** Why this scrape failed (its message names the URL). */
  error?: string;
}

/** Options of {@link MetricsSampler.start}. */
export interface MetricsSamplerOptions {
  /** Time between samples (default 1000). */
  interval_ms?: number;
  /** Clock for `t_ms`: the run's clock, so samples line up with request records (default `performance.now()`). */
  clock?: ScrapeClock;
  /** Per-scrape timeout (default: interval_ms, at most 5000). */
  timeout_ms?: number;
  /** Extra request headers. */
  headers?: HeadersInit;
  /** Keep only this `model_name` label (default: every model). */
  model_name?: string;
}

/**
 * Samples a server's `/metrics` every `interval_ms` until stopped: one scrape at start, then one per interval,
 * never two at once. A failed scrape becomes a row with an `error`; the sampler never throws while running.
 *
 * @example
 * ```ts
 * import { MetricsSampler } from "./sampler.ts";
 * await using sampler = MetricsSampler.start("http://127.0.0.1:8000/metrics", { interval_ms: 500 });
 * // ... run the load ...
 * const rows = await sampler.stop(); // [{t_ms, running, waiting, kv_usage, ...}, ...]
 * ```
 */
export class MetricsSampler implements AsyncDisposable {
  readonly url: string;
  readonly #loop: IntervalLoop<MetricsSample>;

  private constructor(url: string, opts: MetricsSamplerOptions) {
    this.url = url;
    const interval_ms = opts.interval_ms ?? 1000;
    const timeout_ms = opts.timeout_ms ?? Math.min(interval_ms, 5000);
    const clock = opts.clock ?? PERFORMANCE_CLOCK;
    this.#loop = new IntervalLoop<MetricsSample>(
      interval_ms,
      clock,
      async (_t_ms, signal) => {
        const { t_ms, metrics: m } = await scrapeMetrics(url, {
          ...opts,
          clock,
          timeout_ms,
          signal,
          only: SAMPLED_FAMILIES,
        });
        return [{
          t_ms,
          running: m.gauges.running,
          waiting: m.gauges.waiting,
          kv_usage: m.gauges.kv_usage,
          preemptions_total: m.counters.preemptions,
          prefix_cache_queries_total: m.counters.prefix_cache_queries,
          prefix_cache_hits_total: m.counters.prefix_cache_hits,
          prompt_tokens_total: m.counters.prompt_tokens,
          generation_tokens_total: m.counters.generation_tokens,
        }];
      },
      (t_ms, error) => [{ t_ms, error: error instanceof Error ? error.message : String(error) }],
    );
  }

  /** Starts sampling `url` (a server base URL gets `/metrics` appended). */
  static start(url: string, opts: MetricsSamplerOptions = {}): MetricsSampler {
    return new MetricsSampler(url, opts);
  }

  /** The rows so far (a copy), for a live display. */
  get samples(): MetricsSample[] {
    return this.#loop.rows;
  }

  /** Stops sampling (an in-flight scrape is aborted and dropped) and returns every row. Idempotent. */
  stop(): Promise<MetricsSample[]> {
    return this.#loop.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
