/**
 * KV-cache memory as vLLM V1 sizes it at startup (shared/reference/vllm.md §6), and the engine settings
 * vLLM derives from a config (defaults for block size, batch limits, max model length).
 *
 * requested = ceil(total x gpu_memory_utilization); non-KV = weights + activation peak + non-torch;
 * available KV = requested - non-KV (or `--kv-cache-memory-bytes`); blocks = floor(available / (block_size x
 * KV bytes per token)). `--max-model-len` does not enter the pool: it only sets the per-request block
 * budget, so max concurrency = blocks / ceil(max_model_len / block_size).
 *
 * @example
 * ```ts
 * import { loadGpu, loadModel } from "./catalog.ts";
 * import { planMemory } from "./memory.ts";
 * import { parseServeConfig } from "../engine/config.ts";
 * const cfg = parseServeConfig({ model: "Qwen/Qwen2.5-1.5B-Instruct", max_model_len: 4096 });
 * planMemory(loadModel(cfg.model), loadGpu("H100-80GB"), cfg).kv_cache_tokens; // ~2.5M tokens
 * ```
 * @module
 */
import type { ServeConfig } from "../engine/config.ts";
import type { GpuSpec, ModelSpec } from "./catalog.ts";
import { MEMORY, TIMING } from "./constants.ts";
import type { MemoryPlan } from "./types.ts";

const GiB = 2 ** 30;

/** The engine settings vLLM resolves from flags, model and device; the scheduler and server use these. */
export interface EngineSettings {
  block_size: number;
  max_num_seqs: number;
  max_num_batched_tokens: number;
  max_model_len: number;
  gpu_memory_utilization: number;
  tensor_parallel_size: number;
  /** Bytes per weight element (dtype after `--dtype`). */
  dtype_bytes: number;
  /** Bytes per KV element (`--kv-cache-dtype`, else the weight dtype). */
  kv_dtype_bytes: number;
  /**
   * Explicit KV pool size: `--kv-cache-memory-bytes`; on the CPU profile VLLM_CPU_KVCACHE_SPACE (GiB), when
   * set, replaces it (vLLM 0.32's precedence).
   */
  kv_cache_memory_bytes?: number;
  /** `--num-gpu-blocks-override` (passed through extra_args). */
  num_gpu_blocks_override?: number;
  enforce_eager: boolean;
  /** Graph capture sizes vLLM would capture (empty under enforce_eager or on CPU). */
  cudagraph_capture_sizes: number[];
}

/** The value of a pass-through flag in extra_args (`--flag v` or `--flag=v`), if present. */
function extraArg(cfg: ServeConfig, flag: string): string | undefined {
  const a = cfg.extra_args;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === flag) return a[i + 1];
    if (a[i].startsWith(`${flag}=`)) return a[i].slice(flag.length + 1);
  }
  return undefined;
}

function dtypeBytes(model: ModelSpec, dtype: string): number {
  switch (dtype) {
    case "auto":
      return model.dtype_bytes;
    case "half":
    case "float16":
    case "bfloat16":
      return 2;
    case "float":
    case "float32":
      return 4;
    default:
      throw new Error(
        `Unsupported --dtype '${dtype}' for the simulated engine. Use auto, bfloat16, float16, half or float32.`,
      );
  }
}

function kvDtypeBytes(cfg: ServeConfig, weight_bytes: number): number {
  const v = extraArg(cfg, "--kv-cache-dtype");
  if (v === undefined || v === "auto") return weight_bytes;
  if (v.startsWith("fp8")) return 1;
  if (v === "bfloat16" || v === "float16" || v === "half") return 2;
  throw new Error(`Unsupported --kv-cache-dtype '${v}' for the simulated engine. Use auto or fp8.`);
}

/** vLLM's default cudagraph capture sizes: 1, 2, 4, then every 8 up to 512, capped by the batch budget. */
export function cudagraphCaptureSizes(max_num_batched_tokens: number): number[] {
  const cap = Math.min(TIMING.max_cudagraph_capture_size, max_num_batched_tokens);
  const sizes = [1, 2, 4];
  for (let s = 8; s <= TIMING.max_cudagraph_capture_size; s += 8) sizes.push(s);
  return sizes.filter((s) => s <= cap);
}

/** vLLM's derived-length check message (config/model.py). */
function tooLongMessage(requested: number, model: ModelSpec): string {
  return `User-specified max_model_len (${requested}) is greater than the derived max_model_len ` +
    `(max_position_embeddings=${model.max_position_embeddings} or model_max_length=None in model's config.json). ` +
    `This may lead to incorrect model outputs or CUDA errors. To allow overriding this maximum, ` +
    `set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1`;
}

/**
 * The settings vLLM resolves from a config on this model and device: block size (16 on GPU, 128 on CPU),
 * max_num_seqs and max_num_batched_tokens (get_batch_defaults), max_model_len (max_position_embeddings
 * unless set; a larger value throws vLLM's error unless VLLM_ALLOW_LONG_MAX_MODEL_LEN=1 is in cfg.env),
 * gpu_memory_utilization (0.9, as vLLM <= 0.20).
 *
 * @example
 * ```ts
 * const s = resolveEngineSettings(loadModel("qwen2.5-1.5b"), loadGpu("H100-80GB"), parseServeConfig({ model: "qwen2.5-1.5b" }));
 * [s.block_size, s.max_num_seqs, s.max_num_batched_tokens, s.max_model_len]; // [16, 1024, 8192, 32768]
 * ```
 */
export function resolveEngineSettings(model: ModelSpec, gpu: GpuSpec, cfg: ServeConfig): EngineSettings {
  const tp = cfg.tensor_parallel_size;
  const cpu = gpu.kind === "cpu";
  const allowLong = cfg.env.VLLM_ALLOW_LONG_MAX_MODEL_LEN === "1" ||
    cfg.env.VLLM_ALLOW_LONG_MAX_MODEL_LEN?.toLowerCase() === "true";
  if (cfg.max_model_len !== undefined && cfg.max_model_len > model.max_position_embeddings && !allowLong) {
    throw new Error(tooLongMessage(cfg.max_model_len, model));
  }
  const max_model_len = cfg.max_model_len ?? model.max_position_embeddings;

  const d = cpu
    ? MEMORY.batch_defaults_cpu
    : gpu.memory_bytes >= MEMORY.batch_defaults_large_gpu_min_bytes && !/a100/i.test(gpu.name)
    ? MEMORY.batch_defaults_large_gpu
    : MEMORY.batch_defaults_small_gpu;
  const world = cpu ? tp : 1;
  let max_num_seqs = cfg.max_num_seqs ?? d.max_num_seqs * world;
  let max_num_batched_tokens = cfg.max_num_batched_tokens ?? d.max_num_batched_tokens * world;
  // SchedulerConfig: default token budget capped at max_num_seqs x max_model_len; seqs capped at the budget.
  if (cfg.max_num_batched_tokens === undefined) {
    max_num_batched_tokens = Math.min(max_num_batched_tokens, max_num_seqs * max_model_len);
  }
  if (cfg.max_num_seqs === undefined) max_num_seqs = Math.min(max_num_seqs, max_num_batched_tokens);

  const dtype_bytes = dtypeBytes(model, cfg.dtype);
  // vLLM 0.32 (vllm/platforms/cpu.py, "Legacy setting"): a set, non-empty VLLM_CPU_KVCACHE_SPACE replaces
  // kv_cache_memory_bytes on CPU, flag or not; "" counts as unset. The lab's launcher removes the variable
  // when it asks for a pool size, so both engines then honour the flag.
  const rawSpace = cpu ? cfg.env.VLLM_CPU_KVCACHE_SPACE : undefined;
  const cpuSpace = rawSpace === "" ? undefined : rawSpace;
  if (cpuSpace !== undefined && !/^[1-9]\d*$/.test(cpuSpace)) {
    throw new Error(
      `VLLM_CPU_KVCACHE_SPACE must be a positive integer number of GiB, got '${cpuSpace}'. Set it to e.g. 4.`,
    );
  }
  const override = extraArg(cfg, "--num-gpu-blocks-override");
  const enforce_eager = cfg.enforce_eager;
  return {
    block_size: cfg.block_size ?? (cpu ? MEMORY.default_block_size_cpu : MEMORY.default_block_size_gpu),
    max_num_seqs,
    max_num_batched_tokens,
    max_model_len,
    gpu_memory_utilization: cfg.gpu_memory_utilization ?? MEMORY.default_gpu_memory_utilization,
    tensor_parallel_size: tp,
    dtype_bytes,
    kv_dtype_bytes: kvDtypeBytes(cfg, dtype_bytes),
    kv_cache_memory_bytes: cpuSpace !== undefined ? Number(cpuSpace) * GiB : cfg.kv_cache_memory_bytes,
    num_gpu_blocks_override: override !== undefined ? Number(override) : undefined,
    enforce_eager,
    cudagraph_capture_sizes: enforce_eager || cpu ? [] : cudagraphCaptureSizes(max_num_batched_tokens),
  };
}

/**
 * KV bytes per token on one GPU: 2 (K and V) x layers x KV heads x head_dim x KV dtype bytes, with KV
 * heads per tensor-parallel rank = max(1, kv_heads / tp).
 *
 * @example
 * ```ts
 * kvBytesPerToken(loadModel("qwen2.5-1.5b")); // 2 x 28 x 2 x 128 x 2 = 28,672
 * ```
 */
export function kvBytesPerToken(
  model: ModelSpec,
  kv_dtype_bytes: number = model.dtype_bytes,
  tensor_parallel_size = 1,
): number {
  const kv_heads = Math.max(1, Math.floor(model.num_kv_heads / tensor_parallel_size));
  return 2 * model.num_layers * kv_heads * model.head_dim * kv_dtype_bytes;
}

/** Weight bytes on one GPU: param_count x dtype bytes / tensor_parallel_size. */
export function weightsBytes(
  model: ModelSpec,
  dtype_bytes: number = model.dtype_bytes,
  tensor_parallel_size = 1,
): number {
  return Math.ceil(model.param_count * dtype_bytes / tensor_parallel_size);
}

/**
 * Activation peak of vLLM's profile run (documented estimate, see constants MEMORY): per batched token
 * (2 x hidden + 3 x intermediate / tp) x dtype bytes, plus fp32 logits for max_num_seqs rows.
 */
export function activationBytes(model: ModelSpec, s: EngineSettings): number {
  const per_token = (MEMORY.activation_hidden_factor * model.hidden_size +
    MEMORY.activation_intermediate_factor * model.intermediate_size / s.tensor_parallel_size) * s.dtype_bytes;
  const logits = s.max_num_seqs * model.vocab_size * MEMORY.logits_bytes_per_element / s.tensor_parallel_size;
  return Math.ceil(s.max_num_batched_tokens * per_token + logits);
}

/** CUDA-graph memory estimate (0 under enforce_eager or on CPU): per layer, scaled by the capture sizes used. */
export function graphBytes(model: ModelSpec, s: EngineSettings): number {
  const full = cudagraphCaptureSizes(TIMING.max_cudagraph_capture_size).length;
  return Math.ceil(MEMORY.graph_bytes_per_layer * model.num_layers * s.cudagraph_capture_sizes.length / full);
}

const gib = (b: number) => (b / GiB).toFixed(2);

/**
 * The KV pool as vLLM sizes it, with the fit error vLLM raises when one max_model_len request does not
 * fit (`fit_error`, with vLLM's estimated maximum model length and message). Throws for settings vLLM
 * rejects before sizing memory (max_model_len above the model's limit, bad dtype).
 *
 * @example
 * ```ts
 * const p = planMemory(loadModel("qwen2.5-1.5b"), loadGpu("H100-80GB"), parseServeConfig({ model: "qwen2.5-1.5b", max_model_len: 4096 }));
 * p.max_concurrency; // num_gpu_blocks / 256
 * ```
 */
export function planMemory(model: ModelSpec, gpu: GpuSpec, cfg: ServeConfig): MemoryPlan {
  const s = resolveEngineSettings(model, gpu, cfg);
  const tp = s.tensor_parallel_size;
  const total_bytes = gpu.memory_bytes;
  const weights_bytes = weightsBytes(model, s.dtype_bytes, tp);
  const activation_bytes = activationBytes(model, s);
  const graph_bytes = graphBytes(model, s);
  const non_torch = MEMORY.non_torch_bytes + (tp > 1 ? MEMORY.non_torch_tp_extra_bytes : 0);
  const non_kv = weights_bytes + activation_bytes + non_torch +
    (MEMORY.graph_memory_in_kv_budget ? graph_bytes : 0);

  let requested_bytes: number;
  let available_kv_bytes: number;
  if (s.kv_cache_memory_bytes !== undefined) {
    available_kv_bytes = s.kv_cache_memory_bytes;
    requested_bytes = available_kv_bytes + non_kv;
  } else if (gpu.kind === "cpu") {
    available_kv_bytes = Math.floor(total_bytes * MEMORY.cpu_default_kv_fraction);
    requested_bytes = available_kv_bytes + non_kv;
  } else {
    requested_bytes = Math.ceil(total_bytes * s.gpu_memory_utilization);
    available_kv_bytes = requested_bytes - non_kv;
  }

  const kv_bytes_per_token = kvBytesPerToken(model, s.kv_dtype_bytes, tp);
  const block_bytes = s.block_size * kv_bytes_per_token;
  const blocks_per_request = Math.ceil(s.max_model_len / s.block_size);
  const needed_bytes = blocks_per_request * block_bytes;
  const fitted_blocks = Math.max(0, Math.floor(available_kv_bytes / block_bytes));
  const num_gpu_blocks = s.num_gpu_blocks_override ?? fitted_blocks;

  const plan: MemoryPlan = {
    total_bytes,
    requested_bytes,
    weights_bytes,
    activation_bytes,
    graph_bytes,
    available_kv_bytes,
    kv_bytes_per_token,
    block_size: s.block_size,
    num_gpu_blocks,
    kv_cache_tokens: num_gpu_blocks * s.block_size,
    max_model_len: s.max_model_len,
    max_concurrency: num_gpu_blocks / blocks_per_request,
  };
  if (available_kv_bytes <= 0) {
    plan.fit_error = {
      needed_bytes,
      available_bytes: available_kv_bytes,
      estimated_max_model_len: 0,
      message: "No available memory for the cache blocks. Try increasing `gpu_memory_utilization` " +
        "when initializing the engine.",
    };
  } else if (needed_bytes > available_kv_bytes) {
    // vLLM's estimate_max_model_len: the largest length whose blocks fit in the available memory.
    const estimated = Math.min(s.max_model_len, fitted_blocks * s.block_size);
    plan.fit_error = {
      needed_bytes,
      available_bytes: available_kv_bytes,
      estimated_max_model_len: estimated,
      message: `To serve at least one request with the models's max seq len (${s.max_model_len}), ` +
        `(${gib(needed_bytes)} GiB KV cache is needed, which is larger than the available KV cache memory ` +
        `(${
          gib(available_kv_bytes)
        } GiB). Based on the available memory, the estimated maximum model length ` +
        `is ${estimated}. Try increasing \`gpu_memory_utilization\` or decreasing \`max_model_len\` when ` +
        `initializing the engine. See https://docs.vllm.ai/en/latest/configuration/conserving_memory/ ` +
        `for more details.`,
    };
  }
  return plan;
}
