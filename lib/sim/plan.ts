/**
 * Capacity planning from the model of vLLM's memory (memory.ts): KV bytes per token, weights, KV tokens,
 * max concurrency for a model on a device, and the question "N concurrent chats of L tokens: fits or not,
 * with what headroom". Every number here is computed from the model and device catalogs, not measured.
 *
 * @example
 * ```ts
 * import { fitsConcurrent, planCapacity } from "./plan.ts";
 * planCapacity({ model: "qwen2.5-1.5b", gpu: "L4", max_model_len: 8192 }).max_concurrency;
 * fitsConcurrent({ model: "qwen2.5-1.5b", gpu: "L4", concurrent: 8, tokens_per_request: 4096 }).fits; // true
 * ```
 * @module
 */
import { z } from "zod";
import { parseServeConfig } from "../engine/config.ts";
import { loadGpu, loadModel } from "./catalog.ts";
import { type EngineSettings, planMemory, resolveEngineSettings } from "./memory.ts";
import type { MemoryPlan } from "./types.ts";

const GiB = 2 ** 30;

/** What to plan for: a catalogued model and device, and the vLLM flags that change capacity. */
export const CapacityOptions = z.object({
  /** Catalog id or alias (data/models/), e.g. "Qwen/Qwen2.5-1.5B-Instruct". */
  model: z.string().min(1),
  /** Device profile (data/gpus/), e.g. "H100-80GB". Default "H100-80GB". */
  gpu: z.string().min(1).default("H100-80GB"),
  /** Default 0.9 (vLLM <= 0.20). */
  gpu_memory_utilization: z.number().gt(0).lte(1).optional(),
  /** Default: the model's max_position_embeddings. */
  max_model_len: z.number().int().positive().optional(),
  kv_cache_memory_bytes: z.number().int().positive().optional(),
  block_size: z.number().int().positive().optional(),
  max_num_seqs: z.number().int().positive().optional(),
  max_num_batched_tokens: z.number().int().positive().optional(),
  tensor_parallel_size: z.number().int().positive().default(1),
  /** `--dtype`; default "auto" (the checkpoint's dtype). */
  dtype: z.string().default("auto"),
  /** Pass-through vLLM flags that change memory, e.g. ["--kv-cache-dtype", "fp8"]. */
  extra_args: z.array(z.string()).default([]),
  /** Engine environment, e.g. { VLLM_CPU_KVCACHE_SPACE: "4" } for the cpu profile. */
  env: z.record(z.string(), z.string()).default({}),
}).strict();
export type CapacityOptions = z.input<typeof CapacityOptions>;

/** KV capacity of one engine configuration, computed from the model (not measured). */
export interface CapacityPlan {
  /** Always "model": these numbers come from the catalogs and vLLM's arithmetic, not a measurement. */
  source: "model";
  model: string;
  gpu: string;
  settings: EngineSettings;
  memory: MemoryPlan;
  kv_bytes_per_token: number;
  weights_bytes: number;
  weights_gib: number;
  available_kv_gib: number;
  num_gpu_blocks: number;
  block_size: number;
  /** num_gpu_blocks x block_size, as vLLM's `GPU KV cache size` line (<= v0.20). */
  kv_cache_tokens: number;
  max_model_len: number;
  /** num_gpu_blocks / ceil(max_model_len / block_size). */
  max_concurrency: number;
  /** The longest max_model_len whose one request fits the pool: min(max_position_embeddings, blocks x block_size). */
  largest_max_model_len: number;
  /** Set when the engine would refuse to start (one max_model_len request does not fit). */
  fit_error?: MemoryPlan["fit_error"];
}

function parseOptions<T extends z.ZodType>(schema: T, opts: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(opts);
  if (r.success) return r.data;
  const why = r.error.issues.map((i) => `${i.path.join(".") || "(options)"}: ${i.message}`).join("; ");
  throw new Error(`Invalid ${what} options: ${why}. Fix those fields (see CapacityOptions).`);
}

/**
 * KV capacity for a model on a device: bytes per token, weights, KV tokens, max concurrency at
 * max_model_len, the largest max_model_len that fits. Throws vLLM's error for a max_model_len above the
 * model's limit and the catalog's errors for unknown ids.
 *
 * @example
 * ```ts
 * const p = planCapacity({ model: "Qwen/Qwen2.5-1.5B-Instruct", gpu: "H100-80GB", max_model_len: 4096 });
 * p.kv_bytes_per_token; // 28,672
 * ```
 */
export function planCapacity(opts: CapacityOptions): CapacityPlan {
  const o = parseOptions(CapacityOptions, opts, "planCapacity");
  const model = loadModel(o.model);
  const gpu = loadGpu(o.gpu);
  const cfg = parseServeConfig({
    engine: "sim",
    model: model.id,
    gpu_memory_utilization: o.gpu_memory_utilization,
    max_model_len: o.max_model_len,
    kv_cache_memory_bytes: o.kv_cache_memory_bytes,
    block_size: o.block_size,
    max_num_seqs: o.max_num_seqs,
    max_num_batched_tokens: o.max_num_batched_tokens,
    tensor_parallel_size: o.tensor_parallel_size,
    dtype: o.dtype,
    extra_args: o.extra_args,
    env: o.env,
    sim: { gpu: gpu.name },
  }, "planCapacity options");
  const settings = resolveEngineSettings(model, gpu, cfg);
  const memory = planMemory(model, gpu, cfg);
  return {
    source: "model",
    model: model.id,
    gpu: gpu.name,
    settings,
    memory,
    kv_bytes_per_token: memory.kv_bytes_per_token,
    weights_bytes: memory.weights_bytes,
    weights_gib: memory.weights_bytes / GiB,
    available_kv_gib: memory.available_kv_bytes / GiB,
    num_gpu_blocks: memory.num_gpu_blocks,
    block_size: memory.block_size,
    kv_cache_tokens: memory.kv_cache_tokens,
    max_model_len: memory.max_model_len,
    max_concurrency: memory.max_concurrency,
    largest_max_model_len: Math.min(model.max_position_embeddings, memory.num_gpu_blocks * memory.block_size),
    fit_error: memory.fit_error,
  };
}

/** The capacity question: N concurrent requests of L tokens (prompt + output) each. */
export const ConcurrencyOptions = CapacityOptions.extend({
  concurrent: z.number().int().positive(),
  tokens_per_request: z.number().int().positive(),
});
export type ConcurrencyOptions = z.input<typeof ConcurrencyOptions>;

/** The answer to "N concurrent chats of L tokens", computed from the model. */
export interface ConcurrencyAnswer {
  source: "model";
  fits: boolean;
  /** Why it does not fit (empty when it fits). */
  reasons: string[];
  concurrent: number;
  tokens_per_request: number;
  /** ceil(L / block_size): blocks one request holds at full length. */
  blocks_per_request: number;
  /** N x ceil(L / block_size) x block_size. */
  kv_tokens_needed: number;
  /** (num_gpu_blocks - 1) x block_size: the pool less vLLM's reserved null block. */
  kv_tokens_usable: number;
  /** kv_tokens_usable - kv_tokens_needed; negative when it does not fit. */
  headroom_tokens: number;
  /** headroom_tokens / kv_tokens_usable; undefined when the pool is empty. */
  headroom_fraction?: number;
  /** How many requests of L tokens the pool holds at once: floor(usable blocks / blocks_per_request). */
  max_concurrent_at_length: number;
  /**
   * The largest max_model_len at which N requests of that length all fit at once:
   * floor(usable blocks / N) x block_size, capped by the model's max_position_embeddings.
   */
  largest_safe_max_model_len: number;
  /**
   * The smallest gpu_memory_utilization (to 0.01) whose pool holds the N requests; undefined when the pool
   * does not follow utilization (kv_cache_memory_bytes, the cpu profile) or when no utilization <= 1 does.
   */
  gpu_memory_utilization_needed?: number;
  plan: CapacityPlan;
}

/**
 * Whether N concurrent requests of L tokens each fit in the KV pool at once, with the headroom, the
 * largest safe length for N, and the utilization that would be needed. Prefix sharing is not counted
 * (every request holds its own blocks), so this is the conservative answer.
 *
 * @example
 * ```ts
 * const a = fitsConcurrent({ model: "qwen2.5-1.5b", gpu: "T4", concurrent: 8, tokens_per_request: 4096 });
 * a.fits; a.headroom_tokens; a.largest_safe_max_model_len;
 * ```
 */
export function fitsConcurrent(opts: ConcurrencyOptions): ConcurrencyAnswer {
  const o = parseOptions(ConcurrencyOptions, opts, "fitsConcurrent");
  const { concurrent, tokens_per_request, ...capacity } = o;
  const plan = planCapacity(capacity);
  const m = plan.memory;
  const bs = m.block_size;
  const usable_blocks = Math.max(0, m.num_gpu_blocks - 1);
  const blocks_per_request = Math.ceil(tokens_per_request / bs);
  const needed_blocks = concurrent * blocks_per_request;
  const kv_tokens_needed = needed_blocks * bs;
  const kv_tokens_usable = usable_blocks * bs;
  const headroom_tokens = kv_tokens_usable - kv_tokens_needed;
  const model = loadModel(plan.model);

  const reasons: string[] = [];
  if (m.fit_error) {
    reasons.push(
      `the engine would not start: ${m.fit_error.message ?? "one max_model_len request does not fit"}`,
    );
  }
  if (tokens_per_request > m.max_model_len) {
    reasons.push(
      `${tokens_per_request} tokens per request exceeds max_model_len ${m.max_model_len}: vLLM rejects such requests`,
    );
  }
  if (concurrent > plan.settings.max_num_seqs) {
    reasons.push(
      `${concurrent} concurrent requests exceed max_num_seqs ${plan.settings.max_num_seqs}: the rest wait`,
    );
  }
  if (headroom_tokens < 0) {
    reasons.push(
      `${concurrent} x ${blocks_per_request * bs} tokens = ${kv_tokens_needed} KV tokens needed, ` +
        `${kv_tokens_usable} usable in the pool`,
    );
  }

  let gpu_memory_utilization_needed: number | undefined;
  const follows_util = plan.settings.kv_cache_memory_bytes === undefined && loadGpu(plan.gpu).kind === "gpu";
  if (follows_util) {
    const non_kv = m.requested_bytes - m.available_kv_bytes;
    const bytes = non_kv + (needed_blocks + 1) * bs * m.kv_bytes_per_token;
    const util = Math.ceil(bytes / m.total_bytes * 100) / 100;
    if (util <= 1) gpu_memory_utilization_needed = util;
  }

  return {
    source: "model",
    fits: reasons.length === 0,
    reasons,
    concurrent,
    tokens_per_request,
    blocks_per_request,
    kv_tokens_needed,
    kv_tokens_usable,
    headroom_tokens,
    headroom_fraction: kv_tokens_usable > 0 ? headroom_tokens / kv_tokens_usable : undefined,
    max_concurrent_at_length: Math.floor(usable_blocks / blocks_per_request),
    largest_safe_max_model_len: Math.min(
      model.max_position_embeddings,
      Math.floor(usable_blocks / concurrent) * bs,
    ),
    gpu_memory_utilization_needed,
    plan,
  };
}
