/**
 * The embedded engine's command line, shaped like `vllm serve`:
 *
 *   deno run -A lib/sim/main.ts serve MODEL [vllm serve flags] [--sim-* flags]
 *
 * Prints vLLM 0.11.0's startup lines (phase durations as a real GPU would take them; the actual waits
 * scaled by --sim-startup-time-scale, which the `servelab-sim: startup phases are simulated (time scale X)`
 * line states), then serves on 127.0.0.1 until SIGTERM or SIGINT (exit 0). Exit codes: 2 for bad flags,
 * 1 when the model does not fit (vLLM's fit error) or the engine cannot start, 137 for the crash fault.
 * @module
 */
import { parseServeArgs } from "../engine/argv.ts";
import type { ServeConfig } from "../engine/config.ts";
import { catalogProblems, loadGpu, loadModel } from "./catalog.ts";
import { CRASH_EXIT_CODE } from "./faults.ts";
import { formatLogLine, type LogRecord, type ScriptStep, serverUpSteps, startupScript } from "./log.ts";
import { planMemory, resolveEngineSettings } from "./memory.ts";
import { serveSim, type SimServer } from "./server.ts";
import { startupPhases } from "./timing.ts";
import { watchParent } from "../engine/process_group.ts";

const USAGE =
  "Usage: main.ts serve MODEL [vllm serve flags] [--sim-gpu NAME] [--sim-startup-time-scale X] ...";

/** Where the CLI writes; injectable for tests. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const stdio: CliIo = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
};

/** Plays log steps: lines now, waits for the phase's simulated seconds times the scale. */
async function play(steps: ScriptStep[], scale: number, io: CliIo): Promise<void> {
  for (const s of steps) {
    switch (s.kind) {
      case "wait":
        await new Promise((r) => setTimeout(r, s.seconds * scale * 1000));
        break;
      case "line":
        io.out(formatLogLine(s.record, { pid: Deno.pid, date: new Date() }));
        break;
      case "raw":
        io.out(s.text);
        break;
      default: {
        const never: never = s;
        throw new Error(`Unknown log step ${JSON.stringify(never)}`);
      }
    }
  }
}

const apiLine = (message: string, level: LogRecord["level"] = "INFO"): LogRecord => ({
  proc: "APIServer",
  level,
  file: "loggers.py",
  line: 123,
  message,
});

/** vLLM's periodic stats line, every VLLM_LOG_STATS_INTERVAL seconds while the engine is not idle. */
function startStatsLogger(srv: SimServer, io: CliIo, interval_s: number): () => void {
  let last = srv.sim.runtime.stats();
  let lastT = performance.now();
  let wasBusy = false;
  const id = setInterval(() => {
    const s = srv.sim.runtime.stats();
    const dt = (performance.now() - lastT) / 1000;
    const prompt = (s.prompt_tokens_total - last.prompt_tokens_total) / dt;
    const gen = (s.generation_tokens_total - last.generation_tokens_total) / dt;
    const q = s.prefix_queries_tokens - last.prefix_queries_tokens;
    const hit = q > 0 ? (100 * (s.prefix_hits_tokens - last.prefix_hits_tokens)) / q : 0;
    const busy = prompt > 0 || gen > 0 || s.running > 0 || s.waiting > 0;
    if (busy || wasBusy) {
      io.out(formatLogLine(
        apiLine(
          `Engine 000: Avg prompt throughput: ${prompt.toFixed(1)} tokens/s, Avg generation throughput: ${
            gen.toFixed(1)
          } tokens/s, Running: ${s.running} reqs, Waiting: ${s.waiting} reqs, GPU KV cache usage: ${
            (100 * s.kv_usage).toFixed(1)
          }%, Prefix cache hit rate: ${hit.toFixed(1)}%`,
        ),
        { pid: Deno.pid, date: new Date() },
      ));
    }
    wasBusy = busy;
    last = s;
    lastT = performance.now();
  }, interval_s * 1000);
  return () => clearInterval(id);
}

/** Parses `serve MODEL [flags]`; throws with the usage on anything else. */
export function parseCli(args: string[]): ServeConfig {
  if (args[0] !== "serve") {
    throw new Error(`Unknown command '${args[0] ?? ""}': the embedded engine only serves. ${USAGE}`);
  }
  if (args[1] === undefined || args[1].startsWith("--")) {
    throw new Error(`Missing MODEL: give a catalog model id after 'serve'. ${USAGE}`);
  }
  return parseServeArgs(args.slice(1), "sim");
}

/**
 * Runs the CLI; resolves with the exit code once the server has stopped (or startup failed).
 * `stop` ends the server like SIGTERM (for tests); signals are handled when `signals` is true.
 *
 * @example
 * ```ts
 * Deno.exit(await main(["serve", "Qwen/Qwen2.5-1.5B-Instruct", "--port", "8000"]));
 * ```
 */
export async function main(
  args: string[],
  opts: { io?: CliIo; signals?: boolean; stop?: Promise<unknown> } = {},
): Promise<number> {
  const io = opts.io ?? stdio;
  let cfg: ServeConfig;
  try {
    cfg = parseCli(args);
  } catch (e) {
    io.err(`servelab-sim: error: ${(e as Error).message}`);
    return 2;
  }
  // As vLLM's CPU backend does, the process environment's VLLM_CPU_KVCACHE_SPACE sizes the CPU profile's pool.
  const space = Deno.env.get("VLLM_CPU_KVCACHE_SPACE");
  if (space !== undefined && cfg.env.VLLM_CPU_KVCACHE_SPACE === undefined) {
    cfg = { ...cfg, env: { ...cfg.env, VLLM_CPU_KVCACHE_SPACE: space } };
  }
  const scale = cfg.sim.startup_time_scale;
  for (const p of catalogProblems()) io.err(`servelab-sim: warning: ${p.error} Skipped it.`);
  let steps: ScriptStep[];
  try {
    const model = loadModel(cfg.model);
    const gpu = loadGpu(cfg.sim.gpu);
    const settings = resolveEngineSettings(model, gpu, cfg);
    const plan = planMemory(model, gpu, cfg);
    steps = startupScript({
      cfg,
      plan,
      phases: startupPhases(model, gpu, cfg),
      time_scale: scale,
      max_num_batched_tokens: settings.max_num_batched_tokens,
      architecture: model.architecture,
    });
    if (plan.fit_error) {
      await play(steps, scale, io);
      return 1;
    }
  } catch (e) {
    io.err(`servelab-sim: error: Cannot start the embedded engine: ${(e as Error).message}`);
    return 1;
  }
  await play(steps, scale, io);
  if (cfg.sim.faults.slow_start_s) {
    await new Promise((r) => setTimeout(r, cfg.sim.faults.slow_start_s! * 1000));
  }

  let srv: SimServer;
  try {
    srv = await serveSim(cfg, {
      onCrash: () => Deno.exit(CRASH_EXIT_CODE),
      log: (m) => io.out(formatLogLine(apiLine(m, "WARNING"), { pid: Deno.pid, date: new Date() })),
    });
  } catch (e) {
    io.err(`servelab-sim: error: Cannot serve on 127.0.0.1:${cfg.port}: ${(e as Error).message}`);
    return 1;
  }
  await play(serverUpSteps(srv.url, Deno.pid), scale, io);
  const interval = Number(Deno.env.get("VLLM_LOG_STATS_INTERVAL") ?? "10");
  const stopStats = startStatsLogger(srv, io, interval > 0 ? interval : 10);

  let stopRequested!: () => void;
  const stopped = new Promise<void>((r) => (stopRequested = r));
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT", "SIGHUP"];
  if (opts.signals !== false) { for (const s of signals) Deno.addSignalListener(s, stopRequested); }
  // The engine runs in its own session: if the lab that launched it dies (even by SIGKILL), stop too.
  const unwatch = opts.signals !== false ? watchParent(stopRequested) : () => {};
  opts.stop?.then(stopRequested);
  await stopped;
  unwatch();
  stopStats();
  io.out(formatLogLine({ ...apiLine("Shutting down FastAPI HTTP server."), file: "launcher.py", line: 99 }, {
    pid: Deno.pid,
    date: new Date(),
  }));
  await srv.shutdown();
  if (opts.signals !== false) { for (const s of signals) Deno.removeSignalListener(s, stopRequested); }
  io.out(`(APIServer pid=${Deno.pid}) INFO:     Shutting down`);
  io.out(`(APIServer pid=${Deno.pid}) INFO:     Application shutdown complete.`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
