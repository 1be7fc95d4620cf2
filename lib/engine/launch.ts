/**
 * `launch()`: starts (or attaches to) the engine a `ServeConfig` describes and returns an `Engine` that is
 * `AsyncDisposable`, so `await using engine = await launch(cfg)` stops it on scope exit.
 *
 * - `vllm`: `[...vllm_command, "serve", ...buildServeArgs(cfg)]`;
 * - `sim`: `deno run -A lib/sim/main.ts serve ...` with the same flags (plus `--sim-*`);
 * - `llamacpp`: `llama-server` with the flags of llamacpp.ts;
 * - `external`: no process, see external.ts.
 *
 * With `cfg.cpus` the command runs under `taskset -c` (cpus.ts): the whole group stays on that set, and the
 * engine's thread count follows it (`VLLM_CPU_OMP_THREADS_BIND` for vLLM unless given, `-t` for llama.cpp).
 * When `kv_cache_memory_bytes` is given to vLLM, `VLLM_CPU_KVCACHE_SPACE` is removed from its environment:
 * vLLM 0.32's CPU backend lets that variable override the flag (vllm/platforms/cpu.py, "legacy" setting),
 * so a requested pool size would otherwise be ignored on CPU.
 *
 * Spawned engines run as the leader of their own process group on 127.0.0.1, with
 * `VLLM_SERVER_DEV_MODE=1` (for `/reset_prefix_cache`), `cfg.env` and `VLLM_API_KEY` from the variable
 * `cfg.api_key_env` names. Their output goes line by line, with the key redacted, to `<log_dir>/<name>.log`
 * and to a startup-log parser. Readiness is `GET /health` = 200, polled while watching the child.
 * @module
 */
import { buildServeArgs } from "./argv.ts";
import { pinnedArgv } from "./cpus.ts";
import { llamaServerArgs, llamaServerCommand } from "./llamacpp.ts";
import { parseServeConfig, type ServeConfig, servedName } from "./config.ts";
import { listNvidiaGpus } from "./default_engine.ts";
import { apiKey, attachExternal } from "./external.ts";
import { LogCapture } from "./log_capture.ts";
import { spawnGroup, stopGroup, type StopGroupResult } from "./process_group.ts";
import { register, unregister } from "./registry.ts";
import type { Engine, StartupReport } from "./types.ts";
import { guardedFetch, RedirectRefusedError } from "../base/guarded_fetch.ts";

/** Options of {@link launch}. Every field is optional; defaults depend on the engine kind. */
export interface LaunchOptions {
  /** Where `<name>.log` goes. Default: a new temporary directory. */
  log_dir?: string;
  /** Log file name without `.log`. Default `<engine>-<served model>-<port>`, made file-name safe. */
  log_name?: string;
  /** Readiness timeout from spawn: default 900_000 ms (vllm), 120_000 ms (sim), 10_000 ms (external). */
  ready_timeout_ms?: number;
  /** SIGTERM -> SIGKILL grace when stopping: default 10_000 ms (vllm), 3_000 ms (sim). */
  grace_ms?: number;
  /** Aborting stops the engine (during launch, launch() then rejects). */
  signal?: AbortSignal;
  /** The vLLM executable and leading args. Default `[$SERVELAB_VLLM_BIN]`, else `["vllm"]`. */
  vllm_command?: string[];
  /** The llama-server executable. Default: llamacpp.ts llamaServerCommand (SERVELAB_LLAMA_SERVER, ...). */
  llamacpp_command?: string;
  /** Called with every engine log line (API key redacted), e.g. for a progress display. */
  on_log_line?: (line: string) => void;
  /** `external` only: allow a non-loopback host. Default: `SERVELAB_ALLOW_REMOTE=1`, else false. */
  allow_remote?: boolean;
  /** Interval between `/health` polls, default 200 ms; each poll has its own 2 s timeout. */
  health_poll_ms?: number;
}

const DEFAULTS = {
  vllm: { ready_timeout_ms: 900_000, grace_ms: 10_000 },
  sim: { ready_timeout_ms: 120_000, grace_ms: 3_000 },
  llamacpp: { ready_timeout_ms: 120_000, grace_ms: 5_000 },
  external: { ready_timeout_ms: 10_000 },
  health_poll_ms: 200,
  health_request_ms: 2_000,
  /** After /health = 200, wait at most this long for the server-up line still in the pipe. */
  drain_ms: 1_000,
} as const;

/**
 * Starts the engine `config` describes, waits until it is ready and returns it.
 *
 * Throws `Cannot start engine ...` when the process exits before `/health` answers 200 (with vLLM's fit
 * error when it printed one, the log path and the last log lines) or when readiness times out; in both
 * cases the whole process group is stopped first, so nothing is left running. That error is an
 * {@link EngineStartError}: its `report` is the parsed startup log (fit error included) for callers that
 * record a failed start as data.
 *
 * @example
 * ```ts
 * import { launch, parseServeConfig } from "../mod.ts";
 * await using engine = await launch(parseServeConfig({ engine: "sim", model: "Qwen/Qwen2.5-1.5B-Instruct" }));
 * console.log(engine.baseUrl, engine.ready_s, engine.startup?.kv_cache_tokens);
 * ```
 */
export async function launch(config: ServeConfig, opts: LaunchOptions = {}): Promise<Engine> {
  const cfg = parseServeConfig(config);
  if (cfg.engine === "external") {
    return await attachExternal(cfg, {
      allow_remote: opts.allow_remote,
      timeout_ms: opts.ready_timeout_ms ?? DEFAULTS.external.ready_timeout_ms,
      signal: opts.signal,
    });
  }
  const key = apiKey(cfg);
  opts.signal?.throwIfAborted();
  if (cfg.engine === "vllm") await checkGpuCount(cfg);
  const port = cfg.port !== 0 ? checkPortFree(cfg.port) : await freePort();
  const resolved: ServeConfig = { ...cfg, port };
  const argv = pinnedArgv(engineArgv(resolved, opts), cfg.cpus);
  const env = engineEnv(cfg, key);
  const logDir = opts.log_dir ?? Deno.makeTempDirSync({ prefix: "servelab-engine-" });
  Deno.mkdirSync(logDir, { recursive: true });
  const name = opts.log_name ?? `${cfg.engine}-${servedName(cfg)}-${port}`;
  const logPath = `${logDir}/${name.replace(/[^\w.-]+/g, "_")}.log`;

  const t0 = performance.now();
  let child: Deno.ChildProcess;
  try {
    child = spawnGroup(argv[0], { args: argv.slice(1), env }); // leads a new process group (and session)
  } catch (err) {
    throw new Error(
      `Cannot start engine: cannot run '${argv[0]}' for engine '${cfg.engine}' (${
        (err as Error).message
      }). ` +
        (cfg.engine === "vllm"
          ? "Install vLLM, or point SERVELAB_VLLM_BIN (or LaunchOptions.vllm_command) at it."
          : cfg.engine === "llamacpp"
          ? "Run tools/real/llamacpp_install.sh, or point SERVELAB_LLAMA_SERVER at a llama-server executable."
          : "Check the Deno executable."),
    );
  }
  const capture = new LogCapture(logPath, [child.stdout, child.stderr], {
    secrets: key !== undefined ? [key] : [],
    on_line: opts.on_log_line,
  });
  const engine = new ProcessEngine({
    config: resolved,
    child,
    capture,
    logPath,
    headers: key !== undefined ? { Authorization: `Bearer ${key}` } : {},
    grace_ms: opts.grace_ms ?? DEFAULTS[cfg.engine].grace_ms,
  });
  register(engine);
  const onAbort = () => void engine.stop().catch(() => {});
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  engine.onStop(() => opts.signal?.removeEventListener("abort", onAbort));

  try {
    await waitReady(engine, {
      deadline: t0 + (opts.ready_timeout_ms ?? DEFAULTS[cfg.engine].ready_timeout_ms),
      timeout_ms: opts.ready_timeout_ms ?? DEFAULTS[cfg.engine].ready_timeout_ms,
      poll_ms: opts.health_poll_ms ?? DEFAULTS.health_poll_ms,
      signal: opts.signal,
    });
  } catch (err) {
    await engine.stop();
    // Aborting stops the engine, so it may look like an early exit: the abort is the cause.
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw err instanceof StartError ? err.toEngineStartError(engine) : err;
  }
  engine.markReady((performance.now() - t0) / 1000);
  return engine;
}

/**
 * Refuses, before spawning, a tensor-parallel size larger than the GPUs this machine shows vLLM
 * (CUDA_VISIBLE_DEVICES when set, else `nvidia-smi -L`); vLLM would otherwise fail minutes into its
 * start with a less direct error. Unknown counts (no nvidia-smi) are left to vLLM.
 */
async function checkGpuCount(cfg: ServeConfig): Promise<void> {
  const tp = cfg.tensor_parallel_size;
  if (tp <= 1) return;
  const visible = cfg.env.CUDA_VISIBLE_DEVICES ?? Deno.env.get("CUDA_VISIBLE_DEVICES");
  let gpus: number | undefined;
  let source: string;
  if (visible !== undefined) {
    gpus = visible.split(",").filter((d) => d.trim() !== "" && d.trim() !== "-1").length;
    source = `CUDA_VISIBLE_DEVICES=${visible}`;
  } else {
    const list = await listNvidiaGpus();
    gpus = list === undefined ? undefined : (list.match(/^GPU \d+:/gm) ?? []).length;
    source = "nvidia-smi -L";
  }
  if (gpus === undefined || gpus >= tp) return;
  throw new Error(
    `Cannot start engine: tensor_parallel_size ${tp} needs ${tp} GPUs, but ${source} shows ${gpus}. ` +
      `Lower tensor_parallel_size (--tensor-parallel-size) to ${
        Math.max(1, gpus)
      }, or make ${tp} GPUs visible.`,
  );
}

/**
 * DENO_V8_FLAGS of the embedded engine's process: SERVELAB_SIM_V8_FLAGS, else none that matters
 * (V8's default young generation). The lab's own processes run with a 256 MiB young generation for the client's sake
 * (`./servelab`, the kernelspec); measured for the engine (bench/young_gen_procs.ts,
 * bench/results/2026-12-08-young_gen_procs.md) it cost CPU per token and ~130 MiB of resident memory
 * and gained nothing, so the engine's child does not inherit it.
 */
export function simV8Flags(env: { get(name: string): string | undefined } = Deno.env): string {
  // V8 rejects an empty DENO_V8_FLAGS: a flag already at its default stands for "none".
  return env.get("SERVELAB_SIM_V8_FLAGS") || SIM_V8_DEFAULT;
}

/** DENO_V8_FLAGS of the engine's child by default: a no-op (V8 keeps its own young generation). */
export const SIM_V8_DEFAULT = "--no-trace-gc";

/**
 * The environment of a spawned engine (added to the lab's own): `VLLM_SERVER_DEV_MODE=1`, `cfg.env`, the API
 * key, the thread binding that matches `cfg.cpus`, and `VLLM_CPU_KVCACHE_SPACE` removed (set to "" and then
 * dropped by the caller) when vLLM is given `kv_cache_memory_bytes`. Values `undefined` mean "unset".
 */
export function engineEnv(cfg: ServeConfig, key?: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    VLLM_SERVER_DEV_MODE: "1",
    ...(cfg.engine === "sim" ? { DENO_V8_FLAGS: simV8Flags() } : {}),
    ...cfg.env,
    ...(key !== undefined ? { VLLM_API_KEY: key, LLAMA_API_KEY: key } : {}),
  };
  if (cfg.engine === "vllm" && cfg.cpus !== undefined && env.VLLM_CPU_OMP_THREADS_BIND === undefined) {
    env.VLLM_CPU_OMP_THREADS_BIND = cfg.cpus;
  }
  if (cfg.engine === "vllm" && cfg.kv_cache_memory_bytes !== undefined) {
    env.VLLM_CPU_KVCACHE_SPACE = undefined;
  }
  if (cfg.engine === "sim" && cfg.kv_cache_memory_bytes !== undefined) env.VLLM_CPU_KVCACHE_SPACE = undefined;
  return env;
}

/** The argv that starts a `vllm`, `sim` or `llamacpp` engine for a config whose port is resolved. */
export function engineArgv(
  cfg: ServeConfig,
  opts: Pick<LaunchOptions, "vllm_command" | "llamacpp_command"> = {},
): string[] {
  const args = cfg.engine === "llamacpp" ? [] : ["serve", ...buildServeArgs(cfg)];
  switch (cfg.engine) {
    case "llamacpp":
      return [opts.llamacpp_command ?? llamaServerCommand(repoRoot()), ...llamaServerArgs(cfg)];
    case "vllm": {
      const bin = Deno.env.get("SERVELAB_VLLM_BIN");
      const cmd = opts.vllm_command ?? (bin ? [bin] : ["vllm"]);
      if (cmd.length === 0) throw new Error("LaunchOptions.vllm_command is empty: give e.g. ['vllm']");
      return [...cmd, ...args];
    }
    case "sim": {
      const main = filePath(new URL("../sim/main.ts", import.meta.url));
      if (!exists(main)) {
        throw new Error(
          `Cannot start engine: ${main} does not exist (engine 'sim' is missing from this checkout).`,
        );
      }
      const config = filePath(new URL("../../deno.json", import.meta.url));
      const gc = cfg.sim.debug_heap ? ["--v8-flags=--expose-gc"] : [];
      return [
        Deno.execPath(),
        "run",
        "-A",
        ...gc,
        ...(exists(config) ? ["--config", config] : []),
        main,
        ...args,
      ];
    }
    case "external":
      throw new Error("Engine 'external' has no process to start: launch() attaches to ServeConfig.url");
    default: {
      const never: never = cfg.engine;
      throw new Error(`Unknown engine kind '${never}'`);
    }
  }
}

/** A free TCP port on 127.0.0.1 (bound, read, released; a small race remains, as with any such scheme). */
export async function freePort(): Promise<number> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  await Promise.resolve();
  return port;
}

/**
 * Throws when something already listens on 127.0.0.1:`port` (a stale engine would answer our /health).
 * Returns the port.
 */
function checkPortFree(port: number): number {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return port;
  } catch (err) {
    if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    throw new Error(
      `Cannot start engine: port ${port} on 127.0.0.1 is already in use (a stale engine?). ` +
        "Stop whatever listens there, or set ServeConfig.port to 0 to pick a free port.",
    );
  }
}

/** An engine process the lab started. A resource with a lifecycle, hence a class. */
export class ProcessEngine implements Engine {
  readonly kind: "vllm" | "sim" | "llamacpp";
  readonly config: ServeConfig;
  readonly baseUrl: string;
  readonly model: string;
  readonly logPath: string;
  readonly pid: number;
  #startup?: StartupReport;
  #ready_s?: number;
  #child: Deno.ChildProcess;
  #capture: LogCapture;
  #headers: Record<string, string>;
  #grace_ms: number;
  #status?: Deno.CommandStatus;
  #stopping?: Promise<void>;
  #stopResult?: StopGroupResult;
  #onStop: (() => void)[] = [];
  /** Resolves with the leader's exit status. */
  readonly exited: Promise<Deno.CommandStatus>;

  constructor(o: {
    config: ServeConfig;
    child: Deno.ChildProcess;
    capture: LogCapture;
    logPath: string;
    headers: Record<string, string>;
    grace_ms: number;
  }) {
    this.kind = o.config.engine as "vllm" | "sim" | "llamacpp";
    this.config = o.config;
    this.baseUrl = `http://127.0.0.1:${o.config.port}`;
    this.model = servedName(o.config);
    this.logPath = o.logPath;
    this.pid = o.child.pid;
    this.#child = o.child;
    this.#capture = o.capture;
    this.#headers = o.headers;
    this.#grace_ms = o.grace_ms;
    this.exited = o.child.status.then((s) => this.#status = s);
  }

  /** The startup report as of readiness (undefined before). */
  get startup(): StartupReport | undefined {
    return this.#startup;
  }
  /** Seconds from spawn to the first `/health` 200, on the launcher's monotonic clock. */
  get ready_s(): number | undefined {
    return this.#ready_s;
  }
  /** The leader's exit status once it has exited. */
  get exitStatus(): Deno.CommandStatus | undefined {
    return this.#status;
  }
  /** What the last stop had to do (undefined before a stop). */
  get stopResult(): StopGroupResult | undefined {
    return this.#stopResult;
  }
  /** The startup report of the lines captured so far (also before readiness). */
  liveReport(): StartupReport {
    return this.#capture.parser.report();
  }
  /** The last captured log lines (redacted). */
  logTail(): string[] {
    return this.#capture.tail();
  }

  headers(): Record<string, string> {
    return { ...this.#headers };
  }

  /** Stops the whole process group (TERM, then KILL after grace_ms). Idempotent and safe to race. */
  stop(): Promise<void> {
    return this.#stopping ??= this.#doStop();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** @internal Runs `fn` once the engine is stopped. */
  onStop(fn: () => void): void {
    this.#onStop.push(fn);
  }

  /** @internal Called by launch() when /health answered 200. */
  markReady(ready_s: number): void {
    this.#ready_s = ready_s;
    this.#startup = this.#capture.parser.report();
  }

  async #doStop(): Promise<void> {
    try {
      this.#stopResult = await stopGroup(this.pid, { grace_ms: this.#grace_ms, leaderExited: this.exited });
      await this.exited;
      // Pipes close when the last holder exits; a process that left the group could keep them open.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.#capture.done, new Promise((r) => timer = setTimeout(r, 2_000))]);
      clearTimeout(timer);
    } finally {
      unregister(this);
      for (const fn of this.#onStop.splice(0)) fn();
    }
  }
}

/**
 * What {@link launch} throws when a spawned engine exits, or is not ready in time, before `/health` answers
 * 200. The message is the human one (`Cannot start engine: ...`); the fields keep what a sweep records as
 * data: the startup report parsed from the whole log (`report.fit_error`, `report.no_kv_memory`), why it
 * failed, the exit status, the log path and its last lines.
 *
 * @example
 * ```ts
 * try {
 *   await launch(cfg);
 * } catch (err) {
 *   if (err instanceof EngineStartError && err.report.fit_error) console.log(err.report.fit_error.estimated_max_model_len);
 *   else throw err;
 * }
 * ```
 */
export class EngineStartError extends Error {
  override readonly name = "EngineStartError";
  /** "exited": the process ended before ready; "timeout": not ready in time (its group was stopped). */
  readonly reason: "exited" | "timeout";
  /** The startup report of every line the engine printed. */
  readonly report: StartupReport;
  /** The captured engine log. */
  readonly logPath: string;
  /** The last log lines (redacted). */
  readonly logTail: readonly string[];
  /** The leader's exit status (code, or the signal that killed it). */
  readonly exitStatus?: Deno.CommandStatus;

  constructor(
    message: string,
    details: Pick<EngineStartError, "reason" | "report" | "logPath" | "logTail" | "exitStatus">,
  ) {
    super(message);
    this.reason = details.reason;
    this.report = details.report;
    this.logPath = details.logPath;
    this.logTail = details.logTail;
    this.exitStatus = details.exitStatus;
  }
}

/** A failure before readiness; turned into a message once the group is stopped and the log is complete. */
class StartError extends Error {
  constructor(readonly reason: "exited" | "timeout", readonly timeout_ms?: number) {
    super(reason);
  }

  toEngineStartError(e: ProcessEngine): EngineStartError {
    return new EngineStartError(this.describe(e), {
      reason: this.reason,
      report: e.liveReport(),
      logPath: e.logPath,
      logTail: e.logTail(),
      exitStatus: e.exitStatus,
    });
  }

  describe(e: ProcessEngine): string {
    const report = e.liveReport();
    const lines: string[] = [];
    const st = e.exitStatus;
    if (this.reason === "exited") {
      const how = st?.signal ? `was killed by ${st.signal}` : `exited with code ${st?.code}`;
      lines.push(
        `Cannot start engine: process ${how} before GET ${e.baseUrl}/health answered 200 (engine '${e.kind}').`,
      );
    } else {
      lines.push(
        `Cannot start engine: not ready after ${this.timeout_ms} ms (engine '${e.kind}', GET ${e.baseUrl}/health ` +
          "never answered 200); its process group was stopped. Raise LaunchOptions.ready_timeout_ms if it " +
          "was still loading.",
      );
    }
    const fit = report.fit_error;
    if (fit) {
      lines.push(
        `Fit error: max_model_len ${fit.max_model_len} needs ${fit.needed_gib} GiB of KV cache, but only ` +
          `${fit.available_gib} GiB is available` +
          (fit.estimated_max_model_len !== undefined
            ? `; vLLM estimates max_model_len ${fit.estimated_max_model_len} fits`
            : "") +
          ". Lower max_model_len, or raise gpu_memory_utilization (or kv_cache_memory_bytes).",
      );
    } else if (report.no_kv_memory) {
      lines.push(
        "No memory was left for the KV cache: raise gpu_memory_utilization (or set kv_cache_memory_bytes), " +
          "or use a smaller model.",
      );
    }
    lines.push(`Log: ${e.logPath}`);
    const tail = e.logTail();
    if (tail.length) lines.push(`Last ${tail.length} log lines:`, ...tail.map((l) => `  ${l}`));
    return lines.join("\n");
  }
}

async function waitReady(
  e: ProcessEngine,
  o: { deadline: number; timeout_ms: number; poll_ms: number; signal?: AbortSignal },
): Promise<void> {
  let exited = false;
  e.exited.then(() => exited = true);
  const url = `${e.baseUrl}/health`;
  while (true) {
    if (exited) throw new StartError("exited");
    o.signal?.throwIfAborted();
    const left = o.deadline - performance.now();
    if (left <= 0) throw new StartError("timeout", o.timeout_ms);
    if (await healthy(url, Math.min(DEFAULTS.health_request_ms, left), o.signal)) break;
    await sleepUnless(Math.min(o.poll_ms, Math.max(0, o.deadline - performance.now())), e.exited);
  }
  // The server-up line precedes the socket; give the pipe a moment to deliver it to the parser.
  const drainUntil = performance.now() + DEFAULTS.drain_ms;
  while (!e.liveReport().server_up && performance.now() < drainUntil && !exited) {
    await sleepUnless(20, e.exited);
  }
}

async function healthy(url: string, timeout_ms: number, signal?: AbortSignal): Promise<boolean> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeout_ms);
  try {
    const res = await guardedFetch(url, {
      signal: signal ? AbortSignal.any([ac.signal, signal]) : ac.signal,
    });
    await res.body?.cancel();
    return res.status === 200;
  } catch (err) {
    if (err instanceof RedirectRefusedError) throw err;
    return false; // refused while loading, or this poll timed out
  } finally {
    clearTimeout(timer);
  }
}

async function sleepUnless(ms: number, done: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([new Promise((r) => timer = setTimeout(r, ms)), done]);
  clearTimeout(timer);
}

function repoRoot(): string {
  return filePath(new URL("../../", import.meta.url)).replace(/\/$/, "");
}

function filePath(url: URL): string {
  if (url.protocol !== "file:") throw new Error(`Cannot spawn the sim engine from a non-file URL: ${url}`);
  return decodeURIComponent(url.pathname);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
