/**
 * The batching tier's parameters: the sweeps, the workload, the SLO and the rules, with `default` and
 * `test` presets, each overridable by a `SERVELAB_BATCHING_*` environment variable.
 *
 * Budget of the default preset (measured on the embedded engine, 2 cores): 9 concurrencies x 3 repeats,
 * each point one warm-up round, max(24, 2 x c) measured requests and one cool-down round; 4 Poisson rates
 * x 3 repeats of 1 s measured each; 512-token prompts with 8-24 output tokens: about 60 s of load.
 * @module
 */
import { z } from "zod";
import type { RunSize } from "../lab_env.ts";

const positiveIntList = z.array(z.number().int().positive()).min(1);
const fraction = z.number().gt(0).lte(1);

/** The tier's parameters. Times in the unit their name says; fractions in 0..1. */
export const BatchingParams = z.object({
  /** Closed-loop concurrencies, ascending. */
  concurrency: positiveIntList,
  /** Repeats of every point; repeat 1 of every point runs before repeat 2 of any. */
  repeats: z.number().int().positive(),
  /** Poisson rates as fractions of the peak request throughput the concurrency sweep measured. */
  rate_fractions: z.array(z.number().positive()),
  /** Prompt length of every request, tokens (exact, through the engine's /tokenize). */
  prompt_tokens: z.number().int().positive(),
  /** Mean output length, tokens (exact: ignore_eos and min_tokens). */
  output_tokens: z.number().int().positive(),
  /** Output lengths are uniform in output_tokens x [1 - spread, 1 + spread] (desynchronizes clients). */
  output_spread: z.number().min(0).lt(1),
  /** Closed loop: measured requests per point = max(min_requests, rounds x concurrency). */
  min_requests: z.number().int().positive(),
  rounds: z.number().int().positive(),
  /** Closed loop: warm-up requests per point = warmup_rounds x concurrency (the synchronized first wave). */
  warmup_rounds: z.number().int().nonnegative(),
  /** Closed loop: cool-down requests after the measured ones = cooldown_rounds x concurrency (excluded),
   * so the last measured requests still run at full load instead of in the drain. */
  cooldown_rounds: z.number().int().nonnegative(),
  /** Open loop: measured arrivals per point = rate x rate_duration_s, after rate x rate_warmup_s warm-up. */
  rate_duration_s: z.number().positive(),
  rate_warmup_s: z.number().nonnegative(),
  /** Open loop: arrivals go on for rate x rate_cooldown_s more (excluded), for the same reason. */
  rate_cooldown_s: z.number().nonnegative(),
  /** A point stops sending after this long (in-flight requests finish): the budget's safety cap. */
  max_point_s: z.number().positive(),
  /** Per-request timeout. */
  timeout_s: z.number().positive(),
  /** SLO: p95 TTFT limit (the sweet-spot rule) and per-request limit (goodput), ms. */
  slo_ttft_ms: z.number().positive(),
  /** SLO: p95 TPOT limit (the sweet-spot rule) and per-request limit (goodput), ms per token. */
  slo_tpot_ms: z.number().positive(),
  /** Knee rule: the knee is where every further doubling of concurrency gains less than this. */
  knee_gain: z.number().positive(),
  /** Sweet-spot range: its low end is the smallest concurrency with this share of the sweet spot's throughput. */
  range_fraction: fraction,
  /** Validity: the client's event-loop (and open-loop dispatch) lag p99 must stay below this, ms. */
  max_client_lag_ms: z.number().positive(),
  /** Validity, closed loop: mean requests in flight must reach this share of the concurrency. */
  min_inflight_fraction: fraction,
  /** Validity, open loop: the achieved send rate must be within this share of the target. */
  rate_tolerance: fraction,
  /** Validity: at most this share of a point's requests may fail. */
  max_error_fraction: z.number().min(0).lte(1),
  /** Validity, embedded engine only: its p95 lateness behind its own simulated timeline, ms. */
  max_engine_lateness_ms: z.number().positive(),
  /** Server /metrics sampling interval, ms. */
  sample_ms: z.number().int().positive(),
  /** Bootstrap resamples for the confidence intervals, and their coverage. */
  ci_resamples: z.number().int().positive(),
  ci_confidence: z.number().gt(0).lt(1),
  /** ITL intervals bootstrap at most this many gaps, drawn from the pool (seeded). */
  ci_max_itl_gaps: z.number().int().positive(),
}).strict().superRefine((p, ctx) => {
  const c = p.concurrency;
  if (c.some((x, i) => i > 0 && x <= c[i - 1])) {
    ctx.addIssue({
      code: "custom",
      path: ["concurrency"],
      message: `must be strictly ascending, got ${c.join(",")}`,
    });
  }
});
export type BatchingParams = z.infer<typeof BatchingParams>;

/** The `default` and `test` presets. */
export const BATCHING_PRESETS: Record<RunSize, BatchingParams> = {
  default: {
    concurrency: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    repeats: 3,
    rate_fractions: [0.25, 0.5, 0.75, 1],
    prompt_tokens: 512,
    output_tokens: 16,
    output_spread: 0.5,
    min_requests: 24,
    rounds: 2,
    warmup_rounds: 1,
    cooldown_rounds: 1,
    rate_duration_s: 1,
    rate_warmup_s: 0.2,
    rate_cooldown_s: 0.25,
    max_point_s: 10,
    timeout_s: 120,
    slo_ttft_ms: 200,
    slo_tpot_ms: 25,
    knee_gain: 0.2,
    range_fraction: 0.8,
    max_client_lag_ms: 15,
    min_inflight_fraction: 0.9,
    rate_tolerance: 0.1,
    max_error_fraction: 0.01,
    max_engine_lateness_ms: 25,
    sample_ms: 100,
    ci_resamples: 300,
    ci_confidence: 0.95,
    ci_max_itl_gaps: 4000,
  },
  test: {
    concurrency: [1, 4, 16, 64, 128],
    repeats: 2,
    rate_fractions: [0.5, 1],
    prompt_tokens: 512,
    output_tokens: 16,
    output_spread: 0.5,
    min_requests: 12,
    rounds: 1,
    warmup_rounds: 1,
    cooldown_rounds: 1,
    rate_duration_s: 0.6,
    rate_warmup_s: 0.15,
    rate_cooldown_s: 0.15,
    max_point_s: 5,
    timeout_s: 60,
    slo_ttft_ms: 200,
    slo_tpot_ms: 25,
    knee_gain: 0.2,
    range_fraction: 0.8,
    max_client_lag_ms: 15,
    min_inflight_fraction: 0.9,
    rate_tolerance: 0.1,
    max_error_fraction: 0.01,
    max_engine_lateness_ms: 25,
    sample_ms: 100,
    ci_resamples: 200,
    ci_confidence: 0.95,
    ci_max_itl_gaps: 2000,
  },
};

type Key = keyof BatchingParams;

/** The environment variable of each parameter: `SERVELAB_BATCHING_<KEY IN CAPITALS>`. */
export function batchingEnvVar(key: Key): string {
  return `SERVELAB_BATCHING_${key.toUpperCase()}`;
}

const LIST_KEYS: readonly Key[] = ["concurrency", "rate_fractions"];

function parseValue(key: Key, raw: string): unknown {
  const num = (s: string) => (s.trim() === "" ? NaN : Number(s));
  if (LIST_KEYS.includes(key)) return raw.trim() === "" ? [] : raw.split(",").map(num);
  return num(raw);
}

/**
 * The batching parameters for a run size, with `SERVELAB_BATCHING_*` overrides from `env`. A bad value
 * throws an error naming the variable, what was wrong and the fix.
 *
 * @example
 * ```ts
 * const P = batchingParams("test", { SERVELAB_BATCHING_CONCURRENCY: "1,8,32" });
 * P.concurrency; // [1, 8, 32]
 * ```
 */
export function batchingParams(
  size: RunSize,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): BatchingParams {
  const base = BATCHING_PRESETS[size];
  const merged: Record<string, unknown> = { ...base };
  const given: Partial<Record<Key, string>> = {};
  for (const key of Object.keys(base) as Key[]) {
    const raw = env[batchingEnvVar(key)];
    if (raw === undefined || raw === "") continue;
    given[key] = raw;
    merged[key] = parseValue(key, raw);
  }
  const r = BatchingParams.safeParse(merged);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const key = String(i.path[0]) as Key;
    const where = given[key] !== undefined
      ? `${batchingEnvVar(key)}='${given[key]}'`
      : `batching parameter ${key} (preset ${size})`;
    const example = LIST_KEYS.includes(key)
      ? `a comma-separated list like '${(base[key] as number[]).join(",")}'`
      : `a number like ${JSON.stringify(base[key])}`;
    return `${where} is not valid: ${i.message}. Use ${example}, or unset it.`;
  });
  throw new Error(lines.join("\n"));
}
