import assert from "node:assert/strict";
import { parsePrometheusText } from "../scrape/prom_text.ts";
import {
  buckets125,
  createSimMetrics,
  ITL_BUCKETS_S,
  REQUEST_LATENCY_BUCKETS_S,
  TTFT_BUCKETS_S,
} from "./metrics.ts";
import type { SchedulerStats } from "./types.ts";
import { samples, value } from "./_prom_samples.ts";

const stats = (over: Partial<SchedulerStats> = {}): SchedulerStats => ({
  running: 0,
  waiting: 0,
  kv_usage: 0,
  num_gpu_blocks: 100,
  block_size: 16,
  prefix_queries_tokens: 0,
  prefix_hits_tokens: 0,
  preemptions_total: 0,
  prompt_tokens_total: 0,
  generation_tokens_total: 0,
  requests_finished_total: 0,
  ...over,
});

/** Family name -> TYPE, through the lab's scraper (the text must parse). */
function types(text: string): Map<string, string> {
  return new Map([...parsePrometheusText(text)].map(([name, f]) => [name, f.kind.toUpperCase()]));
}

const metrics = () =>
  createSimMetrics({
    model_name: "m",
    max_model_len: 1000,
    cache_info: { block_size: "16", num_gpu_blocks: "100" },
  });

Deno.test("1-2-5 buckets stop at the max, like vLLM's build_1_2_5_buckets", () => {
  assert.deepEqual(buckets125(100), [1, 2, 5, 10, 20, 50, 100]);
  assert.deepEqual(buckets125(4096), [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]);
});

Deno.test("the exposition parses and has vLLM V1's names, types and labels", async () => {
  const text = await metrics().render(stats({ running: 2, waiting: 1, kv_usage: 0.25 }));
  const t = types(text);
  const want: Record<string, string> = {
    "vllm:num_requests_running": "GAUGE",
    "vllm:num_requests_waiting": "GAUGE",
    "vllm:kv_cache_usage_perc": "GAUGE",
    "vllm:prefix_cache_queries_total": "COUNTER",
    "vllm:prefix_cache_hits_total": "COUNTER",
    "vllm:num_preemptions_total": "COUNTER",
    "vllm:prompt_tokens_total": "COUNTER",
    "vllm:generation_tokens_total": "COUNTER",
    "vllm:request_success_total": "COUNTER",
    "vllm:time_to_first_token_seconds": "HISTOGRAM",
    "vllm:inter_token_latency_seconds": "HISTOGRAM",
    "vllm:e2e_request_latency_seconds": "HISTOGRAM",
    "vllm:request_queue_time_seconds": "HISTOGRAM",
    "vllm:request_prefill_time_seconds": "HISTOGRAM",
    "vllm:request_decode_time_seconds": "HISTOGRAM",
    "vllm:cache_config_info": "GAUGE",
  };
  for (const [name, type] of Object.entries(want)) {
    assert.equal(t.get(name), type, `${name} should be a ${type}`);
  }
  for (const s of samples(text)) {
    if (s.name === "vllm:cache_config_info") continue;
    assert.equal(s.labels.model_name, "m", `${s.name} has model_name`);
    assert.equal(s.labels.engine, "0", `${s.name} has engine`);
  }
  assert.equal(value(text, "vllm:num_requests_running"), 2);
  assert.equal(value(text, "vllm:num_requests_waiting"), 1);
  assert.equal(value(text, "vllm:kv_cache_usage_perc"), 0.25);
  const info = samples(text).find((s) => s.name === "vllm:cache_config_info")!;
  assert.deepEqual(info.labels, { block_size: "16", num_gpu_blocks: "100", engine: "0" });
  assert.equal(info.value, 1);
  const reasons = samples(text).filter((s) => s.name === "vllm:request_success_total").map((s) =>
    s.labels.finished_reason
  );
  assert.deepEqual(reasons.sort(), ["abort", "length", "stop"]);
});

Deno.test("histograms use vLLM's bucket boundaries, le last, zero series before any request", async () => {
  const text = await metrics().render(stats());
  const les = (name: string) =>
    samples(text).filter((s) => s.name === `${name}_bucket` && s.labels.le !== "+Inf").map((s) =>
      Number(s.labels.le)
    );
  assert.deepEqual(les("vllm:time_to_first_token_seconds"), TTFT_BUCKETS_S);
  assert.deepEqual(les("vllm:inter_token_latency_seconds"), ITL_BUCKETS_S);
  assert.deepEqual(les("vllm:e2e_request_latency_seconds"), REQUEST_LATENCY_BUCKETS_S);
  assert.deepEqual(les("vllm:request_queue_time_seconds"), REQUEST_LATENCY_BUCKETS_S);
  assert.equal(value(text, "vllm:e2e_request_latency_seconds_count"), 0);
  assert.match(text, /vllm:time_to_first_token_seconds_bucket\{model_name="m",engine="0",le="0.001"\} 0/);
});

Deno.test("scheduler counters follow the stats by their increase; token hooks count tokens", async () => {
  const m = metrics();
  await m.render(stats({ prefix_queries_tokens: 100, prefix_hits_tokens: 32, preemptions_total: 1 }));
  m.firstToken(40, 0.02);
  m.token(0.004);
  m.token(0.004);
  m.finished({
    reason: "length",
    arrival_ms: 0,
    first_scheduled_ms: 5,
    first_token_ms: 20,
    end_ms: 28,
    prompt_tokens: 40,
    completion_tokens: 3,
    max_tokens: 3,
  });
  const text = await m.render(
    stats({ prefix_queries_tokens: 140, prefix_hits_tokens: 64, preemptions_total: 1 }),
  );
  assert.equal(value(text, "vllm:prefix_cache_queries_total"), 140);
  assert.equal(value(text, "vllm:prefix_cache_hits_total"), 64);
  assert.equal(value(text, "vllm:num_preemptions_total"), 1);
  assert.equal(value(text, "vllm:prompt_tokens_total"), 40);
  assert.equal(value(text, "vllm:generation_tokens_total"), 3);
  assert.equal(value(text, "vllm:time_to_first_token_seconds_count"), 1);
  assert.equal(value(text, "vllm:time_to_first_token_seconds_sum"), 0.02);
  assert.equal(value(text, "vllm:time_to_first_token_seconds_bucket", { le: "0.02" }), 1);
  assert.equal(value(text, "vllm:time_to_first_token_seconds_bucket", { le: "0.01" }), 0);
  assert.equal(value(text, "vllm:inter_token_latency_seconds_count"), 2);
  assert.equal(value(text, "vllm:request_queue_time_seconds_sum"), 0.005);
  assert.equal(value(text, "vllm:request_prefill_time_seconds_sum"), 0.015);
  assert.equal(value(text, "vllm:request_decode_time_seconds_sum"), 0.008);
  assert.equal(value(text, "vllm:e2e_request_latency_seconds_sum"), 0.028);
  assert.equal(value(text, "vllm:request_success_total", { finished_reason: "length" }), 1);
  assert.equal(value(text, "vllm:request_success_total", { finished_reason: "stop" }), 0);
});
