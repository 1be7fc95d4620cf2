import assert from "node:assert/strict";
import { familyOfNames, metricFamily } from "./families.ts";
import { parsePrometheusText } from "./prom_text.ts";
import { serverMetrics } from "./vllm_metrics.ts";

Deno.test("SGLang's names are read as the lab's: running, waiting, KV usage, tokens, TTFT histogram", () => {
  const f = parsePrometheusText([
    'sglang:num_running_reqs{model_name="m"} 3',
    'sglang:num_queue_reqs{model_name="m"} 2',
    'sglang:token_usage{model_name="m"} 0.28',
    "# TYPE sglang:prompt_tokens_total counter",
    'sglang:prompt_tokens_total{model_name="m"} 100',
    "# TYPE sglang:time_to_first_token_seconds histogram",
    'sglang:time_to_first_token_seconds_bucket{le="0.1",model_name="m"} 1',
    'sglang:time_to_first_token_seconds_bucket{le="+Inf",model_name="m"} 2',
    'sglang:time_to_first_token_seconds_sum{model_name="m"} 0.3',
    'sglang:time_to_first_token_seconds_count{model_name="m"} 2',
    "",
  ].join("\n"));
  assert.equal(metricFamily(f), "sglang");
  const m = serverMetrics(f);
  assert.equal(m.server, "sglang");
  assert.equal(m.gauges.running, 3);
  assert.equal(m.gauges.waiting, 2);
  assert.equal(m.gauges.kv_usage, 0.28);
  assert.equal(m.counters.prompt_tokens, 100);
  assert.ok(m.histograms.ttft_seconds);
  assert.equal(m.sources.kv_usage, "sglang:token_usage");
});

Deno.test("TGI's queue and batch gauges are the lab's waiting and running; no TTFT histogram is invented", () => {
  const m = serverMetrics(parsePrometheusText("tgi_queue_size 4\ntgi_batch_current_size 8\n"));
  assert.equal(m.server, "tgi");
  assert.equal(m.gauges.waiting, 4);
  assert.equal(m.gauges.running, 8);
  assert.equal(m.histograms.ttft_seconds, undefined);
});

Deno.test("the family is the one most names belong to; none for unknown names", () => {
  assert.equal(familyOfNames(["llamacpp:requests_processing", "vllm:x", "llamacpp:y"]), "llamacpp");
  assert.equal(familyOfNames(["process_cpu_seconds_total"]), undefined);
});
