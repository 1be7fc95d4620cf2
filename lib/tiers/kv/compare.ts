/**
 * What `./servelab compare` checks and shows for Tier 3a: points by role; the KV pool and max concurrency
 * at each max-model-len (exact values: one engine start each).
 * @module
 */
import type { CompareCurve, CompareMetric, CompareRows, PointSpec, RunRows } from "../tier.ts";
import { cellNumber, curvePoints } from "../_compare.ts";
import { KV_SCALING_FILE } from "./measure.ts";

/** Tier 3a's points: one per point and role; the memory settings are the workload. */
export const KV_COMPARE_POINTS: readonly PointSpec[] = [
  {
    tier: "Tier 3a",
    file: KV_SCALING_FILE,
    key: ["point_id", "role"],
    params: ["max_model_len", "gpu_memory_utilization", "kv_cache_memory_bytes"],
  },
];

/**
 * Tier 3a's compared metrics: KV pool tokens and max concurrency per max-model-len.
 *
 * @example
 * ```ts
 * kvCompare((file) => [rowsA, rowsB]);
 * ```
 */
export function kvCompare(rows: CompareRows): CompareMetric[] {
  const both = rows(KV_SCALING_FILE);
  if (!both) return [];
  const [a, b] = both;
  const lens = [...new Set([...a, ...b].map((r) => r.max_model_len))].sort((x, y) => Number(x) - Number(y));
  const out: CompareMetric[] = [];
  for (const len of lens) {
    const ra = a.find((r) => r.max_model_len === len);
    const rb = b.find((r) => r.max_model_len === len);
    for (const col of ["kv_cache_tokens", "max_concurrency"]) {
      out.push({
        kind: "exact",
        metric: `${col} @max_model_len ${len}`,
        a: cellNumber(ra?.[col]),
        b: cellNumber(rb?.[col]),
      });
    }
  }
  return out;
}

/**
 * Tier 3a's curve for compare's page: max concurrency (full-length requests) against max-model-len, one
 * engine start each (exact values).
 *
 * @example
 * ```ts
 * kvCompareCurves((file) => rows.get(file))[0].id; // "kv_concurrency"
 * ```
 */
export function kvCompareCurves(rows: RunRows): CompareCurve[] {
  const r = (rows(KV_SCALING_FILE) ?? []).filter((x) => x.role === "sweep" && x.started === "true");
  const points = curvePoints(r, { x: (x) => cellNumber(x.max_model_len), col: "max_concurrency" });
  return points.length
    ? [{
      id: "kv_concurrency",
      title: "Max concurrency against max-model-len",
      x: { label: "max-model-len (tokens)", log: true },
      y: { label: "full-length requests at once" },
      test: "exact",
      points,
    }]
    : [];
}
