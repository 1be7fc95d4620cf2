import assert from "node:assert/strict";
import { loadGpu, loadModel } from "./catalog.ts";
import {
  evaluateRows,
  implausibleTtft,
  loadResults,
  loadValidationRows,
  METRICS,
  predictRow,
  profileValidation,
  summarizeErrors,
  validationNote,
  type ValidationRow,
  validationShort,
} from "./validation.ts";
import { compareKernels, fitKernelModel, fitTiming, withTiming } from "./validation_fit.ts";

const rows = loadValidationRows();

Deno.test("the published table has at least 20 sourced rows over 3 GPUs and 3 models, batch-1 decode and a high-concurrency throughput point", () => {
  assert.ok(rows.length >= 20, `${rows.length} rows`);
  assert.ok(new Set(rows.map((r) => r.gpu)).size >= 3);
  assert.ok(new Set(rows.map((r) => r.model)).size >= 3);
  for (const r of rows) {
    assert.match(r.source, /^https?:\/\//, r.id);
    assert.ok(r.source_note.length > 20, r.id);
    assert.ok(r.vllm_version.length > 0, r.id);
  }
  assert.ok(rows.some((r) => r.benchmark === "serve" && r.workload.concurrency === 1 && r.measured.itl_ms));
  assert.ok(rows.some((r) => r.benchmark === "throughput" && (r.workload.num_prompts ?? 0) >= 100));
  assert.ok(rows.some((r) => r.split === "holdout") && rows.some((r) => r.split === "fit"));
});

Deno.test("a row without its workload's size or any measured number is refused, naming the field", () => {
  const dir = Deno.makeTempDirSync();
  const bad = { ...rows[0], id: "x", workload: { input_tokens: 32, output_tokens: 128 } };
  Deno.writeTextFileSync(`${dir}/t.json`, JSON.stringify({ rows: [bad] }));
  assert.throws(() => loadValidationRows(new URL(`file://${dir}/t.json`)), /workload\.batch/);
  Deno.writeTextFileSync(`${dir}/t.json`, JSON.stringify({ rows: [{ ...rows[0], measured: {} }] }));
  assert.throws(() => loadValidationRows(new URL(`file://${dir}/t.json`)), /measured/);
  Deno.writeTextFileSync(`${dir}/t.json`, JSON.stringify({ rows: [{ ...rows[0], gpu: "Z100" }] }));
  assert.throws(() => loadValidationRows(new URL(`file://${dir}/t.json`)), /Unknown GPU profile 'Z100'/);
});

Deno.test("a TTFT faster than the profile's datasheet prefill peak is flagged; a plausible one is not", () => {
  const row = rows.find((r) => r.gpu === "RTX-4090" && r.workload.input_tokens === 4096)!;
  assert.match(implausibleTtft(row)!, /above the 165 TFLOP\/s peak of RTX-4090/);
  const short = rows.find((r) => r.gpu === "RTX-4090" && r.workload.input_tokens === 128)!;
  assert.equal(implausibleTtft(short), undefined);
  // 2 x params x tokens / ttft: doubling the TTFT of the flagged row's prefill to the peak's time clears it.
  const m = loadModel(row.model), g = loadGpu(row.gpu);
  const atPeak = 2 * m.param_count * 4096 / g.bf16_flops * 1000;
  assert.equal(implausibleTtft({ ...row, measured: { ttft_ms: atPeak * 1.01 } }), undefined);
});

Deno.test("the error is (predicted - measured) / measured, and excluded metrics stay out of the summary", () => {
  const row = rows.find((r) => r.benchmark === "latency")!;
  const p = predictRow(row).e2e_ms!;
  const [r] = evaluateRows([{ ...row, measured: { e2e_ms: p / 2 } }], new Set());
  assert.ok(Math.abs(r.error.e2e_ms! - 1) < 1e-9);
  const tp = rows.find((x) => x.benchmark === "throughput")!;
  const [t] = evaluateRows([tp], new Set());
  assert.ok(t.excluded.throughput_req_s, "ShareGPT throughput rows carry their exclusion");
  assert.equal(summarizeErrors([t]).throughput_req_s, undefined);
  assert.equal(summarizeErrors([r]).e2e_ms!.n, 1);
});

Deno.test("the committed results are what the catalog predicts now (rerun tools/sim_validate.ts --fit --write)", () => {
  const { fitted, rows: committed } = loadResults();
  const now = evaluateRows(rows, new Set(fitted));
  assert.equal(committed.length, now.length);
  for (const [i, r] of now.entries()) {
    assert.equal(committed[i].id, r.id);
    assert.equal(committed[i].used_in_fit, r.used_in_fit, r.id);
    for (const k of METRICS) {
      if (r.predicted[k] === undefined) continue;
      assert.ok(
        Math.abs(committed[i].predicted[k]! - r.predicted[k]!) < 1e-6 * r.predicted[k]!,
        `${r.id} ${k}`,
      );
    }
  }
});

Deno.test("a fit never sees a held-out row, and recovers a known timing block from numbers it generated", () => {
  const gpu = loadGpu("A100-80GB");
  const held = rows.find((r) => r.split === "holdout")!;
  assert.throws(() => fitTiming(gpu, [held]), /held-out row/);
  const truth = { eff_compute: 0.62, eff_memory: 0.71, step_overhead_ms: 1.3 };
  const synthetic: ValidationRow[] = rows
    .filter((r) => r.gpu === "A100-80GB" && r.benchmark === "serve" && r.workload.output_tokens === 128)
    .slice(0, 4)
    .map((r) => ({ ...r, split: "fit", measured: predictRow(r, withTiming(gpu, truth)) }));
  const start = withTiming(gpu, { eff_compute: 0.4, eff_memory: 0.8, step_overhead_ms: 2 });
  const fit = fitTiming(start, synthetic);
  assert.ok(fit.loss < 1e-3, `loss ${fit.loss}`);
  assert.ok(Math.abs(fit.timing.eff_memory - truth.eff_memory) < 0.05, JSON.stringify(fit.timing));
  assert.ok(Math.abs(fit.timing.step_overhead_ms - truth.step_overhead_ms) < 0.3, JSON.stringify(fit.timing));
});

Deno.test("profiles without published rows say 'not validated'; validated ones give the held-out error per metric", () => {
  const t4 = profileValidation("T4");
  assert.equal(t4.status, "not validated");
  assert.match(validationNote("T4"), /not validated/);
  assert.equal(validationShort("T4"), "not validated on a real GPU");
  const a100 = profileValidation("A100-80GB");
  assert.equal(a100.status, "validated");
  assert.ok(a100.held_out.itl_ms && a100.held_out.itl_ms.n >= 3);
  assert.ok(a100.rows.some((r) => r.used_in_fit) && a100.rows.some((r) => !r.used_in_fit));
  assert.match(
    validationShort("A100-80GB"),
    /^validated on published vLLM runs: held-out error TTFT \d+ %, ITL \d+ %/,
  );
  // The H200 has only a batch-latency row: the label must say the rest is not validated rather than imply it.
  assert.match(validationShort("H200"), /E2E latency \d+ %; TTFT, ITL, throughput not validated/);
  assert.match(validationShort("cpu-calibrated"), /CPU backend/);
});

Deno.test("the kernel part of the step cost at peak is the step's bytes over bandwidth for a batch-1 decode", () => {
  const gpu = loadGpu("H100-80GB");
  const [c] = compareKernels(gpu, [{
    model: "meta-llama/Llama-3.1-8B-Instruct",
    phase: "decode",
    batch: 1,
    context: 128,
    measured_ms: 8,
  }], { eff_compute: 1, eff_memory: 1 });
  const weights = loadModel("meta-llama/Llama-3.1-8B-Instruct").param_count * 2;
  assert.ok(c.memory_ms_at_peak > weights / gpu.mem_bandwidth_bytes_s * 1000);
  assert.ok(c.memory_ms_at_peak < 1.01 * weights / gpu.mem_bandwidth_bytes_s * 1000);
  assert.equal(c.model_ms, c.memory_ms_at_peak);
  // Points generated from a known kernel model (eff_memory 0.6, eff_compute 0.5, 30 us per layer) fit back.
  const pts = [1, 64, 256].flatMap((batch) =>
    ["meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct"].map((model) => ({
      model,
      phase: "decode" as const,
      batch,
      context: 512,
      measured_ms: 0,
    }))
  ).concat(
    [{
      model: "meta-llama/Llama-3.1-8B-Instruct",
      phase: "prefill" as const,
      tokens: 4096,
      measured_ms: 0,
    }] as never[],
  );
  const peak = compareKernels(gpu, pts, { eff_compute: 1, eff_memory: 1 });
  const known = pts.map((p, i) => ({
    ...p,
    measured_ms: Math.max(peak[i].compute_ms_at_peak / 0.5, peak[i].memory_ms_at_peak / 0.6) +
      loadModel(p.model).num_layers * 0.03,
  }));
  const fit = fitKernelModel(gpu, known);
  assert.ok(Math.abs(fit.eff_memory - 0.6) < 0.011, JSON.stringify(fit));
  assert.ok(Math.abs(fit.eff_compute - 0.5) < 0.011, JSON.stringify(fit));
  assert.ok(Math.abs(fit.layer_floor_ms - 0.03) < 0.0026, JSON.stringify(fit));
  assert.ok(fit.median_abs_error < 0.01);
});
