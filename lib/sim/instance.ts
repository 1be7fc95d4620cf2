/**
 * One embedded engine, assembled from a `ServeConfig`: the catalog model and GPU profile, the memory plan,
 * the step-time model, the V1-style scheduler, the real-time runtime, the metrics and the faults.
 * server.ts serves it over HTTP; tests build one in-process with a virtual clock.
 * @module
 */
import type { ServeConfig } from "../engine/config.ts";
import { servedName } from "../engine/config.ts";
import { type GpuSpec, loadGpu, loadModel, type ModelSpec } from "./catalog.ts";
import { createFaults, type Faults } from "./faults.ts";
import { type EngineSettings, planMemory, resolveEngineSettings } from "./memory.ts";
import { createSimMetrics, type SimMetrics } from "./metrics.ts";
import { realClock, type RealClockOptions, type SimClock, SimRuntime, type StepTiming } from "./runtime.ts";
import { createScheduler, schedulerOptionsFor } from "./scheduler.ts";
import { frontendOverheadMs, idlePenaltyMs, makeStepTime, warmupPenaltyMs } from "./timing.ts";
import type { MemoryPlan } from "./types.ts";
import { fitErrorMessage } from "./log.ts";

/** Options of {@link createSim}, for the process that hosts the engine. */
export interface SimHostOptions {
  /** The server clock (default: the real one). Tests pass `virtualClock()`. */
  clock?: SimClock;
  /** Environment the engine reads (VLLM_API_KEY, VLLM_SERVER_DEV_MODE). Default: cfg.env over Deno.env. */
  env?: Record<string, string | undefined>;
  /** Called when the crash fault fires. Default: the engine turns dead (503 / 500), like EngineDeadError. */
  onCrash?: () => void;
  /** Where warnings go (default: nowhere). */
  log?: (message: string) => void;
  /** How far the real-time driver may fall behind before restarting its timeline (runtime.ts; default 50 ms). */
  catch_up_ms?: number;
  /** Options of the real clock, when `clock` is not given. */
  real_clock?: RealClockOptions;
  /** Called after each engine step's delivery (benchmarks). */
  onStep?: (t: StepTiming) => void;
}

/** Thrown when one max_model_len request does not fit in the KV cache; the message is vLLM's. */
export class SimFitError extends Error {
  constructor(readonly plan: MemoryPlan) {
    super(fitErrorMessage(plan));
  }
}

/** A running embedded engine. */
export interface Sim extends AsyncDisposable {
  readonly cfg: ServeConfig;
  readonly model: ModelSpec;
  readonly gpu: GpuSpec;
  readonly settings: EngineSettings;
  readonly plan: MemoryPlan;
  /** The name clients send and responses carry. */
  readonly model_name: string;
  readonly runtime: SimRuntime;
  readonly metrics: SimMetrics;
  readonly faults: Faults;
  /** Milliseconds the API server spends on a request of this many prompt tokens before the engine sees it. */
  frontendMs(prompt_tokens: number, streaming?: number): number;
  /** The API key guarding /v1 paths, if any. */
  readonly api_key?: string;
  /** VLLM_SERVER_DEV_MODE=1: /reset_prefix_cache is served. */
  readonly dev_mode: boolean;
  readonly host: SimHostOptions;
  /** True once the crash fault fired in-process (health 503, requests 500). */
  dead: boolean;
  /** Streams that must be closed at shutdown (stalled ones never end by themselves). */
  readonly open_streams: Set<{ close(): void }>;
  close(): Promise<void>;
}

/** `--api-key KEY` (or `--api-key=KEY`) from extra_args, else VLLM_API_KEY. */
function apiKey(cfg: ServeConfig, env: Record<string, string | undefined>): string | undefined {
  const a = cfg.extra_args;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === "--api-key" && a[i + 1] !== undefined) return a[i + 1];
    if (a[i].startsWith("--api-key=")) return a[i].slice("--api-key=".length);
  }
  return env.VLLM_API_KEY || undefined;
}

/**
 * Assembles an engine. Throws {@link SimFitError} when the model does not fit at this max_model_len, and
 * the catalog's or memory model's errors for unknown models, GPUs or settings vLLM rejects.
 *
 * @example
 * ```ts
 * await using sim = createSim(parseServeConfig({ model: "Qwen/Qwen2.5-1.5B-Instruct", max_model_len: 4096 }),
 *   { clock: virtualClock() });
 * sim.plan.num_gpu_blocks;
 * ```
 */
export function createSim(cfg: ServeConfig, host: SimHostOptions = {}): Sim {
  const model = loadModel(cfg.model);
  const gpu = loadGpu(cfg.sim.gpu);
  const settings = resolveEngineSettings(model, gpu, cfg);
  const plan = planMemory(model, gpu, cfg);
  if (plan.fit_error) throw new SimFitError(plan);
  const env = host.env ?? { ...Deno.env.toObject(), ...cfg.env };
  const model_name = servedName(cfg);
  const scheduler = createScheduler(
    schedulerOptionsFor(cfg, plan, settings, makeStepTime(model, gpu, cfg)),
  );
  const metrics = createSimMetrics({
    model_name,
    max_model_len: plan.max_model_len,
    cache_info: {
      block_size: String(plan.block_size),
      cache_dtype: "auto",
      calculate_kv_scales: "False",
      cpu_offload_gb: "0",
      enable_prefix_caching: cfg.enable_prefix_caching ? "True" : "False",
      gpu_memory_utilization: String(settings.gpu_memory_utilization),
      is_attention_free: "False",
      kv_cache_memory_bytes: cfg.kv_cache_memory_bytes === undefined
        ? "None"
        : String(cfg.kv_cache_memory_bytes),
      num_cpu_blocks: "None",
      num_gpu_blocks: String(plan.num_gpu_blocks),
      num_gpu_blocks_override: settings.num_gpu_blocks_override === undefined
        ? "None"
        : String(settings.num_gpu_blocks_override),
      prefix_caching_hash_algo: "sha256",
      sliding_window: "None",
      swap_space: "4",
    },
  });
  const runtime = new SimRuntime({
    scheduler,
    clock: host.clock ?? realClock(host.real_clock),
    metrics,
    warmup_penalty_ms: warmupPenaltyMs(model, gpu, cfg),
    idle_penalty_ms: (idle_s) => idlePenaltyMs(gpu, idle_s),
    catch_up_ms: host.catch_up_ms,
    onStep: host.onStep,
  });
  const sim: Sim = {
    cfg,
    model,
    gpu,
    settings,
    plan,
    model_name,
    runtime,
    metrics,
    faults: createFaults(cfg.sim.faults, cfg.seed),
    frontendMs: (prompt_tokens, streaming = 0) => frontendOverheadMs(prompt_tokens, gpu, streaming),
    api_key: apiKey(cfg, env),
    dev_mode: env.VLLM_SERVER_DEV_MODE === "1",
    host,
    dead: false,
    open_streams: new Set(),
    async close() {
      for (const c of sim.open_streams) {
        try {
          c.close();
        } catch { /* already closed or errored */ }
      }
      sim.open_streams.clear();
      await runtime.close();
    },
    [Symbol.asyncDispose]() {
      return sim.close();
    },
  };
  return sim;
}
