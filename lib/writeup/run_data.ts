/**
 * A run folder's data as the write-up reads it: the manifest and every CSV of the tiers (absent when the
 * tier did not write them), each read through its tier's row schema, and each tier's status.
 * @module
 */
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import type { Row } from "../report/fact.ts";
import { parseCsvCells } from "../run/csv.ts";
import type { RunData, TierStatus } from "../report/fact_book.ts";
import { TIERS } from "../tiers/mod.ts";
import type { AnyTier, TierFile } from "../tiers/tier.ts";

export { type FactBook, factBook, jsonPath, type RunData, type TierStatus } from "../report/fact_book.ts";

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * One tier file's rows as text (empty cells undefined), after every row passed the file's schema on the
 * columns the file has: a file cut to a few columns (a fixture, an older run) is read, and a fact that needs
 * a column it lacks is "not measured"; a cell that breaks its column's type is an error naming the line.
 */
function tierRows(path: string, text: string, file: TierFile): Row[] {
  const first = text.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0];
  const header = new Set((parse(first) as string[][])[0] ?? []);
  const present = file.columns.filter((c) => header.has(c));
  try {
    return parseCsvCells(text, file.schema.pick(Object.fromEntries(present.map((c) => [c, true]))), {
      source: path,
    });
  } catch (e) {
    throw new Error(
      `${(e as Error).message} It does not hold ${file.name} rows as its tier writes them (${file.about}); ` +
        "rerun the tier into a fresh run folder.",
    );
  }
}

/**
 * Reads a run folder: manifest.json (required) and every file of `tiers` that exists, through its schema.
 *
 * @example
 * ```ts
 * const data = await readRunData("reports/20261128-055714-sim-1e89");
 * data.status.ttft; // "measured"
 * ```
 */
export async function readRunData(dir: string, tiers: readonly AnyTier[] = TIERS): Promise<RunData> {
  const mpath = join(dir, "manifest.json");
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(await Deno.readTextFile(mpath));
  } catch (e) {
    throw new Error(
      `Cannot read the run's manifest ${mpath}: ${(e as Error).message}. ` +
        "Point SERVELAB_RUN_DIR at a run folder written by ./servelab run.",
    );
  }
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile) files.push(e.name);
  files.sort();
  const csv = new Map<string, Row[]>();
  const status: Record<string, TierStatus> = {};
  for (const t of tiers) {
    for (const f of t.files) {
      const path = join(dir, f.name);
      const text = await readText(path);
      if (text !== undefined) csv.set(f.name, tierRows(path, text, f));
    }
    const main = csv.get(t.files[0].name);
    status[t.key] = main && main.length > 0
      ? "measured"
      : files.includes(`${t.notebook}.ipynb`) || files.includes(`${t.notebook}.html`)
      ? "no_data"
      : "not_run";
  }
  return { dir, manifest, csv, status, files };
}
