/**
 * The tier contract holds: each tier's CSV names and columns live in its folder only, its columns are what
 * runs wrote before the contract existed, and the list of tiers is well formed.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join, relative } from "node:path";
import { TIERS } from "./mod.ts";
import { checkTiers } from "./tier.ts";
import { readRecordedRun } from "../../tools/run_contract.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

async function sources(dir: string, out: string[] = []): Promise<string[]> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) {
      if (!["testdata", "node_modules", "examples"].includes(e.name)) await sources(p, out);
    } else if (p.endsWith(".ts") && !p.endsWith("_test.ts")) out.push(p);
  }
  return out;
}

/** The file's code without its comments (doc examples may name anything). */
async function code(path: string): Promise<string> {
  return (await Deno.readTextFile(path)).split("\n").filter((l) => !/^\s*(\*|\/\/|\/\*\*)/.test(l)).join(
    "\n",
  );
}

// A file name as a whole word anywhere in code: a string, a template (`${dir}/ttft.csv`), a path.
const word = (s: string) => new RegExp(`(?<![\\w.-])${s.replaceAll(".", "\\.")}(?![\\w])`);
// A column name as a string.
const literal = (s: string) => new RegExp(`["'\`]${s}["'\`]`);

/** Files that may name a tier's files, each with the reason. */
const NAMES_ALLOWED: Readonly<Record<string, string>> = {
  "lib/writeup/questions.ts": "the seed's 20 questions, word for word, name the day's files",
};

Deno.test("no tier's CSV file name appears as a string outside its tier's folder (lib, tools, bench)", async () => {
  const files = [
    ...await sources(join(ROOT, "lib")),
    ...await sources(join(ROOT, "tools")),
    ...await sources(join(ROOT, "bench")),
  ];
  const found: string[] = [];
  for (const t of TIERS) {
    for (const p of files.filter((p) => !p.includes(`/lib/tiers/${t.key}/`))) {
      if (relative(ROOT, p) in NAMES_ALLOWED) continue;
      const text = await code(p);
      for (const f of t.files) if (word(f.name).test(text)) found.push(`${relative(ROOT, p)}: ${f.name}`);
      for (const md of [t.writeup].filter((x): x is string => !!x)) {
        if (word(md).test(text)) found.push(`${relative(ROOT, p)}: ${md}`);
      }
    }
  }
  assert.deepEqual(found, [], "a tier's file named outside its folder: read it through the tier (TIERS)");
});

Deno.test("no tier's column name appears as a string in the readers of run data (writeup, compare, report)", async () => {
  const files =
    (await Promise.all(["writeup", "compare", "report"].map((d) => sources(join(ROOT, "lib", d)))))
      .flat();
  const found: string[] = [];
  for (const t of TIERS) {
    // Names with an underscore are a tier's own (ttft_ms, max_concurrency); plain words (ok, value, engine)
    // are every module's words.
    const cols = [...new Set(t.files.flatMap((f) => f.columns))].filter((c) => c.includes("_"));
    for (const p of files) {
      const text = await code(p);
      for (const c of cols) if (literal(c).test(text)) found.push(`${relative(ROOT, p)}: ${t.key}.${c}`);
    }
  }
  assert.deepEqual(found, [], "a tier's column named outside its folder: take it from the tier's facts");
});

Deno.test("every tier's files have the columns a full default run wrote before the tier contract", async () => {
  const rec = await readRecordedRun(join(ROOT, "lib/tiers/testdata/run_contract_default.json"));
  const written = new Set(Object.keys(rec.columns));
  for (const t of TIERS) {
    for (const f of t.files) {
      assert.ok(written.has(f.name), `${t.key}: ${f.name} was not written by the recorded run`);
      assert.deepEqual([...f.columns], rec.columns[f.name], `${t.key}: the columns of ${f.name}`);
    }
  }
  const declared = new Set(TIERS.flatMap((t) => t.files.map((f) => f.name)));
  assert.deepEqual([...written].filter((f) => !declared.has(f)), [], "a CSV of the run no tier declares");
});

Deno.test("the tiers have unique snake_case keys, their notebooks exist, and no file is written by two", async () => {
  checkTiers(TIERS);
  assert.deepEqual(TIERS.map((t) => [t.key, t.number]), [["ttft", "1"], ["prefix", "2"], ["kv", "3a"], [
    "batching",
    "3b",
  ]]);
  for (const t of TIERS) await Deno.stat(join(ROOT, "notebooks", `${t.notebook}.ipynb`));
  const bad = [...TIERS, { ...TIERS[0], key: "ttft" }];
  assert.throws(() => checkTiers(bad), /Tier key 'ttft' is used twice/);
});
