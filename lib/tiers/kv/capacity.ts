/**
 * The capacity question ("room for 8 concurrent 4K-token chats?") answered from the KV pool this run
 * measured, through the lab's planner (lib/sim `fitsConcurrent`, fed the measured pool as
 * `kv_cache_memory_bytes`), with the gpu-memory-utilization needed derived from the measured non-KV memory;
 * and, where the device has a profile, the planner's own answer from the model for comparison.
 * @module
 */
import { loadModel } from "../../sim/catalog.ts";
import { type ConcurrencyAnswer, fitsConcurrent } from "../../sim/plan.ts";
import type { KvLoadRow, KvRow } from "./rows.ts";

const GiB = 2 ** 30;

/** A KV pool as measured (or observed on an external server). */
export interface KvPool {
  /** Where the pool comes from, e.g. "sweep point L4096 (startup log)". */
  source: string;
  num_gpu_blocks: number;
  block_size: number;
  /** Bytes per KV token from the model config (the planner needs it to turn blocks into bytes). */
  kv_bytes_per_token: number;
  /** device_total x utilization - available KV, when both are known. */
  non_kv_gib?: number;
  device_total_gib?: number;
  gpu_memory_utilization?: number;
}

/** The question: N concurrent requests of L tokens (prompt + output) each. */
export interface KvQuestion {
  concurrent: number;
  tokens_per_request: number;
}

/** Settings the planner needs besides the pool. */
export interface KvPlannerContext {
  /** An id or directory the catalog resolves (see kvModelConfig). */
  model_ref: string;
  /** Device profile for the planner's batch defaults (and its own answer); default "H100-80GB". */
  gpu?: string;
  /** True when `gpu` is the device the run used (the sim's profile, or a matched nvidia-smi name). */
  gpu_is_device?: boolean;
  max_num_seqs?: number;
  tensor_parallel_size?: number;
  dtype?: string;
  extra_args?: string[];
}

/** The answer from the measured pool, and the planner's from the model where it applies. */
export interface KvCapacityAnswer {
  question: KvQuestion;
  pool: KvPool;
  /** fitsConcurrent over the measured pool (kv_cache_memory_bytes = blocks x block_size x bytes per token). */
  measured: ConcurrencyAnswer;
  /**
   * The smallest gpu-memory-utilization (to 0.01) whose pool holds the N requests, from the measured non-KV
   * memory: ceil((non_kv + (N x ceil(L / bs) + 1) x bs x bytes per token) / device total, 0.01); the same
   * formula as fitsConcurrent's, fed measured memory. Undefined when not measurable or above 1.
   */
  gpu_memory_utilization_needed?: number;
  /** fitsConcurrent from the model on the device profile (sim, or a GPU with a profile). */
  planner?: ConcurrencyAnswer;
  /** Measured and planner answers agree on fits, largest safe length and utilization (±0.01), when both exist. */
  agrees_with_planner?: boolean;
}

/**
 * The run's KV pool: the started sweep row at `prefer_len` if any, else the first started sweep row (the
 * pool does not depend on max-model-len), else an observed external row. Undefined without blocks.
 *
 * @example
 * ```ts
 * const pool = kvPoolFromRows(rows, 4096);
 * ```
 */
export function kvPoolFromRows(rows: readonly KvRow[], prefer_len?: number): KvPool | undefined {
  const ok = rows.filter((r) =>
    r.started && r.num_gpu_blocks !== undefined && r.block_size !== undefined &&
    (r.kv_bytes_per_token_computed ?? r.kv_bytes_per_token_measured) !== undefined
  );
  const sweep = ok.filter((r) => r.role === "sweep");
  const row = sweep.find((r) => r.max_model_len === prefer_len) ?? sweep[0] ??
    ok.find((r) => r.role === "observed");
  if (!row) return undefined;
  return {
    source: `${row.role === "observed" ? "observed" : "measured"} point ${row.point_id} (${
      row.capacity_source ?? "log"
    })`,
    num_gpu_blocks: row.num_gpu_blocks!,
    block_size: row.block_size!,
    kv_bytes_per_token: (row.kv_bytes_per_token_computed ?? row.kv_bytes_per_token_measured)!,
    non_kv_gib: row.non_kv_gib,
    device_total_gib: row.device_total_gib,
    gpu_memory_utilization: row.gpu_memory_utilization_used,
  };
}

/**
 * "Room for N concurrent L-token requests?" from the measured pool: KV tokens needed, fits or not (with
 * reasons), headroom, the largest safe max-model-len for N, and the gpu-memory-utilization needed; plus the
 * planner's answer from the model when the device has a profile.
 *
 * @example
 * ```ts
 * const a = kvCapacityQuestion(pool, { concurrent: 8, tokens_per_request: 4096 }, { model_ref: "qwen2.5-1.5b" });
 * a.measured.fits; a.measured.kv_tokens_needed; a.measured.largest_safe_max_model_len; a.gpu_memory_utilization_needed;
 * ```
 */
export function kvCapacityQuestion(pool: KvPool, q: KvQuestion, ctx: KvPlannerContext): KvCapacityAnswer {
  const common = {
    model: ctx.model_ref,
    gpu: ctx.gpu ?? "H100-80GB",
    block_size: pool.block_size,
    // A server for L-token requests runs at max-model-len L; above the model's limit vLLM refuses to start,
    // so plan at the limit and let the answer say that such requests are rejected.
    max_model_len: Math.min(q.tokens_per_request, loadModel(ctx.model_ref).max_position_embeddings),
    max_num_seqs: ctx.max_num_seqs,
    tensor_parallel_size: ctx.tensor_parallel_size ?? 1,
    dtype: ctx.dtype ?? "auto",
    extra_args: ctx.extra_args ?? [],
    concurrent: q.concurrent,
    tokens_per_request: q.tokens_per_request,
  };
  const measured = fitsConcurrent({
    ...common,
    kv_cache_memory_bytes: Math.ceil(pool.num_gpu_blocks * pool.block_size * pool.kv_bytes_per_token),
  });
  let gpu_memory_utilization_needed: number | undefined;
  if (pool.non_kv_gib !== undefined && pool.device_total_gib !== undefined) {
    const blocks = q.concurrent * Math.ceil(q.tokens_per_request / pool.block_size) + 1;
    const bytes = pool.non_kv_gib * GiB + blocks * pool.block_size * pool.kv_bytes_per_token;
    const util = Math.ceil(bytes / (pool.device_total_gib * GiB) * 100) / 100;
    if (util <= 1) gpu_memory_utilization_needed = util;
  }
  let planner: ConcurrencyAnswer | undefined;
  if (ctx.gpu_is_device) {
    planner = fitsConcurrent({ ...common, gpu_memory_utilization: pool.gpu_memory_utilization });
  }
  return {
    question: q,
    pool,
    measured,
    gpu_memory_utilization_needed,
    planner,
    agrees_with_planner: planner
      ? planner.fits === measured.fits &&
        planner.largest_safe_max_model_len === measured.largest_safe_max_model_len &&
        (planner.gpu_memory_utilization_needed === undefined) ===
          (gpu_memory_utilization_needed === undefined) &&
        Math.abs((planner.gpu_memory_utilization_needed ?? 0) - (gpu_memory_utilization_needed ?? 0)) <= 0.011
      : undefined,
  };
}

/** One answer to the capacity question, on one pool; `reason` says why there is none. */
export interface KvCapacityCase {
  label: string;
  answer?: KvCapacityAnswer;
  reason?: string;
}

/**
 * The capacity question on the pools this run measured: the engine's default pool (from the sweep, or an
 * external server's cache_config_info) and, when the load confirmation ran, its deliberately small pool.
 *
 * @example
 * ```ts
 * for (const c of kvCapacityAnswers(M, P.question)) console.log(c.label, c.answer?.measured.fits ?? c.reason);
 * ```
 */
export function kvCapacityAnswers(
  m: { rows: readonly KvRow[]; load_rows: readonly KvLoadRow[]; planner?: KvPlannerContext },
  q: KvQuestion,
): KvCapacityCase[] {
  const out: KvCapacityCase[] = [];
  const pool = kvPoolFromRows(m.rows, q.tokens_per_request);
  const label = "the engine's pool (this run)";
  if (!m.planner) {
    out.push({
      label,
      reason: "no model config found, so blocks cannot be turned into bytes for the planner",
    });
    return out;
  }
  if (!pool) {
    out.push({ label, reason: "no started point (or no cache_config_info) stated the pool's blocks" });
  } else out.push({ label, answer: kvCapacityQuestion(pool, q, m.planner) });
  const load = m.load_rows[0];
  const bpt = m.rows.find((r) => r.kv_bytes_per_token_computed !== undefined)?.kv_bytes_per_token_computed;
  if (load && bpt !== undefined) {
    const small: KvPool = {
      source: `load engine (${load.kv_cache_memory_bytes ?? "default"} bytes of KV cache)`,
      num_gpu_blocks: load.num_gpu_blocks,
      block_size: load.block_size,
      kv_bytes_per_token: bpt,
    };
    out.push({
      label: "the load confirmation's small pool",
      answer: kvCapacityQuestion(small, q, { ...m.planner, gpu_is_device: false }),
    });
  }
  return out;
}

/**
 * The answers as flat rows for a table: one per pool, measured and planner side by side.
 *
 * @example
 * ```ts
 * await show(table(kvCapacityRows(kvCapacityAnswers(M, P.question))));
 * ```
 */
export function kvCapacityRows(
  cases: readonly KvCapacityCase[],
): Record<string, string | number | boolean | undefined>[] {
  return cases.map((c) => {
    const m = c.answer?.measured;
    return {
      pool: c.label,
      blocks: c.answer?.pool.num_gpu_blocks,
      block_size: c.answer?.pool.block_size,
      concurrent: c.answer?.question.concurrent,
      tokens_per_request: c.answer?.question.tokens_per_request,
      fits: m?.fits,
      kv_tokens_needed: m?.kv_tokens_needed,
      kv_tokens_usable: m?.kv_tokens_usable,
      headroom_tokens: m?.headroom_tokens,
      max_concurrent_at_length: m?.max_concurrent_at_length,
      largest_safe_max_model_len: m?.largest_safe_max_model_len,
      gpu_memory_utilization_needed: c.answer?.gpu_memory_utilization_needed,
      planner_fits: c.answer?.planner?.fits,
      planner_gpu_memory_utilization_needed: c.answer?.planner?.gpu_memory_utilization_needed,
      agrees_with_planner: c.answer?.agrees_with_planner,
      note: c.reason,
    };
  });
}
