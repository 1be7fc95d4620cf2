/**
 * The embedded engine's `/metrics`: Prometheus text with vLLM V1's names, types, labels and bucket
 * boundaries (vLLM 0.11.0, `vllm/v1/metrics/loggers.py`), built on prom-client.
 *
 * Counters carry `_total` in the exposition as Python's prometheus_client prints them; every series has
 * the labels `model_name` and `engine="0"`, except `vllm:cache_config_info` whose labels are the cache
 * config (as vLLM's). Gauges and the prefix-cache and preemption counters are read from the scheduler's
 * stats at scrape time; latency histograms are fed per request by the runtime, on the server clock.
 * @module
 */
import client from "prom-client";
import type { FinishReason, SchedulerStats } from "./types.ts";

/** vLLM's TTFT buckets (seconds). */
export const TTFT_BUCKETS_S = [
  0.001,
  0.005,
  0.01,
  0.02,
  0.04,
  0.06,
  0.08,
  0.1,
  0.25,
  0.5,
  0.75,
  1.0,
  2.5,
  5.0,
  7.5,
  10.0,
  20.0,
  40.0,
  80.0,
  160.0,
  640.0,
  2560.0,
];
/** vLLM's inter-token latency and per-request TPOT buckets (seconds). */
export const ITL_BUCKETS_S = [
  0.01,
  0.025,
  0.05,
  0.075,
  0.1,
  0.15,
  0.2,
  0.3,
  0.4,
  0.5,
  0.75,
  1.0,
  2.5,
  5.0,
  7.5,
  10.0,
  20.0,
  40.0,
  80.0,
];
/** vLLM's request latency buckets (seconds): e2e, queue, inference, prefill, decode. */
export const REQUEST_LATENCY_BUCKETS_S = [
  0.3,
  0.5,
  0.8,
  1.0,
  1.5,
  2.0,
  2.5,
  5.0,
  10.0,
  15.0,
  20.0,
  30.0,
  40.0,
  50.0,
  60.0,
  120.0,
  240.0,
  480.0,
  960.0,
  1920.0,
  7680.0,
];
/** vLLM's buckets for tokens per engine step. */
export const ITERATION_TOKENS_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

/**
 * 1, 2, 5, 10, 20, 50 ... up to max (vLLM's `build_1_2_5_buckets`).
 *
 * @example
 * ```ts
 * buckets125(100); // [1, 2, 5, 10, 20, 50, 100]
 * ```
 */
export function buckets125(max: number): number[] {
  const out: number[] = [];
  for (let e = 1;; e *= 10) {
    for (const m of [1, 2, 5]) {
      if (m * e > max) return out;
      out.push(m * e);
    }
  }
}

/**
 * Moves `le` to the end of each bucket's labels, where Python's prometheus_client (so vLLM) prints it;
 * prom-client prints it first. Scrapers should not care, but the sim's text then reads like vLLM's.
 */
export function leLast(text: string): string {
  return text.replace(/^(\S+_bucket)\{le="([^"]*)",([^\n]*)\} /gm, '$1{$3,le="$2"} ');
}

/** One finished request's timings (server clock, ms) and accounting, for the per-request histograms. */
export interface FinishedTiming {
  reason: FinishReason;
  arrival_ms: number;
  first_scheduled_ms: number;
  /** When the first token was written; undefined if none was. */
  first_token_ms?: number;
  end_ms: number;
  prompt_tokens: number;
  completion_tokens: number;
  max_tokens: number;
}

/** What the metrics need at construction. */
export interface SimMetricsInit {
  model_name: string;
  max_model_len: number;
  /** `vllm:cache_config_info` labels (vLLM prints CacheConfig fields as strings). */
  cache_info: Record<string, string>;
}

/** The engine's Prometheus registry and the hooks the runtime calls. */
export interface SimMetrics {
  /** A request's first token was written: vLLM counts its prompt tokens then. */
  firstToken(prompt_tokens: number, ttft_s: number): void;
  /** A later token was written `itl_s` after the previous one. */
  token(itl_s: number): void;
  /** One engine step computed this many tokens (prefill + decode). */
  iteration(tokens: number): void;
  finished(t: FinishedTiming): void;
  /** The exposition text, with gauges and scheduler counters read from `stats` now. */
  render(stats: SchedulerStats): Promise<string>;
  readonly contentType: string;
}

/**
 * Creates one engine's metrics in a registry of its own (several engines can live in one process).
 *
 * @example
 * ```ts
 * const m = createSimMetrics({ model_name: "m", max_model_len: 4096, cache_info: { block_size: "16" } });
 * m.firstToken(10, 0.02);
 * const text = await m.render(stats); // "...vllm:prompt_tokens_total{model_name=\"m\",engine=\"0\"} 10..."
 * ```
 */
export function createSimMetrics(init: SimMetricsInit): SimMetrics {
  const reg = new client.Registry();
  const labels = { model_name: init.model_name, engine: "0" };
  const labelNames = ["model_name", "engine"] as const;
  const gauge = (name: string, help: string) =>
    new client.Gauge({ name, help, labelNames, registers: [reg] }).labels(labels);
  const counter = (name: string, help: string) => {
    const c = new client.Counter({ name, help, labelNames, registers: [reg] }).labels(labels);
    c.inc(0); // present (at 0) from the start, as vLLM's per-engine children are
    return c;
  };
  const histogram = (name: string, help: string, buckets: number[]) => {
    const h = new client.Histogram({ name, help, labelNames, buckets, registers: [reg] });
    h.zero(labels); // vLLM creates its per-engine children up front: zero series appear before any request
    return h.labels(labels);
  };

  const running = gauge("vllm:num_requests_running", "Number of requests in model execution batches.");
  const waiting = gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.");
  const kvUsage = gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.");
  const pcQueries = counter(
    "vllm:prefix_cache_queries_total",
    "Prefix cache queries, in terms of number of queried tokens.",
  );
  const pcHits = counter(
    "vllm:prefix_cache_hits_total",
    "Prefix cache hits, in terms of number of cached tokens.",
  );
  const preemptions = counter(
    "vllm:num_preemptions_total",
    "Cumulative number of preemption from the engine.",
  );
  const promptTokens = counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.");
  const genTokens = counter("vllm:generation_tokens_total", "Number of generation tokens processed.");
  const success = new client.Counter({
    name: "vllm:request_success_total",
    help: "Count of successfully processed requests.",
    labelNames: [...labelNames, "finished_reason"],
    registers: [reg],
  });
  const reasons: FinishReason[] = ["stop", "length", "abort"];
  for (const r of reasons) success.labels({ ...labels, finished_reason: r }).inc(0);

  const lenBuckets = buckets125(init.max_model_len);
  const reqPrompt = histogram(
    "vllm:request_prompt_tokens",
    "Number of prefill tokens processed.",
    lenBuckets,
  );
  const reqGen = histogram(
    "vllm:request_generation_tokens",
    "Number of generation tokens processed.",
    lenBuckets,
  );
  const reqMaxTokens = histogram(
    "vllm:request_params_max_tokens",
    "Histogram of the max_tokens request parameter.",
    lenBuckets,
  );
  const iterTokens = histogram(
    "vllm:iteration_tokens_total",
    "Histogram of number of tokens per engine_step.",
    ITERATION_TOKENS_BUCKETS,
  );
  const ttft = histogram(
    "vllm:time_to_first_token_seconds",
    "Histogram of time to first token in seconds.",
    TTFT_BUCKETS_S,
  );
  const itl = histogram(
    "vllm:inter_token_latency_seconds",
    "Histogram of inter-token latency in seconds.",
    ITL_BUCKETS_S,
  );
  const tpot = histogram(
    "vllm:request_time_per_output_token_seconds",
    "Histogram of time_per_output_token_seconds per request.",
    ITL_BUCKETS_S,
  );
  const e2e = histogram(
    "vllm:e2e_request_latency_seconds",
    "Histogram of e2e request latency in seconds.",
    REQUEST_LATENCY_BUCKETS_S,
  );
  const queue = histogram(
    "vllm:request_queue_time_seconds",
    "Histogram of time spent in WAITING phase for request.",
    REQUEST_LATENCY_BUCKETS_S,
  );
  const inference = histogram(
    "vllm:request_inference_time_seconds",
    "Histogram of time spent in RUNNING phase for request.",
    REQUEST_LATENCY_BUCKETS_S,
  );
  const prefill = histogram(
    "vllm:request_prefill_time_seconds",
    "Histogram of time spent in PREFILL phase for request.",
    REQUEST_LATENCY_BUCKETS_S,
  );
  const decode = histogram(
    "vllm:request_decode_time_seconds",
    "Histogram of time spent in DECODE phase for request.",
    REQUEST_LATENCY_BUCKETS_S,
  );
  const info = new client.Gauge({
    name: "vllm:cache_config_info",
    help: "Information of the LLMEngine CacheConfig",
    labelNames: [...Object.keys(init.cache_info), "engine"],
    registers: [reg],
  });
  info.set({ ...init.cache_info, engine: "0" }, 1);

  // Scheduler counters are cumulative; the Prometheus counters follow them by their increase.
  let last = { queries: 0, hits: 0, preemptions: 0 };
  return {
    contentType: reg.contentType,
    firstToken(prompt_tokens, ttft_s) {
      promptTokens.inc(prompt_tokens);
      genTokens.inc(1);
      ttft.observe(ttft_s);
    },
    token(itl_s) {
      genTokens.inc(1);
      itl.observe(itl_s);
    },
    iteration(tokens) {
      if (tokens > 0) iterTokens.observe(tokens);
    },
    finished(t) {
      success.labels({ ...labels, finished_reason: t.reason }).inc();
      if (t.reason === "abort") return;
      const s = (ms: number) => Math.max(0, ms) / 1000;
      e2e.observe(s(t.end_ms - t.arrival_ms));
      queue.observe(s(t.first_scheduled_ms - t.arrival_ms));
      inference.observe(s(t.end_ms - t.first_scheduled_ms));
      if (t.first_token_ms !== undefined) {
        prefill.observe(s(t.first_token_ms - t.first_scheduled_ms));
        decode.observe(s(t.end_ms - t.first_token_ms));
        if (t.completion_tokens > 1) tpot.observe(s(t.end_ms - t.first_token_ms) / (t.completion_tokens - 1));
      }
      reqPrompt.observe(t.prompt_tokens);
      reqGen.observe(t.completion_tokens);
      reqMaxTokens.observe(t.max_tokens);
    },
    async render(stats) {
      running.set(stats.running);
      waiting.set(stats.waiting);
      kvUsage.set(stats.kv_usage);
      const now = {
        queries: stats.prefix_queries_tokens,
        hits: stats.prefix_hits_tokens,
        preemptions: stats.preemptions_total,
      };
      pcQueries.inc(Math.max(0, now.queries - last.queries));
      pcHits.inc(Math.max(0, now.hits - last.hits));
      preemptions.inc(Math.max(0, now.preemptions - last.preemptions));
      last = now;
      return leLast(await reg.metrics());
    },
  };
}
