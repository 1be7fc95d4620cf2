/**
 * Simulated time: the cost of one engine step from a roofline of the model on the device, startup as
 * phases, and the first-request warm-up. Constants are in constants.ts; docs/sim-model.md ("Timing")
 * gives the formulas and what they leave out.
 *
 * Step time = max(FLOPs / (peak x eff_compute), bytes / (bandwidth x eff_memory)) + launch overhead (eager
 * or batches larger than the largest CUDA graph) + a fixed per-step overhead + a per-sequence overhead.
 *
 * @example
 * ```ts
 * import { makeStepTime } from "./timing.ts";
 * const step = makeStepTime(loadModel("qwen2.5-1.5b"), loadGpu("H100-80GB"), cfg);
 * step({ prefill_tokens: 0, prefill_seqs: 0, decode_seqs: 1, context_tokens: 500 }); // ~3.2 ms
 * ```
 * @module
 */
import type { ServeConfig } from "../engine/config.ts";
import type { GpuSpec, ModelSpec } from "./catalog.ts";
import { FRONTEND, STARTUP, TIMING, WARMUP } from "./constants.ts";
import { kvBytesPerToken, planMemory, resolveEngineSettings, weightsBytes } from "./memory.ts";
import type { StepShape, StepTimeFn } from "./types.ts";

/** One step's cost broken down; `total_ms` is what the scheduler's clock advances by. */
export interface StepCost {
  flops: number;
  bytes: number;
  /** flops / (peak x eff_compute). */
  compute_ms: number;
  /** bytes / (bandwidth x eff_memory). */
  memory_ms: number;
  /** Which side of the roofline sets the kernel time. */
  bound: "compute" | "memory";
  /** Kernel-launch cost when no CUDA graph is replayed (enforce_eager, or a batch above the largest graph). */
  launch_ms: number;
  /** Fixed per-step plus per-sequence overhead. */
  overhead_ms: number;
  total_ms: number;
}

/**
 * Query-key pairs attention computes this step, from the aggregate shape: each decode sequence attends
 * to its context; a prefill chunk of n tokens over a context c (chunk included) attends to ~n x (c - n/2)
 * pairs (causal). Contexts are split evenly over sequences, since StepShape carries only the sum.
 */
export function attentionPairs(shape: StepShape): number {
  const seqs = shape.prefill_seqs + shape.decode_seqs;
  if (seqs === 0) return 0;
  const mean_ctx = shape.context_tokens / seqs;
  const decode = shape.decode_seqs * mean_ctx;
  if (shape.prefill_seqs === 0) return decode;
  const chunk = shape.prefill_tokens / shape.prefill_seqs;
  return decode + shape.prefill_tokens * Math.max(chunk / 2, mean_ctx - chunk / 2);
}

/**
 * The step-cost function (with its roofline breakdown) for a model on a device under a config.
 *
 * @example
 * ```ts
 * const cost = makeStepCost(loadModel("qwen2.5-1.5b"), loadGpu("H100-80GB"), cfg);
 * cost({ prefill_tokens: 0, prefill_seqs: 0, decode_seqs: 4, context_tokens: 2000 }).bound; // "memory"
 * ```
 */
export function makeStepCost(
  model: ModelSpec,
  gpu: GpuSpec,
  cfg: ServeConfig,
): (shape: StepShape) => StepCost {
  const s = resolveEngineSettings(model, gpu, cfg);
  const cpu = gpu.kind === "cpu";
  const tp = s.tensor_parallel_size;
  const flops_s = gpu.bf16_flops *
    (gpu.timing?.eff_compute ?? (cpu ? TIMING.eff_compute_cpu : TIMING.eff_compute_gpu));
  const bytes_s = gpu.mem_bandwidth_bytes_s *
    (gpu.timing?.eff_memory ?? (cpu ? TIMING.eff_memory_cpu : TIMING.eff_memory_gpu));
  const weights = weightsBytes(model, s.dtype_bytes, tp);
  const kv_per_token = kvBytesPerToken(model, s.kv_dtype_bytes, tp);
  // 2 FLOPs per parameter per token (the brief's roofline; the embedding lookup is counted as a matmul).
  const flops_per_token = 2 * model.param_count / tp;
  // QK^T and PV: 2 matmuls x 2 FLOPs per multiply-add, per head dimension, per query head, per layer.
  const flops_per_pair = 4 * model.num_layers * model.num_heads * model.head_dim / tp;
  const step_overhead_ms = gpu.timing?.step_overhead_ms ??
    (cpu ? TIMING.step_overhead_ms_cpu : TIMING.step_overhead_ms_gpu);
  const per_seq_overhead_ms = gpu.timing?.per_seq_overhead_ms ?? TIMING.per_seq_overhead_ms;
  const largest_graph = s.cudagraph_capture_sizes.at(-1) ?? 0;
  const kernel_factor = s.enforce_eager ? TIMING.eager_kernel_factor : 1;

  return (shape: StepShape): StepCost => {
    const tokens = shape.prefill_tokens + shape.decode_seqs;
    const seqs = shape.prefill_seqs + shape.decode_seqs;
    if (tokens === 0) {
      return {
        flops: 0,
        bytes: 0,
        compute_ms: 0,
        memory_ms: 0,
        bound: "memory",
        launch_ms: 0,
        overhead_ms: 0,
        total_ms: 0,
      };
    }
    const flops = flops_per_token * tokens + flops_per_pair * attentionPairs(shape);
    // Weights once per step; KV read over every context token; KV written for every new token.
    const bytes = weights + kv_per_token * (shape.context_tokens + tokens);
    const compute_ms = flops / flops_s * 1000 * kernel_factor;
    const memory_ms = bytes / bytes_s * 1000 * kernel_factor;
    const graphed = !cpu && !s.enforce_eager && tokens <= largest_graph;
    const launch_ms = cpu || graphed ? 0 : model.num_layers * TIMING.eager_launch_ms_per_layer;
    const overhead_ms = step_overhead_ms + per_seq_overhead_ms * seqs;
    return {
      flops,
      bytes,
      compute_ms,
      memory_ms,
      bound: compute_ms > memory_ms ? "compute" : "memory",
      launch_ms,
      overhead_ms,
      total_ms: Math.max(compute_ms, memory_ms) + launch_ms + overhead_ms,
    };
  };
}

/**
 * Milliseconds per engine step (the scheduler's `step_time`). An empty step costs 0.
 *
 * @example
 * ```ts
 * const step = makeStepTime(loadModel("qwen2.5-1.5b"), loadGpu("H100-80GB"), cfg);
 * step({ prefill_tokens: 2000, prefill_seqs: 1, decode_seqs: 0, context_tokens: 2000 }); // ~20 ms
 * ```
 */
export function makeStepTime(model: ModelSpec, gpu: GpuSpec, cfg: ServeConfig): StepTimeFn {
  const cost = makeStepCost(model, gpu, cfg);
  return (shape) => cost(shape).total_ms;
}

/** Names of the simulated startup phases, in the order vLLM V1 goes through them. */
export type SimPhaseName =
  | "process_start"
  | "weights_load"
  | "compile"
  | "memory_profile"
  | "kv_alloc"
  | "graph_capture"
  | "api_start";

/** One simulated startup phase, in simulated seconds (before any startup time scale). */
export interface SimPhase {
  name: SimPhaseName;
  seconds: number;
}

/**
 * Simulated startup, phase by phase: process start, weights at load bandwidth, torch.compile (skipped
 * under enforce_eager), the memory profile run, KV allocation, CUDA-graph capture (GPU only, skipped under
 * enforce_eager), API server start. When the KV cache does not fit (planMemory's fit_error), vLLM stops
 * after the memory profile, and so does this list.
 *
 * @example
 * ```ts
 * startupPhases(loadModel("qwen2.5-1.5b"), loadGpu("H100-80GB"), cfg).map((p) => p.name);
 * // ["process_start", "weights_load", "compile", "memory_profile", "kv_alloc", "graph_capture", "api_start"]
 * ```
 */
export function startupPhases(model: ModelSpec, gpu: GpuSpec, cfg: ServeConfig): SimPhase[] {
  const s = resolveEngineSettings(model, gpu, cfg);
  const mem = planMemory(model, gpu, cfg);
  const cpu = gpu.kind === "cpu";
  const phases: SimPhase[] = [
    {
      name: "process_start",
      seconds: gpu.timing?.process_start_s ??
        (cpu ? STARTUP.process_start_s_cpu : STARTUP.process_start_s_gpu),
    },
    {
      name: "weights_load",
      seconds: STARTUP.weights_load_fixed_s + mem.weights_bytes / gpu.load_bandwidth_bytes_s,
    },
  ];
  if (!s.enforce_eager) {
    phases.push({
      name: "compile",
      seconds: cpu
        ? STARTUP.compile_base_s_cpu + STARTUP.compile_per_layer_s_cpu * model.num_layers
        : STARTUP.compile_base_s + STARTUP.compile_per_layer_s * model.num_layers,
    });
  }
  phases.push({ name: "memory_profile", seconds: STARTUP.memory_profile_s });
  if (mem.fit_error) return phases;
  const pool_bytes = mem.num_gpu_blocks * mem.block_size * mem.kv_bytes_per_token;
  phases.push({
    name: "kv_alloc",
    seconds: STARTUP.kv_alloc_fixed_s + pool_bytes / (gpu.mem_bandwidth_bytes_s * 0.5),
  });
  if (s.cudagraph_capture_sizes.length > 0) {
    phases.push({
      name: "graph_capture",
      seconds: STARTUP.graph_capture_s_per_size_per_layer * s.cudagraph_capture_sizes.length *
        model.num_layers,
    });
  }
  phases.push({ name: "api_start", seconds: STARTUP.api_start_s });
  return phases;
}

/**
 * Extra milliseconds of the first engine step after the server is ready: the cold first request (lazy
 * CUDA module loading, first sampler and detokenizer paths). An assumption, documented in sim-model.md;
 * larger under enforce_eager (no graph capture warmed the kernels) and on the CPU backend.
 *
 * @example
 * ```ts
 * warmupPenaltyMs(loadModel("qwen2.5-1.5b"), loadGpu("H100-80GB"), cfg); // 60
 * ```
 */
export function warmupPenaltyMs(_model: ModelSpec, gpu: GpuSpec, cfg: ServeConfig): number {
  if (gpu.timing?.first_request_ms !== undefined) return gpu.timing.first_request_ms;
  if (gpu.kind === "cpu") return WARMUP.first_request_ms_cpu;
  return WARMUP.first_request_ms_gpu + (cfg.enforce_eager ? WARMUP.first_request_eager_extra_ms : 0);
}

/**
 * Extra milliseconds of the first step after the engine sat idle for `idle_s` seconds (the GPU leaves its
 * boost clocks): 0 below the threshold and on the CPU profile. An assumption, small by design.
 *
 * @example
 * ```ts
 * idlePenaltyMs(loadGpu("H100-80GB"), 60); // 5
 * ```
 */
export function idlePenaltyMs(gpu: GpuSpec, idle_s: number): number {
  if (gpu.kind === "cpu" || idle_s < WARMUP.idle_threshold_s) return 0;
  return WARMUP.idle_penalty_ms_gpu;
}

/**
 * API-server time a request spends outside engine steps before its first token can be sent: HTTP and
 * validation, tokenization of the prompt, IPC, first detokenization. A calibrated profile's
 * `timing.frontend_overhead_ms` replaces the constant part, and its `timing.frontend_per_stream_ms` (default 0)
 * adds that much for each of the `streaming` requests the API server is already serving.
 *
 * @example
 * ```ts
 * frontendOverheadMs(2000); // 6 + 2000 x 0.0005 = 7 ms
 * ```
 */
export function frontendOverheadMs(prompt_tokens: number, gpu?: GpuSpec, streaming = 0): number {
  return (gpu?.timing?.frontend_overhead_ms ?? FRONTEND.overhead_ms) +
    FRONTEND.tokenize_ms_per_token * prompt_tokens +
    (gpu?.timing?.frontend_per_stream_ms ?? 0) * streaming;
}
