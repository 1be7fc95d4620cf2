/**
 * The health check's thresholds file (`servelab.thresholds/1`): the canary load to send and the checks to
 * judge it by. The write-up notebook derives one from a run; without a file, {@link defaultThresholds}.
 *
 * @example
 * ```ts
 * import { parseThresholds, thresholdsJson, defaultThresholds } from "./thresholds.ts";
 * const t = parseThresholds(thresholdsJson(defaultThresholds()), "defaults");
 * ```
 * @module
 */
import { z } from "zod";

/**
 * The checks a thresholds file may list, each with its unit and how it is measured:
 *
 * - `ttft_p95_ms` (ms): 95th percentile of the canary requests' time to first token, client side.
 * - `e2e_p95_ms` (ms): 95th percentile of the canary requests' end-to-end latency, client side.
 * - `output_tok_s` (tokens/s): output tokens of the canary's successful requests / canary wall time.
 * - `gpu_util_max` (fraction 0..1): largest nvidia-smi `utilization.gpu` (busy share of its sample period)
 *   over the server's GPUs during the canary; on the embedded engine its simulated busy share.
 * - `gpu_memory_headroom_gib` (GiB): smallest free GPU memory (nvidia-smi) during the canary; on the
 *   embedded engine the simulated device's total minus its memory plan.
 * - `error_rate` (fraction 0..1): failed canary requests / canary requests.
 * - `queue_depth_max` (requests): largest `vllm:num_requests_waiting` seen before, during or after the canary.
 * - `kv_usage_max` (fraction 0..1): largest `vllm:gpu_cache_usage_perc` (`kv_cache_usage_perc`) seen.
 * - `preemptions` (count): increase of `vllm:num_preemptions_total` across the canary.
 *
 * The first five are the seed's dashboard (TTFT, p95 latency, tok/s, GPU util, VRAM headroom), in its order.
 */
export const CHECK_IDS = [
  "ttft_p95_ms",
  "e2e_p95_ms",
  "output_tok_s",
  "gpu_util_max",
  "gpu_memory_headroom_gib",
  "error_rate",
  "queue_depth_max",
  "kv_usage_max",
  "preemptions",
] as const;

/** The seed's five health metrics, in its order: shown first by `./servelab health`. */
export const SEED_CHECKS: readonly CheckId[] = [
  "ttft_p95_ms",
  "e2e_p95_ms",
  "output_tok_s",
  "gpu_util_max",
  "gpu_memory_headroom_gib",
];

/** One check's id. */
export type CheckId = typeof CHECK_IDS[number];

/** The unit each check is measured in; a file's `unit` must match it. */
export const CHECK_UNITS: Record<CheckId, string> = {
  ttft_p95_ms: "ms",
  e2e_p95_ms: "ms",
  output_tok_s: "tokens/s",
  gpu_util_max: "fraction",
  error_rate: "fraction",
  queue_depth_max: "requests",
  kv_usage_max: "fraction",
  preemptions: "count",
  gpu_memory_headroom_gib: "GiB",
};

/** A thresholds file. */
export const ThresholdsSchema = z.object({
  schema: z.literal("servelab.thresholds/1"),
  derived_from: z.object({
    run_id: z.string(),
    engine_label: z.string(),
    simulated: z.boolean(),
    model: z.string(),
  }).optional(),
  canary: z.object({
    concurrency: z.number().int().min(1),
    requests: z.number().int().min(1),
    prompt_tokens: z.number().int().min(1),
    max_tokens: z.number().int().min(1),
    timeout_s: z.number().positive(),
  }),
  checks: z.array(z.object({
    id: z.enum(CHECK_IDS),
    op: z.enum(["<=", ">="]),
    value: z.number(),
    unit: z.string(),
    why: z.string(),
  })),
});

/** A parsed thresholds file. */
export type Thresholds = z.infer<typeof ThresholdsSchema>;

/** One check of a thresholds file. */
export type ThresholdCheck = Thresholds["checks"][number];

const FIX = "Fix the field (see docs/adr/0009-health-check.md for the format) or run without --thresholds " +
  "to use the defaults.";

function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p),
    "",
  ) || "(top level)";
}

/**
 * Parses a thresholds file's text; throws an error naming the file, each bad field and the fix.
 * Beyond the schema: a check's unit must be its id's unit ({@link CHECK_UNITS}) and an id appears once.
 *
 * @example
 * ```ts
 * const t = parseThresholds(await Deno.readTextFile("thresholds.json"), "thresholds.json");
 * ```
 */
export function parseThresholds(text: string, source: string): Thresholds {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `Thresholds file ${source} is not valid JSON (${(e as Error).message}). ` +
        `Write it as a JSON object with schema "servelab.thresholds/1", canary and checks.`,
    );
  }
  const r = ThresholdsSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${fieldPath(i.path)}: ${i.message}`);
    throw new Error(`Thresholds file ${source} is invalid:\n${lines.join("\n")}\n${FIX}`);
  }
  const problems: string[] = [];
  if (r.data.checks.length === 0) {
    problems.push(
      "  checks: the list is empty, so every server would pass; add at least one check (the defaults " +
        "are in docs/adr/0009-health-check.md, or leave --thresholds out to use them)",
    );
  }
  const seen = new Set<string>();
  r.data.checks.forEach((c, i) => {
    if (c.unit !== CHECK_UNITS[c.id]) {
      problems.push(`  checks[${i}].unit: ${c.id} is measured in "${CHECK_UNITS[c.id]}", got "${c.unit}"`);
    }
    if (seen.has(c.id)) problems.push(`  checks[${i}].id: ${c.id} appears more than once; keep one`);
    seen.add(c.id);
    if (!Number.isFinite(c.value)) problems.push(`  checks[${i}].value: must be a finite number`);
  });
  if (problems.length) {
    throw new Error(`Thresholds file ${source} is invalid:\n${problems.join("\n")}\n${FIX}`);
  }
  return r.data;
}

/**
 * Conservative generic thresholds, for a server the lab has not measured: loose enough that a healthy
 * small-model vLLM on one GPU (or the embedded engine) passes, tight enough that a stalled, failing,
 * queueing or memory-starved server does not. docs/adr/0009-health-check.md gives the reason for each.
 *
 * @example
 * ```ts
 * const t = defaultThresholds(); // t.canary.requests === 16
 * ```
 */
export function defaultThresholds(): Thresholds {
  return {
    schema: "servelab.thresholds/1",
    canary: { concurrency: 4, requests: 16, prompt_tokens: 128, max_tokens: 32, timeout_s: 20 },
    checks: [
      {
        id: "ttft_p95_ms",
        op: "<=",
        value: 2000,
        unit: "ms",
        why: "generic default: a 128-token prompt at concurrency 4 should start streaming within 2 s",
      },
      {
        id: "e2e_p95_ms",
        op: "<=",
        value: 10000,
        unit: "ms",
        why: "generic default: 32 output tokens should finish within 10 s even on a slow server",
      },
      {
        id: "output_tok_s",
        op: ">=",
        value: 5,
        unit: "tokens/s",
        why: "generic default: below 5 output tokens/s across 4 streams the server is stalled",
      },
      {
        id: "gpu_util_max",
        op: ">=",
        value: 0.05,
        unit: "fraction",
        why: "generic default: a GPU that stays idle while the canary runs is not the one serving it " +
          "(CPU fallback, wrong device); on a dashboard, sustained near 1 with a growing queue means saturated",
      },
      {
        id: "gpu_memory_headroom_gib",
        op: ">=",
        value: 0.5,
        unit: "GiB",
        why: "generic default: less than 0.5 GiB free risks out-of-memory on the next allocation",
      },
      {
        id: "error_rate",
        op: "<=",
        value: 0,
        unit: "fraction",
        why: "every canary request should succeed: the canary is small and well-formed",
      },
      {
        id: "queue_depth_max",
        op: "<=",
        value: 32,
        unit: "requests",
        why: "generic default: more than 32 waiting requests means the server is saturated",
      },
      {
        id: "kv_usage_max",
        op: "<=",
        value: 0.95,
        unit: "fraction",
        why: "above 95% KV cache usage the scheduler starts preempting",
      },
      {
        id: "preemptions",
        op: "<=",
        value: 0,
        unit: "count",
        why: "a preemption during a small canary means the KV cache is exhausted",
      },
    ],
  };
}

/**
 * The thresholds as the file's text: pretty JSON with a trailing newline, validated first.
 *
 * @example
 * ```ts
 * await Deno.writeTextFile("thresholds.json", thresholdsJson(defaultThresholds()));
 * ```
 */
export function thresholdsJson(t: Thresholds): string {
  return JSON.stringify(ThresholdsSchema.parse(t), null, 2) + "\n";
}
