import assert from "node:assert/strict";
import { histogramMean } from "./histogram.ts";
import { parsePrometheusText, type PromFamilies } from "./prom_text.ts";
import { serverMetrics } from "./vllm_metrics.ts";

const fixture = (name: string) => Deno.readTextFileSync(new URL(`./testdata/${name}`, import.meta.url));
const V0_10 = fixture("vllm_v0_10_metrics.txt");
const V0_22 = fixture("vllm_v0_22_metrics.txt");

/** Sum of a scalar family's sample values, read straight from the parsed families. */
function rawSum(families: PromFamilies, name: string): number {
  const fam = families.get(name);
  assert.ok(fam && fam.kind !== "histogram" && fam.kind !== "summary", `${name} missing`);
  return fam.samples.reduce((a, s) => a + s.value, 0);
}

/** The text without the families whose names match `drop` (HELP, TYPE and sample lines). */
function without(text: string, drop: RegExp): string {
  return text.split("\n").filter((line) => {
    const name = line.startsWith("# ") ? line.split(" ")[2] : line.split(/[{ ]/)[0];
    return !drop.test(name ?? "");
  }).join("\n");
}

Deno.test("v0.10, which emits old and new names, is read through the new names", () => {
  const m = serverMetrics(parsePrometheusText(V0_10));
  assert.equal(m.server, "vllm");
  assert.equal(m.sources.kv_usage, "vllm:kv_cache_usage_perc");
  assert.equal(m.sources.prefix_cache_hits, "vllm:prefix_cache_hits_total");
  assert.equal(m.sources.prefix_cache_queries, "vllm:prefix_cache_queries_total");
  assert.equal(
    m.sources.itl_seconds,
    "vllm:time_per_output_token_seconds",
    "v0.10 has no inter_token_latency",
  );
  assert.equal(m.gauges.running, 3);
  assert.equal(m.gauges.waiting, 1);
  assert.equal(m.counters.prefix_cache_queries, 27443);
  assert.equal(m.counters.prefix_cache_hits, 6432);
  assert.equal(m.counters.request_success, 40);
  assert.deepEqual(m.requests_by_reason, { stop: 3, length: 37, abort: 0 });
});

Deno.test("a server with only the old gpu_ names (v0.9 and earlier) is read through the old names", () => {
  // v0.9.1 and earlier emitted only the gpu_* spellings: drop the new ones from the v0.10 fixture.
  const old = without(V0_10, /^vllm:(kv_cache_usage_perc|prefix_cache_(hits|queries)_(total|created))$/);
  assert.ok(!/^vllm:kv_cache_usage_perc/m.test(old) && /^vllm:gpu_cache_usage_perc/m.test(old));
  const m = serverMetrics(parsePrometheusText(old));
  assert.equal(m.sources.kv_usage, "vllm:gpu_cache_usage_perc");
  assert.equal(m.sources.prefix_cache_hits, "vllm:gpu_prefix_cache_hits_total");
  assert.equal(m.sources.prefix_cache_queries, "vllm:gpu_prefix_cache_queries_total");
  const current = serverMetrics(parsePrometheusText(V0_10));
  assert.equal(m.gauges.kv_usage, current.gauges.kv_usage);
  assert.equal(m.counters.prefix_cache_hits, current.counters.prefix_cache_hits);
});

Deno.test("a recent server is read through the new names, inter_token_latency included", () => {
  const families = parsePrometheusText(V0_22);
  const m = serverMetrics(families);
  assert.equal(m.sources.kv_usage, "vllm:kv_cache_usage_perc");
  assert.equal(m.sources.itl_seconds, "vllm:inter_token_latency_seconds");
  assert.equal(m.sources.prefix_cache_hits, "vllm:prefix_cache_hits_total");
  for (
    const key of [
      "ttft_seconds",
      "e2e_seconds",
      "queue_seconds",
      "prefill_seconds",
      "decode_seconds",
    ] as const
  ) {
    assert.ok(m.histograms[key], `${key} missing`);
  }
});

Deno.test("values are summed over the engines of a data-parallel server; KV usage is averaged", () => {
  const families = parsePrometheusText(V0_22);
  const m = serverMetrics(families);
  assert.equal(m.gauges.running, rawSum(families, "vllm:num_requests_running"));
  assert.equal(m.gauges.running, 9);
  assert.equal(m.counters.prefix_cache_hits, rawSum(families, "vllm:prefix_cache_hits_total"));
  assert.equal(m.counters.generation_tokens, rawSum(families, "vllm:generation_tokens_total"));
  assert.equal(m.counters.request_success, 60);
  assert.equal(m.counters.preemptions, 2);
  const kv = rawSum(families, "vllm:kv_cache_usage_perc") / 2;
  assert.equal(m.gauges.kv_usage, kv);
  assert.ok(m.gauges.kv_usage! > 0 && m.gauges.kv_usage! < 1);
  // TTFT: 32 requests on engine 0 and 28 on engine 1.
  assert.equal(m.histograms.ttft_seconds?.count, 60);
  assert.equal(m.histograms.ttft_seconds?.buckets.at(-1)?.count, 60);
  const mean = histogramMean(m.histograms.ttft_seconds!);
  assert.ok(mean !== undefined && mean > 0.001 && mean < 1, `mean TTFT ${mean}`);
});

Deno.test("a model_name filter keeps only that model's label sets (and those without a model label)", () => {
  const families = parsePrometheusText(V0_22);
  assert.equal(serverMetrics(families, { model_name: "Qwen/Qwen2.5-1.5B-Instruct" }).gauges.running, 9);
  const other = serverMetrics(families, { model_name: "some-other-model" });
  assert.equal(other.gauges.running, undefined);
  assert.equal(other.histograms.ttft_seconds, undefined);
  assert.equal(other.cache_config?.num_gpu_blocks, 61212, "cache_config_info has no model_name label");
});

Deno.test("cache_config_info gives blocks and block size, and the KV size in tokens when the server has it", () => {
  const old = serverMetrics(parsePrometheusText(V0_10)).cache_config;
  assert.equal(old?.num_gpu_blocks, 61212);
  assert.equal(old?.block_size, 16);
  assert.equal(old?.kv_cache_size_tokens, undefined, "v0.10 does not export kv_cache_size_tokens");
  assert.equal(old?.enable_prefix_caching, true);
  assert.equal(old?.gpu_memory_utilization, 0.9);
  assert.equal(old?.engines, 1);
  const recent = serverMetrics(parsePrometheusText(V0_22)).cache_config;
  assert.equal(recent?.kv_cache_size_tokens, 979392);
  assert.equal(recent?.kv_cache_size_tokens, recent!.num_gpu_blocks! * recent!.block_size!);
  assert.equal(recent?.kv_cache_max_concurrency, 119.55);
  assert.equal(recent?.engines, 2);
  assert.equal(recent?.labels.engine, "0");
});

Deno.test("llama.cpp's names fill the same view, with no histograms and no prefix-cache counters", () => {
  const m = serverMetrics(parsePrometheusText(fixture("llamacpp_metrics.txt")));
  assert.equal(m.server, "llamacpp");
  assert.equal(m.gauges.running, 2);
  assert.equal(m.sources.running, "llamacpp:requests_processing");
  assert.equal(m.gauges.waiting, 1);
  assert.equal(m.gauges.kv_usage, 0.184326);
  assert.equal(m.counters.prompt_tokens, 6886);
  assert.equal(m.counters.generation_tokens, 3469);
  assert.equal(m.sources.generation_tokens, "llamacpp:tokens_predicted_total");
  assert.equal(m.counters.prefix_cache_hits, undefined);
  assert.deepEqual(m.histograms, {});
});

Deno.test("metrics a server does not export are undefined, never 0", () => {
  const m = serverMetrics(parsePrometheusText("# TYPE process_open_fds gauge\nprocess_open_fds 71.0\n"));
  assert.equal(m.server, undefined);
  assert.deepEqual(m.gauges, {});
  assert.deepEqual(m.counters, {});
  assert.deepEqual(m.sources, {});
  assert.equal(m.requests_by_reason, undefined);
});

Deno.test("llama.cpp with a cached-prompt counter: hits are the cached tokens, prompt tokens and queries count both", () => {
  const text = fixture("llamacpp_b11549_metrics.txt");
  const fams = parsePrometheusText(text);
  const m = serverMetrics(fams);
  assert.equal(m.server, "llamacpp");
  const processed = rawSum(fams, "llamacpp:prompt_tokens_total");
  const cached = rawSum(fams, "llamacpp:prompt_tokens_cached_total");
  assert.ok(cached > 0);
  assert.equal(m.counters.prefix_cache_hits, cached);
  assert.equal(m.sources.prefix_cache_hits, "llamacpp:prompt_tokens_cached_total");
  assert.equal(m.counters.prompt_tokens, processed + cached);
  assert.equal(m.counters.prefix_cache_queries, processed + cached);
  assert.equal(
    m.sources.prefix_cache_queries,
    "llamacpp:prompt_tokens_total+llamacpp:prompt_tokens_cached_total",
  );
  assert.equal(m.counters.generation_tokens, rawSum(fams, "llamacpp:tokens_predicted_total"));
  assert.equal(m.gauges.running, rawSum(fams, "llamacpp:requests_processing"));
  assert.equal(m.gauges.waiting, rawSum(fams, "llamacpp:requests_deferred"));
  assert.equal(m.gauges.kv_usage, undefined); // this build exports no KV gauge: not measured, not 0
  // Without the cached counter (older builds), prompt tokens stay the processed count and queries are absent.
  const old = serverMetrics(parsePrometheusText(without(text, /^llamacpp:prompt_tokens_cached_total$/)));
  assert.equal(old.counters.prompt_tokens, processed);
  assert.equal(old.counters.prefix_cache_queries, undefined);
});
