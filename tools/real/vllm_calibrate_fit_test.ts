import assert from "node:assert/strict";
import { loadGpu, tinyModelSpec } from "../../lib/mod.ts";
import { modelFromHfConfig } from "../../lib/sim/mod.ts";
import { tinyConfigJson, tinyTokenizer } from "../../lib/tinymodel/mod.ts";
import {
  compareHoldout,
  fitProcessStart,
  fitTiming,
  goldenSection,
  type Measurement,
  type MeasurementFile,
  mergeRepeats,
  nelderMead,
  predictFitWorkload,
  ttftTarget,
  withTiming,
} from "./vllm_calibrate_fit.ts";
import { calibrationConfig, WORKLOADS } from "./vllm_calibrate.ts";

const spec = tinyModelSpec();
const model = modelFromHfConfig(tinyConfigJson(spec, tinyTokenizer(spec)), "tiny");
const cpu = loadGpu("cpu");
const cfg = calibrationConfig("sim", "tiny");

function workload(w: (typeof WORKLOADS)[number]): Measurement {
  return {
    name: w.name,
    set: w.set,
    kind: w.kind,
    load: JSON.stringify(w.load),
    concurrency: w.load.kind === "concurrency" ? w.load.n : undefined,
    prompt_tokens: w.prompt_tokens,
    output_tokens: w.output_tokens,
    requests_ok: w.count,
    requests_failed: 0,
  };
}

Deno.test("nelderMead finds the minimum of a shifted quadratic", () => {
  const x = nelderMead(([a, b]) => (a - 1) ** 2 + 3 * (b + 2) ** 2, [0, 0]);
  assert.ok(Math.abs(x[0] - 1) < 1e-4 && Math.abs(x[1] + 2) < 1e-4, String(x));
});

Deno.test("fitTiming recovers the constants that generated the measurements", () => {
  const truth = {
    eff_compute: 0.12,
    eff_memory: 0.35,
    step_overhead_ms: 2.2,
    per_seq_overhead_ms: 0.09,
    frontend_overhead_ms: 4.5,
  };
  const gpu = withTiming(cpu, "truth", truth, "test");
  const ws = WORKLOADS.filter((w) => w.set === "fit").map(workload).map((w) => {
    const p = predictFitWorkload(model, gpu, cfg, w);
    return { ...w, ttft_p50_ms: p.ttft_ms, itl_p50_ms: p.itl_ms };
  });
  const r = fitTiming(model, cpu, cfg, ws);
  assert.ok(r.rms_log_error < 0.01, `rms ${r.rms_log_error}`);
  for (const x of r.residuals) assert.ok(Math.abs(x.error_pct) < 2, JSON.stringify(x));
  // The overheads dominate this tiny model's steps, so they are identified tightly.
  assert.ok(Math.abs(r.timing.step_overhead_ms / truth.step_overhead_ms - 1) < 0.1, JSON.stringify(r.timing));
  assert.ok(
    Math.abs(r.timing.frontend_overhead_ms / truth.frontend_overhead_ms - 1) < 0.1,
    JSON.stringify(r.timing),
  );
});

Deno.test("fitTiming refuses too few fit observations, naming the count", () => {
  const one = [{ ...workload(WORKLOADS[0]), ttft_p50_ms: 10 }];
  assert.throws(() => fitTiming(model, cpu, cfg, one), /from 1 fit observations/);
});

Deno.test("compareHoldout: error in percent of the real value; a metric one side lacks is left out", () => {
  const base = workload(WORKLOADS.find((w) => w.set === "holdout")!);
  const file = (ws: Measurement[]): MeasurementFile => ({
    engine: "x",
    model: "m",
    host: "h",
    started_at: "2026-11-28T00:00:00Z",
    command: "c",
    serve_args: [],
    workloads: ws,
  });
  const real = file([{ ...base, ttft_p50_ms: 100, itl_p50_ms: 4, output_tok_s: 200 }]);
  const sim = file([{ ...base, ttft_p50_ms: 110, itl_p50_ms: 3, output_tok_s: undefined }]);
  const rows = compareHoldout(real, sim);
  assert.deepEqual(rows.map((r) => [r.metric, Math.round(r.error_pct * 10) / 10]), [
    ["ttft_p50_ms", 10],
    ["itl_p50_ms", -25],
  ]);
});

Deno.test("mergeRepeats: medians of the repeats, each repeat kept, counts summed, errors merged", () => {
  const w = workload(WORKLOADS[0]);
  const m = mergeRepeats([
    { ...w, ttft_p50_ms: 10, itl_p50_ms: 3, output_tok_s: 100 },
    {
      ...w,
      ttft_p50_ms: 30,
      itl_p50_ms: undefined,
      output_tok_s: 90,
      requests_failed: 1,
      errors: { empty: { count: 1, first_message: "x" } },
    },
    { ...w, ttft_p50_ms: 12, itl_p50_ms: 5, output_tok_s: 95 },
  ]);
  assert.equal(m.ttft_p50_ms, 12);
  assert.equal(m.itl_p50_ms, 4);
  assert.equal(m.output_tok_s, 95);
  assert.deepEqual(m.runs?.ttft_p50_ms, [10, 30, 12]);
  assert.equal(m.requests_ok, 3 * w.requests_ok);
  assert.deepEqual(m.errors, { empty: { count: 1, first_message: "x" } });
  assert.throws(() => mergeRepeats([]), /zero repeats/);
});

Deno.test("fitProcessStart: the process start that makes the simulated startup add up to the measured ready time", () => {
  const phases = [
    { name: "process_start", seconds: 10 },
    { name: "weights_load", seconds: 0.5 },
    { name: "memory_profile", seconds: 1 },
    { name: "api_start", seconds: 1.5 },
  ];
  assert.equal(fitProcessStart(40, phases), 37);
  assert.equal(fitProcessStart(2, phases), 0, "never negative");
});

Deno.test("goldenSection finds the minimum of a one-minimum function inside the interval, and an end when it is there", () => {
  assert.ok(Math.abs(goldenSection((x) => (x - 4.2) ** 2, 0, 20) - 4.2) < 1e-6);
  assert.ok(goldenSection((x) => x, 0, 20) < 1e-6);
  assert.ok(goldenSection((x) => -x, 0, 20) > 20 - 1e-6);
});

Deno.test("ttftTarget: the client's TTFT p50 when the client kept up (lag p99 within 15 ms), else the engine's mean", () => {
  const w = {
    name: "x",
    set: "fit",
    kind: "prefill",
    load: "{}",
    prompt_tokens: 32,
    output_tokens: 8,
    requests_ok: 8,
    requests_failed: 0,
    ttft_p50_ms: 31,
    server_ttft_mean_ms: 27,
  } as const;
  assert.deepEqual(ttftTarget({ ...w, client_lag_p99_ms: 4 }), { v: 31, side: "client" });
  assert.deepEqual(ttftTarget({ ...w, client_lag_p99_ms: 15 }), { v: 31, side: "client" });
  assert.deepEqual(ttftTarget({ ...w, client_lag_p99_ms: 449 }), { v: 27, side: "engine" });
  // No lag recorded (runs b and c): the engine's mean, else the client's p50.
  assert.deepEqual(ttftTarget(w), { v: 27, side: "engine" });
  assert.deepEqual(ttftTarget({ ...w, server_ttft_mean_ms: undefined }), { v: 31, side: "client" });
  assert.equal(ttftTarget({ ...w, ttft_p50_ms: undefined, server_ttft_mean_ms: undefined }), undefined);
});
