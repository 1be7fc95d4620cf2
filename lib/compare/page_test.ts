import assert from "node:assert/strict";
import { join } from "node:path";
import { createRun, updateManifest } from "../run/mod.ts";
import { comparePage, comparePagePath, differingFields, writeComparePage } from "./page.ts";
import { readManifest } from "../run/manifest.ts";

// Synthetic KV rows (not a measurement): run B's max concurrency differs at one max-model-len.
function kvCsv(conc: number[]): string {
  const head = "point_id,role,started,max_model_len,max_concurrency,kv_cache_tokens";
  return [head, ...[2048, 8192].map((len, i) => `L${len},sweep,true,${len},${conc[i]},100000`)].join("\n") +
    "\n";
}

// Synthetic TTFT rows: B's warm requests are about twice A's.
function ttftCsv(scale: number): string {
  const head = "point_id,series,ok,ttft_ms,prompt_tokens_target";
  const rows = Array.from({ length: 12 }, (_, i) => `launch-0,warm,true,${(10 + (i % 4)) * scale},512`);
  return [head, "launch-0,cold,true,90,512", ...rows].join("\n") + "\n";
}

Deno.test("comparePage: curves of every run overlaid, differences beyond noise listed, differing parameters", async () => {
  const root = await Deno.makeTempDir();
  try {
    const a = await createRun({ engine: "sim", root, id: "run-a", model: "m", params: { size: "test" } });
    const b = await createRun({ engine: "sim", root, id: "run-b", model: "m", params: { size: "default" } });
    await updateManifest(b.manifestPath, (m) => ({ ...m, engine: { ...m.engine, version: "9.9" } }));
    await Deno.writeTextFile(join(a.dir, "kv_cache_scaling.csv"), kvCsv([48, 12]));
    await Deno.writeTextFile(join(b.dir, "kv_cache_scaling.csv"), kvCsv([48, 24]));
    await Deno.writeTextFile(join(a.dir, "ttft.csv"), ttftCsv(1));
    await Deno.writeTextFile(join(b.dir, "ttft.csv"), ttftCsv(2));
    const page = await comparePage(["run-a", "run-b"], { root });
    assert.deepEqual(page.charts.map((c) => `${c.tier}/${c.curve}`), [
      "ttft/ttft_by_series",
      "kv/kv_concurrency",
    ]);
    const diffs = page.differences.map((d) =>
      `${d.curve} ${d.x}${d.series ? ` ${d.series}` : ""}: ${d.a} -> ${d.b}`
    );
    assert.deepEqual(diffs, ["ttft_by_series warm: 11.5 -> 23", "kv_concurrency 8192: 12 -> 24"]);
    const fields = page.differ.map((d) => d.field);
    assert.ok(fields.includes("engine.version") && fields.includes("params.size"), fields.join(", "));
    assert.ok(
      !fields.includes("run_id") && !fields.includes("started_at"),
      "ids and times are not parameters",
    );
    // The workloads differ (size), so compare gives no noise verdicts and the page says why.
    assert.match(
      page.html,
      /B against A: no noise verdicts from <code>compare<\/code>, their workloads differ/,
    );
    assert.doesNotMatch(page.html, /undefined|NaN/);
    assert.match(page.html, /<a href="..\/run-a\/03_kv_scaling.html" class="tier-link"/);
    assert.equal((page.html.match(/<img src="data:image\/svg\+xml;base64,/g) ?? []).length >= 2, true);

    const { path, notebook } = await writeComparePage(["run-a", "run-b"], { root });
    const nb = JSON.parse(await Deno.readTextFile(notebook));
    const src = nb.cells.map((c: { source: string[] }) => c.source.join("")).join("\n");
    assert.match(src, /const RUNS = \["run-a","run-b"\];/);
    assert.match(src, /from "\.\.\/\.\.\/[^"]*lib\/mod\.ts"/, "lib/mod.ts relative to the notebook");
    assert.match(await Deno.readTextFile(path), /<a href="run-a_vs_run-b\.ipynb">/);
    assert.equal(path, comparePagePath(["run-a", "run-b"], root));
    assert.equal(path, join(root, "compare", "run-a_vs_run-b.html"));
    await assert.rejects(() => comparePage(["run-a"], { root }), /two runs or more/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("differingFields: only fields whose values differ, absent counted as a value", async () => {
  const root = await Deno.makeTempDir();
  try {
    const a = await createRun({ engine: "sim", root, id: "a", model: "m", params: { size: "test" } });
    const b = await createRun({
      engine: "sim",
      root,
      id: "b",
      model: "m",
      params: { size: "test", url: "x" },
    });
    const d = differingFields([await readManifest(a.manifestPath), await readManifest(b.manifestPath)]);
    assert.deepEqual(d.filter((x) => x.field.startsWith("params")), [{
      field: "params.url",
      values: ["absent", "x"],
    }]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
