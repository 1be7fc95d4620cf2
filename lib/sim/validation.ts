/**
 * The embedded engine held to published vLLM measurements on real GPUs: the rows of
 * data/validation/gpu_published.json (each with its source), the engine's prediction for each row's
 * workload (virtual time, {@link simulate}), the error per row and metric, and per profile the error on
 * rows no fit has seen. docs/sim-validation.md ("GPU profiles") explains the table and what the model
 * leaves out; tools/sim_validate.ts prints it and refits timing blocks.
 *
 * @example
 * ```ts
 * import { profileValidation, validationNote } from "./validation.ts";
 * profileValidation("A100-80GB").status; // "validated"
 * validationNote("L4"); // "GPU profile L4: not validated (no published vLLM measurement in data/validation/)"
 * ```
 * @module
 */
import { z } from "zod";
import { parseServeConfig } from "../engine/config.ts";
import { type GpuSpec, loadGpu, loadModel } from "./catalog.ts";
import { type SimLoad, simulate, syntheticRequests } from "./simulate.ts";

const DATA = new URL("../../data/validation/", import.meta.url);

/** The metrics a row can carry; the issue's targets are TTFT, ITL and throughput. */
export const METRICS = ["ttft_ms", "itl_ms", "e2e_ms", "throughput_req_s"] as const;
export type Metric = typeof METRICS[number];

const posNum = z.number().positive();

/** One published measurement. */
export const ValidationRow = z.object({
  id: z.string().min(1),
  /**
   * Address of the page, issue or pull request the numbers were read from, or "servelab run RUN_ID" for a
   * row kept from a lab run (`./servelab calibrate RUN --keep`).
   */
  source: z.string().refine((s) => /^https?:\/\/\S+$/.test(s) || /^servelab run \S+/.test(s), {
    message: "needs the address read (http(s)://...) or 'servelab run RUN_ID'",
  }),
  /** Which table or comment of the source. */
  source_note: z.string().min(1),
  vllm_version: z.string().min(1),
  /** Catalog profile name (data/gpus/). */
  gpu: z.string().min(1),
  gpu_as_reported: z.string().min(1),
  /** Catalog model id (data/models/). */
  model: z.string().min(1),
  model_as_reported: z.string().min(1),
  /**
   * latency: `vllm bench latency` (one batch, offline); throughput: `vllm bench throughput` (all prompts
   * at once, offline); serve: a benchmark client against the API server at a fixed concurrency.
   */
  benchmark: z.enum(["latency", "throughput", "serve"]),
  workload: z.object({
    input_tokens: z.number().int().positive(),
    output_tokens: z.number().int().positive(),
    batch: z.number().int().positive().optional(),
    concurrency: z.number().int().positive().optional(),
    /** Open-loop Poisson arrivals at this rate (vllm bench serve --request-rate). */
    rate_rps: z.number().positive().optional(),
    num_prompts: z.number().int().positive().optional(),
    /** How the lab's fixed-length workload departs from the source's (e.g. ShareGPT lengths). */
    approximation: z.string().optional(),
  }).strict(),
  measured: z.object({
    ttft_ms: posNum.optional(),
    itl_ms: posNum.optional(),
    e2e_ms: posNum.optional(),
    throughput_req_s: posNum.optional(),
  }).strict(),
  split: z.enum(["fit", "holdout"]),
  /** Server flags of the source that change what the engine can hold (KV pool, context). */
  engine_args: z.object({
    gpu_memory_utilization: z.number().positive().max(1).optional(),
    max_model_len: z.number().int().positive().optional(),
  }).strict().optional(),
  /** Which statistic the measured TTFT / ITL / E2E are (default "mean", as the published sources give). */
  measured_stat: z.enum(["mean", "median"]).optional(),
  /**
   * Metrics kept out of every summary and fit for a reason known when the row was transcribed (the
   * comparison would measure the lab's approximation of the workload, not the engine); still shown.
   */
  exclude: z.partialRecord(z.enum(["ttft_ms", "itl_ms", "e2e_ms", "throughput_req_s"]), z.string().min(1))
    .optional(),
}).strict().superRefine((r, ctx) => {
  const need = r.benchmark === "latency" ? "batch" : r.benchmark === "serve" ? "concurrency" : "num_prompts";
  if (r.workload[need] === undefined && !(r.benchmark === "serve" && r.workload.rate_rps !== undefined)) {
    ctx.addIssue({ code: "custom", path: ["workload", need], message: `a ${r.benchmark} row needs ${need}` });
  }
  if (Object.keys(r.measured).length === 0) {
    ctx.addIssue({ code: "custom", path: ["measured"], message: "a row needs at least one measured number" });
  }
});
export type ValidationRow = z.infer<typeof ValidationRow>;

/**
 * The published rows, checked: every row's GPU and model must be in the catalog.
 *
 * @example
 * ```ts
 * loadValidationRows().length >= 20; // true
 * ```
 */
export function loadValidationRows(
  url: URL = new URL("gpu_published.json", DATA),
  kept: URL | null = new URL("kept_runs.json", DATA),
): ValidationRow[] {
  const rows = readRows(url);
  if (kept) {
    try {
      Deno.statSync(kept);
    } catch {
      return rows;
    }
    const ids = new Set(rows.map((r) => r.id));
    for (const r of readRows(kept)) {
      if (ids.has(r.id)) {
        throw new Error(`Validation row id '${r.id}' is in ${url.pathname} and ${kept.pathname}.`);
      }
      rows.push(r);
    }
  }
  return rows;
}

function readRows(url: URL): ValidationRow[] {
  let raw: unknown;
  try {
    raw = JSON.parse(Deno.readTextFileSync(url));
  } catch (e) {
    throw new Error(`Cannot read the validation table ${url.pathname}: ${(e as Error).message}.`);
  }
  const r = z.object({ rows: z.array(ValidationRow) }).passthrough().safeParse(raw);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(
      `Invalid validation table ${url.pathname}: ${why}. Fix the row (every number needs a source).`,
    );
  }
  const ids = new Set<string>();
  for (const row of r.data.rows) {
    if (ids.has(row.id)) {
      throw new Error(`Validation table ${url.pathname}: row id '${row.id}' appears twice.`);
    }
    ids.add(row.id);
    loadGpu(row.gpu);
    loadModel(row.model);
  }
  return r.data.rows;
}

/**
 * Why a row's TTFT cannot be a cold prefill on its profile, or undefined: the prompt's matmul FLOPs
 * (2 x parameters x input tokens) over the measured TTFT above the profile's datasheet peak means the
 * measurement did not compute the whole prompt (prefix-cache hits between the benchmark's prompts).
 */
export function implausibleTtft(row: ValidationRow): string | undefined {
  const ttft = row.measured.ttft_ms;
  if (ttft === undefined) return undefined;
  const gpu = loadGpu(row.gpu), model = loadModel(row.model);
  const rate = 2 * model.param_count * row.workload.input_tokens / (ttft / 1000);
  if (rate <= gpu.bf16_flops) return undefined;
  return `prefill of ${row.workload.input_tokens} tokens in ${ttft} ms needs ${(rate / 1e12).toFixed(0)} ` +
    `TFLOP/s, above the ${
      (gpu.bf16_flops / 1e12).toFixed(0)
    } TFLOP/s peak of ${gpu.name}: not a full prefill`;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * What the embedded engine predicts for a row's workload, for the metrics the row measured. Warm
 * engine (benchmarks warm up first); serve rows compare means (the sources report means at
 * concurrency 1), latency rows the batch's end-to-end time, throughput rows requests/s over the run.
 *
 * @example
 * ```ts
 * predictRow(loadValidationRows()[0]).e2e_ms; // ms for one batch of 8 x (32 in, 128 out)
 * ```
 */
export function predictRow(row: ValidationRow, gpu?: GpuSpec): Partial<Record<Metric, number>> {
  const w = row.workload;
  const cfg = parseServeConfig({
    engine: "sim",
    model: row.model,
    max_model_len: row.engine_args?.max_model_len ?? Math.max(4096, w.input_tokens + w.output_tokens),
    ...(row.engine_args?.gpu_memory_utilization
      ? { gpu_memory_utilization: row.engine_args.gpu_memory_utilization }
      : {}),
    sim: { gpu: row.gpu },
  });
  // A serve row without its prompt count (not every source states it) runs max(10 x concurrency, 50).
  const count = row.benchmark === "latency"
    ? w.batch!
    : w.num_prompts ?? Math.max(10 * (w.concurrency ?? 1), 50);
  const load: SimLoad = row.benchmark === "serve" && w.concurrency === undefined
    ? { kind: "rate", rps: w.rate_rps! }
    : { kind: "concurrency", n: row.benchmark === "latency" ? w.batch! : w.concurrency ?? count };
  const r = simulate(cfg, {
    requests: syntheticRequests({
      count,
      prompt_tokens: w.input_tokens,
      max_tokens: w.output_tokens,
      seed: 7,
    }),
    load,
  }, { cold: false, keep_token_times: false, gpu });
  const out: Partial<Record<Metric, number>> = {};
  const m = row.measured;
  const stat = row.measured_stat === "median" ? median : mean;
  if (m.ttft_ms !== undefined) out.ttft_ms = stat(r.records.map((x) => x.ttft_ms));
  if (m.itl_ms !== undefined) out.itl_ms = stat(r.records.map((x) => x.tpot_ms ?? 0));
  if (m.e2e_ms !== undefined) {
    out.e2e_ms = row.benchmark === "latency"
      ? Math.max(...r.records.map((x) => x.end_ms)) - Math.min(...r.records.map((x) => x.arrival_ms))
      : stat(r.records.map((x) => x.e2e_ms));
  }
  if (m.throughput_req_s !== undefined) out.throughput_req_s = r.records.length / (r.duration_ms / 1000);
  return out;
}

/** One row's outcome. */
export interface RowResult {
  id: string;
  gpu: string;
  model: string;
  benchmark: ValidationRow["benchmark"];
  split: ValidationRow["split"];
  /** True when a timing block in data/gpus/ was fitted on this row. */
  used_in_fit: boolean;
  measured: Partial<Record<Metric, number>>;
  predicted: Partial<Record<Metric, number>>;
  /** (predicted - measured) / measured, per metric compared. */
  error: Partial<Record<Metric, number>>;
  /** Metrics left out of every summary, with the reason. */
  excluded: Partial<Record<Metric, string>>;
}

/**
 * Runs the engine on every row. `fitted` names the profiles whose timing block was fitted (their "fit"
 * rows are then in-sample); `gpus` replaces catalog profiles (fits try candidates through it).
 */
export function evaluateRows(
  rows: ValidationRow[],
  fitted: ReadonlySet<string>,
  gpus: Record<string, GpuSpec> = {},
): RowResult[] {
  return rows.map((row) => {
    const predicted = predictRow(row, gpus[row.gpu]);
    const error: Partial<Record<Metric, number>> = {};
    const excluded: Partial<Record<Metric, string>> = {};
    for (const k of METRICS) {
      const m = row.measured[k], p = predicted[k];
      if (m === undefined || p === undefined) continue;
      error[k] = (p - m) / m;
    }
    Object.assign(excluded, row.exclude ?? {});
    const bad = implausibleTtft(row);
    if (bad) excluded.ttft_ms = bad;
    return {
      id: row.id,
      gpu: row.gpu,
      model: row.model,
      benchmark: row.benchmark,
      split: row.split,
      used_in_fit: row.split === "fit" && fitted.has(row.gpu),
      measured: row.measured,
      predicted,
      error,
      excluded,
    };
  });
}

/** Error of one metric over a set of rows. */
export interface MetricError {
  n: number;
  /** Median of |error|. */
  median_abs: number;
  max_abs: number;
  /** Mean signed error: > 0 when the engine predicts too high. */
  mean_signed: number;
}

/** Per-metric error of the rows (excluded metrics left out); metrics with no rows are absent. */
export function summarizeErrors(results: RowResult[]): Partial<Record<Metric, MetricError>> {
  const out: Partial<Record<Metric, MetricError>> = {};
  for (const k of METRICS) {
    const es = results.filter((r) => r.error[k] !== undefined && !r.excluded[k]).map((r) => r.error[k]!);
    if (es.length === 0) continue;
    const abs = es.map(Math.abs);
    out[k] = { n: es.length, median_abs: median(abs), max_abs: Math.max(...abs), mean_signed: mean(es) };
  }
  return out;
}

/** A profile's standing against published measurements. */
export interface ProfileValidation {
  gpu: string;
  status: "validated" | "not validated";
  /** Error on rows no fit has seen (held out, or of a profile with no fitted block). */
  held_out: Partial<Record<Metric, MetricError>>;
  /** Error on the rows the profile's timing block was fitted to (in-sample). */
  in_fit: Partial<Record<Metric, MetricError>>;
  rows: RowResult[];
  /** Whether every held-out metric is within the issue's 20 % target (median |error|). */
  within_target: boolean;
}

/** The committed results of tools/sim_validate.ts (data/validation/gpu_results.json). */
export const ResultsFile = z.object({
  generated_by: z.string(),
  fitted: z.array(z.string()),
  rows: z.array(z.any()),
}).passthrough();

let cached: { fitted: string[]; rows: RowResult[] } | undefined;

/** Reads the committed results (not recomputed: pages call this on every render). */
export function loadResults(
  url: URL = new URL("gpu_results.json", DATA),
): { fitted: string[]; rows: RowResult[] } {
  if (cached && url.href === new URL("gpu_results.json", DATA).href) return cached;
  let raw: unknown;
  try {
    raw = JSON.parse(Deno.readTextFileSync(url));
  } catch (e) {
    throw new Error(
      `Cannot read ${url.pathname}: ${
        (e as Error).message
      }. Run \`deno run -A tools/sim_validate.ts --write\`.`,
    );
  }
  const r = ResultsFile.parse(raw);
  const out = { fitted: r.fitted, rows: r.rows as RowResult[] };
  if (url.href === new URL("gpu_results.json", DATA).href) cached = out;
  return out;
}

/** The metrics the issue's target names (TTFT p50, ITL p50, throughput). */
export const TARGET_METRICS: readonly Metric[] = ["ttft_ms", "itl_ms", "throughput_req_s"];

/** Target of the issue: median |error| per metric on held-out rows within 20 %. */
export const TARGET_ABS_ERROR = 0.2;

/**
 * A profile's validation: "validated" when published measurements exist for it and rows outside any fit
 * were compared; the errors per metric.
 *
 * @example
 * ```ts
 * profileValidation("H100-80GB").held_out.e2e_ms?.median_abs; // e.g. 0.05
 * ```
 */
export function profileValidation(gpuName: string): ProfileValidation {
  const gpu = loadGpu(gpuName).name;
  const { rows } = loadResults();
  const mine = rows.filter((r) => r.gpu === gpu);
  const held = summarizeErrors(mine.filter((r) => !r.used_in_fit));
  const fit = summarizeErrors(mine.filter((r) => r.used_in_fit));
  const validated = Object.keys(held).length > 0;
  return {
    gpu,
    status: validated ? "validated" : "not validated",
    held_out: held,
    in_fit: fit,
    rows: mine,
    within_target: validated && Object.values(held).every((e) => e!.median_abs <= TARGET_ABS_ERROR),
  };
}

const LABEL: Record<Metric, string> = {
  ttft_ms: "TTFT",
  itl_ms: "ITL",
  e2e_ms: "E2E latency",
  throughput_req_s: "throughput",
};

/**
 * One line for every page that shows simulated GPU numbers: the profile's held-out error per metric, or
 * "not validated". CPU profiles point at their own calibration (docs/sim-validation.md).
 *
 * @example
 * ```ts
 * validationNote("A100-80GB");
 * // "GPU profile A100-80GB: validated against 14 published vLLM measurements; held-out error (median |x|) TTFT 12 %, ..."
 * ```
 */
export function validationNote(gpuName: string): string {
  let gpu: GpuSpec;
  try {
    gpu = loadGpu(gpuName);
  } catch {
    return `device profile ${gpuName}: not validated (not in the catalog)`;
  }
  if (gpu.kind === "cpu") {
    return gpu.timing
      ? `CPU profile ${gpu.name}: timing fitted to vLLM's CPU backend (docs/sim-validation.md)`
      : `CPU profile ${gpu.name}: not validated (no fitted timing; see docs/sim-validation.md)`;
  }
  const v = profileValidation(gpu.name);
  if (v.status === "not validated") {
    return `GPU profile ${gpu.name}: not validated (no published vLLM measurement in data/validation/)`;
  }
  const parts = (Object.entries(v.held_out) as [Metric, MetricError][])
    .map(([k, e]) => `${LABEL[k]} ${(e.median_abs * 100).toFixed(0)} % (n=${e.n})`);
  return `GPU profile ${gpu.name}: validated against ${v.rows.length} published vLLM measurements; ` +
    `held-out error (median |predicted/measured - 1|) ${parts.join(", ")}` +
    (v.within_target ? "" : "; outside the 20 % target") +
    (TARGET_METRICS.some((k) => !v.held_out[k])
      ? `; not validated: ${TARGET_METRICS.filter((k) => !v.held_out[k]).map((k) => LABEL[k]).join(", ")}`
      : "") +
    " (docs/sim-validation.md)";
}

/**
 * The short form for an engine label: "validated on published vLLM runs: held-out error TTFT 23 %, ITL
 * 2 %" or "not validated on a real GPU". Never throws (a label must render).
 *
 * @example
 * ```ts
 * validationShort("L4"); // "not validated on a real GPU"
 * ```
 */
export function validationShort(gpuName: string): string {
  let gpu: GpuSpec;
  try {
    gpu = loadGpu(gpuName);
  } catch {
    return "not validated (unknown profile)";
  }
  if (gpu.kind === "cpu") return gpu.timing ? "timing fitted to vLLM's CPU backend" : "not validated";
  let v: ProfileValidation;
  try {
    v = profileValidation(gpu.name);
  } catch {
    return "not validated (no validation results)";
  }
  if (v.status === "not validated") return "not validated on a real GPU";
  const parts = (Object.entries(v.held_out) as [Metric, MetricError][])
    .map(([k, e]) => `${LABEL[k]} ${(e.median_abs * 100).toFixed(0)} %`);
  const missing = TARGET_METRICS.filter((k) => !v.held_out[k]).map((k) => LABEL[k]);
  return `validated on published vLLM runs: held-out error ${parts.join(", ")}` +
    (missing.length ? `; ${missing.join(", ")} not validated` : "");
}
