/**
 * From the batching CSVs' rows to the tier's findings, pure: per point (over its repeats) the median
 * throughput with the repeats' range, latency percentiles pooled over the valid repeats with bootstrap
 * confidence intervals across requests, the knee, the sweet spot, the highest Poisson rate meeting the
 * SLO, the Little's-law check and the list of invalid points.
 *
 * TTFT and E2E are from the send in the concurrency sweep and from the scheduled arrival in the rate
 * sweep, as in the per-point rows (`latency_from`).
 *
 * Confidence intervals: 95% (ci_confidence) percentile bootstrap, `bootstrapCi` from lib/analysis,
 * across the measured successful requests of a point's valid repeats pooled together (so they cover
 * request-to-request variation, not run-to-run drift: the repeats' range of throughput shows that).
 * ITL percentiles pool every inter-chunk gap; their interval bootstraps at most `ci_max_itl_gaps` gaps
 * drawn from the pool (gaps of one request are correlated, so an interval on all of them as if
 * independent would be too narrow).
 * @module
 */
import { z } from "zod";
import { createRng } from "../../base/random.ts";
import { bootstrapCi, median, percentile } from "../../base/stats.ts";
import { columnsOf, csvBoolean, csvNumber } from "../../run/csv.ts";
import {
  batchingKnee,
  type BatchingKneeResult,
  batchingRateAtSlo,
  type BatchingRateCapacity,
  type BatchingSlo,
  batchingSweetSpot,
  type BatchingSweetSpotResult,
} from "./knee.ts";
import type { BatchingParams } from "./params.ts";
import type { BatchingPointRow, BatchingRequestRow, BatchingSweep } from "./point_row.ts";

/** A percentile with its confidence interval (undefined bounds when there were no values). */
export interface BatchingEstimate {
  value?: number;
  lo?: number;
  hi?: number;
  n: number;
}

/** The latency metrics summarized per point, ms. */
export const BATCHING_LATENCY_METRICS = ["ttft_ms", "itl_ms", "tpot_ms", "e2e_ms", "queue_delay_ms"] as const;
export type BatchingLatencyMetric = typeof BATCHING_LATENCY_METRICS[number];
/** The percentiles reported. */
export const BATCHING_PERCENTILES = [50, 95, 99] as const;

/** One point over its repeats. */
export interface BatchingPointSummary {
  sweep: BatchingSweep;
  /** The x of the point: concurrency (closed loop) or target rate (open loop). */
  x: number;
  concurrency?: number;
  target_rps?: number;
  rate_fraction?: number;
  repeats: number;
  valid_repeats: number;
  /** At least one valid repeat: only valid repeats feed the numbers below (else all, marked invalid). */
  valid: boolean;
  invalid_reasons: string[];
  throughput_rps?: number;
  throughput_min_rps?: number;
  throughput_max_rps?: number;
  offered_rps?: number;
  output_tok_s?: number;
  goodput_rps?: number;
  good_fraction?: number;
  /** metric -> percentile -> estimate, pooled over the used repeats' requests. */
  latency: Record<BatchingLatencyMetric, Record<number, BatchingEstimate>>;
  inflight_mean?: number;
  little_inflight?: number;
  little_dev_pct?: number;
  server_running_mean?: number;
  server_waiting_max?: number;
  server_kv_usage_max?: number;
  server_preemptions?: number;
}

/** The tier's findings. */
export interface BatchingFindings {
  concurrency: BatchingPointSummary[];
  rate: BatchingPointSummary[];
  slo: BatchingSlo;
  knee: BatchingKneeResult;
  /** The knee rule applied to each repeat's valid points alone (undefined: no knee in that repeat). */
  knee_by_repeat: { repeat: number; concurrency?: number }[];
  sweet: BatchingSweetSpotResult;
  capacity?: BatchingRateCapacity;
  /** The highest median throughput of a valid concurrency point. */
  peak?: { concurrency: number; throughput_rps: number; output_tok_s?: number };
  /** Largest |little_dev_pct| over valid concurrency points (steady state: a few %). */
  little_max_abs_dev_pct?: number;
  invalid: { point_id: string; reason: string }[];
  ci: { confidence: number; resamples: number; method: string };
}

const defined = <T>(xs: readonly (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);

/** Parses the space-separated `itl_gaps_ms` cell. */
export function batchingParseGaps(cell: string | undefined): number[] {
  if (!cell) return [];
  return cell.split(" ").map(Number).filter((x) => Number.isFinite(x));
}

function sample<T>(xs: readonly T[], max: number, seed: number): T[] {
  if (xs.length <= max) return [...xs];
  const rng = createRng(seed);
  return Array.from({ length: max }, () => xs[Math.floor(rng() * xs.length)]);
}

function estimates(
  values: readonly number[],
  opts: { resamples: number; confidence: number; seed: number; ci: boolean; ci_values?: readonly number[] },
): Record<number, BatchingEstimate> {
  const out: Record<number, BatchingEstimate> = {};
  for (const p of BATCHING_PERCENTILES) {
    const value = percentile(values, p);
    if (!opts.ci || value === undefined) {
      out[p] = { value, n: values.length };
      continue;
    }
    const ci = bootstrapCi(opts.ci_values ?? values, p, {
      seed: opts.seed + p,
      resamples: opts.resamples,
      confidence: opts.confidence,
    });
    out[p] = { value, lo: ci?.lo, hi: ci?.hi, n: values.length };
  }
  return out;
}

type CiParams = Pick<BatchingParams, "ci_resamples" | "ci_confidence" | "ci_max_itl_gaps">;

function summarizePoint(
  sweep: BatchingSweep,
  rows: readonly BatchingPointRow[],
  requests: readonly BatchingRequestRow[],
  P: CiParams,
  seed: number,
): BatchingPointSummary {
  const validRows = rows.filter((r) => r.valid);
  const used = validRows.length ? validRows : rows;
  const usedIds = new Set(used.map((r) => r.point_id));
  const reqs = requests.filter((q) => usedIds.has(q.point_id) && q.part === "measure");
  const fromIntended = sweep === "rate";
  const okReqs = reqs.filter((q) => q.ok);
  const med = (k: keyof BatchingPointRow) => median(defined(used.map((r) => r[k] as number | undefined)));
  const X = defined(used.map((r) => r.throughput_rps));
  const first = rows[0];
  const opts = { resamples: P.ci_resamples, confidence: P.ci_confidence, ci: true };
  const gaps = okReqs.flatMap((q) => batchingParseGaps(q.itl_gaps_ms));
  const latency = {
    ttft_ms: estimates(
      defined(okReqs.map((q) => (fromIntended ? q.ttft_from_intended_ms : q.ttft_ms))),
      { ...opts, seed: seed + 1_000 },
    ),
    itl_ms: estimates(gaps, {
      ...opts,
      seed: seed + 2_000,
      ci_values: sample(gaps, P.ci_max_itl_gaps, seed),
    }),
    tpot_ms: estimates(defined(okReqs.map((q) => q.tpot_ms)), { ...opts, seed: seed + 3_000 }),
    e2e_ms: estimates(
      defined(okReqs.map((q) => (fromIntended ? q.e2e_from_intended_ms : q.e2e_ms))),
      { ...opts, seed: seed + 4_000 },
    ),
    queue_delay_ms: estimates(defined(reqs.map((q) => q.queue_delay_ms)), { ...opts, ci: false, seed }),
  };
  const preempt = defined(used.map((r) => r.server_preemptions));
  return {
    sweep,
    x: (sweep === "concurrency" ? first.concurrency : first.target_rps) ?? NaN,
    concurrency: first.concurrency,
    target_rps: first.target_rps,
    rate_fraction: first.rate_fraction,
    repeats: rows.length,
    valid_repeats: validRows.length,
    valid: validRows.length > 0,
    invalid_reasons: rows.filter((r) => !r.valid).map((r) =>
      `repeat ${r.repeat}: ${r.invalid_reason ?? "invalid"}`
    ),
    throughput_rps: median(X),
    throughput_min_rps: X.length ? Math.min(...X) : undefined,
    throughput_max_rps: X.length ? Math.max(...X) : undefined,
    offered_rps: med("offered_rps"),
    output_tok_s: med("output_tok_s"),
    goodput_rps: med("goodput_rps"),
    good_fraction: med("good_fraction"),
    latency,
    inflight_mean: med("inflight_mean"),
    little_inflight: med("little_inflight"),
    little_dev_pct: med("little_dev_pct"),
    server_running_mean: med("server_running_mean"),
    server_waiting_max: maxOf(defined(used.map((r) => r.server_waiting_max))),
    server_kv_usage_max: maxOf(defined(used.map((r) => r.server_kv_usage_max))),
    server_preemptions: preempt.length ? preempt.reduce((a, b) => a + b, 0) : undefined,
  };
}

function maxOf(xs: readonly number[]): number | undefined {
  return xs.length ? Math.max(...xs) : undefined;
}

function groupBy<T>(xs: readonly T[], key: (x: T) => number): [number, T[]][] {
  const m = new Map<number, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return [...m].sort((a, b) => a[0] - b[0]);
}

const toSloPoint = (s: BatchingPointSummary) => ({
  concurrency: s.concurrency!,
  throughput_rps: s.throughput_rps,
  valid: s.valid,
  ttft_p95_ms: s.latency.ttft_ms[95].value,
  tpot_p95_ms: s.latency.tpot_ms[95].value,
});

/**
 * The tier's findings from the rows of concurrency_sweep.csv and rate_sweep.csv (`points`) and of
 * batching_requests.csv (`requests`).
 *
 * @example
 * ```ts
 * const F = batchingFindings(points, requests, P);
 * F.knee.reason; F.sweet.reason;
 * ```
 */
export function batchingFindings(
  points: readonly BatchingPointRow[],
  requests: readonly BatchingRequestRow[],
  P: BatchingParams,
): BatchingFindings {
  const slo: BatchingSlo = { ttft_p95_ms: P.slo_ttft_ms, tpot_p95_ms: P.slo_tpot_ms };
  const cRows = points.filter((r) => r.sweep === "concurrency" && r.concurrency !== undefined);
  const rRows = points.filter((r) => r.sweep === "rate" && r.target_rps !== undefined);
  const reqBy = new Map<string, BatchingRequestRow[]>();
  for (const q of requests) reqBy.set(q.point_id, [...(reqBy.get(q.point_id) ?? []), q]);
  const reqsOf = (rows: readonly BatchingPointRow[]) => rows.flatMap((r) => reqBy.get(r.point_id) ?? []);

  const concurrency = groupBy(cRows, (r) => r.concurrency!).map(([c, rows], i) =>
    summarizePoint("concurrency", rows, reqsOf(rows), P, 10_000 * (i + 1) + c)
  );
  // Rates of different repeats are the same fraction of the same peak; group by fraction.
  const rate = groupBy(rRows, (r) => r.rate_fraction ?? r.target_rps!).map(([, rows], i) =>
    summarizePoint("rate", rows, reqsOf(rows), P, 500_000 + 10_000 * i)
  );

  const kneeOpts = { min_gain: P.knee_gain };
  const knee = batchingKnee(concurrency.map(toSloPoint), kneeOpts);
  const repeats = [...new Set(cRows.map((r) => r.repeat))].sort((a, b) => a - b);
  const knee_by_repeat = repeats.map((repeat) => {
    const k = batchingKnee(
      cRows.filter((r) => r.repeat === repeat).map((r) => ({
        concurrency: r.concurrency!,
        throughput_rps: r.throughput_rps,
        valid: r.valid,
      })),
      kneeOpts,
    );
    return { repeat, concurrency: k.kind === "knee" ? k.concurrency : undefined };
  });
  const sweet = batchingSweetSpot(concurrency.map(toSloPoint), slo, knee, {
    range_fraction: P.range_fraction,
  });
  const capacity = rate.length
    ? batchingRateAtSlo(
      rate.map((s) => ({
        target_rps: s.target_rps!,
        throughput_rps: s.throughput_rps,
        ttft_p95_ms: s.latency.ttft_ms[95].value,
        tpot_p95_ms: s.latency.tpot_ms[95].value,
        valid: s.valid,
      })),
      slo,
    )
    : undefined;
  const validC = concurrency.filter((s) => s.valid && s.throughput_rps !== undefined);
  const best = validC.reduce<BatchingPointSummary | undefined>(
    (b, s) => (b === undefined || s.throughput_rps! > b.throughput_rps! ? s : b),
    undefined,
  );
  const devs = defined(validC.map((s) => s.little_dev_pct)).map(Math.abs);
  return {
    concurrency,
    rate,
    slo,
    knee,
    knee_by_repeat,
    sweet,
    capacity,
    peak: best
      ? {
        concurrency: best.concurrency!,
        throughput_rps: best.throughput_rps!,
        output_tok_s: best.output_tok_s,
      }
      : undefined,
    little_max_abs_dev_pct: devs.length ? Math.max(...devs) : undefined,
    invalid: points.filter((r) => !r.valid).map((r) => ({
      point_id: r.point_id,
      reason: r.invalid_reason ?? "invalid",
    })),
    ci: {
      confidence: P.ci_confidence,
      resamples: P.ci_resamples,
      method:
        `${Math.round(100 * P.ci_confidence)}% percentile bootstrap (${P.ci_resamples} resamples) across ` +
        `requests, pooled over the valid repeats of each point; ITL over at most ${P.ci_max_itl_gaps} gaps drawn ` +
        "from the pool",
    },
  };
}

const optNum = csvNumber.optional();

/** A row of batching_summary.csv (long format: one row per point, metric and statistic). */
export const BatchingSummaryRow = z.object({
  sweep: z.enum(["concurrency", "rate"]),
  concurrency: optNum,
  target_rps: optNum,
  rate_fraction: optNum,
  valid: csvBoolean,
  valid_repeats: csvNumber,
  /** A latency metric (e.g. ttft_ms) or a throughput one (e.g. throughput_rps). */
  metric: z.string(),
  /** "median", "min", "max" (over repeats), a percentile ("p95"), or "rule" (the SLO, the knee, and the
   * sweet spot rule's concurrency and range: metrics slo_ttft_p95_ms, slo_tpot_p95_ms, knee_concurrency,
   * sweet_spot_concurrency, sweet_spot_range_lo, sweet_spot_range_hi). */
  stat: z.string(),
  value: csvNumber,
  /** The percentile's bootstrap interval (latency rows only). */
  ci_lo: optNum,
  ci_hi: optNum,
  /** Samples behind a percentile. */
  n: optNum,
  unit: z.string(),
});
export type BatchingSummaryRow = z.infer<typeof BatchingSummaryRow>;

/** The columns of batching_summary.csv, in order. */
export const BATCHING_SUMMARY_COLUMNS = columnsOf(BatchingSummaryRow);

/**
 * The findings' per-point numbers in long format, for batching_summary.csv.
 *
 * @example
 * ```ts
 * await writeCsv(join(run.dir, "batching_summary.csv"), batchingSummaryRows(F), BATCHING_SUMMARY_COLUMNS);
 * ```
 */
export function batchingSummaryRows(
  F: BatchingFindings,
): Record<string, string | number | boolean | undefined>[] {
  const out: Record<string, string | number | boolean | undefined>[] = [];
  const r3 = (x: number | undefined) => x === undefined ? undefined : Math.round(x * 1e3) / 1e3;
  for (const s of [...F.concurrency, ...F.rate]) {
    const head = {
      sweep: s.sweep,
      concurrency: s.concurrency,
      target_rps: r3(s.target_rps),
      rate_fraction: s.rate_fraction,
      valid: s.valid,
      valid_repeats: s.valid_repeats,
    };
    const scalar = (metric: string, value: number | undefined, unit: string, stat = "median") => {
      if (value !== undefined) out.push({ ...head, metric, stat, value: r3(value), unit });
    };
    scalar("throughput_rps", s.throughput_rps, "requests/s");
    scalar("throughput_rps", s.throughput_min_rps, "requests/s", "min");
    scalar("throughput_rps", s.throughput_max_rps, "requests/s", "max");
    scalar("output_tok_s", s.output_tok_s, "tokens/s");
    scalar("goodput_rps", s.goodput_rps, "requests/s");
    scalar("good_fraction", s.good_fraction, "fraction");
    scalar("inflight_mean", s.inflight_mean, "requests");
    scalar("little_inflight", s.little_inflight, "requests");
    scalar("little_dev_pct", s.little_dev_pct, "%");
    for (const m of BATCHING_LATENCY_METRICS) {
      for (const p of BATCHING_PERCENTILES) {
        const e = s.latency[m][p];
        if (e.value === undefined) continue;
        out.push({
          ...head,
          metric: m,
          stat: `p${p}`,
          value: r3(e.value),
          ci_lo: r3(e.lo),
          ci_hi: r3(e.hi),
          n: e.n,
          unit: "ms",
        });
      }
    }
  }
  // The tier's rules as rows (stat "rule"): the SLO the sweet spot is judged by, the knee, and the one
  // concurrency recommendation (the sweet spot rule, knee.ts) with its range, so the write-up, the run index
  // and the rules of thumb read the same numbers as facts from this file.
  const rule = (metric: string, value: number, unit: string, concurrency?: number) => {
    const p = F.concurrency.find((s) => concurrency !== undefined && s.concurrency === concurrency);
    out.push({
      sweep: "concurrency",
      concurrency,
      valid: concurrency !== undefined,
      valid_repeats: p?.valid_repeats ?? 0,
      metric,
      stat: "rule",
      value,
      unit,
    });
  };
  rule("slo_ttft_p95_ms", F.slo.ttft_p95_ms, "ms");
  rule("slo_tpot_p95_ms", F.slo.tpot_p95_ms, "ms");
  if (F.knee.kind === "knee") rule("knee_concurrency", F.knee.concurrency, "requests", F.knee.concurrency);
  if (F.sweet.kind === "sweet_spot") {
    const c = F.sweet.concurrency;
    rule("sweet_spot_concurrency", c, "requests", c);
    rule("sweet_spot_range_lo", F.sweet.range.lo, "requests", c);
    rule("sweet_spot_range_hi", F.sweet.range.hi, "requests", c);
  }
  return out;
}
