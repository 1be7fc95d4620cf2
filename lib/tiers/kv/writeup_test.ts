import assert from "node:assert/strict";
import { labEnv } from "../lab_env.ts";
import type { KvMeasurement } from "./measure.ts";
import { kvParams } from "./params.ts";
import type { KvRow } from "./rows.ts";
import { kvNotesMarkdown, kvTitle } from "./writeup.ts";

Deno.test("the title says SIMULATED on the embedded engine only", () => {
  assert.equal(kvTitle("sim"), "Tier 3a — KV cache scaling (SIMULATED)");
  assert.equal(kvTitle("vllm"), "Tier 3a — KV cache scaling");
});

Deno.test("the notes carry the environment, the key numbers of every row and the SIMULATED banner on the sim", () => {
  const lab = labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "test" });
  const P = kvParams(lab, {});
  const row: KvRow = {
    point_id: "L2048",
    role: "sweep",
    engine: "sim",
    max_model_len: 2048,
    started: true,
    kv_cache_tokens: 2513168,
    num_gpu_blocks: 157073,
    block_size: 16,
    pool_tokens: 2513168,
    max_concurrency: 1227.13,
  };
  const M: KvMeasurement = {
    run_id: "r1",
    engine_label: "SIMULATED: embedded engine",
    scaling_csv: "/x/kv_cache_scaling.csv",
    rows: [row],
    load_rows: [],
    notes: ["a run note"],
  };
  const text = kvNotesMarkdown({ lab, params: P, measurement: M, capacity: [] });
  assert.match(text, /^# Tier 3a — KV cache scaling \(SIMULATED\): notes\n\n\*\*SIMULATED\*\*/);
  assert.match(text, /\| L2048 \| 2048 \| – \| true \| 2513168 \| 157073 \| 1227\.13 \|/);
  assert.match(text, /- a run note/);
  assert.match(
    text,
    /\.\/servelab run --engine sim --size test (--model \S+ )?--tiers kv\n/,
    "the rerun command works in a plain shell",
  );
  assert.doesNotMatch(text, /run_notebooks\.py/);
  const vllm = kvNotesMarkdown({
    lab: { ...lab, engine: "vllm", simulated: false },
    params: P,
    measurement: M,
    capacity: [],
  });
  assert.doesNotMatch(vllm.split("\n").slice(0, 3).join("\n"), /SIMULATED/);
});
