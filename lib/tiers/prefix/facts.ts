/**
 * Tier 2's facts: the numbers the write-up and the run index show, each traced to this tier's CSVs.
 * @module
 */
import type { Fact } from "../../report/fact.ts";
import type { FactBook } from "../../report/fact_book.ts";
import { PREFIX_FILES } from "./files.ts";

const OK = { ok: "true" };

/** Tier 2 facts at one prefix length or share: caching on and off TTFT p50 and their ratio. */
export interface PrefixPair {
  on?: Fact;
  off?: Fact;
  speedup?: Fact;
}

/** Tier 2 facts (prefix_cache.csv, prefix_cache_runs.csv). */
export interface PrefixFacts {
  concurrency?: Fact;
  long_tokens?: Fact;
  short_tokens?: Fact;
  long?: PrefixPair;
  short?: PrefixPair;
  long_hit_rate?: Fact;
  /** Output tok/s and peak KV usage (a fraction, shown as a percent) with caching off and on, longest prefix. */
  long_tok_s_off?: Fact;
  long_tok_s_on?: Fact;
  long_tok_gain?: Fact;
  long_kv_off?: Fact;
  long_kv_on?: Fact;
  /** Hit rate with no request sharing the prefix (unique prompts). */
  share_none_hit?: Fact;
  /** Hit rate with half the requests sharing the prefix (mixed traffic). */
  share_half_hit?: Fact;
  share_half?: PrefixPair;
  /** Runs, and runs whose client self-check failed (prefix_cache_runs.csv). */
  runs?: Fact;
  runs_client_bad?: Fact;
  /** The KV block size the engine reported. */
  block_size?: Fact;
  share_none?: PrefixPair;
  share_all?: PrefixPair;
  cliff_fits?: Fact;
  cliff_fits_hit?: Fact;
  cliff_over?: Fact;
  cliff_over_hit?: Fact;
}

function pair(b: FactBook, id: string, what: string, filter: Record<string, string | number>): PrefixPair {
  const src = (arm: string) => ({
    file: PREFIX_FILES.requests,
    column: "ttft_ms",
    filter: { ...filter, arm, phase: "measure", ...OK },
    stat: "p50" as const,
  });
  const off = b.add(`${id}_off_p50_ms`, `TTFT p50 caching off, ${what}`, "ms", src("off"));
  const on = b.add(`${id}_on_p50_ms`, `TTFT p50 caching on, ${what}`, "ms", src("on"));
  return {
    on,
    off,
    speedup: b.derive(`${id}_speedup`, `caching speedup (off / on), ${what}`, "x", "ratio", [off, on]),
  };
}

/**
 * Tier 2's key numbers: the caching win at the longest and shortest shared prefix (lowest concurrency),
 * with no and all traffic sharing, and the eviction cliff.
 *
 * @example
 * ```ts
 * prefixFacts(book).long?.speedup?.value; // e.g. 6.1
 * ```
 */
export function prefixFacts(b: FactBook): PrefixFacts {
  const p: PrefixFacts = {};
  const f = PREFIX_FILES.requests;
  p.concurrency = b.add("prefix_concurrency", "concurrency of the length comparison (lowest)", "", {
    file: f,
    column: "concurrency",
    filter: { sweep: "length" },
    stat: "min",
  });
  if (p.concurrency) {
    const c = p.concurrency.value;
    const len = { file: f, column: "prefix_tokens", filter: { sweep: "length", concurrency: c } };
    p.long_tokens = b.add("prefix_long_tokens", "longest shared prefix", "tokens", { ...len, stat: "max" });
    p.short_tokens = b.add("prefix_short_tokens", "shortest shared prefix", "tokens", {
      ...len,
      stat: "min",
    });
    if (p.long_tokens) {
      p.long = pair(b, "prefix_long", "longest prefix", {
        sweep: "length",
        concurrency: c,
        prefix_tokens: p.long_tokens.value,
      });
      p.long_hit_rate = b.add("prefix_long_hit_rate", "hit rate (usage cached tokens), longest prefix", "%", {
        file: PREFIX_FILES.runs,
        column: "usage_hit_rate",
        filter: { sweep: "length", arm: "on", concurrency: c, prefix_tokens: p.long_tokens.value },
        stat: "mean",
      });
    }
    if (p.long_tokens) {
      const at = (arm: string) => ({
        file: PREFIX_FILES.runs,
        filter: { sweep: "length", arm, concurrency: c, prefix_tokens: p.long_tokens!.value },
      });
      p.long_tok_s_off = b.add("prefix_long_tok_s_off", "output tok/s caching off, longest prefix", "tok/s", {
        ...at("off"),
        column: "output_tok_s",
        stat: "mean",
      });
      p.long_tok_s_on = b.add("prefix_long_tok_s_on", "output tok/s caching on, longest prefix", "tok/s", {
        ...at("on"),
        column: "output_tok_s",
        stat: "mean",
      });
      p.long_tok_gain = b.derive(
        "prefix_long_tok_gain",
        "output tok/s on / off, longest prefix",
        "x",
        "ratio",
        [
          p.long_tok_s_on,
          p.long_tok_s_off,
        ],
      );
      p.long_kv_off = b.add("prefix_long_kv_off", "peak KV usage caching off, longest prefix", "%", {
        ...at("off"),
        column: "kv_usage_max",
        stat: "max",
      });
      p.long_kv_on = b.add("prefix_long_kv_on", "peak KV usage caching on, longest prefix", "%", {
        ...at("on"),
        column: "kv_usage_max",
        stat: "max",
      });
    }
    if (p.short_tokens) {
      p.short = pair(b, "prefix_short", "shortest prefix", {
        sweep: "length",
        concurrency: c,
        prefix_tokens: p.short_tokens.value,
      });
    }
  }
  p.share_none = pair(b, "prefix_share0", "no request shares the prefix", { sweep: "share", share_pct: 0 });
  p.share_all = pair(b, "prefix_share100", "every request shares the prefix", {
    sweep: "share",
    share_pct: 100,
  });
  p.share_half = pair(b, "prefix_share50", "half the requests share the prefix", {
    sweep: "share",
    share_pct: 50,
  });
  p.share_none_hit = b.add("prefix_share0_hit_rate", "hit rate, no request sharing", "%", {
    file: PREFIX_FILES.runs,
    column: "usage_hit_rate",
    filter: { sweep: "share", arm: "on", share_pct: 0 },
    stat: "mean",
  });
  p.share_half_hit = b.add("prefix_share50_hit_rate", "hit rate, half the requests sharing", "%", {
    file: PREFIX_FILES.runs,
    column: "usage_hit_rate",
    filter: { sweep: "share", arm: "on", share_pct: 50 },
    stat: "mean",
  });
  p.runs = b.add("prefix_runs", "runs of the prefix tier (arm x point x repeat)", "", {
    file: PREFIX_FILES.runs,
    column: "concurrency",
    stat: "count",
  });
  if (p.runs) {
    p.runs_client_bad = b.add("prefix_runs_client_bad", "runs whose client self-check failed", "", {
      file: PREFIX_FILES.runs,
      column: "concurrency",
      filter: { client_ok: "false" },
      stat: "count",
    });
  }
  p.block_size = b.add("prefix_block_size", "KV block size", "tokens", {
    file: PREFIX_FILES.runs,
    column: "block_size",
    filter: { arm: "on", sweep: "length" },
    stat: "max",
  });
  const cliff = (min?: number, max?: number) => ({
    file: PREFIX_FILES.runs,
    filter: { sweep: "cliff", usage_hit_rate: { min, max } },
  });
  p.cliff_fits = b.add("prefix_cliff_fits_load", "largest prefix working set / KV pool that still hit", "x", {
    ...cliff(0.5),
    column: "load_factor",
    stat: "max",
  });
  p.cliff_fits_hit = b.add("prefix_cliff_fits_hit_rate", "hit rate at that working set", "%", {
    ...cliff(0.5),
    column: "usage_hit_rate",
    stat: "min",
  });
  p.cliff_over = b.add("prefix_cliff_over_load", "smallest prefix working set / KV pool that missed", "x", {
    ...cliff(undefined, 0.5),
    column: "load_factor",
    stat: "min",
  });
  p.cliff_over_hit = b.add("prefix_cliff_over_hit_rate", "hit rate past the cliff", "%", {
    ...cliff(undefined, 0.5),
    column: "usage_hit_rate",
    stat: "max",
  });
  return p;
}
