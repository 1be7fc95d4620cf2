/**
 * Fitting a GPU profile's timing block (eff_compute, eff_memory, step_overhead_ms) to the "fit" rows of
 * the published-measurement table, and the step-cost model's kernel part against measured kernel times
 * (tools/gpu/kernel_timing.py). Held-out rows never enter a fit; tools/sim_validate.ts reports them apart.
 *
 * @example
 * ```ts
 * const rows = loadValidationRows().filter((r) => r.gpu === "A100-80GB" && r.split === "fit");
 * fitTiming(loadGpu("A100-80GB"), rows).timing.eff_compute; // e.g. 0.7
 * ```
 * @module
 */
import { parseServeConfig } from "../engine/config.ts";
import { type GpuSpec, loadModel } from "./catalog.ts";
import { makeStepCost } from "./timing.ts";
import { TIMING } from "./constants.ts";
import { implausibleTtft, METRICS, predictRow, type ValidationRow } from "./validation.ts";

/** The fitted part of a timing block. */
export interface FittedTiming {
  eff_compute: number;
  eff_memory: number;
  step_overhead_ms: number;
}

/** A fit's outcome: the block, its loss (mean squared log error) and how many numbers it saw. */
export interface TimingFit {
  timing: FittedTiming;
  loss: number;
  points: number;
}

/**
 * Search ranges. eff_compute stops at 0.8: an 8192^3 bf16 matmul, the best case, ran at 770 of 989 TFLOP/s
 * (0.78) on the H100 of data/validation/kernel_timing_H100-80GB.json; a fit above that explains a
 * measurement by kernels faster than the hardware's best.
 */
const RANGES: Record<keyof FittedTiming, [number, number]> = {
  eff_compute: [0.15, 0.8],
  eff_memory: [0.3, 0.95],
  step_overhead_ms: [0.2, 8],
};

/** The profile with a timing block replacing its fitted fields. */
export function withTiming(gpu: GpuSpec, t: Partial<FittedTiming>): GpuSpec {
  return { ...gpu, timing: { ...gpu.timing, ...t } };
}

/** Mean squared log(predicted / measured) over the rows' usable metrics, and how many went in. */
export function fitLoss(gpu: GpuSpec, rows: ValidationRow[]): { loss: number; points: number } {
  let sum = 0, n = 0;
  for (const row of rows) {
    const p = predictRow(row, gpu);
    const skipTtft = implausibleTtft(row) !== undefined;
    for (const k of METRICS) {
      const m = row.measured[k], q = p[k];
      if (m === undefined || q === undefined || (k === "ttft_ms" && skipTtft) || row.exclude?.[k]) continue;
      sum += Math.log(q / m) ** 2;
      n++;
    }
  }
  return { loss: n ? sum / n : NaN, points: n };
}

/**
 * Coordinate search (a grid per parameter, narrowing each round) for the block that minimises
 * {@link fitLoss} on `rows` (which must be the profile's "fit" rows; the caller keeps held-out rows out).
 */
export function fitTiming(gpu: GpuSpec, rows: ValidationRow[], rounds = 7): TimingFit {
  if (rows.some((r) => r.split !== "fit")) {
    throw new Error("fitTiming got a held-out row: pass only rows with split 'fit'.");
  }
  const t: FittedTiming = {
    eff_compute: gpu.timing?.eff_compute ?? TIMING.eff_compute_gpu,
    eff_memory: gpu.timing?.eff_memory ?? TIMING.eff_memory_gpu,
    step_overhead_ms: gpu.timing?.step_overhead_ms ?? TIMING.step_overhead_ms_gpu,
  };
  let best = fitLoss(withTiming(gpu, t), rows);
  const span: Record<keyof FittedTiming, number> = {
    eff_compute: RANGES.eff_compute[1] - RANGES.eff_compute[0],
    eff_memory: RANGES.eff_memory[1] - RANGES.eff_memory[0],
    step_overhead_ms: RANGES.step_overhead_ms[1] - RANGES.step_overhead_ms[0],
  };
  for (let round = 0; round < rounds; round++) {
    for (const key of Object.keys(RANGES) as (keyof FittedTiming)[]) {
      const [lo, hi] = RANGES[key];
      const w = span[key];
      const a = Math.max(lo, t[key] - w / 2), b = Math.min(hi, t[key] + w / 2);
      for (let i = 0; i <= 10; i++) {
        const cand = { ...t, [key]: a + (b - a) * i / 10 };
        const l = fitLoss(withTiming(gpu, cand), rows);
        if (l.loss < best.loss) {
          best = l;
          t[key] = cand[key];
        }
      }
      span[key] = w * 0.4;
    }
  }
  const round3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    timing: {
      eff_compute: round3(t.eff_compute),
      eff_memory: round3(t.eff_memory),
      step_overhead_ms: round3(t.step_overhead_ms),
    },
    loss: best.loss,
    points: best.points,
  };
}

/** One measured kernel step (tools/gpu/kernel_timing.py output). */
export interface KernelPoint {
  model: string;
  phase: "prefill" | "decode";
  tokens?: number;
  batch?: number;
  context?: number;
  measured_ms: number;
}

/** The step-cost model's kernel part (roofline, no overheads) beside a measured point. */
export interface KernelComparison extends KernelPoint {
  /** max(compute, memory) at the profile's efficiencies. */
  model_ms: number;
  compute_ms_at_peak: number;
  memory_ms_at_peak: number;
  error: number;
}

/**
 * The kernel part of the step cost for each measured shape: FLOPs and bytes of the step at the profile's
 * datasheet peaks (efficiency 1), and the roofline at the given efficiencies.
 */
export function compareKernels(gpu: GpuSpec, points: KernelPoint[], eff?: Partial<FittedTiming>) {
  const ec = eff?.eff_compute ?? gpu.timing?.eff_compute ?? TIMING.eff_compute_gpu;
  const em = eff?.eff_memory ?? gpu.timing?.eff_memory ?? TIMING.eff_memory_gpu;
  const peak = withTiming(gpu, { eff_compute: 1, eff_memory: 1 });
  return points.map((p): KernelComparison => {
    const model = loadModel(p.model);
    const cfg = parseServeConfig({
      engine: "sim",
      model: p.model,
      max_model_len: Math.min(model.max_position_embeddings, 8192),
      sim: { gpu: gpu.name },
    });
    const cost = makeStepCost(model, peak, cfg);
    const shape = p.phase === "prefill"
      ? { prefill_tokens: p.tokens!, prefill_seqs: 1, decode_seqs: 0, context_tokens: p.tokens! }
      : { prefill_tokens: 0, prefill_seqs: 0, decode_seqs: p.batch!, context_tokens: p.batch! * p.context! };
    const c = cost(shape);
    const model_ms = Math.max(c.compute_ms / ec, c.memory_ms / em);
    return {
      ...p,
      model_ms,
      compute_ms_at_peak: c.compute_ms,
      memory_ms_at_peak: c.memory_ms,
      error: (model_ms - p.measured_ms) / p.measured_ms,
    };
  });
}

/**
 * The kernel model that fits measured kernel times: max(FLOPs / (peak x eff_compute), bytes / (bandwidth x
 * eff_memory)) + layers x layer_floor_ms, the floor being what every layer costs however small (kernel
 * latency inside a graph replay: a term the step-cost model does not have). Grid search on the squared log
 * error; returns the fit and its median |error|.
 */
export function fitKernelModel(gpu: GpuSpec, points: KernelPoint[]): {
  eff_compute: number;
  eff_memory: number;
  layer_floor_ms: number;
  median_abs_error: number;
} {
  const cs = compareKernels(gpu, points, { eff_compute: 1, eff_memory: 1 });
  const layers = points.map((p) => loadModel(p.model).num_layers);
  const errs = (ec: number, em: number, fl: number) =>
    cs.map((c, i) => Math.max(c.compute_ms_at_peak / ec, c.memory_ms_at_peak / em) + layers[i] * fl)
      .map((m, i) => Math.log(m / cs[i].measured_ms));
  let best = { ec: 0.4, em: 0.8, fl: 0, loss: Infinity };
  for (let ec = 0.15; ec <= 0.8001; ec += 0.01) {
    for (let em = 0.3; em <= 0.9501; em += 0.01) {
      for (let fl = 0; fl <= 0.15001; fl += 0.0025) {
        const loss = errs(ec, em, fl).reduce((a, e) => a + e * e, 0);
        if (loss < best.loss) best = { ec, em, fl, loss };
      }
    }
  }
  const abs = errs(best.ec, best.em, best.fl).map((e) => Math.abs(Math.exp(e) - 1)).sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10000) / 10000;
  return {
    eff_compute: r(best.ec),
    eff_memory: r(best.em),
    layer_floor_ms: r(best.fl),
    median_abs_error: abs[abs.length >> 1],
  };
}
