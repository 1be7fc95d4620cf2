/**
 * Tier 1 (TTFT) parameters: a `default` and a `test` preset, each field overridable by a
 * `SERVELAB_TTFT_*` environment variable (read through the shared `tierParams`). A bad value names the
 * variable, its value, what it takes and the fix.
 *
 * @example
 * ```ts
 * const p = ttftParams("test"); // the test preset, with SERVELAB_TTFT_* overrides from the environment
 * p.warm_requests; // 8
 * ```
 * @module
 */
import { z } from "zod";
import type { RunSize } from "../lab_env.ts";
import { type Env, tierParams, type TierSpec, type TierVar, tierVars } from "../params.ts";

const positiveInt = z.number().int("expected an integer").positive("expected a positive integer");

/** The tier's parameters. */
export const TtftParams = z.object({
  /** Fresh engine launches; each gives one cold request (engines the lab starts only). */
  cold_launches: positiveInt,
  /** Warm requests after the cold one, on every launch (the N). */
  warm_requests: positiveInt,
  /** Prompt length of the cold, warm and idle requests, in tokens (exact, via /tokenize). */
  prompt_tokens: positiveInt,
  /** Prompt lengths of the length sweep, in tokens (exact). */
  lengths: z.array(positiveInt).min(2, "needs at least two lengths for a fit"),
  /** Requests per length (unique prompts), sent rep-major so drift does not follow length. */
  length_repeats: positiveInt,
  /** Idle period before the re-warm requests, seconds. */
  idle_s: z.number().nonnegative("expected seconds >= 0"),
  /** Requests sent after the idle period (the first is the re-warm one). */
  idle_requests: positiveInt,
  /** Chat requests, so the TTFT variants are seen on /v1/chat/completions too (0: none). */
  chat_requests: z.number().int("expected an integer").nonnegative("expected an integer >= 0"),
  /** Output tokens per request (ignore_eos): TTFT does not depend on it; it keeps requests short. */
  max_tokens: positiveInt,
  /** Per-request timeout, ms. */
  timeout_ms: positiveInt,
  /**
   * Client self-check: a point whose event-loop lag p99 or send lag p99 exceeds this (ms) is invalid (the
   * client, not the engine, set part of its TTFTs). 15 ms, as the batching tier, on a shared 2-core machine.
   */
  max_client_lag_ms: z.number().positive("expected ms > 0"),
});
export type TtftParams = z.infer<typeof TtftParams>;

/** The presets: `default` is the lesson (~45 s on the sim, 30 s of it the idle period); `test` is seconds;
 * `teach` is a live session's (about half a minute). */
export const TTFT_PRESETS: Record<RunSize, TtftParams> = {
  default: {
    cold_launches: 3,
    warm_requests: 30,
    prompt_tokens: 512,
    lengths: [128, 256, 512, 1024, 2048, 4096],
    length_repeats: 3,
    idle_s: 30,
    idle_requests: 3,
    chat_requests: 10,
    max_tokens: 16,
    timeout_ms: 120_000,
    max_client_lag_ms: 15,
  },
  test: {
    cold_launches: 2,
    warm_requests: 8,
    prompt_tokens: 256,
    lengths: [128, 1024, 4096],
    length_repeats: 2,
    idle_s: 1,
    idle_requests: 2,
    chat_requests: 3,
    max_tokens: 4,
    timeout_ms: 60_000,
    max_client_lag_ms: 15,
  },
  // A live session: every part shown, about half a minute on the embedded engine.
  teach: {
    cold_launches: 2,
    warm_requests: 10,
    prompt_tokens: 512,
    lengths: [128, 512, 2048, 4096],
    length_repeats: 2,
    idle_s: 3,
    idle_requests: 2,
    chat_requests: 3,
    max_tokens: 8,
    timeout_ms: 60_000,
    max_client_lag_ms: 15,
  },
};

/** How each field is set from its `SERVELAB_TTFT_*` variable (the default name: the field in capitals). */
export const TTFT_PARAM_SPEC: TierSpec<typeof TtftParams> = {
  tier: "ttft",
  schema: TtftParams,
  presets: TTFT_PRESETS,
  vars: {
    cold_launches: { means: "fresh engine launches, one cold request each: a positive integer (e.g. 3)" },
    warm_requests: { means: "warm requests after the cold one per launch: a positive integer (e.g. 30)" },
    prompt_tokens: {
      means: "prompt length of cold/warm/idle requests in tokens: a positive integer (e.g. 512)",
    },
    lengths: {
      means: "prompt lengths of the length sweep, comma-separated tokens (e.g. 128,512,2048)",
    },
    length_repeats: { means: "requests per prompt length: a positive integer (e.g. 3)" },
    idle_s: { means: "idle seconds before the re-warm requests: a number >= 0 (e.g. 30)" },
    idle_requests: { means: "requests after the idle period: a positive integer (e.g. 3)" },
    chat_requests: { means: "chat requests for the TTFT variants: an integer >= 0 (e.g. 10)" },
    max_tokens: { means: "output tokens per request: a positive integer (e.g. 16)" },
    timeout_ms: { means: "per-request timeout in ms: a positive integer (e.g. 120000)" },
    max_client_lag_ms: {
      means:
        "client self-check: event-loop and send lag p99 above which a point is invalid, ms > 0 (e.g. 15)",
    },
  },
};

/** Every `SERVELAB_TTFT_*` variable, what it sets and what it takes (for docs and `--help`). */
export const TTFT_VARS: TierVar[] = tierVars(TTFT_PARAM_SPEC);

/** The environment variables, per field, with what each means. */
export const TTFT_ENV_VARS = Object.fromEntries(
  TTFT_VARS.map(({ field, name, means }) => [field, { name, means }]),
) as Record<keyof TtftParams, { name: string; means: string }>;

/**
 * The tier's parameters for a run size, with `SERVELAB_TTFT_*` overrides from `env`.
 * Throws an error naming each bad variable, its value, what it takes and the fix.
 *
 * @example
 * ```ts
 * ttftParams("default", { SERVELAB_TTFT_WARM_REQUESTS: "50" }).warm_requests; // 50
 * ```
 */
export function ttftParams(size: RunSize, env: Env = Deno.env.toObject()): TtftParams {
  return tierParams(TTFT_PARAM_SPEC, size, env);
}
