/**
 * A version-tolerant view of an LLM server's /metrics: the few values the lab reads (queue, KV usage,
 * prefix cache, tokens, latency histograms, cache config), looked up under every name they have had.
 *
 * Names and renames are from shared/reference/vllm.md §3 (vLLM V1, v0.10 onwards): the first name of each
 * alias list is the current one and wins when a server emits both (v0.10 emits old and new names side by
 * side). llama.cpp's `llama-server --metrics` names are listed after vLLM's (from tools/server/server.cpp;
 * llama.cpp prints no labels and no histograms, and builds since late 2025 no longer export
 * `llamacpp:kv_cache_usage_ratio`). SGLang's (`sglang:`, docs "Production Metrics") and TGI's (`tgi_`) follow;
 * TGI exports no TTFT or ITL histogram the lab can read as such. `sources` records which name each value came from, so a report can say
 * "KV usage from vllm:gpu_cache_usage_perc".
 *
 * Values are combined over label sets (`model_name`, `engine`, `finished_reason`): counters, queue gauges
 * and histograms are summed, KV usage is averaged (each data-parallel engine has its own pool of equal size).
 * @module
 */
import { mean } from "../base/stats.ts";
import { type BucketHistogram, mergeHistograms } from "./histogram.ts";
import type { PromFamilies, PromFamily, PromLabels } from "./prom_text.ts";
import { familyOfNames, type MetricFamily } from "./families.ts";

/** Gauges: how to combine label sets, and the names to try in order. */
export const GAUGE_ALIASES = {
  /** Requests in the running batch. */
  running: {
    combine: "sum",
    names: [
      "vllm:num_requests_running",
      "llamacpp:requests_processing",
      "sglang:num_running_reqs",
      "tgi_batch_current_size",
    ],
  },
  /** Requests waiting to be scheduled. */
  waiting: {
    combine: "sum",
    names: [
      "vllm:num_requests_waiting",
      "llamacpp:requests_deferred",
      "sglang:num_queue_reqs",
      "tgi_queue_size",
    ],
  },
  /** Fraction 0..1 of KV blocks in use (vLLM's "perc" is a fraction); cached-but-free blocks count as free. */
  kv_usage: {
    combine: "mean",
    names: [
      "vllm:kv_cache_usage_perc",
      "vllm:gpu_cache_usage_perc",
      "llamacpp:kv_cache_usage_ratio",
      "sglang:token_usage",
    ],
  },
} as const satisfies Record<string, { combine: "sum" | "mean"; names: readonly string[] }>;

/** Counters (cumulative since the server started), summed over label sets. */
export const COUNTER_ALIASES = {
  /** Requests preempted (recomputed) because KV blocks ran out. */
  preemptions: ["vllm:num_preemptions_total"],
  /** Prompt tokens looked up in the prefix cache. */
  prefix_cache_queries: ["vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"],
  /** Of those, tokens found in the cache (llama.cpp: prompt tokens reused from a slot's cache). */
  prefix_cache_hits: [
    "vllm:prefix_cache_hits_total",
    "vllm:gpu_prefix_cache_hits_total",
    "llamacpp:prompt_tokens_cached_total",
    "sglang:cached_tokens_total",
  ],
  /** Prompt tokens processed (vLLM counts cached ones too; so does llama.cpp's sum, see below). */
  prompt_tokens: ["vllm:prompt_tokens_total", "llamacpp:prompt_tokens_total", "sglang:prompt_tokens_total"],
  /** Generated tokens. */
  generation_tokens: [
    "vllm:generation_tokens_total",
    "llamacpp:tokens_predicted_total",
    "sglang:generation_tokens_total",
  ],
  /** Finished requests, every `finished_reason` (stop, length, abort, error) summed. */
  request_success: ["vllm:request_success_total", "sglang:num_requests_total", "tgi_request_success"],
} as const satisfies Record<string, readonly string[]>;

/** Server-side latency histograms, in seconds, summed over label sets. */
export const HISTOGRAM_ALIASES = {
  /** Arrival to first token, per request. */
  ttft_seconds: ["vllm:time_to_first_token_seconds", "sglang:time_to_first_token_seconds"],
  /** Gaps between successive output tokens (v0.10 called it time_per_output_token_seconds). */
  itl_seconds: [
    "vllm:inter_token_latency_seconds",
    "vllm:time_per_output_token_seconds",
    "sglang:inter_token_latency_seconds",
    "sglang:time_per_output_token_seconds",
  ],
  /** Arrival to last token, per request. */
  e2e_seconds: [
    "vllm:e2e_request_latency_seconds",
    "sglang:e2e_request_latency_seconds",
    "tgi_request_duration",
  ],
  /** Time in the WAITING queue, per request. */
  queue_seconds: ["vllm:request_queue_time_seconds"],
  /** Time in the prefill phase, per request. */
  prefill_seconds: ["vllm:request_prefill_time_seconds"],
  /** Time in the decode phase, per request. */
  decode_seconds: ["vllm:request_decode_time_seconds"],
} as const satisfies Record<string, readonly string[]>;

/** The name of vLLM's info gauge whose labels carry the KV cache configuration. */
export const CACHE_CONFIG_INFO = "vllm:cache_config_info";

export type GaugeKey = keyof typeof GAUGE_ALIASES;
export type CounterKey = keyof typeof COUNTER_ALIASES;
export type HistogramKey = keyof typeof HISTOGRAM_ALIASES;
export type ServerMetricKey = GaugeKey | CounterKey | HistogramKey | "cache_config";

/** The KV cache configuration from `vllm:cache_config_info` labels (the first engine's). */
export interface CacheConfigInfo {
  num_gpu_blocks?: number;
  block_size?: number;
  /** Pool size in tokens, exported since ~v0.22; older servers: use num_gpu_blocks x block_size. */
  kv_cache_size_tokens?: number;
  /** kv_cache_size_tokens / max_model_len, exported since ~v0.22. */
  kv_cache_max_concurrency?: number;
  enable_prefix_caching?: boolean;
  gpu_memory_utilization?: number;
  /** Engines (label sets) that reported a cache config. */
  engines: number;
  /** Every label of the first engine as the server wrote it (version-dependent). */
  labels: PromLabels;
}

/** One scrape seen through the alias tables. Absent values were not exported by the server (undefined). */
export interface ServerMetrics {
  /** The metric family served, when any of that server's names was found (lib/scrape/families.ts). */
  server?: MetricFamily;
  gauges: Partial<Record<GaugeKey, number>>;
  /** Cumulative totals since the server started. */
  counters: Partial<Record<CounterKey, number>>;
  histograms: Partial<Record<HistogramKey, BucketHistogram>>;
  /** `vllm:request_success_total` split by `finished_reason`. */
  requests_by_reason?: Record<string, number>;
  cache_config?: CacheConfigInfo;
  /** The exposed metric name each value was read from. */
  sources: Partial<Record<ServerMetricKey, string>>;
}

/** Options of {@link serverMetrics}. */
export interface ServerMetricsOptions {
  /** Keep only label sets whose `model_name` is this (default: every model). */
  model_name?: string;
}

/**
 * Reads the lab's server metrics out of parsed families, trying each alias in order.
 *
 * @example
 * ```ts
 * import { parsePrometheusText } from "./prom_text.ts";
 * import { serverMetrics } from "./vllm_metrics.ts";
 * const m = serverMetrics(parsePrometheusText(
 *   '# TYPE vllm:gpu_cache_usage_perc gauge\nvllm:gpu_cache_usage_perc{engine="0",model_name="m"} 0.25\n',
 * ));
 * m.gauges.kv_usage; // 0.25
 * m.sources.kv_usage; // "vllm:gpu_cache_usage_perc"
 * ```
 */
export function serverMetrics(families: PromFamilies, opts: ServerMetricsOptions = {}): ServerMetrics {
  const keep = (labels: PromLabels) =>
    opts.model_name === undefined || labels.model_name === undefined || labels.model_name === opts.model_name;
  const out: ServerMetrics = { gauges: {}, counters: {}, histograms: {}, sources: {} };

  for (const key of Object.keys(GAUGE_ALIASES) as GaugeKey[]) {
    const { combine, names } = GAUGE_ALIASES[key];
    const found = firstScalar(families, names, keep);
    if (!found) continue;
    const values = found.values;
    out.gauges[key] = combine === "sum" ? values.reduce((a, b) => a + b, 0) : mean(values)!;
    out.sources[key] = found.name;
  }
  for (const key of Object.keys(COUNTER_ALIASES) as CounterKey[]) {
    const found = firstScalar(families, COUNTER_ALIASES[key], keep);
    if (!found) continue;
    out.counters[key] = found.values.reduce((a, b) => a + b, 0);
    out.sources[key] = found.name;
  }
  addLlamaCppCachedPrompt(out);
  for (const key of Object.keys(HISTOGRAM_ALIASES) as HistogramKey[]) {
    for (const name of HISTOGRAM_ALIASES[key]) {
      const fam = families.get(name);
      if (fam?.kind !== "histogram") continue;
      const merged = mergeHistograms(fam.series.filter((s) => keep(s.labels)));
      if (!merged) continue;
      out.histograms[key] = merged;
      out.sources[key] = name;
      break;
    }
  }
  const success = families.get("vllm:request_success_total");
  if (success && success.kind !== "histogram" && success.kind !== "summary") {
    const byReason: Record<string, number> = {};
    for (const s of success.samples) {
      if (!keep(s.labels)) continue;
      const reason = s.labels.finished_reason ?? "unknown";
      byReason[reason] = (byReason[reason] ?? 0) + s.value;
    }
    out.requests_by_reason = byReason;
  }
  const cacheConfig = readCacheConfig(families.get(CACHE_CONFIG_INFO), keep);
  if (cacheConfig) {
    out.cache_config = cacheConfig;
    out.sources.cache_config = CACHE_CONFIG_INFO;
  }
  out.server = familyOfNames(Object.values(out.sources));
  return out;
}

/**
 * llama.cpp builds that export `llamacpp:prompt_tokens_cached_total` count prompt tokens in two parts:
 * `prompt_tokens_total` excludes the cached ones. vLLM's prompt_tokens and prefix_cache_queries count every
 * prompt token, so for llama.cpp both become processed + cached (source names both).
 */
function addLlamaCppCachedPrompt(out: ServerMetrics): void {
  const PROCESSED = "llamacpp:prompt_tokens_total";
  const CACHED = "llamacpp:prompt_tokens_cached_total";
  if (out.sources.prompt_tokens !== PROCESSED || out.sources.prefix_cache_hits !== CACHED) return;
  const all = out.counters.prompt_tokens! + out.counters.prefix_cache_hits!;
  out.counters.prompt_tokens = all;
  out.sources.prompt_tokens = `${PROCESSED}+${CACHED}`;
  if (out.counters.prefix_cache_queries === undefined) {
    out.counters.prefix_cache_queries = all;
    out.sources.prefix_cache_queries = `${PROCESSED}+${CACHED}`;
  }
}

/** The first alias that has at least one (kept) sample, with its values. */
function firstScalar(
  families: PromFamilies,
  names: readonly string[],
  keep: (labels: PromLabels) => boolean,
): { name: string; values: number[] } | undefined {
  for (const name of names) {
    const fam: PromFamily | undefined = families.get(name);
    if (!fam || fam.kind === "histogram" || fam.kind === "summary") continue;
    const values = fam.samples.filter((s) => keep(s.labels)).map((s) => s.value);
    if (values.length > 0) return { name, values };
  }
  return undefined;
}

function readCacheConfig(
  fam: PromFamily | undefined,
  keep: (labels: PromLabels) => boolean,
): CacheConfigInfo | undefined {
  if (!fam || fam.kind === "histogram" || fam.kind === "summary") return undefined;
  const samples = fam.samples.filter((s) => keep(s.labels))
    .sort((a, b) => Number(a.labels.engine ?? 0) - Number(b.labels.engine ?? 0));
  if (samples.length === 0) return undefined;
  const labels = samples[0].labels;
  const num = (name: string) => {
    const v = labels[name];
    if (v === undefined || v === "" || v === "None") return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const flag = labels.enable_prefix_caching;
  return {
    num_gpu_blocks: num("num_gpu_blocks"),
    block_size: num("block_size"),
    kv_cache_size_tokens: num("kv_cache_size_tokens"),
    kv_cache_max_concurrency: num("kv_cache_max_concurrency"),
    enable_prefix_caching: flag === "True" || flag === "true"
      ? true
      : flag === "False" || flag === "false"
      ? false
      : undefined,
    gpu_memory_utilization: num("gpu_memory_utilization"),
    engines: samples.length,
    labels,
  };
}
