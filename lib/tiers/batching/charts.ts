/**
 * The batching tier's charts, from its findings and CSV rows: throughput with the knee and the sweet
 * spot, latency percentiles with confidence intervals against the SLO, the throughput-latency
 * trade-off, the Little's-law check, the server's queue and KV usage over time, and the rate sweep.
 * Invalid points are always drawn, in red crosses, never silently dropped; rule marks show the rules.
 * @module
 */
import * as Plot from "@observablehq/plot";
import { type Chart, plot, type PlotOptions, plotStack } from "../../report/plot.ts";
import { batchingKnee } from "./knee.ts";
import type { BatchingFindings, BatchingLatencyMetric, BatchingPointSummary } from "./analyze.ts";
import type { BatchingPointRow, BatchingServerRow } from "./point_row.ts";

const VALID = "#4269d0";
const INVALID = "#d62728";
const RULE = "#6b6b6b";
const SWEET = "#3ca951";
const X_CONC = { type: "log", base: 2, label: "concurrency (requests in flight) →", grid: true } as const;

/** Rule marks of the knee, the sweet spot and its range on a concurrency axis. */
function ruleMarks(F: BatchingFindings): Plot.Markish[] {
  const marks: Plot.Markish[] = [];
  if (F.sweet.kind === "sweet_spot" && F.sweet.range.hi > F.sweet.range.lo) {
    marks.push(Plot.rectX([F.sweet.range], { x1: "lo", x2: "hi", fill: SWEET, fillOpacity: 0.12 }));
  }
  if (F.knee.kind === "knee") {
    const k = [{ x: F.knee.concurrency, label: `knee c=${F.knee.concurrency}` }];
    marks.push(Plot.ruleX(k, { x: "x", stroke: RULE, strokeDasharray: "4,3" }));
    marks.push(
      Plot.text(k, {
        x: "x",
        text: "label",
        frameAnchor: "top",
        dy: 4,
        dx: -4,
        textAnchor: "end",
        fill: RULE,
      }),
    );
  }
  if (F.sweet.kind === "sweet_spot") {
    const s = [{ x: F.sweet.concurrency, label: `sweet spot c=${F.sweet.concurrency}` }];
    marks.push(Plot.ruleX(s, { x: "x", stroke: SWEET, strokeWidth: 2 }));
    marks.push(
      Plot.text(s, {
        x: "x",
        text: "label",
        frameAnchor: "bottom",
        dy: -6,
        dx: 4,
        textAnchor: "start",
        fill: SWEET,
      }),
    );
  }
  return marks;
}

const validity = (r: { valid: boolean }) => (r.valid ? "valid" : "invalid");
const COLOR = { domain: ["valid", "invalid"], range: [VALID, INVALID], legend: true } as const;

/**
 * Throughput (median of the valid repeats, each repeat a dot) and goodput against concurrency, with the
 * knee, the sweet spot and its range.
 *
 * @example
 * ```ts
 * await show(batchingThroughputChart(F, points));
 * ```
 */
export function batchingThroughputChart(F: BatchingFindings, rows: readonly BatchingPointRow[]): Chart {
  const reps = rows.filter((r) => r.sweep === "concurrency" && r.throughput_rps !== undefined)
    .map((r) => ({ ...r, status: validity(r) }));
  const med = F.concurrency.filter((s) => s.valid && s.throughput_rps !== undefined);
  const good = med.filter((s) => s.goodput_rps !== undefined);
  return plot({
    title: "Throughput against concurrency",
    subtitle:
      "line: median of the valid repeats; dots: each repeat (red cross: invalid, not used); dashed: goodput",
    caption: `Knee: ${F.knee.reason}`,
    width: 720,
    height: 360,
    x: X_CONC,
    y: { label: "↑ requests/s", grid: true, zero: true },
    color: COLOR,
    marks: [
      ...ruleMarks(F),
      Plot.line(med, { x: "concurrency", y: "throughput_rps", stroke: VALID }),
      Plot.line(good, { x: "concurrency", y: "goodput_rps", stroke: SWEET, strokeDasharray: "6,4" }),
      Plot.dot(reps.filter((r) => r.valid), {
        x: "concurrency",
        y: "throughput_rps",
        stroke: "status",
        r: 3,
      }),
      Plot.dot(reps.filter((r) => !r.valid), {
        x: "concurrency",
        y: "throughput_rps",
        stroke: "status",
        symbol: "times",
        r: 5,
        strokeWidth: 2,
      }),
    ],
  });
}

const METRIC_LABEL: Record<BatchingLatencyMetric, string> = {
  ttft_ms: "TTFT",
  itl_ms: "ITL (every inter-chunk gap)",
  tpot_ms: "TPOT (vLLM's definition)",
  e2e_ms: "E2E",
  queue_delay_ms: "client queue delay",
};

function latencyRows(points: readonly BatchingPointSummary[], metric: BatchingLatencyMetric) {
  return points.flatMap((s) =>
    ([50, 95, 99] as const).flatMap((p) => {
      const e = s.latency[metric][p];
      return e.value === undefined ? [] : [{
        x: s.x,
        percentile: `p${p}`,
        value: e.value,
        lo: e.lo,
        hi: e.hi,
        status: validity(s),
      }];
    })
  );
}

/**
 * p50/p95/p99 of a latency metric against concurrency (or offered rate) with their confidence
 * intervals, the SLO line where one applies, and the rules.
 *
 * @example
 * ```ts
 * await show(batchingLatencyChart(F, "ttft_ms"));
 * ```
 */
export function batchingLatencyChart(
  F: BatchingFindings,
  metric: BatchingLatencyMetric,
  sweep: "concurrency" | "rate" = "concurrency",
): Chart {
  const points = sweep === "concurrency" ? F.concurrency : F.rate;
  const data = latencyRows(points, metric);
  const slo = metric === "ttft_ms" ? F.slo.ttft_p95_ms : metric === "tpot_ms" ? F.slo.tpot_p95_ms : undefined;
  const marks: Plot.Markish[] = sweep === "concurrency" ? ruleMarks(F) : capacityMarks(F);
  if (slo !== undefined) {
    const s = [{ y: slo, label: `SLO p95 ≤ ${slo} ms` }];
    marks.push(Plot.ruleY(s, { y: "y", stroke: INVALID, strokeDasharray: "2,3" }));
    marks.push(
      Plot.text(s, {
        y: "y",
        text: "label",
        frameAnchor: "left",
        dy: -6,
        dx: 4,
        textAnchor: "start",
        fill: INVALID,
      }),
    );
  }
  const valid = data.filter((d) => d.status === "valid");
  marks.push(
    Plot.ruleX(data.filter((d) => d.lo !== undefined), {
      x: "x",
      y1: "lo",
      y2: "hi",
      stroke: "percentile",
      strokeOpacity: 0.6,
    }),
    Plot.line(valid, { x: "x", y: "value", stroke: "percentile" }),
    Plot.dot(valid, { x: "x", y: "value", fill: "percentile", r: 2.5 }),
    Plot.dot(data.filter((d) => d.status === "invalid"), {
      x: "x",
      y: "value",
      stroke: INVALID,
      symbol: "times",
      r: 5,
      strokeWidth: 2,
    }),
  );
  return plot({
    title: `${METRIC_LABEL[metric]} against ${sweep === "concurrency" ? "concurrency" : "offered rate"}`,
    subtitle: `p50, p95, p99 pooled over valid repeats; bars: ${F.ci.method}; red cross: invalid point`,
    width: 720,
    height: 340,
    x: sweep === "concurrency"
      ? X_CONC
      : { label: "offered Poisson rate (requests/s) →", grid: true, zero: true },
    y: { type: "log", label: `↑ ${metric.replace(/_ms$/, "")} (ms, log scale)`, grid: true },
    color: { domain: ["p50", "p95", "p99"], range: ["#4269d0", "#efb118", "#ff725c"], legend: true },
    marks,
  });
}

function capacityMarks(F: BatchingFindings): Plot.Markish[] {
  if (F.capacity?.kind !== "capacity") return [];
  const c = [{
    x: F.capacity.target_rps,
    label: `SLO holds up to ${F.capacity.target_rps.toFixed(0)} req/s`,
  }];
  return [
    Plot.ruleX(c, { x: "x", stroke: SWEET, strokeWidth: 2 }),
    Plot.text(c, {
      x: "x",
      text: "label",
      frameAnchor: "top",
      dy: 4,
      dx: 4,
      textAnchor: "start",
      fill: SWEET,
    }),
  ];
}

/**
 * The throughput-latency trade-off: p50 TPOT against throughput, one dot per concurrency; the knee is
 * where the curve turns upward.
 *
 * @example
 * ```ts
 * await show(batchingTradeoffChart(F));
 * ```
 */
export function batchingTradeoffChart(F: BatchingFindings): Chart {
  const data = F.concurrency.filter((s) =>
    s.throughput_rps !== undefined && s.latency.tpot_ms[50].value !== undefined
  )
    .map((s) => ({
      throughput_rps: s.throughput_rps,
      tpot_ms: s.latency.tpot_ms[50].value,
      label: `c=${s.concurrency}`,
      status: validity(s),
      mark: (F.knee.kind === "knee" && s.concurrency === F.knee.concurrency)
        ? "knee"
        : (F.sweet.kind === "sweet_spot" && s.concurrency === F.sweet.concurrency)
        ? "sweet spot"
        : "",
    }));
  return plot({
    title: "What each step of concurrency buys: throughput against per-token latency",
    subtitle: "p50 TPOT (ms/token) against throughput; labels are concurrencies; red cross: invalid point",
    width: 720,
    height: 340,
    x: { label: "throughput (requests/s) →", grid: true, zero: true },
    y: { label: "↑ p50 TPOT (ms/token)", grid: true, zero: true },
    color: COLOR,
    marks: [
      Plot.line(data.filter((d) => d.status === "valid"), {
        x: "throughput_rps",
        y: "tpot_ms",
        stroke: VALID,
      }),
      Plot.dot(data, {
        x: "throughput_rps",
        y: "tpot_ms",
        stroke: "status",
        symbol: (d: { status: string }) => d.status === "valid" ? "circle" : "times",
      }),
      Plot.text(data, {
        x: "throughput_rps",
        y: "tpot_ms",
        text: "label",
        dx: -6,
        dy: -8,
        textAnchor: "end",
      }),
      Plot.text(data.filter((d) => d.mark), {
        x: "throughput_rps",
        y: "tpot_ms",
        text: "mark",
        dx: 8,
        dy: 10,
        textAnchor: "start",
        fill: SWEET,
      }),
    ],
  });
}

/**
 * Little's law per point and repeat: measured mean requests in flight against throughput x mean E2E;
 * in a steady state the dots sit on the diagonal.
 *
 * @example
 * ```ts
 * await show(batchingLittleChart(points));
 * ```
 */
export function batchingLittleChart(rows: readonly BatchingPointRow[]): Chart {
  const data = rows.filter((r) =>
    r.inflight_mean !== undefined && r.little_inflight !== undefined && r.inflight_mean > 0
  )
    .map((r) => ({ ...r, status: validity(r), kind: r.sweep === "concurrency" ? "closed loop" : "Poisson" }));
  const hi = Math.max(1, ...data.map((d) => Math.max(d.inflight_mean!, d.little_inflight!)));
  const lo = Math.min(
    hi,
    ...data.map((d) => Math.min(d.inflight_mean!, d.little_inflight!)).filter((x) => x > 0),
  );
  return plot({
    title: "Little's law check: L = λ W",
    subtitle:
      "mean requests in flight (measured) against throughput × mean E2E; on the diagonal in a steady state",
    width: 560,
    height: 400,
    x: { type: "log", label: "measured mean in flight →", domain: [lo / 1.3, hi * 1.3], grid: true },
    y: { type: "log", label: "↑ throughput × mean E2E", domain: [lo / 1.3, hi * 1.3], grid: true },
    color: COLOR,
    symbol: { legend: true },
    marks: [
      Plot.link([{ a: lo / 1.3, b: hi * 1.3 }], {
        x1: "a",
        y1: "a",
        x2: "b",
        y2: "b",
        stroke: RULE,
        strokeDasharray: "4,3",
      }),
      Plot.dot(data, { x: "inflight_mean", y: "little_inflight", stroke: "status", symbol: "kind", r: 4 }),
    ],
  });
}

/** The server gauges {@link batchingServerCharts} draws, in order. */
const SERVER_METRICS = [
  { key: "running", label: "requests running", scale: 1 },
  { key: "waiting", label: "requests waiting", scale: 1 },
  { key: "kv_usage", label: "KV cache usage (%)", scale: 100 },
  { key: "preemptions_total", label: "preemptions (cumulative since start)", scale: 1 },
] as const;

/**
 * The server over time during each point of one repeat, one chart per gauge (each with its own scale):
 * running and waiting requests, KV usage (%), and cumulative preemptions when there were any.
 *
 * @example
 * ```ts
 * await show(...batchingServerCharts(server, { repeat: 1 }));
 * ```
 */
export function batchingServerCharts(
  rows: readonly BatchingServerRow[],
  opts: { repeat?: number; sweep?: "concurrency" | "rate" } = {},
): Chart[] {
  const sweep = opts.sweep ?? "concurrency";
  const repeat = opts.repeat ?? 1;
  const mine = rows.filter((r) => r.sweep === sweep && r.repeat === repeat && r.error === undefined);
  const name = (r: BatchingServerRow) =>
    sweep === "concurrency" ? `c=${r.concurrency}` : `${Math.round(r.target_rps ?? 0)} req/s`;
  const order = [
    ...new Map(mine.map((r) => [sweep === "concurrency" ? r.concurrency : r.target_rps, name(r)])),
  ]
    .sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0))
    .map(([, n]) => n);
  const preempted = mine.some((r) => (r.preemptions_total ?? 0) > (mine[0]?.preemptions_total ?? 0));
  const what = `each ${sweep === "concurrency" ? "concurrency" : "rate"} point, repeat ${repeat}`;
  if (mine.length === 0) {
    return [
      plot({
        title: `The server during ${what}`,
        subtitle: "no server samples: the engine's /metrics was not reachable (not measured)",
        height: 60,
        marks: [],
      }),
    ];
  }
  return SERVER_METRICS.filter((m) => m.key !== "preemptions_total" || preempted).map((m, i) => {
    const data = mine.filter((r) => r[m.key] !== undefined).map((r) => ({
      t_s: r.t_s,
      value: r[m.key]! * m.scale,
      point: name(r),
    }));
    return plot({
      title: i === 0 ? `The server during ${what}` : undefined,
      subtitle: `${m.label}, sampled from /metrics`,
      width: 720,
      height: 170,
      x: { label: "seconds since the point started →", grid: true },
      y: { label: null, grid: true, zero: true },
      color: { type: "ordinal", scheme: "viridis", domain: order, legend: i === 0 },
      marks: [Plot.line(data, { x: "t_s", y: "value", stroke: "point", z: "point" })],
    });
  });
}

/**
 * The rate sweep's achieved throughput against the offered Poisson rate (diagonal: the server keeps up).
 *
 * @example
 * ```ts
 * await show(batchingRateThroughputChart(F, points));
 * ```
 */
export function batchingRateThroughputChart(F: BatchingFindings, rows: readonly BatchingPointRow[]): Chart {
  const reps = rows.filter((r) =>
    r.sweep === "rate" && r.throughput_rps !== undefined && r.target_rps !== undefined
  )
    .map((r) => ({ ...r, status: validity(r) }));
  const hi = Math.max(1, ...reps.map((r) => Math.max(r.target_rps!, r.throughput_rps!)));
  const peak = F.peak
    ? [{ y: F.peak.throughput_rps, label: `closed-loop peak ${F.peak.throughput_rps.toFixed(0)} req/s` }]
    : [];
  return plot({
    title: "Poisson rate sweep: what the server completes against what arrives",
    subtitle: "each repeat a dot (red cross: invalid); diagonal: completions keep up with arrivals",
    width: 560,
    height: 360,
    x: { label: "offered rate (requests/s) →", domain: [0, hi * 1.05], grid: true },
    y: { label: "↑ throughput (requests/s)", domain: [0, hi * 1.05], grid: true },
    color: COLOR,
    marks: [
      Plot.link([{ a: 0, b: hi * 1.05 }], {
        x1: "a",
        y1: "a",
        x2: "b",
        y2: "b",
        stroke: RULE,
        strokeDasharray: "4,3",
      }),
      Plot.ruleY(peak, { y: "y", stroke: SWEET }),
      Plot.text(peak, {
        y: "y",
        text: "label",
        frameAnchor: "left",
        dy: -6,
        dx: 4,
        textAnchor: "start",
        fill: SWEET,
      }),
      Plot.dot(reps, {
        x: "target_rps",
        y: "throughput_rps",
        stroke: "status",
        symbol: (d: { valid: boolean }) => d.valid ? "circle" : "times",
        r: 4,
      }),
      ...capacityMarks(F),
    ],
  });
}

/** One CSV row as read for the run index (text cells). */
type TextRow = Record<string, string | undefined>;

/**
 * The run index's picture of tier 3b: throughput (above) and p95 E2E latency (below) against concurrency,
 * each repeat a dot (red cross: invalid), the median of the valid repeats a line, and the knee (the rule
 * of lib/tiers/batching/knee.ts with `knee_gain`) a dashed rule on both. Undefined without rows.
 *
 * @example
 * ```ts
 * batchingIndexChart(data.csv.get("concurrency_sweep.csv") ?? [], "SIMULATED", 0.2);
 * ```
 */
export function batchingIndexChart(
  rows: readonly TextRow[],
  subtitle: string,
  kneeGain: number,
): Chart | undefined {
  const reps = rows.filter((r) => r.sweep !== "rate" && r.concurrency && r.throughput_rps)
    .map((r) => ({
      concurrency: Number(r.concurrency),
      throughput_rps: Number(r.throughput_rps),
      e2e_p95_ms: r.e2e_p95_ms ? Number(r.e2e_p95_ms) : undefined,
      valid: r.valid === "true",
    }))
    .filter((r) => r.concurrency > 0 && Number.isFinite(r.throughput_rps));
  if (!reps.length) return undefined;
  const cs = [...new Set(reps.map((r) => r.concurrency))].sort((a, b) => a - b);
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const med = cs.flatMap((c) => {
    const v = reps.filter((r) => r.concurrency === c && r.valid);
    const lat = v.flatMap((r) => r.e2e_p95_ms === undefined ? [] : [r.e2e_p95_ms]);
    return v.length
      ? [{
        concurrency: c,
        throughput_rps: median(v.map((r) => r.throughput_rps)),
        e2e_p95_ms: lat.length ? median(lat) : undefined,
      }]
      : [];
  });
  const knee = batchingKnee(
    cs.map((c) => med.find((m) => m.concurrency === c) ?? { concurrency: c, valid: false }).map((m) => ({
      concurrency: m.concurrency,
      throughput_rps: "throughput_rps" in m ? m.throughput_rps : undefined,
      valid: "throughput_rps" in m,
    })),
    { min_gain: kneeGain },
  );
  const kneeMarks = knee.kind === "knee"
    ? [
      Plot.ruleX([knee.concurrency], { stroke: RULE, strokeDasharray: "4,3" }),
      Plot.text([{ x: knee.concurrency, label: `knee c=${knee.concurrency}` }], {
        x: "x",
        text: "label",
        frameAnchor: "top",
        dy: 4,
        dx: -4,
        textAnchor: "end",
        fill: RULE,
      }),
    ]
    : [];
  const part = (y: "throughput_rps" | "e2e_p95_ms", label: string, last: boolean): PlotOptions => {
    const pts = reps.filter((r) => r[y] !== undefined);
    return {
      width: 640,
      height: last ? 200 : 180,
      marginLeft: 60,
      marginRight: 24,
      x: {
        ...X_CONC,
        domain: [cs[0], cs.at(-1)!],
        label: last ? X_CONC.label : null,
        axis: last ? "bottom" : null,
      },
      y: { label, grid: true, zero: true },
      marks: [
        ...kneeMarks,
        Plot.line(med.filter((m) => m[y] !== undefined), { x: "concurrency", y, stroke: VALID }),
        Plot.dot(pts.filter((r) => r.valid), { x: "concurrency", y, stroke: VALID, r: 3 }),
        Plot.dot(pts.filter((r) => !r.valid), {
          x: "concurrency",
          y,
          stroke: INVALID,
          symbol: "times",
          r: 5,
          strokeWidth: 2,
        }),
      ],
    };
  };
  return plotStack(
    {
      title: "Throughput and p95 latency against concurrency",
      subtitle,
      caption:
        "line: median of the valid repeats; dots: each repeat (red cross: invalid, not used); dashed rule: the knee",
    },
    [part("throughput_rps", "↑ requests/s", false), part("e2e_p95_ms", "↑ E2E p95 (ms)", true)],
  );
}
