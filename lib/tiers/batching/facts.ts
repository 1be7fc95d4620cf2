/**
 * Tier 3b's facts: the numbers the write-up and the run index show, each traced to this tier's CSVs.
 * @module
 */
import type { Fact } from "../../report/fact.ts";
import type { FactBook } from "../../report/fact_book.ts";
import { BATCHING_FILES } from "./measure.ts";

/** Tier 3b facts at one concurrency. */
export interface BatchPoint {
  concurrency?: Fact;
  throughput_rps?: Fact;
  output_tok_s?: Fact;
  ttft_p95_ms?: Fact;
  tpot_p95_ms?: Fact;
  waiting_max?: Fact;
}

/** Tier 3b facts (concurrency_sweep.csv). */
export interface BatchingFacts {
  one: BatchPoint;
  target: BatchPoint;
  top: BatchPoint;
  gain?: Fact;
  kv_usage_max?: Fact;
  preemptions?: Fact;
}

function point(b: FactBook, id: string, what: string, c: Fact | undefined): BatchPoint {
  if (!c) return {};
  const at = { file: BATCHING_FILES.concurrency, filter: { valid: "true", concurrency: c.value } };
  const m = (col: string, label: string, unit: string, stat: "p50" | "max" = "p50") =>
    b.add(
      `batch_${id}_${col}`,
      `${label} at ${what} (${stat === "p50" ? "median of repeats" : "max of repeats"})`,
      unit,
      {
        ...at,
        column: col,
        stat,
      },
    );
  return {
    concurrency: c,
    throughput_rps: m("throughput_rps", "throughput", "req/s"),
    output_tok_s: m("output_tok_s", "output tokens/s", "tok/s"),
    ttft_p95_ms: m("ttft_p95_ms", "TTFT p95", "ms"),
    tpot_p95_ms: m("tpot_p95_ms", "TPOT p95", "ms"),
    waiting_max: m("server_waiting_max", "server queue (waiting) max", "", "max"),
  };
}

/**
 * Tier 3b's key numbers at concurrency 1 (the lowest), at the concurrency target (where goodput peaks)
 * and at the highest concurrency.
 *
 * @example
 * ```ts
 * batchingFacts(book).target.concurrency?.value; // e.g. 64
 * ```
 */
export function batchingFacts(b: FactBook): BatchingFacts {
  const f = BATCHING_FILES.concurrency;
  const valid = { valid: "true" };
  const lo = b.add("batch_c_min", "lowest concurrency of the sweep", "", {
    file: f,
    column: "concurrency",
    filter: valid,
    stat: "min",
  });
  const target = b.add(
    "batch_c_target",
    "concurrency target: where goodput (requests/s meeting the SLO) peaks",
    "",
    {
      file: f,
      column: "concurrency",
      filter: valid,
      stat: "argmax",
      by: "goodput_rps",
    },
  );
  const hi = b.add("batch_c_max", "highest concurrency of the sweep", "", {
    file: f,
    column: "concurrency",
    filter: valid,
    stat: "max",
  });
  const r: BatchingFacts = {
    one: point(b, "lo", "the lowest concurrency", lo),
    target: point(b, "target", "the concurrency target", target),
    top: point(b, "hi", "the highest concurrency", hi),
  };
  r.gain = b.derive("batch_gain", "throughput at the target / at the lowest concurrency", "x", "ratio", [
    r.target.throughput_rps,
    r.one.throughput_rps,
  ]);
  r.kv_usage_max = b.add("batch_kv_usage_max", "KV cache usage, max over the sweep", "%", {
    file: f,
    column: "server_kv_usage_max",
    filter: valid,
    stat: "max",
  });
  r.preemptions = b.add("batch_preemptions_max", "preemptions in one point, max over the sweep", "", {
    file: f,
    column: "server_preemptions",
    filter: valid,
    stat: "max",
  });
  return r;
}
