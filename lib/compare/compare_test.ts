import assert from "node:assert/strict";
import { join } from "node:path";
import { createRun } from "../run/run_dir.ts";
import { compareRuns } from "./compare.ts";

async function makeRun(
  root: string,
  id: string,
  opts: { model?: string; size?: string; shift?: number; ttft?: boolean },
) {
  const run = await createRun({
    engine: "sim",
    root,
    id,
    model: opts.model ?? "m",
    params: { size: opts.size ?? "test" },
  });
  if (opts.ttft !== false) {
    const lines = ["series,ok,ttft_ms"];
    for (let i = 0; i < 40; i++) lines.push(`warm,true,${10 + (i % 7) + (opts.shift ?? 0)}`);
    for (let i = 0; i < 3; i++) lines.push(`cold,true,${80 + i}`);
    await Deno.writeTextFile(join(run.dir, "ttft.csv"), lines.join("\n") + "\n");
  }
  return run;
}

Deno.test("identical data is not beyond noise; missing tiers are listed", async () => {
  const root = await Deno.makeTempDir();
  await makeRun(root, "a", {});
  await makeRun(root, "b", {});
  const r = await compareRuns("a", "b", { root });
  assert.equal(r.kind, "compared");
  if (r.kind !== "compared") return;
  assert.ok(r.rows.length >= 3);
  assert.ok(r.rows.every((row) => row.beyond_noise !== true));
  assert.ok(r.missing_tiers.some((m) => m.includes("Tier 2")));
});

Deno.test("a shifted TTFT distribution is flagged beyond noise", async () => {
  const root = await Deno.makeTempDir();
  await makeRun(root, "a", {});
  await makeRun(root, "b", { shift: 20 });
  const r = await compareRuns("a", "b", { root });
  assert.equal(r.kind, "compared");
  if (r.kind !== "compared") return;
  const p50 = r.rows.find((row) => row.metric === "warm ttft_ms p50");
  assert.equal(p50?.beyond_noise, true);
  assert.ok((p50?.diff ?? 0) > 15);
});

Deno.test("a mismatch in model or size refuses, naming the field", async () => {
  const root = await Deno.makeTempDir();
  await makeRun(root, "a", {});
  await makeRun(root, "b", { model: "other", size: "default" });
  const r = await compareRuns("a", "b", { root });
  assert.equal(r.kind, "refused");
  if (r.kind !== "refused") return;
  assert.ok(r.mismatches.some((m) => m.startsWith("model:") && m.includes("other")));
  assert.ok(r.mismatches.some((m) => m.startsWith("params.size:")));
});

Deno.test("a tier present in one run only is reported as not in both runs", async () => {
  const root = await Deno.makeTempDir();
  await makeRun(root, "a", {});
  await makeRun(root, "b", { ttft: false });
  const r = await compareRuns("a", "b", { root });
  assert.equal(r.kind, "compared");
  if (r.kind !== "compared") return;
  assert.equal(r.rows.length, 0);
  assert.ok(r.missing_tiers.some((m) => m.includes("Tier 1") && m.includes("not in both runs")));
});
