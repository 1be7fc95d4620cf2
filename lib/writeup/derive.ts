/**
 * What the run recommends: the health thresholds (a `servelab.thresholds/1` file) derived from the
 * batching tier's measurements, each derived value a fact.
 * @module
 */
import { CHECK_UNITS, type CheckId, defaultThresholds, type Thresholds } from "../health/thresholds.ts";
import type { Fact } from "./fact.ts";
import type { BatchingFacts } from "./key_facts.ts";
import type { FactBook } from "./run_data.ts";

/** One derived check: its threshold fact (undefined: the generic default is kept) and why. */
export interface DerivedCheck {
  id: CheckId;
  op: "<=" | ">=";
  fact?: Fact;
  /** The value written (the fact's, or the generic default's). */
  value: number;
  why: string;
}

/** The derived thresholds: the file's content, and each check with its fact. */
export interface DerivedThresholds {
  thresholds: Thresholds;
  checks: DerivedCheck[];
  canary: { concurrency?: Fact; prompt_tokens?: Fact; max_tokens?: Fact; requests?: Fact };
  /** True when the batching tier gave no data and the file holds the generic defaults. */
  generic: boolean;
}

/**
 * Derives the health thresholds from the run: the canary at the sweep's concurrency nearest four from
 * below, with the batching workload's prompt and output lengths; TTFT and E2E p95 at twice the worst
 * repeat there, output tok/s at half the slowest repeat, errors and preemptions as the run saw, queue depth
 * up to the concurrency target. What the run cannot measure keeps lib/health's generic default.
 *
 * @example
 * ```ts
 * const d = deriveThresholds(book, batchingFacts(book), { run_id, engine_label, simulated: true, model });
 * await Deno.writeTextFile("thresholds.json", thresholdsJson(d.thresholds));
 * ```
 */
export function deriveThresholds(
  b: FactBook,
  batching: BatchingFacts,
  from: NonNullable<Thresholds["derived_from"]>,
): DerivedThresholds {
  const defaults = defaultThresholds();
  const f = "concurrency_sweep.csv";
  const c = b.add(
    "canary_concurrency",
    "canary concurrency: the sweep's concurrency nearest four from below",
    "",
    {
      file: f,
      column: "concurrency",
      filter: { valid: "true", concurrency: { max: 4 } },
      stat: "max",
    },
  );
  const req = { file: "batching_requests.csv", filter: { phase: "measure", ok: "true" } };
  const canary = {
    concurrency: c,
    prompt_tokens: b.add("canary_prompt_tokens", "canary prompt tokens (batching workload, p50)", "tokens", {
      ...req,
      column: "prompt_tokens",
      stat: "p50",
      round: "round",
    }),
    max_tokens: b.add("canary_max_tokens", "canary max tokens (batching workload, max)", "tokens", {
      ...req,
      column: "completion_tokens",
      stat: "max",
    }),
    requests: b.derive("canary_requests", "canary requests (four rounds)", "", "scaled", [c], { factor: 4 }),
  };
  const at = (col: string, stat: "max" | "min") =>
    c
      ? b.add(`canary_${col}_${stat}`, `${col} at the canary concurrency (${stat} of repeats)`, "", {
        file: f,
        column: col,
        filter: { valid: "true", concurrency: c.value },
        stat,
      })
      : undefined;
  const ttft = at("ttft_p95_ms", "max");
  const e2e = at("e2e_p95_ms", "max");
  const tok = at("output_tok_s", "min");
  const errors = at("error_fraction", "max");
  const derived: Partial<Record<CheckId, { fact?: Fact; why: string }>> = {
    ttft_p95_ms: {
      fact: b.derive("threshold_ttft_p95_ms", "TTFT p95 threshold", "ms", "scaled", [ttft], {
        factor: 2,
        round: "ceil",
      }),
      why: "twice the worst TTFT p95 this run measured at the canary's concurrency",
    },
    e2e_p95_ms: {
      fact: b.derive("threshold_e2e_p95_ms", "E2E p95 threshold", "ms", "scaled", [e2e], {
        factor: 2,
        round: "ceil",
      }),
      why: "twice the worst end-to-end p95 this run measured at the canary's concurrency",
    },
    output_tok_s: {
      fact: b.derive("threshold_output_tok_s", "output tok/s threshold", "tok/s", "scaled", [tok], {
        factor: 0.5,
        round: "floor",
      }),
      why: "half the slowest output tokens/s this run measured at the canary's concurrency",
    },
    error_rate: {
      fact: b.derive("threshold_error_rate", "error rate threshold", "%", "scaled", [errors]),
      why: "the error fraction this run saw at the canary's concurrency",
    },
    queue_depth_max: {
      fact: b.derive("threshold_queue_depth", "queue depth threshold", "", "scaled", [
        batching.target.concurrency,
      ]),
      why: "a server sized for the concurrency target should never hold that many requests waiting",
    },
    preemptions: {
      fact: b.derive("threshold_preemptions", "preemptions threshold", "", "scaled", [batching.preemptions]),
      why: "as many preemptions as one sweep point saw at most",
    },
  };
  const checks: DerivedCheck[] = defaults.checks.map((d) => {
    const x = derived[d.id];
    return x?.fact ? { id: d.id, op: d.op, fact: x.fact, value: x.fact.value, why: x.why } : {
      id: d.id,
      op: d.op,
      value: d.value,
      why: "generic default of lib/health: this run does not measure it",
    };
  });
  const generic = !c;
  const thresholds: Thresholds = {
    schema: "servelab.thresholds/1",
    derived_from: from,
    canary: {
      concurrency: canary.concurrency?.value ?? defaults.canary.concurrency,
      requests: canary.requests?.value ?? defaults.canary.requests,
      prompt_tokens: canary.prompt_tokens?.value ?? defaults.canary.prompt_tokens,
      max_tokens: canary.max_tokens?.value ?? defaults.canary.max_tokens,
      timeout_s: defaults.canary.timeout_s,
    },
    checks: checks.map((k) => ({ id: k.id, op: k.op, value: k.value, unit: CHECK_UNITS[k.id], why: k.why })),
  };
  return { thresholds, checks, canary, generic };
}
