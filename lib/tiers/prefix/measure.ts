/**
 * Tier 2's measurement: the same seeded workload against an engine with prefix caching off and one
 * with it on, interleaved, over three sweeps (shared-prefix length x concurrency, share of traffic
 * that shares the prefix, working set of prefixes against a small KV pool). Each run of a point resets
 * the cache, primes it one request at a time where the point needs it, then measures; /metrics is
 * scraped before and after (prefix-cache counters) and sampled during the run (KV usage).
 *
 * Writes `points/prefix/<id>.{csv,json}` through runPoints, then `prefix_cache.csv` (one row per
 * request) and `prefix_cache_runs.csv` (one row per run: both hit-rate measures, KV usage, tok/s).
 * @module
 */
import { join } from "node:path";
import { REQUEST_COLUMNS, requestRow } from "../../analysis/request_row.ts";
import { type Clock, createClock } from "../../probe/clock.ts";
import { runLoad } from "../../probe/load.ts";
import { tokenize } from "../../probe/prompts.ts";
import type { ProbeRequest, RequestRecord } from "../../probe/types.ts";
import type { CsvRow } from "../../run/csv.ts";
import { writeCsv } from "../../run/csv.ts";
import { collectPoints, readPoint, runPoints, type RunPointsSummary } from "../../run/points.ts";
import type { Run } from "../../run/run_dir.ts";
import { counterDelta, metricsDelta } from "../../scrape/delta.ts";
import { MetricsSampler } from "../../scrape/sampler.ts";
import { type MetricsScrape, scrapeMetrics } from "../../scrape/scrape.ts";
import type { LabEnv } from "../lab_env.ts";
import {
  type PrefixArm,
  type PrefixEngineInfo,
  PrefixEngines,
  prefixResetCache,
  prefixServeConfig,
} from "./engines.ts";
import { loadPrefixFamilies, type PrefixFamily } from "./families.ts";
import {
  alignPrefixTokens,
  checkPrefixHitRate,
  prefixCapacity,
  sumReportedTokens,
  warmCacheHits,
} from "./hit_rate.ts";
import type { PrefixInterleave, PrefixParams } from "./params.ts";
import {
  planPrefixRequests,
  type PrefixPlannedRequest,
  type PrefixPlanSpec,
  prefixProbeRequests,
  prefixPromptBuilder,
  type PrefixRequestPlan,
  type PrefixSweep,
} from "./workload.ts";

/** The tier name used for point files. */
export const PREFIX_TIER = "prefix";

/** One point of the sweeps. Token counts are as asked; the run aligns them to whole blocks. */
export interface PrefixPoint {
  id: string;
  sweep: PrefixSweep;
  concurrency: number;
  /** Shared-prefix length asked, or half a block ("sub_block"). */
  prefix_tokens: number | "sub_block";
  /** Share sweep: percent of requests that carry the shared prefix. */
  share_pct?: number;
  /** Cliff: working set as a multiple of the pool's prefix capacity. */
  load_factor?: number;
}

/**
 * The points of the three sweeps, in run order: lengths (sub-block first) for each concurrency, then
 * shares, then the cliff's working sets.
 *
 * @example
 * ```ts
 * prefixPoints(prefixParams(labEnv())).map((p) => p.id); // ["len-sub-c1", "len-256-c1", ...]
 * ```
 */
export function prefixPoints(P: PrefixParams): PrefixPoint[] {
  const out: PrefixPoint[] = [];
  for (const c of P.concurrency) {
    if (P.sub_block_point) {
      out.push({ id: `len-sub-c${c}`, sweep: "length", concurrency: c, prefix_tokens: "sub_block" });
    }
    for (const n of P.prefix_tokens) {
      out.push({ id: `len-${n}-c${c}`, sweep: "length", concurrency: c, prefix_tokens: n });
    }
  }
  for (const s of P.shares_pct) {
    out.push({
      id: `share-${s}`,
      sweep: "share",
      concurrency: P.share_concurrency,
      prefix_tokens: P.share_prefix_tokens,
      share_pct: s,
    });
  }
  for (const x of P.cliff_load) {
    out.push({
      id: `cliff-x${x}`,
      sweep: "cliff",
      concurrency: P.cliff_concurrency,
      prefix_tokens: P.cliff_prefix_tokens,
      load_factor: x,
    });
  }
  return out;
}

/**
 * The order of a point's runs. `parallel` (both engines up): arms alternate within each repeat and the
 * first arm alternates between repeats and points (off,on / on,off / ...). `by_point` (one engine at a
 * time): all repeats of one arm, then the other, the first arm alternating between points, so the
 * engine running at the end of a point starts the next one (points + 1 launches in all).
 *
 * @example
 * ```ts
 * prefixArmSequence(0, 2, "parallel", ["off", "on"]); // off r0, on r0, on r1, off r1
 * prefixArmSequence(1, 1, "by_point", ["off", "on"]); // on r0, off r0
 * ```
 */
export function prefixArmSequence(
  point_index: number,
  repeats: number,
  interleave: PrefixInterleave,
  arms: readonly PrefixArm[],
): { arm: PrefixArm; repeat: number }[] {
  const out: { arm: PrefixArm; repeat: number }[] = [];
  const flip = (n: number) => (n % 2 === 0 ? [...arms] : [...arms].reverse());
  if (interleave === "parallel") {
    for (let r = 0; r < repeats; r++) for (const arm of flip(point_index + r)) out.push({ arm, repeat: r });
  } else {
    for (const arm of flip(point_index)) for (let r = 0; r < repeats; r++) out.push({ arm, repeat: r });
  }
  return out;
}

/** Columns of prefix_cache.csv: the point and arm, then the per-request schema of lib/analysis. */
export const PREFIX_REQUEST_COLUMNS = [
  "sweep",
  "point_id",
  "arm",
  "repeat",
  "concurrency",
  "prefix_tokens",
  "share_pct",
  "working_set",
  "load_factor",
  "family",
  "prefix_variant",
  "shares_prefix",
  "block_size",
  "expected_cached_tokens",
  ...REQUEST_COLUMNS.filter((c) => c !== "tags_json"),
] as const;

/** Columns of prefix_cache_runs.csv: one row per run (point x arm x repeat). */
export const PREFIX_RUN_COLUMNS = [
  "sweep",
  "point_id",
  "arm",
  "repeat",
  "order",
  "concurrency",
  "prefix_tokens",
  "share_pct",
  "working_set",
  "load_factor",
  "capacity_prefixes",
  "block_size",
  "block_size_source",
  "num_gpu_blocks",
  "pool_tokens",
  "engine_label",
  "engine_version",
  "caching_reported",
  "reset_ok",
  "n_prime",
  "n_measure",
  "n_ok",
  "expected_cached_tokens",
  "usage_cached_tokens",
  "usage_prompt_tokens",
  "metric_hits_tokens",
  "metric_queries_tokens",
  "usage_hit_rate",
  "metric_hit_rate",
  "hits_diff_tokens",
  "queries_diff_tokens",
  "tolerance_tokens",
  "measures_agree",
  "agreement_note",
  "kv_usage_mean",
  "kv_usage_max",
  "kv_samples",
  "preemptions",
  "output_tokens",
  "measure_s",
  "output_tok_s",
  "client_ok",
] as const;

/** What {@link measurePrefix} did. */
export interface PrefixMeasurement {
  /** prefix_cache.csv */
  requests_csv: string;
  /** prefix_cache_runs.csv */
  runs_csv: string;
  points: RunPointsSummary;
  /** ["off", "on"], or ["on"] on an external engine. */
  arms: PrefixArm[];
  /** Engines started by this call (0 when every point was already done). */
  launches: number;
  /** Things the reader must know (what was skipped and why). */
  notes: string[];
}

/** Options of {@link measurePrefix}. */
export interface MeasurePrefixOptions {
  /** Families to use (default: data/prefix_prompts.jsonl). */
  families?: PrefixFamily[];
  /** Show point progress (default true). */
  progress?: boolean;
}

/** What one point's runs share. */
interface PointContext {
  point: PrefixPoint;
  prefix_tokens: number;
  requests_per_run: number;
  working_set?: number;
  capacity?: number;
  output_tokens: number;
  family: number;
  plans: PrefixRequestPlan[];
  prompts: { prime: ProbeRequest[]; measure: ProbeRequest[] }[];
}

const round4 = (x: number | undefined) => (x === undefined ? undefined : Math.round(x * 1e4) / 1e4);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);

/**
 * Runs the tier's sweeps into `run` and writes its CSVs. Engines the lab starts are stopped before it
 * returns. On an external engine only the "on" arm runs (caching cannot be toggled there) and the cliff
 * is skipped (its small pool cannot be set); the notes say so.
 *
 * @example
 * ```ts
 * const run = await runDirFromEnv({ engine: lab.engine });
 * const m = await measurePrefix(run, lab, prefixParams(lab));
 * ```
 */
export async function measurePrefix(
  run: Run,
  lab: LabEnv,
  P: PrefixParams,
  opts: MeasurePrefixOptions = {},
): Promise<PrefixMeasurement> {
  const families = opts.families ?? await loadPrefixFamilies();
  const family = families.findIndex((f) => f.family === P.family);
  if (family < 0) {
    throw new Error(
      `Prefix family '${P.family}' is not in the families file; use one of ${
        families.map((f) => f.family).join(", ")
      } (SERVELAB_PREFIX_FAMILY).`,
    );
  }
  const notes: string[] = [];
  const external = lab.engine === "external";
  const arms: PrefixArm[] = external ? ["on"] : ["off", "on"];
  let points = prefixPoints(P);
  if (external) {
    notes.push(
      "External engine: prefix caching cannot be toggled, so only the 'on' arm ran (no caching-off baseline).",
    );
    if (points.some((p) => p.sweep === "cliff")) {
      notes.push(
        "External engine: the eviction cliff needs a small KV pool the lab cannot set; not measured.",
      );
      points = points.filter((p) => p.sweep !== "cliff");
    }
  }
  const clock = createClock();
  await using engines = new PrefixEngines({ exclusive: P.interleave === "by_point", run });
  const builder = prefixPromptBuilder((text) => {
    const e = engines.any();
    if (!e) throw new Error("Cannot tokenize: no engine is running.");
    return tokenize(e.engine.baseUrl, e.engine.model, text, { headers: e.engine.headers() });
  }, families);
  let block_size: number | undefined;
  const armEngine = async (arm: PrefixArm) => {
    const info = await engines.get(arm, prefixServeConfig(lab, arm));
    block_size ??= info.block_size;
    return info;
  };

  const prepare = async (point: PrefixPoint, B: number, extra: Partial<PointContext> = {}) => {
    const c = point.concurrency;
    const prefix_tokens = point.prefix_tokens === "sub_block"
      ? Math.max(1, Math.floor(B / 2))
      : alignPrefixTokens(point.prefix_tokens, B);
    const base = {
      point_id: point.id,
      seed: lab.seed,
      family,
      suffix_counts: families.map((f) => f.suffixes.length),
    };
    const requests_per_run = point.sweep === "share"
      ? Math.max(2 * P.requests, 2 * c)
      : Math.max(P.requests, 2 * c);
    const output_tokens = point.sweep === "cliff" ? P.cliff_output_tokens : P.output_tokens;
    const plans: PrefixRequestPlan[] = [];
    for (let r = 0; r < P.repeats; r++) {
      const spec: PrefixPlanSpec = point.sweep === "cliff"
        ? { ...base, repeat: r, sweep: "cliff", working_set: extra.working_set!, rounds: P.cliff_rounds }
        : point.sweep === "share"
        ? {
          ...base,
          repeat: r,
          sweep: "share",
          share: (point.share_pct ?? 0) / 100,
          requests: requests_per_run,
        }
        : { ...base, repeat: r, sweep: "length", requests: requests_per_run };
      plans.push(planPrefixRequests(spec));
    }
    const model = engines.any()!.engine.model;
    const prompts = [];
    for (const plan of plans) {
      const o = { model, prefix_tokens, output_tokens };
      prompts.push({
        prime: await prefixProbeRequests(builder, plan.prime, o),
        measure: await prefixProbeRequests(builder, plan.measure, o),
      });
    }
    const ctx: PointContext = {
      point,
      prefix_tokens,
      requests_per_run,
      output_tokens,
      family,
      plans,
      prompts,
      ...extra,
    };
    return ctx;
  };

  const cliffContext = async (point: PrefixPoint): Promise<{ info: PrefixEngineInfo; ctx: PointContext }> => {
    const B = block_size ?? (await armEngine("on")).block_size;
    await engines.closeExcept("cliff");
    const prefix_tokens = alignPrefixTokens(point.prefix_tokens as number, B);
    const pool_blocks = Math.ceil(P.cliff_pool_tokens / B);
    // Any engine serves /tokenize for the same model: the cliff engine does once it runs.
    const info = await engines.get(
      "cliff",
      prefixServeConfig(lab, "cliff", { num_gpu_blocks: pool_blocks + 1, max_model_len: pool_blocks * B }),
    );
    const suffixes = await Promise.all(
      families.flatMap((f, fi) => f.suffixes.map((_, si) => builder.suffixIds(fi, si, `m0.0.${point.id}`))),
    );
    const suffix_tokens = mean(suffixes.map((s) => s.length)) ?? 0;
    const capacity = prefixCapacity({
      usable_blocks: (info.num_gpu_blocks ?? pool_blocks + 1) - 1,
      block_size: info.block_size,
      prefix_tokens,
      suffix_tokens,
      output_tokens: P.cliff_output_tokens,
    });
    if (capacity < 1) {
      throw new Error(
        `The cliff pool of ${P.cliff_pool_tokens} tokens cannot hold one ${prefix_tokens}-token prefix request; ` +
          `raise SERVELAB_PREFIX_CLIFF_POOL_TOKENS or lower SERVELAB_PREFIX_CLIFF_TOKENS.`,
      );
    }
    const working_set = Math.max(1, Math.round((point.load_factor ?? 1) * capacity));
    const ctx = await prepare(point, info.block_size, { working_set, capacity });
    return { info, ctx };
  };

  const pointRows = async (point: PrefixPoint, index: number) => {
    const rows: CsvRow[] = [];
    const runs: CsvRow[] = [];
    if (point.sweep === "cliff") {
      const { info, ctx } = await cliffContext(point);
      for (let r = 0; r < P.repeats; r++) {
        const out = await runOnce(info, "on", r, r, ctx, clock, P);
        rows.push(...out.rows);
        runs.push(out.run);
      }
    } else {
      const seq = prefixArmSequence(index, P.repeats, P.interleave, arms);
      const first = await armEngine(seq[0].arm);
      const ctx = await prepare(point, first.block_size);
      for (const [order, { arm, repeat }] of seq.entries()) {
        const out = await runOnce(await armEngine(arm), arm, repeat, order, ctx, clock, P);
        rows.push(...out.rows);
        runs.push(out.run);
      }
    }
    return { rows, columns: PREFIX_REQUEST_COLUMNS, data: { runs } };
  };

  const summary = await runPoints(run, PREFIX_TIER, points, (p) => pointRows(p, points.indexOf(p)), {
    progress: opts.progress,
  });
  const launches = engines.launches;
  await engines.closeExcept();
  for (const f of summary.failed) notes.push(`Point ${f.id} failed: ${f.error}`);

  const requests = await collectPoints(run, PREFIX_TIER, {
    file: "prefix_cache.csv",
    columns: PREFIX_REQUEST_COLUMNS,
    ids: points.map((p) => p.id),
  });
  const runRows: CsvRow[] = [];
  for (const p of points) {
    const rec = await readPoint(run, PREFIX_TIER, p.id);
    const data = rec?.data as { runs?: CsvRow[] } | undefined;
    if (data?.runs) runRows.push(...data.runs);
  }
  const runs_csv = join(run.dir, "prefix_cache_runs.csv");
  await writeCsv(runs_csv, runRows, PREFIX_RUN_COLUMNS, { extra: "ignore" });
  return { requests_csv: requests.path, runs_csv, points: summary, arms, launches, notes };
}

/** A scrape taken once the server's counters show `expected_queries` more queries than `before` (or 1 s passed). */
async function settledScrape(
  info: PrefixEngineInfo,
  clock: Clock,
  before: MetricsScrape,
  expected_queries: number | undefined,
  caching: boolean,
): Promise<MetricsScrape> {
  const scrape = () => scrapeMetrics(info.engine.baseUrl, { clock, headers: info.engine.headers() });
  let s = await scrape();
  for (let i = 0; i < 10 && caching && expected_queries !== undefined; i++) {
    const q =
      counterDelta(before.metrics.counters.prefix_cache_queries, s.metrics.counters.prefix_cache_queries)
        .delta;
    if (q === undefined || q >= expected_queries) break;
    await new Promise((r) => setTimeout(r, 100));
    s = await scrape();
  }
  return s;
}

/** One run: reset, prime (one at a time), measure at the point's concurrency, scrape around it. */
async function runOnce(
  info: PrefixEngineInfo,
  arm: PrefixArm,
  repeat: number,
  order: number,
  ctx: PointContext,
  clock: Clock,
  P: PrefixParams,
): Promise<{ rows: CsvRow[]; run: CsvRow }> {
  const { engine, block_size: B } = info;
  const url = engine.baseUrl;
  const headers = engine.headers();
  const caching = arm === "on" && info.caching_reported !== false;
  const plan = ctx.plans[repeat];
  const prompts = ctx.prompts[repeat];
  const id = `${ctx.point.id}-${arm}-r${repeat}`;
  const load = { clock, headers, timeout_ms: P.timeout_ms };

  const reset_ok = await prefixResetCache(url, headers);
  const s0 = await scrapeMetrics(url, { clock, headers });
  let primed: RequestRecord[] = [];
  if (prompts.prime.length) {
    primed = (await runLoad(url, prompts.prime, { kind: "concurrency", n: 1 }, {
      ...load,
      count: 0,
      warmup: prompts.prime.length,
      request_id_prefix: `${id}-prime`,
    })).records;
  }
  const promptSum = (recs: RequestRecord[]) => sumReportedTokens(recs.map((r) => r.prompt_tokens));
  const s1 = await settledScrape(info, clock, s0, promptSum(primed), caching);
  const sampler = MetricsSampler.start(url, { interval_ms: P.metrics_interval_ms, clock, headers });
  let result;
  try {
    result = await runLoad(url, prompts.measure, { kind: "concurrency", n: ctx.point.concurrency }, {
      ...load,
      count: prompts.measure.length,
      request_id_prefix: id,
    });
  } finally {
    await sampler.stop();
  }
  const measured = result.records;
  const usage_prompt_tokens = promptSum(measured);
  const s2 = await settledScrape(info, clock, s1, usage_prompt_tokens, caching);
  const samples = sampler.samples.filter((s) => s.kv_usage !== undefined && s.t_ms >= result.start_ms);
  const delta = metricsDelta(s1, s2);

  const ideal = warmCacheHits([...prompts.prime, ...prompts.measure].map((r) => r.prompt as number[]), B);
  const expected = (phase: "prime" | "measure", i: number) =>
    arm === "off" ? 0 : phase === "prime" ? ideal[i] : ideal[prompts.prime.length + i];
  const pointCols = {
    sweep: ctx.point.sweep,
    point_id: ctx.point.id,
    arm,
    repeat,
    concurrency: ctx.point.concurrency,
    prefix_tokens: ctx.prefix_tokens,
    share_pct: ctx.point.share_pct,
    working_set: ctx.working_set,
    load_factor: ctx.point.load_factor,
  };
  const toRow = (rec: RequestRecord, planned: PrefixPlannedRequest, phase: "prime" | "measure"): CsvRow => {
    const { tags_json: _t, ...req } = requestRow(rec);
    return {
      ...pointCols,
      family: planned.family,
      prefix_variant: planned.variant,
      shares_prefix: planned.shares_prefix,
      block_size: B,
      expected_cached_tokens: expected(phase, planned.index),
      ...req,
    };
  };
  const rows = [
    ...primed.map((r) => toRow(r, plan.prime[r.index!], "prime")),
    ...measured.map((r) => toRow(r, plan.measure[r.index!], "measure")),
  ];

  const usage_cached_tokens = sumReportedTokens(measured.map((r) => r.cached_tokens));
  const check = checkPrefixHitRate({
    n_requests: measured.length,
    block_size: B,
    caching,
    usage_cached_tokens,
    usage_prompt_tokens,
    metric_hits_tokens: delta.counters.prefix_cache_hits,
    metric_queries_tokens: delta.counters.prefix_cache_queries,
  });
  const ok = measured.filter((r) => r.ok);
  const span_s = ok.length
    ? (Math.max(...ok.map((r) => r.t_end_ms)) - Math.min(...ok.map((r) => r.t_send_ms))) / 1000
    : undefined;
  const completion = ok.reduce((s, r) => s + (r.completion_tokens ?? 0), 0);
  const kv = samples.map((s) => s.kv_usage!);
  const runRow: CsvRow = {
    ...pointCols,
    order,
    capacity_prefixes: ctx.capacity,
    block_size: B,
    block_size_source: info.block_size_source,
    num_gpu_blocks: info.num_gpu_blocks,
    pool_tokens: info.pool_tokens,
    engine_label: info.label,
    engine_version: info.version,
    caching_reported: info.caching_reported,
    reset_ok,
    n_prime: primed.length,
    n_measure: measured.length,
    n_ok: ok.length,
    expected_cached_tokens: measured.reduce((s, r) => s + expected("measure", r.index!), 0),
    usage_cached_tokens,
    usage_prompt_tokens,
    metric_hits_tokens: delta.counters.prefix_cache_hits,
    metric_queries_tokens: delta.counters.prefix_cache_queries,
    usage_hit_rate: round4(check.usage_hit_rate),
    metric_hit_rate: round4(check.metric_hit_rate),
    hits_diff_tokens: check.hits_diff_tokens,
    queries_diff_tokens: check.queries_diff_tokens,
    tolerance_tokens: check.tolerance_tokens,
    measures_agree: check.agree,
    agreement_note: check.note,
    kv_usage_mean: round4(mean(kv)),
    kv_usage_max: round4(kv.length ? Math.max(...kv) : undefined),
    kv_samples: kv.length,
    preemptions: delta.counters.preemptions,
    output_tokens: ctx.output_tokens,
    measure_s: span_s === undefined ? undefined : Math.round(span_s * 1e4) / 1e4,
    output_tok_s: span_s ? Math.round((completion / span_s) * 100) / 100 : undefined,
    client_ok: result.self_check.client_ok,
  };
  return { rows, run: runRow };
}
