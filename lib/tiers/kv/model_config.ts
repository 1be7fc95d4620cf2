/**
 * The model configuration behind the computed KV bytes per token: the lab's catalog (data/models via
 * lib/sim) for known ids, a local model directory's config.json, or the config.json vLLM downloaded into the
 * Hugging Face cache. Undefined when none is found: the computed value is then "not computed", never guessed.
 * @module
 */
import { join } from "node:path";
import type { ServeConfig } from "../../engine/config.ts";
import { loadGpu, loadModel, modelFromHfConfig, type ModelSpec } from "../../sim/catalog.ts";
import { kvBytesPerToken, resolveEngineSettings } from "../../sim/memory.ts";

/** A model's KV shape and where it came from. */
export interface KvModelConfig {
  /** An id or directory `loadModel` (and the planner, fitsConcurrent) accepts. */
  ref: string;
  spec: ModelSpec;
  /** "catalog data/models", a config.json path. */
  source: string;
  kv_dtype_bytes: number;
  tensor_parallel_size: number;
  /** 2 x layers x max(1, KV heads / TP) x head_dim x KV dtype bytes. */
  kv_bytes_per_token: number;
}

function hfCacheDirs(env: Record<string, string | undefined>): string[] {
  const dirs: string[] = [];
  if (env.HF_HUB_CACHE) dirs.push(env.HF_HUB_CACHE);
  if (env.HF_HOME) dirs.push(join(env.HF_HOME, "hub"));
  if (env.HOME) dirs.push(join(env.HOME, ".cache", "huggingface", "hub"));
  return dirs;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The snapshot directory holding `config.json` for an HF id in the cache, if any. */
function hfSnapshot(id: string, env: Record<string, string | undefined>): string | undefined {
  if (!/^[\w.-]+\/[\w.-]+$/.test(id)) return undefined;
  for (const hub of hfCacheDirs(env)) {
    const snaps = join(hub, `models--${id.replace("/", "--")}`, "snapshots");
    try {
      for (const e of Deno.readDirSync(snaps)) {
        const dir = join(snaps, e.name);
        if (isFile(join(dir, "config.json"))) return dir;
      }
    } catch { /* not cached here */ }
  }
  return undefined;
}

/**
 * The model config for an engine configuration, with the KV bytes per token computed from it (KV dtype
 * from `--dtype`/`--kv-cache-dtype`, heads per tensor-parallel rank), or undefined when no config is found.
 *
 * @example
 * ```ts
 * kvModelConfig(serveConfigFor(labEnv()))?.kv_bytes_per_token; // 28,672 for Qwen2.5-1.5B in bf16
 * ```
 */
export function kvModelConfig(
  cfg: ServeConfig,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): KvModelConfig | undefined {
  let spec: ModelSpec | undefined;
  let ref = cfg.model;
  let source = "";
  try {
    spec = loadModel(cfg.model);
    source = isFile(join(cfg.model, "config.json")) ? join(cfg.model, "config.json") : "catalog data/models";
  } catch {
    const dir = hfSnapshot(cfg.model, env);
    if (!dir) return undefined;
    try {
      spec = modelFromHfConfig(JSON.parse(Deno.readTextFileSync(join(dir, "config.json"))), cfg.model);
      ref = dir;
      source = join(dir, "config.json");
    } catch {
      return undefined;
    }
  }
  // The profile only sets batch defaults; the KV dtype and TP do not depend on it.
  const gpu = loadGpu(cfg.engine === "sim" ? cfg.sim.gpu : "H100-80GB");
  const settings = resolveEngineSettings(spec, gpu, { ...cfg, max_model_len: undefined });
  return {
    ref,
    spec,
    source,
    kv_dtype_bytes: settings.kv_dtype_bytes,
    tensor_parallel_size: settings.tensor_parallel_size,
    kv_bytes_per_token: kvBytesPerToken(spec, settings.kv_dtype_bytes, settings.tensor_parallel_size),
  };
}
