/**
 * The per-point workload check of a comparison: two runs can share a manifest (model, size, inputs)
 * yet have measured different points, e.g. a notebook whose parameters cell was edited (another
 * concurrency grid, prompt length or request count). Each tier CSV's rows are grouped into points
 * by key columns; each point's workload parameters (distinct values of parameter columns, and its
 * request count) are compared between the runs.
 *
 * The rule (docs/adr/0009-health-check.md, "Compare"): a point both runs measured with different
 * parameters refuses the comparison, naming tier, point, parameter and both values; a point only one
 * run measured is left out (the common points are compared) and named in `left_out`.
 * @module
 */

import type { CsvTextRow, PointSpec } from "../tiers/tier.ts";

/** One CSV row, as csv-parse gives it. */
export type Row = CsvTextRow;
export type { PointSpec };

/** What {@link checkPoints} found for one file. */
export interface PointCheck {
  /** Points measured by both runs with different parameters: "Tier 3b c4-r1 (concurrency_sweep.csv): ...". */
  mismatches: string[];
  /** Points measured by one run only, left out of the comparison. */
  left_out: string[];
  /** Parameter columns one run's file lacks (not checked). */
  unchecked: string[];
  /** Row filters keeping the common points. */
  keepA: (r: Row) => boolean;
  keepB: (r: Row) => boolean;
}

const norm = (v: string | undefined) => {
  if (v === undefined || v === "") return "";
  const n = Number(v);
  return Number.isFinite(n) ? String(n) : v;
};

function pointsOf(spec: PointSpec, rows: readonly Row[], params: readonly string[]) {
  const out = new Map<string, Map<string, Set<string>>>();
  for (const r of rows) {
    const key = spec.key.map((k) => r[k] ?? "").join("|");
    let p = out.get(key);
    if (!p) {
      p = new Map(params.map((c) => [c, new Set<string>()]));
      if (spec.counts) p.set("requests", new Set(["0"]));
      out.set(key, p);
    }
    if (!spec.ok_rows_only || r.ok !== "false") { for (const c of params) p.get(c)!.add(norm(r[c])); }
    if (spec.counts?.(r)) {
      const n = p.get("requests")!;
      const v = Number([...n][0]) + 1;
      n.clear();
      n.add(String(v));
    }
  }
  return out;
}

const show = (s: Set<string> | undefined) =>
  s === undefined
    ? "absent"
    : s.size === 0
    ? "-"
    : [...s].map((v) => v === "" ? "(empty)" : v).sort().join("/");

/**
 * Compares the points of one tier CSV between two runs.
 *
 * @example
 * ```ts
 * const c = checkPoints(BATCHING_COMPARE_POINTS[0], rowsA, rowsB);
 * c.mismatches; // ["Tier 3b c4-r1 (concurrency_sweep.csv): concurrency 4 vs 8"]
 * ```
 */
export function checkPoints(spec: PointSpec, a: readonly Row[], b: readonly Row[]): PointCheck {
  const colsA = new Set(a.flatMap((r) => Object.keys(r)));
  const colsB = new Set(b.flatMap((r) => Object.keys(r)));
  const unchecked: string[] = [];
  const params = spec.params.filter((c) => {
    if (colsA.has(c) && colsB.has(c)) return true;
    if (colsA.has(c) || colsB.has(c)) {
      unchecked.push(
        `${spec.tier} (${spec.file}): column ${c} is in run ${colsA.has(c) ? "A" : "B"} only; not checked`,
      );
    }
    return false;
  });
  const [pa, pb] = [pointsOf(spec, a, params), pointsOf(spec, b, params)];
  const mismatches: string[] = [];
  const left_out: string[] = [];
  const common = new Set<string>();
  for (const key of [...new Set([...pa.keys(), ...pb.keys()])].sort()) {
    const [xa, xb] = [pa.get(key), pb.get(key)];
    if (!xa || !xb) {
      left_out.push(
        `${spec.tier} point ${key} (${spec.file}): measured in run ${xa ? "A" : "B"} only, left out`,
      );
      continue;
    }
    common.add(key);
    const diffs = [...xa.keys()].filter((c) => show(xa.get(c)) !== show(xb.get(c)))
      .map((c) => `${c} ${show(xa.get(c))} vs ${show(xb.get(c))}`);
    if (diffs.length) mismatches.push(`${spec.tier} point ${key} (${spec.file}): ${diffs.join(", ")}`);
  }
  const keep = (r: Row) => common.has(spec.key.map((k) => r[k] ?? "").join("|"));
  return { mismatches, left_out, unchecked, keepA: keep, keepB: keep };
}
