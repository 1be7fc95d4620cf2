import assert from "node:assert/strict";
import { counterDelta, metricsDelta } from "./delta.ts";
import { histogramQuantile } from "./histogram.ts";
import { parsePrometheusText } from "./prom_text.ts";
import { serverMetrics } from "./vllm_metrics.ts";

/** A vLLM-shaped exposition with one engine. */
function exposition(
  v: { hits: number; queries: number; gen: number; ttft: [number, number, number] },
): string {
  const l = 'engine="0",model_name="m"';
  const [fast, mid, slow] = v.ttft;
  return [
    "# TYPE vllm:prefix_cache_hits_total counter",
    `vllm:prefix_cache_hits_total{${l}} ${v.hits}`,
    "# TYPE vllm:prefix_cache_queries_total counter",
    `vllm:prefix_cache_queries_total{${l}} ${v.queries}`,
    "# TYPE vllm:generation_tokens_total counter",
    `vllm:generation_tokens_total{${l}} ${v.gen}`,
    "# TYPE vllm:time_to_first_token_seconds histogram",
    `vllm:time_to_first_token_seconds_bucket{engine="0",le="0.1",model_name="m"} ${fast}`,
    `vllm:time_to_first_token_seconds_bucket{engine="0",le="0.5",model_name="m"} ${fast + mid}`,
    `vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="m"} ${fast + mid + slow}`,
    `vllm:time_to_first_token_seconds_count{${l}} ${fast + mid + slow}`,
    `vllm:time_to_first_token_seconds_sum{${l}} ${0.05 * fast + 0.3 * mid + 1 * slow}`,
    "",
  ].join("\n");
}

const at = (t_ms: number, text: string) => ({ t_ms, metrics: serverMetrics(parsePrometheusText(text)) });

Deno.test("a counter's increase is after - before, and a reset is flagged instead of going negative", () => {
  assert.deepEqual(counterDelta(100, 160), { delta: 60, reset: false });
  assert.deepEqual(counterDelta(100, 100), { delta: 0, reset: false });
  assert.deepEqual(counterDelta(100, 7), { delta: 7, reset: true });
  assert.deepEqual(counterDelta(undefined, 7), { delta: undefined, reset: false });
});

Deno.test("the delta between two scrapes gives increases, rates, the hit rate and the interval's histogram", () => {
  const before = at(1000, exposition({ hits: 1000, queries: 4000, gen: 500, ttft: [2, 1, 0] }));
  const after = at(3000, exposition({ hits: 2600, queries: 6000, gen: 1500, ttft: [6, 5, 1] }));
  const d = metricsDelta(before, after);
  assert.equal(d.interval_ms, 2000);
  assert.deepEqual(d.counters, {
    prefix_cache_hits: 1600,
    prefix_cache_queries: 2000,
    generation_tokens: 1000,
  });
  assert.deepEqual(d.rates_per_s, {
    prefix_cache_hits: 800,
    prefix_cache_queries: 1000,
    generation_tokens: 500,
  });
  assert.equal(d.prefix_cache_hit_rate, 0.8);
  assert.deepEqual(d.resets, []);
  // Requests in the interval: 4 under 0.1 s, 4 in (0.1, 0.5], 1 above.
  const ttft = d.histograms.ttft_seconds!;
  assert.deepEqual(ttft.buckets.map((b) => b.count), [4, 8, 9]);
  assert.equal(ttft.count, 9);
  // p50: rank 4.5 in (0.1, 0.5] holding ranks 4..8 -> 0.1 + 0.4 x 0.5 / 4 = 0.15
  const p50 = histogramQuantile(ttft, 0.5)!;
  assert.ok(Math.abs(p50 - 0.15) < 1e-12, `p50 ${p50}`);
});

Deno.test("a server restart between scrapes is flagged, and no increase is negative", () => {
  const before = at(0, exposition({ hits: 5000, queries: 9000, gen: 8000, ttft: [10, 10, 10] }));
  const after = at(1000, exposition({ hits: 30, queries: 100, gen: 64, ttft: [1, 0, 0] }));
  const d = metricsDelta(before, after);
  assert.deepEqual(
    [...d.resets].sort(),
    ["generation_tokens", "prefix_cache_hits", "prefix_cache_queries", "ttft_seconds"],
  );
  assert.deepEqual(d.counters, { prefix_cache_hits: 30, prefix_cache_queries: 100, generation_tokens: 64 });
  assert.ok(Object.values(d.counters).every((v) => v >= 0));
  assert.equal(d.histograms.ttft_seconds?.count, 1);
});

Deno.test("no queries in the interval means no hit rate, and a zero interval gives no rates", () => {
  const same = exposition({ hits: 10, queries: 20, gen: 30, ttft: [1, 1, 1] });
  const d = metricsDelta(at(500, same), at(500, same));
  assert.equal(d.prefix_cache_hit_rate, undefined);
  assert.deepEqual(d.rates_per_s, {});
  assert.equal(d.counters.generation_tokens, 0);
});

Deno.test("a metric missing from either scrape is absent from the delta", () => {
  const before = at(0, "# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total 5\n");
  const after = at(1000, exposition({ hits: 1, queries: 2, gen: 9, ttft: [1, 0, 0] }));
  const d = metricsDelta(before, after);
  assert.deepEqual(d.counters, { generation_tokens: 4 });
  assert.equal(d.histograms.ttft_seconds, undefined);
  assert.equal(d.prefix_cache_hit_rate, undefined);
});
