/**
 * Tier 1 as a lesson: the learner's guesses against the run (`ttftPredictions`) and lib's numbers for the key
 * table the notebook computes in the open with polars (`ttftKeyRows`, checked with lib/report's assertAgrees).
 * Both come from the tier's facts, so they are the numbers the write-up shows.
 * @module
 */
import { type Predictions, predictionTable } from "../../report/predict.ts";
import type { TtftFacts } from "./facts.ts";

/** The Predict cell's guesses; leave a field undefined to skip it. */
export interface TtftGuess {
  /** Cold TTFT p50 over warm TTFT p50 (x), e.g. 3. */
  cold_warm_factor?: number;
  /** Warm TTFT p50 in ms, e.g. 20. */
  warm_p50_ms?: number;
  /** TTFT p50 at the longest prompt of the length sweep over the shortest (x), e.g. 4. */
  length_factor?: number;
}

const v = (f: { value: number } | undefined) => f?.value;
const ms = (x: number | undefined) => x === undefined ? "not measured" : `${x.toFixed(1)} ms`;

/**
 * The learner's guesses against this run's facts, with the reason for each result.
 *
 * @example
 * ```ts
 * await show(ttft.predictions({ cold_warm_factor: 2 }, facts.ttft));
 * ```
 */
export function ttftPredictions(guess: TtftGuess, f: TtftFacts): Predictions {
  const cold = v(f.cold_p50);
  const warm = v(f.warm_p50);
  return predictionTable([
    {
      quantity: "cold / warm TTFT (p50 / p50)",
      unit: "x",
      guess: guess.cold_warm_factor,
      result: v(f.cold_warm),
      why:
        `The first request after /health pays the first-use paths (lazy kernel loading, allocations) on top ` +
        `of the same prefill: ${ms(cold)} against ${ms(warm)} warm, over ${
          v(f.cold_n) ?? 0
        } valid launch(es). ` +
        "A real GPU's first request also waits on JIT and cache warm-up; the factor is large when warm TTFT is small.",
    },
    {
      quantity: "warm TTFT p50",
      unit: "ms",
      guess: guess.warm_p50_ms,
      result: warm,
      why:
        "One request at a time, so nothing queues: warm TTFT is HTTP and tokenization plus one prefill step " +
        "of the prompt plus the first decode step. A small model on a big GPU prefills hundreds of tokens in a " +
        "few ms, so the fixed per-request costs weigh as much as the prompt.",
    },
    {
      quantity: `TTFT at ${v(f.len_max) ?? "?"} / ${v(f.len_min) ?? "?"} prompt tokens`,
      unit: "x",
      guess: guess.length_factor,
      result: v(f.len_factor),
      why:
        `Prefill is linear in prompt tokens at these lengths, on top of a fixed cost: ${
          ms(v(f.len_min_p50))
        } ` +
        `at the shortest and ${
          ms(v(f.len_max_p50))
        } at the longest. The factor stays well below the length ` +
        "ratio because the fixed cost does not grow.",
    },
  ]);
}

/**
 * Lib's numbers for the notebook's cold/warm table (one row per series; `vs_warm_p50` on the cold row): the
 * facts the write-up shows, for `assertAgrees(polarsTable, ttft.keyRows(facts.ttft), { key: "series" })`.
 *
 * @example
 * ```ts
 * ttft.keyRows(facts.ttft); // [{ series: "cold", n: 2, p50_ms: 121, vs_warm_p50: 5.6 }, { series: "warm", ... }]
 * ```
 */
export function ttftKeyRows(f: TtftFacts): Record<string, string | number | undefined>[] {
  return [
    { series: "cold", n: v(f.cold_n) || undefined, p50_ms: v(f.cold_p50), vs_warm_p50: v(f.cold_warm) },
    { series: "warm", n: v(f.warm_n) || undefined, p50_ms: v(f.warm_p50), p95_ms: v(f.warm_p95) },
  ];
}
