/**
 * `./servelab run`: one run of every tier notebook (notebooks/[0-9]*.ipynb, in order) on one engine.
 *
 * ```
 * ./servelab run [--engine vllm|sim|llamacpp|external] [--url URL] [--model M] [--size default|test|teach]
 *                [--resume RUN_ID] [--reports DIR] [--force] [--timeout SECONDS] [--tiers ttft,prefix]
 *                [--allow-remote] [--cpus auto|off|ENGINE_SET]
 * ```
 *
 * Creates reports/<run-id>/ with its manifest, runs the notebooks through tools/run_notebooks.py with
 * SERVELAB_RUN_DIR, SERVELAB_ENGINE, SERVELAB_SIZE (and SERVELAB_MODEL, SERVELAB_FORCE when given) in
 * their environment, then writes reports/<run-id>/index.html and prints its path. `--resume` reuses a
 * run folder: finished points are skipped (unless `--force`). Ctrl-C stops the notebook's kernel (and
 * the engines it started), marks the run interrupted and still writes the index.
 *
 * CPU isolation (lib/engine/cpus.ts): unless `--cpus off` (or SERVELAB_CPUS=off), or the engine is external,
 * the engines the notebooks start run on the engine's CPU set (SERVELAB_CPUS) and the runner with its kernels
 * on the rest (`taskset -c`); the manifest's `cpus` records both and the load average at the start.
 * @module
 */
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import {
  CPU_LIST_RE,
  defaultEngineKind,
  EngineKind,
  formatCpuList,
  hostCpus,
  launch,
  planCpus,
} from "../../lib/engine/mod.ts";
import { isEmbeddedEngine, serverVersion } from "../../lib/engine/mod.ts";
import { labEnv, serveConfigFor, TIERS } from "../../lib/mod.ts";
import { writeRunIndex, writeRunsIndex } from "../../lib/writeup/mod.ts";
import {
  acquireRunLock,
  createRun,
  finishRun,
  FORCE_ENV,
  hashInputs,
  type ManifestCpus,
  markDeadRuns,
  openRun,
  PROGRESS_FILE,
  readManifest,
  reportsRoot,
  type Run,
  RUN_DIR_ENV,
  type RunLock,
  updateManifest,
} from "../../lib/run/mod.ts";
import { ALLOW_REMOTE_ENV, allowRemoteFromEnv, isLoopbackHost, redactUrl } from "../../lib/base/mod.ts";
import { definingEnv, resumeDifferences, validateRunInputs } from "./run_checks.ts";
import { ROOT, runNotebooks } from "../_jupyter.ts";
import { capabilitySummary } from "../../lib/probe/mod.ts";
import { exitCodeOf } from "../../lib/run/mod.ts";
import { recordCapabilities } from "./run_capabilities.ts";
import { recordOutcomes } from "./run_outcome.ts";

/** The names `--tiers` takes, each tier's one name (its key), and the notebook each runs; `writeup` is the
 * day's write-up. */
const TIER_NOTEBOOKS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(TIERS.map((t) => [t.key, t.notebook])),
  writeup: "05_writeup",
};
import { liveProgress } from "../_progress.ts";

const USAGE = `Usage: ./servelab run [--engine vllm|sim|llamacpp|external] [--url URL] [--model M]
                      [--size default|test|teach] [--resume RUN_ID] [--reports DIR] [--force] [--timeout SECONDS]
                      [--tiers ttft,prefix] [--allow-remote] [--cpus auto|off|ENGINE_SET]

Runs every tier notebook (notebooks/[0-9]*.ipynb) on one engine and writes reports/<run-id>/:
the executed notebooks and their HTML, the tiers' CSV and MD files, manifest.json and index.html.
  --engine   vllm, sim or external (default: SERVELAB_ENGINE, else vllm when vllm and a GPU are found, else sim)
  --url      base URL of an external engine (engine external; default: SERVELAB_URL); loopback only
             unless --allow-remote
  --model    the model to serve (default: each tier's own default)
  --size     default; test for small, fast parameters; teach for a live session (~1 min per tier on sim)
  --resume   continue the run RUN_ID (a folder in reports/): finished points are skipped; every
             parameter that defines the run must match its manifest
  --reports  the reports folder (default reports/): new runs go there, --resume looks only there
  --force    redo finished points
  --timeout  seconds a notebook cell may take (default 1800)
  --tiers    only these tiers, by name, comma-separated: ttft, prefix, kv, batching, writeup (e.g. ttft,prefix)
  --allow-remote  allow an external engine on a non-loopback host (sets SERVELAB_ALLOW_REMOTE=1)
  --cpus     CPU isolation: the engine's CPU list (e.g. 0-5; the runner and kernel get the rest), auto (split
             the host's CPUs and NUMA nodes; 1 + 1 on 2 CPUs), or off (default: SERVELAB_CPUS, else auto)
  --dry-run  check the options and list the notebooks that would run; run nothing
Exit status: 0 complete; 1 failed (a notebook failed, or a tier whose points all failed; the cause is printed);
3 partial (some points failed); 130 interrupted; 2 bad arguments.`;

const Size = z.enum(["default", "test", "teach"]);

/** Signals that interrupt a run: Ctrl-C, a polite kill, a closed terminal. */
const STOP_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** Parsed `run` options. */
export interface RunArgs {
  engine?: EngineKind;
  url?: string;
  model?: string;
  size?: z.infer<typeof Size>;
  resume?: string;
  /** The reports folder (default reports/): where runs are created and the only place --resume looks. */
  reports?: string;
  force: boolean;
  timeout_s: number;
  /** Only the tier notebooks whose file names start with one of these prefixes. */
  tiers?: string[];
  /** `--url` held `user:password@`, removed before anything is written. */
  url_userinfo_removed?: boolean;
  /** Allow `--url` on a non-loopback host (set only by the flag). */
  allow_remote?: boolean;
  /** Check the options and list the notebooks; run nothing. */
  dry_run?: boolean;
  /** "auto", "off" or the engine's CPU list. */
  cpus?: string;
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
        if (!p.success) {
          throw new Error(`--engine '${v}' is not an engine; use vllm, sim, llamacpp or external.`);
        }
        r.engine = p.data;
        break;
      }
      case "--model":
        r.model = value();
        break;
      case "--url": {
        const v = value();
        const shown = redactUrl(v);
        if (!URL.canParse(v) || !/^https?:$/.test(new URL(v).protocol)) {
          throw new Error(`--url '${shown}' is not an http(s) URL; use e.g. http://127.0.0.1:8000.`);
        }
        r.url = shown;
        r.url_userinfo_removed = shown !== v;
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
      case "--reports":
        r.reports = value();
        break;
      case "--timeout": {
        const v = value();
        const n = Number(v);
        if (!(n >= 1) || !Number.isFinite(n)) {
          throw new Error(`--timeout '${v}' must be a positive number of seconds, at least 1.`);
        }
        r.timeout_s = n;
        break;
      }
      case "--tiers": {
        const v = value();
        const tiers = v.split(",").map((t) => t.trim()).filter(Boolean);
        const names = Object.keys(TIER_NOTEBOOKS);
        const bad = tiers.filter((t) => !(t in TIER_NOTEBOOKS));
        if (tiers.length === 0 || bad.length) {
          throw new Error(
            `--tiers '${v}' is not a list of tier names${
              bad.length ? ` (unknown: ${bad.join(", ")})` : ""
            }; ` +
              `name tiers by their one name: ${
                names.map((k) => `${k} (${TIER_NOTEBOOKS[k]})`).join(", ")
              }, e.g. --tiers ttft,prefix.`,
          );
        }
        r.tiers = tiers;
        break;
      }
      case "--cpus": {
        const v = value();
        if (v !== "auto" && v !== "off" && !CPU_LIST_RE.test(v)) {
          throw new Error(`--cpus '${v}' is not auto, off or a CPU list; use e.g. --cpus 0 or --cpus 0-5.`);
        }
        r.cpus = v;
        break;
      }
      case "--force":
        r.force = true;
        break;
      case "--allow-remote":
        r.allow_remote = true;
        break;
      case "--dry-run":
        r.dry_run = true;
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

/** What startRun hands back: the run, its lock (released when the run ends) and what the notebooks get. */
interface Started {
  run: Run;
  lock: RunLock;
  engine: string;
  size: string;
  model?: string;
  url?: string;
  /** The server is the embedded engine (engine sim, or external by its /version): numbers SIMULATED. */
  simulated: boolean;
  /** The run's CPU sets (also in the manifest). */
  cpus: ManifestCpus;
}

/** The environment the notebooks will see (the lab's variables over this process's). */
function notebookEnv(engine: string, size: string, model?: string, url?: string): Record<string, string> {
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    SERVELAB_ENGINE: engine,
    SERVELAB_SIZE: size,
  };
  if (model) env.SERVELAB_MODEL = model;
  if (url) env.SERVELAB_URL = url;
  else delete env.SERVELAB_URL;
  return env;
}

/**
 * The run folder `--resume` names: a run id in the reports folder, or a path to a folder directly inside
 * it. Anything else is refused: the lab writes the runs index into the run's parent folder.
 */
function resumeDir(resume: string, root: string): string {
  const dir = isAbsolute(resume) || resume.includes("/") ? resolve(resume) : resolve(root, resume);
  if (dirname(dir) !== resolve(root)) {
    throw new Error(
      `--resume ${resume}: ${dir} is not a run folder inside the reports folder ${resolve(root)}. ` +
        "Give a run id from that folder, or pass --reports DIR for runs kept elsewhere.",
    );
  }
  return dir;
}

async function startRun(a: RunArgs, rootGiven: string | undefined): Promise<Started> {
  const root = a.reports ?? rootGiven ?? reportsRoot();
  for (const id of await markDeadRuns(root)) {
    console.error(`servelab run: run ${id} was left 'running' by a lab that died; marked it interrupted.`);
  }
  const fromEnv = Deno.env.get("SERVELAB_ENGINE") || undefined;
  if (fromEnv !== undefined && !EngineKind.safeParse(fromEnv).success) {
    throw new Error(
      `SERVELAB_ENGINE='${fromEnv}' is not an engine; use vllm, sim, llamacpp or external, or unset it.`,
    );
  }
  const modelGiven = a.model ?? (Deno.env.get("SERVELAB_MODEL") || undefined);
  const warn = (ws: string[]) => ws.forEach((w) => console.error(`servelab run: ${w}`));
  if (a.resume) {
    const dir = resumeDir(a.resume, root);
    const run = await openRun(dir, { root });
    const m = await readManifest(run.manifestPath);
    const engine = m.engine.kind;
    const size = a.size ?? String(m.params.size ?? "default");
    const model = modelGiven ?? (typeof m.params.model === "string" ? m.params.model : m.model);
    const saved = typeof m.params.url === "string" ? redactUrl(m.params.url) : undefined;
    const url = a.url ?? saved;
    if (engine === "external" && url) checkRunUrl(url, a);
    const env = notebookEnv(engine, size, model, url);
    warn(await validateRunInputs(env));
    const differences = resumeDifferences(m, {
      engine: a.engine ?? fromEnv ?? engine,
      model: modelGiven,
      size,
      env: definingEnv(env),
      inputs: await hashInputs(await dataInputs(), ROOT),
    });
    if (a.url && saved !== undefined && a.url !== saved) {
      differences.unshift(`url: the run used '${saved}', now '${a.url}'`);
    }
    if (differences.length) {
      throw new Error(
        `Cannot resume run ${run.id}: it was measured with other parameters, and one folder must hold one ` +
          `run. Differences:\n  - ${differences.join("\n  - ")}\n` +
          "Resume with the run's own flags and variables (or drop them), or start a new run without --resume.",
      );
    }
    const lock = acquireRunLock(run.dir);
    if (lock.recovered_from) {
      console.error(
        `servelab run: took over the stale lock of run ${run.id} (pid ${lock.recovered_from} is gone).`,
      );
    }
    let cpus: ManifestCpus;
    try {
      cpus = { ...runCpus(a, engine, m.cpus), load_avg_1m: loadAvg1m() };
      await updateManifest(run.manifestPath, (x) => ({
        ...x,
        cpus,
        status: "running",
        ended_at: undefined,
        error: undefined,
        lab_pid: Deno.pid,
        params: { ...x.params, size, resumed_at: new Date().toISOString() },
      }));
    } catch (err) {
      lock.release();
      throw err;
    }
    return {
      run,
      lock,
      engine,
      size,
      model,
      url,
      simulated: engine === "sim" || isEmbeddedEngine(m.engine.version),
      cpus,
    };
  }
  const engine = a.engine ?? fromEnv ?? await defaultEngineKind();
  const size = a.size ?? "default";
  const fromEnvUrl = Deno.env.get("SERVELAB_URL") || undefined;
  const url = a.url ?? (fromEnvUrl === undefined ? undefined : redactUrl(fromEnvUrl));
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
  const env = notebookEnv(engine, size, modelGiven, engine === "external" ? url : undefined);
  warn(await validateRunInputs(env));
  const version = engine === "external" && url ? await checkExternal(url, a) : undefined;
  const simulated = engine === "sim" || isEmbeddedEngine(version);
  const cpus: ManifestCpus = { ...runCpus(a, engine), load_avg_1m: loadAvg1m() };
  const run = await createRun({
    engine,
    engine_version: version,
    root,
    model: modelGiven,
    params: {
      size,
      force: a.force,
      ...(url ? { url } : {}),
      ...(modelGiven ? { model: modelGiven } : {}),
      definition: 1,
      ...definingEnv(env),
    },
    inputs: await hashInputs(await dataInputs(), ROOT),
  });
  await updateManifest(run.manifestPath, (x) => ({ ...x, cpus }));
  return { run, lock: acquireRunLock(run.dir), engine, size, model: modelGiven, url, simulated, cpus };
}

/**
 * The run's CPU sets from `--cpus`, else SERVELAB_CPUS, else auto (or, on resume, what the manifest recorded).
 * External engines get none: the lab did not start them. Throws on a bad explicit set; an automatic split
 * that cannot be made (one CPU) turns isolation off and says why.
 */
export function runCpus(
  a: Pick<RunArgs, "cpus">,
  engine: string,
  recorded?: ManifestCpus,
  host = hostCpus(),
): ManifestCpus {
  const hostList = host.cpus.length ? formatCpuList(host.cpus) : "none";
  const off = (source: string, reason: string): ManifestCpus => ({
    isolation: "off",
    source,
    host: hostList,
    numa_nodes: host.nodes.length,
    reason,
  });
  if (engine === "external") return off("external", "the lab did not start the engine");
  const env = Deno.env.get("SERVELAB_CPUS")?.trim() || undefined;
  const given = a.cpus ??
    (recorded?.isolation === "on" && recorded.source !== "auto" ? recorded.engine : undefined) ??
    env ?? (recorded?.isolation === "off" ? "off" : "auto");
  const source = a.cpus !== undefined
    ? "--cpus"
    : env !== undefined && given === env
    ? "SERVELAB_CPUS"
    : "auto";
  if (given === "off") return off(source, `${source === "auto" ? "resumed run" : source} off`);
  if (given === "auto") {
    if (host.cpus.length < 2) return off("auto", "one CPU only");
    return { isolation: "on", ...planCpus(host) };
  }
  const plan = planCpus(host, given, source === "SERVELAB_CPUS" ? "SERVELAB_CPUS" : "--cpus");
  return { isolation: "on", ...plan };
}

/** /proc/loadavg's 1-minute load, undefined off Linux. */
function loadAvg1m(): number | undefined {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return undefined;
  }
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
async function checkExternal(url: string, a: RunArgs): Promise<string | undefined> {
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    SERVELAB_ENGINE: "external",
    SERVELAB_URL: url,
  };
  if (a.model) env.SERVELAB_MODEL = a.model;
  const allow_remote = a.allow_remote || allowRemoteFromEnv();
  const engine = await launch(serveConfigFor(labEnv(env)), { allow_remote });
  // Its identity: the embedded engine behind --engine external is still SIMULATED.
  const version = await serverVersion(engine.baseUrl, { headers: engine.headers(), allow_remote });
  await engine.stop();
  return version;
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
  const notebooks = a.tiers
    ? all.filter((nb) => a.tiers!.some((t) => basename(nb, ".ipynb") === TIER_NOTEBOOKS[t]))
    : all;
  if (a.tiers && notebooks.length === 0) {
    console.error(
      `servelab run: --tiers ${a.tiers.join(",")} matches no tier notebook; the tier notebooks are ${
        all.map((nb) => basename(nb)).join(", ") || "none"
      }.`,
    );
    return 2;
  }
  if (a.url_userinfo_removed) {
    console.error(
      "servelab run: removed user:password@ from --url: the lab never sends or writes it. " +
        "A server that wants a key: export it and set SERVELAB_API_KEY_ENV to the variable's name.",
    );
  }
  if (a.dry_run) {
    console.log(
      `servelab run --dry-run: would run ${
        notebooks.map((nb) => basename(nb)).join(", ") || "no notebook"
      } on ${a.engine ?? "the default engine"}, size ${a.size ?? "default"}${
        a.model ? `, model ${a.model}` : ""
      }${a.resume ? `, resuming ${a.resume}` : ""}`,
    );
    return 0;
  }
  let started: Started;
  try {
    started = await startRun(a, paths.root);
  } catch (err) {
    console.error(`servelab run: ${(err as Error).message}`);
    return 1;
  }
  const { lock } = started;
  try {
    return await execute(a, notebooks, started);
  } finally {
    lock.release();
  }
}

/** Runs the notebooks into a started run and writes its indexes; returns the exit code. */
async function execute(a: RunArgs, notebooks: string[], started: Started): Promise<number> {
  const { run, engine, size, model, url, simulated, cpus } = started;
  const what = engine === "external" && simulated
    ? " (SIMULATED: the server is servelab's embedded engine)"
    : "";
  console.log(
    `servelab run: ${run.id} on ${engine}${engine === "sim" ? " (SIMULATED)" : what}, size ${size}`,
  );
  console.log(`  folder: ${run.dir}`);
  console.log(
    cpus.isolation === "on"
      ? `  CPU sets: engine ${cpus.engine}, client ${cpus.client} (${cpus.source})`
      : `  CPU sets: none (${cpus.reason})`,
  );
  const nCpus = hostCpus().cpus.length;
  if (cpus.isolation === "on" && cpus.load_avg_1m !== undefined && cpus.load_avg_1m > nCpus) {
    console.log(
      `  note: the load average (${cpus.load_avg_1m}) exceeds this host's ${nCpus} CPUs: other work runs on ` +
        "both sets, which isolation cannot keep out (bench/results/2026-12-08-cpu_isolation.md measured it " +
        "not helping then); results may carry that contention.",
    );
  }
  // Issue 20: the capability probe, into the manifest (tools/cli/run_capabilities.ts).
  if (!a.resume) {
    const caps = await recordCapabilities(run, {
      SERVELAB_ENGINE: engine,
      SERVELAB_SIZE: size,
      ...(url ? { SERVELAB_URL: url } : {}),
      ...(model ? { SERVELAB_MODEL: model } : {}),
    }, !!(a.allow_remote || allowRemoteFromEnv()));
    console.log(`  capabilities: ${capabilitySummary(caps)}`);
  }

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
    // SIGHUP (the terminal closed) is an interruption like Ctrl-C: stop the runner and its kernel.
    for (const sig of STOP_SIGNALS) Deno.addSignalListener(sig, onSignal);
    try {
      const env: Record<string, string> = {
        [RUN_DIR_ENV]: run.dir,
        SERVELAB_ENGINE: engine,
        SERVELAB_SIZE: size,
        SERVELAB_CPUS: cpus.isolation === "on" ? cpus.engine! : "off",
      };
      if (model) env.SERVELAB_MODEL = model;
      if (url) env.SERVELAB_URL = url;
      if (simulated) env.SERVELAB_SIMULATED = "1";
      if (a.force) env[FORCE_ENV] = "1";
      if (a.allow_remote) env[ALLOW_REMOTE_ENV] = "1";
      // Live progress (tools/_progress.ts): a progress.json left by an earlier attempt is not this one's.
      await Deno.remove(join(run.dir, PROGRESS_FILE)).catch(() => {});
      const live = liveProgress({ runDir: run.dir, notebooks });
      const r = await runNotebooks(notebooks, {
        out: run.dir,
        env,
        timeoutS: a.timeout_s,
        signal: abort.signal,
        cpus: cpus.isolation === "on" ? cpus.client : undefined,
        onLine: (l) => live.line(l),
      }).finally(() => live.stop());
      const failed = r.summary?.notebooks.filter((n) => n.status !== "ok").map((n) => basename(n.notebook)) ??
        [];
      // Issue 20: each tier's outcome from its points; a tier whose points failed fails the run, with its cause.
      const outcome = await recordOutcomes(run, notebooks);
      for (const line of outcome.lines) console.error(`servelab run: ${line}`);
      if (interrupted || r.code === 130) {
        await finishRun(run, "interrupted", `interrupted; rerun with --resume ${run.id}`);
        code = 130;
      } else if (r.code !== 0) {
        await finishRun(
          run,
          "failed",
          [failed.length ? `failed: ${failed.join(", ")}` : `runner exited ${r.code}`, ...outcome.lines].join(
            "\n",
          ),
        );
        code = 1;
      } else if (outcome.overall !== "complete") {
        await finishRun(run, outcome.overall, outcome.lines.join("\n"));
        code = exitCodeOf(outcome.overall);
      } else {
        await finishRun(run, "complete");
      }
    } finally {
      for (const sig of STOP_SIGNALS) Deno.removeSignalListener(sig, onSignal);
    }
  }
  const index = await writeRunIndex(run);
  await writeRunsIndex(dirname(run.dir));
  console.log(
    `servelab run: ${
      code === 0
        ? "done"
        : code === 130
        ? "interrupted"
        : code === 3
        ? "partial: some points failed"
        : "finished with failures"
    }`,
  );
  console.log(index);
  return code;
}
