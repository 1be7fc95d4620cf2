import assert from "node:assert/strict";
import { parseServeConfig, type ServeConfigInput } from "../engine/config.ts";
import { type SimRecord, simulate, syntheticRequests, type WorkloadRequest } from "./simulate.ts";
import { syntheticTokenIds } from "./tokenizer.ts";

/** The default profile: Qwen2.5-1.5B-Instruct on H100-80GB. */
const cfg = (over: Partial<ServeConfigInput> = {}) =>
  parseServeConfig({ model: "Qwen/Qwen2.5-1.5B-Instruct", max_model_len: 4096, ...over });

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const warmup = (): WorkloadRequest => ({ prompt_ids: syntheticTokenIds(32, 99_999), max_tokens: 2 });
/** Sends requests one at a time, each after the previous finished. */
const oneByOne = (requests: WorkloadRequest[], over: Partial<ServeConfigInput> = {}) =>
  simulate(cfg(over), { requests, load: { kind: "concurrency", n: 1 } }).records;

Deno.test("simulate is deterministic for a seed and the seed changes generation", () => {
  const requests = syntheticRequests({
    count: 60,
    prompt_tokens: 300,
    max_tokens: 400,
    ignore_eos: false,
    seed: 2,
  });
  const run = (seed: number) => simulate(cfg({ seed }), { requests, load: { kind: "rate", rps: 40 } });
  const a = run(0);
  assert.deepEqual(run(0), a);
  const lengths = (r: typeof a) => r.records.map((x) => x.completion_tokens);
  assert.notDeepEqual(lengths(run(1)), lengths(a));
  assert.ok(a.records.some((x) => x.finish_reason === "stop"), "EOS ends some requests");
});

Deno.test("scheduler counters agree with per-request usage", () => {
  const requests = syntheticRequests({
    count: 80,
    prompt_tokens: 700,
    shared_prefix_tokens: 500,
    max_tokens: 64,
    seed: 3,
  });
  const r = simulate(cfg(), { requests, load: { kind: "concurrency", n: 16 } });
  const sum = (f: (x: SimRecord) => number) => r.records.reduce((a, x) => a + f(x), 0);
  assert.equal(r.stats.requests_finished_total, 80);
  assert.equal(r.stats.prompt_tokens_total, sum((x) => x.prompt_tokens));
  assert.equal(r.stats.generation_tokens_total, sum((x) => x.completion_tokens));
  assert.equal(r.stats.prefix_queries_tokens, sum((x) => x.prompt_tokens));
  assert.equal(r.stats.prefix_hits_tokens, sum((x) => x.cached_tokens));
  assert.ok(r.stats.prefix_hits_tokens > 0);
  assert.ok(
    r.records.every((x) => x.token_ms.length === x.completion_tokens && x.token_ms[0] === x.first_token_ms),
  );
});

Deno.test("default profile: warm TTFT grows with prompt length and the first request is cold", () => {
  const lens = [16, 256, 1024, 2048, 3500];
  const recs = oneByOne([
    warmup(),
    ...lens.map((n, i) => ({ prompt_ids: syntheticTokenIds(n, i), max_tokens: 2 })),
  ]);
  const warm = recs.slice(1).map((x) => x.ttft_ms);
  for (let i = 1; i < warm.length; i++) assert.ok(warm[i] > warm[i - 1], `TTFT ${warm} not increasing`);
  assert.ok(recs[0].ttft_ms > 2 * warm[0], `cold ${recs[0].ttft_ms} vs warm ${warm[0]}`);
  const again = simulate(cfg(), { requests: [warmup()], load: { kind: "concurrency", n: 1 } }, {
    cold: false,
  });
  assert.ok(again.records[0].ttft_ms < recs[0].ttft_ms / 2, "cold: false skips the warm-up penalty");
});

Deno.test("default profile: a repeated 2,000-token prefix cuts TTFT by more than half only with caching on", () => {
  const prefix = syntheticTokenIds(2000, 5);
  const requests = [
    warmup(),
    ...[1, 2, 3].map((i) => ({ prompt_ids: prefix.concat(syntheticTokenIds(40, i)), max_tokens: 2 })),
  ];
  const on = oneByOne(requests, { enable_prefix_caching: true });
  const off = oneByOne(requests, { enable_prefix_caching: false });
  assert.deepEqual(on.map((x) => x.cached_tokens), [0, 0, 2000, 2000]);
  assert.ok(on[2].ttft_ms < on[1].ttft_ms / 2, `on: ${on[1].ttft_ms} -> ${on[2].ttft_ms}`);
  assert.ok(off[2].ttft_ms > off[1].ttft_ms * 0.9, `off: ${off[1].ttft_ms} -> ${off[2].ttft_ms}`);
  assert.ok(off.every((x) => x.cached_tokens === 0));
});

Deno.test("default profile: throughput rises with concurrency then flattens while TTFT and ITL grow", () => {
  const points = [1, 8, 64, 256].map((n) => {
    const requests = syntheticRequests({
      count: Math.max(4 * n, 32),
      prompt_tokens: 512,
      max_tokens: 128,
      seed: n,
    });
    const r = simulate(cfg(), { requests, load: { kind: "concurrency", n } }, { keep_token_times: false });
    const tokens = r.records.reduce((a, x) => a + x.completion_tokens, 0);
    const last = r.records.reduce((a, x) => Math.max(a, x.end_ms), 0);
    return {
      n,
      tok_s: tokens / (last / 1000),
      ttft_ms: median(r.records.slice(1).map((x) => x.ttft_ms)),
      tpot_ms: median(r.records.map((x) => x.tpot_ms!)),
    };
  });
  const [p1, p8, p64, p256] = points;
  const desc = JSON.stringify(points);
  assert.ok(p8.tok_s > 5 * p1.tok_s, `x8 concurrency: ${desc}`);
  assert.ok(p64.tok_s > p8.tok_s && p256.tok_s > p64.tok_s, `still rising: ${desc}`);
  assert.ok(p256.tok_s < 2 * p64.tok_s, `flattens (x4 concurrency, < x2 throughput): ${desc}`);
  assert.ok(p1.ttft_ms < p8.ttft_ms && p8.ttft_ms < p256.ttft_ms, `TTFT grows: ${desc}`);
  assert.ok(
    p1.tpot_ms < p8.tpot_ms && p8.tpot_ms < p64.tpot_ms && p64.tpot_ms < p256.tpot_ms,
    `ITL grows: ${desc}`,
  );
});

Deno.test("a small KV pool preempts under load and every request still completes", () => {
  // 28,672 bytes/token x 16 tokens/block x 100 blocks: 100 blocks of 16 tokens.
  const c = { kv_cache_memory_bytes: 28_672 * 16 * 100, max_model_len: 1024 };
  const requests = syntheticRequests({ count: 16, prompt_tokens: 100, max_tokens: 800, seed: 4 });
  const r = simulate(cfg(c), { requests, load: { kind: "concurrency", n: 16 } });
  assert.equal(r.plan.num_gpu_blocks, 100);
  assert.ok(r.stats.preemptions_total > 0);
  assert.equal(r.records.reduce((a, x) => a + x.preemptions, 0), r.stats.preemptions_total);
  assert.ok(r.records.every((x) => x.completion_tokens === 800));
  assert.ok(r.series.some((s) => s.waiting > 0) && r.series.every((s) => s.kv_usage >= 0 && s.kv_usage <= 1));
});

Deno.test("loads: closed loop waits think_ms after a finish, schedule uses send_ms, rate spaces arrivals", () => {
  const requests = syntheticRequests({ count: 6, prompt_tokens: 64, max_tokens: 8, seed: 6 });
  const closed = simulate(cfg(), { requests, load: { kind: "concurrency", n: 2, think_ms: 50 } }).records;
  for (let i = 2; i < 6; i++) {
    const freed = closed.slice(0, i).map((x) => x.end_ms).sort((a, b) => a - b)[i - 2];
    assert.equal(closed[i].intended_ms, freed);
    assert.equal(closed[i].arrival_ms, freed + 50);
  }
  const sched = requests.map((q, i) => ({ ...q, send_ms: 1000 * i }));
  const s = simulate(cfg(), { requests: sched, load: { kind: "schedule" } }).records;
  assert.deepEqual(s.map((x) => x.arrival_ms), [0, 1000, 2000, 3000, 4000, 5000]);
  const many = syntheticRequests({ count: 400, prompt_tokens: 16, max_tokens: 1, seed: 7 });
  const rate = simulate(cfg(), { requests: many, load: { kind: "rate", rps: 100 } }).records;
  const mean_gap = rate[399].arrival_ms / 400;
  assert.ok(mean_gap > 8.5 && mean_gap < 11.5, `mean gap ${mean_gap} ms at 100 rps`);
  assert.throws(() => simulate(cfg(), { requests, load: { kind: "schedule" } }), /send_ms/);
});

Deno.test("a config whose max_model_len does not fit is refused with vLLM's reason", () => {
  const c = cfg({ kv_cache_memory_bytes: 28_672 * 16 * 10, max_model_len: 1024 });
  assert.throws(
    () => simulate(c, { requests: [], load: { kind: "concurrency", n: 1 } }),
    /max seq len \(1024\)/,
  );
});

Deno.test("syntheticRequests share exactly the asked prefix", () => {
  const rs = syntheticRequests({
    count: 3,
    prompt_tokens: 100,
    shared_prefix_tokens: 64,
    max_tokens: 4,
    seed: 8,
  });
  assert.ok(rs.every((r) => r.prompt_ids.length === 100));
  assert.deepEqual(rs[1].prompt_ids.slice(0, 64), rs[0].prompt_ids.slice(0, 64));
  assert.notDeepEqual(rs[1].prompt_ids.slice(64), rs[0].prompt_ids.slice(64));
});

Deno.test("a concurrency load's prime requests run one at a time, and the closed loop starts when the last ends", () => {
  const shared = syntheticRequests({
    count: 6,
    prompt_tokens: 1_200,
    max_tokens: 8,
    shared_prefix_tokens: 1_024,
    seed: 4,
  });
  const run = (prime: number) =>
    simulate(cfg({ enable_prefix_caching: true }), {
      requests: shared,
      load: { kind: "concurrency", n: 4, prime },
    }, { cold: false }).records;
  const primed = run(2);
  // The two primes do not overlap, and no measured request is sent before the second prime ended.
  assert.ok(primed[1].arrival_ms >= primed[0].end_ms);
  for (const r of primed.slice(2)) {
    assert.ok(r.arrival_ms >= primed[1].end_ms, `request ${r.index} sent early`);
  }
  // The four measured requests then run together, each finding the prefix cached.
  assert.deepEqual(primed.slice(2).map((r) => r.arrival_ms), Array(4).fill(primed[1].end_ms));
  for (const r of primed.slice(2)) {
    assert.ok(r.cached_tokens >= 1_008, `request ${r.index}: ${r.cached_tokens}`);
  }
  // Without a prime phase, four start at once with nothing cached yet.
  const cold = run(0);
  assert.deepEqual(cold.slice(0, 4).map((r) => r.arrival_ms), [0, 0, 0, 0]);
  assert.equal(cold[0].cached_tokens, 0);
  assert.throws(
    () => simulate(cfg(), { requests: shared, load: { kind: "concurrency", n: 4, prime: -1 } as never }),
    /prime/,
  );
});

Deno.test("frontend_per_stream_ms: a request waits that long for each request already in flight when it arrives", async () => {
  const { loadGpu } = await import("./catalog.ts");
  const base = loadGpu("cpu-calibrated");
  const at = (per: number) => ({ ...base, timing: { ...base.timing, frontend_per_stream_ms: per } });
  const c = cfg(
    { model: "servelab/tiny-llama", max_model_len: 2048, sim: { gpu: "cpu-calibrated" } } as never,
  );
  const requests = syntheticRequests({ count: 24, prompt_tokens: 64, max_tokens: 32, seed: 3 });
  const run = (per: number, load: Parameters<typeof simulate>[1]["load"]) =>
    simulate(c, { requests, load, seed: 1 }, { cold: false, gpu: at(per) }).records;
  const meanQueue = (rs: SimRecord[]) => rs.reduce((s, r) => s + r.queue_ms, 0) / rs.length;
  // One at a time: nothing else in flight, so the term adds nothing.
  assert.deepEqual(run(5, { kind: "concurrency", n: 1 }), run(0, { kind: "concurrency", n: 1 }));
  // A closed loop of 4: the first request finds nothing in flight, later ones up to 3 (5-15 ms more before the
  // engine sees them).
  const loop = run(5, { kind: "concurrency", n: 4 });
  assert.equal(loop[0].queue_ms, run(0, { kind: "concurrency", n: 4 })[0].queue_ms);
  const more = meanQueue(loop) - meanQueue(run(0, { kind: "concurrency", n: 4 }));
  assert.ok(more > 5 && more < 30, `closed loop of 4: +${more.toFixed(1)} ms before the engine`);
  // An open loop counts what is in flight at each arrival, not the request's place in the schedule (a rate
  // load schedules every send at the start): at 2 req/s little is in flight and the wait stays small.
  const open = meanQueue(run(5, { kind: "rate", rps: 2 })) - meanQueue(run(0, { kind: "rate", rps: 2 }));
  assert.ok(open >= 0 && open < 5, `2 req/s: +${open.toFixed(1)} ms`);
});
