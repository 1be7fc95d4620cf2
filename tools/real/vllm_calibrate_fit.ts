/**
 * Calibration of the embedded engine against a real engine: measured workloads in, a device profile with
 * fitted timing constants out (`timing.*` of data/gpus/*.json), plus the error table of a held-out
 * comparison. Pure functions; tools/real/vllm_calibrate.ts measures and writes the files.
 *
 * The fit uses the sim's own step-cost model (lib/sim/timing.ts), so the fitted constants mean what they
 * mean in the sim: for the "fit" workloads, which are simple enough to predict in closed form, it predicts
 * - a lone request's TTFT: frontend overhead + one prefill step of the whole prompt;
 * - steady decode at concurrency b: one decode step of b sequences over their mean context;
 * and minimises the sum of squared log errors over eff_compute, eff_memory, step_overhead_ms,
 * per_seq_overhead_ms and frontend_overhead_ms (Nelder-Mead on log-parameters).
 * @module
 */
import { z } from "zod";
import type { ServeConfig } from "../../lib/mod.ts";
import {
  frontendOverheadMs,
  GpuSpec,
  makeStepCost,
  type ModelSpec,
  type ProfileTiming,
} from "../../lib/sim/mod.ts";

/** One measured workload. `set` says whether the fit may use it ("fit") or must not ("holdout"). */
export const Measurement = z.object({
  name: z.string(),
  set: z.enum(["fit", "holdout"]),
  /** prefill: lone requests (TTFT); decode: closed loop of `concurrency` (ITL); load: a mixed workload. */
  kind: z.enum(["prefill", "decode", "load"]),
  load: z.string(),
  concurrency: z.number().int().positive().optional(),
  prompt_tokens: z.number().int().positive(),
  output_tokens: z.number().int().positive(),
  requests_ok: z.number().int().nonnegative(),
  requests_failed: z.number().int().nonnegative(),
  ttft_p50_ms: z.number().optional(),
  /**
   * p50 over requests of the mean inter-token time, (last chunk - first chunk) / (tokens - 1): vLLM's TPOT.
   * The comparison's ITL, because vLLM's CPU API server sometimes sends several tokens in one chunk or
   * chunks back to back, which makes the per-gap median meaningless (see itl_gap_p50_ms).
   */
  itl_p50_ms: z.number().optional(),
  /** p50 of every inter-chunk gap (the lab's per-gap ITL). */
  itl_gap_p50_ms: z.number().optional(),
  /** Chunks received per output token (1 when every token came in its own SSE event). */
  chunks_per_token: z.number().optional(),
  /**
   * Server-side means from the engine's own histograms over the workload's window (`/metrics` before and
   * after): arrival to first token, and every gap between output tokens. Immune to the load client being
   * starved of CPU, which the client-side p50s are not on a shared 2-core host.
   */
  server_ttft_mean_ms: z.number().optional(),
  server_itl_mean_ms: z.number().optional(),
  /** The load client's own event-loop lag p99 (worst repeat) and whether every repeat passed its self-check. */
  client_lag_p99_ms: z.number().optional(),
  client_ok: z.boolean().optional(),
  /** With repeats: each repeat's value (the fields above are their medians). */
  runs: z.object({
    ttft_p50_ms: z.array(z.number().optional()),
    itl_p50_ms: z.array(z.number().optional()),
    output_tok_s: z.array(z.number().optional()),
    server_ttft_mean_ms: z.array(z.number().optional()).optional(),
    server_itl_mean_ms: z.array(z.number().optional()).optional(),
  }).optional(),
  /** Failed requests by error kind, with the first message. */
  errors: z.record(z.string(), z.object({ count: z.number().int(), first_message: z.string() })).optional(),
  output_tok_s: z.number().optional(),
  duration_s: z.number().optional(),
});
export type Measurement = z.infer<typeof Measurement>;

/**
 * Merges the repeats of one workload: medians of TTFT p50, ITL p50 and throughput (each repeat kept in
 * `runs`), request counts summed, errors merged.
 *
 * @example
 * ```ts
 * mergeRepeats([a, b, c]).ttft_p50_ms; // the median of the three
 * ```
 */
export function mergeRepeats(reps: readonly Measurement[]): Measurement {
  if (reps.length === 0) {
    throw new RangeError("Cannot merge zero repeats; measure the workload at least once.");
  }
  const med = (xs: (number | undefined)[]): number | undefined => {
    const v = xs.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    if (v.length === 0) return undefined;
    const m = Math.floor(v.length / 2);
    return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  };
  const errors: NonNullable<Measurement["errors"]> = {};
  for (const r of reps) {
    for (const [k, e] of Object.entries(r.errors ?? {})) {
      errors[k] = {
        count: (errors[k]?.count ?? 0) + e.count,
        first_message: errors[k]?.first_message ?? e.first_message,
      };
    }
  }
  return {
    ...reps[0],
    requests_ok: reps.reduce((s, r) => s + r.requests_ok, 0),
    requests_failed: reps.reduce((s, r) => s + r.requests_failed, 0),
    ttft_p50_ms: med(reps.map((r) => r.ttft_p50_ms)),
    itl_p50_ms: med(reps.map((r) => r.itl_p50_ms)),
    itl_gap_p50_ms: med(reps.map((r) => r.itl_gap_p50_ms)),
    chunks_per_token: med(reps.map((r) => r.chunks_per_token)),
    output_tok_s: med(reps.map((r) => r.output_tok_s)),
    duration_s: med(reps.map((r) => r.duration_s)),
    server_ttft_mean_ms: med(reps.map((r) => r.server_ttft_mean_ms)),
    server_itl_mean_ms: med(reps.map((r) => r.server_itl_mean_ms)),
    client_lag_p99_ms: reps.some((r) => r.client_lag_p99_ms !== undefined)
      ? Math.max(...reps.map((r) => r.client_lag_p99_ms ?? 0))
      : undefined,
    client_ok: reps.some((r) => r.client_ok !== undefined)
      ? reps.every((r) => r.client_ok !== false)
      : undefined,
    runs: {
      ttft_p50_ms: reps.map((r) => r.ttft_p50_ms),
      itl_p50_ms: reps.map((r) => r.itl_p50_ms),
      output_tok_s: reps.map((r) => r.output_tok_s),
      server_ttft_mean_ms: reps.map((r) => r.server_ttft_mean_ms),
      server_itl_mean_ms: reps.map((r) => r.server_itl_mean_ms),
    },
    errors: Object.keys(errors).length > 0 ? errors : undefined,
  };
}

/** What `vllm_calibrate.ts measure` writes. */
export const MeasurementFile = z.object({
  engine: z.string(),
  version: z.string().optional(),
  model: z.string(),
  profile: z.string().optional(),
  host: z.string(),
  started_at: z.string(),
  command: z.string(),
  serve_args: z.array(z.string()),
  /** /proc/loadavg's 1-minute load when the workloads started and ended (2 cores: above ~2 is contention). */
  load_avg_start: z.number().optional(),
  load_avg_end: z.number().optional(),
  /** First request after ready (short prompt) and the warm median of the same request. */
  cold_ttft_ms: z.number().optional(),
  warm_ttft_ms: z.number().optional(),
  /** Seconds from spawn to /health 200 (the launcher's clock); for the sim, its simulated startup's sum. */
  ready_s: z.number().optional(),
  /** CPU sets of the measurement (lib/engine/cpus.ts): the engine's group and this client process. */
  cpus: z.object({ engine: z.string(), client: z.string() }).optional(),
  workloads: z.array(Measurement),
});
export type MeasurementFile = z.infer<typeof MeasurementFile>;

/** The fitted constants (the subset of {@link ProfileTiming} the fit chooses). */
export const FIT_KEYS = [
  "eff_compute",
  "eff_memory",
  "step_overhead_ms",
  "per_seq_overhead_ms",
  "frontend_overhead_ms",
] as const;
type FitKey = typeof FIT_KEYS[number];
export type FittedTiming = Record<FitKey, number>;

/** A prediction of a fit workload's TTFT or ITL under a profile, in ms. */
export function predictFitWorkload(
  model: ModelSpec,
  gpu: GpuSpec,
  cfg: ServeConfig,
  w: Measurement,
): { ttft_ms?: number; itl_ms?: number } {
  const cost = makeStepCost(model, gpu, cfg);
  if (w.kind === "prefill") {
    const n = w.prompt_tokens;
    const step = cost({ prefill_tokens: n, prefill_seqs: 1, decode_seqs: 0, context_tokens: n }).total_ms;
    return { ttft_ms: frontendOverheadMs(n, gpu) + step };
  }
  if (w.kind === "decode") {
    const b = w.concurrency ?? 1;
    const ctx = w.prompt_tokens + w.output_tokens / 2;
    return {
      itl_ms: cost({ prefill_tokens: 0, prefill_seqs: 0, decode_seqs: b, context_tokens: b * ctx }).total_ms,
    };
  }
  return {};
}

/** The lab's client-lag limit (Tiers 1 and 3b): a client within it kept up with the workload. */
export const CLIENT_LAG_LIMIT_MS = 15;

/**
 * The TTFT a fit takes from a measured workload. The embedded engine's TTFT runs from the client's send to
 * the first token, API server included, as the client's p50 does; the engine's own histogram starts later
 * and misses part of the API server's time. So the client's p50 when the client kept up (its lag p99 within
 * {@link CLIENT_LAG_LIMIT_MS}), else the engine's mean (robust to a starved client: runs b-f on a loaded host).
 *
 * @example
 * ```ts
 * ttftTarget({ ...w, ttft_p50_ms: 31, server_ttft_mean_ms: 27, client_lag_p99_ms: 4 }); // { v: 31, side: "client" }
 * ```
 */
export function ttftTarget(w: Measurement): { v: number; side: "client" | "engine" } | undefined {
  const keptUp = w.client_lag_p99_ms !== undefined && w.client_lag_p99_ms <= CLIENT_LAG_LIMIT_MS;
  if (keptUp && w.ttft_p50_ms !== undefined) return { v: w.ttft_p50_ms, side: "client" };
  if (w.server_ttft_mean_ms !== undefined) return { v: w.server_ttft_mean_ms, side: "engine" };
  return w.ttft_p50_ms !== undefined ? { v: w.ttft_p50_ms, side: "client" } : undefined;
}

/** The observations a fit uses: (workload, metric, measured value). */
function observations(
  ws: readonly Measurement[],
): { w: Measurement; metric: "ttft_ms" | "itl_ms"; v: number }[] {
  const out: { w: Measurement; metric: "ttft_ms" | "itl_ms"; v: number }[] = [];
  for (const w of ws) {
    if (w.set !== "fit") continue;
    // TTFT: ttftTarget. ITL: the engine's mean when it exports one (robust to a starved client), else the client p50.
    const ttft = ttftTarget(w)?.v;
    const itl = w.server_itl_mean_ms ?? w.itl_p50_ms;
    if (w.kind === "prefill" && ttft !== undefined) out.push({ w, metric: "ttft_ms", v: ttft });
    if (w.kind === "decode" && itl !== undefined) out.push({ w, metric: "itl_ms", v: itl });
  }
  return out;
}

/**
 * The `process_start_s` that makes the simulated startup (every phase of `phases`, process start
 * included) add up to the measured time to ready: measured minus the other phases, at least 0.
 *
 * @example
 * ```ts
 * fitProcessStart(61.3, startupPhases(model, gpu, cfg)); // 47.6 when the other phases sum to 13.7 s
 * ```
 */
export function fitProcessStart(
  ready_s: number,
  phases: readonly { name: string; seconds: number }[],
): number {
  const others = phases.filter((p) => p.name !== "process_start").reduce((s, p) => s + p.seconds, 0);
  return Math.max(0, ready_s - others);
}

/** A profile with the given timing constants (sources say they were fitted). */
export function withTiming(base: GpuSpec, name: string, timing: ProfileTiming, source: string): GpuSpec {
  const sources: Record<string, string> = { ...base.sources };
  for (const k of Object.keys(timing)) sources[`timing.${k}`] = source;
  return GpuSpec.parse({ ...base, name, aliases: [], timing: { ...base.timing, ...timing }, sources });
}

/** What {@link fitTiming} returns. */
export interface FitResult {
  timing: FittedTiming;
  /** Per observation: measured, predicted, error in percent of measured. */
  residuals: { name: string; metric: string; measured_ms: number; predicted_ms: number; error_pct: number }[];
  /** Root mean square of the log errors (0.1 ~ 10 %). */
  rms_log_error: number;
}

/**
 * Fits the timing constants of `base` to the "fit" workloads of a measurement file.
 *
 * @example
 * ```ts
 * const fit = fitTiming(loadModel(dir), loadGpu("cpu"), cfg, file.workloads);
 * fit.timing.step_overhead_ms;
 * ```
 */
export function fitTiming(
  model: ModelSpec,
  base: GpuSpec,
  cfg: ServeConfig,
  ws: readonly Measurement[],
): FitResult {
  const obs = observations(ws);
  if (obs.length < FIT_KEYS.length) {
    throw new RangeError(
      `Cannot fit ${FIT_KEYS.length} timing constants from ${obs.length} fit observations; measure at least ` +
        `${FIT_KEYS.length} fit workloads (prefill TTFT and decode ITL).`,
    );
  }
  const toTiming = (x: number[]): FittedTiming => {
    const t = Object.fromEntries(FIT_KEYS.map((k, i) => [k, Math.exp(x[i])])) as FittedTiming;
    t.eff_compute = Math.min(t.eff_compute, 1);
    t.eff_memory = Math.min(t.eff_memory, 1);
    return t;
  };
  const profileOf = (t: FittedTiming) => ({ ...base, timing: { ...base.timing, ...t } });
  const loss = (x: number[]): number => {
    const gpu = profileOf(toTiming(x));
    let s = 0;
    for (const o of obs) {
      const p = predictFitWorkload(model, gpu, cfg, o.w)[o.metric]!;
      s += Math.log(p / o.v) ** 2;
    }
    // Keep the efficiencies inside (0, 1]: a soft wall past 1.
    s += Math.max(0, x[0]) ** 2 * 10 + Math.max(0, x[1]) ** 2 * 10;
    return s;
  };
  const start = [Math.log(0.5), Math.log(0.6), Math.log(3), Math.log(0.05), Math.log(3)];
  const x = nelderMead(loss, start, { iterations: 4000, step: 0.7 });
  const timing = toTiming(x);
  const gpu = profileOf(timing);
  const residuals = obs.map((o) => {
    const p = predictFitWorkload(model, gpu, cfg, o.w)[o.metric]!;
    return {
      name: o.w.name,
      metric: o.metric,
      measured_ms: o.v,
      predicted_ms: p,
      error_pct: (p - o.v) / o.v * 100,
    };
  });
  const rms = Math.sqrt(
    residuals.reduce((s, r) => s + Math.log(r.predicted_ms / r.measured_ms) ** 2, 0) / obs.length,
  );
  return { timing, residuals, rms_log_error: rms };
}

/**
 * Nelder-Mead minimisation (standard coefficients 1, 2, 0.5, 0.5), restarted once from its result.
 *
 * @example
 * ```ts
 * nelderMead(([a, b]) => (a - 1) ** 2 + (b + 2) ** 2, [0, 0]); // ~[1, -2]
 * ```
 */
export function nelderMead(
  f: (x: number[]) => number,
  x0: number[],
  opts: { iterations?: number; step?: number; tolerance?: number } = {},
): number[] {
  const iterations = opts.iterations ?? 2000;
  const tol = opts.tolerance ?? 1e-12;
  let best = x0;
  for (let restart = 0; restart < 2; restart++) {
    const n = best.length;
    let simplex = [best, ...best.map((_, i) => best.map((v, j) => (i === j ? v + (opts.step ?? 0.5) : v)))]
      .map((x) => ({ x, f: f(x) }));
    for (let it = 0; it < iterations; it++) {
      simplex.sort((a, b) => a.f - b.f);
      if (Math.abs(simplex[n].f - simplex[0].f) < tol) break;
      const centroid = Array.from(
        { length: n },
        (_, j) => simplex.slice(0, n).reduce((s, p) => s + p.x[j], 0) / n,
      );
      const at = (t: number) => centroid.map((c, j) => c + t * (simplex[n].x[j] - c));
      const r = { x: at(-1), f: 0 };
      r.f = f(r.x);
      if (r.f < simplex[0].f) {
        const e = { x: at(-2), f: 0 };
        e.f = f(e.x);
        simplex[n] = e.f < r.f ? e : r;
      } else if (r.f < simplex[n - 1].f) {
        simplex[n] = r;
      } else {
        const c = { x: at(r.f < simplex[n].f ? -0.5 : 0.5), f: 0 };
        c.f = f(c.x);
        if (c.f < Math.min(r.f, simplex[n].f)) simplex[n] = c;
        else {
          simplex = simplex.map((p, i) =>
            i === 0 ? p : { x: p.x.map((v, j) => simplex[0].x[j] + 0.5 * (v - simplex[0].x[j])), f: 0 }
          );
          for (let i = 1; i <= n; i++) simplex[i].f = f(simplex[i].x);
        }
      }
    }
    simplex.sort((a, b) => a.f - b.f);
    best = simplex[0].x;
  }
  return best;
}

/** The metrics compared, client-side first. */
export const COMPARED = [
  "ttft_p50_ms",
  "itl_p50_ms",
  "output_tok_s",
  "server_ttft_mean_ms",
  "server_itl_mean_ms",
] as const;

/** One row of the held-out comparison: a workload's metric on the real engine and a sim profile. */
export interface ComparisonRow {
  workload: string;
  metric: typeof COMPARED[number];
  real: number;
  predicted: number;
  /** (predicted - real) / real x 100. */
  error_pct: number;
}

/**
 * The held-out comparison: every holdout workload of `real` that `sim` also measured, on TTFT p50, ITL p50
 * and output throughput. A metric either side lacks is left out (not applicable, not 0).
 *
 * @example
 * ```ts
 * compareHoldout(realFile, simFile).map((r) => `${r.workload} ${r.metric} ${r.error_pct.toFixed(1)} %`);
 * ```
 */
export function compareHoldout(
  real: MeasurementFile,
  sim: MeasurementFile,
  set: "holdout" | "fit" = "holdout",
): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  for (const w of real.workloads.filter((x) => x.set === set)) {
    const s = sim.workloads.find((x) => x.name === w.name);
    if (!s) continue;
    for (const metric of COMPARED) {
      const a = w[metric];
      const b = s[metric];
      if (a === undefined || b === undefined || a === 0) continue;
      rows.push({ workload: w.name, metric, real: a, predicted: b, error_pct: (b - a) / a * 100 });
    }
  }
  return rows;
}

/**
 * The minimum of a one-variable function on [lo, hi] by golden-section search (for a function with one
 * minimum there; `iterations` narrowings of the interval by 0.618 each).
 *
 * @example
 * ```ts
 * goldenSection((x) => (x - 2) ** 2, 0, 10); // ~2
 * ```
 */
export function goldenSection(f: (x: number) => number, lo: number, hi: number, iterations = 40): number {
  const g = (Math.sqrt(5) - 1) / 2;
  let a = lo, b = hi;
  let c = b - g * (b - a), d = a + g * (b - a);
  let fc = f(c), fd = f(d);
  for (let i = 0; i < iterations; i++) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = f(d);
    }
  }
  return (a + b) / 2;
}
