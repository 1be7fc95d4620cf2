import assert from "node:assert/strict";
import { parseServeConfig } from "../engine/config.ts";
import { parseStartupLog } from "../engine/startup_log.ts";
import { loadGpu, loadModel } from "./catalog.ts";
import {
  fitErrorMessage,
  formatCount,
  formatLogLine,
  pythonRepr,
  type ScriptStep,
  serverUpSteps,
  SIM_VERSION,
  startupScript,
} from "./log.ts";
import { planMemory, resolveEngineSettings } from "./memory.ts";
import { startupPhases } from "./timing.ts";

function render(steps: ScriptStep[]): string {
  return steps.flatMap((s) =>
    s.kind === "line"
      ? [formatLogLine(s.record, { pid: 7, date: new Date(2025, 9, 8, 12, 0, 5) })]
      : s.kind === "raw"
      ? [s.text]
      : []
  ).join("\n");
}

function script(input: Record<string, unknown>) {
  const cfg = parseServeConfig({ engine: "sim", model: "Qwen/Qwen2.5-1.5B-Instruct", port: 8123, ...input });
  const model = loadModel(cfg.model), gpu = loadGpu(cfg.sim.gpu);
  const plan = planMemory(model, gpu, cfg);
  const phases = startupPhases(model, gpu, cfg);
  const steps = startupScript({
    cfg,
    plan,
    phases,
    time_scale: cfg.sim.startup_time_scale,
    max_num_batched_tokens: resolveEngineSettings(model, gpu, cfg).max_num_batched_tokens,
    architecture: model.architecture,
  });
  return { cfg, plan, phases, steps };
}

Deno.test("log lines have vLLM's shape", () => {
  const line = formatLogLine(
    { proc: "APIServer", level: "INFO", file: "model.py", line: 1510, message: "Using max model len 4096" },
    { pid: 42, date: new Date(2025, 9, 8, 3, 4, 5) },
  );
  assert.equal(line, "(APIServer pid=42) INFO 10-08 03:04:05 [model.py:1510] Using max model len 4096");
});

Deno.test("counts and Python reprs print as vLLM's do", () => {
  assert.equal(formatCount(1048576), "1,048,576");
  assert.equal(formatCount(999), "999");
  assert.equal(
    pythonRepr({ a: "x'y", b: true, c: null, d: [1, 2.5] }),
    "{'a': 'x\\'y', 'b': True, 'c': None, 'd': [1, 2.5]}",
  );
});

Deno.test("the lab's startup-log parser reads the sim's log as the plan says", () => {
  const { plan, steps } = script({ max_model_len: 4096, sim: { startup_time_scale: 0.05 } });
  const text = render([...steps, ...serverUpSteps("http://127.0.0.1:8123", 7)]);
  const r = parseStartupLog(text);
  assert.equal(r.simulated, true);
  assert.equal(r.startup_time_scale, 0.05);
  assert.equal(r.version, SIM_VERSION);
  assert.equal(r.max_model_len, 4096);
  assert.equal(r.kv_cache_tokens, plan.kv_cache_tokens);
  assert.equal(r.num_gpu_blocks, plan.num_gpu_blocks);
  assert.equal(r.max_concurrency, Number(plan.max_concurrency.toFixed(2)));
  assert.equal(r.max_concurrency_len, 4096);
  assert.equal(r.server_up, true);
  assert.equal(r.fit_error, undefined);
  assert.deepEqual(r.errors, []);
  assert.ok(r.weights_gib! > 2.5 && r.weights_gib! < 3.5, `weights ${r.weights_gib} GiB`);
});

Deno.test("the log states the simulated phase durations, one wait per phase", () => {
  const { phases, steps } = script({});
  const waits = steps.filter((s) => s.kind === "wait");
  assert.deepEqual(waits.map((w) => w.phase), phases.map((p) => p.name));
  const r = parseStartupLog(render(steps));
  const weights = phases.find((p) => p.name === "weights_load")!.seconds;
  const compile = phases.find((p) => p.name === "compile")!.seconds;
  assert.equal(r.weights_load_s, Number(weights.toFixed(2)));
  assert.equal(r.compile_s, Number(compile.toFixed(2)));
  // init engine covers compile, profile, KV allocation and graph capture (not weights, not the API server).
  const init = phases.filter((p) => !["process_start", "weights_load", "api_start"].includes(p.name))
    .reduce((a, p) => a + p.seconds, 0);
  assert.equal(r.init_engine_s, Number(init.toFixed(2)));
});

Deno.test("enforce_eager drops the compile and graph capture lines", () => {
  const text = render(script({ enforce_eager: true }).steps);
  assert.ok(!text.includes("torch.compile"));
  assert.ok(!text.includes("Graph capturing"));
  assert.ok(text.includes("Cudagraph is disabled under eager mode"));
});

Deno.test("a model that does not fit ends the log with vLLM's fit error", () => {
  const { plan, steps } = script({ max_model_len: 32768, kv_cache_memory_bytes: 64 * 2 ** 20 });
  assert.ok(plan.fit_error, "the plan should not fit");
  const text = render(steps);
  const r = parseStartupLog(text);
  assert.equal(r.server_up, false);
  assert.equal(r.fit_error?.max_model_len, 32768);
  assert.equal(r.fit_error?.estimated_max_model_len, plan.fit_error!.estimated_max_model_len);
  assert.ok(text.includes(fitErrorMessage(plan)));
  assert.ok(text.includes("Engine core initialization failed"));
  assert.ok(!text.includes("GPU KV cache size"));
});
