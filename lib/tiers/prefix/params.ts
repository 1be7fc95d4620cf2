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
import type { LabEnv } from "../lab_env.ts";

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
}).strict();
export type PrefixParams = z.infer<typeof PrefixParams>;

/** The presets; `interleave` is filled from the engine. */
export const PREFIX_PRESETS: Record<"default" | "test", Omit<PrefixParams, "interleave">> = {
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
  },
};

/** The environment variables, what each sets and its form. */
export const PREFIX_ENV_VARS = {
  SERVELAB_PREFIX_CONCURRENCY: ["concurrency", "comma-separated positive integers, e.g. 1,4,16"],
  SERVELAB_PREFIX_LENGTHS: ["prefix_tokens", "comma-separated token counts, e.g. 256,1024,8192"],
  SERVELAB_PREFIX_SUB_BLOCK: ["sub_block_point", "true or false"],
  SERVELAB_PREFIX_SHARES: ["shares_pct", "comma-separated percentages 0..100, e.g. 0,50,100"],
  SERVELAB_PREFIX_SHARE_TOKENS: ["share_prefix_tokens", "a positive integer"],
  SERVELAB_PREFIX_SHARE_CONCURRENCY: ["share_concurrency", "a positive integer"],
  SERVELAB_PREFIX_CLIFF_TOKENS: ["cliff_prefix_tokens", "a positive integer"],
  SERVELAB_PREFIX_CLIFF_POOL_TOKENS: [
    "cliff_pool_tokens",
    "a positive integer (KV tokens of the small pool)",
  ],
  SERVELAB_PREFIX_CLIFF_LOAD: [
    "cliff_load",
    "comma-separated positive multiples of the capacity, e.g. 0.5,2",
  ],
  SERVELAB_PREFIX_CLIFF_ROUNDS: ["cliff_rounds", "a positive integer"],
  SERVELAB_PREFIX_CLIFF_CONCURRENCY: ["cliff_concurrency", "a positive integer"],
  SERVELAB_PREFIX_CLIFF_OUTPUT_TOKENS: ["cliff_output_tokens", "a positive integer"],
  SERVELAB_PREFIX_REQUESTS: ["requests", "a positive integer"],
  SERVELAB_PREFIX_REPEATS: ["repeats", "a positive integer"],
  SERVELAB_PREFIX_OUTPUT_TOKENS: ["output_tokens", "a positive integer"],
  SERVELAB_PREFIX_INTERLEAVE: ["interleave", "parallel (both engines up) or by_point (one engine at a time)"],
  SERVELAB_PREFIX_FAMILY: ["family", "a family name from data/prefix_prompts.jsonl"],
} as const satisfies Record<string, readonly [keyof PrefixParams, string]>;

type EnvName = keyof typeof PREFIX_ENV_VARS;

function parseValue(name: EnvName, raw: string): unknown {
  const [field] = PREFIX_ENV_VARS[name];
  const example = PREFIX_PRESETS.default[field as keyof typeof PREFIX_PRESETS.default];
  if (Array.isArray(example)) {
    return raw.split(",").map((s) => s.trim()).filter(Boolean).map((
      s,
    ) => (/^-?[\d.]+$/.test(s) ? Number(s) : s));
  }
  if (typeof example === "boolean") return raw === "true" ? true : raw === "false" ? false : raw;
  if (typeof example === "number") return /^-?[\d.]+$/.test(raw.trim()) ? Number(raw) : raw;
  return raw;
}

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
export function prefixParams(
  lab: LabEnv,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): PrefixParams {
  const out: Record<string, unknown> = {
    ...PREFIX_PRESETS[lab.size],
    interleave: lab.engine === "vllm" ? "by_point" : "parallel",
  };
  for (const name of Object.keys(PREFIX_ENV_VARS) as EnvName[]) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") continue;
    const [field, form] = PREFIX_ENV_VARS[name];
    const value = parseValue(name, raw);
    const r = PrefixParams.shape[field].safeParse(value);
    if (!r.success) {
      throw new Error(
        `${name}='${raw}' is not valid: ${
          r.error.issues.map((i) => i.message).join("; ")
        }. It takes ${form}. Fix it or unset it.`,
      );
    }
    out[field] = r.data;
  }
  return PrefixParams.parse(out);
}
