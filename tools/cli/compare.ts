/**
 * `./servelab compare RUN_A RUN_B [--json]`: two runs' metrics side by side with a noise verdict.
 * Exit 0 compared, 1 refused (workloads differ: manifests, or a point both runs measured with different
 * parameters), 2 bad arguments or unreadable runs. Points measured by one run only are left out and listed.
 * @module
 */
import { type CompareRow, compareRuns } from "../../lib/compare/mod.ts";

/** Where main writes; tests pass their own. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const USAGE = "Usage: ./servelab compare RUN_A RUN_B [--json]   (run ids under reports/ or folder paths)";

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
  const unknown = args.filter((a) => a.startsWith("-") && a !== "--json");
  const runs = args.filter((a) => !a.startsWith("-"));
  if (unknown.length || runs.length !== 2) {
    io.err(`servelab compare: expected two runs and optionally --json, got '${args.join(" ")}'.\n\n${USAGE}`);
    return 2;
  }
  let result;
  try {
    result = await compareRuns(runs[0], runs[1], options);
  } catch (e) {
    io.err(`servelab compare: ${(e as Error).message}`);
    return 2;
  }
  if (json) io.out(JSON.stringify(result, null, 2));
  if (result.kind === "refused") {
    if (!json) {
      io.err(`servelab compare: refusing to compare ${result.a} and ${result.b}: their workloads differ.`);
      for (const m of result.mismatches) io.err(`  ${m}`);
    }
    return 1;
  }
  if (!json) {
    io.out(`A = ${result.a}, B = ${result.b}; diff = B - A`);
    for (const line of formatRows(result.rows)) io.out(line);
    for (const m of result.missing_tiers) io.out(m);
    for (const m of result.left_out) io.out(m);
  }
  return 0;
}
