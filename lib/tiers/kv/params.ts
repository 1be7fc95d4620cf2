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
} as const;

type KvVar = keyof typeof KV_ENV_VARS;

const tokens = z.string().trim().regex(/^\d+[kK]?$/, "expected a token count such as 4096 or 4k")
  .transform((s) => /k$/i.test(s) ? Number(s.slice(0, -1)) * 1024 : Number(s))
  .pipe(z.number().int().positive("expected a positive token count"));
const util = z.string().trim().transform(Number).pipe(
  z.number().gt(0, "expected a fraction in (0, 1]").lte(1, "expected a fraction in (0, 1]"),
);
const positiveInt = z.string().trim().regex(/^\d+$/, "expected a positive integer").transform(Number)
  .pipe(z.number().int().positive("expected a positive integer"));
const list = <T>(item: z.ZodType<T>) =>
  z.string().transform((s, ctx) => {
    const out: T[] = [];
    for (const part of s.split(",").map((p) => p.trim()).filter(Boolean)) {
      const r = item.safeParse(part);
      if (!r.success) {
        ctx.addIssue({ code: "custom", message: `'${part}': ${r.error.issues[0].message}` });
        return z.NEVER;
      }
      out.push(r.data);
    }
    return out;
  });

/** The tier's parameters. */
export const KvParams = z.object({
  /** max-model-len values of the sweep, ascending, no duplicates. */
  lens: z.array(z.number().int().positive()).min(2, "the sweep needs at least two lengths to fit a slope"),
  /** Extra gpu-memory-utilization points (at util_len). */
  utils: z.array(z.number().gt(0).lte(1)),
  /** max-model-len of the utilization points. */
  util_len: z.number().int().positive(),
  /** The point meant to fail: "auto", a utilization, or "off". */
  fail_util: z.union([z.literal("auto"), z.literal("off"), z.number().gt(0).lte(1)]),
  /** Tokens per load request (prompt + max_tokens) and the load engine's max-model-len. */
  load_len: z.number().int().positive(),
  load_output_tokens: z.number().int().positive(),
  /** Pool of the load engine in load_len-token requests, or "default". */
  load_pool: z.union([z.number().int().positive(), z.literal("default")]),
  load_max_concurrency: z.number().int().positive().optional(),
  /** The capacity question: N concurrent requests of L tokens. */
  question: z.object({
    concurrent: z.number().int().positive(),
    tokens_per_request: z.number().int().positive(),
  }),
  sample_ms: z.number().int().positive(),
}).superRefine((p, ctx) => {
  if (p.load_output_tokens >= p.load_len) {
    ctx.addIssue({
      code: "custom",
      path: ["load_output_tokens"],
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
  },
};

function read<T>(env: Record<string, string | undefined>, name: KvVar, schema: z.ZodType<T>): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const why = r.error.issues.map((i) => i.message).join("; ");
  throw new Error(
    `${name}='${raw}' is not valid: ${why}. It means: ${KV_ENV_VARS[name]}. Fix it or unset it.`,
  );
}

const question = z.string().trim().regex(/^\d+\s*x\s*\d+[kK]?$/i, "expected NxL, e.g. 8x4096 or 8x4k")
  .transform((s) => {
    const [n, l] = s.toLowerCase().split("x").map((p) => p.trim());
    return { concurrent: Number(n), tokens_per_request: tokens.parse(l) };
  });

/**
 * The tier's parameters: the preset of the lab's run size, overridden by `SERVELAB_KV_*` variables.
 *
 * @example
 * ```ts
 * kvParams(labEnv({ SERVELAB_SIZE: "test" }), { SERVELAB_KV_LENS: "1k,4k" }).lens; // [1024, 4096]
 * ```
 */
export function kvParams(
  lab: Pick<LabEnv, "size">,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): KvParams {
  const preset = KV_PRESETS[lab.size];
  const utilsRaw = env.SERVELAB_KV_UTILS?.trim().toLowerCase() === "none"
    ? []
    : read(env, "SERVELAB_KV_UTILS", list(util));
  const failRaw = env.SERVELAB_KV_FAIL_UTIL?.trim().toLowerCase();
  const fail_util = failRaw === "auto" || failRaw === "off"
    ? failRaw
    : read(env, "SERVELAB_KV_FAIL_UTIL", util);
  const poolRaw = env.SERVELAB_KV_LOAD_POOL?.trim().toLowerCase();
  const load_pool = poolRaw === "default" ? "default" : read(env, "SERVELAB_KV_LOAD_POOL", positiveInt);
  const lens = read(env, "SERVELAB_KV_LENS", list(tokens));
  const load_len = read(env, "SERVELAB_KV_LOAD_LEN", tokens) ?? preset.load_len;
  const candidate = {
    lens: lens ? [...new Set(lens)].sort((a, b) => a - b) : preset.lens,
    utils: utilsRaw ?? preset.utils,
    util_len: read(env, "SERVELAB_KV_UTIL_LEN", tokens) ?? preset.util_len ?? load_len,
    fail_util: fail_util ?? preset.fail_util,
    load_len,
    load_output_tokens: read(env, "SERVELAB_KV_LOAD_OUTPUT_TOKENS", positiveInt) ?? preset.load_output_tokens,
    load_pool: load_pool ?? preset.load_pool,
    load_max_concurrency: read(env, "SERVELAB_KV_LOAD_MAX_CONCURRENCY", positiveInt) ??
      preset.load_max_concurrency,
    question: read(env, "SERVELAB_KV_QUESTION", question) ?? preset.question,
    sample_ms: read(env, "SERVELAB_KV_SAMPLE_MS", positiveInt) ?? preset.sample_ms,
  };
  const r = KvParams.safeParse(candidate);
  if (r.success) return r.data;
  const why = r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  throw new Error(
    `Invalid KV tier parameters: ${why}. Fix the SERVELAB_KV_* variables (${
      Object.keys(KV_ENV_VARS).join(", ")
    }).`,
  );
}
