/**
 * The KV tier's findings, pure functions of its rows: bytes per KV token measured against computed (and
 * why they differ), the log-log slope of max concurrency against max-model-len, whether memory used moves
 * with max-model-len, step changes in the pool and their cause, the pool against gpu-memory-utilization,
 * the load confirmation's verdict, and agreement with the planner.
 * @module
 */
import { linearRegression, linearRegressionLine, rSquared } from "simple-statistics";
import { mean } from "../../base/stats.ts";
import type { KvLoadRow, KvRow } from "./rows.ts";

const GiB = 2 ** 30;
/** The startup log prints available KV memory with 2 decimals (GiB): up to half of 0.01 GiB either way. */
export const KV_LOG_ROUNDING_BYTES = 0.005 * GiB;

const started = (rows: readonly KvRow[]) => rows.filter((r) => r.started);
/** The started sweep rows, ascending in max_model_len. */
export function kvSweepRows(rows: readonly KvRow[]): KvRow[] {
  return started(rows).filter((r) => r.role === "sweep").sort((a, b) => a.max_model_len - b.max_model_len);
}

/** Measured against computed bytes per KV token, with the bound that block flooring and log rounding allow. */
export type KvBytesPerTokenCheck = {
  point_id: string;
  measured: number;
  computed?: number;
  /** measured - computed (bytes per token). */
  diff_bytes?: number;
  diff_pct?: number;
  /** Bytes of the available KV memory left over after flooring to whole blocks: available - pool x computed. */
  remainder_bytes?: number;
  /** One block: block_size x computed bytes per token (the remainder is always smaller). */
  block_bytes?: number;
  /** True when |remainder| fits within one block plus the log's rounding of available memory. */
  explained?: boolean;
  /** Usable tokens are (blocks - 1) x block_size: block 0 is vLLM's reserved null block. */
  usable_tokens?: number;
};

/**
 * Bytes per KV token measured as available KV memory / pool tokens, against 2 x layers x KV heads x
 * head_dim x dtype bytes. Measured >= computed up to one block (the pool is floored to whole blocks) and
 * the log's 0.01 GiB rounding of available memory.
 *
 * @example
 * ```ts
 * kvBytesPerTokenCheck(row).explained; // true when the difference is block flooring and rounding only
 * ```
 */
export function kvBytesPerTokenCheck(row: KvRow): KvBytesPerTokenCheck | undefined {
  const measured = row.kv_bytes_per_token_measured;
  if (measured === undefined || row.pool_tokens === undefined || row.available_kv_gib === undefined) {
    return undefined;
  }
  const computed = row.kv_bytes_per_token_computed;
  const out: KvBytesPerTokenCheck = {
    point_id: row.point_id,
    measured,
    usable_tokens: row.num_gpu_blocks !== undefined && row.block_size !== undefined
      ? (row.num_gpu_blocks - 1) * row.block_size
      : undefined,
  };
  if (computed === undefined) return out;
  const available = row.available_kv_gib * GiB;
  const remainder = available - row.pool_tokens * computed;
  const block_bytes = (row.block_size ?? 0) * computed;
  return {
    ...out,
    computed,
    diff_bytes: measured - computed,
    diff_pct: (measured - computed) / computed * 100,
    remainder_bytes: remainder,
    block_bytes,
    explained: remainder > -KV_LOG_ROUNDING_BYTES && remainder < block_bytes + KV_LOG_ROUNDING_BYTES,
  };
}

/** A least-squares fit of ln y on ln x. */
export interface KvLogLogFit {
  n: number;
  slope: number;
  intercept: number;
  r2: number;
}

/** Fits ln(y) = slope x ln(x) + intercept over points with positive x and y; undefined below 2 points. */
export function kvLogLogFit(points: readonly { x: number; y: number }[]): KvLogLogFit | undefined {
  const xy = points.filter((p) => p.x > 0 && p.y > 0).map((p) => [Math.log(p.x), Math.log(p.y)]);
  if (xy.length < 2 || new Set(xy.map((p) => p[0])).size < 2) return undefined;
  const fit = linearRegression(xy);
  const r2 = xy.every((p) => p[1] === xy[0][1]) ? 1 : rSquared(xy, linearRegressionLine(fit));
  return { n: xy.length, slope: fit.m, intercept: fit.b, r2 };
}

/**
 * The slope of ln(max concurrency) against ln(max-model-len) over the sweep: -1 when the pool is fixed and
 * max-model-len only sets how many full-length requests it holds.
 *
 * @example
 * ```ts
 * kvConcurrencySlope(rows)?.slope; // ≈ -1
 * ```
 */
export function kvConcurrencySlope(rows: readonly KvRow[]): KvLogLogFit | undefined {
  return kvLogLogFit(
    kvSweepRows(rows).flatMap((r) =>
      r.max_concurrency !== undefined ? [{ x: r.max_model_len, y: r.max_concurrency }] : []
    ),
  );
}

/** How a quantity moves across the sweep. */
export interface KvTrend {
  n: number;
  min: number;
  max: number;
  /** (max - min) / mean x 100. */
  spread_pct: number;
  /** ln-ln slope against max-model-len (0 when flat). */
  slope?: number;
  /** spread_pct below the tolerance. */
  flat: boolean;
}

function trend(
  rows: readonly KvRow[],
  pick: (r: KvRow) => number | undefined,
  tol_pct: number,
): KvTrend | undefined {
  const pts = rows.flatMap((r) => {
    const y = pick(r);
    return y === undefined ? [] : [{ x: r.max_model_len, y }];
  });
  if (pts.length === 0) return undefined;
  const ys = pts.map((p) => p.y);
  const min = Math.min(...ys), max = Math.max(...ys);
  const avg = mean(ys)!;
  const spread_pct = avg > 0 ? (max - min) / avg * 100 : 0;
  return { n: pts.length, min, max, spread_pct, slope: kvLogLogFit(pts)?.slope, flat: spread_pct < tol_pct };
}

/**
 * GPU memory used and the KV pool across the sweep: flat when their spread is under `tol_pct` (default 1 %).
 *
 * @example
 * ```ts
 * kvMemoryTrend(rows).memory?.flat; // true: max-model-len does not change what the engine takes
 * ```
 */
export function kvMemoryTrend(
  rows: readonly KvRow[],
  tol_pct = 1,
): { memory?: KvTrend; pool?: KvTrend; memory_source?: string } {
  const sweep = kvSweepRows(rows);
  return {
    memory: trend(sweep, (r) => r.gpu_mem_used_gib, tol_pct),
    pool: trend(sweep, (r) => r.pool_tokens, tol_pct),
    memory_source: sweep.find((r) => r.gpu_mem_source)?.gpu_mem_source,
  };
}

/** A change of the pool between two neighbouring lengths of the sweep, with its cause read from the rows. */
export interface KvPoolStep {
  from_len: number;
  to_len: number;
  from_tokens: number;
  to_tokens: number;
  change_pct: number;
  cause: string;
}

/**
 * Step changes of the KV pool between neighbouring lengths (a relative change above `tol_pct`, default
 * 0.5 %), each with the cause the rows show: non-KV memory (the activation profile: vLLM caps the default
 * max_num_batched_tokens at max_num_seqs x max_model_len), CUDA-graph memory, weights, or unexplained.
 *
 * @example
 * ```ts
 * kvPoolSteps(rows); // [] when the pool is the same at every length
 * ```
 */
export function kvPoolSteps(rows: readonly KvRow[], tol_pct = 0.5): KvPoolStep[] {
  const sweep = kvSweepRows(rows).filter((r) => r.pool_tokens !== undefined);
  const steps: KvPoolStep[] = [];
  for (let i = 1; i < sweep.length; i++) {
    const a = sweep[i - 1], b = sweep[i];
    const change_pct = (b.pool_tokens! - a.pool_tokens!) / a.pool_tokens! * 100;
    if (Math.abs(change_pct) <= tol_pct) continue;
    const d = (x?: number, y?: number) => x !== undefined && y !== undefined && Math.abs(x - y) >= 0.01;
    const cause = d(a.weights_gib, b.weights_gib)
      ? "weights memory changed"
      : d(a.non_kv_gib, b.non_kv_gib)
      ? `non-KV memory changed by ${
        (b.non_kv_gib! - a.non_kv_gib!).toFixed(2)
      } GiB (the profile run's activations: ` +
        "vLLM caps the default max_num_batched_tokens at max_num_seqs x max_model_len)"
      : d(a.graph_gib, b.graph_gib)
      ? "CUDA-graph memory changed"
      : "not explained by weights, non-KV or graph memory in the rows";
    steps.push({
      from_len: a.max_model_len,
      to_len: b.max_model_len,
      from_tokens: a.pool_tokens!,
      to_tokens: b.pool_tokens!,
      change_pct,
      cause,
    });
  }
  return steps;
}

/** The pool against gpu-memory-utilization at one length: its slope should be the device's memory. */
export interface KvUtilTrend {
  max_model_len: number;
  n: number;
  /** Least-squares GiB of available KV memory per unit of utilization. */
  slope_gib_per_util: number;
  device_total_gib?: number;
  points: { util: number; available_kv_gib: number; pool_tokens?: number }[];
}

/**
 * Available KV memory against gpu-memory-utilization among started points at the same length (the util
 * points and the sweep point at that length): the pool is `total x util - non-KV`, so the slope is the
 * device's total memory.
 *
 * @example
 * ```ts
 * kvUtilTrend(rows)?.slope_gib_per_util; // ≈ device_total_gib
 * ```
 */
export function kvUtilTrend(rows: readonly KvRow[]): KvUtilTrend | undefined {
  const util = started(rows).filter((r) => r.role === "util");
  if (util.length === 0) return undefined;
  const len = util[0].max_model_len;
  const at = started(rows).filter((r) =>
    (r.role === "util" || r.role === "sweep") && r.max_model_len === len &&
    r.kv_cache_memory_bytes === undefined &&
    r.gpu_memory_utilization_used !== undefined && r.available_kv_gib !== undefined
  ).sort((a, b) => a.gpu_memory_utilization_used! - b.gpu_memory_utilization_used!);
  const xs = new Set(at.map((r) => r.gpu_memory_utilization_used));
  if (xs.size < 2) return undefined;
  const fit = linearRegression(at.map((r) => [r.gpu_memory_utilization_used!, r.available_kv_gib!]));
  return {
    max_model_len: len,
    n: at.length,
    slope_gib_per_util: fit.m,
    device_total_gib: at.find((r) => r.device_total_gib !== undefined)?.device_total_gib,
    points: at.map((r) => ({
      util: r.gpu_memory_utilization_used!,
      available_kv_gib: r.available_kv_gib!,
      pool_tokens: r.pool_tokens,
    })),
  };
}

/** What the load ramp showed against the predicted max concurrency. */
export interface KvLoadVerdict {
  predicted_max_concurrent: number;
  planned_max_concurrent?: number;
  /** The smallest concurrency at which requests waited for blocks or were preempted. */
  onset?: number;
  /** The largest concurrency at which every request ran at once, with no preemption. */
  largest_clean?: number;
  /** Every step up to the prediction was clean and every step above it was limited (and both were seen). */
  agrees: boolean;
  steps: number;
}

/**
 * The load confirmation's verdict: the onset of waiting or preemption against the prediction from the
 * pool, `floor((blocks - 1) / ceil(L / block_size))`.
 *
 * @example
 * ```ts
 * kvLoadVerdict(loadRows).agrees; // onset = predicted + 1
 * ```
 */
export function kvLoadVerdict(rows: readonly KvLoadRow[]): KvLoadVerdict | undefined {
  if (rows.length === 0) return undefined;
  const sorted = [...rows].sort((a, b) => a.concurrent - b.concurrent);
  const predicted = sorted[0].predicted_max_concurrent;
  const onset = sorted.find((r) => r.limited)?.concurrent;
  const clean = sorted.filter((r) => !r.limited).map((r) => r.concurrent);
  const largest_clean = clean.length ? Math.max(...clean) : undefined;
  const agrees = sorted.some((r) => r.concurrent <= predicted) &&
    sorted.some((r) => r.concurrent > predicted) &&
    sorted.every((r) => r.limited === (r.concurrent > predicted));
  return {
    predicted_max_concurrent: predicted,
    planned_max_concurrent: sorted[0].planned_max_concurrent,
    onset,
    largest_clean,
    agrees,
    steps: rows.length,
  };
}

/** Measured rows against the planner's numbers for the same configuration. */
export interface KvPlannerAgreement {
  compared: number;
  agree: number;
  mismatches: { point_id: string; what: string }[];
}

/**
 * Compares each row with the planner's prediction (rows with planner columns only): the same KV tokens,
 * the same max concurrency (to the log's 2 decimals) and the same fit outcome.
 *
 * @example
 * ```ts
 * kvPlannerAgreement(rows).mismatches; // [] on the embedded engine
 * ```
 */
export function kvPlannerAgreement(rows: readonly KvRow[]): KvPlannerAgreement {
  const out: KvPlannerAgreement = { compared: 0, agree: 0, mismatches: [] };
  for (const r of rows) {
    if (r.planner_gpu === undefined) continue;
    out.compared++;
    const what: string[] = [];
    if ((r.fit_error_kind ?? "none") !== (r.planned_fit_error_kind ?? "none")) {
      what.push(
        `fit: measured ${r.fit_error_kind ?? "starts"}, planned ${r.planned_fit_error_kind ?? "starts"}`,
      );
    }
    if (r.started && r.kv_cache_tokens !== r.planned_kv_cache_tokens) {
      what.push(`KV tokens ${r.kv_cache_tokens} vs planned ${r.planned_kv_cache_tokens}`);
    }
    if (
      r.started && r.max_concurrency !== undefined && r.planned_max_concurrency !== undefined &&
      Math.abs(r.max_concurrency - r.planned_max_concurrency) > 0.006
    ) {
      what.push(`max concurrency ${r.max_concurrency} vs planned ${r.planned_max_concurrency.toFixed(2)}`);
    }
    if (what.length) out.mismatches.push({ point_id: r.point_id, what: what.join("; ") });
    else out.agree++;
  }
  return out;
}

/**
 * The 1/L reference for the concurrency chart: `c / L` through the sweep's shortest length, at every
 * length of the sweep (what a fixed pool predicts).
 *
 * @example
 * ```ts
 * Plot.line(kvOneOverLLine(rows), { x: "max_model_len", y: "max_concurrency" });
 * ```
 */
export function kvOneOverLLine(rows: readonly KvRow[]): { max_model_len: number; max_concurrency: number }[] {
  const sweep = kvSweepRows(rows).filter((r) => r.max_concurrency !== undefined);
  if (sweep.length === 0) return [];
  const c = sweep[0].max_concurrency! * sweep[0].max_model_len;
  return sweep.map((r) => ({ max_model_len: r.max_model_len, max_concurrency: c / r.max_model_len }));
}
