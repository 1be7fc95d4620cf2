/**
 * Tier 1's facts: the numbers the write-up and the run index show, each traced to this tier's CSVs.
 * @module
 */
import type { Fact } from "../../report/fact.ts";
import type { FactBook } from "../../report/fact_book.ts";
import { TTFT_FILES } from "./tables.ts";

/** Tier 1 facts (ttft.csv, startup.csv). */
export interface TtftFacts {
  cold_p50?: Fact;
  cold_n?: Fact;
  warm_p50?: Fact;
  warm_p95?: Fact;
  warm_n?: Fact;
  /** Warm end-to-end latency p50 and its ratio to warm TTFT p50 (TTFT is the start of E2E). */
  warm_e2e_p50?: Fact;
  e2e_ttft?: Fact;
  cold_warm?: Fact;
  idle_max?: Fact;
  idle_factor?: Fact;
  len_min?: Fact;
  len_max?: Fact;
  len_min_p50?: Fact;
  len_max_p50?: Fact;
  len_factor?: Fact;
  weights_load_s?: Fact;
  ready_s?: Fact;
}

/**
 * Tier 1's key numbers: cold and warm TTFT, after idle, against prompt length, startup.
 *
 * @example
 * ```ts
 * const t = ttftFacts(factBook(await readRunData(dir)));
 * ```
 */
export function ttftFacts(b: FactBook): TtftFacts {
  const f = TTFT_FILES.requests;
  // Rows of launches whose client self-check failed are left out, as Tier 1's own findings do; runs from
  // before the self-check have no client_ok column and keep every row.
  const checked = (b.rows(f) ?? []).some((r) => r.client_ok !== undefined && r.client_ok !== "");
  const OK: Record<string, string> = checked ? { ok: "true", client_ok: "true" } : { ok: "true" };
  const t: TtftFacts = {};
  const ttft = (series: string, extra: Record<string, string | number> = {}) => ({
    file: f,
    column: "ttft_ms",
    filter: { series, ...OK, ...extra },
  });
  t.cold_p50 = b.add("ttft_cold_p50_ms", "cold TTFT p50 (first request after ready)", "ms", {
    ...ttft("cold"),
    stat: "p50",
  });
  t.cold_n = b.add("ttft_cold_n", "cold requests (one per launch)", "", { ...ttft("cold"), stat: "count" });
  t.warm_p50 = b.add("ttft_warm_p50_ms", "warm TTFT p50", "ms", { ...ttft("warm"), stat: "p50" });
  t.warm_p95 = b.add("ttft_warm_p95_ms", "warm TTFT p95", "ms", { ...ttft("warm"), stat: "p95" });
  t.warm_n = b.add("ttft_warm_n", "warm requests", "", { ...ttft("warm"), stat: "count" });
  t.warm_e2e_p50 = b.add("ttft_warm_e2e_p50_ms", "warm end-to-end latency p50", "ms", {
    file: f,
    column: "e2e_ms",
    filter: { series: "warm", ...OK },
    stat: "p50",
  });
  t.e2e_ttft = b.derive("ttft_warm_e2e_factor", "warm E2E p50 / warm TTFT p50", "x", "ratio", [
    t.warm_e2e_p50,
    t.warm_p50,
  ]);
  t.cold_warm = b.derive("ttft_cold_warm_factor", "cold / warm TTFT (p50 / p50)", "x", "ratio", [
    t.cold_p50,
    t.warm_p50,
  ]);
  t.idle_max = b.add("ttft_idle_max_ms", "TTFT of requests after an idle period (max)", "ms", {
    ...ttft("idle"),
    stat: "max",
  });
  t.idle_factor = b.derive("ttft_idle_factor", "after idle / warm p50", "x", "ratio", [
    t.idle_max,
    t.warm_p50,
  ]);
  const len = { file: f, column: "prompt_tokens", filter: { series: "length", ...OK } };
  t.len_min = b.add("ttft_len_min_tokens", "shortest prompt of the length series", "tokens", {
    ...len,
    stat: "min",
  });
  t.len_max = b.add("ttft_len_max_tokens", "longest prompt of the length series", "tokens", {
    ...len,
    stat: "max",
  });
  if (t.len_min && t.len_max) {
    t.len_min_p50 = b.add("ttft_len_min_p50_ms", "TTFT p50 at the shortest prompt", "ms", {
      ...ttft("length", { prompt_tokens: t.len_min.value }),
      stat: "p50",
    });
    t.len_max_p50 = b.add("ttft_len_max_p50_ms", "TTFT p50 at the longest prompt", "ms", {
      ...ttft("length", { prompt_tokens: t.len_max.value }),
      stat: "p50",
    });
    t.len_factor = b.derive("ttft_len_factor", "longest / shortest prompt TTFT p50", "x", "ratio", [
      t.len_max_p50,
      t.len_min_p50,
    ]);
  }
  const phase = (p: string) => ({ file: TTFT_FILES.startup, column: "seconds", filter: { phase: p } });
  t.weights_load_s = b.add("startup_weights_load_s", "weights load (engine log, mean)", "s", {
    ...phase("weights_load"),
    stat: "mean",
  });
  t.ready_s = b.add("startup_ready_s", "launch to ready (launcher wall clock, mean)", "s", {
    ...phase("ready"),
    stat: "mean",
  });
  return t;
}
