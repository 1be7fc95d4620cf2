import assert from "node:assert/strict";
import { join } from "node:path";
import { runsIndexHtml, writeRunsIndex } from "./runs_index.ts";

Deno.test("reports/index.html lists runs newest first, marks simulated ones and escapes their text", async () => {
  const root = await Deno.makeTempDir();
  try {
    const write = async (id: string, m: unknown, index = true) => {
      await Deno.mkdir(join(root, id));
      await Deno.writeTextFile(
        join(root, id, "manifest.json"),
        typeof m === "string" ? m : JSON.stringify(m),
      );
      if (index) await Deno.writeTextFile(join(root, id, "index.html"), "x");
    };
    await write("old-sim", {
      run_id: "old-sim",
      started_at: "2026-11-27T10:00:00.000Z",
      engine: { kind: "sim", version: "0.11.0+servelab-sim.0.1.0" },
      sim_profile: "H100-80GB",
      model: "<script>alert(1)</script>",
      status: "complete",
    });
    await write("new-vllm", {
      run_id: "new-vllm",
      started_at: "2026-11-28T10:00:00.000Z",
      engine: { kind: "vllm", version: "0.11.0" },
      model: "Qwen/Qwen2.5-1.5B-Instruct",
      status: "failed",
    }, false);
    await write("broken", "{not json");
    await Deno.mkdir(join(root, "not-a-run"));
    const html = await Deno.readTextFile(await writeRunsIndex(root));
    assert.ok(html.indexOf("new-vllm") < html.indexOf("old-sim"), "newest first");
    assert.ok(html.includes('<a href="old-sim/index.html">'), "links a run's index");
    assert.ok(!html.includes('href="new-vllm/index.html"'), "no link to an index that does not exist");
    assert.equal((html.match(/class="badge">SIMULATED/g) ?? []).length, 1);
    assert.ok(!html.includes("<script>alert"), "model text escaped");
    assert.ok(html.includes("manifest unreadable"));
    assert.ok(!html.includes("not-a-run"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  assert.match(runsIndexHtml([]), /No runs yet/);
});
