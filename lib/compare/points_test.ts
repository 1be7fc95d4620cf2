import assert from "node:assert/strict";
import { join } from "node:path";
import { createRun } from "../run/run_dir.ts";
import { compareRuns } from "./compare.ts";
import { checkPoints } from "./points.ts";
import { TIERS } from "../tiers/mod.ts";

const POINT_SPECS = TIERS.flatMap((t) => t.comparePoints);

/** Two runs with the same manifest; `csv` writes each run's tier files. */
async function pair(files: (run: "a" | "b") => Record<string, string>) {
  const root = await Deno.makeTempDir();
  for (const id of ["a", "b"] as const) {
    const run = await createRun({ engine: "sim", root, id, model: "m", params: { size: "test" } });
    for (const [name, text] of Object.entries(files(id))) await Deno.writeTextFile(join(run.dir, name), text);
  }
  return root;
}

function sweep(points: [string, number, number][]): string {
  const lines = ["point_id,sweep,repeat,concurrency,rate_fraction,throughput_rps,ttft_p95_ms,valid"];
  for (const [id, c, rps] of points) lines.push(`${id},concurrency,1,${c},,${rps},${20 + c},true`);
  return lines.join("\n") + "\n";
}

Deno.test("a point both runs measured with other parameters refuses, naming tier, point and values", async () => {
  const root = await pair((run) => ({
    "concurrency_sweep.csv": sweep([["c1-r1", 1, 10], ["c4-r1", run === "a" ? 4 : 8, 30]]),
  }));
  const r = await compareRuns("a", "b", { root });
  assert.equal(r.kind, "refused");
  if (r.kind !== "refused") return;
  assert.deepEqual(r.mismatches, ["Tier 3b point c4-r1 (concurrency_sweep.csv): concurrency 4 vs 8"]);
});

Deno.test("other prompt lengths or request counts at a point refuse", async () => {
  const prefix = (n: number, tokens: number) =>
    ["sweep,point_id,arm,repeat,concurrency,prefix_tokens,phase,ok,ttft_ms"].concat(
      Array.from({ length: n }, (_, i) => `length,len-1,on,0,1,${tokens},measure,true,${10 + i}`),
    ).join("\n") + "\n";
  const root = await pair((run) => ({ "prefix_cache.csv": run === "a" ? prefix(8, 512) : prefix(4, 1024) }));
  const r = await compareRuns("a", "b", { root });
  assert.equal(r.kind, "refused");
  if (r.kind !== "refused") return;
  assert.equal(r.mismatches.length, 1);
  assert.match(r.mismatches[0], /^Tier 2 point len-1\|on\|0 \(prefix_cache\.csv\): /);
  assert.match(r.mismatches[0], /prefix_tokens 512 vs 1024/);
  assert.match(r.mismatches[0], /requests 8 vs 4/);
});

Deno.test("points one run measured only are left out and named; the common points are compared", async () => {
  const common: [string, number, number][] = [["c1-r1", 1, 10], ["c1-r2", 1, 10.5], ["c4-r1", 4, 30]];
  const root = await pair((run) => ({
    "concurrency_sweep.csv": sweep(
      run === "a" ? common : [...common, ["c16-r1", 16, 80], ["c16-r2", 16, 81]],
    ),
  }));
  const r = await compareRuns("a", "b", { root });
  assert.equal(r.kind, "compared");
  if (r.kind !== "compared") return;
  assert.deepEqual(r.left_out, [
    "Tier 3b point c16-r1 (concurrency_sweep.csv): measured in run B only, left out",
    "Tier 3b point c16-r2 (concurrency_sweep.csv): measured in run B only, left out",
  ]);
  const metrics = r.rows.map((x) => x.metric);
  assert.ok(metrics.includes("throughput_rps @concurrency 4"));
  assert.ok(!metrics.some((m) => m.includes("@concurrency 16")), metrics.join(", "));
});

Deno.test("workload columns count failed rows too; numbers compare by value", () => {
  const spec = POINT_SPECS.find((s) => s.file === "ttft.csv")!;
  const a = [
    { point_id: "l1", series: "length", prompt_tokens_target: "4096", ok: "false" },
    { point_id: "l1", series: "length", prompt_tokens_target: "128", ok: "true" },
  ];
  const b = [
    { point_id: "l1", series: "length", prompt_tokens_target: "4096.0", ok: "true" },
    { point_id: "l1", series: "length", prompt_tokens_target: "128", ok: "true" },
  ];
  const c = checkPoints(spec, a, b);
  assert.deepEqual(c.mismatches, []);
  const fewer = checkPoints(spec, a, b.slice(1));
  assert.deepEqual(fewer.mismatches, [
    "Tier 1 point l1|length (ttft.csv): prompt_tokens_target 128/4096 vs 128, requests 2 vs 1",
  ]);
});
