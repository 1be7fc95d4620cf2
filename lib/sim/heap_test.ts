// GET /servelab/heap: the embedded engine's heap after a full GC, served only with --sim-debug-heap.
import assert from "node:assert/strict";
import { parseServeConfig } from "../engine/config.ts";
import { engineArgv, launch } from "../engine/launch.ts";
import { createSim } from "./instance.ts";
import { createSimHandler } from "./server.ts";

const MODEL = "Qwen/Qwen2.5-1.5B-Instruct";

Deno.test("the heap endpoint is off by default, and --sim-debug-heap starts deno with --expose-gc", () => {
  const off = parseServeConfig({ engine: "sim", model: MODEL, port: 8000 });
  const on = parseServeConfig({ engine: "sim", model: MODEL, port: 8000, sim: { debug_heap: true } });
  assert.ok(!engineArgv(off).includes("--v8-flags=--expose-gc"));
  assert.ok(engineArgv(on).includes("--v8-flags=--expose-gc"));
  assert.ok(engineArgv(on).includes("--sim-debug-heap"));
});

Deno.test("the heap endpoint answers 404 without --sim-debug-heap", async () => {
  const sim = createSim(parseServeConfig({ engine: "sim", model: MODEL }));
  try {
    const r = await createSimHandler(sim)(new Request("http://sim/servelab/heap"));
    assert.equal(r.status, 404);
    await r.body?.cancel();
  } finally {
    await sim.close();
  }
});

Deno.test("a launched engine with --sim-debug-heap reports its heap after a full GC", async () => {
  const logs = await Deno.makeTempDir();
  try {
    await using engine = await launch(
      parseServeConfig({ engine: "sim", model: MODEL, sim: { debug_heap: true } }),
      { log_dir: logs, log_name: "heap" },
    );
    const r = await fetch(`${engine.baseUrl}/servelab/heap`);
    assert.equal(r.status, 200);
    const h = await r.json();
    assert.ok(h.heap_used_bytes > 1e6 && h.heap_used_bytes <= h.heap_total_bytes, JSON.stringify(h));
    assert.ok(h.rss_bytes > h.heap_used_bytes, JSON.stringify(h));
    assert.equal(h.ground_truth_records, 0);
  } finally {
    await Deno.remove(logs, { recursive: true });
  }
});
