/**
 * The embedded engine's catalogs: model shapes (data/models/*.json, from each model's HF config.json) and
 * device profiles (data/gpus/*.json, from datasheets and vLLM logs). Every number in a file carries its
 * source in `sources`, and the schemas refuse a file where one is missing.
 *
 * Lookups accept the HF id (`Qwen/Qwen2.5-1.5B-Instruct`), the name after the slash, or a short alias
 * (`qwen2.5-1.5b`), case-insensitively; a local directory holding an HF `config.json` works too.
 *
 * @example
 * ```ts
 * import { loadGpu, loadModel } from "./catalog.ts";
 * loadModel("qwen2.5-1.5b").num_kv_heads; // 2
 * loadGpu("h100").memory_bytes; // 85,029,615,043 (79.19 GiB as vLLM sees it)
 * ```
 * @module
 */
import { z } from "zod";

const posInt = z.number().int().positive();
const posNum = z.number().positive();

/** Numeric and shape fields of a model that must each name a source. */
const MODEL_SOURCED = [
  "architecture",
  "num_layers",
  "hidden_size",
  "num_heads",
  "num_kv_heads",
  "head_dim",
  "intermediate_size",
  "vocab_size",
  "max_position_embeddings",
  "tie_word_embeddings",
  "qkv_bias",
  "dtype",
  "dtype_bytes",
  "param_count",
] as const;

/** A decoder-only transformer as the simulator needs it (the HF config.json fields, renamed). */
export const ModelSpec = z.object({
  /** HF id, e.g. "Qwen/Qwen2.5-1.5B-Instruct". */
  id: z.string().min(1),
  /** Short names accepted by lookups (case-insensitive). */
  aliases: z.array(z.string().min(1)).default([]),
  /** architectures[0] of config.json, e.g. "Qwen2ForCausalLM". */
  architecture: z.string().min(1),
  num_layers: posInt,
  hidden_size: posInt,
  /** Query heads (num_attention_heads). */
  num_heads: posInt,
  /** num_key_value_heads: what the KV cache stores per layer (GQA). */
  num_kv_heads: posInt,
  head_dim: posInt,
  intermediate_size: posInt,
  vocab_size: posInt,
  max_position_embeddings: posInt,
  tie_word_embeddings: z.boolean(),
  /** Bias on q/k/v projections (Qwen2); only changes the parameter count. */
  qkv_bias: z.boolean().default(false),
  /** torch_dtype of the checkpoint. */
  dtype: z.enum(["bfloat16", "float16", "float32"]),
  dtype_bytes: z.union([z.literal(2), z.literal(4)]),
  param_count: posInt,
  /** Field name -> where its value comes from. */
  sources: z.record(z.string(), z.string().min(1)),
}).strict().superRefine((m, ctx) => {
  for (const k of MODEL_SOURCED) {
    if (!m.sources[k]) {
      ctx.addIssue({ code: "custom", path: ["sources", k], message: `missing the source of ${k}` });
    }
  }
  if (m.num_heads % m.num_kv_heads !== 0) {
    ctx.addIssue({
      code: "custom",
      path: ["num_kv_heads"],
      message: `num_heads (${m.num_heads}) must be a multiple of num_kv_heads (${m.num_kv_heads})`,
    });
  }
});
export type ModelSpec = z.infer<typeof ModelSpec>;

const GPU_SOURCED = [
  "memory_bytes",
  "mem_bandwidth_bytes_s",
  "bf16_flops",
  "load_bandwidth_bytes_s",
] as const;

/**
 * Timing constants a profile fitted to a real engine (calibration, docs/sim-validation.md). Each field, when
 * present, replaces the constant of lib/sim/constants.ts for this profile only; its source is required as
 * `sources["timing.<field>"]`.
 */
export const ProfileTiming = z.object({
  /** Replaces TIMING.eff_compute_gpu / eff_compute_cpu. */
  eff_compute: posNum.max(1).optional(),
  /** Replaces TIMING.eff_memory_gpu / eff_memory_cpu. */
  eff_memory: posNum.max(1).optional(),
  /** Replaces TIMING.step_overhead_ms_gpu / step_overhead_ms_cpu. */
  step_overhead_ms: z.number().nonnegative().optional(),
  /** Replaces TIMING.per_seq_overhead_ms. */
  per_seq_overhead_ms: z.number().nonnegative().optional(),
  /** Replaces FRONTEND.overhead_ms. */
  frontend_overhead_ms: z.number().nonnegative().optional(),
  /**
   * API-server time a new request waits for each request already streaming (default 0): their output
   * processing (detokenizing, SSE) shares the API server's CPU with the new request's intake. Large where the
   * API server and the engine share one core (vLLM's CPU backend on a small host).
   */
  frontend_per_stream_ms: z.number().nonnegative().optional(),
  /** Replaces WARMUP.first_request_ms_gpu / first_request_ms_cpu. */
  first_request_ms: z.number().nonnegative().optional(),
  /**
   * Replaces STARTUP.process_start_s_gpu / process_start_s_cpu (imports, processes, everything before the
   * weights): calibration sets it so the simulated startup adds up to the real engine's time to ready.
   */
  process_start_s: z.number().nonnegative().optional(),
}).strict();
export type ProfileTiming = z.infer<typeof ProfileTiming>;

/** A device profile: one GPU, or the host for vLLM's CPU backend (`kind: "cpu"`, memory is RAM). */
export const GpuSpec = z.object({
  /** Profile name, also the file name: "H100-80GB", "cpu". */
  name: z.string().min(1),
  aliases: z.array(z.string().min(1)).default([]),
  kind: z.enum(["gpu", "cpu"]),
  description: z.string().default(""),
  /** Device total as vLLM sees it (torch.cuda.mem_get_info total), not the marketing number. */
  memory_bytes: posInt,
  /** Peak memory bandwidth (datasheet). */
  mem_bandwidth_bytes_s: posNum,
  /** Dense BF16 (or FP16 where there is no BF16) tensor peak, FLOP/s (datasheet, without sparsity). */
  bf16_flops: posNum,
  /** How fast weights reach the device at startup (storage or page cache to device). */
  load_bandwidth_bytes_s: posNum,
  /** Calibrated timing constants (optional; absent fields keep the lib/sim/constants.ts values). */
  timing: ProfileTiming.optional(),
  sources: z.record(z.string(), z.string().min(1)),
}).strict().superRefine((g, ctx) => {
  for (const k of GPU_SOURCED) {
    if (!g.sources[k]) {
      ctx.addIssue({ code: "custom", path: ["sources", k], message: `missing the source of ${k}` });
    }
  }
  for (const k of Object.keys(g.timing ?? {})) {
    if (!g.sources[`timing.${k}`]) {
      ctx.addIssue({
        code: "custom",
        path: ["sources", `timing.${k}`],
        message: `missing the source of timing.${k}`,
      });
    }
  }
});
export type GpuSpec = z.infer<typeof GpuSpec>;

const DATA_DIR = new URL("../../data/", import.meta.url);

/** A catalog folder read: the valid entries, and each file skipped with why (named, never fatal to the rest). */
export type Catalog<T> = { items: T[]; dir: URL; problems: CatalogProblem[] };
/** A catalog file that was skipped. */
export interface CatalogProblem {
  file: string;
  error: string;
}
let models: Catalog<ModelSpec> | undefined;
let gpus: Catalog<GpuSpec> | undefined;

/**
 * Reads one catalog folder (`data/models/` or `data/gpus/`, or another folder in tests). A file that is
 * not JSON or does not match the schema is skipped and listed in `problems`: one truncated file does not
 * take the other models away.
 *
 * @example
 * ```ts
 * readCatalogDir(new URL("../../data/models/", import.meta.url), ModelSpec).problems; // []
 * ```
 */
export function readCatalogDir<T>(dir: URL, schema: z.ZodType<T>): Catalog<T> {
  const items: T[] = [];
  const problems: CatalogProblem[] = [];
  const names = [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".json")).map((e) =>
    e.name
  ).sort();
  for (const name of names) {
    const url = new URL(name, dir);
    let raw: unknown;
    try {
      raw = JSON.parse(Deno.readTextFileSync(url));
    } catch (e) {
      problems.push({
        file: url.pathname,
        error: `Cannot read catalog file ${url.pathname}: ${(e as Error).message}. Fix or remove the file.`,
      });
      continue;
    }
    const r = schema.safeParse(raw);
    if (!r.success) {
      const why = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
      problems.push({
        file: url.pathname,
        error: `Invalid catalog file ${url.pathname}: ${why}. Fix the file (every number needs a source).`,
      });
      continue;
    }
    items.push(r.data);
  }
  return { items, dir, problems };
}

function modelCatalog(): Catalog<ModelSpec> {
  return models ??= readCatalogDir(new URL("models/", DATA_DIR), ModelSpec);
}
function gpuCatalog(): Catalog<GpuSpec> {
  return gpus ??= readCatalogDir(new URL("gpus/", DATA_DIR), GpuSpec);
}

/**
 * The catalog files skipped because they are broken (models and GPU profiles), each with its error.
 *
 * @example
 * ```ts
 * for (const p of catalogProblems()) console.warn(`warning: ${p.error} (skipped)`);
 * ```
 */
export function catalogProblems(): CatalogProblem[] {
  return [...modelCatalog().problems, ...gpuCatalog().problems];
}

/** The broken file that would have held `id`, if any (so "unknown model" can say why). */
function brokenFileFor(c: Catalog<unknown>, id: string): CatalogProblem | undefined {
  return c.problems.find((p) => p.file.endsWith(`/${catalogFileName(id)}`));
}

const norm = (s: string) => s.trim().toLowerCase();

/** The catalog file name for an id: slashes become `--`, as in the HF hub cache. */
export function catalogFileName(id: string): string {
  return `${id.replaceAll("/", "--").replace(/[^A-Za-z0-9._-]/g, "_")}.json`;
}

/** Ids of every catalogued model, sorted. @example listModels().includes("Qwen/Qwen2.5-1.5B-Instruct") */
export function listModels(): string[] {
  return modelCatalog().items.map((m) => m.id).sort();
}

/** Names of every device profile, sorted. @example listGpus().includes("H100-80GB") */
export function listGpus(): string[] {
  return gpuCatalog().items.map((g) => g.name).sort();
}

/**
 * A model by HF id, the name after the slash, or an alias (case-insensitive); or a local directory
 * with an HF config.json (read with {@link modelFromHfConfig}).
 *
 * @example
 * ```ts
 * loadModel("Qwen/Qwen2.5-1.5B-Instruct").num_layers; // 28
 * loadModel("phi-3-mini").max_position_embeddings; // 4096
 * ```
 */
export function loadModel(id: string): ModelSpec {
  const key = norm(id);
  const items = modelCatalog().items;
  const hit = items.find((m) => norm(m.id) === key) ??
    items.find((m) => norm(m.id.split("/").pop()!) === key || m.aliases.some((a) => norm(a) === key));
  if (hit) return hit;
  const local = tryLocalConfig(id);
  if (local) return local;
  const broken = brokenFileFor(modelCatalog(), id);
  if (broken) throw new Error(`Model '${id}' cannot be loaded: ${broken.error}`);
  throw new Error(
    `Unknown model '${id}': not in data/models/ and not a directory with a config.json. ` +
      `Known models: ${listModels().join(", ")}. Use one of them (or an alias such as 'qwen2.5-1.5b'), ` +
      `or add data/models/${catalogFileName(id)} with a source for every number.`,
  );
}

/**
 * A device profile by name or alias (case-insensitive).
 *
 * @example
 * ```ts
 * loadGpu("H100-80GB").kind; // "gpu"
 * loadGpu("cpu").kind; // "cpu"
 * ```
 */
export function loadGpu(name: string): GpuSpec {
  const key = norm(name);
  const items = gpuCatalog().items;
  const hit = items.find((g) => norm(g.name) === key) ??
    items.find((g) => g.aliases.some((a) => norm(a) === key));
  if (hit) return hit;
  const broken = brokenFileFor(gpuCatalog(), name);
  if (broken) throw new Error(`GPU profile '${name}' cannot be loaded: ${broken.error}`);
  throw new Error(
    `Unknown GPU profile '${name}'. Known profiles: ${listGpus().join(", ")}. ` +
      `Use one of them (e.g. --sim-gpu H100-80GB), or add data/gpus/${catalogFileName(name)} with sources.`,
  );
}

/** The HF config.json fields modelFromHfConfig reads. */
const HfConfig = z.object({
  architectures: z.array(z.string()).min(1).optional(),
  num_hidden_layers: posInt,
  hidden_size: posInt,
  num_attention_heads: posInt,
  num_key_value_heads: posInt.optional(),
  head_dim: posInt.optional().nullable(),
  intermediate_size: posInt,
  vocab_size: posInt,
  max_position_embeddings: posInt,
  tie_word_embeddings: z.boolean().optional(),
  attention_bias: z.boolean().optional(),
  torch_dtype: z.string().optional(),
  dtype: z.string().optional(),
  model_type: z.string().optional(),
}).passthrough();

/**
 * Parameters of a Llama/Qwen2-style decoder from its shape: per layer q, k, v, o projections (+ q/k/v
 * bias), gate/up/down MLP, two RMSNorms; embeddings (twice when untied) and the final norm.
 *
 * @example
 * ```ts
 * paramCountFromShape(loadModel("qwen2.5-1.5b")); // 1,543,714,304
 * ```
 */
export function paramCountFromShape(
  m: Pick<
    ModelSpec,
    | "num_layers"
    | "hidden_size"
    | "num_heads"
    | "num_kv_heads"
    | "head_dim"
    | "intermediate_size"
    | "vocab_size"
    | "tie_word_embeddings"
    | "qkv_bias"
  >,
): number {
  const h = m.hidden_size, q = m.num_heads * m.head_dim, kv = m.num_kv_heads * m.head_dim;
  const attn = h * q + 2 * h * kv + q * h + (m.qkv_bias ? q + 2 * kv : 0);
  const layer = attn + 3 * h * m.intermediate_size + 2 * h;
  return m.num_layers * layer + m.vocab_size * h * (m.tie_word_embeddings ? 1 : 2) + h;
}

/**
 * A ModelSpec from an HF config.json object (for local model directories, e.g. the lab's generated tiny
 * model). The parameter count is computed from the shape; sources point at the file.
 *
 * @example
 * ```ts
 * modelFromHfConfig({ num_hidden_layers: 2, hidden_size: 128, num_attention_heads: 2, num_key_value_heads: 2,
 *   intermediate_size: 256, vocab_size: 32000, max_position_embeddings: 4096 }, "./tiny").head_dim; // 64
 * ```
 */
export function modelFromHfConfig(config: unknown, id: string, source = `${id}/config.json`): ModelSpec {
  const r = HfConfig.safeParse(config);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(
      `Cannot use ${source} as a model config: ${why}. It needs the Llama/Qwen2 config.json fields.`,
    );
  }
  const c = r.data;
  const dtype = (c.torch_dtype ?? c.dtype ?? "bfloat16") === "float16"
    ? "float16"
    : (c.torch_dtype ?? c.dtype) === "float32"
    ? "float32"
    : "bfloat16";
  const shape = {
    num_layers: c.num_hidden_layers,
    hidden_size: c.hidden_size,
    num_heads: c.num_attention_heads,
    num_kv_heads: c.num_key_value_heads ?? c.num_attention_heads,
    head_dim: c.head_dim ?? Math.floor(c.hidden_size / c.num_attention_heads),
    intermediate_size: c.intermediate_size,
    vocab_size: c.vocab_size,
    tie_word_embeddings: c.tie_word_embeddings ?? false,
    qkv_bias: c.attention_bias ?? c.model_type === "qwen2",
  };
  const sources = Object.fromEntries(MODEL_SOURCED.map((k) => [k, source]));
  sources.param_count = `computed from the shape in ${source}`;
  return ModelSpec.parse({
    id,
    aliases: [],
    architecture: c.architectures?.[0] ?? "LlamaForCausalLM",
    ...shape,
    max_position_embeddings: c.max_position_embeddings,
    dtype,
    dtype_bytes: dtype === "float32" ? 4 : 2,
    param_count: paramCountFromShape(shape),
    sources,
  });
}

function tryLocalConfig(path: string): ModelSpec | undefined {
  if (!path.includes("/") && !path.startsWith(".")) return undefined;
  let text: string;
  try {
    text = Deno.readTextFileSync(`${path.replace(/\/$/, "")}/config.json`);
  } catch {
    return undefined;
  }
  return modelFromHfConfig(JSON.parse(text), path);
}
