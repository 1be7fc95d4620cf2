/**
 * Tier 3a (KV cache scaling) parameters, from `SERVELAB_KV_*` environment variables, with a `default` and a
 * `test` preset chosen by the lab's run size. A bad value names the variable, what it means and the fix.
 *
 * @example
 * ```ts
 * const P = kvParams(labEnv());
 * P.lens; // [1024, 2048, 4096, 8192, 16384, 32768]
 * ```
 * @module
 */
import { z } from "zod";
import type { LabEnv, RunSize } from "../lab_env.ts";
import {
  type Env,
  parseList,
  parseNumber,
  tierParams,
  type TierSpec,
  type TierVar,
  tierVars,
} from "../params.ts";

/** Environment variables of the tier, with what each means (shown in errors and in the notebook). */
export const KV_ENV_VARS = {
  SERVELAB_KV_LENS:
    "max-model-len values to sweep, one engine each: comma-separated token counts, a k suffix is x1024 " +
    "(default 1k,2k,4k,8k,16k,32k; test 2k,8k,32k)",
  SERVELAB_KV_UTILS:
    "extra gpu-memory-utilization values, one engine each at SERVELAB_KV_UTIL_LEN, or 'none' " +
    "(default 0.5,0.7; test none)",
  SERVELAB_KV_UTIL_LEN: "max-model-len of the utilization points (default: SERVELAB_KV_LOAD_LEN)",
  SERVELAB_KV_FAIL_UTIL:
    "gpu-memory-utilization of the point meant to fail at the largest length: auto (chosen from this run's " +
    "measured non-KV memory so one such request needs twice the pool), a number in (0, 1], or off (default auto)",
  SERVELAB_KV_LOAD_LEN:
    "tokens per request (prompt + max_tokens) of the load confirmation, and that engine's max-model-len " +
    "(default 4096; test 2048)",
  SERVELAB_KV_LOAD_OUTPUT_TOKENS:
    "max_tokens of each load request, sent with ignore_eos (default 64; test 32)",
  SERVELAB_KV_LOAD_POOL:
    "the load engine's KV pool in requests of SERVELAB_KV_LOAD_LEN tokens (it gets a kv_cache_memory_bytes " +
    "for that many plus half a request), or 'default' for the engine's own pool (default 4; test 3)",
  SERVELAB_KV_LOAD_MAX_CONCURRENCY: "largest concurrency of the load ramp (default: 2 x predicted + 2)",
  SERVELAB_KV_QUESTION: "the capacity question as NxL: N concurrent requests of L tokens (default 8x4096)",
  SERVELAB_KV_SAMPLE_MS: "interval of the /metrics sampling during the load (default 50)",
  SERVELAB_KV_MAX_CLIENT_LAG_MS:
    "validity of a load step: client event-loop lag p99 limit in ms, a number > 0 (default 15, as in Tiers 1 and 3b)",
} as const;

/** A token count: digits, a k suffix is x1024 (`4k` is 4096). */
function tokens(raw: string): number {
  const s = raw.trim();
  if (!/^\d+[kK]?$/.test(s)) throw new Error("expected a token count such as 4096 or 4k");
  return /k$/i.test(s) ? Number(s.slice(0, -1)) * 1024 : Number(s);
}

/** A positive integer written as digits only. */
function positiveInt(raw: string): number {
  const s = raw.trim();
  if (!/^\d+$/.test(s)) throw new Error("expected a positive integer");
  return Number(s);
}

/** One of the special `words` (any case), else `parse`. */
const word = <W extends string>(words: readonly W[], parse: (raw: string) => unknown) => (raw: string) => {
  const w = raw.trim().toLowerCase();
  return (words as readonly string[]).includes(w) ? w : parse(raw);
};

/** NxL: N concurrent requests of L tokens. */
function question(raw: string): { concurrent: number; tokens_per_request: number } {
  const s = raw.trim();
  if (!/^\d+\s*x\s*\d+[kK]?$/i.test(s)) throw new Error("expected NxL, e.g. 8x4096 or 8x4k");
  const [n, l] = s.toLowerCase().split("x").map((p) => p.trim());
  return { concurrent: Number(n), tokens_per_request: tokens(l) };
}

const fraction = z.number().gt(0, "expected a fraction in (0, 1]").lte(1, "expected a fraction in (0, 1]");
const positiveTokens = z.number().int().positive("expected a positive token count");
const posInt = z.number().int().positive("expected a positive integer");

/** The tier's parameters. */
export const KvParams = z.object({
  /** max-model-len values of the sweep, ascending, no duplicates. */
  lens: z.array(positiveTokens).min(2, "the sweep needs at least two lengths to fit a slope"),
  /** Extra gpu-memory-utilization points (at util_len). */
  utils: z.array(fraction),
  /** max-model-len of the utilization points. */
  util_len: positiveTokens,
  /** The point meant to fail: "auto", a utilization, or "off". */
  fail_util: z.union([z.literal("auto"), z.literal("off"), fraction]),
  /** Tokens per load request (prompt + max_tokens) and the load engine's max-model-len. */
  load_len: positiveTokens,
  load_output_tokens: posInt,
  /** Pool of the load engine in load_len-token requests, or "default". */
  load_pool: z.union([posInt, z.literal("default")]),
  load_max_concurrency: posInt.optional(),
  /** The capacity question: N concurrent requests of L tokens. */
  question: z.object({
    concurrent: z.number().int().positive(),
    tokens_per_request: z.number().int().positive(),
  }),
  sample_ms: posInt,
  /** Validity of a load step: the client's event-loop lag p99 must stay below this, ms (as in Tiers 1 and 3b). */
  max_client_lag_ms: z.number().positive(),
}).superRefine((p, ctx) => {
  if (p.load_output_tokens >= p.load_len) {
    ctx.addIssue({
      code: "custom",
      path: ["load_output_tokens"],
      params: { fields: ["load_output_tokens", "load_len"] },
      message: `load_output_tokens (${p.load_output_tokens}) must be below load_len (${p.load_len})`,
    });
  }
});
export type KvParams = z.infer<typeof KvParams>;

/** The presets by run size (`test`: the smallest run that still shows every finding). */
export const KV_PRESETS: Record<RunSize, Omit<KvParams, "util_len"> & { util_len?: number }> = {
  default: {
    lens: [1024, 2048, 4096, 8192, 16384, 32768],
    utils: [0.5, 0.7],
    fail_util: "auto",
    load_len: 4096,
    load_output_tokens: 64,
    load_pool: 4,
    question: { concurrent: 8, tokens_per_request: 4096 },
    sample_ms: 50,
    max_client_lag_ms: 15,
  },
  test: {
    lens: [2048, 8192, 32768],
    utils: [],
    fail_util: "auto",
    load_len: 2048,
    load_output_tokens: 32,
    load_pool: 3,
    question: { concurrent: 8, tokens_per_request: 4096 },
    sample_ms: 50,
    max_client_lag_ms: 15,
  },
  // A live session: four lengths, so the pool's constancy and the concurrency's fall both show.
  teach: {
    lens: [2048, 4096, 8192, 32768],
    utils: [],
    fail_util: "auto",
    load_len: 2048,
    load_output_tokens: 32,
    load_pool: 3,
    question: { concurrent: 8, tokens_per_request: 4096 },
    sample_ms: 50,
    max_client_lag_ms: 15,
  },
};

const vars = Object.fromEntries(
  Object.entries(KV_ENV_VARS).map((
    [name, means],
  ) => [name.slice("SERVELAB_KV_".length).toLowerCase(), { means }]),
) as Record<keyof KvParams, { means: string }>;

/**
 * How each field is set from its `SERVELAB_KV_*` variable: token counts take a k suffix, the sweep's lengths
 * are sorted and deduplicated, `none`, `auto`/`off` and `default` are words of their own, the question is NxL;
 * `util_len` defaults to the final `load_len`.
 */
export const KV_PARAM_SPEC: TierSpec<typeof KvParams> = {
  tier: "kv",
  schema: KvParams,
  presets: KV_PRESETS,
  vars: {
    lens: { ...vars.lens, parse: (raw) => [...new Set(parseList(raw, tokens))].sort((a, b) => a - b) },
    utils: { ...vars.utils, parse: (raw) => raw.toLowerCase() === "none" ? [] : parseList(raw) },
    util_len: { ...vars.util_len, parse: tokens },
    fail_util: { ...vars.fail_util, parse: word(["auto", "off"], parseNumber) },
    load_len: { ...vars.load_len, parse: tokens },
    load_output_tokens: { ...vars.load_output_tokens, parse: positiveInt },
    load_pool: { ...vars.load_pool, parse: word(["default"], positiveInt) },
    load_max_concurrency: { ...vars.load_max_concurrency, parse: positiveInt },
    question: { ...vars.question, parse: question },
    sample_ms: { ...vars.sample_ms, parse: positiveInt },
    max_client_lag_ms: { ...vars.max_client_lag_ms, parse: parseNumber },
  },
  defaults: ({ values }) => ({ util_len: values.load_len }),
};

/** Every `SERVELAB_KV_*` variable, what it sets and what it takes (for docs and `--help`). */
export const KV_VARS: TierVar[] = tierVars(KV_PARAM_SPEC);

/**
 * The tier's parameters: the preset of the lab's run size, overridden by `SERVELAB_KV_*` variables.
 *
 * @example
 * ```ts
 * kvParams(labEnv({ SERVELAB_SIZE: "test" }), { SERVELAB_KV_LENS: "1k,4k" }).lens; // [1024, 4096]
 * ```
 */
export function kvParams(lab: Pick<LabEnv, "size">, env: Env = Deno.env.toObject()): KvParams {
  return tierParams(KV_PARAM_SPEC, lab.size, env);
}
