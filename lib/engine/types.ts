/**
 * What a launched engine looks like to the rest of the lab. Every engine (vllm, sim, external) returns
 * the same `Engine`, so nothing above lib/engine knows which one runs.
 * @module
 */
import type { EngineKind, ServeConfig } from "./config.ts";

/** One startup phase, from the engine's log (or measured by the launcher when `source` says so). */
export interface StartupPhase {
  /**
   * "process_start" | "weights_load" | "compile" | "graph_capture" | "kv_alloc" | "engine_init" | "ready" ...
   * The log parser emits weights_load, compile, graph_capture and profile_kv_warmup (see derivePhases).
   */
  name: string;
  seconds: number;
  /** "log": parsed from the engine log; "launcher": measured by the lab's clock. */
  source: "log" | "launcher";
}

/** The fit error vLLM raises when one max-length request does not fit in the KV cache. */
export interface FitError {
  max_model_len: number;
  needed_gib: number;
  available_gib: number;
  /** vLLM's own estimate of the largest max_model_len that would fit, when it prints one. */
  estimated_max_model_len?: number;
  message: string;
}

/** What the engine's startup log says. Fields the log does not contain stay undefined (not measured). */
export interface StartupReport {
  /** vLLM (or sim) version string, e.g. "0.11.0". */
  version?: string;
  max_model_len?: number;
  weights_gib?: number;
  weights_load_s?: number;
  model_load_s?: number;
  compile_s?: number;
  graph_capture_s?: number;
  graph_gib?: number;
  init_engine_s?: number;
  available_kv_gib?: number;
  kv_cache_tokens?: number;
  num_gpu_blocks?: number;
  block_size?: number;
  max_concurrency?: number;
  /** The request length the max concurrency figure is for (usually max_model_len). */
  max_concurrency_len?: number;
  fit_error?: FitError;
  /** vLLM's `No available memory for the cache blocks` error: the KV cache got no memory at all. */
  no_kv_memory?: { message: string };
  /** The server printed its "Starting vLLM ... server" line. */
  server_up: boolean;
  /** True when the log comes from the embedded engine: phase durations are simulated. */
  simulated: boolean;
  /** Simulated startup compression factor, when the sim engine states one. */
  startup_time_scale?: number;
  phases: StartupPhase[];
  /** Lines that looked like errors (Traceback, ERROR), kept for messages. */
  errors: string[];
}

/** A running (or attached) engine. Dispose it to stop whatever the lab started. */
export interface Engine extends AsyncDisposable {
  readonly kind: EngineKind;
  readonly config: ServeConfig;
  /** e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly baseUrl: string;
  /** The model name to send in requests. */
  readonly model: string;
  /** Parsed startup log; undefined for external engines (not measured, not invented). */
  readonly startup?: StartupReport;
  /** Wall seconds from spawn to /health 200, measured by the launcher (undefined for external). */
  readonly ready_s?: number;
  /** Path of the captured engine log, when the lab started the engine. */
  readonly logPath?: string;
  /** Process id of the engine's process-group leader, when the lab started it. */
  readonly pid?: number;
  /** Headers for every request (Authorization when an API key is configured). */
  headers(): Record<string, string>;
  /** Stops the engine's whole process group (TERM, then KILL after a grace period). Idempotent. */
  stop(): Promise<void>;
}
