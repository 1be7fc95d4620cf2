/**
 * What `./servelab compare` checks and shows for Tier 3b: sweep points with their coordinates, request
 * rows' prompt lengths (checked only); throughput and TTFT p95 per concurrency across repeats.
 * @module
 */
import type { CompareCurve, CompareMetric, CompareRows, CsvTextRow, PointSpec, RunRows } from "../tier.ts";
import { cellNumber, curvePoints, measuredValues } from "../_compare.ts";
import { BATCHING_FILES } from "./measure.ts";

/** Tier 3b's points: sweep points (their coordinates are the workload), and the requests' prompt lengths. */
export const BATCHING_COMPARE_POINTS: readonly PointSpec[] = [
  {
    tier: "Tier 3b",
    file: BATCHING_FILES.concurrency,
    key: ["point_id"],
    params: ["sweep", "concurrency", "rate_fraction"],
  },
  {
    tier: "Tier 3b",
    file: BATCHING_FILES.requests,
    key: ["point_id"],
    params: ["prompt_tokens"],
    ok_rows_only: true,
    // Closed-loop request counts are set by the parameters; open-loop ones follow the measured capacity.
    counts: (r) => r.phase === "measure" && r.sweep === "concurrency",
    check_only: true,
  },
];

/**
 * Tier 3b's compared metrics: throughput and TTFT p95 at each concurrency, one value per repeat.
 *
 * @example
 * ```ts
 * batchingCompare((file) => [rowsA, rowsB]);
 * ```
 */
export function batchingCompare(rows: CompareRows): CompareMetric[] {
  const both = rows(BATCHING_FILES.concurrency);
  if (!both) return [];
  const [a, b] = both;
  const cs = [...new Set([...a, ...b].map((r) => r.concurrency))].sort((x, y) => Number(x) - Number(y));
  const out: CompareMetric[] = [];
  for (const c of cs) {
    const pred = (r: CsvTextRow) => r.concurrency === c && r.valid !== "false";
    for (const col of ["throughput_rps", "ttft_p95_ms"]) {
      out.push({
        kind: "repeats",
        metric: `${col} @concurrency ${c}`,
        a: measuredValues(a, col, pred),
        b: measuredValues(b, col, pred),
      });
    }
  }
  return out;
}

/**
 * Tier 3b's curves for compare's page: throughput and TTFT p95 against concurrency, each point the median
 * of the valid repeats (invalid repeats, where the client was too slow, are left out), tested by repeats.
 *
 * @example
 * ```ts
 * batchingCompareCurves((file) => rows.get(file)).map((c) => c.id); // ["batching_throughput", ...]
 * ```
 */
export function batchingCompareCurves(rows: RunRows): CompareCurve[] {
  const r = (rows(BATCHING_FILES.concurrency) ?? []).filter((x) => x.sweep !== "rate" && x.valid === "true");
  const curve = (id: string, col: string, title: string, y: string): CompareCurve => ({
    id,
    title,
    x: { label: "concurrency", log: true },
    y: { label: y },
    test: "repeats",
    points: curvePoints(r, { x: (x) => cellNumber(x.concurrency), col }),
  });
  return [
    curve(
      "batching_throughput",
      "throughput_rps",
      "Throughput against concurrency (valid repeats)",
      "requests/s",
    ),
    curve(
      "batching_ttft_p95",
      "ttft_p95_ms",
      "TTFT p95 against concurrency (valid repeats)",
      "TTFT p95 (ms)",
    ),
  ].filter((c) => c.points.length > 0);
}
