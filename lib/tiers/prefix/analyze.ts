/**
 * Tier 2's findings, as pure functions of the rows of prefix_cache.csv (requests) and
 * prefix_cache_runs.csv (runs): per-arm summaries, the A/B per point, the agreement of the two hit-rate
 * measures, the eviction-cliff curve, and the key numbers the notebook and the write-up state.
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { RequestRowSchema } from "../../analysis/request_row.ts";
import { summarize } from "../../base/stats.ts";
import { SelfCheckRow } from "../../probe/self_check.ts";
import { columnsOf, csvBoolean, csvNumber, readCsv } from "../../run/csv.ts";

const num = csvNumber;
const optNum = csvNumber.optional();
const optBool = csvBoolean.optional();

const Sweep = z.enum(["length", "share", "cliff"]);
const Arm = z.enum(["off", "on"]);

/** The cells a request row and a run row share: the point, the arm and the repeat. */
const PrefixPointCells = z.object({
  sweep: Sweep,
  point_id: z.string(),
  arm: Arm,
  repeat: num,
});

/** The cells of the point's load shape (share_pct: share sweep; working_set, load_factor: cliff sweep). */
const PrefixLoadCells = z.object({
  concurrency: num,
  prefix_tokens: num,
  share_pct: optNum,
  working_set: optNum,
  load_factor: optNum,
});

/**
 * A row of prefix_cache.csv: the point and arm, the request's planned prefix, then the per-request cells of
 * lib/analysis (no `tags_json`: the tags are these columns), every request having a phase.
 */
export const PrefixRequestRow = z.object({
  ...PrefixPointCells.shape,
  ...PrefixLoadCells.shape,
  /** Index of the prefix family in the families file. */
  family: num,
  /** Prefix variant: 0 is the family text as is. */
  prefix_variant: num,
  shares_prefix: csvBoolean,
  block_size: num,
  /** Cached tokens the plan expects for this request (whole blocks of a prefix already sent). */
  expected_cached_tokens: num,
  ...RequestRowSchema.omit({ tags_json: true }).extend({ phase: z.enum(["warmup", "measure"]) }).shape,
});
export type PrefixRequestRow = z.infer<typeof PrefixRequestRow>;

/** A row of prefix_cache_runs.csv: one run (point x arm x repeat), both hit-rate measures side by side. */
export const PrefixRunRow = z.object({
  ...PrefixPointCells.shape,
  order: num,
  ...PrefixLoadCells.shape,
  capacity_prefixes: optNum,
  block_size: num,
  block_size_source: z.string(),
  num_gpu_blocks: optNum,
  pool_tokens: optNum,
  engine_label: z.string(),
  engine_version: z.string().optional(),
  caching_reported: optBool,
  reset_ok: csvBoolean,
  n_prime: num,
  n_measure: num,
  n_ok: num,
  expected_cached_tokens: num,
  usage_cached_tokens: optNum,
  usage_prompt_tokens: optNum,
  metric_hits_tokens: optNum,
  metric_queries_tokens: optNum,
  usage_hit_rate: optNum,
  metric_hit_rate: optNum,
  hits_diff_tokens: optNum,
  queries_diff_tokens: optNum,
  tolerance_tokens: num,
  measures_agree: optBool,
  agreement_note: z.string().optional(),
  kv_usage_mean: optNum,
  kv_usage_max: optNum,
  kv_samples: num,
  preemptions: optNum,
  output_tokens: num,
  measure_s: optNum,
  output_tok_s: optNum,
  ...SelfCheckRow.pick({ client_ok: true, event_loop_lag_p99_ms: true, send_lag_p99_ms: true }).shape,
});
export type PrefixRunRow = z.infer<typeof PrefixRunRow>;

/** Columns of prefix_cache.csv, in order. */
export const PREFIX_REQUEST_COLUMNS = columnsOf(PrefixRequestRow);

/** Columns of prefix_cache_runs.csv, in order. */
export const PREFIX_RUN_COLUMNS = columnsOf(PrefixRunRow);

/**
 * Reads the tier's two CSVs from a run folder, validated.
 *
 * @example
 * ```ts
 * const { requests, runs } = await readPrefixResults(run.dir);
 * ```
 */
export async function readPrefixResults(
  dir: string,
): Promise<{ requests: PrefixRequestRow[]; runs: PrefixRunRow[] }> {
  return {
    requests: await readCsv(join(dir, "prefix_cache.csv"), PrefixRequestRow),
    runs: await readCsv(join(dir, "prefix_cache_runs.csv"), PrefixRunRow),
  };
}

/** One arm of one point, over its measured requests and runs. */
export type PrefixArmSummary = {
  sweep: PrefixRunRow["sweep"];
  point_id: string;
  arm: "off" | "on";
  concurrency: number;
  prefix_tokens: number;
  share_pct?: number;
  working_set?: number;
  load_factor?: number;
  capacity_prefixes?: number;
  n: number;
  n_ok: number;
  ttft_p50_ms?: number;
  ttft_p95_ms?: number;
  ttft_mean_ms?: number;
  /** Mean over runs of completion tokens / measured span. */
  output_tok_s?: number;
  /** Σ cached_tokens / Σ prompt_tokens (per-request usage). */
  usage_hit_rate?: number;
  /** Σ Δhits / Σ Δqueries over the runs (server counters). */
  metric_hit_rate?: number;
  /** Σ expected (ideal warm cache, no eviction) / Σ prompt_tokens. */
  expected_hit_rate?: number;
  kv_usage_max?: number;
  kv_usage_mean?: number;
  /** Every run's two measures agree (undefined when not measured). */
  measures_agree?: boolean;
};

const key = (r: { point_id: string; arm: string }) => `${r.point_id}\u0000${r.arm}`;
const sum = (xs: (number | undefined)[]) => xs.reduce<number>((s, x) => s + (x ?? 0), 0);
const defined = <T>(xs: (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);
const ratio = (a?: number, b?: number) => (a === undefined || b === undefined || b === 0 ? undefined : a / b);

/**
 * Per point and arm: TTFT percentiles of measured requests that succeeded, tok/s, the hit rate three
 * ways (usage, counters, ideal), KV usage. In first-seen point order.
 *
 * @example
 * ```ts
 * const summary = prefixArmSummary(requests, runs);
 * ```
 */
export function prefixArmSummary(
  requests: readonly PrefixRequestRow[],
  runs: readonly PrefixRunRow[],
): PrefixArmSummary[] {
  const groups = new Map<string, PrefixRunRow[]>();
  for (const r of runs) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  const reqs = new Map<string, PrefixRequestRow[]>();
  for (const r of requests) {
    if (r.phase !== "measure") continue;
    reqs.set(key(r), [...(reqs.get(key(r)) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const first = rs[0];
    const rq = reqs.get(key(first)) ?? [];
    const ok = rq.filter((r) => r.ok);
    const ttft = summarize(ok.map((r) => r.ttft_ms));
    const prompt = sum(ok.map((r) => r.prompt_tokens));
    const agree = rs.map((r) => r.measures_agree);
    const kvMax = defined(rs.map((r) => r.kv_usage_max));
    const kvMean = defined(rs.map((r) => r.kv_usage_mean));
    const tok = defined(rs.map((r) => r.output_tok_s));
    const cachedReported = ok.some((r) => r.cached_tokens !== undefined);
    const hits = defined(rs.map((r) => r.metric_hits_tokens));
    const queries = defined(rs.map((r) => r.metric_queries_tokens));
    return {
      sweep: first.sweep,
      point_id: first.point_id,
      arm: first.arm,
      concurrency: first.concurrency,
      prefix_tokens: first.prefix_tokens,
      share_pct: first.share_pct,
      working_set: first.working_set,
      load_factor: first.load_factor,
      capacity_prefixes: first.capacity_prefixes,
      n: rq.length,
      n_ok: ok.length,
      ttft_p50_ms: ttft.p50,
      ttft_p95_ms: ttft.p95,
      ttft_mean_ms: ttft.mean,
      output_tok_s: tok.length ? sum(tok) / tok.length : undefined,
      usage_hit_rate: cachedReported ? ratio(sum(ok.map((r) => r.cached_tokens)), prompt) : undefined,
      metric_hit_rate: hits.length && queries.length ? ratio(sum(hits), sum(queries)) : undefined,
      expected_hit_rate: ratio(sum(ok.map((r) => r.expected_cached_tokens)), prompt),
      kv_usage_max: kvMax.length ? Math.max(...kvMax) : undefined,
      kv_usage_mean: kvMean.length ? sum(kvMean) / kvMean.length : undefined,
      measures_agree: agree.some((a) => a === undefined) ? undefined : agree.every(Boolean),
    };
  });
}

/** Both arms of one point side by side. Undefined where an arm did not run. */
export type PrefixAbRow = {
  sweep: PrefixRunRow["sweep"];
  point_id: string;
  concurrency: number;
  prefix_tokens: number;
  share_pct?: number;
  ttft_off_p50_ms?: number;
  ttft_on_p50_ms?: number;
  /** TTFT p50 off / on: how many times faster the first token comes with caching. */
  ttft_speedup?: number;
  tok_s_off?: number;
  tok_s_on?: number;
  /** tok/s on / off. */
  tok_s_gain?: number;
  hit_rate_on?: number;
  hit_rate_off?: number;
  kv_usage_max_off?: number;
  kv_usage_max_on?: number;
};

/**
 * The A/B per point (length and share sweeps): TTFT p50 and tok/s of each arm and their ratios.
 *
 * @example
 * ```ts
 * prefixAb(prefixArmSummary(requests, runs)).find((r) => r.point_id === "len-8192-c1")?.ttft_speedup;
 * ```
 */
export function prefixAb(summary: readonly PrefixArmSummary[]): PrefixAbRow[] {
  const points = [...new Set(summary.filter((s) => s.sweep !== "cliff").map((s) => s.point_id))];
  return points.map((id) => {
    const off = summary.find((s) => s.point_id === id && s.arm === "off");
    const on = summary.find((s) => s.point_id === id && s.arm === "on");
    const any = (on ?? off)!;
    return {
      sweep: any.sweep,
      point_id: id,
      concurrency: any.concurrency,
      prefix_tokens: any.prefix_tokens,
      share_pct: any.share_pct,
      ttft_off_p50_ms: off?.ttft_p50_ms,
      ttft_on_p50_ms: on?.ttft_p50_ms,
      ttft_speedup: ratio(off?.ttft_p50_ms, on?.ttft_p50_ms),
      tok_s_off: off?.output_tok_s,
      tok_s_on: on?.output_tok_s,
      tok_s_gain: ratio(on?.output_tok_s, off?.output_tok_s),
      hit_rate_on: on?.usage_hit_rate ?? on?.metric_hit_rate,
      hit_rate_off: off?.usage_hit_rate ?? off?.metric_hit_rate,
      kv_usage_max_off: off?.kv_usage_max,
      kv_usage_max_on: on?.kv_usage_max,
    };
  });
}

/** How the two hit-rate measures compare over all runs. */
export interface PrefixHitRateAgreement {
  runs: number;
  agree: number;
  disagree: number;
  /** Runs where one side was not measured. */
  not_measured: number;
  /** Largest |Σ cached - Δ hits| / requests over the runs, tokens per request. */
  max_hits_diff_per_request?: number;
  block_size?: number;
  /** The runs that disagree, for a table. */
  disagreements: PrefixRunRow[];
}

/**
 * Counts the runs whose per-request usage and server counters agree within a block per request.
 *
 * @example
 * ```ts
 * const a = prefixHitRateAgreement(runs); // a.disagree === 0 on a healthy server
 * ```
 */
export function prefixHitRateAgreement(runs: readonly PrefixRunRow[]): PrefixHitRateAgreement {
  const diffs = defined(
    runs.map((r) =>
      r.hits_diff_tokens === undefined || r.n_measure === 0
        ? undefined
        : Math.abs(r.hits_diff_tokens) / r.n_measure
    ),
  );
  return {
    runs: runs.length,
    agree: runs.filter((r) => r.measures_agree === true).length,
    disagree: runs.filter((r) => r.measures_agree === false).length,
    not_measured: runs.filter((r) => r.measures_agree === undefined).length,
    max_hits_diff_per_request: diffs.length ? Math.max(...diffs) : undefined,
    block_size: runs[0]?.block_size,
    disagreements: runs.filter((r) => r.measures_agree === false),
  };
}

/** One working set of the cliff sweep. */
export type PrefixCliffPoint = {
  point_id: string;
  working_set: number;
  load_factor?: number;
  capacity_prefixes?: number;
  usage_hit_rate?: number;
  metric_hit_rate?: number;
  expected_hit_rate?: number;
  ttft_p50_ms?: number;
  kv_usage_max?: number;
};

/** The cliff curve, by working set, and where the hit rate falls. */
export interface PrefixCliffCurve {
  points: PrefixCliffPoint[];
  /** Prefixes the pool keeps warm (computed from the engine's KV blocks). */
  capacity_prefixes?: number;
  pool_tokens?: number;
  /** KV blocks of the small pool (one is vLLM's reserved null block). */
  num_gpu_blocks?: number;
  prefix_tokens?: number;
  /** Largest working set whose hit rate is at least half its no-eviction expectation. */
  last_warm_working_set?: number;
  /** Smallest working set whose hit rate is below half its no-eviction expectation. */
  cliff_working_set?: number;
}

/**
 * The eviction-cliff curve: hit rate (both measures) and TTFT against the working set of prefixes.
 *
 * @example
 * ```ts
 * prefixCliffCurve(prefixArmSummary(requests, runs), runs).cliff_working_set;
 * ```
 */
export function prefixCliffCurve(
  summary: readonly PrefixArmSummary[],
  runs: readonly PrefixRunRow[],
): PrefixCliffCurve {
  const pts = summary.filter((s) => s.sweep === "cliff" && s.arm === "on" && s.working_set !== undefined)
    .map((s) => ({
      point_id: s.point_id,
      working_set: s.working_set!,
      load_factor: s.load_factor,
      capacity_prefixes: s.capacity_prefixes,
      usage_hit_rate: s.usage_hit_rate,
      metric_hit_rate: s.metric_hit_rate,
      expected_hit_rate: s.expected_hit_rate,
      ttft_p50_ms: s.ttft_p50_ms,
      kv_usage_max: s.kv_usage_max,
    }))
    .sort((a, b) => a.working_set - b.working_set);
  const cliffRun = runs.find((r) => r.sweep === "cliff");
  const warm = (p: PrefixCliffPoint) => {
    const got = p.usage_hit_rate ?? p.metric_hit_rate;
    return got !== undefined && p.expected_hit_rate !== undefined && got >= 0.5 * p.expected_hit_rate;
  };
  return {
    points: pts,
    capacity_prefixes: pts[0]?.capacity_prefixes,
    pool_tokens: cliffRun?.pool_tokens,
    num_gpu_blocks: cliffRun?.num_gpu_blocks,
    prefix_tokens: cliffRun?.prefix_tokens,
    last_warm_working_set: pts.filter(warm).at(-1)?.working_set,
    cliff_working_set: pts.find((p) => !warm(p))?.working_set,
  };
}

/** The key numbers of the tier, for the notebook's findings and the write-up. */
export interface PrefixFindings {
  engine_label: string;
  simulated: boolean;
  engine_version?: string;
  block_size?: number;
  block_size_source?: string;
  /** KV pool of the main caching-on engine, tokens. */
  pool_tokens?: number;
  arms: ("off" | "on")[];
  summary: PrefixArmSummary[];
  ab: PrefixAbRow[];
  /** The longest shared prefix measured, and its A/B at each concurrency. */
  longest?: { prefix_tokens: number; rows: PrefixAbRow[] };
  /** Σ cached_tokens and Σ Δhits of the caching-off arm (0 expected). */
  off_cached_tokens?: number;
  off_metric_hits?: number;
  /** Sub-block points: the prefix is shorter than one block. */
  sub_block: PrefixAbRow[];
  share: PrefixAbRow[];
  agreement: PrefixHitRateAgreement;
  cliff: PrefixCliffCurve;
  /** Runs whose client self-check failed (its timing may be inflated). */
  client_not_ok: number;
  /** All runs, and each run that failed the client self-check: "point arm repeat (lag)". */
  runs_total: number;
  client_invalid: string[];
  /** Runs whose cache reset was refused. */
  reset_failed: number;
  preemptions: number;
}

/**
 * Everything the tier concludes, computed from the two CSVs' rows.
 *
 * @example
 * ```ts
 * const f = prefixFindings(requests, runs);
 * f.longest?.rows.map((r) => r.ttft_speedup);
 * ```
 */
export function prefixFindings(
  requests: readonly PrefixRequestRow[],
  runs: readonly PrefixRunRow[],
): PrefixFindings {
  const summary = prefixArmSummary(requests, runs);
  const ab = prefixAb(summary);
  const lengths = ab.filter((r) => r.sweep === "length");
  const subIds = new Set(
    requests.filter((r) => r.sweep === "length" && r.prefix_tokens < r.block_size).map((r) => r.point_id),
  );
  const maxLen = lengths.length ? Math.max(...lengths.map((r) => r.prefix_tokens)) : undefined;
  const main = runs.find((r) => r.sweep !== "cliff" && r.arm === "on") ?? runs[0];
  const offRuns = runs.filter((r) => r.arm === "off");
  const arms = [...new Set(runs.map((r) => r.arm))].sort() as ("off" | "on")[];
  return {
    engine_label: main?.engine_label ?? "no runs",
    simulated: main?.engine_label.startsWith("SIMULATED") ?? false,
    engine_version: main?.engine_version,
    block_size: main?.block_size,
    block_size_source: main?.block_size_source,
    pool_tokens: main?.pool_tokens,
    arms,
    summary,
    ab,
    longest: maxLen === undefined
      ? undefined
      : { prefix_tokens: maxLen, rows: lengths.filter((r) => r.prefix_tokens === maxLen) },
    off_cached_tokens: offRuns.length ? sum(offRuns.map((r) => r.usage_cached_tokens)) : undefined,
    off_metric_hits: offRuns.length ? sum(offRuns.map((r) => r.metric_hits_tokens)) : undefined,
    sub_block: lengths.filter((r) => subIds.has(r.point_id)),
    share: ab.filter((r) => r.sweep === "share").sort((a, b) => (a.share_pct ?? 0) - (b.share_pct ?? 0)),
    agreement: prefixHitRateAgreement(runs),
    cliff: prefixCliffCurve(summary, runs),
    client_not_ok: runs.filter((r) => !r.client_ok).length,
    runs_total: runs.length,
    client_invalid: runs.filter((r) => !r.client_ok).map((r) =>
      `${r.point_id} ${r.arm} r${r.repeat} (client event-loop lag p99 ${
        r.event_loop_lag_p99_ms === undefined ? "n/a" : `${Math.round(r.event_loop_lag_p99_ms)} ms`
      }, send lag p99 ${r.send_lag_p99_ms === undefined ? "n/a" : `${Math.round(r.send_lag_p99_ms)} ms`})`
    ),
    reset_failed: runs.filter((r) => !r.reset_ok).length,
    preemptions: sum(runs.map((r) => r.preemptions)),
  };
}

/** A case where prefix caching does not help, with its numbers. */
export type PrefixNoHelpRow = {
  case: "prefix shorter than a block" | "unique prompts" | "working set beyond the pool";
  point_id: string;
  concurrency: number;
  prefix_tokens: number;
  ttft_off_p50_ms?: number;
  ttft_on_p50_ms?: number;
  ttft_speedup?: number;
  /** Hit rate with caching on (per-request usage, else counters). */
  hit_rate_on?: number;
  /** What an ideal cache without eviction would have served. */
  expected_hit_rate?: number;
};

/**
 * The measured cases where caching cannot help: sub-block prefixes, 0 % shared traffic, and cliff
 * working sets past the pool's capacity.
 *
 * @example
 * ```ts
 * await show(table(prefixNoHelpRows(findings)));
 * ```
 */
export function prefixNoHelpRows(f: PrefixFindings): PrefixNoHelpRow[] {
  const fromAb = (c: PrefixNoHelpRow["case"], r: PrefixAbRow): PrefixNoHelpRow => ({
    case: c,
    point_id: r.point_id,
    concurrency: r.concurrency,
    prefix_tokens: r.prefix_tokens,
    ttft_off_p50_ms: r.ttft_off_p50_ms,
    ttft_on_p50_ms: r.ttft_on_p50_ms,
    ttft_speedup: r.ttft_speedup,
    hit_rate_on: r.hit_rate_on,
    expected_hit_rate: f.summary.find((s) => s.point_id === r.point_id && s.arm === "on")?.expected_hit_rate,
  });
  const cap = f.cliff.capacity_prefixes;
  return [
    ...f.sub_block.map((r) => fromAb("prefix shorter than a block", r)),
    ...f.share.filter((r) => r.share_pct === 0).map((r) => fromAb("unique prompts", r)),
    ...f.cliff.points.filter((p) => cap !== undefined && p.working_set > cap).map((p) => ({
      case: "working set beyond the pool" as const,
      point_id: p.point_id,
      concurrency: f.summary.find((s) => s.point_id === p.point_id)?.concurrency ?? 1,
      prefix_tokens: f.cliff.prefix_tokens ?? 0,
      ttft_on_p50_ms: p.ttft_p50_ms,
      hit_rate_on: p.usage_hit_rate ?? p.metric_hit_rate,
      expected_hit_rate: p.expected_hit_rate,
    })),
  ];
}
