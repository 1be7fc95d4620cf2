/**
 * Tier 1's charts, from its findings (`ttftSummary`) and its CSV rows (`readTtftTables`): startup phases
 * from the engine log, the warm-up curve, TTFT against prompt length with the prefill fit, re-warm after
 * idle, and the client's mean TTFT against the server's histogram. Requests of a launch the client
 * self-check invalidated are drawn as red crosses, never dropped.
 * @module
 */
import * as Plot from "@observablehq/plot";
import { type Chart, plot } from "../../report/plot.ts";
import type { TtftSummary } from "./analyze.ts";
import type { TtftRequestRow, TtftStartupRow } from "./tables.ts";

/** A number with `digits` decimals, or "n/a" when not measured. */
const fixed = (x: number | undefined, digits: number) => x === undefined ? "n/a" : x.toFixed(digits);

/** The rows of the launches the client self-check invalidated. */
function invalidRows(s: TtftSummary, rows: readonly TtftRequestRow[]): TtftRequestRow[] {
  const invalid = new Set(s.client.invalid.map((p) => p.point_id));
  return rows.filter((r) => invalid.has(r.point_id));
}

const CROSS = { stroke: "red", symbol: "times", r: 6, strokeWidth: 2 } as const;

/**
 * The engine log's startup phases, mean seconds over the launches, longest first. Draw it when
 * `s.startup.measured` (an external engine has no startup to show).
 *
 * @example
 * ```ts
 * await show(ttftStartupChart(report.summary, report.tables.startup));
 * ```
 */
export function ttftStartupChart(s: TtftSummary, startup: readonly TtftStartupRow[]): Chart {
  const logPhases = startup.filter((r) => r.source === "log");
  return plot({
    title: `Startup phases from the engine log${s.startup.simulated ? " (SIMULATED durations)" : ""}`,
    subtitle: `Mean of ${s.startup.launches} launch(es); ready (launcher, ${
      s.startup.simulated ? "compressed wall" : "wall"
    } clock): ${fixed(s.startup.ready_s.mean, 3)} s`,
    marginLeft: 120,
    x: { label: "seconds", grid: true },
    y: { label: null },
    marks: [
      Plot.barX(logPhases, Plot.groupY({ x: "mean" }, { x: "seconds", y: "phase", sort: { y: "-x" } })),
      Plot.ruleX([0]),
    ],
  });
}

/**
 * TTFT by request index since ready, one line per launch (request 0 is the cold request); requests of
 * invalid launches are crossed in red.
 *
 * @example
 * ```ts
 * await show(ttftWarmupChart(report.summary, report.tables.requests));
 * ```
 */
export function ttftWarmupChart(s: TtftSummary, requests: readonly TtftRequestRow[]): Chart {
  const coldWarm = requests.filter((r) => r.series === "cold" || r.series === "warm");
  return plot({
    title: "Warm-up curve: TTFT by request index since ready",
    subtitle: "One line per launch; request 0 is the cold request",
    caption: "Red cross: client too slow (invalid launch, not counted)",
    x: { label: "request index since ready" },
    y: { label: "TTFT (ms, first content)", grid: true, zero: true },
    color: { legend: true },
    marks: [
      Plot.lineY(coldWarm, { x: "request_index", y: "ttft_ms", stroke: "point_id" }),
      Plot.dot(coldWarm, { x: "request_index", y: "ttft_ms", stroke: "point_id", symbol: "series" }),
      Plot.dot(invalidRows(s, coldWarm), { x: "request_index", y: "ttft_ms", ...CROSS }),
    ],
  });
}

/**
 * Warm TTFT against prompt length, every request a dot, with the prefill fit's line (subtitle: the fit).
 *
 * @example
 * ```ts
 * await show(ttftLengthChart(report.summary, report.tables.requests));
 * ```
 */
export function ttftLengthChart(s: TtftSummary, requests: readonly TtftRequestRow[]): Chart {
  const lengths = requests.filter((r) => r.series === "length");
  const fit = s.length.fit;
  return plot({
    title: "Warm TTFT against prompt length",
    subtitle: fit
      ? `Fit: ${fit.intercept_ms.toFixed(2)} ms + ${fit.slope_ms_per_token.toFixed(5)} ms/token (R² ${
        fixed(fit.r2, 4)
      })`
      : "No fit",
    caption: "Red cross: client too slow (invalid launch, not in the fit)",
    x: { label: "prompt tokens", grid: true },
    y: { label: "TTFT (ms)", grid: true, zero: true },
    marks: [
      Plot.dot(lengths, { x: "prompt_tokens_target", y: "ttft_ms" }),
      Plot.dot(invalidRows(s, lengths), { x: "prompt_tokens_target", y: "ttft_ms", ...CROSS }),
      Plot.line(s.length.fit_line, { x: "prompt_tokens", y: "ttft_ms", stroke: "red" }),
    ],
  });
}

/**
 * The first requests after the idle gap against the warm series, with the warm p50 (solid) and p95
 * (dashed) as rules.
 *
 * @example
 * ```ts
 * await show(ttftIdleChart(report.summary, report.tables.requests));
 * ```
 */
export function ttftIdleChart(s: TtftSummary, requests: readonly TtftRequestRow[]): Chart {
  const idleVsWarm = requests.filter((r) => r.series === "warm" || r.series === "idle");
  return plot({
    title: s.idle.gap_s === undefined
      ? "First requests after idle: not measured (no idle period ran)"
      : `First requests after ${fixed(s.idle.gap_s, 1)} s idle against the warm series`,
    subtitle: "Lines: warm p50 (solid) and p95 (dashed)",
    caption: "Red cross: client too slow (invalid launch, not counted)",
    x: { label: "series index" },
    y: { label: "TTFT (ms)", grid: true, zero: true },
    color: { legend: true },
    marks: [
      Plot.dot(idleVsWarm, { x: "series_index", y: "ttft_ms", stroke: "series", symbol: "series" }),
      Plot.dot(invalidRows(s, idleVsWarm), { x: "series_index", y: "ttft_ms", ...CROSS }),
      Plot.ruleY([s.idle.warm_p50_ms ?? 0]),
      Plot.ruleY([s.idle.warm_p95_ms ?? 0], { strokeDasharray: "4,3" }),
    ],
  });
}

/**
 * The client's mean TTFT against the server histogram's mean over the same warm windows. Draw it when
 * `s.server.measured` (the engine's /metrics was scraped).
 *
 * @example
 * ```ts
 * await show(ttftServerChart(report.summary));
 * ```
 */
export function ttftServerChart(s: TtftSummary): Chart {
  const share = s.server.outside_share === undefined ? undefined : s.server.outside_share * 100;
  return plot({
    title: "Mean TTFT: client against server",
    subtitle: `${fixed(s.server.outside_mean_ms, 2)} ms (${
      fixed(share, 1)
    }%) of the client's TTFT is outside the engine's measurement`,
    x: { label: null },
    y: { label: "ms", grid: true },
    marks: [
      Plot.barY([
        { side: "client (ttft_ms)", ms: s.server.client_mean_ms ?? 0 },
        { side: "server histogram", ms: s.server.server_mean_ms ?? 0 },
      ], { x: "side", y: "ms", fill: "side" }),
      Plot.ruleY([0]),
    ],
  });
}

/** One CSV row as read for the run index (text cells). */
type TextRow = Record<string, string | undefined>;

/**
 * The run index's picture of tier 1: cold against warm TTFT, every successful request a dot (the launches
 * the client self-check invalidated crossed in red), the median of each a tick. Undefined without rows.
 *
 * @example
 * ```ts
 * ttftIndexChart(data.csv.get("ttft.csv") ?? [], "SIMULATED: embedded engine");
 * ```
 */
export function ttftIndexChart(rows: readonly TextRow[], subtitle: string): Chart | undefined {
  const data = rows.filter((r) => (r.series === "cold" || r.series === "warm") && r.ok === "true")
    .map((r) => ({ series: r.series!, ttft_ms: Number(r.ttft_ms), valid: r.client_ok !== "false" }))
    .filter((r) => Number.isFinite(r.ttft_ms) && r.ttft_ms > 0);
  if (!data.some((r) => r.series === "cold") || !data.some((r) => r.series === "warm")) return undefined;
  return plot({
    title: "Cold against warm TTFT",
    subtitle,
    caption: "each request a dot (red cross: a launch the client self-check invalidated); tick: median",
    height: 170,
    marginLeft: 50,
    x: { type: "log", label: "TTFT (ms) →", grid: true },
    y: { label: null, domain: ["cold", "warm"] },
    marks: [
      Plot.dot(data.filter((r) => r.valid), { x: "ttft_ms", y: "series", stroke: "series", r: 3 }),
      Plot.dot(data.filter((r) => !r.valid), { x: "ttft_ms", y: "series", ...CROSS }),
      Plot.tickX(data, Plot.groupY({ x: "median" }, { x: "ttft_ms", y: "series", strokeWidth: 3 })),
    ],
  });
}
