/**
 * Tier 3b's answers to the seed's learning questions 16-18, from its facts alone: the sweet spot (the one
 * concurrency recommendation), the knee, and how continuous batching raises tok/s without raising TTFT in
 * step. An unmeasured value says "not measured" and gives no advice.
 * @module
 */
import { h, type Html } from "../../report/html.ts";
import type { SeedAnswer } from "../tier.ts";
import type { BatchingFacts } from "./facts.ts";

/** Why there is no sweet spot, or undefined when there is one. */
function noTarget(f: BatchingFacts): Html | undefined {
  if (f.target.concurrency) return undefined;
  if (!f.rows) {
    return h`<em>Not measured:</em> the batching tier left no ${"concurrency_sweep.csv"} rows in this run.`;
  }
  if (!f.one.concurrency) {
    return h`<em>Not measured:</em> every one of the ${f.rows} point repeats of the concurrency sweep was invalid (${f.invalid_points} invalid; batching_benchmark.md lists each reason, e.g. the client lagging), so the data support no concurrency target. A rerun whose points pass the validity checks (a less loaded client machine, or SERVELAB_BATCHING_MAX_CLIENT_LAG_MS raised knowingly) would give one.`;
  }
  return h`<em>No sweet spot:</em> no valid concurrency met the SLO (TTFT p95 at most ${f.slo_ttft}, TPOT p95 at most ${f.slo_tpot}), not even the lowest (${f.one.concurrency}: TTFT p95 ${f.one.ttft_p95_ms}, TPOT p95 ${f.one.tpot_p95_ms}). The SLO is tighter than this engine's unloaded latency for this workload; a looser SLO, shorter prompts or a faster device would change that.`;
}

/**
 * Answers to questions 16, 17 and 18.
 *
 * @example
 * ```ts
 * batchingQuestions(batchingFacts(book), {}).map((a) => a.n); // [16, 17, 18]
 * ```
 */
export function batchingQuestions(f: BatchingFacts, _all: Readonly<Record<string, unknown>>): SeedAnswer[] {
  const invalid = f.invalid_points?.value
    ? h` ${f.invalid_points} of the ${f.rows} point repeats were invalid and are left out (batching_benchmark.md, "Invalid points", says why).`
    : h``;
  const q16 = noTarget(f) ??
    h`Concurrency ${f.target.concurrency} per replica${
      f.range_lo && f.range_hi && f.range_lo.value < f.range_hi.value
        ? h` (fine from ${f.range_lo} to ${f.range_hi})`
        : h``
    }. The rule: the highest concurrency whose TTFT p95 and TPOT p95 meet the SLO (at most ${f.slo_ttft} and ${f.slo_tpot}), with every lower concurrency meeting it too, capped at the knee (${f.knee}). There throughput was ${f.target.throughput_rps} (${f.target.output_tok_s}), ${f.gain} the ${f.one.throughput_rps} at concurrency ${f.one.concurrency}, with TTFT p95 ${f.target.ttft_p95_ms}. ${
      f.ceiling && f.target.concurrency && f.ceiling.value !== f.target.concurrency.value
        ? h`Goodput peaked at concurrency ${f.ceiling}: that is the ceiling, not a second target.`
        : h`Goodput peaked there too (${f.ceiling}).`
    }${invalid} What would change it: a different SLO, or a sweep whose points past the knee stay valid and within the SLO.`;
  const q17 = f.knee
    ? h`Throughput flattened at the knee, concurrency ${f.knee}: past it a doubling no longer bought the tier's minimum gain. At the highest concurrency, ${f.top.concurrency}, throughput was ${f.top.throughput_rps} against ${f.target.throughput_rps} at the target, while TTFT p95 was ${f.top.ttft_p95_ms} against ${f.target.ttft_p95_ms} and the server held up to ${f.top.waiting_max} requests waiting. For a product owner: "up to ${f.target.concurrency} users at once per replica, each sees first words within ${f.target.ttft_p95_ms} at p95; more users on one replica buy little extra throughput and make everyone wait: add replicas instead."${invalid}`
    : f.one.concurrency
    ? h`No knee in this sweep: throughput kept paying for each doubling up to the highest valid concurrency, ${f.top.concurrency} (${f.top.throughput_rps}, TTFT p95 ${f.top.ttft_p95_ms}). Extend the sweep to find where it flattens.${invalid}`
    : h`<em>Not measured:</em> no valid point of the concurrency sweep (${f.invalid_points} of ${f.rows} point repeats invalid), so no knee can be named from this run.`;
  const q18 = f.gain && f.ttft_growth
    ? h`Continuous batching schedules at the level of each decode step: a new request joins the running batch at the next step instead of waiting for the batch to finish, and every step reads the weights once for all running sequences. So the per-step cost grows far slower than the number of sequences. Here concurrency went from ${f.one.concurrency} to ${f.target.concurrency} (${f.c_ratio}) while output tok/s went from ${f.one.output_tok_s} to ${f.target.output_tok_s} (${f.tok_gain}) and TTFT p95 from ${f.one.ttft_p95_ms} to ${f.target.ttft_p95_ms} (${f.ttft_growth}). TTFT grows once the step's token budget is shared by many prefills and requests queue (the server's waiting count), which is where the knee sits.`
    : h`Continuous batching schedules at the level of each decode step: a new request joins the running batch at the next step instead of waiting for the whole batch, and each step reads the weights once for all running sequences, so tok/s rises with concurrency while each request's TTFT grows only by the prefills sharing its step. <em>Not measured in this run:</em> the sweep has no two valid points to show it with numbers.`;
  return [{ n: 16, answer: q16 }, { n: 17, answer: q17 }, { n: 18, answer: q18 }];
}
