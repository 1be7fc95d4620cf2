/**
 * Parameters of tier 2 (prefix caching), from `SERVELAB_PREFIX_*` environment variables over a size
 * preset (`default` is the lesson, `test` the smallest run that still shows each behaviour).
 *
 * @example
 * ```ts
 * const lab = labEnv();
 * const P = prefixParams(lab); // P.concurrency: [1, 4, 16] at default size
 * ```
 * @module
 */
import { z } from "zod";
import type { LabEnv, RunSize } from "../lab_env.ts";
import { type Env, tierParams, type TierSpec, type TierVar, tierVars } from "../params.ts";

/** How the two arms (caching off and on) take turns so drift does not favour one of them. */
export const PrefixInterleave = z.enum(["parallel", "by_point"]);
export type PrefixInterleave = z.infer<typeof PrefixInterleave>;

const posInt = z.number().int().positive();

/** The tier's parameters. Token counts are requested lengths; the run aligns them to whole KV blocks. */
export const PrefixParams = z.object({
  /** Closed-loop concurrencies of the prefix-length sweep. */
  concurrency: z.array(posInt).min(1),
  /** Shared-prefix lengths of the length sweep (a point shorter than one block is added). */
  prefix_tokens: z.array(posInt).min(1),
  /** Add a point whose shared prefix is half a block: caching cannot help it. */
  sub_block_point: z.boolean(),
  /** Shares of traffic (percent) that carry the shared prefix, in the share sweep (empty: no share sweep). */
  shares_pct: z.array(z.number().min(0).max(100)),
  /** Prefix length and concurrency of the share sweep. */
  share_prefix_tokens: posInt,
  share_concurrency: posInt,
  /**
   * Eviction cliff: prefix length, KV pool of the small engine (tokens), working sets as multiples of its
   * capacity (empty: no cliff sweep).
   */
  cliff_prefix_tokens: posInt,
  cliff_pool_tokens: posInt,
  cliff_load: z.array(z.number().positive()),
  /** Measured passes over the working set (after one priming pass). */
  cliff_rounds: posInt,
  cliff_concurrency: posInt,
  cliff_output_tokens: posInt,
  /** Measured requests per run: max(requests, 2 x concurrency). */
  requests: posInt,
  /** Runs per point and arm; arms alternate between repeats. */
  repeats: posInt,
  /** Generated tokens per request (ignore_eos, so every request generates exactly this many). */
  output_tokens: posInt,
  interleave: PrefixInterleave,
  /** Family of data/prefix_prompts.jsonl used by the length and share sweeps. */
  family: z.string().min(1),
  /** Interval of /metrics sampling (KV usage) during a run. */
  metrics_interval_ms: posInt,
  /** Per-request timeout. */
  timeout_ms: posInt,
  /** Validity of a run: the client's event-loop lag p99 must stay below this, ms (as in Tiers 1 and 3b). */
  max_client_lag_ms: z.number().positive(),
}).strict();
export type PrefixParams = z.infer<typeof PrefixParams>;

/** The presets; `interleave` is filled from the engine. */
export const PREFIX_PRESETS: Record<RunSize, Omit<PrefixParams, "interleave">> = {
  default: {
    concurrency: [1, 4, 16],
    prefix_tokens: [256, 1024, 2048, 4096, 8192],
    sub_block_point: true,
    shares_pct: [0, 25, 50, 75, 100],
    share_prefix_tokens: 2048,
    share_concurrency: 4,
    cliff_prefix_tokens: 2048,
    cliff_pool_tokens: 16384,
    cliff_load: [0.5, 0.75, 1.25, 1.5, 2],
    cliff_rounds: 2,
    cliff_concurrency: 1,
    cliff_output_tokens: 4,
    requests: 8,
    repeats: 1,
    output_tokens: 16,
    family: "support-assistant",
    metrics_interval_ms: 50,
    timeout_ms: 120_000,
    max_client_lag_ms: 15,
  },
  test: {
    concurrency: [1, 4],
    prefix_tokens: [256, 2048],
    sub_block_point: true,
    shares_pct: [0, 50, 100],
    share_prefix_tokens: 1024,
    share_concurrency: 2,
    cliff_prefix_tokens: 1024,
    cliff_pool_tokens: 8192,
    cliff_load: [0.5, 2],
    cliff_rounds: 1,
    cliff_concurrency: 1,
    cliff_output_tokens: 4,
    requests: 4,
    repeats: 1,
    output_tokens: 8,
    family: "support-assistant",
    metrics_interval_ms: 50,
    timeout_ms: 60_000,
    max_client_lag_ms: 15,
  },
  // A live session: the length sweep at two concurrencies, the share sweep and the cliff, about a minute.
  teach: {
    concurrency: [1, 4],
    prefix_tokens: [256, 1024, 4096],
    sub_block_point: true,
    shares_pct: [0, 50, 100],
    share_prefix_tokens: 2048,
    share_concurrency: 2,
    cliff_prefix_tokens: 1024,
    cliff_pool_tokens: 8192,
    cliff_load: [0.5, 2],
    cliff_rounds: 1,
    cliff_concurrency: 1,
    cliff_output_tokens: 4,
    requests: 4,
    repeats: 1,
    output_tokens: 8,
    family: "support-assistant",
    metrics_interval_ms: 50,
    timeout_ms: 60_000,
    max_client_lag_ms: 15,
  },
};

/** How each field is set from its `SERVELAB_PREFIX_*` variable (metrics_interval_ms and timeout_ms have none). */
export const PREFIX_PARAM_SPEC: TierSpec<typeof PrefixParams> = {
  tier: "prefix",
  schema: PrefixParams,
  presets: PREFIX_PRESETS,
  vars: {
    concurrency: {
      means: "closed-loop concurrencies of the length sweep: comma-separated positive integers, e.g. 1,4,16",
    },
    prefix_tokens: {
      name: "SERVELAB_PREFIX_LENGTHS",
      means: "shared-prefix lengths of the length sweep: comma-separated token counts, e.g. 256,1024,8192",
    },
    sub_block_point: {
      name: "SERVELAB_PREFIX_SUB_BLOCK",
      means: "whether to add a point whose prefix is half a KV block: true or false",
    },
    shares_pct: {
      name: "SERVELAB_PREFIX_SHARES",
      means: "traffic shares that carry the prefix in the share sweep: comma-separated percentages 0..100, " +
        "e.g. 0,50,100 (',' for no share sweep)",
    },
    share_prefix_tokens: {
      name: "SERVELAB_PREFIX_SHARE_TOKENS",
      means: "prefix length of the share sweep, tokens: a positive integer, e.g. 2048",
    },
    share_concurrency: { means: "concurrency of the share sweep: a positive integer, e.g. 4" },
    cliff_prefix_tokens: {
      name: "SERVELAB_PREFIX_CLIFF_TOKENS",
      means: "prefix length of the eviction-cliff sweep, tokens: a positive integer, e.g. 2048",
    },
    cliff_pool_tokens: { means: "KV tokens of the cliff sweep's small pool: a positive integer, e.g. 16384" },
    cliff_load: {
      means:
        "working sets of the cliff sweep: comma-separated positive multiples of the capacity, e.g. 0.5,2 " +
        "(',' for no cliff sweep)",
    },
    cliff_rounds: { means: "measured passes over the cliff working set: a positive integer, e.g. 2" },
    cliff_concurrency: { means: "concurrency of the cliff sweep: a positive integer, e.g. 1" },
    cliff_output_tokens: { means: "output tokens per cliff request: a positive integer, e.g. 4" },
    requests: { means: "measured requests per run (at least 2 x concurrency): a positive integer, e.g. 8" },
    repeats: { means: "runs per point and arm: a positive integer, e.g. 1" },
    output_tokens: { means: "output tokens per request: a positive integer, e.g. 16" },
    interleave: { means: "parallel (both engines up) or by_point (one engine at a time)" },
    family: { means: "a family name from data/prefix_prompts.jsonl, e.g. support-assistant" },
    max_client_lag_ms: {
      means: "validity: client event-loop lag p99 limit of a run in ms, a number > 0 (e.g. 15)",
    },
  },
};

/** Every `SERVELAB_PREFIX_*` variable, what it sets and what it takes (for docs and `--help`). */
export const PREFIX_VARS: TierVar[] = tierVars(PREFIX_PARAM_SPEC);

/** The environment variables: the field each sets and what it takes. */
export const PREFIX_ENV_VARS: Record<string, readonly [keyof PrefixParams, string]> = Object.fromEntries(
  PREFIX_VARS.map(({ field, name, means }) => [name, [field as keyof PrefixParams, means] as const]),
);

/**
 * The tier's parameters: the preset of `lab.size`, then any `SERVELAB_PREFIX_*` variable. `interleave`
 * defaults to `parallel` on the embedded engine (two engines side by side cost little) and `by_point`
 * on vLLM (one GPU may not hold two engines). A bad value throws an error naming the variable and the
 * form it takes.
 *
 * @example
 * ```ts
 * prefixParams(labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "test" }), { SERVELAB_PREFIX_CONCURRENCY: "1,2" });
 * ```
 */
export function prefixParams(lab: LabEnv, env: Env = Deno.env.toObject()): PrefixParams {
  const interleave: PrefixInterleave = lab.engine === "vllm" ? "by_point" : "parallel";
  return tierParams({ ...PREFIX_PARAM_SPEC, defaults: () => ({ interleave }) }, lab.size, env);
}
