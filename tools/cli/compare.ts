/**
 * `./servelab compare RUN_A RUN_B [RUN_C ...] [--json] [--no-html]`: each run's metrics against the first
 * run's, side by side with a noise verdict, and an HTML page (reports/compare/<A>_vs_<B>....html) with each
 * tier's curves of every run overlaid, the points beyond noise marked and the parameters that differ listed.
 * Exit 0 compared, 1 refused (workloads differ: manifests, or a point both runs measured with different
 * parameters; the page is still written, with the differences), 2 bad arguments or unreadable runs. Points
 * measured by one run only are left out and listed.
 * @module
 */
import { dirname } from "node:path";
import { type CompareResult, type CompareRow, compareRuns, writeComparePage } from "../../lib/compare/mod.ts";
import { writeRunsIndex } from "../../lib/writeup/mod.ts";

/** Where main writes; tests pass their own. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const USAGE = `Usage: ./servelab compare RUN_A RUN_B [RUN_C ...] [--json] [--no-html]
  (run ids under reports/ or folder paths; the first run is the baseline)

Prints each run's metrics against the first run's with a noise verdict, and writes
reports/compare/<A>_vs_<B>.html: each tier's curves of every run on one chart, the points that
differ beyond noise ringed, and the parameters that differ between the runs.
  --json     print the comparisons as JSON (one object for two runs, a list for more)
  --no-html  do not write the HTML page`;

const fmt = (v: number | undefined, digits = 3) => v === undefined ? "-" : String(Number(v.toFixed(digits)));

/** The aligned text table of compared rows. */
export function formatRows(rows: readonly CompareRow[]): string[] {
  const head = ["tier", "metric", "A", "B", "diff", "diff %", "beyond noise?", "test"];
  const body = rows.map((r) => [
    r.tier,
    r.metric,
    fmt(r.a),
    fmt(r.b),
    fmt(r.diff),
    fmt(r.diff_pct, 1),
    r.beyond_noise === undefined ? "-" : r.beyond_noise ? "YES" : "no",
    r.test,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  return [head, ...body].map((cols) => cols.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
}

/**
 * Runs the verb.
 *
 * @example
 * ```ts
 * const code = await main(["run-a", "run-b", "--json"]);
 * ```
 */
export async function main(
  args: string[],
  io: Io = { out: (l) => console.log(l), err: (l) => console.error(l) },
  options: { root?: string } = {},
): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.out(USAGE);
    return 0;
  }
  const json = args.includes("--json");
  const html = !args.includes("--no-html");
  const unknown = args.filter((a) => a.startsWith("-") && a !== "--json" && a !== "--no-html");
  const runs = args.filter((a) => !a.startsWith("-"));
  if (unknown.length || runs.length < 2) {
    io.err(
      `servelab compare: expected two runs or more and optionally --json, --no-html, got '${
        args.join(" ")
      }'.\n\n${USAGE}`,
    );
    return 2;
  }
  const results: CompareResult[] = [];
  try {
    for (const other of runs.slice(1)) results.push(await compareRuns(runs[0], other, options));
  } catch (e) {
    io.err(`servelab compare: ${(e as Error).message}`);
    return 2;
  }
  if (json) io.out(JSON.stringify(results.length === 1 ? results[0] : results, null, 2));
  for (const result of results) {
    if (result.kind === "refused") {
      if (!json) {
        io.err(`servelab compare: refusing to compare ${result.a} and ${result.b}: their workloads differ.`);
        for (const m of result.mismatches) io.err(`  ${m}`);
      }
      continue;
    }
    if (!json) {
      io.out(`A = ${result.a}, B = ${result.b}; diff = B - A`);
      for (const line of formatRows(result.rows)) io.out(line);
      for (const m of result.missing_tiers) io.out(m);
      for (const m of result.left_out) io.out(m);
    }
  }
  if (html) {
    try {
      const { path } = await writeComparePage(runs, options);
      // reports/index.html lists the compare pages.
      await writeRunsIndex(dirname(dirname(path)));
      (json ? io.err : io.out)(`compare page: ${path}`);
    } catch (e) {
      io.err(`servelab compare: the HTML page could not be written: ${(e as Error).message}`);
      return 2;
    }
  }
  return results.some((r) => r.kind === "refused") ? 1 : 0;
}
