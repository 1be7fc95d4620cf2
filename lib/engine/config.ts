/**
 * The one typed server configuration every engine understands.
 *
 * `ServeConfig` maps to the same `vllm serve` flags for the `vllm` engine and the embedded `sim` engine,
 * to llama-server's flags for `llamacpp` (llamacpp.ts); the `external` engine only reads `url`, `model` and
 * the API key's environment variable.
 *
 * @example
 * ```ts
 * import { parseServeConfig } from "./config.ts";
 * const cfg = parseServeConfig({ engine: "sim", model: "Qwen/Qwen2.5-1.5B-Instruct", max_model_len: 4096 });
 * ```
 * @module
 */
import { z } from "zod";
import { CPU_LIST_RE } from "./cpus.ts";

/** Which engine serves the model. */
export const EngineKind = z.enum(["vllm", "sim", "external", "llamacpp"]);
export type EngineKind = z.infer<typeof EngineKind>;

/** Options that only the embedded engine reads; they become `--sim-*` flags. */
export const SimOptions = z.object({
  /** GPU profile name from data/gpus/ (e.g. "H100-80GB", "cpu"). */
  gpu: z.string().default("H100-80GB"),
  /** Multiplier for simulated startup phases: 0.02 turns 40 s of simulated startup into 0.8 s. */
  startup_time_scale: z.number().positive().max(1).default(0.02),
  /** Expose server-side ground-truth timestamps per request (debug endpoint and response header). */
  ground_truth: z.boolean().default(true),
  /** Serve GET /servelab/heap: a full GC, then the heap and RSS (for soaks); the launcher adds --expose-gc. */
  debug_heap: z.boolean().default(false),
  /** Fault injection, for tests of the lab itself. */
  faults: z.object({
    crash_after_requests: z.number().int().positive().optional(),
    stall_after_tokens: z.number().int().nonnegative().optional(),
    http_500_rate: z.number().min(0).max(1).optional(),
    drop_connection_rate: z.number().min(0).max(1).optional(),
    slow_start_s: z.number().nonnegative().optional(),
  }).default({}),
}).strict();
export type SimOptions = z.infer<typeof SimOptions>;

const positiveInt = z.number().int().positive();

/** The server configuration. Field names are the `vllm serve` flag names in snake_case. */
export const ServeConfig = z.object({
  engine: EngineKind.default("sim"),
  /** HF model id or local path (vllm); catalog id in data/models/ (sim); the served name (external). */
  model: z.string().min(1),
  served_model_name: z.string().min(1).optional(),
  max_model_len: positiveInt.optional(),
  enable_prefix_caching: z.boolean().default(true),
  /** Needed for `usage.prompt_tokens_details.cached_tokens`; the lab turns it on by default. */
  enable_prompt_tokens_details: z.boolean().default(true),
  gpu_memory_utilization: z.number().gt(0).lte(1).optional(),
  /** Overrides gpu_memory_utilization in vLLM >= 0.11. */
  kv_cache_memory_bytes: positiveInt.optional(),
  max_num_seqs: positiveInt.optional(),
  max_num_batched_tokens: positiveInt.optional(),
  block_size: positiveInt.optional(),
  enforce_eager: z.boolean().default(false),
  dtype: z.string().default("auto"),
  seed: z.number().int().nonnegative().default(0),
  tensor_parallel_size: positiveInt.default(1),
  /** Servers the lab starts bind loopback only. */
  host: z.literal("127.0.0.1").default("127.0.0.1"),
  /** 0 means: pick a free port. */
  port: z.number().int().min(0).max(65535).default(0),
  /** Name of the environment variable holding the API key; the key itself is never stored. */
  api_key_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name").optional(),
  /** Extra `vllm serve` flags passed through untouched. */
  extra_args: z.array(z.string()).default([]),
  /** Extra environment for the engine process (e.g. VLLM_CPU_KVCACHE_SPACE). Values are not secrets. */
  env: z.record(z.string(), z.string()).default({}),
  /**
   * CPU isolation: the CPU list (`0`, `0-3`) the engine's whole process group runs on (`taskset`), with its
   * thread count set to match (cpus.ts). Unset: the engine shares every CPU with the lab's client.
   */
  cpus: z.string().regex(CPU_LIST_RE, "must be a CPU list such as 0, 0-3 or 0,2,4-7").optional(),
  /** Base URL of an external engine, e.g. http://127.0.0.1:8000. */
  url: z.string().url().optional(),
  sim: SimOptions.default(SimOptions.parse({})),
}).strict().superRefine((c, ctx) => {
  if (c.engine === "external" && !c.url) {
    ctx.addIssue({
      code: "custom",
      path: ["url"],
      message: "engine 'external' needs url (e.g. http://127.0.0.1:8000)",
    });
  }
  if (c.engine === "external" && c.cpus !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["cpus"],
      message: "cpus pins an engine the lab starts; an external server is not (drop cpus or --cpus off)",
    });
  }
  if (c.engine !== "external" && c.url) {
    ctx.addIssue({
      code: "custom",
      path: ["url"],
      message: `url is only for engine 'external' (engine is '${c.engine}')`,
    });
  }
});
export type ServeConfig = z.infer<typeof ServeConfig>;
export type ServeConfigInput = z.input<typeof ServeConfig>;

/**
 * Parses a config, throwing one error that names every bad field and how to fix it.
 *
 * @example
 * ```ts
 * parseServeConfig({ engine: "vllm", model: "Qwen/Qwen2.5-1.5B-Instruct", port: 8000 });
 * ```
 */
export function parseServeConfig(input: unknown, source = "ServeConfig"): ServeConfig {
  const r = ServeConfig.safeParse(input);
  if (r.success) return r.data;
  throw new Error(formatZodError(r.error, source));
}

/** One line per problem: `<source>.<path>: <message> (got <value>)`. */
export function formatZodError(err: z.ZodError, source: string): string {
  const lines = err.issues.map((i) => {
    const path = i.path.length ? `${source}.${i.path.join(".")}` : source;
    return `  ${path}: ${i.message}`;
  });
  return `Invalid ${source}:\n${lines.join("\n")}`;
}

/** The model name clients send: served_model_name, else model. */
export function servedName(c: ServeConfig): string {
  return c.served_model_name ?? c.model;
}
