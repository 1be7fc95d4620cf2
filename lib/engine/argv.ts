/**
 * `ServeConfig` <-> `vllm serve` command-line flags. The same flags drive vLLM and the embedded engine
 * (which also reads the `--sim-*` flags), so every code path above the engine is shared.
 * @module
 */
import { parseServeConfig, type ServeConfig } from "./config.ts";

type FlagSpec = {
  flag: string;
  key: keyof ServeConfig;
  kind: "int" | "float" | "string" | "bool";
};

/** The vLLM flags the lab sets, in the order they are emitted. */
const FLAGS: readonly FlagSpec[] = [
  { flag: "--served-model-name", key: "served_model_name", kind: "string" },
  { flag: "--max-model-len", key: "max_model_len", kind: "int" },
  { flag: "--enable-prefix-caching", key: "enable_prefix_caching", kind: "bool" },
  { flag: "--enable-prompt-tokens-details", key: "enable_prompt_tokens_details", kind: "bool" },
  { flag: "--gpu-memory-utilization", key: "gpu_memory_utilization", kind: "float" },
  { flag: "--kv-cache-memory-bytes", key: "kv_cache_memory_bytes", kind: "int" },
  { flag: "--max-num-seqs", key: "max_num_seqs", kind: "int" },
  { flag: "--max-num-batched-tokens", key: "max_num_batched_tokens", kind: "int" },
  { flag: "--block-size", key: "block_size", kind: "int" },
  { flag: "--enforce-eager", key: "enforce_eager", kind: "bool" },
  { flag: "--dtype", key: "dtype", kind: "string" },
  { flag: "--seed", key: "seed", kind: "int" },
  { flag: "--tensor-parallel-size", key: "tensor_parallel_size", kind: "int" },
  { flag: "--host", key: "host", kind: "string" },
  { flag: "--port", key: "port", kind: "int" },
];

type SimKey = keyof ServeConfig["sim"] | `faults.${keyof ServeConfig["sim"]["faults"]}`;
const SIM_FLAGS: readonly { flag: string; key: SimKey; kind: "int" | "float" | "string" | "bool" }[] = [
  { flag: "--sim-gpu", key: "gpu", kind: "string" },
  { flag: "--sim-startup-time-scale", key: "startup_time_scale", kind: "float" },
  { flag: "--sim-ground-truth", key: "ground_truth", kind: "bool" },
  { flag: "--sim-debug-heap", key: "debug_heap", kind: "bool" },
  { flag: "--sim-crash-after-requests", key: "faults.crash_after_requests", kind: "int" },
  { flag: "--sim-stall-after-tokens", key: "faults.stall_after_tokens", kind: "int" },
  { flag: "--sim-http-500-rate", key: "faults.http_500_rate", kind: "float" },
  { flag: "--sim-drop-connection-rate", key: "faults.drop_connection_rate", kind: "float" },
  { flag: "--sim-slow-start-s", key: "faults.slow_start_s", kind: "float" },
];

function emit(out: string[], flag: string, kind: FlagSpec["kind"], v: unknown) {
  if (v === undefined) return;
  if (kind === "bool") out.push(v ? flag : `--no-${flag.slice(2)}`);
  else out.push(flag, String(v));
}

/**
 * The `vllm serve` arguments for a config, after the model: `[model, ...flags, ...extra_args]`.
 * The port must be resolved (non-zero) before calling. The API key is never put on the command line:
 * launchers pass it through the `VLLM_API_KEY` environment variable.
 *
 * @example
 * ```ts
 * buildServeArgs(parseServeConfig({ engine: "vllm", model: "m", port: 8000 }));
 * // ["m", "--enable-prefix-caching", ..., "--port", "8000"]
 * ```
 */
export function buildServeArgs(c: ServeConfig): string[] {
  const out: string[] = [c.model];
  for (const f of FLAGS) {
    const v = c[f.key];
    // dtype "auto" and tp 1 are vLLM's defaults; leave them out to keep commands short.
    if (f.key === "dtype" && v === "auto") continue;
    if (f.key === "tensor_parallel_size" && v === 1) continue;
    if (f.key === "enforce_eager" && v === false) continue;
    emit(out, f.flag, f.kind, v);
  }
  if (c.engine === "sim") {
    for (const f of SIM_FLAGS) {
      const v = f.key.startsWith("faults.")
        ? c.sim.faults[f.key.slice(7) as keyof ServeConfig["sim"]["faults"]]
        : c.sim[f.key as keyof ServeConfig["sim"]];
      // A debug switch appears only when on, so command lines on pages stay the ones a user types.
      if (f.key === "debug_heap" && v !== true) continue;
      emit(out, f.flag, f.kind, v);
    }
  }
  out.push(...c.extra_args);
  return out;
}

function parseValue(flag: string, kind: FlagSpec["kind"], raw: string | undefined): unknown {
  if (raw === undefined || raw.startsWith("--")) {
    throw new Error(`Flag ${flag} needs a value`);
  }
  if (kind === "string") return raw;
  const n = Number(raw);
  if (!Number.isFinite(n) || (kind === "int" && !Number.isInteger(n))) {
    throw new Error(`Flag ${flag} needs ${kind === "int" ? "an integer" : "a number"}, got '${raw}'`);
  }
  return n;
}

/**
 * Parses `vllm serve` style arguments (`MODEL --flag value ...`) back into a `ServeConfig` of the given
 * engine. Flags the lab does not model are kept in `extra_args`. `--flag=value` is accepted.
 *
 * @example
 * ```ts
 * parseServeArgs(["Qwen/Qwen2.5-1.5B-Instruct", "--max-model-len", "4096"], "sim").max_model_len; // 4096
 * ```
 */
export function parseServeArgs(args: string[], engine: ServeConfig["engine"] = "sim"): ServeConfig {
  const argv = args.flatMap((a) =>
    a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a]
  );
  const cfg: Record<string, unknown> = { engine };
  const sim: Record<string, unknown> = {};
  const faults: Record<string, unknown> = {};
  const extra: string[] = [];
  let i = 0;
  if (argv[0] !== undefined && !argv[0].startsWith("--")) cfg.model = argv[i++];
  while (i < argv.length) {
    const a = argv[i++];
    const neg = a.startsWith("--no-");
    const name = neg ? `--${a.slice(5)}` : a;
    const f = FLAGS.find((x) => x.flag === name);
    const s = f ? undefined : SIM_FLAGS.find((x) => x.flag === name);
    const spec = f ?? s;
    if (!spec) {
      extra.push(a);
      // keep a following value with an unknown flag
      if (argv[i] !== undefined && !argv[i].startsWith("--")) extra.push(argv[i++]);
      continue;
    }
    const v = spec.kind === "bool" ? !neg : parseValue(a, spec.kind, argv[i++]);
    if (f) {
      if (f.key === "host" && v !== "127.0.0.1") {
        throw new Error(`--host ${v} is not allowed: servers the lab starts bind 127.0.0.1 only`);
      }
      cfg[f.key] = v;
    } else if (s!.key.startsWith("faults.")) faults[s!.key.slice(7)] = v;
    else sim[s!.key] = v;
  }
  if (extra.length) cfg.extra_args = extra;
  if (Object.keys(faults).length) sim.faults = faults;
  if (Object.keys(sim).length) cfg.sim = sim;
  return parseServeConfig(cfg, "serve arguments");
}
