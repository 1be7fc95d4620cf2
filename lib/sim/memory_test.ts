import assert from "node:assert/strict";
import { parseServeConfig, type ServeConfigInput } from "../engine/config.ts";
import { loadGpu, loadModel } from "./catalog.ts";
import { kvBytesPerToken, planMemory, resolveEngineSettings } from "./memory.ts";

const GiB = 2 ** 30;
const QWEN = "Qwen/Qwen2.5-1.5B-Instruct";
const cfg = (c: Partial<ServeConfigInput> = {}) => parseServeConfig({ model: QWEN, ...c });
const plan = (c: Partial<ServeConfigInput> = {}, gpu = "H100-80GB") =>
  planMemory(loadModel(c.model ?? QWEN), loadGpu(gpu), cfg(c));

Deno.test("KV bytes per token match hand-computed values (2 x layers x kv_heads x head_dim x bytes)", () => {
  const cases: [string, number][] = [
    ["Qwen/Qwen2.5-1.5B-Instruct", 2 * 28 * 2 * 128 * 2], // 28,672
    ["Qwen/Qwen2.5-0.5B-Instruct", 2 * 24 * 2 * 64 * 2], // 12,288
    ["Qwen/Qwen2.5-3B-Instruct", 2 * 36 * 2 * 128 * 2], // 36,864
    ["microsoft/Phi-3-mini-4k-instruct", 2 * 32 * 32 * 96 * 2], // 393,216 (no GQA)
    ["meta-llama/Llama-3.2-1B-Instruct", 2 * 16 * 8 * 64 * 2], // 32,768
    ["meta-llama/Llama-3.1-8B-Instruct", 2 * 32 * 8 * 128 * 2], // 131,072
    ["servelab/tiny-llama", 2 * 2 * 2 * 64 * 2], // 1,024
  ];
  for (const [id, want] of cases) assert.equal(kvBytesPerToken(loadModel(id)), want, id);
  assert.equal(kvBytesPerToken(loadModel(QWEN)), 28_672);
});

Deno.test("fp8 KV halves the bytes per token; tensor parallel divides KV heads, never below one", () => {
  const llama = loadModel("llama-3.1-8b");
  assert.equal(kvBytesPerToken(llama, 1), 65_536);
  assert.equal(kvBytesPerToken(llama, 2, 2), 65_536);
  assert.equal(kvBytesPerToken(loadModel(QWEN), 2, 4), 2 * 28 * 1 * 128 * 2, "2 KV heads over 4 ranks -> 1");
  assert.equal(plan({ extra_args: ["--kv-cache-dtype", "fp8"] }).kv_bytes_per_token, 14_336);
});

Deno.test("engine settings default as vLLM's get_batch_defaults for the device", () => {
  const qwen = loadModel(QWEN);
  const s = (gpu: string, c: Partial<ServeConfigInput> = {}) =>
    resolveEngineSettings(qwen, loadGpu(gpu), cfg(c));
  const h100 = s("H100-80GB");
  assert.deepEqual(
    [h100.block_size, h100.max_num_seqs, h100.max_num_batched_tokens, h100.max_model_len],
    [16, 1024, 8192, 32768],
  );
  assert.equal(h100.gpu_memory_utilization, 0.9);
  const a100 = s("A100-80GB");
  assert.deepEqual([a100.max_num_seqs, a100.max_num_batched_tokens], [256, 2048], "A100 is excluded by name");
  const l4 = s("L4");
  assert.deepEqual([l4.max_num_seqs, l4.max_num_batched_tokens], [256, 2048]);
  const cpu = s("cpu");
  assert.deepEqual([cpu.block_size, cpu.max_num_seqs, cpu.max_num_batched_tokens], [128, 128, 2048]);
  assert.deepEqual(cpu.cudagraph_capture_sizes, []);
  const small = s("H100-80GB", { max_model_len: 4, max_num_seqs: 2 });
  assert.equal(small.max_num_batched_tokens, 8, "default budget capped at max_num_seqs x max_model_len");
  assert.deepEqual(s("H100-80GB", { enforce_eager: true }).cudagraph_capture_sizes, []);
  assert.equal(h100.cudagraph_capture_sizes.at(-1), 512);
});

Deno.test("max_model_len above max_position_embeddings is vLLM's derived max_model_len error", () => {
  assert.throws(
    () => plan({ max_model_len: 65536 }),
    /^Error: User-specified max_model_len \(65536\) is greater than the derived max_model_len \(max_position_embeddings=32768/,
  );
  assert.equal(
    plan({ max_model_len: 65536, env: { VLLM_ALLOW_LONG_MAX_MODEL_LEN: "1" } }).max_model_len,
    65536,
  );
  assert.equal(plan().max_model_len, 32768, "default is the model's max_position_embeddings");
});

Deno.test("the pool follows vLLM's arithmetic: requested = ceil(total x util) = non-KV + available", () => {
  const p = plan({ max_model_len: 4096 });
  assert.equal(p.requested_bytes, Math.ceil(p.total_bytes * 0.9));
  assert.equal(p.weights_bytes, 1_543_714_304 * 2);
  const non_kv = p.requested_bytes - p.available_kv_bytes;
  assert.ok(non_kv > p.weights_bytes + p.activation_bytes, "non-torch overhead is part of non-KV");
  assert.ok(non_kv < p.weights_bytes + p.activation_bytes + 1 * GiB);
  assert.equal(p.num_gpu_blocks, Math.floor(p.available_kv_bytes / (16 * 28_672)));
  assert.equal(p.kv_cache_tokens, p.num_gpu_blocks * 16);
  assert.equal(p.fit_error, undefined);
  // Realistic magnitude: Qwen2.5-1.5B on an H100 at 0.9 holds a couple of million KV tokens.
  assert.ok(p.kv_cache_tokens > 2e6 && p.kv_cache_tokens < 2.7e6, `${p.kv_cache_tokens}`);
});

Deno.test("max_model_len leaves KV tokens unchanged and sets max concurrency inversely", () => {
  const lens = [1024, 2048, 4096, 8192, 16384, 32768];
  const plans = lens.map((L) => plan({ max_model_len: L }));
  for (const p of plans) assert.equal(p.kv_cache_tokens, plans[0].kv_cache_tokens);
  for (const [i, p] of plans.entries()) {
    assert.equal(p.max_concurrency, p.num_gpu_blocks / (lens[i] / 16));
    if (i > 0) {
      assert.equal(plans[i - 1].max_concurrency / p.max_concurrency, 2, `halves from ${lens[i - 1]}`);
    }
  }
});

Deno.test("gpu_memory_utilization scales the pool by the utilization change times the device total", () => {
  const a = plan({ gpu_memory_utilization: 0.5 });
  const b = plan({ gpu_memory_utilization: 0.9 });
  assert.equal(b.available_kv_bytes - a.available_kv_bytes, b.requested_bytes - a.requested_bytes);
  assert.ok(Math.abs(b.requested_bytes - a.requested_bytes - 0.4 * a.total_bytes) <= 1);
  assert.ok(b.num_gpu_blocks > a.num_gpu_blocks);
});

Deno.test("kv_cache_memory_bytes overrides gpu_memory_utilization", () => {
  const a = plan({ kv_cache_memory_bytes: 4 * GiB, gpu_memory_utilization: 0.5 });
  const b = plan({ kv_cache_memory_bytes: 4 * GiB, gpu_memory_utilization: 0.9 });
  assert.equal(a.available_kv_bytes, 4 * GiB);
  assert.equal(a.num_gpu_blocks, b.num_gpu_blocks);
  assert.equal(a.num_gpu_blocks, Math.floor(4 * GiB / (16 * 28_672)));
});

Deno.test("a pool too small for one max_model_len request gives vLLM's fit error and estimate", () => {
  const p = plan({ kv_cache_memory_bytes: 0.5 * GiB, max_model_len: 32768 });
  const e = p.fit_error;
  assert.ok(e, "expected a fit error");
  assert.equal(e.needed_bytes, 2048 * 16 * 28_672); // 0.875 GiB
  assert.equal(e.available_bytes, 0.5 * GiB);
  const blocks = Math.floor(0.5 * GiB / (16 * 28_672)); // 1170
  assert.equal(e.estimated_max_model_len, blocks * 16); // 18,720
  const re =
    /To serve at least one request with the models?'s max seq len \((\d+)\), \(([\d.]+) GiB KV cache is needed, which is larger than the available KV cache memory \(([\d.]+) GiB\)\.(?: Based on the available memory, the estimated maximum model length is (\d+)\.)?/;
  const m = e.message?.match(re);
  assert.ok(m, e.message);
  assert.deepEqual([m[1], m[2], m[3], m[4]], ["32768", "0.88", "0.50", "18720"]);
  assert.equal(plan({ kv_cache_memory_bytes: 0.5 * GiB, max_model_len: 16384 }).fit_error, undefined);
});

Deno.test("no memory left after weights is vLLM's no-available-memory error", () => {
  const p = plan({ gpu_memory_utilization: 0.03, max_model_len: 1024 });
  assert.ok(p.available_kv_bytes <= 0);
  assert.equal(p.num_gpu_blocks, 0);
  assert.match(p.fit_error?.message ?? "", /^No available memory for the cache blocks/);
});

Deno.test("CUDA-graph memory is estimated but kept out of the KV budget (vLLM <= 0.20)", () => {
  const graphs = plan({ max_model_len: 4096 });
  const eager = plan({ max_model_len: 4096, enforce_eager: true });
  assert.ok(graphs.graph_bytes > 0);
  assert.equal(eager.graph_bytes, 0);
  assert.equal(graphs.num_gpu_blocks, eager.num_gpu_blocks);
});

Deno.test("num-gpu-blocks-override forces the block count", () => {
  const p = plan({ max_model_len: 1024, extra_args: ["--num-gpu-blocks-override", "100"] });
  assert.equal(p.num_gpu_blocks, 100);
  assert.equal(p.kv_cache_tokens, 1600);
  assert.equal(p.max_concurrency, 100 / 64);
});

Deno.test("tensor parallel divides weights and KV bytes per token on each GPU", () => {
  const one = plan({ model: "meta-llama/Llama-3.1-8B-Instruct", max_model_len: 8192 });
  const two = plan({
    model: "meta-llama/Llama-3.1-8B-Instruct",
    max_model_len: 8192,
    tensor_parallel_size: 2,
  });
  assert.equal(two.weights_bytes, one.weights_bytes / 2);
  assert.equal(two.kv_bytes_per_token, one.kv_bytes_per_token / 2);
  assert.ok(
    two.kv_cache_tokens > 2 * one.kv_cache_tokens * 0.9,
    "more room per GPU and half the bytes per token",
  );
});

Deno.test("the CPU profile sizes the pool from VLLM_CPU_KVCACHE_SPACE, else half the RAM", () => {
  const tiny = { model: "servelab/tiny-llama", max_model_len: 4096 };
  const four = plan({ ...tiny, env: { VLLM_CPU_KVCACHE_SPACE: "4" } }, "cpu");
  assert.equal(four.block_size, 128);
  assert.equal(four.available_kv_bytes, 4 * GiB);
  assert.equal(four.kv_cache_tokens, 4 * GiB / 1024);
  assert.equal(plan(tiny, "cpu").available_kv_bytes, 12 * GiB);
  assert.throws(
    () => plan({ ...tiny, env: { VLLM_CPU_KVCACHE_SPACE: "4.5" } }, "cpu"),
    /VLLM_CPU_KVCACHE_SPACE/,
  );
});

Deno.test("CPU profile: VLLM_CPU_KVCACHE_SPACE overrides --kv-cache-memory-bytes, as in vLLM 0.32; '' is unset", () => {
  const tiny = { model: "servelab/tiny-llama", max_model_len: 4096, kv_cache_memory_bytes: 14_942_208 };
  assert.equal(plan({ ...tiny, env: { VLLM_CPU_KVCACHE_SPACE: "1" } }, "cpu").available_kv_bytes, GiB);
  assert.equal(plan({ ...tiny, env: { VLLM_CPU_KVCACHE_SPACE: "" } }, "cpu").available_kv_bytes, 14_942_208);
  assert.equal(plan(tiny, "cpu").available_kv_bytes, 14_942_208);
});

Deno.test("a model larger than the device has no room for KV", () => {
  const p = plan({ model: "meta-llama/Llama-3.1-8B-Instruct", max_model_len: 4096 }, "T4");
  assert.ok(p.weights_bytes > p.requested_bytes);
  assert.match(p.fit_error?.message ?? "", /No available memory/);
});
