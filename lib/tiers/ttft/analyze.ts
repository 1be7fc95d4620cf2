/**
 * Tier 1's findings from its tables: pure functions from rows to one {@link TtftSummary}, the object every
 * number of the write-up and the notebook's findings comes from. Percentiles are type 7 (lib/analysis
 * `summarize`); TTFT is the lab's headline variant, `ttft_ms` (send to first non-empty content) unless a
 * field names another variant. A point the client self-check marked invalid (`client_ok` false) is left out
 * of every finding but `client` and `series` (its rows stay in ttft.csv and on the notebook's charts).
 * @module
 */
import { mean, median, summarize, type Summary } from "../../base/stats.ts";
import { type BucketHistogram, histogramMean, histogramQuantile } from "../../scrape/histogram.ts";
import { linearFit } from "./_fit.ts";
import type { TtftRequestRow, TtftSeries, TtftServerRow, TtftStartupRow, TtftTables } from "./tables.ts";

/** Min, mean and max of a few per-launch values. */
export interface TtftSpread {
  n: number;
  mean?: number;
  min?: number;
  max?: number;
}

/** One startup phase over the launches. */
export type TtftPhaseSummary = {
  phase: string;
  /** Launches that stated it. */
  n: number;
  mean_s: number;
  min_s: number;
  max_s: number;
  source: TtftStartupRow["source"];
  clock: TtftStartupRow["clock"];
};

/** Startup, from `startup.csv`. */
export interface TtftStartupSummary {
  /** False for an external engine: nothing was started, nothing is invented. */
  measured: boolean;
  engine?: TtftStartupRow["engine"];
  version?: string;
  /** True when the phases come from the embedded engine (simulated durations). */
  simulated: boolean;
  /** The embedded engine's startup time scale (its waits are phase x scale of wall time). */
  time_scale?: number;
  /** Launches with startup rows. */
  launches: number;
  /** Phases from the engine log, in startup order. */
  phases: TtftPhaseSummary[];
  /** Per launch, the sum of the log's phases (on the log's clock). */
  log_total_s: TtftSpread;
  /** Per launch, spawn to /health 200 on the launcher's wall clock (compressed for the sim). */
  ready_s: TtftSpread;
  /**
   * Mean over launches of ready_s - log total: process start, imports, API server start and whatever the
   * log does not time. Real engines only (for the sim the two are on different clocks: undefined).
   */
  not_in_log_s?: number;
  /** The longest log phase (by mean). */
  largest_phase?: string;
}

/** Median TTFT at one request index since ready, over launches. */
export type TtftCurvePoint = {
  request_index: number;
  n: number;
  median_ms: number;
};

/** Median TTFT at one prompt length. */
export type TtftLengthPoint = {
  prompt_tokens: number;
  n: number;
  median_ms: number;
};

/** TTFT against prompt length: the per-length medians and their least-squares line. */
export interface TtftLengthSummary {
  points: TtftLengthPoint[];
  /** TTFT_ms = intercept_ms + slope_ms_per_token x prompt_tokens, fitted on the per-length medians. */
  fit?: { intercept_ms: number; slope_ms_per_token: number; r2?: number; n_points: number };
  /** 1000 / slope: prompt tokens per second the prefill adds per unit of TTFT (undefined if slope <= 0, or when
   * the fit shows no clear trend). */
  prefill_tokens_per_s?: number;
  /** Issue 20: the fit's R² is at least {@link MIN_TREND_R2} and its slope positive: a finding may use it. */
  clear_trend?: boolean;
  /** The fitted line at the shortest and the longest length (for charts). */
  fit_line: { prompt_tokens: number; ttft_ms: number }[];
  /** True when the median TTFT at the longest length exceeds the one at the shortest. */
  grows: boolean;
}

/** Re-warm: the requests after the idle period against the warm series. */
export interface TtftIdleSummary {
  requests: number;
  /** Measured client gap before the first idle request, s. */
  gap_s?: number;
  first_ms?: number;
  /** TTFT of the later idle requests, in order. */
  later_ms: number[];
  warm_p50_ms?: number;
  warm_p95_ms?: number;
  /** first_ms / warm p50. */
  factor?: number;
  /** first_ms > warm p95. */
  above_warm_p95?: boolean;
}

/** The server's TTFT histogram against the client's TTFT over the same requests. */
export interface TtftServerSummary {
  measured: boolean;
  metric?: string;
  /** Launches whose warm series had both scrapes. */
  launches: number;
  /** Observations in the server histogram over those windows. */
  server_count: number;
  /** Client requests in those windows (ok, with a first content). */
  client_n: number;
  /** The client variant compared: `ttft_ms` (send to first non-empty content). */
  client_variant: "ttft_ms";
  /** Histogram sum / count, ms: exact. */
  server_mean_ms?: number;
  /** Histogram-estimated median, ms (linear inside its bucket). */
  server_p50_ms?: number;
  /** The bucket the estimated median falls in, ms: the estimate's error bound. */
  server_p50_bucket_ms?: { lower: number; upper: number };
  client_mean_ms?: number;
  client_p50_ms?: number;
  /** client mean - server mean: the path outside the engine's measurement (HTTP, SSE, client). */
  outside_mean_ms?: number;
  /** client p50 - server p50 estimate (only as good as the bucket: see client_p50_in_server_bucket). */
  outside_p50_ms?: number;
  /** True when the client's p50 lies inside the server's p50 bucket: the medians agree to bucket width. */
  client_p50_in_server_bucket?: boolean;
  /** The server histogram's non-empty buckets (observations per bucket, not cumulative), ms; +Inf: no upper. */
  buckets_ms: { lower_ms: number; upper_ms?: number; count: number }[];
  /** outside_mean_ms / client_mean_ms. */
  outside_share?: number;
}

/** The TTFT variants, each with the metric column it is read from. */
export const TTFT_VARIANTS = [
  { variant: "first_byte", column: "ttft_first_byte_ms", stamped: "response headers" },
  { variant: "first_event", column: "ttft_first_event_ms", stamped: "first SSE event of any kind" },
  { variant: "first_choice", column: "ttft_first_choice_ms", stamped: "first event with non-empty choices" },
  { variant: "first_content", column: "ttft_ms", stamped: "first event with non-empty text" },
] as const;
export type TtftVariant = typeof TTFT_VARIANTS[number]["variant"];

/** One variant over one series. */
export interface TtftVariantSummary {
  series: TtftSeries;
  endpoint: TtftRequestRow["endpoint"];
  variant: TtftVariant;
  column: typeof TTFT_VARIANTS[number]["column"];
  n: number;
  p50_ms?: number;
  mean_ms?: number;
}

/** Requests, failures and prefix-cache hits of one series. */
export interface TtftSeriesCount {
  series: TtftSeries;
  requests: number;
  failed: number;
  /** Requests whose usage reported cached prompt tokens > 0 (prefix cache hid part of the prefill). */
  with_cached_tokens: number;
}

/** A point where the client was too slow: its requests are left out of the findings (a table row). */
export type TtftInvalidPoint = {
  point_id: string;
  requests: number;
  event_loop_lag_p99_ms?: number;
  send_lag_p99_ms?: number;
  reason: string;
};

/** The client self-check over the run's points. */
export interface TtftClientSummary {
  /** Points that carry a self-check (a run measured before the tier had it has none). */
  checked_points: number;
  invalid: TtftInvalidPoint[];
  /** The worst point's event-loop lag p99 and send lag p99, ms. */
  event_loop_lag_p99_ms?: number;
  send_lag_p99_ms?: number;
}

/** Everything the tier found. */
export interface TtftSummary {
  /** The client self-check; the other findings leave its invalid points out. */
  client: TtftClientSummary;
  startup: TtftStartupSummary;
  cold: Summary;
  warm: Summary;
  /** cold p50 / warm p50. */
  cold_warm_factor?: number;
  /** Median TTFT by request index over launches, cold (index 0) and warm series. */
  curve: TtftCurvePoint[];
  length: TtftLengthSummary;
  idle: TtftIdleSummary;
  server: TtftServerSummary;
  variants: TtftVariantSummary[];
  series: TtftSeriesCount[];
}

const okTtft = (rows: readonly TtftRequestRow[], series: TtftSeries): number[] =>
  rows.filter((r) => r.series === series && r.ok && r.ttft_ms !== undefined).map((r) => r.ttft_ms!);

function spread(xs: readonly number[]): TtftSpread {
  if (xs.length === 0) return { n: 0 };
  return {
    n: xs.length,
    mean: mean(xs),
    min: Math.min(...xs),
    max: Math.max(...xs),
  };
}

function groupBy<T, K>(xs: readonly T[], key: (x: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
}

/**
 * Startup over launches: log phases (mean, min, max), the per-launch log total and ready time.
 *
 * @example
 * ```ts
 * const s = ttftStartupSummary(tables.startup);
 * s.phases.map((p) => `${p.phase} ${p.mean_s} s`);
 * ```
 */
export function ttftStartupSummary(rows: readonly TtftStartupRow[]): TtftStartupSummary {
  const first = rows[0];
  const measured = rows.some((r) => r.source !== "not_measured" && r.seconds !== undefined);
  const launches = [...new Set(rows.map((r) => r.launch))];
  const log = rows.filter((r) => r.source === "log" && r.seconds !== undefined);
  const phases: TtftPhaseSummary[] = [...groupBy(log, (r) => r.phase)].map(([phase, rs]) => {
    const s = rs.map((r) => r.seconds!);
    return {
      phase,
      n: s.length,
      mean_s: mean(s)!,
      min_s: Math.min(...s),
      max_s: Math.max(...s),
      source: "log",
      clock: rs[0].clock,
    };
  });
  const perLaunchLog = [...groupBy(log, (r) => r.launch).values()].map((rs) =>
    rs.reduce((a, r) => a + r.seconds!, 0)
  );
  const ready = rows.filter((r) => r.source === "launcher" && r.seconds !== undefined);
  const simulated = rows.some((r) => r.simulated);
  let not_in_log_s: number | undefined;
  if (!simulated && log.length > 0 && ready.length > 0) {
    const diffs = ready.flatMap((r) => {
      const l = log.filter((x) => x.launch === r.launch);
      return l.length ? [r.seconds! - l.reduce((a, x) => a + x.seconds!, 0)] : [];
    });
    not_in_log_s = mean(diffs);
  }
  const largest = [...phases].sort((a, b) => b.mean_s - a.mean_s)[0];
  return {
    measured,
    engine: first?.engine,
    version: rows.find((r) => r.version !== undefined)?.version,
    simulated,
    time_scale: rows.find((r) => r.time_scale !== undefined)?.time_scale,
    launches: measured ? launches.length : 0,
    phases,
    log_total_s: spread(perLaunchLog),
    ready_s: spread(ready.map((r) => r.seconds!)),
    not_in_log_s,
    largest_phase: largest?.phase,
  };
}

/**
 * Median TTFT by request index since ready (cold = index 0, then the warm series), over launches.
 *
 * @example
 * ```ts
 * ttftWarmupCurve(tables.requests)[0]; // { request_index: 0, n: 3, median_ms: 80.1 }
 * ```
 */
export function ttftWarmupCurve(rows: readonly TtftRequestRow[]): TtftCurvePoint[] {
  const kept = rows.filter((r) =>
    (r.series === "cold" || r.series === "warm") && r.ok && r.ttft_ms !== undefined
  );
  return [...groupBy(kept, (r) => r.request_index)]
    .map(([request_index, rs]) => ({
      request_index,
      n: rs.length,
      median_ms: median(rs.map((r) => r.ttft_ms!))!,
    }))
    .sort((a, b) => a.request_index - b.request_index);
}

/**
 * TTFT against prompt length: per-length medians of the `length` series and the least-squares line through
 * them (intercept ms, slope ms/token, R²).
 *
 * @example
 * ```ts
 * const l = ttftLengthSummary(tables.requests);
 * l.fit?.slope_ms_per_token; // prefill cost per prompt token
 * ```
 */
/** Issue 20: below this R², a TTFT-vs-prompt-length fit is "no clear trend" and no prefill rate is drawn from it
 * (a flat, noisy line gives a tiny slope and an absurd "tokens/s"). */
export const MIN_TREND_R2 = 0.8;

export function ttftLengthSummary(rows: readonly TtftRequestRow[]): TtftLengthSummary {
  const kept = rows.filter((r) =>
    r.series === "length" && r.ok && r.ttft_ms !== undefined && r.prompt_tokens_target !== undefined
  );
  const points = [...groupBy(kept, (r) => r.prompt_tokens_target!)]
    .map(([prompt_tokens, rs]) => ({
      prompt_tokens,
      n: rs.length,
      median_ms: median(rs.map((r) => r.ttft_ms!))!,
    }))
    .sort((a, b) => a.prompt_tokens - b.prompt_tokens);
  const f = linearFit(points.map((p) => p.prompt_tokens), points.map((p) => p.median_ms));
  const fit = f && { intercept_ms: f.intercept, slope_ms_per_token: f.slope, r2: f.r2, n_points: f.n };
  const ends = points.length ? [points[0], points[points.length - 1]] : [];
  const clear_trend = !!fit && fit.slope_ms_per_token > 0 && fit.r2 !== undefined && fit.r2 >= MIN_TREND_R2;
  return {
    points,
    fit,
    clear_trend,
    prefill_tokens_per_s: fit && clear_trend ? 1000 / fit.slope_ms_per_token : undefined,
    fit_line: fit
      ? ends.map((p) => ({
        prompt_tokens: p.prompt_tokens,
        ttft_ms: fit.intercept_ms + fit.slope_ms_per_token * p.prompt_tokens,
      }))
      : [],
    grows: points.length >= 2 && points[points.length - 1].median_ms > points[0].median_ms,
  };
}

/**
 * Re-warm: the first request after the idle period against the warm series' p50 and p95.
 *
 * @example
 * ```ts
 * ttftIdleSummary(tables.requests).factor; // first-after-idle TTFT / warm p50
 * ```
 */
export function ttftIdleSummary(rows: readonly TtftRequestRow[]): TtftIdleSummary {
  const idle = rows.filter((r) => r.series === "idle").sort((a, b) => a.series_index - b.series_index);
  const warm = summarize(okTtft(rows, "warm"));
  const first = idle[0];
  const first_ms = first?.ok ? first.ttft_ms : undefined;
  return {
    requests: idle.length,
    gap_s: first?.gap_before_ms === undefined ? undefined : first.gap_before_ms / 1000,
    first_ms,
    later_ms: idle.slice(1).filter((r) => r.ok && r.ttft_ms !== undefined).map((r) => r.ttft_ms!),
    warm_p50_ms: warm.p50,
    warm_p95_ms: warm.p95,
    factor: first_ms !== undefined && warm.p50 ? first_ms / warm.p50 : undefined,
    above_warm_p95: first_ms !== undefined && warm.p95 !== undefined ? first_ms > warm.p95 : undefined,
  };
}

/** Parses a bucket bound written as a number of seconds or "+Inf". */
function leOf(s: string): number {
  return s === "+Inf" ? Infinity : Number(s);
}

/**
 * The server histogram over all windows (bucket counts, sums and counts added per bound).
 *
 * @example
 * ```ts
 * ttftServerHistogram(tables.server)?.count; // observations in the warm windows
 * ```
 */
export function ttftServerHistogram(rows: readonly TtftServerRow[]): BucketHistogram | undefined {
  if (rows.length === 0) return undefined;
  const byBound = new Map<number, number>();
  const perWindow = new Map<string, TtftServerRow>();
  for (const r of rows) {
    const le = leOf(r.le_s);
    byBound.set(le, (byBound.get(le) ?? 0) + r.cumulative_count);
    perWindow.set(`${r.point_id}/${r.window}`, r);
  }
  const windows = [...perWindow.values()];
  const sums = windows.map((w) => w.sum_s);
  return {
    buckets: [...byBound].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count })),
    sum: sums.some((s) => s === undefined) ? undefined : sums.reduce((a, b) => a! + b!, 0),
    count: windows.reduce((a, w) => a + w.count, 0),
  };
}

/** The bucket holding quantile q: its lower and upper bounds (the estimate's error bound). */
function quantileBucket(h: BucketHistogram, q: number): { lower: number; upper: number } | undefined {
  const total = h.buckets.at(-1)?.count ?? h.count;
  if (!(total > 0)) return undefined;
  const i = h.buckets.findIndex((b) => b.count >= q * total);
  if (i < 0) return undefined;
  return { lower: i === 0 ? 0 : h.buckets[i - 1].le, upper: h.buckets[i].le };
}

/**
 * The server's TTFT histogram (warm windows) against the client's `ttft_ms` over the same requests.
 *
 * @example
 * ```ts
 * ttftServerSummary(tables.requests, tables.server).outside_mean_ms; // client mean - server mean
 * ```
 */
export function ttftServerSummary(
  requests: readonly TtftRequestRow[],
  server: readonly TtftServerRow[],
): TtftServerSummary {
  const h = ttftServerHistogram(server);
  const points = new Set(server.map((r) => `${r.point_id}/${r.window}`));
  const client = requests.filter((r) =>
    points.has(`${r.point_id}/${r.series}`) && r.ok && r.ttft_ms !== undefined
  ).map((r) => r.ttft_ms!);
  const c = summarize(client);
  if (!h) {
    return {
      measured: false,
      launches: 0,
      server_count: 0,
      client_n: c.n,
      client_variant: "ttft_ms",
      buckets_ms: [],
    };
  }
  const mean = histogramMean(h);
  const p50 = histogramQuantile(h, 0.5);
  const bucket = quantileBucket(h, 0.5);
  const server_mean_ms = mean === undefined ? undefined : mean * 1000;
  const server_p50_ms = p50 === undefined ? undefined : p50 * 1000;
  const outside_mean_ms = c.mean !== undefined && server_mean_ms !== undefined
    ? c.mean - server_mean_ms
    : undefined;
  return {
    measured: true,
    metric: server[0].metric,
    launches: new Set(server.map((r) => r.point_id)).size,
    server_count: h.count,
    client_n: c.n,
    client_variant: "ttft_ms",
    server_mean_ms,
    server_p50_ms,
    server_p50_bucket_ms: bucket && { lower: bucket.lower * 1000, upper: bucket.upper * 1000 },
    client_mean_ms: c.mean,
    client_p50_ms: c.p50,
    outside_mean_ms,
    outside_p50_ms: c.p50 !== undefined && server_p50_ms !== undefined ? c.p50 - server_p50_ms : undefined,
    buckets_ms: h.buckets.flatMap((b, i) => {
      const count = b.count - (i === 0 ? 0 : h.buckets[i - 1].count);
      const lower_ms = i === 0 ? 0 : h.buckets[i - 1].le * 1000;
      return count > 0 ? [{ lower_ms, upper_ms: b.le === Infinity ? undefined : b.le * 1000, count }] : [];
    }),
    client_p50_in_server_bucket: c.p50 !== undefined && bucket
      ? c.p50 > bucket.lower * 1000 && c.p50 <= bucket.upper * 1000
      : undefined,
    outside_share: outside_mean_ms !== undefined && c.mean ? outside_mean_ms / c.mean : undefined,
  };
}

/**
 * Each TTFT variant over the warm (completions) and chat series: n, p50 and mean.
 *
 * @example
 * ```ts
 * ttftVariantSummary(tables.requests).find((v) => v.variant === "first_byte")?.p50_ms;
 * ```
 */
export function ttftVariantSummary(rows: readonly TtftRequestRow[]): TtftVariantSummary[] {
  const out: TtftVariantSummary[] = [];
  for (const series of ["warm", "chat"] as const) {
    const rs = rows.filter((r) => r.series === series && r.ok);
    if (rs.length === 0) continue;
    for (const v of TTFT_VARIANTS) {
      const s = summarize(rs.map((r) => r[v.column]));
      out.push({
        series,
        endpoint: rs[0].endpoint,
        variant: v.variant,
        column: v.column,
        n: s.n,
        p50_ms: s.p50,
        mean_ms: s.mean,
      });
    }
  }
  return out;
}

/**
 * Requests, failures and cached-token hits per series, in the order the series ran.
 *
 * @example
 * ```ts
 * ttftSeriesCounts(tables.requests).filter((s) => s.failed > 0);
 * ```
 */
export function ttftSeriesCounts(rows: readonly TtftRequestRow[]): TtftSeriesCount[] {
  return [...groupBy(rows, (r) => r.series)].map(([series, rs]) => ({
    series,
    requests: rs.length,
    failed: rs.filter((r) => !r.ok).length,
    with_cached_tokens: rs.filter((r) => (r.cached_tokens ?? 0) > 0).length,
  }));
}

/**
 * The client self-check per point, from the cells every row of a point carries: invalid points (client_ok
 * false) with their reason, and the worst lag p99s.
 *
 * @example
 * ```ts
 * ttftClientSummary(tables.requests).invalid.map((p) => `${p.point_id}: ${p.reason}`);
 * ```
 */
export function ttftClientSummary(rows: readonly TtftRequestRow[]): TtftClientSummary {
  const points = [...groupBy(rows, (r) => r.point_id)].filter(([, rs]) => rs[0].client_ok !== undefined);
  const worst = (pick: (r: TtftRequestRow) => number | undefined) => {
    const xs = points.map(([, rs]) => pick(rs[0])).filter((x): x is number => x !== undefined);
    return xs.length ? Math.max(...xs) : undefined;
  };
  return {
    checked_points: points.length,
    invalid: points.filter(([, rs]) => rs[0].client_ok === false).map(([point_id, rs]) => ({
      point_id,
      requests: rs.length,
      event_loop_lag_p99_ms: rs[0].event_loop_lag_p99_ms,
      send_lag_p99_ms: rs[0].send_lag_p99_ms,
      reason: rs[0].client_reason ?? "client self-check failed",
    })),
    event_loop_lag_p99_ms: worst((r) => r.event_loop_lag_p99_ms),
    send_lag_p99_ms: worst((r) => r.send_lag_p99_ms),
  };
}

/**
 * The tier's findings from its three tables: the one object the write-up and the notebook read. Requests
 * and server windows of points the client self-check marked invalid are left out.
 *
 * @example
 * ```ts
 * const s = ttftSummary(await readTtftTables(run.dir));
 * console.log(s.cold.p50, s.warm.p50, s.cold_warm_factor, s.length.fit?.slope_ms_per_token);
 * ```
 */
export function ttftSummary(tables: TtftTables): TtftSummary {
  const client = ttftClientSummary(tables.requests);
  const invalid = new Set(client.invalid.map((p) => p.point_id));
  const requests = tables.requests.filter((r) => !invalid.has(r.point_id));
  const server = tables.server.filter((r) => !invalid.has(r.point_id));
  const { startup } = tables;
  const cold = summarize(okTtft(requests, "cold"));
  const warm = summarize(okTtft(requests, "warm"));
  return {
    client,
    startup: ttftStartupSummary(startup),
    cold,
    warm,
    cold_warm_factor: cold.p50 !== undefined && warm.p50 ? cold.p50 / warm.p50 : undefined,
    curve: ttftWarmupCurve(requests),
    length: ttftLengthSummary(requests),
    idle: ttftIdleSummary(requests),
    server: ttftServerSummary(requests, server),
    variants: ttftVariantSummary(requests),
    series: ttftSeriesCounts(tables.requests),
  };
}
