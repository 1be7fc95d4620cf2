import assert from "node:assert/strict";
import type { RequestRecord } from "../probe/types.ts";
import type { ServerMetrics } from "../scrape/vllm_metrics.ts";
import { judge } from "./check.ts";
import { measureCanary } from "./measure.ts";
import { defaultThresholds } from "./thresholds.ts";

Deno.test("judge: <= and >= hold at the boundary, fail past it, n/a keeps its reason", () => {
  const t = defaultThresholds();
  const r = judge({
    values: { ttft_p95_ms: 2000, e2e_p95_ms: 10000.5, output_tok_s: 5, error_rate: 0, kv_usage_max: 0.2 },
    na: { gpu_memory_headroom_gib: "no GPU" },
    sources: { ttft_p95_ms: "client" },
  }, t);
  const by = Object.fromEntries(r.map((c) => [c.id, c]));
  assert.equal(by.ttft_p95_ms.status, "ok");
  assert.equal(by.ttft_p95_ms.source, "client");
  assert.equal(by.e2e_p95_ms.status, "breach");
  assert.equal(by.output_tok_s.status, "ok");
  assert.equal(by.gpu_memory_headroom_gib.status, "n/a");
  assert.equal(by.gpu_memory_headroom_gib.reason, "no GPU");
  assert.equal(by.gpu_memory_headroom_gib.measured, undefined);
  assert.equal(by.queue_depth_max.status, "n/a");
  assert.equal(r.length, t.checks.length);
  const low = judge({ values: { output_tok_s: 4.9 }, na: {}, sources: {} }, t);
  assert.equal(low.find((c) => c.id === "output_tok_s")!.status, "breach");
});

function rec(i: number, ok: boolean, send: number, first: number, end: number): RequestRecord {
  return {
    request_id: `r${i}`,
    endpoint: "completions",
    ok,
    t_intended_ms: send,
    t_send_ms: send,
    t_first_content_ms: ok ? first : undefined,
    t_end_ms: end,
    chunk_ms: ok ? [first, end] : [],
    completion_tokens: ok ? 10 : undefined,
    output_chars: 0,
  };
}

const server = (waiting: number, kv: number, preemptions: number): ServerMetrics => ({
  gauges: { waiting, kv_usage: kv },
  counters: { preemptions },
  histograms: {},
  sources: { waiting: "vllm:num_requests_waiting", kv_usage: "vllm:kv_cache_usage_perc" },
});

Deno.test("measureCanary: percentiles over successes, unsent requests fail, maxima over every scrape", () => {
  const records = [rec(0, true, 0, 100, 500), rec(1, true, 0, 200, 1000), rec(2, false, 10, 0, 20)];
  const m = measureCanary({
    records,
    requests: 4,
    wall_ms: 1000,
    metrics: {
      kind: "scraped",
      before: server(0, 0.1, 3),
      after: server(1, 0.2, 5),
      samples: [{ t_ms: 1, waiting: 7, kv_usage: 0.6, preemptions_total: 4 }, { t_ms: 2, error: "x" }],
    },
    gpu: {
      kind: "sampled",
      samples: [
        { t_ms: 0, index: 0, memory_total_mib: 8192, memory_used_mib: 6144 },
        { t_ms: 1, index: 1, memory_total_mib: 8192, memory_used_mib: 7680 },
      ],
    },
  });
  assert.equal(m.values.ttft_p95_ms, 100 + 0.95 * 100);
  assert.equal(m.values.e2e_p95_ms, 500 + 0.95 * 500);
  assert.equal(m.values.output_tok_s, 20);
  assert.equal(m.values.error_rate, 0.5);
  assert.equal(m.values.queue_depth_max, 7);
  assert.equal(m.values.kv_usage_max, 0.6);
  assert.equal(m.values.preemptions, 2);
  assert.equal(m.values.gpu_memory_headroom_gib, 0.5);
  assert.equal(m.sources.kv_usage_max, "vllm:kv_cache_usage_perc");
});

Deno.test("measureCanary: nothing succeeded -> latencies breach, 0 tokens/s; no metrics -> n/a, never 0", () => {
  const m = measureCanary({
    records: [rec(0, false, 0, 0, 5)],
    requests: 1,
    wall_ms: 5,
    metrics: { kind: "unavailable", reason: "no /metrics: HTTP 404" },
    gpu: { kind: "unavailable", reason: "no GPU visible" },
  });
  assert.equal(m.values.error_rate, 1);
  assert.equal(m.values.output_tok_s, 0);
  for (const id of ["ttft_p95_ms", "e2e_p95_ms"] as const) {
    assert.equal(m.values[id], undefined);
    assert.match(m.failed?.[id] ?? "", /no canary request succeeded/);
  }
  const judged = judge(m, defaultThresholds());
  assert.deepEqual(
    judged.filter((c) => c.status === "breach").map((c) => c.id),
    ["ttft_p95_ms", "e2e_p95_ms", "output_tok_s", "error_rate"],
  );
  assert.deepEqual(judged.filter((c) => c.status === "n/a").map((c) => c.id), [
    "gpu_util_max",
    "gpu_memory_headroom_gib",
    "queue_depth_max",
    "kv_usage_max",
    "preemptions",
  ]);
  assert.equal(m.na.preemptions, "no /metrics: HTTP 404");
  assert.equal(m.na.gpu_memory_headroom_gib, "no GPU visible");
});
