/**
 * Tier 3b as a lesson: the learner's guesses against the run (`batchingPredictions`), lib's numbers for the
 * notebook's polars table (`batchingKeyRows`), and continuous batching drawn from the data
 * (`batchingTimeline`): a few dozen requests of one concurrency point on one time axis (send, first token,
 * every streamed token, end) above the engine's running/waiting gauge, so a learner sees requests join and
 * leave the running batch between steps.
 *
 * Clocks: a request's times in batching_requests.csv are ms on the point's clock; batching_server.csv's
 * `t_s` counts from the load's start, which is the point's earliest intended send (the closed loop's first
 * wave is intended at the start), so gauge time = min(t_intended_ms) + 1000 t_s.
 * @module
 */
import * as Plot from "@observablehq/plot";
import { type Chart, plot } from "../../report/plot.ts";
import { type Predictions, predictionTable } from "../../report/predict.ts";
import type { BatchingFindings } from "./analyze.ts";
import { batchingParseGaps } from "./analyze.ts";
import type { BatchingRequestRow, BatchingServerRow } from "./point_row.ts";

/** The Predict cell's guesses; leave a field undefined to skip it. */
export interface BatchingGuess {
  /** The knee: the concurrency past which doubling buys < knee_gain more throughput, e.g. 32. */
  knee?: number;
  /** Throughput at the highest concurrency over throughput at 1 (x), e.g. 20. */
  throughput_gain?: number;
  /** TTFT p95 at the highest concurrency over at 1 (x), e.g. 10. */
  ttft_p95_growth?: number;
}

const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && b > 0 ? a / b : undefined;

/**
 * The learner's guesses against this run's findings, with the reason for each result.
 *
 * @example
 * ```ts
 * await show(batching.predictions({ knee: 32 }, findings));
 * ```
 */
export function batchingPredictions(guess: BatchingGuess, f: BatchingFindings): Predictions {
  const c = f.concurrency;
  const lo = c[0];
  const hi = c.at(-1);
  const gain = ratio(hi?.throughput_rps, lo?.throughput_rps);
  const growth = ratio(hi?.latency.ttft_ms[95]?.value, lo?.latency.ttft_ms[95]?.value);
  const x = (n: number | undefined) => n === undefined ? "?" : n.toFixed(1);
  return predictionTable([
    {
      quantity: "the knee (concurrency)",
      unit: "",
      guess: guess.knee,
      result: f.knee.kind === "knee" ? f.knee.concurrency : undefined,
      why: f.knee.reason,
    },
    {
      quantity: `throughput at c=${hi?.concurrency ?? "?"} / at c=${lo?.concurrency ?? "?"}`,
      unit: "x",
      guess: guess.throughput_gain,
      result: gain,
      why: `Decode is memory-bound: one pass over the weights serves every sequence in the batch, so more ` +
        `requests in flight share it (${x(lo?.throughput_rps)} -> ${
          x(hi?.throughput_rps)
        } requests/s). The gain ` +
        "stops growing when the step's token budget, max-num-seqs or compute fills.",
    },
    {
      quantity: `TTFT p95 at c=${hi?.concurrency ?? "?"} / at c=${lo?.concurrency ?? "?"}`,
      unit: "x",
      guess: guess.ttft_p95_growth,
      result: growth,
      why:
        "Continuous batching lets a new request join the running batch at the next step instead of waiting for " +
        "a batch to finish, so TTFT grows with the prefills queued ahead of it in the step's token budget, far " +
        "less than linearly in concurrency until the engine saturates (see the timeline below).",
    },
  ]);
}

/**
 * Lib's numbers for the notebook's table: per concurrency, the measured successful requests of the point's
 * valid repeats (all repeats when none is valid) pooled: n, TTFT p50 and p95, E2E p50, and TTFT p95 over the
 * lowest concurrency's; for `assertAgrees(polarsTable, batching.keyRows(findings), { key: "concurrency" })`.
 */
export function batchingKeyRows(f: BatchingFindings): Record<string, number | undefined>[] {
  const base = f.concurrency[0]?.latency.ttft_ms[95]?.value;
  return f.concurrency.map((s) => ({
    concurrency: s.concurrency,
    n: s.latency.ttft_ms[50]?.n || undefined,
    ttft_p50_ms: s.latency.ttft_ms[50]?.value,
    ttft_p95_ms: s.latency.ttft_ms[95]?.value,
    e2e_p50_ms: s.latency.e2e_ms[50]?.value,
    ttft_p95_vs_lowest: ratio(s.latency.ttft_ms[95]?.value, base),
  }));
}

/** Options of {@link batchingTimeline}. */
export interface TimelineOptions {
  /** The concurrency point to draw. Default: the largest concurrency of the sweep up to 16. */
  concurrency?: number;
  /** The repeat. Default 1. */
  repeat?: number;
  /** Requests drawn, the first in send order. Default 40. */
  max_requests?: number;
}

/** The two charts of the timeline (same time axis) and what they drew. */
export interface Timeline {
  requests: Chart;
  gauge: Chart;
  point_id: string;
  concurrency: number;
  /** Requests drawn. */
  drawn: number;
  /** Server samples drawn. */
  samples: number;
}

/**
 * Continuous batching from a run's CSVs: the first `max_requests` requests of one concurrency point, one line
 * each from send to end with the first token (red) and every later streamed token (ticks), and beneath it the
 * engine's `num_requests_running` and `num_requests_waiting` samples on the same time axis.
 *
 * @example
 * ```ts
 * const t = batching.timeline(results.requests, results.server, { concurrency: 16 });
 * await show(t.requests, t.gauge);
 * ```
 */
export function batchingTimeline(
  requests: readonly BatchingRequestRow[],
  server: readonly BatchingServerRow[],
  opts: TimelineOptions = {},
): Timeline {
  const repeat = opts.repeat ?? 1;
  const closed = requests.filter((r) => r.sweep === "concurrency" && r.repeat === repeat && r.concurrency);
  const levels = [...new Set(closed.map((r) => r.concurrency!))].sort((a, b) => a - b);
  if (!levels.length) {
    throw new Error(
      `No concurrency-sweep requests of repeat ${repeat} in batching_requests.csv: run the tier first.`,
    );
  }
  const c = opts.concurrency ?? levels.filter((l) => l <= 16).at(-1) ?? levels[0];
  if (!levels.includes(c)) {
    throw new Error(
      `Concurrency ${c} was not measured in repeat ${repeat}; pick one of ${levels.join(", ")}.`,
    );
  }
  const point = closed.filter((r) => r.concurrency === c);
  const pointId = point[0].point_id;
  const start = Math.min(...point.map((r) => r.t_intended_ms));
  const shown = [...point].sort((a, b) => a.t_send_ms - b.t_send_ms).slice(0, opts.max_requests ?? 40);
  const lines = shown.map((r, i) => ({
    req: i + 1,
    send: r.t_send_ms - start,
    end: r.t_end_ms - start,
    part: r.part,
    ok: r.ok,
  }));
  const firsts: { req: number; t: number }[] = [];
  const tokens: { req: number; t: number }[] = [];
  shown.forEach((r, i) => {
    if (r.t_first_content_ms === undefined) return;
    let t = r.t_first_content_ms - start;
    firsts.push({ req: i + 1, t });
    for (const g of batchingParseGaps(r.itl_gaps_ms)) {
      t += g;
      tokens.push({ req: i + 1, t });
    }
  });
  const tEnd = Math.max(...lines.map((l) => l.end));
  const samples = server
    .filter((s) => s.point_id === pointId)
    .map((s) => ({ t: 1000 * s.t_s, running: s.running, waiting: s.waiting }))
    .filter((s) => s.t <= tEnd);
  const gaugeRows = samples.flatMap((s) => [
    ...(s.running !== undefined ? [{ t: s.t, value: s.running, gauge: "running" }] : []),
    ...(s.waiting !== undefined ? [{ t: s.t, value: s.waiting, gauge: "waiting" }] : []),
  ]);
  const x = { domain: [0, tEnd], label: "ms since the point started" };
  const requestsChart = plot({
    title: `Continuous batching at concurrency ${c}: the first ${shown.length} requests of ${pointId}`,
    subtitle:
      "Grey: send to end (dashed: warm-up or cool-down, not measured). Red: first token. Ticks: every " +
      "later streamed token. A new request starts as soon as one ends, and its first token comes a step or " +
      "two later, between the tokens of the requests already running.",
    width: 760,
    height: 60 + 9 * shown.length,
    x,
    y: {
      label: "request (send order, first at the top)",
      domain: lines.map((l) => l.req),
      ticks: [],
      padding: 0.1,
    },
    marks: [
      Plot.ruleY(lines.filter((l) => l.part === "measure"), {
        y: "req",
        x1: "send",
        x2: "end",
        stroke: "#999",
      }),
      Plot.ruleY(lines.filter((l) => l.part !== "measure"), {
        y: "req",
        x1: "send",
        x2: "end",
        stroke: "#bbb",
        strokeDasharray: "3,2",
      }),
      Plot.tickX(tokens, { x: "t", y: "req", stroke: "#1f77b4", strokeWidth: 1 }),
      Plot.dot(firsts, { x: "t", y: "req", r: 2.5, fill: "red" }),
    ],
  });
  const gauge = plot({
    title: "The engine's batch, sampled from /metrics on the same time axis",
    subtitle: samples.length
      ? `${samples.length} samples: running = sequences in the current batch (continuous batching keeps it near ${c}); ` +
        "waiting = requests not yet scheduled (their prefill did not fit the step's token budget)."
      : "No /metrics samples for this point: the engine's gauge was not measured.",
    width: 760,
    height: 180,
    x,
    y: { label: "requests", grid: true, zero: true },
    color: { legend: true, domain: ["running", "waiting"], range: ["#1f77b4", "#d62728"] },
    marks: [Plot.lineY(gaugeRows, { x: "t", y: "value", stroke: "gauge", curve: "step-after" })],
  });
  return {
    requests: requestsChart,
    gauge,
    point_id: pointId,
    concurrency: c,
    drawn: shown.length,
    samples: samples.length,
  };
}
