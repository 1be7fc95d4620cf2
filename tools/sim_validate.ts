/**
 * The embedded engine against published vLLM measurements on GPUs (data/validation/gpu_published.json):
 * runs simulate() on each row's workload, prints the error per row and the per-profile error per metric
 * on held-out rows, and (with --fit) fits the timing block of every profile with at least 3 "fit" rows.
 *
 *   deno run -A tools/sim_validate.ts                 print the table with the catalog as it stands
 *   deno run -A tools/sim_validate.ts --fit --write   fit, write data/gpus/<profile>.json timing blocks and
 *                                                     data/validation/gpu_results.json
 *   deno run -A tools/sim_validate.ts --kernels data/validation/kernel_timing_H100-80GB.json --gpu H100-80GB
 *                                                     the step-cost model's kernel part beside measured kernels
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type GpuSpec, loadGpu, loadModel } from "../lib/sim/mod.ts";
import {
  evaluateRows,
  loadResults,
  loadValidationRows,
  type Metric,
  METRICS,
  type RowResult,
  summarizeErrors,
  type ValidationRow,
} from "../lib/sim/mod.ts";
import {
  compareKernels,
  fitKernelModel,
  fitTiming,
  type KernelPoint,
  type TimingFit,
  withTiming,
} from "../lib/sim/mod.ts";

const DATA = new URL("../data/", import.meta.url);
const MIN_FIT_ROWS = 3;

const pct = (x: number | undefined) => x === undefined ? "" : `${x >= 0 ? "+" : ""}${(x * 100).toFixed(0)} %`;
const num = (x: number | undefined) => x === undefined ? "" : x >= 100 ? x.toFixed(0) : x.toPrecision(3);

/** Markdown table of rows: measured, predicted, error per metric. */
export function rowsTable(results: RowResult[], rows: ValidationRow[]): string {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const lines = [
    "| row | GPU | model | workload | metric | measured | predicted | error | in fit |",
    "|---|---|---|---|---|---:|---:|---:|---|",
  ];
  const reasons: string[] = [];
  const note = (why: string) => {
    const key = why.replace(/\d[\d.]*/g, "N");
    let i = reasons.findIndex((x) => x.replace(/\d[\d.]*/g, "N") === key);
    if (i < 0) i = reasons.push(why) - 1;
    return `excluded (${i + 1})`;
  };
  for (const r of results) {
    const w = byId.get(r.id)!.workload;
    const wl = `${r.benchmark} ${w.input_tokens}/${w.output_tokens}` +
      (w.batch ? ` batch ${w.batch}` : w.concurrency ? ` c=${w.concurrency}` : ` ${w.num_prompts} prompts`);
    for (const k of METRICS) {
      if (r.measured[k] === undefined) continue;
      const ex = r.excluded[k] ? `, ${note(r.excluded[k]!)}` : "";
      lines.push(
        `| ${r.id} | ${r.gpu} | ${r.model} | ${wl} | ${k} | ${num(r.measured[k])} | ${
          num(r.predicted[k])
        } | ` +
          `${pct(r.error[k])}${ex} | ${r.used_in_fit ? "yes" : "no"} |`,
      );
    }
  }
  if (reasons.length) lines.push("", ...reasons.map((why, i) => `(${i + 1}) e.g. ${why}.`));
  return lines.join("\n");
}

/** Markdown table: per profile and metric, median |error| (n) on held-out and in-fit rows. */
export function summaryTable(results: RowResult[]): string {
  const gpus = [...new Set(results.map((r) => r.gpu))].sort();
  const lines = [
    `| profile | rows | ${METRICS.map((m) => `${m} held-out`).join(" | ")} | ${
      METRICS.map((m) => `${m} in fit`).join(" | ")
    } |`,
    `|---|---:|${METRICS.map(() => "---:").join("|")}|${METRICS.map(() => "---:").join("|")}|`,
  ];
  const cell = (e: ReturnType<typeof summarizeErrors>, k: Metric) =>
    e[k]
      ? `${(e[k]!.median_abs * 100).toFixed(0)} % (n=${e[k]!.n}, max ${(e[k]!.max_abs * 100).toFixed(0)} %)`
      : "";
  for (const g of gpus) {
    const mine = results.filter((r) => r.gpu === g);
    const held = summarizeErrors(mine.filter((r) => !r.used_in_fit));
    const fit = summarizeErrors(mine.filter((r) => r.used_in_fit));
    lines.push(
      `| ${g} | ${mine.length} | ${METRICS.map((k) => cell(held, k)).join(" | ")} | ${
        METRICS.map((k) => cell(fit, k)).join(" | ")
      } |`,
    );
  }
  return lines.join("\n");
}

/** Kernel points of a tools/gpu/kernel_timing.py result file. */
export function kernelPoints(path: string): { device: string; points: KernelPoint[] } {
  const raw = JSON.parse(Deno.readTextFileSync(path));
  const points: KernelPoint[] = [];
  for (const m of raw.models ?? []) {
    for (const p of m.prefill ?? []) {
      if (typeof p.ms === "number") {
        points.push({ model: m.model, phase: "prefill", tokens: p.tokens, measured_ms: p.ms });
      }
    }
    for (const p of m.decode ?? []) {
      if (typeof p.ms === "number") {
        points.push({
          model: m.model,
          phase: "decode",
          batch: p.batch,
          context: p.context,
          measured_ms: p.ms,
        });
      }
    }
  }
  if (points.length === 0) {
    throw new Error(`${path} has no measured kernel points (tools/gpu/kernel_timing.py output).`);
  }
  return { device: raw.device?.name ?? "unknown device", points };
}

function writeTiming(gpu: GpuSpec, fit: TimingFit, today: string) {
  const url = new URL(`gpus/${gpu.name}.json`, DATA);
  const raw = JSON.parse(Deno.readTextFileSync(url));
  raw.timing = { ...(raw.timing ?? {}), ...fit.timing };
  const why = `fitted (tools/sim_validate.ts --fit) to this profile's 'fit' rows of ` +
    `data/validation/gpu_published.json (${fit.points} published numbers), ${today}; held-out error in ` +
    `docs/sim-validation.md`;
  for (const k of Object.keys(fit.timing)) raw.sources[`timing.${k}`] = why;
  Deno.writeTextFileSync(url, JSON.stringify(raw, null, 2) + "\n");
}

/**
 * Re-evaluates every row (published and kept) with the catalog as it stands and rewrites
 * data/validation/gpu_results.json, keeping the last fit's record. For `./servelab calibrate RUN --keep`.
 */
export function refreshResults(): { rows: number } {
  const url = new URL("validation/gpu_results.json", DATA);
  const prev = JSON.parse(Deno.readTextFileSync(url));
  const rows = loadValidationRows();
  const now = evaluateRows(rows, new Set(prev.fitted as string[]));
  Deno.writeTextFileSync(url, JSON.stringify({ ...prev, rows: now }, null, 2) + "\n");
  return { rows: now.length };
}

/** The profile without a timing block this tool wrote (so a refit starts from the constants). */
function withoutFittedTiming(gpu: GpuSpec): GpuSpec {
  const timing = { ...gpu.timing };
  for (const k of ["eff_compute", "eff_memory", "step_overhead_ms"] as const) {
    if (gpu.sources[`timing.${k}`]?.includes("tools/sim_validate.ts")) delete timing[k];
  }
  return { ...gpu, timing };
}

function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      fit: { type: "boolean", default: false },
      write: { type: "boolean", default: false },
      kernels: { type: "string" },
      gpu: { type: "string", default: "H100-80GB" },
    },
  });
  if (values.kernels) {
    const gpu = loadGpu(values.gpu!);
    const { device, points } = kernelPoints(values.kernels);
    const fit = fitKernelModel(gpu, points);
    const eff = { eff_compute: fit.eff_compute, eff_memory: fit.eff_memory };
    console.log(`Kernel part of the step cost vs ${device} (${points.length} shapes), profile ${gpu.name}`);
    console.log(
      "| model | shape | measured ms | model ms (profile eff.) | error | model ms (kernel-fitted eff.) | error |",
    );
    console.log("|---|---|---:|---:|---:|---:|---:|");
    const now = compareKernels(gpu, points);
    const floor = (m: string) => loadModel(m).num_layers * fit.layer_floor_ms;
    const fitted = compareKernels(gpu, points, eff).map((c) => {
      const model_ms = c.model_ms + floor(c.model);
      return { ...c, model_ms, error: (model_ms - c.measured_ms) / c.measured_ms };
    });
    now.forEach((c, i) => {
      const shape = c.phase === "prefill" ? `prefill ${c.tokens}` : `decode B=${c.batch} L=${c.context}`;
      console.log(
        `| ${c.model} | ${shape} | ${num(c.measured_ms)} | ${num(c.model_ms)} | ${pct(c.error)} | ` +
          `${num(fitted[i].model_ms)} | ${pct(fitted[i].error)} |`,
      );
    });
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    console.log(
      `\nkernel fit: eff_compute ${fit.eff_compute}, eff_memory ${fit.eff_memory}, ` +
        `layer floor ${(fit.layer_floor_ms * 1000).toFixed(1)} us per layer; ` +
        `median |error| at the profile's efficiencies ${pct(med(now.map((c) => Math.abs(c.error))))}, ` +
        `kernel-fitted ${pct(med(fitted.map((c) => Math.abs(c.error))))}`,
    );
    return;
  }
  const rows = loadValidationRows();
  if (!values.fit) {
    // Profiles whose timing block a previous --fit --write fitted: their "fit" rows are in-sample.
    const asIs = evaluateRows(rows, new Set(loadResults().fitted));
    console.log("## The catalog as it stands\n");
    console.log(summaryTable(asIs));
    console.log("\n" + rowsTable(asIs, rows));
    return;
  }
  const defaults: Record<string, GpuSpec> = Object.fromEntries(
    [...new Set(rows.map((r) => r.gpu))].map((g) => [g, withoutFittedTiming(loadGpu(g))]),
  );
  const before = evaluateRows(rows, new Set(), defaults);
  console.log("## Before: the constants of lib/sim/constants.ts (no fitted timing block)\n");
  console.log(summaryTable(before));
  const today = new Date().toISOString().slice(0, 10);
  const fits: Record<string, TimingFit> = {};
  const gpus: Record<string, GpuSpec> = { ...defaults };
  for (const name of [...new Set(rows.map((r) => r.gpu))].sort()) {
    const fitRows = rows.filter((r) => r.gpu === name && r.split === "fit");
    if (fitRows.length < MIN_FIT_ROWS) {
      console.log(`\n${name}: ${fitRows.length} fit row(s), fewer than ${MIN_FIT_ROWS}: not fitted`);
      continue;
    }
    const gpu = defaults[name];
    const fit = fitTiming(gpu, fitRows);
    fits[name] = fit;
    gpus[name] = withTiming(gpu, fit.timing);
    console.log(
      `\n${name}: fitted on ${fitRows.length} rows (${fit.points} numbers): ${JSON.stringify(fit.timing)}, ` +
        `loss ${fit.loss.toFixed(4)}`,
    );
  }
  const after = evaluateRows(rows, new Set(Object.keys(fits)), gpus);
  console.log("\n## After the fit (held-out rows never entered it)\n");
  console.log(summaryTable(after));
  console.log("\n" + rowsTable(after, rows));
  if (values.write) {
    for (const [name, fit] of Object.entries(fits)) writeTiming(loadGpu(name), fit, today);
    const out = {
      generated_by: "deno run -A tools/sim_validate.ts --fit --write",
      generated_on: today,
      fitted: Object.keys(fits),
      fits,
      before: before.map((r) => ({ id: r.id, predicted: r.predicted, error: r.error })),
      rows: after,
    };
    Deno.writeTextFileSync(new URL("validation/gpu_results.json", DATA), JSON.stringify(out, null, 2) + "\n");
    console.log("\nwrote data/validation/gpu_results.json and the fitted timing blocks");
  }
}

if (import.meta.main) main();
