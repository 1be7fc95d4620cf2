import assert from "node:assert/strict";
import { parseServeConfig } from "../engine/config.ts";
import { GpuSpec, loadGpu, loadModel } from "./catalog.ts";
import { frontendOverheadMs, makeStepCost, warmupPenaltyMs } from "./timing.ts";
import { FRONTEND, TIMING, WARMUP } from "./constants.ts";

const model = loadModel("qwen2.5-0.5b");
const cfg = parseServeConfig({ engine: "sim", model: "qwen2.5-0.5b", enforce_eager: true });
const shape = { prefill_tokens: 0, prefill_seqs: 0, decode_seqs: 4, context_tokens: 400 };

Deno.test("a profile's calibrated timing replaces the constants for that profile only", () => {
  const cpu = loadGpu("cpu");
  const timing = {
    eff_compute: 0.25,
    eff_memory: 0.3,
    step_overhead_ms: 1.5,
    per_seq_overhead_ms: 0.2,
    frontend_overhead_ms: 2.5,
    first_request_ms: 30,
  };
  const sources = Object.fromEntries(Object.keys(timing).map((k) => [`timing.${k}`, "test"]));
  const calibrated = GpuSpec.parse({
    ...cpu,
    name: "cpu-test",
    timing,
    sources: { ...cpu.sources, ...sources },
  });
  const base = makeStepCost(model, cpu, cfg)(shape);
  const fitted = makeStepCost(model, calibrated, cfg)(shape);
  assert.equal(base.overhead_ms, TIMING.step_overhead_ms_cpu + 4 * TIMING.per_seq_overhead_ms);
  assert.equal(fitted.overhead_ms, 1.5 + 4 * 0.2);
  assert.ok(Math.abs(fitted.memory_ms / base.memory_ms - TIMING.eff_memory_cpu / 0.3) < 1e-9);
  assert.ok(Math.abs(fitted.compute_ms / base.compute_ms - TIMING.eff_compute_cpu / 0.25) < 1e-9);
  assert.equal(frontendOverheadMs(0, calibrated), 2.5);
  assert.equal(frontendOverheadMs(0, cpu), FRONTEND.overhead_ms);
  assert.equal(warmupPenaltyMs(model, calibrated, cfg), 30);
  assert.equal(warmupPenaltyMs(model, cpu, cfg), WARMUP.first_request_ms_cpu);
});

Deno.test("a calibrated timing field without its source is refused, naming the field", () => {
  const cpu = loadGpu("cpu");
  const r = GpuSpec.safeParse({ ...cpu, timing: { step_overhead_ms: 1 } });
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error?.issues), /missing the source of timing\.step_overhead_ms/);
});
