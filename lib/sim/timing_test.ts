import assert from "node:assert/strict";
import { parseServeConfig, type ServeConfigInput } from "../engine/config.ts";
import { loadGpu, loadModel } from "./catalog.ts";
import {
  frontendOverheadMs,
  idlePenaltyMs,
  makeStepCost,
  makeStepTime,
  startupPhases,
  warmupPenaltyMs,
} from "./timing.ts";
import type { StepShape } from "./types.ts";

const QWEN = "Qwen/Qwen2.5-1.5B-Instruct";
const cfg = (c: Partial<ServeConfigInput> = {}) =>
  parseServeConfig({ model: QWEN, max_model_len: 8192, ...c });
const qwen = loadModel(QWEN);
const h100 = loadGpu("H100-80GB");
const prefill = (n: number, cached = 0): StepShape => ({
  prefill_tokens: n,
  prefill_seqs: 1,
  decode_seqs: 0,
  context_tokens: cached + n,
});
const decode = (seqs: number, ctx_each: number): StepShape => ({
  prefill_tokens: 0,
  prefill_seqs: 0,
  decode_seqs: seqs,
  context_tokens: seqs * ctx_each,
});

Deno.test("step time grows with prefill tokens", () => {
  const step = makeStepTime(qwen, h100, cfg());
  const sizes = [1, 16, 128, 512, 1024, 2048, 4096, 8192];
  const t = sizes.map((n) => step(prefill(n)));
  for (let i = 1; i < t.length; i++) assert.ok(t[i] > t[i - 1], `${sizes[i]} tokens: ${t[i]} > ${t[i - 1]}`);
  assert.ok(t.at(-1)! > 5 * t[0], "a large prefill costs many times a one-token step");
});

Deno.test("step time grows with the context attention reads", () => {
  const step = makeStepTime(qwen, h100, cfg());
  const ctx = [128, 1024, 4096, 8192];
  const t = ctx.map((c) => step(decode(64, c)));
  for (let i = 1; i < t.length; i++) assert.ok(t[i] > t[i - 1], `context ${ctx[i]}`);
  assert.ok(step(prefill(512, 4096)) > step(prefill(512, 0)), "a chunk over a long prefix costs more");
});

Deno.test("a decode step is memory-bound on an H100 for small batches; a long prefill is compute-bound", () => {
  const cost = makeStepCost(qwen, h100, cfg());
  for (const seqs of [1, 2, 4, 8, 16, 32]) {
    assert.equal(cost(decode(seqs, 1000)).bound, "memory", `${seqs} seqs`);
  }
  assert.equal(cost(prefill(2000)).bound, "compute");
  const c = cost(decode(1, 1000));
  assert.ok(c.memory_ms > 10 * c.compute_ms, "one decoding sequence is far from the ridge point");
});

Deno.test("magnitudes on the default profile are vLLM's (decode a few ms, 2k prefill tens of ms)", () => {
  const step = makeStepTime(qwen, h100, cfg());
  const d = step(decode(1, 500));
  assert.ok(d > 2 && d < 6, `decode step ${d} ms`);
  const short_ttft = frontendOverheadMs(50) + step(prefill(50));
  assert.ok(short_ttft > 5 && short_ttft < 30, `short-prompt warm TTFT ${short_ttft} ms`);
  const p2k = step(prefill(2000));
  assert.ok(p2k > 10 && p2k < 60, `2,000-token prefill ${p2k} ms`);
});

Deno.test("a cached 2,000-token prefix cuts the modelled TTFT by more than half", () => {
  const step = makeStepTime(qwen, h100, cfg());
  const prompt = 2016;
  const cold = frontendOverheadMs(prompt) + step(prefill(prompt));
  // 2,000 tokens served from cache (125 full blocks), the last 16 recomputed.
  const hit = frontendOverheadMs(prompt) + step(prefill(16, 2000));
  assert.ok(hit < cold / 2, `cached ${hit} ms vs uncached ${cold} ms`);
});

Deno.test("enforce_eager makes every step cost more (no CUDA graphs, no compile)", () => {
  const graphs = makeStepTime(qwen, h100, cfg());
  const eager = makeStepTime(qwen, h100, cfg({ enforce_eager: true }));
  for (const s of [decode(1, 100), decode(64, 1000), prefill(2000)]) assert.ok(eager(s) > graphs(s));
  const cost = makeStepCost(qwen, h100, cfg());
  assert.equal(cost(decode(8, 100)).launch_ms, 0, "graph replay inside the capture sizes");
  assert.ok(cost(prefill(2000)).launch_ms > 0, "above the largest graph, kernels launch one by one");
});

Deno.test("batching amortizes the weights: per-token time falls as decode batches grow", () => {
  const step = makeStepTime(qwen, h100, cfg());
  const per_token = [1, 8, 64, 256].map((n) => step(decode(n, 1000)) / n);
  for (let i = 1; i < per_token.length; i++) assert.ok(per_token[i] < per_token[i - 1]);
});

Deno.test("an empty step costs nothing", () => {
  assert.equal(makeStepTime(qwen, h100, cfg())(decode(0, 0)), 0);
});

Deno.test("startup phases run in vLLM's order and skip compile and graph capture under enforce_eager", () => {
  const names = (c: Partial<ServeConfigInput>, gpu = h100) =>
    startupPhases(qwen, gpu, cfg(c)).map((p) => p.name);
  assert.deepEqual(names({}), [
    "process_start",
    "weights_load",
    "compile",
    "memory_profile",
    "kv_alloc",
    "graph_capture",
    "api_start",
  ]);
  assert.deepEqual(names({ enforce_eager: true }), [
    "process_start",
    "weights_load",
    "memory_profile",
    "kv_alloc",
    "api_start",
  ]);
  assert.ok(!names({}, loadGpu("cpu")).includes("graph_capture"), "no CUDA graphs on the CPU backend");
  for (const p of startupPhases(qwen, h100, cfg())) assert.ok(p.seconds > 0, p.name);
});

Deno.test("weights load time follows weight bytes over load bandwidth", () => {
  const load = (id: string) =>
    startupPhases(loadModel(id), h100, cfg({ model: id })).find((p) => p.name === "weights_load")!.seconds;
  const small = load(QWEN), big = load("meta-llama/Llama-3.1-8B-Instruct");
  assert.ok(big > small);
  const ratio = (8_030_261_248 - 1_543_714_304) * 2 / h100.load_bandwidth_bytes_s;
  assert.ok(Math.abs(big - small - ratio) < 1e-9);
});

Deno.test("startup stops after the memory profile when the KV cache does not fit", () => {
  const phases = startupPhases(qwen, h100, cfg({ kv_cache_memory_bytes: 2 ** 28, max_model_len: 32768 }));
  assert.equal(phases.at(-1)!.name, "memory_profile");
});

Deno.test("the first request after ready pays a warm-up penalty, larger under enforce_eager", () => {
  const step = makeStepTime(qwen, h100, cfg());
  const warm = step(prefill(100));
  const cold = warm + warmupPenaltyMs(qwen, h100, cfg());
  assert.ok(cold > 2 * warm, `cold ${cold} ms vs warm ${warm} ms`);
  assert.ok(warmupPenaltyMs(qwen, h100, cfg({ enforce_eager: true })) > warmupPenaltyMs(qwen, h100, cfg()));
  assert.equal(idlePenaltyMs(h100, 1), 0);
  assert.ok(idlePenaltyMs(h100, 120) > 0);
  assert.equal(idlePenaltyMs(loadGpu("cpu"), 120), 0);
});

Deno.test("the CPU profile is orders of magnitude slower than an H100", () => {
  const cpu = loadGpu("cpu");
  const c = cfg({ max_model_len: 4096 });
  const ratio = makeStepTime(qwen, cpu, c)(decode(1, 500)) / makeStepTime(qwen, h100, c)(decode(1, 500));
  assert.ok(ratio > 20, `cpu/h100 decode ratio ${ratio}`);
});
