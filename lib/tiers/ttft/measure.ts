/**
 * Tier 1's measurement. One point per engine launch (`launch-0`, `launch-1`, ...), each on a fresh engine:
 *
 * 1. launch, then the first completion request right after ready (`cold`; the lab may call `/tokenize`
 *    before it to build the prompt, which runs in the API server, not the model);
 * 2. `warm_requests` more of the same length with unique prompts (`warm`), bracketed by two `/metrics`
 *    scrapes whose TTFT-histogram delta goes to `ttft_server.csv`;
 * 3. on the last launch only: the prompt-length sweep (`length`, rep-major), chat requests (`chat`, for the
 *    TTFT variants), then `idle_s` of idle and `idle_requests` more (`idle`).
 *
 * Requests are sequential (no queueing); every prompt is unique (its own seed), so the prefix cache cannot
 * hide prefill (the `cached_tokens` column shows it). An `external` engine cannot be restarted: it gets one
 * point (`attach-0`) with a `warmup` request instead of a cold one, and its startup is "not measured".
 * Each point is written atomically (resumable); then `ttft.csv`, `startup.csv` and `ttft_server.csv` are
 * collected from the points.
 *
 * Client self-check: from ready to the point's last request the tier samples its own event-loop lag and
 * records each request's send lag (within a series requests go back to back, so one is due when the
 * previous one ended). Every row of a point carries the point's `selfCheckCells`; `client_ok` false (either
 * p99 above `max_client_lag_ms`) marks the point invalid, with the reason (see _self_check.ts).
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { requestRow } from "../../analysis/request_row.ts";
import { abortableSleep } from "../../base/sleep.ts";
import { launch, type LaunchOptions } from "../../engine/launch.ts";
import type { Engine } from "../../engine/types.ts";
import type { ServeConfig } from "../../engine/config.ts";
import { type Clock, createClock } from "../../probe/clock.ts";
import { Http1Pool } from "../../probe/http1.ts";
import { promptOfTokens, seededText } from "../../probe/prompts.ts";
import { selfCheckCells } from "../../probe/self_check.ts";
import { probe } from "../../probe/stream.ts";
import type { RequestRecord } from "../../probe/types.ts";
import { metricsDelta } from "../../scrape/delta.ts";
import { type MetricsScrape, scrapeMetrics } from "../../scrape/scrape.ts";
import type { CsvRow } from "../../run/csv.ts";
import { writeCsv } from "../../run/csv.ts";
import { collectPoints, readPoint, runPoints, type RunPointsSummary } from "../../run/points.ts";
import { recordEngine, type Run } from "../../run/run_dir.ts";
import { type LabEnv, serveConfigFor } from "../lab_env.ts";
import { monitorClient } from "./_self_check.ts";
import { TTFT_ENV_VARS, type TtftParams } from "./params.ts";
import {
  TTFT_CSV_COLUMNS,
  TTFT_FILES,
  TTFT_POINT_COLUMNS,
  TTFT_SERVER_COLUMNS,
  TTFT_STARTUP_COLUMNS,
  type TtftSeries,
} from "./tables.ts";

/** The tier's name for its points (`points/ttft/`). */
export const TTFT_TIER = "ttft";

/** Seed offsets of each series' prompts, added to the run's base seed. */
const SEED = { cold: 0, warm: 1, length: 10_000, chat: 20_000, idle: 30_000, warmup: 40_000 } as const;

/** Options of {@link measureTtft}. */
export interface MeasureTtftOptions {
  /** Stops the measurement (engines are stopped). */
  signal?: AbortSignal;
  /** Redo finished points (default: SERVELAB_FORCE=1). */
  force?: boolean;
  /** Show point progress (default true). */
  progress?: boolean;
  /** Passed to `launch()` (e.g. `ready_timeout_ms`); `log_dir`/`log_name` are the tier's. */
  launch?: Omit<LaunchOptions, "log_dir" | "log_name" | "signal">;
}

/** What {@link measureTtft} wrote. */
export interface TtftMeasurement {
  /** Paths of ttft.csv, startup.csv and ttft_server.csv. */
  files: { requests: string; startup: string; server: string };
  /** The engine configuration every launch used. */
  config: ServeConfig;
  /** Points run now, skipped (already done) and failed. */
  points: RunPointsSummary;
  /** Rows in ttft.csv. */
  requests: number;
}

interface Point {
  id: string;
  launch: number;
  last: boolean;
}

/** Point data kept in the point's .json: startup rows and server-histogram rows (without point_id). */
const PointData = z.object({
  startup: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))),
  server: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))),
});

/**
 * Runs tier 1 on the lab's engine and writes `ttft.csv`, `startup.csv` and `ttft_server.csv` into the run
 * folder. Engines the lab starts get `params.cold_launches` fresh launches; an external engine gets one
 * attach and no cold request.
 *
 * @example
 * ```ts
 * const lab = labEnv();
 * const run = await runDirFromEnv({ engine: lab.engine });
 * const m = await measureTtft(run, lab, ttftParams(lab.size));
 * console.log(m.files.requests, m.points.failed);
 * ```
 */
export async function measureTtft(
  run: Run,
  lab: LabEnv,
  params: TtftParams,
  opts: MeasureTtftOptions = {},
): Promise<TtftMeasurement> {
  const config = serveConfigFor(lab);
  const external = config.engine === "external";
  const points: Point[] = external
    ? [{ id: "attach-0", launch: 0, last: true }]
    : Array.from({ length: params.cold_launches }, (_, i) => ({
      id: `launch-${i}`,
      launch: i,
      last: i === params.cold_launches - 1,
    }));
  // An external server may hold these prompts in its prefix cache from an earlier run: salt by run id.
  const seedBase = lab.seed * 100_000 + (external ? 1_000_000 * (1 + hashText(run.id) % 1000) : 0);
  const prompts = new Map<string, number[]>();
  const summary = await runPoints(
    run,
    TTFT_TIER,
    points,
    (point) => measurePoint(run, config, params, point, { seedBase, prompts, ...opts }),
    { force: opts.force, progress: opts.progress },
  );
  const collected = await collectPoints(run, TTFT_TIER, {
    file: TTFT_FILES.requests,
    columns: TTFT_CSV_COLUMNS,
    ids: points.map((p) => p.id),
  });
  const startup: CsvRow[] = [];
  const server: CsvRow[] = [];
  for (const id of collected.points) {
    const rec = await readPoint(run, TTFT_TIER, id);
    const parsed = PointData.safeParse(rec?.data);
    if (!parsed.success) {
      throw new Error(
        `Point ${TTFT_TIER}/${id} has no startup/server data (${parsed.error.issues[0].message}); ` +
          `rerun with SERVELAB_FORCE=1 to redo it.`,
      );
    }
    startup.push(...parsed.data.startup.map((r) => ({ point_id: id, ...r } as CsvRow)));
    server.push(...parsed.data.server.map((r) => ({ point_id: id, ...r } as CsvRow)));
  }
  const files = {
    requests: collected.path,
    startup: join(run.dir, TTFT_FILES.startup),
    server: join(run.dir, TTFT_FILES.server),
  };
  await writeCsv(files.startup, startup, TTFT_STARTUP_COLUMNS);
  await writeCsv(files.server, server, TTFT_SERVER_COLUMNS);
  return { files, config, points: summary, requests: collected.rows };
}

interface PointContext extends MeasureTtftOptions {
  seedBase: number;
  /** Prompts by `${tokens}/${seed}`, shared by the launches (the same model tokenizes the same). */
  prompts: Map<string, number[]>;
}

async function measurePoint(
  run: Run,
  config: ServeConfig,
  params: TtftParams,
  point: Point,
  ctx: PointContext,
): Promise<{ rows: CsvRow[]; columns: readonly string[]; data: { startup: CsvRow[]; server: CsvRow[] } }> {
  const clock = createClock();
  await using engine = await launch(config, {
    ...ctx.launch,
    log_dir: run.logsDir,
    log_name: `ttft-${point.id}`,
    signal: ctx.signal,
  });
  const ready_ms = clock.now();
  // The single requests go over raw HTTP/1.1 on one keep-alive connection, like runLoad's (ADR 0016): the
  // send and each read are stamped at the socket. `https://` (an external engine) stays on fetch.
  const target = new URL(engine.baseUrl);
  using pool = target.protocol === "http:"
    ? new Http1Pool(target.hostname, Number(target.port || 80))
    : undefined;
  using monitor = monitorClient(clock, {
    max_lag_p99_ms: params.max_client_lag_ms,
    threshold_name: TTFT_ENV_VARS.max_client_lag_ms.name,
  });
  await recordEngine(run, `ttft ${point.id}`, engine.config, engine.startup?.version);
  const startup = startupRows(point, engine);
  const s = session(
    engine,
    clock,
    params,
    point,
    engine.kind === "external" ? undefined : ready_ms,
    ctx,
    pool,
  );
  const P = params.prompt_tokens;
  const base = ctx.seedBase;

  if (engine.kind === "external") {
    await s.send("warmup", 0, await s.prompt(P, base + SEED.warmup), base + SEED.warmup);
  } else {
    await s.send("cold", 0, await s.prompt(P, base + SEED.cold), base + SEED.cold);
  }
  const warm: number[][] = [];
  for (let i = 0; i < params.warm_requests; i++) warm.push(await s.prompt(P, base + SEED.warm + i));
  const before = await tryScrape(engine, clock, ctx.signal);
  for (const [i, prompt] of warm.entries()) await s.send("warm", i, prompt, base + SEED.warm + i);
  const after = before && await tryScrape(engine, clock, ctx.signal);
  const server = before && after ? serverRows(point, before, after, params.warm_requests) : [];

  if (point.last) {
    const plan: { tokens: number; seed: number }[] = [];
    for (let rep = 0; rep < params.length_repeats; rep++) {
      params.lengths.forEach((tokens, j) =>
        plan.push({ tokens, seed: base + SEED.length + rep * params.lengths.length + j })
      );
    }
    const lengthPrompts = [];
    for (const p of plan) lengthPrompts.push(await s.prompt(p.tokens, p.seed));
    for (const [i, p] of plan.entries()) await s.send("length", i, lengthPrompts[i], p.seed, p.tokens);

    for (let i = 0; i < params.chat_requests; i++) {
      const seed = base + SEED.chat + i;
      await s.send("chat", i, seededText(seed, Math.round(P / 1.3)), seed);
    }

    const idle: number[][] = [];
    for (let i = 0; i < params.idle_requests; i++) idle.push(await s.prompt(P, base + SEED.idle + i));
    await sleep(params.idle_s * 1000, ctx.signal);
    for (const [i, prompt] of idle.entries()) await s.send("idle", i, prompt, base + SEED.idle + i);
  }
  const check = selfCheckCells(monitor.finish(s.records));
  const rows = s.rows.map(({ tier, request }) => ({ ...tier, ...check, ...request }));
  return { rows, columns: TTFT_POINT_COLUMNS, data: { startup, server } };
}

/** Sends the point's requests one at a time and keeps their records and rows (tier and request cells). */
function session(
  engine: Engine,
  clock: Clock,
  params: TtftParams,
  point: Point,
  ready_ms: number | undefined,
  ctx: PointContext,
  pool: Http1Pool | undefined,
) {
  const rows: { tier: CsvRow; request: CsvRow }[] = [];
  const records: RequestRecord[] = [];
  let request_index = 0;
  let last_end_ms = ready_ms;
  let last_series: TtftSeries | undefined;
  const headers = engine.headers();
  return {
    rows,
    records,
    /** A prompt of exactly `tokens` tokens for `seed`, built once per run. */
    async prompt(tokens: number, seed: number): Promise<number[]> {
      const key = `${tokens}/${seed}`;
      let ids = ctx.prompts.get(key);
      if (!ids) {
        ids = await promptOfTokens(engine.baseUrl, engine.model, tokens, { seed, headers });
        ctx.prompts.set(key, ids);
      }
      return ids;
    },
    /** Sends one request (token ids: completions; text: chat) and records its row. */
    async send(
      series: TtftSeries,
      series_index: number,
      prompt: number[] | string,
      seed?: number,
      target?: number,
    ): Promise<void> {
      const chat = typeof prompt === "string";
      // Back to back within a series: due when the previous request ended; the first of a series: now.
      const t_intended_ms = series === last_series && last_end_ms !== undefined ? last_end_ms : clock.now();
      const rec = await probe(engine.baseUrl, {
        endpoint: chat ? "chat" : "completions",
        model: engine.model,
        prompt,
        max_tokens: params.max_tokens,
        ignore_eos: true,
        temperature: 0,
      }, { clock, t_intended_ms, headers, timeout_ms: params.timeout_ms, signal: ctx.signal, pool });
      records.push(rec);
      rows.push({
        tier: {
          series,
          launch: point.launch,
          request_index: request_index++,
          series_index,
          prompt_tokens_target: chat ? undefined : target ?? prompt.length,
          prompt_seed: seed,
          gap_before_ms: last_end_ms === undefined ? undefined : round3(rec.t_send_ms - last_end_ms),
        },
        request: requestRow(rec),
      });
      last_end_ms = rec.t_end_ms;
      last_series = series;
    },
  };
}

/** One row per startup phase of this launch, plus the launcher's ready time; "not measured" for external. */
function startupRows(point: Point, engine: Engine): CsvRow[] {
  const report = engine.startup;
  const common = { launch: point.launch, engine: engine.kind, version: report?.version };
  if (engine.kind === "external" || report === undefined) {
    return [{
      ...common,
      phase: "startup",
      seconds: undefined,
      source: "not_measured",
      simulated: false,
      time_scale: undefined,
      clock: "none",
    }];
  }
  const sim = report.simulated;
  const rows: CsvRow[] = report.phases.map((p) => ({
    ...common,
    phase: p.name,
    seconds: p.seconds,
    source: p.source,
    simulated: sim && p.source === "log",
    time_scale: report.startup_time_scale,
    clock: p.source === "log" ? (sim ? "simulated" : "engine_log") : (sim ? "wall_compressed" : "wall"),
  }));
  rows.push({
    ...common,
    phase: "ready",
    seconds: engine.ready_s === undefined ? undefined : round3(engine.ready_s),
    source: "launcher",
    simulated: false,
    time_scale: report.startup_time_scale,
    clock: sim ? "wall_compressed" : "wall",
  });
  return rows;
}

/** The server's TTFT histogram between two scrapes, one row per bucket (cumulative counts). */
function serverRows(
  point: Point,
  before: MetricsScrape,
  after: MetricsScrape,
  client_requests: number,
): CsvRow[] {
  const d = metricsDelta(before, after);
  const h = d.histograms.ttft_seconds;
  if (!h || d.resets.includes("ttft_seconds")) return [];
  return h.buckets.map((b) => ({
    launch: point.launch,
    window: "warm",
    metric: after.metrics.sources.ttft_seconds ?? "vllm:time_to_first_token_seconds",
    le_s: b.le === Infinity ? "+Inf" : String(b.le),
    cumulative_count: b.count,
    sum_s: h.sum,
    count: h.count,
    client_requests,
  }));
}

/** A scrape of the engine's /metrics, or undefined when it has none (then the comparison is not measured). */
async function tryScrape(
  engine: Engine,
  clock: Clock,
  signal?: AbortSignal,
): Promise<MetricsScrape | undefined> {
  try {
    return await scrapeMetrics(engine.baseUrl, {
      clock,
      headers: engine.headers(),
      model_name: engine.model,
      signal,
    });
  } catch {
    return undefined;
  }
}

/** Sleeps `ms`; rejects with the signal's reason when it aborts first. */
async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (!(await abortableSleep(ms, signal))) throw signal!.reason;
}

function hashText(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
