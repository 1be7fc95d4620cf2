/**
 * The load confirmation's text never explains waiting by block shortage when the pool was far from full,
 * and never concludes from steps whose client self-check failed (the example run's kv notes did both).
 * @module
 */
import assert from "node:assert/strict";
import { kvFindings, kvLoadFinding } from "./findings.ts";
import type { KvLoadRow, KvRow } from "./rows.ts";
import { labEnv } from "../lab_env.ts";
import { kvParams } from "./params.ts";
import { kvNotesMarkdown } from "./writeup.ts";

const sweep: KvRow = {
  point_id: "L2048",
  role: "sweep",
  engine: "vllm",
  max_model_len: 2048,
  started: true,
  num_gpu_blocks: 4096,
  block_size: 128,
  pool_tokens: 524288,
  max_concurrency: 256,
};

const step = (concurrent: number, client_ok: boolean, kv: number): KvLoadRow => ({
  step: concurrent - 252,
  concurrent,
  request_tokens: 2048,
  prompt_tokens: 2016,
  max_tokens: 32,
  num_gpu_blocks: 4096,
  block_size: 128,
  predicted_max_concurrent: 255,
  requests_ok: concurrent,
  requests_failed: 0,
  running_max: 32,
  waiting_max: concurrent - 32,
  preemptions: 0,
  kv_usage_max: kv,
  ttft_p50_ms: 34162,
  ttft_max_ms: 57324,
  limited: true,
  client_ok,
  client_reason: client_ok ? undefined : "event-loop lag p99 900 ms > 15 ms",
});

Deno.test("steps that failed the client self-check are not judged, and the notes list them (not 'Run notes: none')", () => {
  const rows = [step(253, false, 0.123), step(254, false, 0.123)];
  const text = kvLoadFinding(kvFindings([sweep], rows), rows).text;
  assert.match(text, /Not judged:\*\* 2 of 2 load steps \(253, 254\) failed the client self-check/);
  assert.doesNotMatch(text, /blocks for its prompt/);
  assert.doesNotMatch(text, /does not match predicted/);
  const lab = labEnv({ SERVELAB_ENGINE: "vllm", SERVELAB_SIZE: "test" });
  const notes = kvNotesMarkdown({
    lab,
    params: kvParams(lab, {}),
    measurement: {
      run_id: "r",
      engine_label: "vLLM",
      scaling_csv: "x",
      rows: [sweep],
      load_rows: rows,
      notes: [],
    },
    capacity: [],
  });
  assert.match(notes, /## Run notes\n- Load step 253 failed the client self-check/);
  // Units: fractions say so; bytes per token is the computed value with the measured beside it.
  assert.match(notes, /\| gpu-memory-utilization \(fraction\) \|/);
  assert.match(notes, /\| KV usage max \(fraction\) \|/);
  assert.match(notes, /\| bytes\/token computed \(measured\) \|/);
});

Deno.test("waiting with the pool at 12 % is not explained by block shortage", () => {
  const rows = [step(253, true, 0.123)];
  const text = kvLoadFinding(kvFindings([sweep], rows), rows).text;
  assert.doesNotMatch(text, /admits a request only when blocks for its prompt/);
  assert.match(text, /KV usage peaked at 0\.12 .*so the pool was not what held them back/);
  const full = [step(253, true, 0.97)];
  assert.match(kvLoadFinding(kvFindings([sweep], full), full).text, /blocks for its prompt/);
});
