/**
 * Tier 2's charts as Plot options (show them with `plot()`, write them with `plotSvg()`): TTFT, tok/s
 * and KV usage against shared-prefix length, TTFT against the shared share of traffic, the eviction
 * cliff, and the two hit-rate measures against each other.
 * @module
 */
import * as Plot from "@observablehq/plot";
import type { PlotOptions } from "../../report/plot.ts";
import type { PrefixArmSummary, PrefixCliffCurve, PrefixRunRow } from "./analyze.ts";

const ARM_COLOR = {
  legend: true,
  domain: ["off", "on"],
  range: ["#d62728", "#1f77b4"],
  label: "prefix caching",
};

function byArm<R extends { arm: string }>(
  rows: readonly R[],
  x: keyof R & string,
  y: keyof R & string,
  facet = true,
) {
  const data = rows.filter((r) => r[y] !== undefined);
  const fx = facet ? "concurrency" : undefined;
  return [
    Plot.lineY(data, { x, y, stroke: "arm", z: "arm", fx, sort: x }),
    Plot.dot(data, { x, y, stroke: "arm", fill: "arm", r: 3, fx }),
  ];
}

/**
 * TTFT p50 against the shared-prefix length, one panel per concurrency, caching off and on.
 *
 * @example
 * ```ts
 * await show(plot(prefixTtftChart(findings.summary)));
 * ```
 */
export function prefixTtftChart(
  summary: readonly PrefixArmSummary[],
  title = "TTFT p50 vs shared-prefix length",
): PlotOptions {
  const rows = summary.filter((s) => s.sweep === "length");
  return {
    title,
    subtitle: "one panel per concurrency; prefixes aligned to whole KV blocks",
    width: 900,
    height: 320,
    marginBottom: 45,
    x: { type: "log", base: 2, label: "shared prefix (tokens)" },
    y: { grid: true, label: "TTFT p50 (ms)", zero: true },
    fx: { label: "concurrency" },
    color: ARM_COLOR,
    marks: [Plot.frame({ strokeOpacity: 0.2 }), ...byArm(rows, "prefix_tokens", "ttft_p50_ms")],
  };
}

/**
 * Output tok/s against the shared-prefix length, one panel per concurrency.
 *
 * @example
 * ```ts
 * await show(plot(prefixThroughputChart(findings.summary)));
 * ```
 */
export function prefixThroughputChart(
  summary: readonly PrefixArmSummary[],
  title = "Output tok/s vs shared-prefix length",
): PlotOptions {
  const rows = summary.filter((s) => s.sweep === "length");
  return {
    title,
    subtitle: "generated tokens per second over each run, mean over repeats",
    width: 900,
    height: 320,
    marginBottom: 45,
    x: { type: "log", base: 2, label: "shared prefix (tokens)" },
    y: { grid: true, label: "output tok/s", zero: true },
    fx: { label: "concurrency" },
    color: ARM_COLOR,
    marks: [Plot.frame({ strokeOpacity: 0.2 }), ...byArm(rows, "prefix_tokens", "output_tok_s")],
  };
}

/**
 * Peak KV-cache usage (sampled vllm:kv_cache_usage_perc) against the shared-prefix length.
 *
 * @example
 * ```ts
 * await show(plot(prefixKvChart(findings.summary)));
 * ```
 */
export function prefixKvChart(
  summary: readonly PrefixArmSummary[],
  title = "Peak KV-cache usage during each run",
): PlotOptions {
  const rows = summary.filter((s) => s.sweep === "length" && s.kv_usage_max !== undefined)
    .map((s) => ({ ...s, kv_usage_max_pct: s.kv_usage_max! * 100 }));
  return {
    title,
    subtitle: "blocks held by running requests; cached blocks no request uses count as free",
    width: 900,
    height: 300,
    marginBottom: 45,
    x: { type: "log", base: 2, label: "shared prefix (tokens)" },
    y: { grid: true, label: "KV usage max (%)", zero: true },
    fx: { label: "concurrency" },
    color: ARM_COLOR,
    marks: [
      Plot.frame({ strokeOpacity: 0.2 }),
      ...byArm(rows, "prefix_tokens", "kv_usage_max_pct"),
    ],
  };
}

/**
 * TTFT p50 against the share of traffic that carries the shared prefix.
 *
 * @example
 * ```ts
 * await show(plot(prefixShareChart(findings.summary)));
 * ```
 */
export function prefixShareChart(
  summary: readonly PrefixArmSummary[],
  title = "TTFT p50 vs share of traffic sharing the prefix",
): PlotOptions {
  const rows = summary.filter((s) => s.sweep === "share");
  const first = rows[0];
  return {
    title,
    subtitle: first
      ? `${first.prefix_tokens}-token prefix, concurrency ${first.concurrency}; the rest carry prefixes of their own`
      : undefined,
    width: 640,
    height: 300,
    x: { label: "requests sharing the prefix (%)", domain: [0, 100] },
    y: { grid: true, label: "TTFT p50 (ms)", zero: true },
    color: ARM_COLOR,
    marks: [...byArm(rows, "share_pct", "ttft_p50_ms", false)],
  };
}

/**
 * The eviction cliff: hit rate by both measures, and the no-eviction expectation, against the working
 * set of distinct prefixes; a rule at the pool's computed capacity.
 *
 * @example
 * ```ts
 * await show(plot(prefixCliffChart(findings.cliff)));
 * ```
 */
export function prefixCliffChart(
  cliff: PrefixCliffCurve,
  title = "Eviction cliff: hit rate vs working set of prefixes",
): PlotOptions {
  const long = cliff.points.flatMap((p) => [
    { working_set: p.working_set, measure: "usage cached_tokens", hit_rate: p.usage_hit_rate },
    { working_set: p.working_set, measure: "metrics hits / queries", hit_rate: p.metric_hit_rate },
    { working_set: p.working_set, measure: "expected without eviction", hit_rate: p.expected_hit_rate },
  ]).filter((r) => r.hit_rate !== undefined);
  const cap = cliff.capacity_prefixes;
  return {
    title,
    subtitle: `pool ${cliff.pool_tokens ?? "?"} KV tokens, ${cliff.prefix_tokens ?? "?"}-token prefixes, ` +
      `round-robin traffic; dashed: computed capacity ${cap ?? "?"} prefixes`,
    width: 640,
    height: 320,
    x: { label: "distinct prefixes in use (working set)", grid: true },
    y: { label: "prefix-cache hit rate", domain: [0, 1], grid: true },
    color: {
      legend: true,
      domain: ["usage cached_tokens", "metrics hits / queries", "expected without eviction"],
      range: ["#1f77b4", "#ff7f0e", "#999999"],
    },
    marks: [
      ...(cap !== undefined ? [Plot.ruleX([cap + 0.5], { stroke: "#555", strokeDasharray: "4,3" })] : []),
      Plot.line(long, {
        x: "working_set",
        y: "hit_rate",
        stroke: "measure",
        z: "measure",
        sort: "working_set",
      }),
      // the two measures usually coincide: a large ring for usage, a small cross for the counters
      Plot.dot(long.filter((r) => r.measure === "usage cached_tokens"), {
        x: "working_set",
        y: "hit_rate",
        stroke: "measure",
        r: 7,
        strokeWidth: 2,
      }),
      Plot.dot(long.filter((r) => r.measure !== "usage cached_tokens"), {
        x: "working_set",
        y: "hit_rate",
        stroke: "measure",
        symbol: "times",
        r: 4,
        strokeWidth: 2,
      }),
    ],
  };
}

/**
 * Σ usage cached_tokens against Δ prefix_cache_hits, one dot per run, with the line y = x.
 *
 * @example
 * ```ts
 * await show(plot(prefixAgreementChart(runs)));
 * ```
 */
export function prefixAgreementChart(
  runs: readonly PrefixRunRow[],
  title = "Hit rate two ways: per-request usage vs server counters",
): PlotOptions {
  const rows = runs.filter((r) => r.usage_cached_tokens !== undefined && r.metric_hits_tokens !== undefined)
    .map((r) => ({ ...r, agreement: r.measures_agree === false ? "disagree" : "agree" }));
  const max = Math.max(1, ...rows.map((r) => Math.max(r.usage_cached_tokens!, r.metric_hits_tokens!)));
  return {
    title,
    subtitle: "one dot per run; on the line the two measures count the same cached tokens",
    width: 640,
    height: 360,
    marginLeft: 60,
    x: { label: "Σ usage.prompt_tokens_details.cached_tokens", grid: true },
    y: { label: "Δ vllm:prefix_cache_hits_total", grid: true },
    color: { legend: true, domain: ["agree", "disagree"], range: ["#2ca02c", "#d62728"] },
    marks: [
      Plot.line([[0, 0], [max, max]], { stroke: "#999", strokeDasharray: "4,3" }),
      Plot.dot(rows, { x: "usage_cached_tokens", y: "metric_hits_tokens", stroke: "agreement", r: 4 }),
    ],
  };
}

/**
 * The run index's picture of tier 2: TTFT p50 against the shared-prefix length, caching off and on, at
 * the length sweep's lowest concurrency, from the per-request rows (`prefix_cache.csv`). Undefined
 * without both arms.
 *
 * @example
 * ```ts
 * const o = prefixIndexChartOptions(data.csv.get("prefix_cache.csv") ?? [], "SIMULATED");
 * if (o) await show(plot(o));
 * ```
 */
export function prefixIndexChartOptions(
  rows: readonly Record<string, string | undefined>[],
  subtitle: string,
): PlotOptions | undefined {
  const length = rows.filter((r) => r.sweep === "length" && r.ok === "true" && r.ttft_ms)
    .map((r) => ({
      arm: r.arm ?? "",
      concurrency: Number(r.concurrency),
      prefix_tokens: Number(r.prefix_tokens),
      ttft_ms: Number(r.ttft_ms),
    }))
    .filter((r) => r.prefix_tokens > 0 && Number.isFinite(r.ttft_ms));
  if (!length.length) return undefined;
  const c = Math.min(...length.map((r) => r.concurrency));
  const data = length.filter((r) => r.concurrency === c).sort((a, b) => a.prefix_tokens - b.prefix_tokens);
  if (!data.some((r) => r.arm === "off") || !data.some((r) => r.arm === "on")) return undefined;
  const median = Plot.groupX({ y: "median" }, { x: "prefix_tokens", y: "ttft_ms", stroke: "arm" });
  return {
    title: "Prefix caching off against on",
    subtitle,
    caption: `TTFT p50 of the requests at concurrency ${c}, against the shared-prefix length`,
    height: 260,
    x: { type: "log", base: 2, label: "shared prefix (tokens) →" },
    y: { grid: true, label: "↑ TTFT p50 (ms)", zero: true },
    color: ARM_COLOR,
    marks: [
      Plot.lineY(data, median),
      Plot.dot(
        data,
        Plot.groupX({ y: "median" }, { x: "prefix_tokens", y: "ttft_ms", stroke: "arm", fill: "arm" }),
      ),
    ],
  };
}
