/**
 * The KV tier's measurement: one engine per point of the max-model-len sweep (and the optional
 * gpu-memory-utilization points), then one point meant not to fit, each written as a row of
 * `kv_cache_scaling.csv` (a failed start is a row with `fit_error_*` columns, not a crash); then the load
 * confirmation (load.ts). An external server cannot be restarted: its capacity is read from /metrics
 * `cache_config_info` and the sweep and load are skipped, saying so.
 * @module
 */
import { join } from "node:path";
import { EngineStartError, launch } from "../../engine/launch.ts";
import type { StartupReport } from "../../engine/types.ts";
import { readCsv } from "../../run/csv.ts";
import { collectPoints, readPoint, runPoints } from "../../run/points.ts";
import { recordEngine, type Run } from "../../run/run_dir.ts";
import { scrapeMetrics } from "../../scrape/scrape.ts";
import { engineLabel, type LabEnv, serveConfigFor } from "../lab_env.ts";
import { kvSweepRows } from "./analyze.ts";
import type { KvPlannerContext } from "./capacity.ts";
import { type KvContext, kvContext, kvGpuUsedGib, kvPlannedColumns, kvPlannerContext } from "./context.ts";
import { KV_LOAD_FILES, measureKvLoad } from "./load.ts";
import type { KvParams } from "./params.ts";
import { guardedFetch } from "../../base/guarded_fetch.ts";
import {
  KV_COLUMNS,
  KV_LOAD_COLUMNS,
  kvFailureRow,
  KvLoadRow,
  type KvPoint,
  type KvPointObservation,
  KvRow,
  kvRowFromStartup,
} from "./rows.ts";

/** Tier name of the per-point files (points/kv/, points/kv_load/). */
export const KV_TIER = "kv";
/** The tier's CSV of engine configurations. */
export const KV_SCALING_FILE = "kv_cache_scaling.csv";

const GiB = 2 ** 30;

/**
 * The sweep's points: one per max-model-len, then the gpu-memory-utilization points at `util_len`.
 *
 * @example
 * ```ts
 * kvSweepPoints({ ...P, lens: [1024, 4096], utils: [0.5] }).map((p) => p.id); // ["L1024", "L4096", "L4096-u0.5"]
 * ```
 */
export function kvSweepPoints(P: Pick<KvParams, "lens" | "utils" | "util_len">): KvPoint[] {
  return [
    ...P.lens.map((L): KvPoint => ({ id: `L${L}`, role: "sweep", max_model_len: L })),
    ...P.utils.map((u): KvPoint => ({
      id: `L${P.util_len}-u${u}`,
      role: "util",
      max_model_len: P.util_len,
      gpu_memory_utilization: u,
    })),
  ];
}

/**
 * The point meant to fail: at the largest length that started, a pool that holds half of one such request.
 * With `fail_util` "auto" the utilization comes from the measured non-KV memory, `(non_kv + L x bytes per
 * token / 2) / device total`; without a device total (cpu profile, no nvidia-smi) the pool is set with
 * kv_cache_memory_bytes instead. A number is used as given; "off" gives no point.
 *
 * @example
 * ```ts
 * kvFitProbePoint(P, rows)?.gpu_memory_utilization; // e.g. 0.0581 for Qwen2.5-1.5B at 32k on an H100
 * ```
 */
export function kvFitProbePoint(P: Pick<KvParams, "fail_util">, rows: readonly KvRow[]): KvPoint | undefined {
  if (P.fail_util === "off") return undefined;
  const sweep = kvSweepRows(rows);
  const top = sweep.at(-1);
  if (!top) return undefined;
  const L = top.max_model_len;
  if (typeof P.fail_util === "number") {
    return {
      id: `fit-L${L}-u${P.fail_util}`,
      role: "fit_probe",
      max_model_len: L,
      gpu_memory_utilization: P.fail_util,
    };
  }
  const bpt = top.kv_bytes_per_token_computed ?? top.kv_bytes_per_token_measured;
  if (bpt === undefined) return undefined;
  const half_gib = L * bpt / 2 / GiB;
  if (top.non_kv_gib !== undefined && top.device_total_gib !== undefined) {
    const util = Math.floor((top.non_kv_gib + half_gib) / top.device_total_gib * 1e4) / 1e4;
    if (util > 0 && util <= 1) {
      return { id: `fit-L${L}-u${util}`, role: "fit_probe", max_model_len: L, gpu_memory_utilization: util };
    }
  }
  const bytes = Math.floor(half_gib * GiB);
  return { id: `fit-L${L}-kv${bytes}`, role: "fit_probe", max_model_len: L, kv_cache_memory_bytes: bytes };
}

function observation(ctx: KvContext, engine: string): KvPointObservation {
  return {
    engine,
    device_total_gib: ctx.device_total_gib,
    default_utilization: ctx.default_utilization,
    kv_bytes_per_token_computed: ctx.model?.kv_bytes_per_token,
  };
}

/** One engine configuration: start it, read its capacity, stop it; a failed start is a row. */
async function measurePoint(run: Run, ctx: KvContext, p: KvPoint): Promise<{ row: KvRow; version?: string }> {
  const cfg = serveConfigFor(ctx.lab, {
    max_model_len: p.max_model_len,
    gpu_memory_utilization: p.gpu_memory_utilization,
    kv_cache_memory_bytes: p.kv_cache_memory_bytes,
  });
  const obs = observation(ctx, cfg.engine);
  const before = await kvGpuUsedGib(ctx);
  let row: KvRow;
  let version: string | undefined;
  try {
    await using engine = await launch(cfg, { log_dir: run.logsDir, log_name: `kv-${p.id}` });
    const report: StartupReport = engine.startup ??
      { server_up: true, simulated: false, phases: [], errors: [] };
    version = report.version;
    const scrape = await scrapeMetrics(engine.baseUrl, { headers: engine.headers(), timeout_ms: 5_000 })
      .catch(() => undefined);
    const after = await kvGpuUsedGib(ctx);
    row = kvRowFromStartup(p, report, {
      ...obs,
      startup_s: engine.ready_s,
      cache_config: scrape?.metrics.cache_config,
      gpu_mem_used_gib: before !== undefined && after !== undefined ? after - before : undefined,
    });
  } catch (err) {
    if (!(err instanceof EngineStartError)) throw err;
    version = err.report.version;
    row = kvFailureRow(p, { report: err.report, message: err.message, log_tail: err.logTail }, obs);
  }
  await recordEngine(run, `kv-${p.id}`, cfg, version);
  return { row: { ...row, ...kvPlannedColumns(ctx, cfg) }, version };
}

const ModelList = (x: unknown): number | undefined => {
  const data = (x as { data?: { max_model_len?: unknown }[] })?.data;
  const v = data?.[0]?.max_model_len;
  return typeof v === "number" ? v : undefined;
};

/** An external server: its capacity from /metrics cache_config_info, its max-model-len from /v1/models. */
async function observeExternal(run: Run, ctx: KvContext): Promise<KvRow> {
  const cfg = serveConfigFor(ctx.lab);
  await using engine = await launch(cfg);
  const scrape = await scrapeMetrics(engine.baseUrl, { headers: engine.headers(), timeout_ms: 5_000 })
    .catch(() => undefined);
  const models = await guardedFetch(`${engine.baseUrl}/v1/models`, {
    headers: engine.headers(),
    signal: AbortSignal.timeout(5_000),
  }).then((r) => r.json()).catch(() => undefined);
  const L = ModelList(models) ?? 0;
  await recordEngine(run, "kv-external", cfg);
  const report: StartupReport = { server_up: true, simulated: false, phases: [], errors: [] };
  const row = kvRowFromStartup(
    { id: "external", role: "observed", max_model_len: L },
    report,
    { ...observation(ctx, "external"), cache_config: scrape?.metrics.cache_config },
  );
  const cc = scrape?.metrics.cache_config;
  return {
    ...row,
    max_concurrency: cc?.kv_cache_max_concurrency ??
      (row.num_gpu_blocks !== undefined && row.block_size !== undefined && L > 0
        ? Number((row.num_gpu_blocks / Math.ceil(L / row.block_size)).toFixed(2))
        : undefined),
  };
}

/** What {@link measureKv} measured, read back from the run's CSVs. */
export interface KvMeasurement {
  run_id: string;
  engine_label: string;
  /** Path of kv_cache_scaling.csv. */
  scaling_csv: string;
  rows: KvRow[];
  /** Paths of the load confirmation's CSVs (undefined when it was skipped). */
  load_csv?: string;
  samples_csv?: string;
  load_rows: KvLoadRow[];
  /** Why the sweep or the load did not run, or why a point failed outside the fit check. */
  notes: string[];
  /** For the capacity question (undefined without a model config). */
  planner?: KvPlannerContext;
  /** Where the computed bytes per token come from. */
  model_config_source?: string;
  /** The model's KV shape, for the computed bytes per token's formula. */
  model_shape?: {
    num_layers: number;
    num_kv_heads: number;
    head_dim: number;
    kv_dtype_bytes: number;
    tensor_parallel_size: number;
    max_position_embeddings: number;
  };
  device_name?: string;
}

/**
 * Runs the tier: the sweep and the fit probe (one engine per point), then the load confirmation; writes
 * `kv_cache_scaling.csv`, `kv_load_confirmation.csv` and `kv_load_samples.csv` into the run folder and
 * returns their rows. Finished points are skipped on a rerun of the same run.
 *
 * @example
 * ```ts
 * const run = await runDirFromEnv({ engine: lab.engine });
 * const M = await measureKv(run, lab, kvParams(lab));
 * M.rows.filter((r) => !r.started); // the fit failure row(s)
 * ```
 */
export async function measureKv(
  run: Run,
  lab: LabEnv,
  P: KvParams,
  opts: { progress?: boolean } = {},
): Promise<KvMeasurement> {
  const ctx = await kvContext(lab);
  const notes: string[] = [];
  const scaling_csv = join(run.dir, KV_SCALING_FILE);
  const columns = KV_COLUMNS as readonly string[];
  let version: string | undefined;
  const ids: string[] = [];

  if (lab.engine === "external") {
    await runPoints(run, KV_TIER, [{ id: "external" }], async () => ({
      rows: [await observeExternal(run, ctx)],
      columns,
    }), opts);
    ids.push("external");
    notes.push(
      "External server: the sweep needs one engine per max-model-len (restarts), so it is skipped; the " +
        "capacity comes from /metrics cache_config_info where the server exports it. The load confirmation " +
        "is skipped too: it needs a pool sized for the test, and a shared server is not ours to saturate.",
    );
  } else {
    const sweep = kvSweepPoints(P);
    const measure = async (p: KvPoint) => {
      const { row, version } = await measurePoint(run, ctx, p);
      return { rows: [row], columns, data: { version } };
    };
    await runPoints(run, KV_TIER, sweep, measure, opts);
    ids.push(...sweep.map((p) => p.id));
    await collectPoints(run, KV_TIER, { file: KV_SCALING_FILE, columns, ids });
    // llama.cpp has no pool apart from its context: -c (max_model_len x slots) is allocated as asked, so
    // there is no fit check to probe and no smaller pool to load (lib/engine/llamacpp.ts).
    const probe = lab.engine === "llamacpp"
      ? undefined
      : kvFitProbePoint(P, await readCsv(scaling_csv, KvRow));
    if (lab.engine === "llamacpp") {
      notes.push(
        "llama.cpp: no fit probe and no small-pool load confirmation. Its KV cache is the context it is " +
          "given (-c = max-model-len x slots, allocated at start), so a length never fails to fit a pool and " +
          "there is no pool size to shrink; the sweep above shows that allocation.",
      );
    } else if (probe) {
      await runPoints(run, KV_TIER, [probe], measure, opts);
      ids.push(probe.id);
    } else if (P.fail_util !== "off") {
      notes.push("No fit probe: no sweep point started, so there is no length and pool to size it from.");
    }
    for (const id of ids) {
      const v = (await readPoint(run, KV_TIER, id))?.data as { version?: string } | undefined;
      version ??= v?.version;
    }
  }
  const collected = await collectPoints(run, KV_TIER, { file: KV_SCALING_FILE, columns, ids });
  for (const id of ids.filter((id) => !collected.points.includes(id))) {
    notes.push(`Point ${id} failed outside the fit check: see points/${KV_TIER}/${id}.failed.json.`);
  }
  const rows = await readCsv(scaling_csv, KvRow);

  let load_rows: KvLoadRow[] = [];
  let load_csv: string | undefined;
  let samples_csv: string | undefined;
  if (lab.engine !== "external" && lab.engine !== "llamacpp") {
    const summary = await runPoints(run, `${KV_TIER}_load`, [{ id: "ramp" }], async () => {
      const r = await measureKvLoad(run, ctx, P, rows);
      return { rows: r.rows, columns: KV_LOAD_COLUMNS as readonly string[], data: { version: r.version } };
    }, opts);
    for (const f of summary.failed) notes.push(`The load confirmation failed: ${f.error.split("\n")[0]}`);
    const c = await collectPoints(run, `${KV_TIER}_load`, {
      file: KV_LOAD_FILES.rows,
      columns: KV_LOAD_COLUMNS as readonly string[],
    });
    if (c.points.length) {
      load_csv = c.path;
      load_rows = await readCsv(load_csv, KvLoadRow);
      samples_csv = join(run.dir, KV_LOAD_FILES.samples);
    }
  }
  return {
    run_id: run.id,
    engine_label: engineLabel(serveConfigFor(lab), version),
    scaling_csv,
    rows,
    load_csv,
    samples_csv,
    load_rows,
    notes,
    planner: kvPlannerContext(ctx),
    model_config_source: ctx.model?.source,
    model_shape: ctx.model && {
      num_layers: ctx.model.spec.num_layers,
      num_kv_heads: ctx.model.spec.num_kv_heads,
      head_dim: ctx.model.spec.head_dim,
      kv_dtype_bytes: ctx.model.kv_dtype_bytes,
      tensor_parallel_size: ctx.model.tensor_parallel_size,
      max_position_embeddings: ctx.model.spec.max_position_embeddings,
    },
    device_name: ctx.device_name,
  };
}
