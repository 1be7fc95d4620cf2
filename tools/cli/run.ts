/**
 * `./servelab run`: one run of every tier notebook (notebooks/[0-9]*.ipynb, in order) on one engine.
 *
 * ```
 * ./servelab run [--engine vllm|sim|external] [--url URL] [--model M] [--size default|test|teach]
 *                [--resume RUN_ID] [--force] [--timeout SECONDS] [--tiers 01,02] [--allow-remote]
 * ```
 *
 * Creates reports/<run-id>/ with its manifest, runs the notebooks through tools/run_notebooks.py with
 * SERVELAB_RUN_DIR, SERVELAB_ENGINE, SERVELAB_SIZE (and SERVELAB_MODEL, SERVELAB_FORCE when given) in
 * their environment, then writes reports/<run-id>/index.html and prints its path. `--resume` reuses a
 * run folder: finished points are skipped (unless `--force`). Ctrl-C stops the notebook's kernel (and
 * the engines it started), marks the run interrupted and still writes the index.
 * @module
 */
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { defaultEngineKind, EngineKind, launch } from "../../lib/engine/mod.ts";
import { labEnv, serveConfigFor } from "../../lib/mod.ts";
import { writeRunIndex, writeRunsIndex } from "../../lib/writeup/mod.ts";
import {
  createRun,
  finishRun,
  FORCE_ENV,
  hashInputs,
  openRun,
  readManifest,
  type Run,
  RUN_DIR_ENV,
  updateManifest,
} from "../../lib/run/mod.ts";
import { ALLOW_REMOTE_ENV, allowRemoteFromEnv, isLoopbackHost } from "../../lib/base/mod.ts";
import { ROOT, runNotebooks } from "../_jupyter.ts";

const USAGE = `Usage: ./servelab run [--engine vllm|sim|external] [--url URL] [--model M]
                      [--size default|test|teach] [--resume RUN_ID] [--force] [--timeout SECONDS]
                      [--tiers 01,02] [--allow-remote]

Runs every tier notebook (notebooks/[0-9]*.ipynb) on one engine and writes reports/<run-id>/:
the executed notebooks and their HTML, the tiers' CSV and MD files, manifest.json and index.html.
  --engine   vllm, sim or external (default: SERVELAB_ENGINE, else vllm when vllm and a GPU are found, else sim)
  --url      base URL of an external engine (engine external; default: SERVELAB_URL); loopback only
             unless --allow-remote
  --model    the model to serve (default: each tier's own default)
  --size     default; test for small, fast parameters; teach for a live session (~1 min per tier on sim)
  --resume   continue the run RUN_ID (a folder in reports/): finished points are skipped
  --force    redo finished points
  --timeout  seconds a notebook cell may take (default 1800)
  --tiers    only the tier notebooks whose names start with these prefixes, comma-separated (e.g. 01,02)
  --allow-remote  allow an external engine on a non-loopback host (sets SERVELAB_ALLOW_REMOTE=1)`;

const Size = z.enum(["default", "test", "teach"]);

/** Parsed `run` options. */
export interface RunArgs {
  engine?: EngineKind;
  url?: string;
  model?: string;
  size?: z.infer<typeof Size>;
  resume?: string;
  force: boolean;
  timeout_s: number;
  /** Only the tier notebooks whose file names start with one of these prefixes. */
  tiers?: string[];
  /** Allow `--url` on a non-loopback host (set only by the flag). */
  allow_remote?: boolean;
  help: boolean;
}

/**
 * Parses the `run` verb's arguments; throws a message naming the bad flag.
 *
 * @example
 * ```ts
 * parseRunArgs(["--engine", "sim", "--size", "test"]); // { engine: "sim", size: "test", force: false, ... }
 * ```
 */
export function parseRunArgs(args: readonly string[]): RunArgs {
  const r: RunArgs = { force: false, timeout_s: 1800, help: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.indexOf("=");
    const flag = a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a;
    const value = () => {
      const v = a.startsWith("--") && eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value.`);
      return v;
    };
    switch (flag) {
      case "--engine": {
        const v = value();
        const p = EngineKind.safeParse(v);
        if (!p.success) throw new Error(`--engine '${v}' is not an engine; use vllm, sim or external.`);
        r.engine = p.data;
        break;
      }
      case "--model":
        r.model = value();
        break;
      case "--url": {
        const v = value();
        if (!URL.canParse(v) || !/^https?:$/.test(new URL(v).protocol)) {
          throw new Error(`--url '${v}' is not an http(s) URL; use e.g. http://127.0.0.1:8000.`);
        }
        r.url = v;
        break;
      }
      case "--size": {
        const v = value();
        const p = Size.safeParse(v);
        if (!p.success) throw new Error(`--size '${v}' is not a size; use default, test or teach.`);
        r.size = p.data;
        break;
      }
      case "--resume":
        r.resume = value();
        break;
      case "--timeout": {
        const v = value();
        const n = Number(v);
        if (!(n > 0)) throw new Error(`--timeout '${v}' must be a positive number of seconds.`);
        r.timeout_s = n;
        break;
      }
      case "--tiers": {
        const v = value();
        const tiers = v.split(",").map((t) => t.trim()).filter(Boolean);
        if (tiers.length === 0 || tiers.some((t) => !/^[0-9][\w.-]*$/.test(t))) {
          throw new Error(`--tiers '${v}' is not a list of tier numbers; use e.g. --tiers 01,02.`);
        }
        r.tiers = tiers;
        break;
      }
      case "--force":
        r.force = true;
        break;
      case "--allow-remote":
        r.allow_remote = true;
        break;
      case "--help":
      case "-h":
        r.help = true;
        break;
      default:
        throw new Error(`Unknown option '${a}'.`);
    }
  }
  return r;
}

/** The tier notebooks: notebooks/[0-9]*.ipynb, sorted. */
export async function tierNotebooks(dir = join(ROOT, "notebooks")): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && /^[0-9].*\.ipynb$/.test(e.name)) out.push(join(dir, e.name));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

async function dataInputs(): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string) => {
    try {
      for await (const e of Deno.readDir(dir)) {
        const p = join(dir, e.name);
        if (e.isDirectory) await walk(p);
        else if (e.isFile && !e.name.startsWith(".")) files.push(p);
      }
    } catch { /* no data/ */ }
  };
  await walk(join(ROOT, "data"));
  return files.sort();
}

async function startRun(
  a: RunArgs,
  root: string | undefined,
): Promise<{ run: Run; engine: string; size: string; model?: string; url?: string }> {
  if (a.resume) {
    const run = await openRun(a.resume, { root });
    const m = await readManifest(run.manifestPath);
    if (a.engine && a.engine !== m.engine.kind) {
      throw new Error(
        `Cannot resume run ${run.id} on engine '${a.engine}': it ran on '${m.engine.kind}'. Drop --engine or start a new run.`,
      );
    }
    const size = a.size ?? String(m.params.size ?? "default");
    await updateManifest(run.manifestPath, (x) => ({
      ...x,
      status: "running",
      ended_at: undefined,
      error: undefined,
      params: { ...x.params, size, resumed_at: new Date().toISOString() },
    }));
    const url = a.url ?? (typeof m.params.url === "string" ? m.params.url : undefined);
    if (m.engine.kind === "external" && url) checkRunUrl(url, a);
    return { run, engine: m.engine.kind, size, model: a.model ?? m.model, url };
  }
  const fromEnv = Deno.env.get("SERVELAB_ENGINE") || undefined;
  if (fromEnv !== undefined && !EngineKind.safeParse(fromEnv).success) {
    throw new Error(`SERVELAB_ENGINE='${fromEnv}' is not an engine; use vllm, sim or external, or unset it.`);
  }
  const engine = a.engine ?? fromEnv ?? await defaultEngineKind();
  const size = a.size ?? "default";
  const url = a.url ?? (Deno.env.get("SERVELAB_URL") || undefined);
  if (engine === "external" && !url) {
    throw new Error(
      "Engine 'external' needs the server's URL: pass --url http://127.0.0.1:8000 (or set SERVELAB_URL).",
    );
  }
  if (engine === "external" && url) checkRunUrl(url, a);
  if (engine !== "external" && a.url) {
    throw new Error(
      `--url is for engine 'external'; engine is '${engine}'. Add --engine external or drop --url.`,
    );
  }
  if (engine === "external" && url) await checkExternal(url, a);
  const run = await createRun({
    engine,
    root,
    model: a.model,
    params: { size, force: a.force, ...(url ? { url } : {}) },
    inputs: await hashInputs(await dataInputs(), ROOT),
  });
  return { run, engine, size, model: a.model, url };
}

/** Refuses a non-loopback engine URL unless --allow-remote (or SERVELAB_ALLOW_REMOTE=1), before any request. */
function checkRunUrl(url: string, a: RunArgs): void {
  if (!URL.canParse(url)) {
    throw new Error(`The engine URL '${url}' is not a URL; use e.g. http://127.0.0.1:8000.`);
  }
  const host = new URL(url).hostname;
  if (isLoopbackHost(host) || a.allow_remote || allowRemoteFromEnv()) return;
  throw new Error(
    `--url ${url}: host '${host}' is not loopback, and the lab sends load to local servers only. ` +
      "Add --allow-remote to measure a remote server on purpose.",
  );
}

/**
 * Attaches to the external engine once, as the notebooks will (GET /v1/models, the model served), so a URL
 * that is not an OpenAI-compatible server fails here, before a run folder and a kernel exist.
 */
async function checkExternal(url: string, a: RunArgs): Promise<void> {
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    SERVELAB_ENGINE: "external",
    SERVELAB_URL: url,
  };
  if (a.model) env.SERVELAB_MODEL = a.model;
  const engine = await launch(serveConfigFor(labEnv(env)), {
    allow_remote: a.allow_remote || allowRemoteFromEnv(),
  });
  await engine.stop();
}

/** Where `run` looks and writes; tests point these at temporary folders. */
export interface RunPaths {
  /** Folder of the tier notebooks. Default `<repo>/notebooks`. */
  notebooksDir?: string;
  /** Parent of run folders. Default `<repo>/reports`. */
  root?: string;
}

/** Runs the `run` verb; returns the exit code. */
export async function main(args: string[], paths: RunPaths = {}): Promise<number> {
  let a: RunArgs;
  try {
    a = parseRunArgs(args);
  } catch (err) {
    console.error(`servelab run: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (a.help) {
    console.log(USAGE);
    return 0;
  }
  const all = await tierNotebooks(paths.notebooksDir);
  const notebooks = a.tiers ? all.filter((nb) => a.tiers!.some((t) => basename(nb).startsWith(t))) : all;
  if (a.tiers && notebooks.length === 0) {
    console.error(
      `servelab run: --tiers ${a.tiers.join(",")} matches no tier notebook; the tier notebooks are ${
        all.map((nb) => basename(nb)).join(", ") || "none"
      }.`,
    );
    return 2;
  }
  let started: Awaited<ReturnType<typeof startRun>>;
  try {
    started = await startRun(a, paths.root);
  } catch (err) {
    console.error(`servelab run: ${(err as Error).message}`);
    return 1;
  }
  const { run, engine, size, model, url } = started;
  console.log(`servelab run: ${run.id} on ${engine}${engine === "sim" ? " (SIMULATED)" : ""}, size ${size}`);
  console.log(`  folder: ${run.dir}`);

  let code = 0;
  if (notebooks.length === 0) {
    console.log("  no tier notebooks yet (notebooks/[0-9]*.ipynb): wrote the manifest and the index only.");
    await finishRun(run, "complete");
  } else {
    const abort = new AbortController();
    let interrupted = false;
    const onSignal = () => {
      interrupted = true;
      abort.abort();
    };
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
    try {
      const env: Record<string, string> = {
        [RUN_DIR_ENV]: run.dir,
        SERVELAB_ENGINE: engine,
        SERVELAB_SIZE: size,
      };
      if (model) env.SERVELAB_MODEL = model;
      if (url) env.SERVELAB_URL = url;
      if (a.force) env[FORCE_ENV] = "1";
      if (a.allow_remote) env[ALLOW_REMOTE_ENV] = "1";
      const r = await runNotebooks(notebooks, {
        out: run.dir,
        env,
        timeoutS: a.timeout_s,
        signal: abort.signal,
      });
      const failed = r.summary?.notebooks.filter((n) => n.status !== "ok").map((n) => basename(n.notebook)) ??
        [];
      if (interrupted || r.code === 130) {
        await finishRun(run, "interrupted", `interrupted; rerun with --resume ${run.id}`);
        code = 130;
      } else if (r.code !== 0) {
        await finishRun(
          run,
          "failed",
          failed.length ? `failed: ${failed.join(", ")}` : `runner exited ${r.code}`,
        );
        code = 1;
      } else {
        await finishRun(run, "complete");
      }
    } finally {
      Deno.removeSignalListener("SIGINT", onSignal);
      Deno.removeSignalListener("SIGTERM", onSignal);
    }
  }
  const index = await writeRunIndex(run);
  await writeRunsIndex(dirname(run.dir));
  console.log(
    `servelab run: ${code === 0 ? "done" : code === 130 ? "interrupted" : "finished with failures"}`,
  );
  console.log(index);
  return code;
}
