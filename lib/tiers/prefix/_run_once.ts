/**
 * One run of one arm of a point (private to the tier): reset the prefix cache, prime it one request at a
 * time, measure at the point's concurrency while sampling /metrics, scrape the counters before and after,
 * and turn it all into request rows and one run row (both hit-rate measures side by side).
 * @module
 */
import { requestRow } from "../../analysis/request_row.ts";
import { mean } from "../../base/stats.ts";
import type { Clock } from "../../probe/clock.ts";
import { runLoad } from "../../probe/load.ts";
import { selfCheckCells } from "../../probe/self_check.ts";
import type { ProbeRequest, RequestRecord } from "../../probe/types.ts";
import type { CsvRow } from "../../run/csv.ts";
import { counterDelta, metricsDelta } from "../../scrape/delta.ts";
import { MetricsSampler } from "../../scrape/sampler.ts";
import { type MetricsScrape, scrapeMetrics } from "../../scrape/scrape.ts";
import { type PrefixArm, type PrefixEngineInfo, prefixResetCache } from "./engines.ts";
import { checkPrefixHitRate, sumReportedTokens, warmCacheHits } from "./hit_rate.ts";
import type { PrefixParams } from "./params.ts";
import type { PrefixPlannedRequest, PrefixPoint, PrefixRequestPlan } from "./workload.ts";

/** Columns of prefix_cache.csv and prefix_cache_runs.csv, derived from their row schemas. */
export { PREFIX_REQUEST_COLUMNS, PREFIX_RUN_COLUMNS } from "./analyze.ts";

/** What one point's runs share. */
export interface PointContext {
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

/** A scrape taken once the server's counters show `expected_queries` more queries than `before` (or 1 s passed).
 * Undefined when the server has no /metrics (issue 20: server counters are then "not measured"). */
async function settledScrape(
  scrape: () => Promise<MetricsScrape | undefined>,
  before: MetricsScrape | undefined,
  expected_queries: number | undefined,
  caching: boolean,
): Promise<MetricsScrape | undefined> {
  let s = await scrape();
  for (let i = 0; i < 10 && s && before && caching && expected_queries !== undefined; i++) {
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
export async function runOnce(
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
  const load = { clock, headers, timeout_ms: P.timeout_ms, max_lag_p99_ms: P.max_client_lag_ms };

  const reset_ok = await prefixResetCache(url, headers);
  // Issue 20: a server without /metrics still measures TTFT and usage; its counters are not measured (reason
  // in agreement_note).
  let metricsError: string | undefined;
  const scrape = async () => {
    try {
      return await scrapeMetrics(url, { clock, headers });
    } catch (e) {
      metricsError ??= (e as Error).message;
      return undefined;
    }
  };
  const s0 = await scrape();
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
  const s1 = await settledScrape(scrape, s0, promptSum(primed), caching);
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
  const s2 = await settledScrape(scrape, s1, usage_prompt_tokens, caching);
  const samples = sampler.samples.filter((s) => s.kv_usage !== undefined && s.t_ms >= result.start_ms);
  const delta = s1 && s2 ? metricsDelta(s1, s2) : undefined;

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
    metric_hits_tokens: delta?.counters.prefix_cache_hits,
    metric_queries_tokens: delta?.counters.prefix_cache_queries,
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
    metric_hits_tokens: delta?.counters.prefix_cache_hits,
    metric_queries_tokens: delta?.counters.prefix_cache_queries,
    usage_hit_rate: round4(check.usage_hit_rate),
    metric_hit_rate: round4(check.metric_hit_rate),
    hits_diff_tokens: check.hits_diff_tokens,
    queries_diff_tokens: check.queries_diff_tokens,
    tolerance_tokens: check.tolerance_tokens,
    measures_agree: check.agree,
    agreement_note: metricsError
      ? `${check.note ? `${check.note}; ` : ""}server metrics not measured (${metricsError.split(". ")[0]})`
      : check.note,
    kv_usage_mean: round4(mean(kv)),
    kv_usage_max: round4(kv.length ? Math.max(...kv) : undefined),
    kv_samples: kv.length,
    preemptions: delta?.counters.preemptions,
    output_tokens: ctx.output_tokens,
    measure_s: span_s === undefined ? undefined : Math.round(span_s * 1e4) / 1e4,
    output_tok_s: span_s ? Math.round((completion / span_s) * 100) / 100 : undefined,
    client_ok: result.self_check.client_ok,
    event_loop_lag_p99_ms: selfCheckCells(result.self_check).event_loop_lag_p99_ms,
    send_lag_p99_ms: selfCheckCells(result.self_check).send_lag_p99_ms,
  };
  return { rows, run: runRow };
}
