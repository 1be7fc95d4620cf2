/**
 * The batching tier's parameters: the sweeps, the workload, the SLO and the rules, with `default` and
 * `test` presets, each overridable by a `SERVELAB_BATCHING_*` environment variable (read through the
 * shared `tierParams`).
 *
 * Budget of the default preset (measured on the embedded engine, 2 cores): 9 concurrencies x 3 repeats,
 * each point one warm-up round, max(24, 2 x c) measured requests and one cool-down round; 4 Poisson rates
 * x 3 repeats of 1 s measured each; 512-token prompts with 8-24 output tokens: about 60 s of load.
 * @module
 */
import { z } from "zod";
import type { RunSize } from "../lab_env.ts";
import { type Env, tierParams, type TierSpec, type TierVar, tierVars } from "../params.ts";

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

/** The `default`, `test` and `teach` presets. */
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
  // A live session: one repeat, the gauge sampled every 20 ms so the batching timeline shows the steps.
  teach: {
    concurrency: [1, 4, 16, 64],
    repeats: 1,
    rate_fractions: [0.5, 1],
    prompt_tokens: 512,
    output_tokens: 16,
    output_spread: 0.5,
    min_requests: 24,
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
    sample_ms: 20,
    ci_resamples: 200,
    ci_confidence: 0.95,
    ci_max_itl_gaps: 2000,
  },
};

type Key = keyof BatchingParams;

/** What each `SERVELAB_BATCHING_*` variable takes (every field has one; lists are comma-separated). */
const MEANS: Record<Key, string> = {
  concurrency:
    "closed-loop concurrencies, strictly ascending comma-separated positive integers (e.g. 1,2,4,8)",
  repeats: "repeats of every point, a positive integer (e.g. 3)",
  rate_fractions:
    "Poisson rates as fractions of the measured peak throughput, comma-separated positive numbers (e.g. 0.5,1)",
  prompt_tokens: "prompt length of every request in tokens, a positive integer (e.g. 512)",
  output_tokens: "mean output length in tokens, a positive integer (e.g. 16)",
  output_spread: "spread of output lengths around the mean, a fraction in [0, 1) (e.g. 0.5)",
  min_requests: "least measured requests per closed-loop point, a positive integer (e.g. 24)",
  rounds:
    "measured requests per closed-loop point in multiples of the concurrency, a positive integer (e.g. 2)",
  warmup_rounds:
    "warm-up requests per closed-loop point in multiples of the concurrency, an integer >= 0 (e.g. 1)",
  cooldown_rounds:
    "excluded requests after the measured ones in multiples of the concurrency, an integer >= 0 " +
    "(e.g. 1)",
  rate_duration_s: "measured seconds of arrivals per open-loop point, a number > 0 (e.g. 1)",
  rate_warmup_s: "warm-up seconds of arrivals per open-loop point, a number >= 0 (e.g. 0.2)",
  rate_cooldown_s: "excluded seconds of arrivals after the measured ones, a number >= 0 (e.g. 0.25)",
  max_point_s: "seconds after which a point stops sending, a number > 0 (e.g. 10)",
  timeout_s: "per-request timeout in seconds, a number > 0 (e.g. 120)",
  slo_ttft_ms: "SLO on TTFT (p95 and per request) in ms, a number > 0 (e.g. 200)",
  slo_tpot_ms: "SLO on TPOT (p95 and per request) in ms per token, a number > 0 (e.g. 25)",
  knee_gain: "knee rule: least throughput gain per doubling of concurrency, a number > 0 (e.g. 0.2)",
  range_fraction: "sweet-spot range: share of the sweet spot's throughput, a fraction in (0, 1] (e.g. 0.8)",
  max_client_lag_ms: "validity: client event-loop and dispatch lag p99 limit in ms, a number > 0 (e.g. 15)",
  min_inflight_fraction:
    "validity: least mean in-flight share of the concurrency, a fraction in (0, 1] (e.g. 0.9)",
  rate_tolerance:
    "validity: largest share the achieved send rate may miss the target by, a fraction in (0, 1] " +
    "(e.g. 0.1)",
  max_error_fraction: "validity: largest share of failed requests, a fraction in [0, 1] (e.g. 0.01)",
  max_engine_lateness_ms: "validity: the embedded engine's p95 lateness limit in ms, a number > 0 (e.g. 25)",
  sample_ms: "/metrics sampling interval in ms, a positive integer (e.g. 100)",
  ci_resamples: "bootstrap resamples of the confidence intervals, a positive integer (e.g. 300)",
  ci_confidence: "coverage of the confidence intervals, a fraction in (0, 1) (e.g. 0.95)",
  ci_max_itl_gaps: "most ITL gaps a bootstrap draws, a positive integer (e.g. 4000)",
};

/** Every field is set by `SERVELAB_BATCHING_<FIELD IN CAPITALS>`. */
export const BATCHING_PARAM_SPEC: TierSpec<typeof BatchingParams> = {
  tier: "batching",
  schema: BatchingParams,
  presets: BATCHING_PRESETS,
  vars: Object.fromEntries(Object.entries(MEANS).map(([k, means]) => [k, { means }])),
};

/** Every `SERVELAB_BATCHING_*` variable, what it sets and what it takes (for docs and `--help`). */
export const BATCHING_VARS: TierVar[] = tierVars(BATCHING_PARAM_SPEC);

/** The environment variable of each parameter: `SERVELAB_BATCHING_<KEY IN CAPITALS>`. */
export function batchingEnvVar(key: Key): string {
  return BATCHING_VARS.find((v) => v.field === key)!.name;
}

/**
 * The batching parameters for a run size, with `SERVELAB_BATCHING_*` overrides from `env`. A bad value
 * throws an error naming the variable, what was wrong, what it takes and the fix.
 *
 * @example
 * ```ts
 * const P = batchingParams("test", { SERVELAB_BATCHING_CONCURRENCY: "1,8,32" });
 * P.concurrency; // [1, 8, 32]
 * ```
 */
export function batchingParams(size: RunSize, env: Env = Deno.env.toObject()): BatchingParams {
  return tierParams(BATCHING_PARAM_SPEC, size, env);
}
