import assert from "node:assert/strict";
import { fitsConcurrent, planCapacity } from "./plan.ts";

const GiB = 2 ** 30;
// Qwen2.5-1.5B with an explicit 1 GiB pool: one block is 16 x 28,672 = 458,752 B, so the pool holds
// floor(2^30 / 458,752) = 2,340 blocks, 2,339 usable (block 0 is vLLM's null block) = 37,424 tokens.
const ONE_GIB = { model: "qwen2.5-1.5b", gpu: "H100-80GB", kv_cache_memory_bytes: GiB, max_model_len: 8192 };

Deno.test("planCapacity reports the hand-computed pool of an explicit 1 GiB KV cache", () => {
  const p = planCapacity(ONE_GIB);
  assert.equal(p.source, "model");
  assert.equal(p.model, "Qwen/Qwen2.5-1.5B-Instruct");
  assert.equal(p.kv_bytes_per_token, 28_672);
  assert.equal(p.num_gpu_blocks, 2340);
  assert.equal(p.kv_cache_tokens, 37_440);
  assert.equal(p.max_concurrency, 2340 / 512);
  assert.equal(p.largest_max_model_len, 32_768, "capped by max_position_embeddings");
  assert.equal(p.weights_gib, 1_543_714_304 * 2 / GiB);
});

Deno.test("8 concurrent 4,096-token chats fit a 2,340-block pool with 4,656 tokens to spare", () => {
  const a = fitsConcurrent({ ...ONE_GIB, concurrent: 8, tokens_per_request: 4096 });
  assert.equal(a.fits, true);
  assert.deepEqual(a.reasons, []);
  assert.equal(a.blocks_per_request, 256);
  assert.equal(a.kv_tokens_needed, 32_768);
  assert.equal(a.kv_tokens_usable, 37_424);
  assert.equal(a.headroom_tokens, 4_656);
  assert.equal(a.headroom_fraction, 4_656 / 37_424);
  assert.equal(a.max_concurrent_at_length, 9);
  assert.equal(a.largest_safe_max_model_len, Math.floor(2339 / 8) * 16); // 4,672
  assert.equal(a.gpu_memory_utilization_needed, undefined, "an explicit pool does not follow utilization");
});

Deno.test("10 concurrent 4,096-token chats do not fit the same pool, and the answer says why", () => {
  const a = fitsConcurrent({ ...ONE_GIB, concurrent: 10, tokens_per_request: 4096 });
  assert.equal(a.fits, false);
  assert.equal(a.kv_tokens_needed, 40_960);
  assert.equal(a.headroom_tokens, 37_424 - 40_960);
  assert.match(a.reasons.join("\n"), /40960 KV tokens needed, 37424 usable/);
});

Deno.test("requests are counted in whole blocks", () => {
  const a = fitsConcurrent({ ...ONE_GIB, concurrent: 8, tokens_per_request: 4000 });
  assert.equal(a.blocks_per_request, 250);
  assert.equal(a.kv_tokens_needed, 8 * 250 * 16);
});

Deno.test("a request longer than max_model_len or more requests than max_num_seqs do not fit", () => {
  const long = fitsConcurrent({ ...ONE_GIB, concurrent: 1, tokens_per_request: 10_000 });
  assert.equal(long.fits, false);
  assert.match(long.reasons.join("\n"), /exceeds max_model_len 8192/);
  const many = fitsConcurrent({ ...ONE_GIB, max_num_seqs: 4, concurrent: 5, tokens_per_request: 100 });
  assert.equal(many.fits, false);
  assert.match(many.reasons.join("\n"), /exceed max_num_seqs 4/);
});

Deno.test("the utilization needed is the smallest one whose pool holds the requests", () => {
  const q = {
    model: "qwen2.5-1.5b",
    gpu: "L4",
    max_model_len: 32768,
    concurrent: 16,
    tokens_per_request: 32768,
  };
  const a = fitsConcurrent(q);
  const u = a.gpu_memory_utilization_needed;
  assert.ok(u !== undefined && u < 1, `needed ${u}`);
  assert.equal(fitsConcurrent({ ...q, gpu_memory_utilization: u }).fits, true);
  assert.equal(
    fitsConcurrent({ ...q, gpu_memory_utilization: Math.round((u - 0.01) * 100) / 100 }).fits,
    false,
  );
  const impossible = fitsConcurrent({ ...q, gpu: "T4", concurrent: 64 });
  assert.equal(impossible.fits, false);
  assert.equal(impossible.gpu_memory_utilization_needed, undefined, "no utilization <= 1 is enough");
});

Deno.test("a configuration the engine would refuse to start never fits", () => {
  const a = fitsConcurrent({
    ...ONE_GIB,
    kv_cache_memory_bytes: GiB / 2,
    max_model_len: 32768,
    concurrent: 1,
    tokens_per_request: 16,
  });
  assert.equal(a.fits, false);
  assert.match(a.reasons[0], /the engine would not start: To serve at least one request/);
  assert.ok(a.plan.fit_error);
});

Deno.test("bad options name the field and unknown ids list the known ones", () => {
  assert.throws(
    () => planCapacity({ model: "qwen2.5-1.5b", gpu_memory_utilization: 1.5 }),
    /gpu_memory_utilization/,
  );
  assert.throws(
    () => fitsConcurrent({ model: "qwen2.5-1.5b", concurrent: 0, tokens_per_request: 1 }),
    /concurrent/,
  );
  assert.throws(
    () => planCapacity({ model: "qwen2.5-1.5b", gpu: "B300" }),
    /Unknown GPU profile 'B300'.*H100-80GB/,
  );
});
