/**
 * What the KV tier knows about the device and the model before it starts an engine: the model config (for
 * the computed bytes per KV token and the planner), the device's memory (the sim's GPU profile, or the
 * first engine GPU as nvidia-smi sees it), the planner's device profile when there is one, and how GPU
 * memory used is read. Also the planner's numbers for one engine configuration.
 * @module
 */
import type { ServeConfig } from "../../engine/config.ts";
import { queryGpus } from "../../scrape/gpu.ts";
import { loadGpu } from "../../sim/catalog.ts";
import { MEMORY } from "../../sim/constants.ts";
import { planCapacity } from "../../sim/plan.ts";
import { type LabEnv, serveConfigFor } from "../lab_env.ts";
import type { KvPlannerContext } from "./capacity.ts";
import { type KvModelConfig, kvModelConfig } from "./model_config.ts";
import type { KvFitErrorKind, KvRow } from "./rows.ts";

const MiB = 2 ** 20;

/** The tier's view of the device and model. */
export interface KvContext {
  lab: LabEnv;
  /** The model config, or undefined when none was found (computed values are then not computed). */
  model?: KvModelConfig;
  /** Device memory in GiB: the sim's GPU profile (not the cpu profile), or nvidia-smi's total of the first engine GPU. */
  device_total_gib?: number;
  /** nvidia-smi index of the engine's first GPU, when GPU memory is sampled (vllm on a visible GPU). */
  gpu_index?: number;
  /** Device name as nvidia-smi reports it, or the sim's profile. */
  device_name?: string;
  /** Planner device profile (lib/sim data/gpus): the sim's, or the one matching nvidia-smi's name. */
  planner_gpu?: string;
  /** The engine's default gpu-memory-utilization when known up front (sim: 0.9); vLLM's is read from /metrics. */
  default_utilization?: number;
}

/** The first GPU the engine will use: CUDA_VISIBLE_DEVICES' first numeric entry, else 0. */
function firstEngineGpu(cfg: ServeConfig): number {
  const visible = cfg.env.CUDA_VISIBLE_DEVICES ?? Deno.env.get("CUDA_VISIBLE_DEVICES");
  const first = visible?.split(",")[0]?.trim();
  return first && /^\d+$/.test(first) ? Number(first) : 0;
}

/**
 * The tier's context for a lab environment: model config, device memory and planner profile.
 *
 * @example
 * ```ts
 * const ctx = await kvContext(labEnv());
 * ctx.model?.kv_bytes_per_token; ctx.device_total_gib; ctx.planner_gpu;
 * ```
 */
export async function kvContext(lab: LabEnv): Promise<KvContext> {
  const cfg = serveConfigFor(lab);
  const model = kvModelConfig(cfg);
  switch (cfg.engine) {
    case "sim": {
      const gpu = loadGpu(cfg.sim.gpu);
      return {
        lab,
        model,
        device_total_gib: gpu.kind === "gpu" ? gpu.memory_bytes / 2 ** 30 : undefined,
        device_name: gpu.name,
        planner_gpu: gpu.name,
        default_utilization: gpu.kind === "gpu" ? MEMORY.default_gpu_memory_utilization : undefined,
      };
    }
    case "vllm": {
      const index = firstEngineGpu(cfg);
      const gpus = await queryGpus().catch(() => undefined);
      const g = gpus?.find((x) => x.index === index);
      let planner_gpu: string | undefined;
      try {
        planner_gpu = g ? loadGpu(g.name).name : undefined;
      } catch { /* no profile for this device: the planner's own answer is not given */ }
      return {
        lab,
        model,
        device_total_gib: g?.memory_total_mib !== undefined ? g.memory_total_mib * MiB / 2 ** 30 : undefined,
        gpu_index: g ? index : undefined,
        device_name: g?.name,
        planner_gpu,
      };
    }
    case "external":
    case "llamacpp":
      return { lab, model };
    default: {
      const never: never = cfg.engine;
      throw new Error(`Unknown engine ${never}`);
    }
  }
}

/** GPU memory used (GiB) on the engine's first GPU now, or undefined without a GPU to see. */
export async function kvGpuUsedGib(ctx: KvContext): Promise<number | undefined> {
  if (ctx.gpu_index === undefined) return undefined;
  const gpus = await queryGpus().catch(() => undefined);
  const used = gpus?.find((g) => g.index === ctx.gpu_index)?.memory_used_mib;
  return used === undefined ? undefined : used * MiB / 2 ** 30;
}

/**
 * The planner's numbers (lib/sim planCapacity) for an engine configuration on the planner's device profile:
 * KV tokens, max concurrency and the fit outcome. Empty when the model config or the profile is unknown.
 *
 * @example
 * ```ts
 * kvPlannedColumns(ctx, cfg).planned_max_concurrency;
 * ```
 */
export function kvPlannedColumns(
  ctx: KvContext,
  cfg: ServeConfig,
): Pick<
  KvRow,
  "planner_gpu" | "planned_kv_cache_tokens" | "planned_max_concurrency" | "planned_fit_error_kind"
> {
  if (!ctx.model || !ctx.planner_gpu) return {};
  try {
    const p = planCapacity({
      model: ctx.model.ref,
      gpu: ctx.planner_gpu,
      gpu_memory_utilization: cfg.gpu_memory_utilization,
      max_model_len: cfg.max_model_len,
      kv_cache_memory_bytes: cfg.kv_cache_memory_bytes,
      block_size: cfg.block_size,
      max_num_seqs: cfg.max_num_seqs,
      max_num_batched_tokens: cfg.max_num_batched_tokens,
      tensor_parallel_size: cfg.tensor_parallel_size,
      dtype: cfg.dtype,
      extra_args: cfg.extra_args,
      env: cfg.env,
    });
    const kind: KvFitErrorKind | undefined = p.fit_error
      ? (p.memory.available_kv_bytes <= 0 ? "no_kv_memory" : "kv_fit")
      : undefined;
    return {
      planner_gpu: ctx.planner_gpu,
      planned_kv_cache_tokens: kind ? undefined : p.kv_cache_tokens,
      planned_max_concurrency: kind ? undefined : Number(p.max_concurrency.toFixed(4)),
      planned_fit_error_kind: kind,
    };
  } catch (err) {
    if (/User-specified max_model_len/.test((err as Error).message)) {
      return { planner_gpu: ctx.planner_gpu, planned_fit_error_kind: "max_len_exceeds_model" };
    }
    throw err;
  }
}

/**
 * What the capacity question needs from the context: the model for the planner, and whether the planner's
 * device profile is the device itself (then the planner's own answer is shown beside the measured one).
 * Undefined without a model config.
 */
export function kvPlannerContext(ctx: KvContext): KvPlannerContext | undefined {
  if (!ctx.model) return undefined;
  const cfg = serveConfigFor(ctx.lab);
  return {
    model_ref: ctx.model.ref,
    gpu: ctx.planner_gpu,
    gpu_is_device: ctx.planner_gpu !== undefined,
    max_num_seqs: cfg.max_num_seqs,
    tensor_parallel_size: cfg.tensor_parallel_size,
    dtype: cfg.dtype,
    extra_args: cfg.extra_args,
  };
}
