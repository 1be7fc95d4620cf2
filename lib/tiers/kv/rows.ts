/**
 * The rows of the KV tier's CSVs: `kv_cache_scaling.csv` (one row per engine configuration, a failed start
 * included, with `fit_error_*` columns) and `kv_load_confirmation.csv` (one row per concurrency step), their
 * zod schemas for reading them back, and the pure builders from a startup report or a failed start.
 * @module
 */
import { z } from "zod";
import type { StartupReport } from "../../engine/types.ts";
import { columnsOf, csvBoolean, csvNumber } from "../../run/csv.ts";
import type { CacheConfigInfo } from "../../scrape/vllm_metrics.ts";

const GiB = 2 ** 30;

/** Why a point has no engine: vLLM's KV fit error, no KV memory at all, a length above the model's limit... */
export const KvFitErrorKind = z.enum([
  "kv_fit",
  "no_kv_memory",
  "max_len_exceeds_model",
  "free_memory_short",
  "start_failed",
]);
export type KvFitErrorKind = z.infer<typeof KvFitErrorKind>;

/** What a point is for: the max-model-len sweep, a gpu-memory-utilization point, the point meant to fail, or an external server's configuration as observed. */
export const KvPointRole = z.enum(["sweep", "util", "fit_probe", "observed"]);
export type KvPointRole = z.infer<typeof KvPointRole>;

/** Where GPU memory used comes from: nvidia-smi (device used after ready minus before launch), or the engine's log. */
export const KvGpuMemSource = z.enum(["nvidia-smi", "engine_log"]);

const num = csvNumber.optional();

/** One row of kv_cache_scaling.csv (as read back). Undefined cells were not measured or do not apply. */
export const KvRow = z.object({
  point_id: z.string(),
  role: KvPointRole,
  engine: z.string(),
  max_model_len: csvNumber,
  /** Requested gpu-memory-utilization (undefined: the engine's default). */
  gpu_memory_utilization: num,
  /** Utilization in effect (requested, else cache_config_info's, else the engine's known default). */
  gpu_memory_utilization_used: num,
  kv_cache_memory_bytes: num,
  started: csvBoolean,
  /** Wall seconds from spawn to /health 200 on the launcher's clock (the sim's startup is compressed). */
  startup_s: num,
  /** Startup from the engine's log: weights load + engine init (simulated phases on the sim). */
  startup_log_s: num,
  /** `GPU KV cache size` as the engine states it. */
  kv_cache_tokens: num,
  num_gpu_blocks: num,
  block_size: num,
  /** num_gpu_blocks x block_size. */
  pool_tokens: num,
  /** The engine's `Maximum concurrency for L tokens per request`. */
  max_concurrency: num,
  available_kv_gib: num,
  weights_gib: num,
  graph_gib: num,
  gpu_mem_used_gib: num,
  gpu_mem_source: KvGpuMemSource.optional(),
  /** Device memory as vLLM sees it (nvidia-smi total, or the sim's GPU profile). */
  device_total_gib: num,
  /** device_total x utilization - available KV: weights, activation peak, non-torch (measured by difference). */
  non_kv_gib: num,
  /** available KV bytes / pool tokens. */
  kv_bytes_per_token_measured: num,
  /** 2 x layers x KV heads x head_dim x KV dtype bytes, from the model config. */
  kv_bytes_per_token_computed: num,
  /** "log" (startup log) or "metrics" (cache_config_info). */
  capacity_source: z.enum(["log", "metrics"]).optional(),
  fit_error_kind: KvFitErrorKind.optional(),
  fit_error_needed_gib: num,
  fit_error_available_gib: num,
  fit_error_estimated_max_model_len: num,
  fit_error_message: z.string().optional(),
  /** The lab's planner (lib/sim planCapacity) for this configuration, when the device has a profile. */
  planner_gpu: z.string().optional(),
  planned_kv_cache_tokens: num,
  planned_max_concurrency: num,
  planned_fit_error_kind: KvFitErrorKind.optional(),
});
export type KvRow = z.infer<typeof KvRow>;

/** Column order of kv_cache_scaling.csv. */
export const KV_COLUMNS = columnsOf(KvRow);

/** One point of the sweep: an engine configuration. */
export interface KvPoint {
  id: string;
  role: KvPointRole;
  max_model_len: number;
  gpu_memory_utilization?: number;
  kv_cache_memory_bytes?: number;
}

/** What a point's engine told the lab besides its startup report. */
export interface KvPointObservation {
  engine: string;
  startup_s?: number;
  cache_config?: CacheConfigInfo;
  gpu_mem_used_gib?: number;
  device_total_gib?: number;
  /** The engine's default utilization when neither the config nor /metrics states it (sim: 0.9). */
  default_utilization?: number;
  kv_bytes_per_token_computed?: number;
}

const round = (x: number | undefined, digits = 6) =>
  x === undefined || !Number.isFinite(x) ? undefined : Number(x.toFixed(digits));

/**
 * The row of a started engine: capacity from `/metrics` cache_config_info where present (vLLM's best
 * source for the block count), else from the log; bytes per token measured as available KV / pool tokens.
 *
 * @example
 * ```ts
 * kvRowFromStartup({ id: "L4096", role: "sweep", max_model_len: 4096 }, engine.startup!, { engine: "sim" });
 * ```
 */
export function kvRowFromStartup(point: KvPoint, report: StartupReport, obs: KvPointObservation): KvRow {
  const cc = obs.cache_config;
  const blocks = cc?.num_gpu_blocks ?? report.num_gpu_blocks;
  const block_size = cc?.block_size ?? report.block_size ??
    (blocks && report.kv_cache_tokens ? report.kv_cache_tokens / blocks : undefined);
  const pool_tokens = blocks !== undefined && block_size !== undefined
    ? blocks * block_size
    : report.kv_cache_tokens;
  const util = point.gpu_memory_utilization ?? cc?.gpu_memory_utilization ?? obs.default_utilization;
  const avail = report.available_kv_gib;
  const graph = report.graph_gib;
  const fromLog = report.weights_gib !== undefined && avail !== undefined
    ? report.weights_gib + avail + (graph ?? 0)
    : undefined;
  const startup_log_s = report.model_load_s ?? report.weights_load_s;
  return {
    point_id: point.id,
    role: point.role,
    engine: obs.engine,
    max_model_len: point.max_model_len,
    gpu_memory_utilization: point.gpu_memory_utilization,
    gpu_memory_utilization_used: util,
    kv_cache_memory_bytes: point.kv_cache_memory_bytes,
    started: true,
    startup_s: round(obs.startup_s, 3),
    startup_log_s: startup_log_s !== undefined && report.init_engine_s !== undefined
      ? round(startup_log_s + report.init_engine_s, 3)
      : undefined,
    kv_cache_tokens: report.kv_cache_tokens ?? cc?.kv_cache_size_tokens,
    num_gpu_blocks: blocks,
    block_size,
    pool_tokens,
    max_concurrency: report.max_concurrency ?? cc?.kv_cache_max_concurrency,
    available_kv_gib: avail,
    weights_gib: report.weights_gib,
    graph_gib: graph,
    gpu_mem_used_gib: round(obs.gpu_mem_used_gib ?? fromLog, 4),
    gpu_mem_source: obs.gpu_mem_used_gib !== undefined
      ? "nvidia-smi"
      : fromLog !== undefined
      ? "engine_log"
      : undefined,
    device_total_gib: round(obs.device_total_gib, 4),
    non_kv_gib: obs.device_total_gib !== undefined && util !== undefined && avail !== undefined &&
        point.kv_cache_memory_bytes === undefined
      ? round(obs.device_total_gib * util - avail, 4)
      : undefined,
    kv_bytes_per_token_measured: avail !== undefined && pool_tokens
      ? round(avail * GiB / pool_tokens, 2)
      : undefined,
    kv_bytes_per_token_computed: obs.kv_bytes_per_token_computed,
    capacity_source: cc?.num_gpu_blocks !== undefined
      ? "metrics"
      : report.kv_cache_tokens !== undefined
      ? "log"
      : undefined,
  };
}

const TOO_LONG = /User-specified max_model_len \((\d+)\) is greater than the derived max_model_len[^\n]*/;
const FREE_SHORT = /Free memory on device[^\n]*less than desired GPU memory utilization[^\n]*/;

/**
 * The row of an engine that did not start: the fit error from its parsed startup report (vLLM's
 * `To serve at least one request ...`), vLLM's other refusals recognised in its log, else `start_failed`.
 *
 * @example
 * ```ts
 * kvFailureRow(point, { report: err.report, message: err.message, log_tail: err.logTail }, { engine: "sim" });
 * ```
 */
export function kvFailureRow(
  point: KvPoint,
  failure: { report: StartupReport; message: string; log_tail?: readonly string[] },
  obs: KvPointObservation,
): KvRow {
  const r = failure.report;
  const text = [failure.message, ...(failure.log_tail ?? []), ...r.errors].join("\n");
  let fit: Pick<
    KvRow,
    | "fit_error_kind"
    | "fit_error_needed_gib"
    | "fit_error_available_gib"
    | "fit_error_estimated_max_model_len"
    | "fit_error_message"
  >;
  let m: RegExpMatchArray | null;
  if (r.fit_error) {
    fit = {
      fit_error_kind: "kv_fit",
      fit_error_needed_gib: r.fit_error.needed_gib,
      fit_error_available_gib: r.fit_error.available_gib,
      fit_error_estimated_max_model_len: r.fit_error.estimated_max_model_len,
      fit_error_message: r.fit_error.message,
    };
  } else if (r.no_kv_memory) {
    fit = {
      fit_error_kind: "no_kv_memory",
      fit_error_available_gib: r.available_kv_gib,
      fit_error_message: r.no_kv_memory.message,
    };
  } else if ((m = text.match(TOO_LONG))) {
    fit = { fit_error_kind: "max_len_exceeds_model", fit_error_message: m[0].trim() };
  } else if ((m = text.match(FREE_SHORT))) {
    fit = { fit_error_kind: "free_memory_short", fit_error_message: m[0].trim() };
  } else {
    fit = { fit_error_kind: "start_failed", fit_error_message: failure.message.split("\n")[0] };
  }
  return {
    point_id: point.id,
    role: point.role,
    engine: obs.engine,
    max_model_len: point.max_model_len,
    gpu_memory_utilization: point.gpu_memory_utilization,
    gpu_memory_utilization_used: point.gpu_memory_utilization ?? obs.default_utilization,
    kv_cache_memory_bytes: point.kv_cache_memory_bytes,
    started: false,
    available_kv_gib: r.available_kv_gib,
    weights_gib: r.weights_gib,
    device_total_gib: round(obs.device_total_gib, 4),
    kv_bytes_per_token_computed: obs.kv_bytes_per_token_computed,
    ...fit,
  };
}

/** One row of kv_load_confirmation.csv: one step of the concurrency ramp on the load engine. */
export const KvLoadRow = z.object({
  step: csvNumber,
  concurrent: csvNumber,
  /** Tokens per request: prompt_tokens + max_tokens (the load engine's max-model-len). */
  request_tokens: csvNumber,
  prompt_tokens: csvNumber,
  max_tokens: csvNumber,
  num_gpu_blocks: csvNumber,
  block_size: csvNumber,
  kv_cache_memory_bytes: num,
  /** floor((num_gpu_blocks - 1) / ceil(request_tokens / block_size)), from the load engine's own pool. */
  predicted_max_concurrent: csvNumber,
  /** The lab's planner (fitsConcurrent) for the same pool, when the model config is known. */
  planned_max_concurrent: num,
  requests_ok: csvNumber,
  requests_failed: csvNumber,
  running_max: num,
  waiting_max: num,
  /** num_preemptions_total after - before the step. */
  preemptions: num,
  kv_usage_max: num,
  ttft_p50_ms: num,
  ttft_max_ms: num,
  e2e_max_ms: num,
  /** KV-bound: a preemption, or requests waiting while fewer than `concurrent` ran (they waited for blocks). */
  limited: csvBoolean,
  gpu_mem_used_max_gib: num,
  gpu_mem_source: KvGpuMemSource.optional(),
  /** Client self-check (lib/probe/self_check.ts): false = the client was the bottleneck, the step is invalid. */
  client_ok: csvBoolean.optional(),
  event_loop_lag_p99_ms: num,
  send_lag_p99_ms: num,
  client_reason: z.string().optional(),
});
export type KvLoadRow = z.infer<typeof KvLoadRow>;

/** Column order of kv_load_confirmation.csv. */
export const KV_LOAD_COLUMNS = columnsOf(KvLoadRow);

/** One /metrics sample of the load (long format for the chart): kv_load_samples.csv. */
export const KvLoadSample = z.object({
  step: csvNumber,
  concurrent: csvNumber,
  t_ms: csvNumber,
  running: num,
  waiting: num,
  kv_usage: num,
  preemptions_total: num,
});
export type KvLoadSample = z.infer<typeof KvLoadSample>;
/** Column order of kv_load_samples.csv. */
export const KV_LOAD_SAMPLE_COLUMNS = columnsOf(KvLoadSample);
