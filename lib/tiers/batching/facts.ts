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
  /** The sweet spot's range (batching_summary.csv). */
  range_lo?: Fact;
  range_hi?: Fact;
  /** The knee and the SLO (batching_summary.csv). */
  knee?: Fact;
  slo_ttft?: Fact;
  slo_tpot?: Fact;
  /** The goodput peak: the ceiling, not a second target. */
  ceiling?: Fact;
  /** Invalid and all point repeats of the concurrency sweep. */
  invalid_points?: Fact;
  rows?: Fact;
  /** Output tokens/s at the lowest concurrency / at the target. */
  tok_gain?: Fact;
  /** Concurrency and TTFT p95 growth from the lowest concurrency to the target. */
  c_ratio?: Fact;
  ttft_growth?: Fact;
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
 * Tier 3b's key numbers at concurrency 1 (the lowest), at the concurrency target (the sweet spot rule)
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
  // The one concurrency recommendation: the sweet spot rule (knee.ts), read from batching_summary.csv. The
  // goodput peak is the ceiling: more concurrency than that serves fewer requests within the SLO.
  const target = b.add(
    "batch_c_target",
    "concurrency target: the sweet spot (highest concurrency meeting the SLO, capped at the knee)",
    "",
    {
      file: BATCHING_FILES.summary,
      column: "value",
      filter: { metric: "sweet_spot_concurrency", stat: "rule" },
      stat: "value",
    },
  );
  const rule = (m: string, what: string) =>
    b.add(`batch_${m}`, what, m.endsWith("_ms") ? "ms" : "", {
      file: BATCHING_FILES.summary,
      column: "value",
      filter: { metric: m, stat: "rule" },
      stat: "value",
    });
  const slo_ttft = rule("slo_ttft_p95_ms", "SLO: TTFT p95 at most");
  const slo_tpot = rule("slo_tpot_p95_ms", "SLO: TPOT p95 at most");
  const knee = rule("knee_concurrency", "knee: lowest concurrency from which doubling stops paying");
  const range_lo = rule("sweet_spot_range_lo", "sweet spot range, lowest concurrency");
  const range_hi = rule("sweet_spot_range_hi", "sweet spot range, highest concurrency");
  const ceiling = b.add(
    "batch_c_ceiling",
    "concurrency ceiling: where goodput (requests/s meeting the SLO) peaks",
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
    range_lo,
    range_hi,
    knee,
    slo_ttft,
    slo_tpot,
    ceiling,
    invalid_points: b.add("batch_invalid_rows", "invalid point repeats of the concurrency sweep", "", {
      file: f,
      column: "concurrency",
      filter: { valid: "false" },
      stat: "count",
    }),
    rows: b.add("batch_rows", "point repeats of the concurrency sweep", "", {
      file: f,
      column: "concurrency",
      stat: "count",
    }),
  };
  r.gain = b.derive("batch_gain", "throughput at the target / at the lowest concurrency", "x", "ratio", [
    r.target.throughput_rps,
    r.one.throughput_rps,
  ]);
  r.tok_gain = b.derive(
    "batch_tok_gain",
    "output tok/s at the target / at the lowest concurrency",
    "x",
    "ratio",
    [
      r.target.output_tok_s,
      r.one.output_tok_s,
    ],
  );
  r.c_ratio = b.derive("batch_c_ratio", "concurrency at the target / lowest", "x", "ratio", [
    r.target.concurrency,
    r.one.concurrency,
  ]);
  r.ttft_growth = b.derive(
    "batch_ttft_growth",
    "TTFT p95 at the target / at the lowest concurrency",
    "x",
    "ratio",
    [
      r.target.ttft_p95_ms,
      r.one.ttft_p95_ms,
    ],
  );
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
