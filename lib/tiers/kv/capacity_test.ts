import assert from "node:assert/strict";
import { fitsConcurrent, planCapacity } from "../../sim/plan.ts";
import { kvCapacityAnswers, kvCapacityQuestion, type KvPool, kvPoolFromRows } from "./capacity.ts";
import type { KvRow } from "./rows.ts";

const MODEL = "Qwen/Qwen2.5-1.5B-Instruct";
const GiB = 2 ** 30;

/** The pool the planner predicts on an H100 at 0.9, written as the measurement would state it. */
function plannedPool(): KvPool {
  const p = planCapacity({ model: MODEL, gpu: "H100-80GB", max_model_len: 4096 });
  return {
    source: "planner",
    num_gpu_blocks: p.num_gpu_blocks,
    block_size: p.block_size,
    kv_bytes_per_token: p.kv_bytes_per_token,
    non_kv_gib: (p.memory.requested_bytes - p.memory.available_kv_bytes) / GiB,
    device_total_gib: p.memory.total_bytes / GiB,
    gpu_memory_utilization: 0.9,
  };
}

Deno.test("on the planner's own pool the measured answer is the planner's: fits, largest safe length, utilization", () => {
  const q = { concurrent: 8, tokens_per_request: 4096 };
  const a = kvCapacityQuestion(plannedPool(), q, { model_ref: MODEL, gpu: "H100-80GB", gpu_is_device: true });
  const direct = fitsConcurrent({ model: MODEL, gpu: "H100-80GB", ...q, max_model_len: 4096 });
  assert.equal(a.measured.fits, true);
  assert.equal(a.measured.kv_tokens_needed, 8 * 256 * 16);
  assert.equal(a.measured.kv_tokens_usable, direct.kv_tokens_usable);
  assert.equal(a.measured.largest_safe_max_model_len, direct.largest_safe_max_model_len);
  assert.equal(a.gpu_memory_utilization_needed, direct.gpu_memory_utilization_needed);
  assert.equal(a.agrees_with_planner, true);
});

Deno.test("a small pool does not fit: the reasons, the shortfall and the largest safe length for N", () => {
  const pool: KvPool = { source: "small", num_gpu_blocks: 1153, block_size: 16, kv_bytes_per_token: 28672 };
  const a = kvCapacityQuestion(pool, { concurrent: 8, tokens_per_request: 4096 }, { model_ref: MODEL });
  assert.equal(a.measured.fits, false);
  assert.equal(a.measured.kv_tokens_usable, 1152 * 16);
  assert.equal(a.measured.max_concurrent_at_length, 4);
  assert.equal(a.measured.largest_safe_max_model_len, Math.floor(1152 / 8) * 16);
  assert.match(a.measured.reasons.join(" "), /KV tokens needed/);
  assert.equal(
    a.gpu_memory_utilization_needed,
    undefined,
    "a pool set in bytes says nothing about utilization",
  );
  assert.equal(a.planner, undefined);
});

Deno.test("a question above the model's limit is answered at the limit, with the rejection as a reason", () => {
  const a = kvCapacityQuestion(plannedPool(), { concurrent: 2, tokens_per_request: 65536 }, {
    model_ref: MODEL,
  });
  assert.equal(a.measured.fits, false);
  assert.match(a.measured.reasons.join(" "), /65536 tokens per request exceeds max_model_len 32768/);
});

Deno.test("kvCapacityAnswers answers on the sweep's pool and the load's small pool, or says why not", () => {
  const row: KvRow = {
    point_id: "L4096",
    role: "sweep",
    engine: "sim",
    max_model_len: 4096,
    started: true,
    num_gpu_blocks: 2000,
    block_size: 16,
    kv_bytes_per_token_computed: 28672,
  };
  const load = {
    step: 0,
    concurrent: 1,
    request_tokens: 2048,
    prompt_tokens: 2016,
    max_tokens: 32,
    num_gpu_blocks: 449,
    block_size: 16,
    predicted_max_concurrent: 3,
    requests_ok: 1,
    requests_failed: 0,
    limited: false,
  };
  const q = { concurrent: 8, tokens_per_request: 4096 };
  const cases = kvCapacityAnswers({ rows: [row], load_rows: [load], planner: { model_ref: MODEL } }, q);
  assert.deepEqual(cases.map((c) => c.answer?.measured.fits), [false, false]);
  assert.equal(cases[0].answer?.measured.max_concurrent_at_length, Math.floor(1999 / 256));
  assert.equal(kvPoolFromRows([row], 4096)?.num_gpu_blocks, 2000);
  const none = kvCapacityAnswers({ rows: [row], load_rows: [] }, q);
  assert.match(none[0].reason ?? "", /no model config/);
});
