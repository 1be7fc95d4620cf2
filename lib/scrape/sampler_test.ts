import assert from "node:assert/strict";
import { type MetricsSample, MetricsSampler } from "./sampler.ts";

/** The n-th answer of a vLLM-like server whose load grows with every scrape. */
function metricsAt(n: number): string {
  const l = 'engine="0",model_name="m"';
  return [
    "# TYPE vllm:num_requests_running gauge",
    `vllm:num_requests_running{${l}} ${n % 5}.0`,
    "# TYPE vllm:num_requests_waiting gauge",
    `vllm:num_requests_waiting{${l}} ${n % 3}.0`,
    "# TYPE vllm:kv_cache_usage_perc gauge",
    `vllm:kv_cache_usage_perc{${l}} ${n / 100}`,
    "# TYPE vllm:num_preemptions_total counter",
    `vllm:num_preemptions_total{${l}} ${Math.floor(n / 4)}.0`,
    "# TYPE vllm:prefix_cache_queries_total counter",
    `vllm:prefix_cache_queries_total{${l}} ${n * 512}.0`,
    "# TYPE vllm:prefix_cache_hits_total counter",
    `vllm:prefix_cache_hits_total{${l}} ${n * 256}.0`,
    "",
  ].join("\n");
}

/** Waits until `ok()` or fails after `limit_ms` (a guard against hanging, not a timing claim). */
async function until(ok: () => boolean, limit_ms = 5000): Promise<void> {
  const end = performance.now() + limit_ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`Condition not met within ${limit_ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("the sampler records the server's changing state as time-stamped rows, and a failed scrape as an error row", async () => {
  let served = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    served++;
    if (served === 3) return new Response("engine is restarting", { status: 500 });
    return new Response(metricsAt(served), { headers: { "content-type": "text/plain; version=0.0.4" } });
  });
  const url = `http://127.0.0.1:${server.addr.port}/metrics`;
  let tick = 0;
  const clock = { now: () => ++tick * 10 }; // the run's clock, not performance.now()
  let rows: MetricsSample[] = [];
  try {
    // A generous per-scrape timeout: this test is about rows, and a loaded machine can take over 15 ms to answer.
    const sampler = MetricsSampler.start(url, { interval_ms: 15, timeout_ms: 2000, clock });
    await until(() => sampler.samples.length >= 6);
    rows = await sampler.stop();
    const servedAtStop = served;
    assert.deepEqual(await sampler.stop(), rows, "stop is idempotent");
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(served, servedAtStop, "no scrape after stop");
  } finally {
    await server.shutdown();
  }

  assert.ok(rows.length >= 6);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i].t_ms > rows[i - 1].t_ms, "t_ms increases");
  assert.ok(rows.every((r) => r.t_ms % 10 === 0), "t_ms comes from the clock passed in");

  const failed = rows[2];
  assert.match(failed.error ?? "", /HTTP 500/);
  assert.ok(failed.error?.includes(url));
  assert.equal(failed.running, undefined);
  assert.equal(failed.kv_usage, undefined);

  const ok = rows.filter((r) => r.error === undefined);
  assert.equal(ok.length, rows.length - 1);
  ok.forEach((r, i) => {
    const n = i < 2 ? i + 1 : i + 2; // the server's answer number (answer 3 was the 500)
    assert.equal(r.running, n % 5);
    assert.equal(r.waiting, n % 3);
    assert.equal(r.kv_usage, n / 100);
    assert.equal(r.preemptions_total, Math.floor(n / 4));
    assert.equal(r.prefix_cache_queries_total, n * 512);
    assert.equal(r.prefix_cache_hits_total, n * 256);
  });
});

Deno.test("an unreachable server gives error rows, never a throw, and await using stops the sampler", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  let seen: MetricsSample[] = [];
  {
    await using sampler = MetricsSampler.start(`http://127.0.0.1:${port}`, { interval_ms: 10 });
    await until(() => sampler.samples.length >= 2);
    seen = sampler.samples;
  }
  assert.ok(seen.length >= 2);
  assert.ok(seen.every((r) => r.error?.includes(`127.0.0.1:${port}/metrics`)), JSON.stringify(seen[0]));
});

Deno.test("a non-positive interval is refused with a message naming it", () => {
  assert.throws(() => MetricsSampler.start("http://127.0.0.1:1", { interval_ms: 0 }), /every 0 ms/);
});

Deno.test("the sampler parses only the gauges and counters it reads, and reads the same values as a full parse", async () => {
  const { parsePrometheusText } = await import("./prom_text.ts");
  const { serverMetrics } = await import("./vllm_metrics.ts");
  const { keepFamilies } = await import("./scrape.ts");
  const { SAMPLED_FAMILIES } = await import("./sampler.ts");
  for (
    const file of [
      "vllm_v0_32_cpu_metrics.txt",
      "vllm_v0_10_metrics.txt",
      "llamacpp_metrics.txt",
      "llamacpp_b11549_metrics.txt",
    ]
  ) {
    const text = Deno.readTextFileSync(new URL(`./testdata/${file}`, import.meta.url));
    const full = serverMetrics(parsePrometheusText(text));
    const kept = keepFamilies(text, SAMPLED_FAMILIES);
    const part = serverMetrics(parsePrometheusText(kept));
    assert.deepEqual(part.gauges, full.gauges, file);
    assert.deepEqual(part.counters, full.counters, file);
    assert.ok(Object.keys(full.gauges).length + Object.keys(full.counters).length >= 3, file);
    // vLLM's histograms are most of its text; none of them is parsed.
    assert.deepEqual(part.histograms, {}, file);
    if (file.startsWith("vllm")) {
      assert.ok(kept.length < text.length / 4, `${file}: kept ${kept.length} of ${text.length}`);
    }
  }
  // A recorded vLLM 0.32 (CPU) scrape: the running gauge and the token counters are found.
  const real = serverMetrics(parsePrometheusText(keepFamilies(
    Deno.readTextFileSync(new URL("./testdata/vllm_v0_32_cpu_metrics.txt", import.meta.url)),
    SAMPLED_FAMILIES,
  )));
  assert.equal(real.gauges.running, 14);
  assert.ok(real.counters.generation_tokens! > 0 && real.gauges.kv_usage! >= 0);
  assert.equal(
    keepFamilies("# HELP a x\n# TYPE a counter\na_total 1\na_created 2\nb 3\n# a comment\n", new Set(["a"])),
    "# HELP a x\n# TYPE a counter\na_total 1\na_created 2",
  );
});
