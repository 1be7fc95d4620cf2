/**
 * What the health thresholds take from Tier 3b: the canary at the sweep's concurrency nearest four from
 * below, with the batching workload's prompt and output lengths; TTFT and E2E p95 at twice the worst
 * repeat there, output tok/s at half the slowest repeat, errors and preemptions as the run saw, queue depth
 * up to the concurrency target. Each derived value is a fact.
 * @module
 */
import type { FactBook } from "../../report/fact_book.ts";
import type { HealthContribution } from "../tier.ts";
import type { BatchingFacts } from "./facts.ts";
import { BATCHING_FILES } from "./measure.ts";

/**
 * The batching tier's contribution to the health thresholds.
 *
 * @example
 * ```ts
 * const h = batchingHealth(book, batchingFacts(book));
 * h.checks?.ttft_p95_ms?.fact?.value; // e.g. 180
 * ```
 */
export function batchingHealth(b: FactBook, batching: BatchingFacts): HealthContribution {
  const f = BATCHING_FILES.concurrency;
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
  const req = { file: BATCHING_FILES.requests, filter: { phase: "measure", ok: "true" } };
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
  return {
    canary,
    checks: {
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
        fact: b.derive("threshold_preemptions", "preemptions threshold", "", "scaled", [
          batching.preemptions,
        ]),
        why: "as many preemptions as one sweep point saw at most",
      },
    },
  };
}
