/**
 * What `./servelab compare` checks and shows for Tier 1: points are launches (and the attach point of an
 * external engine) by series; warm TTFT p50 and p95 and cold TTFT p50 per request.
 * @module
 */
import type { CompareMetric, CompareRows, CsvTextRow, PointSpec } from "../tier.ts";
import { measuredValues } from "../_compare.ts";
import { TTFT_FILES } from "./tables.ts";

/** Tier 1's points: one per launch and series; the prompt length asked for is the workload. */
export const TTFT_COMPARE_POINTS: readonly PointSpec[] = [
  {
    tier: "Tier 1",
    file: TTFT_FILES.requests,
    key: ["point_id", "series"],
    params: ["prompt_tokens_target"],
    counts: () => true,
  },
];

/**
 * Tier 1's compared metrics: warm TTFT p50 and p95, cold TTFT p50 (per request, successful ones).
 *
 * @example
 * ```ts
 * ttftCompare((file) => [rowsA, rowsB]).map((m) => m.metric); // ["warm ttft_ms p50", ...]
 * ```
 */
export function ttftCompare(rows: CompareRows): CompareMetric[] {
  const both = rows(TTFT_FILES.requests);
  if (!both) return [];
  const [a, b] = both;
  const series = (s: string) => (r: CsvTextRow) => r.series === s;
  const ms = (pred: (r: CsvTextRow) => boolean) =>
    [measuredValues(a, "ttft_ms", pred), measuredValues(b, "ttft_ms", pred)] as const;
  return [
    { kind: "sample", metric: "warm ttft_ms p50", ...pair(ms(series("warm"))), p: 0.5 },
    { kind: "sample", metric: "warm ttft_ms p95", ...pair(ms(series("warm"))), p: 0.95 },
    { kind: "sample", metric: "cold ttft_ms p50", ...pair(ms(series("cold"))), p: 0.5 },
  ];
}

const pair = ([a, b]: readonly [number[], number[]]) => ({ a, b });
