/**
 * A tier defined only here (a toy tier with one CSV) appears in the write-up, the run index and compare,
 * with no change outside this file: the tier contract (lib/tiers/tier.ts) is the only place a tier lives.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import { createRun } from "../run/run_dir.ts";
import { csvNumber } from "../run/csv.ts";
import { compareRuns } from "../compare/compare.ts";
import { TIERS } from "../tiers/mod.ts";
import { type Tier, tierFile } from "../tiers/tier.ts";
import type { Fact } from "../report/fact.ts";
import { buildWriteup } from "./writeup.ts";
import { writeRunIndex } from "./run_index.ts";
import { fixtureRun } from "./_fixture.ts";

const ToyRow = z.object({ point_id: z.string(), repeat: csvNumber, echo_ms: csvNumber });
const TOY_FILE = tierFile("toy_echo.csv", ToyRow, "one echo of one repeat");

interface ToyFacts {
  echo_p50?: Fact;
}

const toyTier = {
  key: "toy" as const,
  number: "9",
  title: "Toy echo",
  notebook: "09_toy",
  files: [TOY_FILE],
  params: () => ({}),
  measure: () => Promise.resolve(undefined),
  read: () => Promise.resolve([]),
  facts: (book) => ({
    echo_p50: book.add("toy_echo_p50_ms", "echo p50", "ms", {
      file: TOY_FILE.name,
      column: "echo_ms",
      stat: "p50",
    }),
  }),
  keyNumbers: (f) => [{ label: "toy echo p50", fact: f.echo_p50, index: "toy echo p50 on the index" }],
  comparePoints: [{ tier: "Tier 9", file: TOY_FILE.name, key: ["point_id"], params: [] }],
  compare: (rows) => {
    const both = rows(TOY_FILE.name);
    if (!both) return [];
    const ms = (rs: Record<string, string>[]) => rs.map((r) => Number(r.echo_ms));
    return [{ kind: "repeats", metric: "echo_ms @toy", a: ms(both[0]), b: ms(both[1]) }];
  },
} satisfies Tier<ToyFacts, Record<never, never>, undefined, never[]>;

const tiers = [...TIERS, toyTier];

const toyCsv = (ms: number[]) =>
  ["point_id,repeat,echo_ms", ...ms.map((v, i) => `p${i},${i},${v}`)].join("\n") + "\n";

Deno.test("a toy tier defined in a test file shows in the write-up's key numbers, tier status and facts", async () => {
  await using run = await fixtureRun();
  await Deno.writeTextFile(join(run.dir, TOY_FILE.name), toyCsv([10, 20, 30]));
  const w = await buildWriteup(run.dir, tiers);
  assert.equal(w.data.status.toy, "measured");
  assert.equal(w.book.facts.get("toy_echo_p50_ms")?.value, 20);
  const keyNumbers = w.sections.find((s) => s.id === "key_numbers")!.html.html;
  assert.match(keyNumbers, /toy echo p50/);
  assert.match(keyNumbers, /toy_echo\.csv/);
  // The built-in tiers' numbers are still there.
  assert.ok(w.book.facts.has("ttft_warm_p50_ms"));
});

Deno.test("a toy tier without its CSV is said to be missing in the write-up", async () => {
  await using run = await fixtureRun();
  await Deno.writeTextFile(join(run.dir, "09_toy.ipynb"), "{}");
  const w = await buildWriteup(run.dir, tiers);
  assert.equal(w.data.status.toy, "no_data");
  const obs = w.sections.find((s) => s.id === "observations")!.html.html;
  assert.match(obs, /Not measured:<\/strong> the Toy echo tier/);
});

Deno.test("a toy tier shows on the run index: its key number and its status", async () => {
  const root = await Deno.makeTempDir();
  try {
    const run = await createRun({ engine: "sim", root });
    await Deno.writeTextFile(join(run.dir, TOY_FILE.name), toyCsv([5, 7]));
    const html = await Deno.readTextFile(await writeRunIndex(run, tiers));
    assert.match(html, /toy echo p50 on the index/);
    assert.match(html, /Toy echo<\/td><td>measured/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a toy tier is compared: its points checked, its metric shown, its absence named", async () => {
  const root = await Deno.makeTempDir();
  try {
    for (const [id, ms] of [["a", [10, 11]], ["b", [30, 31]]] as const) {
      const run = await createRun({ engine: "sim", root, id, model: "m", params: { size: "test" } });
      await Deno.writeTextFile(join(run.dir, TOY_FILE.name), toyCsv([...ms]));
    }
    const r = await compareRuns("a", "b", { root, tiers });
    assert.equal(r.kind, "compared");
    if (r.kind !== "compared") return;
    const toy = r.rows.find((x) => x.tier === "Tier 9");
    assert.equal(toy?.metric, "echo_ms @toy");
    assert.equal(toy?.beyond_noise, true);
    // The built-in tiers left no files in these runs: each is named missing.
    assert.ok(r.missing_tiers.some((m) => m.startsWith("Tier 1 (ttft.csv)")));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
