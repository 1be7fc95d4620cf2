/**
 * A sweep's engine that is started again when it dies. Before each point the sweep asks for the engine
 * (`ensure()`): a live one is returned as is, a dead one is stopped (its whole process group, so nothing
 * is left running) and a new one is launched with the same config. After the point, `check()` throws
 * when the engine died during it, so `runPoints` records that point as failed (`<id>.failed.json`) rather
 * than keeping requests that failed only because the server was gone; the points already written stay
 * as they are, and the next point runs on the new engine. See docs/adr/0014-faults.md.
 *
 * External engines cannot be restarted by the lab: `ensure()` returns the attached one and `check()`
 * never throws.
 * @module
 */
import { launch, type LaunchOptions, ProcessEngine } from "./launch.ts";
import type { ServeConfig } from "./config.ts";
import { pidAlive } from "./process_group.ts";
import type { Engine } from "./types.ts";

const HAS_PROC = (() => {
  try {
    return Deno.statSync("/proc/self/stat").isFile;
  } catch {
    return false;
  }
})();

/**
 * True when the lab started `engine` and its process has exited: its exit status arrived, or (on Linux)
 * /proc already shows the leader gone or a zombie, which is how a crash looks the moment its sockets
 * close, a little before Deno reaps it. Always false for an external engine.
 *
 * @example
 * ```ts
 * if (engineExited(engine)) await engine.stop(); // clean up its group, then start another
 * ```
 */
export function engineExited(engine: Engine): boolean {
  if (!(engine instanceof ProcessEngine)) return false;
  return engine.exitStatus !== undefined || (HAS_PROC && !pidAlive(engine.pid));
}

/** Options of {@link EngineSupervisor.start}: those of `launch()`, plus a restart callback. */
export interface SupervisorOptions extends LaunchOptions {
  /** Called after a dead engine was replaced: how many restarts so far and the dead one's exit. */
  on_restart?: (restarts: number, exit: EngineExit) => void;
  /** Most restarts before `ensure()` gives up and throws. Default 3. */
  max_restarts?: number;
}

/** How a supervised engine ended. */
export interface EngineExit {
  code?: number;
  signal?: string | null;
  /** The dead engine's last log lines (redacted). */
  log_tail: string[];
  log_path?: string;
}

/** What {@link EngineSupervisor.check} throws: the engine exited while the point ran. */
export class EngineExitedError extends Error {
  override readonly name = "EngineExitedError";
  constructor(message: string, readonly exit: EngineExit) {
    super(message);
  }
}

/** The sweep's engine, restarted when it dies. A resource with a lifecycle, hence a class. */
export class EngineSupervisor implements AsyncDisposable {
  #config: ServeConfig;
  #opts: SupervisorOptions;
  #engine: Engine;
  #restarts = 0;

  private constructor(config: ServeConfig, opts: SupervisorOptions, engine: Engine) {
    this.#config = config;
    this.#opts = opts;
    this.#engine = engine;
  }

  /**
   * Launches the first engine (a failed start rejects, as `launch()` does).
   *
   * @example
   * ```ts
   * await using sup = await EngineSupervisor.start(cfg, { log_dir: run.logsDir, log_name: "batching" });
   * await runPoints(run, "batching", points, async (p) => {
   *   const engine = await sup.ensure();
   *   const result = await measure(engine, p);
   *   await sup.check(p.id, { settle_ms: 1_000 });
   *   return result;
   * });
   * ```
   */
  static async start(config: ServeConfig, opts: SupervisorOptions = {}): Promise<EngineSupervisor> {
    return new EngineSupervisor(config, opts, await launch(config, opts));
  }

  /** The current engine (possibly dead: use {@link ensure} before a point). */
  get engine(): Engine {
    return this.#engine;
  }

  /** How many times the engine was started again. */
  get restarts(): number {
    return this.#restarts;
  }

  /** True while the current engine's process runs (always true for an external engine). */
  alive(): boolean {
    return !engineExited(this.#engine);
  }

  /**
   * The live engine: the current one, or a new one when it died (the dead one's group is stopped first).
   * Throws after `max_restarts` restarts, or when the new engine does not start.
   */
  async ensure(): Promise<Engine> {
    if (this.alive()) return this.#engine;
    await this.#engine.stop();
    const exit = exitOf(this.#engine);
    const max = this.#opts.max_restarts ?? 3;
    if (this.#restarts >= max) {
      throw new EngineExitedError(
        `The engine exited ${describeExit(exit)} and was already restarted ${max} times; giving up. ` +
          `Read its log (${exit.log_path ?? "no log"}) for the cause, or raise max_restarts.`,
        exit,
      );
    }
    this.#restarts++;
    const name = this.#opts.log_name ? `${this.#opts.log_name}-restart${this.#restarts}` : undefined;
    this.#engine = await launch(this.#config, { ...this.#opts, log_name: name });
    this.#opts.on_restart?.(this.#restarts, exit);
    return this.#engine;
  }

  /**
   * Throws an {@link EngineExitedError} naming `what` when the engine has exited. An engine that
   * crashes is seen as failed requests a little before its exit status arrives: `settle_ms` waits up
   * to that long for the exit (give it when the point saw failures; default 0).
   */
  async check(what: string, opts: { settle_ms?: number } = {}): Promise<void> {
    const e = this.#engine;
    if (!(e instanceof ProcessEngine)) return;
    if (!engineExited(e) && opts.settle_ms) await within(e.exited, opts.settle_ms);
    if (!engineExited(e)) return;
    await within(e.exited, 1_000); // the exit status, for the message: a gone process is reaped at once
    const exit = exitOf(e);
    const tail = exit.log_tail.slice(-5).map((l) => `  ${l}`).join("\n");
    throw new EngineExitedError(
      `The engine exited ${describeExit(exit)} during ${what}, so its results are incomplete; the point ` +
        `is recorded as failed and the next one starts a new engine. Log: ${exit.log_path}` +
        (tail ? `\nLast log lines:\n${tail}` : ""),
      exit,
    );
  }

  /** Stops the current engine. Idempotent. */
  stop(): Promise<void> {
    return this.#engine.stop();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** Waits for `p`, at most `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([p, new Promise((r) => timer = setTimeout(r, ms))]);
  clearTimeout(timer);
}

function exitOf(e: Engine): EngineExit {
  const st = e instanceof ProcessEngine ? e.exitStatus : undefined;
  return {
    code: st?.code,
    signal: st?.signal,
    log_tail: e instanceof ProcessEngine ? e.logTail() : [],
    log_path: e.logPath,
  };
}

function describeExit(x: EngineExit): string {
  return x.signal ? `(killed by ${x.signal})` : `with code ${x.code}`;
}
