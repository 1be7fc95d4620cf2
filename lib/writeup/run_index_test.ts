import assert from "node:assert/strict";
import { runIndexHtml, writeRunIndex } from "./run_index.ts";
import { createRun } from "../run/run_dir.ts";

Deno.test("the run index marks simulated runs and escapes every text", () => {
  const html = runIndexHtml({
    run_id: "r1",
    engine: "sim",
    sim_profile: "H100-80GB",
    model: "<script>alert(1)</script>",
    status: "complete",
    started_at: "2026-11-28T10:00:00.000Z",
    notebooks: [{ html: "01_ttft.html", title: "01_ttft.html" }],
    files: ["ttft.csv", "a&b.md"],
  });
  assert.ok(html.includes('<span class="badge">SIMULATED</span>'));
  assert.ok(html.includes("(SIMULATED)</title>"));
  assert.ok(!html.includes("<script>"));
  assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(html.includes('<a href="01_ttft.html">01_ttft.html</a>'));
  assert.ok(html.includes('<a href="a&amp;b.md">a&amp;b.md</a>'));
  const real = runIndexHtml({
    run_id: "r2",
    engine: "vllm",
    status: "running",
    started_at: "x",
    notebooks: [],
    files: [],
  });
  assert.ok(!real.includes("SIMULATED"));
});

Deno.test("writeRunIndex links notebook reports and CSV/MD files found in the run folder", async () => {
  const root = await Deno.makeTempDir();
  try {
    const run = await createRun({ engine: "sim", root });
    for (const f of ["01_ttft.ipynb", "01_ttft.html", "ttft.csv", "first_token_latency.md", "stray.html"]) {
      await Deno.writeTextFile(`${run.dir}/${f}`, "x");
    }
    const path = await writeRunIndex(run);
    const html = await Deno.readTextFile(path);
    assert.ok(html.includes('href="01_ttft.html"'));
    assert.ok(html.includes('href="ttft.csv"') && html.includes('href="first_token_latency.md"'));
    assert.ok(!html.includes("stray.html"), "HTML without a notebook beside it is not a notebook report");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
