/**
 * The batching measurement: one engine for the whole tier; a closed-loop concurrency sweep, then a
 * Poisson rate sweep at fractions of the peak throughput the first sweep measured; every point
 * repeated with the repeats interleaved (repeat 1 of every point, then repeat 2...), each point's
 * warm-up excluded, the server's /metrics sampled during each point. One file per point through
 * `runPoints` (a rerun resumes), then the tier's CSVs in the run folder. Before the sweeps, a short
 * unrecorded load warms the engine (its first-request costs) and the client (JIT, connections).
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import type { ServeConfig } from "../../engine/config.ts";
import { buildServeArgs } from "../../engine/argv.ts";
import { llamaServerArgs } from "../../engine/llamacpp.ts";
import { EngineSupervisor } from "../../engine/supervisor.ts";
import type { Engine, StartupReport } from "../../engine/types.ts";
import { createClock } from "../../probe/clock.ts";
import { type LoadShape, runLoad } from "../../probe/load.ts";
import { collectPoints, readPoint, runPoints, type RunPointsSummary } from "../../run/points.ts";
import { type CsvRow, writeCsv } from "../../run/csv.ts";
import { recordEngine, type Run } from "../../run/run_dir.ts";
import { MetricsSampler } from "../../scrape/sampler.ts";
import { engineLabel, type LabEnv, serveConfigFor } from "../lab_env.ts";
import type { BatchingParams } from "./params.ts";
import {
  BATCHING_POINT_COLUMNS,
  BATCHING_REQUEST_COLUMNS,
  BATCHING_SERVER_COLUMNS,
  batchingPart,
  type BatchingPoint,
  batchingPointRow,
  batchingRequestRow,
  batchingServerRows,
} from "./point_row.ts";
import { BATCHING_MAX_REQUESTS_PER_POINT, type BatchingWorkload, batchingWorkload } from "./workload.ts";
import { guardedFetch } from "../../base/guarded_fetch.ts";

/** The tier's name in the run folder (points/batching/). */
export const BATCHING_TIER = "batching";

/** Point ordinal of the tier's unrecorded warm-up requests (far from any sweep point's). */
const BATCHING_WARMUP_ORDINAL = 999;

/** The files the tier writes in the run folder. */
export const BATCHING_FILES = {
  concurrency: "concurrency_sweep.csv",
  rate: "rate_sweep.csv",
  requests: "batching_requests.csv",
  server: "batching_server.csv",
  summary: "batching_summary.csv",
  benchmark: "batching_benchmark.md",
} as const;

/**
 * The concurrency sweep's points, repeats interleaved: repeat 1 of every concurrency, then repeat 2...
 *
 * @example
 * ```ts
 * batchingConcurrencyPlan({ concurrency: [1, 4], repeats: 2 }).map((p) => p.id); // ["c1-r1", "c4-r1", "c1-r2", "c4-r2"]
 * ```
 */
export function batchingConcurrencyPlan(P: Pick<BatchingParams, "concurrency" | "repeats">): BatchingPoint[] {
  const out: BatchingPoint[] = [];
  for (let r = 1; r <= P.repeats; r++) {
    for (const c of P.concurrency) {
      out.push({ kind: "concurrency", id: `c${c}-r${r}`, ordinal: out.length, repeat: r, concurrency: c });
    }
  }
  return out;
}

/**
 * The rate sweep's points at fractions of `peak_rps`, repeats interleaved; ordinals continue after
 * `first_ordinal` so request ids stay unique in the run.
 *
 * @example
 * ```ts
 * batchingRatePlan({ rate_fractions: [0.5, 1], repeats: 1 }, 200, 10).map((p) => p.id); // ["rate0.5-r1", "rate1-r1"]
 * ```
 */
export function batchingRatePlan(
  P: Pick<BatchingParams, "rate_fractions" | "repeats">,
  peak_rps: number,
  first_ordinal: number,
): BatchingPoint[] {
  const out: BatchingPoint[] = [];
  for (let r = 1; r <= P.repeats; r++) {
    for (const f of P.rate_fractions) {
      out.push({
        kind: "rate",
        id: `rate${f}-r${r}`,
        ordinal: first_ordinal + out.length,
        repeat: r,
        rate_fraction: f,
        target_rps: f * peak_rps,
      });
    }
  }
  return out;
}

/** Warm-up, measured and cool-down request counts of a point (sent in that order). */
export function batchingPointCounts(
  point: BatchingPoint,
  P: Pick<
    BatchingParams,
    | "min_requests"
    | "rounds"
    | "warmup_rounds"
    | "cooldown_rounds"
    | "rate_duration_s"
    | "rate_warmup_s"
    | "rate_cooldown_s"
  >,
): { warmup: number; count: number; cooldown: number } {
  const counts = point.kind === "concurrency"
    ? {
      warmup: P.warmup_rounds * point.concurrency,
      count: Math.max(P.min_requests, P.rounds * point.concurrency),
      cooldown: P.cooldown_rounds * point.concurrency,
    }
    : {
      warmup: Math.round(point.target_rps * P.rate_warmup_s),
      count: Math.max(2, Math.round(point.target_rps * P.rate_duration_s)),
      cooldown: Math.round(point.target_rps * P.rate_cooldown_s),
    };
  const total = counts.warmup + counts.count + counts.cooldown;
  if (total > BATCHING_MAX_REQUESTS_PER_POINT) {
    throw new Error(
      `Batching point ${point.id} would send ${total} requests, more than ${BATCHING_MAX_REQUESTS_PER_POINT}: ` +
        "lower the concurrency, the rounds or the rate durations.",
    );
  }
  return counts;
}

const GroundTruthList = z.object({
  data: z.array(z.object({ request_id: z.string(), max_lateness_ms: z.number().optional() }).passthrough()),
});

/** Embedded engine only: each request's largest lateness behind the simulated timeline (ms). */
async function simLateness(engine: Engine, ids: readonly string[]): Promise<number[] | undefined> {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    const q = ids.slice(i, i + 100).map((id) => `request_id=${encodeURIComponent(id)}`).join("&");
    try {
      const res = await guardedFetch(`${engine.baseUrl}/servelab/ground_truth?${q}`, {
        headers: engine.headers(),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) {
        await res.body?.cancel();
        return undefined;
      }
      const body = GroundTruthList.safeParse(await res.json());
      if (!body.success) return undefined;
      for (const g of body.data.data) if (g.max_lateness_ms !== undefined) out.push(g.max_lateness_ms);
    } catch {
      return undefined;
    }
  }
  return out;
}

async function measurePoint(
  engine: Engine,
  workload: BatchingWorkload,
  point: BatchingPoint,
  P: BatchingParams,
  seed: number,
  tag: string,
) {
  const { warmup, count, cooldown } = batchingPointCounts(point, P);
  const base = workload.source(point.ordinal);
  const source = (i: number) => ({ ...base(i), tags: { part: batchingPart(i, warmup, count) } });
  const clock = createClock();
  const sampler = MetricsSampler.start(engine.baseUrl, {
    interval_ms: P.sample_ms,
    clock,
    headers: engine.headers(),
  });
  const shape: LoadShape = point.kind === "concurrency"
    ? { kind: "concurrency", n: point.concurrency }
    : { kind: "rate", rps: point.target_rps, burstiness: 1 };
  let samples;
  let load;
  try {
    load = await runLoad(engine.baseUrl, source, shape, {
      count: count + cooldown,
      warmup,
      seed: seed * 1_000 + point.ordinal,
      clock,
      headers: engine.headers(),
      timeout_ms: P.timeout_s * 1000,
      duration_s: P.max_point_s,
      max_lag_p99_ms: P.max_client_lag_ms,
      request_id_prefix: `${point.id}-${tag}`,
    });
  } finally {
    samples = await sampler.stop();
  }
  const measuredIds = load.records.filter((r) => r.tags?.part === "measure").map((r) => r.request_id);
  const engine_lateness_ms = engine.kind === "sim" ? await simLateness(engine, measuredIds) : undefined;
  const row = batchingPointRow({
    point,
    records: load.records,
    self_check: load.self_check,
    samples,
    engine_lateness_ms,
    params: P,
  });
  return {
    rows: load.records.map((r) => batchingRequestRow(r, point)),
    columns: BATCHING_REQUEST_COLUMNS,
    data: { row, server: batchingServerRows(samples, point, load.start_ms) },
  };
}

const PointData = z.object({
  row: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  server: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
});

async function pointData(run: Run, ids: readonly string[]): Promise<{ rows: CsvRow[]; server: CsvRow[] }> {
  const rows: CsvRow[] = [];
  const server: CsvRow[] = [];
  for (const id of ids) {
    const rec = await readPoint(run, BATCHING_TIER, id);
    if (!rec) continue;
    const d = PointData.safeParse(rec.data);
    if (!d.success) {
      throw new Error(
        `Point ${BATCHING_TIER}/${id} of run ${run.id} has no batching summary; delete its files to redo it.`,
      );
    }
    rows.push(d.data.row);
    server.push(...d.data.server);
  }
  return { rows, server };
}

/**
 * The peak request throughput of the concurrency sweep: per concurrency the median over valid repeats,
 * then the highest; undefined when no point is valid.
 *
 * @example
 * ```ts
 * batchingPeakRps([{ concurrency: 1, throughput_rps: 10, valid: true }]); // 10
 * ```
 */
export function batchingPeakRps(rows: readonly CsvRow[]): number | undefined {
  const by = new Map<number, number[]>();
  for (const r of rows) {
    if (r.valid !== true || typeof r.throughput_rps !== "number" || typeof r.concurrency !== "number") {
      continue;
    }
    by.set(r.concurrency, [...(by.get(r.concurrency) ?? []), r.throughput_rps]);
  }
  let peak: number | undefined;
  for (const xs of by.values()) {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    peak = peak === undefined ? m : Math.max(peak, m);
  }
  return peak;
}

/** What {@link measureBatching} did and wrote. */
export interface BatchingMeasurement {
  engine_label: string;
  engine_kind: ServeConfig["engine"];
  version?: string;
  config: ServeConfig;
  /** The `vllm serve` flags of the engine (what to type to reproduce it); empty for external engines. */
  serve_args: string[];
  startup?: StartupReport;
  ready_s?: number;
  peak_rps?: number;
  /** Why the rate sweep did not run, when it did not. */
  rate_skipped?: string;
  sweeps: { concurrency: RunPointsSummary; rate?: RunPointsSummary };
  /** Absolute paths of the CSVs written. */
  files: { concurrency: string; rate: string; requests: string; server: string };
  elapsed_s: number;
}

/**
 * Runs the batching tier: launches (or attaches to) the lab's engine once, sweeps concurrency, then
 * Poisson rates, and writes concurrency_sweep.csv, rate_sweep.csv, batching_requests.csv and
 * batching_server.csv in the run folder.
 *
 * @example
 * ```ts
 * const M = await measureBatching(run, labEnv(), batchingParams("test"));
 * M.files.concurrency; // .../reports/<run-id>/concurrency_sweep.csv
 * ```
 */
export async function measureBatching(
  run: Run,
  lab: LabEnv,
  P: BatchingParams,
  opts: { progress?: boolean } = {},
): Promise<BatchingMeasurement> {
  const t0 = performance.now();
  const cfg = serveConfigFor(lab, {});
  const cPlan = batchingConcurrencyPlan(P);
  // Issue 20: every tier fails alike: an engine that does not start, or a workload that cannot be built (no
  // /tokenize and no local tokenizer), fails each concurrency point with the cause, then the tier throws.
  const orFailPoints = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      await runPoints(run, BATCHING_TIER, cPlan, () => Promise.reject(e), { progress: false });
      throw e;
    }
  };
  // A crashed engine fails the point it died in; the next point starts a new one (supervisor.ts).
  await using sup = await orFailPoints(() =>
    EngineSupervisor.start(cfg, { log_dir: run.logsDir, log_name: BATCHING_TIER })
  );
  const engine = sup.engine;
  const version = engine.startup?.version;
  await recordEngine(run, BATCHING_TIER, engine.config, version);
  const workload = await orFailPoints(() =>
    batchingWorkload(engine.baseUrl, engine.model, { ...P, seed: lab.seed }, { headers: engine.headers() })
  );
  const tag = crypto.randomUUID().slice(0, 6);
  // Tier warm-up, not recorded: the engine's first-request costs, the client's JIT and connection pool.
  const warm = Math.min(8, Math.max(...P.concurrency));
  await runLoad(engine.baseUrl, workload.source(BATCHING_WARMUP_ORDINAL), { kind: "concurrency", n: warm }, {
    count: 4 * warm,
    headers: engine.headers(),
    timeout_ms: P.timeout_s * 1000,
    request_id_prefix: `warmup-${tag}`,
  });
  const measure = async (p: BatchingPoint) => {
    const result = await measurePoint(await sup.ensure(), workload, p, P, lab.seed, tag);
    const failures = result.rows.some((r) => r.ok === false);
    await sup.check(`batching point ${p.id}`, { settle_ms: failures ? 1_000 : 0 });
    return result;
  };
  const progress = opts.progress;

  const concurrency = await runPoints(run, BATCHING_TIER, cPlan, measure, { progress });
  const cData = await pointData(run, cPlan.map((p) => p.id));
  const peak_rps = batchingPeakRps(cData.rows);

  let rate: RunPointsSummary | undefined;
  let rPlan: BatchingPoint[] = [];
  let rate_skipped: string | undefined;
  if (P.rate_fractions.length === 0) rate_skipped = "no rate fractions were given";
  else if (peak_rps === undefined || peak_rps <= 0) {
    rate_skipped = "no valid concurrency point measured a throughput to take the rates from";
  } else {
    rPlan = batchingRatePlan(P, peak_rps, cPlan.length);
    rate = await runPoints(run, BATCHING_TIER, rPlan, measure, { progress });
  }
  const rData = await pointData(run, rPlan.map((p) => p.id));

  const byPoint = (a: CsvRow, b: CsvRow) =>
    Number(a.concurrency ?? a.target_rps) - Number(b.concurrency ?? b.target_rps) ||
    Number(a.repeat) - Number(b.repeat);
  const files = {
    concurrency: join(run.dir, BATCHING_FILES.concurrency),
    rate: join(run.dir, BATCHING_FILES.rate),
    requests: join(run.dir, BATCHING_FILES.requests),
    server: join(run.dir, BATCHING_FILES.server),
  };
  await writeCsv(files.concurrency, cData.rows.sort(byPoint), BATCHING_POINT_COLUMNS);
  await writeCsv(files.rate, rData.rows.sort(byPoint), BATCHING_POINT_COLUMNS);
  await writeCsv(files.server, [...cData.server, ...rData.server], BATCHING_SERVER_COLUMNS);
  await collectPoints(run, BATCHING_TIER, {
    file: BATCHING_FILES.requests,
    columns: BATCHING_REQUEST_COLUMNS,
    ids: [...cPlan, ...rPlan].map((p) => p.id),
  });
  return {
    engine_label: engineLabel(engine.config, version),
    engine_kind: engine.kind,
    version,
    config: engine.config,
    serve_args: engine.kind === "external"
      ? []
      : engine.kind === "llamacpp"
      ? llamaServerArgs(engine.config)
      : buildServeArgs(engine.config),
    startup: engine.startup,
    ready_s: engine.ready_s,
    peak_rps,
    rate_skipped,
    sweeps: { concurrency, rate },
    files,
    elapsed_s: (performance.now() - t0) / 1000,
  };
}
