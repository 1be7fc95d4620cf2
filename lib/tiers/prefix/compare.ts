/**
 * What `./servelab compare` checks and shows for Tier 2: points by arm and repeat, with the workload
 * columns; TTFT p50 with caching on and off at the longest shared prefix both runs measured.
 * @module
 */
import type { CompareCurve, CompareMetric, CompareRows, CsvTextRow, PointSpec, RunRows } from "../tier.ts";
import { cellNumber, curvePoints, measuredValues } from "../_compare.ts";
import { PREFIX_FILES } from "./files.ts";

/** Tier 2's points: one per point, arm and repeat; the sweep's coordinates are the workload. */
export const PREFIX_COMPARE_POINTS: readonly PointSpec[] = [
  {
    tier: "Tier 2",
    file: PREFIX_FILES.requests,
    key: ["point_id", "arm", "repeat"],
    params: ["sweep", "concurrency", "prefix_tokens", "share_pct", "working_set", "load_factor"],
    counts: (r) => r.phase === "measure",
  },
];

/**
 * Tier 2's compared metrics: TTFT p50 per arm at the longest prefix of the length sweep both runs have.
 *
 * @example
 * ```ts
 * prefixCompare((file) => [rowsA, rowsB]);
 * ```
 */
export function prefixCompare(rows: CompareRows): CompareMetric[] {
  const both = rows(PREFIX_FILES.requests);
  if (!both) return [];
  const [a, b] = both;
  const len = (rs: CsvTextRow[]) =>
    Math.max(...rs.filter((r) => r.sweep === "length").map((r) => cellNumber(r.prefix_tokens) ?? 0));
  const longest = Math.min(len(a), len(b));
  return ["on", "off"].map((arm) => {
    const pred = (r: CsvTextRow) =>
      r.sweep === "length" && r.phase === "measure" && r.arm === arm &&
      cellNumber(r.prefix_tokens) === longest;
    return {
      kind: "sample" as const,
      metric: `ttft_ms p50 caching ${arm} @${longest} prefix tokens`,
      a: measuredValues(a, "ttft_ms", pred),
      b: measuredValues(b, "ttft_ms", pred),
      p: 0.5,
    };
  });
}

/**
 * Tier 2's curve for compare's page: TTFT against the shared-prefix length, caching off and on, at the
 * length sweep's lowest concurrency; each point the median of its measured requests, tested per request.
 *
 * @example
 * ```ts
 * prefixCompareCurves((file) => rows.get(file))[0].points.map((p) => p.series); // ["caching off", ...]
 * ```
 */
export function prefixCompareCurves(rows: RunRows): CompareCurve[] {
  const r = (rows(PREFIX_FILES.requests) ?? []).filter((x) => x.sweep === "length" && x.phase === "measure");
  const cs = r.map((x) => cellNumber(x.concurrency)).filter((c): c is number => c !== undefined);
  if (!cs.length) return [];
  const c = Math.min(...cs);
  const points = curvePoints(r.filter((x) => cellNumber(x.concurrency) === c), {
    x: (x) => cellNumber(x.prefix_tokens),
    col: "ttft_ms",
    series: (x) => `caching ${x.arm}`,
  });
  return points.length
    ? [{
      id: "prefix_ttft_by_length",
      title: `TTFT against shared-prefix length, caching off and on (concurrency ${c})`,
      x: { label: "shared prefix (tokens)", log: true },
      y: { label: "TTFT p50 (ms)" },
      test: "sample",
      points,
    }]
    : [];
}
