/**
 * The run contract check: a run folder holds the same files, each CSV the same header, and facts.json the
 * same fact ids as a recorded run (lib/tiers/testdata/run_contract_*.json, recorded before the tier
 * contract of issue 15 so that the restructuring is shown to change no output). The gate runs it on the
 * notebooks step's run (test size); `deno run -A tools/run_contract.ts RUN_DIR [RECORDED.json]` on any run.
 * @module
 */
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { z } from "zod";

/** A recorded run: its files (names in the folder), each CSV's header, and the ids of its facts. */
export const RecordedRun = z.object({
  about: z.string(),
  files: z.array(z.string()),
  columns: z.record(z.string(), z.array(z.string())),
  facts: z.array(z.string()),
});
export type RecordedRun = z.infer<typeof RecordedRun>;

/** Reads a recorded run file. */
export async function readRecordedRun(path: string): Promise<RecordedRun> {
  return RecordedRun.parse(JSON.parse(await Deno.readTextFile(path)));
}

/** The files the contract covers: data and write-ups (pages and notebooks depend on how the run was made). */
const DATA = /\.(csv|md|json)$/;

/** The header of a CSV file. */
async function header(path: string): Promise<string[]> {
  const first = (await Deno.readTextFile(path)).split(/\r?\n/, 1)[0];
  return (parse(first) as string[][])[0] ?? [];
}

/**
 * How a run folder differs from a recorded run: files missing or added, CSV headers changed, fact ids the
 * recording does not know. Empty when it holds to the contract. A recorded fact the run lacks is a
 * difference only with `strict` (which facts a run has depends on its data: a launch whose client
 * self-check failed leaves its TTFT facts out), else it is returned in `absent`.
 *
 * @example
 * ```ts
 * const diffs = await runContractDiffs("reports/test-x", await readRecordedRun("lib/tiers/testdata/run_contract_test.json"));
 * ```
 */
export async function runContractDiffs(
  dir: string,
  rec: RecordedRun,
  opts: { strict?: boolean; absent?: string[] } = {},
): Promise<string[]> {
  const out: string[] = [];
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile && DATA.test(e.name)) files.push(e.name);
  const have = new Set(files);
  const want = new Set(rec.files.filter((f) => DATA.test(f)));
  for (const f of want) if (!have.has(f)) out.push(`file ${f}: recorded, not written`);
  for (const f of files.sort()) if (!want.has(f)) out.push(`file ${f}: written, not recorded`);
  for (const [f, cols] of Object.entries(rec.columns)) {
    if (!have.has(f)) continue;
    const got = await header(join(dir, f));
    if (got.join(",") !== cols.join(",")) {
      out.push(`columns of ${f}: recorded [${cols.join(", ")}], written [${got.join(", ")}]`);
    }
  }
  let facts: string[] = [];
  try {
    facts = (JSON.parse(await Deno.readTextFile(join(dir, "facts.json"))).facts as { id: string }[]).map((
      f,
    ) => f.id);
  } catch (e) {
    out.push(`facts.json: cannot read (${(e as Error).message})`);
  }
  const gotFacts = new Set(facts);
  const wantFacts = new Set(rec.facts);
  for (const id of rec.facts) {
    if (gotFacts.has(id)) continue;
    if (opts.strict) out.push(`fact ${id}: recorded, not in facts.json`);
    else opts.absent?.push(id);
  }
  for (const id of [...gotFacts].sort()) {
    if (!wantFacts.has(id)) out.push(`fact ${id}: in facts.json, not recorded`);
  }
  return out;
}

if (import.meta.main) {
  const strict = Deno.args.includes("--strict");
  const [dir, recorded = "lib/tiers/testdata/run_contract_test.json"] = Deno.args.filter((a) =>
    a !== "--strict"
  );
  if (!dir) {
    console.error("Usage: deno run -A tools/run_contract.ts RUN_DIR [RECORDED.json] [--strict]");
    Deno.exit(2);
  }
  const absent: string[] = [];
  const diffs = await runContractDiffs(dir, await readRecordedRun(recorded), { strict, absent });
  for (const d of diffs) console.log(d);
  if (absent.length) {
    console.log(`recorded facts this run has no data for (not a difference): ${absent.join(", ")}`);
  }
  console.log(
    diffs.length ? `${dir}: ${diffs.length} difference(s) from ${recorded}` : `${dir}: as recorded`,
  );
  Deno.exit(diffs.length ? 1 : 0);
}
