/**
 * vLLM's log lines, as the embedded engine prints them, so that the launcher parses the sim's log with the
 * same code as a real vLLM's.
 *
 * The mimicked version is vLLM 0.11.0 (see docs/sim-model.md, "API"): line shape
 * `(APIServer pid=N) INFO MM-DD HH:MM:SS [file.py:LINE] message`, the two-line KV cache form
 * (`GPU KV cache size: N tokens` then `Maximum concurrency for L tokens per request: X.XXx`),
 * `Model loading took X GiB and Y seconds`, `torch.compile takes X s in total`,
 * `init engine (...) took X seconds` and `Starting vLLM API server 0 on URL`.
 *
 * `startupScript()` is pure: it lists the lines and the simulated waits between them; main.ts plays it.
 * @module
 */
import type { ServeConfig } from "../engine/config.ts";
import type { MemoryPlan } from "./types.ts";

/** The vLLM version whose API, log lines and metrics the embedded engine mimics. */
export const VLLM_VERSION_MIMICKED = "0.11.0";
/** The version string the sim reports (`/version`, the log): vLLM's, tagged as the simulator's. */
export const SIM_VERSION = `${VLLM_VERSION_MIMICKED}+servelab-sim.0.1.0`;
/** The line the launcher looks for to know the phase durations are simulated. */
export const SIM_SCALE_PREFIX = "servelab-sim: startup phases are simulated";

export type LogLevel = "DEBUG" | "INFO" | "WARNING" | "ERROR";
/** vLLM's process labels: the API server and the engine core (one data-parallel rank). */
export type LogProc = "APIServer" | "EngineCore_DP0";

/** One logger record: where vLLM prints it from and what it says. */
export interface LogRecord {
  proc: LogProc;
  level: LogLevel;
  /** vLLM's source file and line, as its logger prints them (line numbers are nominal). */
  file: string;
  line: number;
  message: string;
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/**
 * Formats a record in vLLM's line shape, with the local time as vLLM's logger prints it.
 *
 * @example
 * ```ts
 * formatLogLine({ proc: "APIServer", level: "INFO", file: "model.py", line: 1510, message: "Using max model len 4096" },
 *   { pid: 42, date: new Date(2025, 9, 8, 12, 0, 5) });
 * // "(APIServer pid=42) INFO 10-08 12:00:05 [model.py:1510] Using max model len 4096"
 * ```
 */
export function formatLogLine(r: LogRecord, at: { pid: number; date: Date }): string {
  const d = at.date;
  const stamp = `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${
    pad2(d.getMinutes())
  }:${pad2(d.getSeconds())}`;
  return `(${r.proc} pid=${at.pid}) ${r.level} ${stamp} [${r.file}:${r.line}] ${r.message}`;
}

/**
 * An integer with thousands commas, as Python's `f"{n:,}"` prints it.
 *
 * @example
 * ```ts
 * formatCount(1048576); // "1,048,576"
 * ```
 */
export function formatCount(n: number): string {
  return Math.trunc(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A value as Python's `repr()` prints it (for `non-default args: {...}`). */
export function pythonRepr(v: unknown): string {
  if (v === undefined || v === null) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === "string") return `'${v.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pythonRepr).join(", ")}]`;
  const entries = Object.entries(v as Record<string, unknown>);
  return `{${entries.map(([k, x]) => `${pythonRepr(k)}: ${pythonRepr(x)}`).join(", ")}}`;
}

/**
 * The arguments that differ from `vllm serve`'s defaults, in vLLM's key names, as it logs them.
 * Sim-only options are left out (they are not vLLM arguments); an API key is redacted.
 */
export function nonDefaultArgs(cfg: ServeConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { model_tag: cfg.model, host: cfg.host };
  if (cfg.port !== 8000) out.port = cfg.port;
  const extra = cfg.extra_args;
  const key = extra.indexOf("--api-key");
  if (key >= 0) out.api_key = ["<redacted>"];
  if (cfg.enable_prompt_tokens_details) out.enable_prompt_tokens_details = true;
  out.model = cfg.model;
  if (cfg.seed !== 0) out.seed = cfg.seed;
  if (cfg.max_model_len !== undefined) out.max_model_len = cfg.max_model_len;
  if (cfg.served_model_name !== undefined) out.served_model_name = [cfg.served_model_name];
  if (cfg.enforce_eager) out.enforce_eager = true;
  if (cfg.dtype !== "auto") out.dtype = cfg.dtype;
  if (cfg.block_size !== undefined) out.block_size = cfg.block_size;
  if (cfg.gpu_memory_utilization !== undefined) out.gpu_memory_utilization = cfg.gpu_memory_utilization;
  if (cfg.kv_cache_memory_bytes !== undefined) out.kv_cache_memory_bytes = cfg.kv_cache_memory_bytes;
  // The CLI default is None (resolved to on); passing the flag either way shows up as non-default.
  out.enable_prefix_caching = cfg.enable_prefix_caching;
  if (cfg.max_num_batched_tokens !== undefined) out.max_num_batched_tokens = cfg.max_num_batched_tokens;
  if (cfg.max_num_seqs !== undefined) out.max_num_seqs = cfg.max_num_seqs;
  if (cfg.tensor_parallel_size !== 1) out.tensor_parallel_size = cfg.tensor_parallel_size;
  return out;
}

/** One simulated startup phase (from sim-model's `startupPhases`). */
export interface Phase {
  name: string;
  seconds: number;
}

/** A step of the startup log: print a line, or spend a simulated phase. */
export type ScriptStep =
  | { kind: "line"; record: LogRecord }
  | { kind: "raw"; text: string }
  | { kind: "wait"; phase: string; seconds: number };

/** What the startup log needs to know. */
export interface StartupInput {
  cfg: ServeConfig;
  plan: MemoryPlan;
  phases: Phase[];
  /** `--sim-startup-time-scale`. */
  time_scale: number;
  /** The effective max_num_batched_tokens (for the chunked prefill line). */
  max_num_batched_tokens: number;
  /** The model's architecture name (e.g. Qwen2ForCausalLM), when the catalog has it. */
  architecture?: string;
}

const GIB = 1024 ** 3;
const api = (file: string, line: number, message: string, level: LogLevel = "INFO"): ScriptStep => ({
  kind: "line",
  record: { proc: "APIServer", level, file, line, message },
});
const core = (file: string, line: number, message: string, level: LogLevel = "INFO"): ScriptStep => ({
  kind: "line",
  record: { proc: "EngineCore_DP0", level, file, line, message },
});

type PhaseKind = "process" | "weights" | "compile" | "kv" | "graphs" | "other" | "api";

/** Where each of sim-model's phases (timing.ts `SimPhaseName`) sits in vLLM's startup log. */
const PHASE_KIND: Record<string, PhaseKind> = {
  process_start: "process",
  weights_load: "weights",
  compile: "compile",
  memory_profile: "kv",
  kv_alloc: "kv",
  graph_capture: "graphs",
  api_start: "api",
};

function phaseKind(name: string): PhaseKind {
  return PHASE_KIND[name] ?? "other";
}

/**
 * The startup log as vLLM 0.11.0 prints it, with the simulated phases as waits between the lines.
 * Ends with the server-up lines when the model fits, or with vLLM's fit error when it does not.
 *
 * @example
 * ```ts
 * const steps = startupScript({ cfg, plan, phases, time_scale: 0.02, max_num_batched_tokens: 8192 });
 * steps.filter((s) => s.kind === "wait").length; // one per phase
 * ```
 */
export function startupScript(input: StartupInput): ScriptStep[] {
  const { cfg, plan, phases } = input;
  const seconds = (k: PhaseKind) =>
    phases.filter((p) => phaseKind(p.name) === k).reduce((a, p) => a + p.seconds, 0);
  const waits = (k: PhaseKind): ScriptStep[] =>
    phases.filter((p) => phaseKind(p.name) === k).map((p) => ({
      kind: "wait",
      phase: p.name,
      seconds: p.seconds,
    }));
  const s: ScriptStep[] = [
    { kind: "raw", text: `${SIM_SCALE_PREFIX} (time scale ${input.time_scale})` },
    ...waits("process"),
    api("api_server.py", 1839, `vLLM API server version ${SIM_VERSION}`),
    api("utils.py", 233, `non-default args: ${pythonRepr(nonDefaultArgs(cfg))}`),
  ];
  if (input.architecture) s.push(api("model.py", 547, `Resolved architecture: ${input.architecture}`));
  s.push(
    api("model.py", 1510, `Using max model len ${plan.max_model_len}`),
    api(
      "scheduler.py",
      205,
      `Chunked prefill is enabled with max_num_batched_tokens=${input.max_num_batched_tokens}.`,
    ),
  );
  if (cfg.enforce_eager) s.push(api("__init__.py", 3601, "Cudagraph is disabled under eager mode"));
  s.push(
    core(
      "core.py",
      77,
      `Initializing a V1 LLM engine (v${SIM_VERSION}) with config: model='${cfg.model}', ` +
        `max_seq_len=${plan.max_model_len}, enable_prefix_caching=${
          pythonRepr(cfg.enable_prefix_caching)
        }, ` +
        `enforce_eager=${pythonRepr(cfg.enforce_eager)}, seed=${cfg.seed}, served_model_name=${
          cfg.served_model_name ?? cfg.model
        }`,
    ),
    core("gpu_model_runner.py", 2602, `Starting to load model ${cfg.model}...`),
    ...waits("weights"),
    core("default_loader.py", 267, `Loading weights took ${seconds("weights").toFixed(2)} seconds`),
    core(
      "gpu_model_runner.py",
      2653,
      `Model loading took ${(plan.weights_bytes / GIB).toFixed(4)} GiB and ${
        seconds("weights").toFixed(6)
      } seconds`,
    ),
  );
  if (!cfg.enforce_eager) {
    s.push(...waits("compile"));
    s.push(core("monitor.py", 34, `torch.compile takes ${seconds("compile").toFixed(2)} s in total`));
  }
  s.push(...waits("kv"));
  s.push(
    core(
      "gpu_worker.py",
      298,
      `Available KV cache memory: ${(plan.available_kv_bytes / GIB).toFixed(2)} GiB`,
    ),
  );
  if (plan.fit_error) return [...s, ...fitErrorSteps(plan)];
  s.push(
    core("kv_cache_utils.py", 1087, `GPU KV cache size: ${formatCount(plan.kv_cache_tokens)} tokens`),
    core(
      "kv_cache_utils.py",
      1091,
      `Maximum concurrency for ${formatCount(plan.max_model_len)} tokens per request: ${
        plan.max_concurrency.toFixed(2)
      }x`,
    ),
  );
  if (!cfg.enforce_eager) {
    s.push(...waits("graphs"));
    s.push(
      core(
        "gpu_model_runner.py",
        3480,
        `Graph capturing finished in ${seconds("graphs").toFixed(0)} secs, took ${
          (plan.graph_bytes / GIB).toFixed(2)
        } GiB`,
      ),
    );
  }
  s.push(...waits("other"));
  const init = seconds("kv") + seconds("other") +
    (cfg.enforce_eager ? 0 : seconds("compile") + seconds("graphs"));
  s.push(
    core(
      "core.py",
      210,
      `init engine (profile, create kv cache, warmup model) took ${init.toFixed(2)} seconds`,
    ),
    api(
      "loggers.py",
      147,
      `Engine 000: vllm cache_config_info with initialization after num_gpu_blocks is: ${plan.num_gpu_blocks}`,
    ),
    ...waits("api"),
  );
  return s;
}

/** The lines vLLM 0.11.0 prints when one max_model_len request does not fit in the KV cache. */
export function fitErrorMessage(plan: MemoryPlan): string {
  const f = plan.fit_error!;
  return `To serve at least one request with the models's max seq len (${plan.max_model_len}), ` +
    `(${
      (f.needed_bytes / GIB).toFixed(2)
    } GiB KV cache is needed, which is larger than the available KV cache ` +
    `memory (${
      (f.available_bytes / GIB).toFixed(2)
    } GiB). Based on the available memory, the estimated maximum ` +
    `model length is ${f.estimated_max_model_len}. Try increasing \`gpu_memory_utilization\` or decreasing ` +
    `\`max_model_len\` when initializing the engine.`;
}

function fitErrorSteps(plan: MemoryPlan): ScriptStep[] {
  const err = (m: string) => core("core.py", 708, m, "ERROR");
  return [
    err("EngineCore failed to start."),
    err("Traceback (most recent call last):"),
    err(`ValueError: ${fitErrorMessage(plan)}`),
    {
      kind: "raw",
      text: "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}",
    },
  ];
}

/** The lines vLLM prints once the HTTP socket is open. */
export function serverUpSteps(url: string, pid: number): ScriptStep[] {
  const routes: [string, string][] = [
    ["/health", "GET"],
    ["/version", "GET"],
    ["/v1/models", "GET"],
    ["/tokenize", "POST"],
    ["/detokenize", "POST"],
    ["/v1/completions", "POST"],
    ["/v1/chat/completions", "POST"],
    ["/metrics", "GET"],
  ];
  return [
    api("api_server.py", 1634, "Supported_tasks: ['generate']"),
    api("api_server.py", 1912, `Starting vLLM API server 0 on ${url}`),
    api("launcher.py", 34, "Available routes are:"),
    ...routes.map(([r, m]) => api("launcher.py", 42, `Route: ${r}, Methods: ${m}`)),
    { kind: "raw", text: `(APIServer pid=${pid}) INFO:     Started server process [${pid}]` },
    { kind: "raw", text: `(APIServer pid=${pid}) INFO:     Waiting for application startup.` },
    { kind: "raw", text: `(APIServer pid=${pid}) INFO:     Application startup complete.` },
  ];
}
