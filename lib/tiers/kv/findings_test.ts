import assert from "node:assert/strict";
import { kvFindings, kvFitFinding, kvSweepFinding } from "./findings.ts";
import type { KvRow } from "./rows.ts";

const row = (L: number, blocks: number, mem: number): KvRow => ({
  point_id: `L${L}`,
  role: "sweep",
  engine: "vllm",
  max_model_len: L,
  started: true,
  num_gpu_blocks: blocks,
  block_size: 16,
  pool_tokens: blocks * 16,
  max_concurrency: Math.round(blocks / (L / 16) * 100) / 100,
  gpu_mem_used_gib: mem,
  gpu_mem_source: "nvidia-smi",
});

Deno.test("the sweep finding is computed from the rows: flat memory and 1/L, or not", () => {
  const flat =
    kvSweepFinding(kvFindings([row(1024, 5000, 70), row(4096, 5000, 70), row(16384, 5000, 70)], [])).text;
  assert.match(flat, /stayed at 80,000 tokens/);
  assert.match(flat, /GPU memory used stayed flat at 70\.00 GiB/);
  assert.match(flat, /max-model-len reserves concurrency, not VRAM/);
  const moving =
    kvSweepFinding(kvFindings([row(1024, 5000, 60), row(4096, 4000, 65), row(16384, 1000, 70)], []))
      .text;
  assert.match(moving, /GPU memory used moved between 60\.00 and 70\.00 GiB/);
  assert.match(moving, /does not fall as 1\/L here/);
  assert.match(moving, /Step: from 1,024 to 4,096 the pool changed by -20\.00 %/);
});

Deno.test("the fit finding says when no point failed, and quotes the fit error's numbers when one did", () => {
  assert.match(kvFitFinding(kvFindings([row(1024, 10, 1)], [])).text, /no fit failure was observed/);
  const failed: KvRow = {
    ...row(32768, 10, 1),
    point_id: "fit",
    started: false,
    gpu_memory_utilization: 0.06,
    fit_error_kind: "kv_fit",
    fit_error_needed_gib: 0.88,
    fit_error_available_gib: 0.43,
    fit_error_estimated_max_model_len: 16128,
  };
  const text = kvFitFinding(kvFindings([failed], [])).text;
  assert.match(
    text,
    /needs 0\.88 GiB of KV cache, only 0\.43 GiB is available; it estimates max-model-len 16,128/,
  );
  assert.match(text, /gpu-memory-utilization 0\.06/);
});
