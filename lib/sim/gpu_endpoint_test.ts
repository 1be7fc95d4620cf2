import assert from "node:assert/strict";
import { parseServeConfig } from "../engine/config.ts";
import { createSim } from "./instance.ts";
import { virtualClock } from "./runtime.ts";
import { createSimHandler } from "./server.ts";

Deno.test("GET /servelab/gpu: the simulated device's memory from the plan and its busy time, which grows with work", async () => {
  const cfg = parseServeConfig({ engine: "sim", model: "Qwen/Qwen2.5-1.5B-Instruct", max_model_len: 4096 });
  await using sim = createSim(cfg, { clock: virtualClock(1_700_000_000_000) });
  const h = createSimHandler(sim);
  const read = async () => await (await h(new Request("http://sim/servelab/gpu"))).json();
  const a = await read();
  assert.equal(a.simulated, true);
  assert.equal(a.memory_total_mib, Math.round(sim.plan.total_bytes / 2 ** 20));
  assert.ok(a.memory_used_mib > 0 && a.memory_used_mib < a.memory_total_mib, "headroom left by the plan");
  assert.equal(a.busy_ms_total, 0, "idle engine: no busy time");
  const r = await h(
    new Request("http://sim/v1/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: cfg.model, prompt: [1, 2, 3, 4], max_tokens: 8, ignore_eos: true }),
    }),
  );
  await r.text();
  const b = await read();
  assert.ok(
    b.busy_ms_total > 0 && b.busy_ms_total <= b.now_ms - a.now_ms + 1e-6,
    "busy within the elapsed time",
  );
});
