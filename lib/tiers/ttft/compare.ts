/**
 * What `./servelab compare` checks and shows for Tier 1: points are launches (and the attach point of an
 * external engine) by series; warm TTFT p50 and p95 and cold TTFT p50 per request.
 * @module
 */
import type { CompareCurve, CompareMetric, CompareRows, CsvTextRow, PointSpec, RunRows } from "../tier.ts";
import { cellNumber, curvePoints, measuredValues } from "../_compare.ts";
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

/**
 * Tier 1's curves for compare's page: TTFT by series (cold, warm, after idle, chat) and warm TTFT against
 * prompt length; each point the median of its requests, tested per request.
 *
 * @example
 * ```ts
 * ttftCompareCurves((file) => rows.get(file)).map((c) => c.id); // ["ttft_by_series", "ttft_by_length"]
 * ```
 */
export function ttftCompareCurves(rows: RunRows): CompareCurve[] {
  const r = rows(TTFT_FILES.requests);
  if (!r) return [];
  const order = ["cold", "warm", "idle", "chat"];
  return [
    {
      id: "ttft_by_series",
      title: "TTFT by series (median of the requests)",
      x: { label: "series" },
      y: { label: "TTFT (ms)" },
      test: "sample",
      points: curvePoints(r.filter((x) => order.includes(x.series ?? "")), {
        x: (x) => x.series,
        col: "ttft_ms",
      }).sort((a, b) => order.indexOf(String(a.x)) - order.indexOf(String(b.x))),
    },
    {
      id: "ttft_by_length",
      title: "TTFT against prompt length (median of the requests)",
      x: { label: "prompt tokens", log: true },
      y: { label: "TTFT (ms)" },
      test: "sample",
      points: curvePoints(r.filter((x) => x.series === "length"), {
        x: (x) => cellNumber(x.prompt_tokens_target),
        col: "ttft_ms",
      }),
    },
  ].filter((c) => c.points.length > 0) as CompareCurve[];
}
