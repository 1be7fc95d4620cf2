/**
 * The tier's engines: one with prefix caching off, one with it on (both reporting cached prompt
 * tokens), and a small-pool engine with caching on for the eviction cliff. Engines start on first use;
 * in `exclusive` mode (one GPU that cannot hold two engines) asking for one stops the others first.
 * @module
 */
import type { ServeConfig } from "../../engine/config.ts";
import { launch, ProcessEngine } from "../../engine/launch.ts";
import { engineExited } from "../../engine/supervisor.ts";
import type { Engine } from "../../engine/types.ts";
import { recordEngine, type Run } from "../../run/run_dir.ts";
import { scrapeMetrics } from "../../scrape/scrape.ts";
import { engineLabel, type LabEnv, serveConfigFor } from "../lab_env.ts";
import { guardedFetch } from "../../base/guarded_fetch.ts";

/** Caching off, caching on, and caching on with a small KV pool. */
export type PrefixSlot = "off" | "on" | "cliff";
/** The two arms of the A/B. */
export type PrefixArm = "off" | "on";

/** A running engine and what the tier needs to know about its KV cache. */
export interface PrefixEngineInfo {
  slot: PrefixSlot;
  engine: Engine;
  /** How reports name it (SIMULATED on the embedded engine). */
  label: string;
  version?: string;
  block_size: number;
  /** Where block_size came from; "assumed" means neither the log nor /metrics said (16 is used). */
  block_size_source: "metrics" | "startup" | "assumed";
  num_gpu_blocks?: number;
  /** KV pool in tokens: the startup log's KV cache size, else cache_config_info, else blocks x block size. */
  pool_tokens?: number;
  /** cache_config_info's enable_prefix_caching, when the server exports it. */
  caching_reported?: boolean;
}

/** The engine config of a slot. The cliff engine's pool is set by `--num-gpu-blocks-override`. */
export function prefixServeConfig(
  lab: LabEnv,
  slot: PrefixSlot,
  cliff?: { num_gpu_blocks: number; max_model_len: number },
): ServeConfig {
  switch (slot) {
    case "off":
      return serveConfigFor(lab, { enable_prefix_caching: false, enable_prompt_tokens_details: true });
    case "on":
      return serveConfigFor(lab, { enable_prefix_caching: true, enable_prompt_tokens_details: true });
    case "cliff": {
      if (!cliff) throw new Error("The cliff engine needs its block count and max_model_len.");
      return serveConfigFor(lab, {
        enable_prefix_caching: true,
        enable_prompt_tokens_details: true,
        max_model_len: cliff.max_model_len,
        extra_args: ["--num-gpu-blocks-override", String(cliff.num_gpu_blocks)],
      });
    }
    default: {
      const never: never = slot;
      throw new Error(`Unknown slot ${never}`);
    }
  }
}

/** Reads block size, pool and caching flag from a running engine (startup log, then /metrics). */
export async function describePrefixEngine(slot: PrefixSlot, engine: Engine): Promise<PrefixEngineInfo> {
  let cache;
  try {
    cache = (await scrapeMetrics(engine.baseUrl, { headers: engine.headers(), timeout_ms: 10_000 })).metrics
      .cache_config;
  } catch {
    cache = undefined;
  }
  let version = engine.startup?.version;
  if (!version) {
    try {
      const r = await guardedFetch(`${engine.baseUrl}/version`, { signal: AbortSignal.timeout(5000) });
      version = r.ok ? (await r.json()).version : undefined;
    } catch {
      version = undefined;
    }
  }
  const fromMetrics = cache?.block_size;
  const fromLog = engine.startup?.block_size;
  const block_size = fromMetrics ?? fromLog ?? 16;
  const num_gpu_blocks = cache?.num_gpu_blocks ?? engine.startup?.num_gpu_blocks;
  return {
    slot,
    engine,
    label: engineLabel(engine.config, version),
    version,
    block_size,
    block_size_source: fromMetrics !== undefined ? "metrics" : fromLog !== undefined ? "startup" : "assumed",
    num_gpu_blocks,
    pool_tokens: engine.startup?.kv_cache_tokens ?? cache?.kv_cache_size_tokens ??
      (num_gpu_blocks !== undefined ? num_gpu_blocks * block_size : undefined),
    caching_reported: cache?.enable_prefix_caching,
  };
}

/** Options of {@link PrefixEngines}. */
export interface PrefixEnginesOptions {
  /** One engine at a time: asking for a slot stops the others. */
  exclusive: boolean;
  /** The run: engine logs go to its logs folder and engines are recorded in its manifest. */
  run?: Run;
  /** Called after each launch (for a progress note). */
  on_launch?: (info: PrefixEngineInfo) => void;
}

/**
 * The tier's engines, started on first use and stopped together on dispose.
 *
 * @example
 * ```ts
 * await using engines = new PrefixEngines({ exclusive: false, run });
 * const on = await engines.get("on", prefixServeConfig(lab, "on"));
 * ```
 */
export class PrefixEngines implements AsyncDisposable {
  readonly #opts: PrefixEnginesOptions;
  readonly #live = new Map<PrefixSlot, PrefixEngineInfo>();
  /** Engines started so far. */
  launches = 0;

  constructor(opts: PrefixEnginesOptions) {
    this.#opts = opts;
  }

  /**
   * A running engine for `slot`, started with `cfg` when none runs (stopping the others if exclusive).
   * An engine that died (a crash) is stopped, group and all, and replaced.
   */
  async get(slot: PrefixSlot, cfg: ServeConfig): Promise<PrefixEngineInfo> {
    const have = this.#live.get(slot);
    if (have && !engineExited(have.engine)) return have;
    if (have) {
      this.#live.delete(slot);
      await have.engine.stop();
    }
    if (this.#opts.exclusive) await this.closeExcept();
    const run = this.#opts.run;
    const engine = await launch(cfg, {
      log_dir: run?.logsDir,
      log_name: `prefix-${slot}-${this.launches + 1}`,
    });
    try {
      const info = await describePrefixEngine(slot, engine);
      this.launches++;
      this.#live.set(slot, info);
      if (run) await recordEngine(run, `prefix-${slot}`, engine.config, info.version);
      this.#opts.on_launch?.(info);
      return info;
    } catch (e) {
      await engine.stop();
      throw e;
    }
  }

  /** A running engine, if any (any of them serves /tokenize for the same model). */
  any(): PrefixEngineInfo | undefined {
    return [...this.#live.values()].find((i) => !engineExited(i.engine));
  }

  /**
   * The slots whose engine has exited. A crash shows as failed requests a moment before its exit status:
   * `settle_ms` waits up to that long for one (give it when a point saw failures).
   */
  async exited(settle_ms = 0): Promise<PrefixSlot[]> {
    const live = [...this.#live].filter(([, i]) => i.engine instanceof ProcessEngine);
    const dead = () => live.filter(([, i]) => engineExited(i.engine)).map(([slot]) => slot);
    if (settle_ms > 0 && dead().length === 0 && live.length > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const exits = live.map(([, i]) => (i.engine as ProcessEngine).exited);
      await Promise.race([Promise.any(exits), new Promise((r) => timer = setTimeout(r, settle_ms))]);
      clearTimeout(timer);
    }
    return dead();
  }

  /** Stops every engine but `keep`. */
  async closeExcept(keep?: PrefixSlot): Promise<void> {
    for (const [slot, info] of [...this.#live]) {
      if (slot === keep) continue;
      this.#live.delete(slot);
      await info.engine.stop();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.closeExcept();
  }
}

/**
 * Empties the engine's prefix cache (`POST /reset_prefix_cache`, served by vLLM with
 * VLLM_SERVER_DEV_MODE=1, which the lab sets for engines it starts); on llama.cpp's server, which has no
 * such route, by erasing every slot (`GET /slots`, `POST /slots/N?action=erase`; the lab starts it with
 * `--slots --cache-ram 0`, so the slots are its only cache). False when the server refuses or lacks both
 * (an external server usually does).
 *
 * @example
 * ```ts
 * if (!(await prefixResetCache(engine.baseUrl, engine.headers()))) console.warn("cache not reset");
 * ```
 */
export async function prefixResetCache(
  baseUrl: string,
  headers: Record<string, string> = {},
): Promise<boolean> {
  try {
    const r = await guardedFetch(`${baseUrl}/reset_prefix_cache`, {
      method: "POST",
      headers,
      signal: AbortSignal.timeout(10_000),
    });
    await r.body?.cancel();
    return r.ok || (r.status === 404 && await eraseLlamaSlots(baseUrl, headers));
  } catch {
    return false;
  }
}

/** llama.cpp: erases every slot's cached prompt; false when /slots is not served or an erase fails. */
async function eraseLlamaSlots(baseUrl: string, headers: Record<string, string>): Promise<boolean> {
  const r = await fetch(`${baseUrl}/slots`, { headers, signal: AbortSignal.timeout(10_000) });
  if (!r.ok) {
    await r.body?.cancel();
    return false;
  }
  const slots = await r.json() as { id?: unknown }[];
  if (!Array.isArray(slots) || slots.length === 0) return false;
  for (const s of slots) {
    if (typeof s.id !== "number") return false;
    const e = await fetch(`${baseUrl}/slots/${s.id}?action=erase`, {
      method: "POST",
      headers,
      signal: AbortSignal.timeout(10_000),
    });
    await e.body?.cancel();
    if (!e.ok) return false;
  }
  return true;
}
