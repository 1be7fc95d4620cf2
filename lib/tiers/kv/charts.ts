/**
 * Tier 3a's charts, from its rows (`measureKv`'s `KvMeasurement`, kv_load_samples.csv read as
 * {@link KvLoadSample}): max concurrency against max-model-len with the 1/L line a fixed pool predicts,
 * GPU memory used and the KV pool against max-model-len, and the load confirmation's running and waiting
 * requests over each step, with invalid steps (client self-check) named in their panel.
 * @module
 */
import * as Plot from "@observablehq/plot";
import { type Chart, plot } from "../../report/plot.ts";
import { kvOneOverLLine, kvSweepRows } from "./analyze.ts";
import type { KvMeasurement } from "./measure.ts";
import type { KvLoadSample } from "./rows.ts";

/**
 * Max concurrency (requests of max-model-len) against max-model-len, log-log, the engines' reports as
 * labelled dots, and the wide gray line c / L through the shortest length.
 *
 * @example
 * ```ts
 * await show(kvConcurrencyChart(M));
 * ```
 */
export function kvConcurrencyChart(M: Pick<KvMeasurement, "rows" | "engine_label">): Chart {
  const sweep = kvSweepRows(M.rows);
  return plot({
    title: "Max concurrency against max-model-len (log-log)",
    subtitle: M.engine_label,
    caption:
      "Dots: what each engine reported. Wide gray line: c / L through the shortest length, what a fixed pool predicts.",
    marginTop: 30,
    marginRight: 40,
    x: { type: "log", label: "max-model-len (tokens)" },
    y: { type: "log", label: "max concurrency (requests of max-model-len)" },
    marks: [
      Plot.line(kvOneOverLLine(M.rows), {
        x: "max_model_len",
        y: "max_concurrency",
        stroke: "gray",
        strokeWidth: 8,
        strokeOpacity: 0.3,
      }),
      Plot.line(sweep, { x: "max_model_len", y: "max_concurrency" }),
      Plot.dot(sweep, { x: "max_model_len", y: "max_concurrency", fill: "currentColor" }),
      Plot.text(sweep, { x: "max_model_len", y: "max_concurrency", text: "max_concurrency", dy: -10 }),
    ],
  });
}

/**
 * GPU memory used (solid) and the KV pool available (dashed) against max-model-len, in GiB.
 *
 * @example
 * ```ts
 * await show(kvMemoryChart(M));
 * ```
 */
export function kvMemoryChart(M: Pick<KvMeasurement, "rows" | "engine_label">): Chart {
  const sweep = kvSweepRows(M.rows);
  const last = sweep.slice(-1);
  return plot({
    title: "GPU memory used and KV pool against max-model-len",
    subtitle: M.engine_label,
    caption: "GiB; gpu_mem_source in the table says where memory used comes from.",
    x: { type: "log", label: "max-model-len (tokens)" },
    y: { label: "GiB", zero: true },
    marginRight: 150,
    marks: [
      Plot.line(sweep, { x: "max_model_len", y: "gpu_mem_used_gib" }),
      Plot.dot(sweep, { x: "max_model_len", y: "gpu_mem_used_gib", fill: "currentColor" }),
      Plot.line(sweep, { x: "max_model_len", y: "available_kv_gib", strokeDasharray: "4 3" }),
      Plot.dot(sweep, { x: "max_model_len", y: "available_kv_gib" }),
      Plot.text(last, {
        x: "max_model_len",
        y: "gpu_mem_used_gib",
        text: ["GPU memory used"],
        dx: 8,
        dy: -6,
        textAnchor: "start",
      }),
      Plot.text(last, {
        x: "max_model_len",
        y: "available_kv_gib",
        text: ["KV pool (available)"],
        dx: 8,
        dy: 6,
        textAnchor: "start",
      }),
    ],
  });
}

/**
 * The load confirmation: requests running (solid) and waiting (red) over each step, one panel per
 * concurrency, the predicted max concurrency as a gray rule; a step the client self-check invalidated
 * says so in its panel.
 *
 * @example
 * ```ts
 * const samples = M.samples_csv && M.load_rows.length ? await readCsv(M.samples_csv, KvLoadSample) : [];
 * await show(kvLoadChart(M, samples));
 * ```
 */
export function kvLoadChart(
  M: Pick<KvMeasurement, "load_rows" | "engine_label">,
  samples: readonly KvLoadSample[],
): Chart {
  return plot({
    title: "Requests running (solid) and waiting (red) during each step",
    subtitle: M.engine_label,
    caption:
      "One panel per concurrency; the gray rule is the predicted max concurrency; a red note marks a step the client self-check invalidated.",
    x: { label: "ms since the step started" },
    y: { label: "requests" },
    fy: { label: "concurrent requests sent" },
    marginRight: 60,
    marks: [
      Plot.ruleY(M.load_rows.slice(0, 1), {
        y: "predicted_max_concurrent",
        stroke: "gray",
        strokeDasharray: "4 3",
      }),
      Plot.line(samples, { x: "t_ms", y: "running", fy: "concurrent" }),
      Plot.line(samples, { x: "t_ms", y: "waiting", fy: "concurrent", stroke: "red" }),
      // A step where the client was the bottleneck (self-check failed) is invalid: say so in its panel.
      Plot.text(M.load_rows.filter((r) => r.client_ok === false), {
        fy: "concurrent",
        text: () => "invalid: client too slow",
        frameAnchor: "top-left",
        fill: "red",
      }),
    ],
  });
}
