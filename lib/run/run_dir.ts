/**
 * Run folders: `reports/<run-id>/` with `manifest.json`, `points/` (one file per finished point),
 * `logs/` (engine logs), and whatever the tiers write (CSV, MD, HTML). A run id is
 * `YYYYMMDD-HHMMSS-<engine>-<suffix>` in UTC, so ids sort by start time.
 * @module
 */
import { basename, isAbsolute, join, resolve } from "node:path";
import type { ServeConfig } from "../engine/config.ts";
import { REPO_ROOT } from "./host.ts";
import {
  buildManifest,
  type Manifest,
  type ManifestStart,
  readManifest,
  type RunStatus,
  sanitizeConfig,
  updateManifest,
  writeManifest,
} from "./manifest.ts";
import { watchParent } from "../engine/process_group.ts";

/** A run folder: where its files go. Plain data; pass it to the functions of lib/run. */
export interface Run {
  id: string;
  /** Absolute path of reports/<run-id>. */
  dir: string;
  pointsDir: string;
  logsDir: string;
  manifestPath: string;
}

/** Environment variable through which `./servelab run` hands its run folder to the notebooks. */
export const RUN_DIR_ENV = "SERVELAB_RUN_DIR";

let watchedParent: (() => void) | undefined;

/** The default reports folder: `<repo>/reports`. */
export function reportsRoot(): string {
  return join(REPO_ROOT, "reports");
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * A fresh run id: `YYYYMMDD-HHMMSS-<engine>-<4 hex>` (UTC time).
 *
 * @example
 * ```ts
 * newRunId("sim", new Date("2026-11-28T10:15:00Z")); // "20261128-101500-sim-3fa2"
 * ```
 */
export function newRunId(engine: string, now: Date = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const stamp = `${p(now.getUTCFullYear(), 4)}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-` +
    `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  const tag = engine.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "engine";
  const suffix = crypto.getRandomValues(new Uint16Array(1))[0].toString(16).padStart(4, "0");
  return `${stamp}-${tag}-${suffix}`;
}

function runAt(dir: string): Run {
  return {
    id: basename(dir),
    dir,
    pointsDir: join(dir, "points"),
    logsDir: join(dir, "logs"),
    manifestPath: join(dir, "manifest.json"),
  };
}

/** Options for {@link createRun}. */
export interface CreateRunOptions extends Omit<ManifestStart, "run_id" | "engine"> {
  /** The engine kind ("vllm", "sim", "external"). */
  engine: string;
  engine_version?: string;
  /** Parent folder of run folders. Default `<repo>/reports`. */
  root?: string;
  /** Use this id instead of a fresh one (it must not exist yet). */
  id?: string;
}

/**
 * Creates `reports/<run-id>/` with points/ and logs/, and writes its manifest (status "running").
 *
 * @example
 * ```ts
 * const run = await createRun({ engine: "sim", params: { size: "test" } });
 * console.log(run.dir); // .../reports/20261128-101500-sim-3fa2
 * ```
 */
export async function createRun(options: CreateRunOptions): Promise<Run> {
  const { engine, engine_version, root = reportsRoot(), id: givenId, ...rest } = options;
  const id = givenId ?? newRunId(engine);
  if (!RUN_ID.test(id)) {
    throw new Error(`Invalid run id '${id}': use letters, digits, '.', '_' and '-' only.`);
  }
  const run = runAt(resolve(root, id));
  const cannot = (err: unknown) =>
    new Error(
      `Cannot create run ${id} in ${root}: ${(err as Error).message}. Check that ${root} is a folder ` +
        "(not a file), is writable and has free space, or give another reports folder.",
      { cause: err },
    );
  try {
    await Deno.mkdir(run.dir, { recursive: false });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new Error(
        `Cannot create run ${id}: ${run.dir} already exists; use openRun('${id}') to resume it.`,
      );
    }
    if (err instanceof Deno.errors.NotFound) {
      await Deno.mkdir(run.dir, { recursive: true }).catch((e) => Promise.reject(cannot(e)));
    } else throw cannot(err);
  }
  try {
    await Deno.mkdir(run.pointsDir, { recursive: true });
    await Deno.mkdir(run.logsDir, { recursive: true });
  } catch (err) {
    throw cannot(err);
  }
  const manifest = await buildManifest({
    ...rest,
    run_id: id,
    engine: { kind: engine, version: engine_version },
  });
  // The creating process: a run left at `running` whose lab_pid is dead was interrupted (lock.ts).
  await writeManifest(run.manifestPath, { ...manifest, lab_pid: Deno.pid });
  return run;
}

/**
 * Opens an existing run by id (under `root`) or by path, checking that its manifest reads back.
 *
 * @example
 * ```ts
 * const run = await openRun("20261128-101500-sim-3fa2");
 * ```
 */
export async function openRun(idOrPath: string, options: { root?: string } = {}): Promise<Run> {
  const root = options.root ?? reportsRoot();
  const dir = isAbsolute(idOrPath) || idOrPath.includes("/") ? resolve(idOrPath) : resolve(root, idOrPath);
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new Deno.errors.NotFound();
  } catch {
    throw new Error(
      `Cannot open run '${idOrPath}': ${dir} is not a folder. List runs with 'ls ${root}' or start one with ./servelab run.`,
    );
  }
  const run = runAt(dir);
  await readManifest(run.manifestPath);
  await Deno.mkdir(run.pointsDir, { recursive: true });
  await Deno.mkdir(run.logsDir, { recursive: true });
  return run;
}

/**
 * The run a notebook writes into: the folder in `SERVELAB_RUN_DIR` (set by `./servelab run`), or, when
 * the notebook runs on its own (JupyterLab), a new run created with `options`.
 *
 * @example
 * ```ts
 * const run = await runDirFromEnv({ engine: P.engine });
 * ```
 */
export async function runDirFromEnv(options: CreateRunOptions = { engine: "sim" }): Promise<Run> {
  const dir = Deno.env.get(RUN_DIR_ENV);
  if (!dir) return await createRun(options);
  // A kernel of `./servelab run`: if its runner dies without stopping it (SIGKILL), exit rather than
  // linger under init; the unload handler then stops any engine group it started.
  watchedParent ??= watchParent(() => Deno.exit(129));
  return await openRun(resolve(dir));
}

/**
 * Marks a run finished: status, end time and (for "failed") the error.
 *
 * @example
 * ```ts
 * await finishRun(run, "complete");
 * ```
 */
export async function finishRun(
  run: Run,
  status: Exclude<RunStatus, "running">,
  error?: string,
): Promise<Manifest> {
  return await updateManifest(run.manifestPath, (m) => ({
    ...m,
    status,
    ended_at: new Date().toISOString(),
    error: error ?? (status === "complete" ? undefined : m.error),
  }));
}

/**
 * Records an engine a tier started in the run's manifest (config sanitized; no secrets), with its seed
 * under `seeds[label]`; fills the run's model and sim profile when they were not known at the start.
 *
 * @example
 * ```ts
 * await recordEngine(run, "ttft", engine.config, engine.startup?.version);
 * ```
 */
export async function recordEngine(
  run: Run,
  label: string,
  config: ServeConfig,
  version?: string,
): Promise<Manifest> {
  return await updateManifest(run.manifestPath, (m) => ({
    ...m,
    engine: { ...m.engine, version: m.engine.version ?? version },
    model: m.model ?? config.model,
    sim_profile: m.sim_profile ?? (config.engine === "sim" ? config.sim.gpu : undefined),
    seeds: { ...m.seeds, [label]: config.seed },
    engines: [...m.engines, { label, kind: config.engine, version, config: sanitizeConfig(config) }],
  }));
}
