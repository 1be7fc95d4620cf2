/**
 * The run's facts, one function per tier (from its CSVs), plus the service config and health thresholds
 * derived from them. A tier without data gives no facts; the renderers say so.
 * @module
 */
import type { Fact } from "./fact.ts";
import type { FactBook } from "./run_data.ts";

const OK = { ok: "true" };

/** Tier 1 facts (ttft.csv, startup.csv). */
export interface TtftFacts {
  cold_p50?: Fact;
  cold_n?: Fact;
  warm_p50?: Fact;
  warm_p95?: Fact;
  warm_n?: Fact;
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
  const f = "ttft.csv";
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
  const phase = (p: string) => ({ file: "startup.csv", column: "seconds", filter: { phase: p } });
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
  share_none?: PrefixPair;
  share_all?: PrefixPair;
  cliff_fits?: Fact;
  cliff_fits_hit?: Fact;
  cliff_over?: Fact;
  cliff_over_hit?: Fact;
}

function pair(b: FactBook, id: string, what: string, filter: Record<string, string | number>): PrefixPair {
  const src = (arm: string) => ({
    file: "prefix_cache.csv",
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
  const f = "prefix_cache.csv";
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
        file: "prefix_cache_runs.csv",
        column: "usage_hit_rate",
        filter: { sweep: "length", arm: "on", concurrency: c, prefix_tokens: p.long_tokens.value },
        stat: "mean",
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
  const cliff = (min?: number, max?: number) => ({
    file: "prefix_cache_runs.csv",
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

/** One row of the KV scaling table. */
export interface KvRow {
  max_model_len: Fact;
  kv_tokens?: Fact;
  max_concurrency?: Fact;
  gpu_mem_gib?: Fact;
}

/** Tier 3a facts (kv_cache_scaling.csv). */
export interface KvFacts {
  rows: KvRow[];
  bytes_measured?: Fact;
  bytes_computed?: Fact;
  not_started?: Fact;
  safe_len?: Fact;
  safe_len_concurrency?: Fact;
  util?: Fact;
}

/**
 * Tier 3a's key numbers: per max-model-len the KV pool, max concurrency and GPU memory; bytes per token;
 * refused configurations; the largest max-model-len that still holds `target` full-length requests.
 *
 * @example
 * ```ts
 * kvFacts(book, target).safe_len?.value; // e.g. 32768
 * ```
 */
export function kvFacts(b: FactBook, target?: Fact): KvFacts {
  const f = "kv_cache_scaling.csv";
  const rows = b.rows(f) ?? [];
  const sweep = { role: "sweep", started: "true" };
  const lens = [
    ...new Set(
      rows.filter((r) => r.role === "sweep" && r.started === "true").map((r) => Number(r.max_model_len)),
    ),
  ]
    .filter(Number.isFinite).sort((x, y) => x - y);
  const k: KvFacts = { rows: [] };
  for (const L of lens) {
    const at = { file: f, filter: { ...sweep, max_model_len: L } };
    const len = b.add(`kv_len_${L}`, "max-model-len", "tokens", {
      ...at,
      column: "max_model_len",
      stat: "value",
    });
    if (!len) continue;
    k.rows.push({
      max_model_len: len,
      kv_tokens: b.add(`kv_tokens_${L}`, "KV pool at this max-model-len", "tokens", {
        ...at,
        column: "kv_cache_tokens",
        stat: "max",
      }),
      max_concurrency: b.add(`kv_concurrency_${L}`, "max concurrency at this max-model-len", "", {
        ...at,
        column: "max_concurrency",
        stat: "max",
      }),
      gpu_mem_gib: b.add(`kv_gpu_mem_${L}`, "GPU memory used at this max-model-len", "GiB", {
        ...at,
        column: "gpu_mem_used_gib",
        stat: "max",
      }),
    });
  }
  k.bytes_measured = b.add("kv_bytes_per_token_measured", "KV bytes per token, measured", "bytes", {
    file: f,
    column: "kv_bytes_per_token_measured",
    filter: sweep,
    stat: "mean",
    round: "round",
  });
  k.bytes_computed = b.add(
    "kv_bytes_per_token_computed",
    "KV bytes per token, from the model config",
    "bytes",
    {
      file: f,
      column: "kv_bytes_per_token_computed",
      filter: sweep,
      stat: "mean",
      round: "round",
    },
  );
  if (rows.length) {
    k.not_started = b.add("kv_not_started", "configurations refused at startup", "", {
      file: f,
      column: "max_model_len",
      filter: { started: "false" },
      stat: "count",
    });
  }
  const need = target?.value ?? 1;
  k.safe_len = b.add(
    "kv_safe_len",
    "largest max-model-len holding the concurrency target at full length",
    "tokens",
    {
      file: f,
      column: "max_model_len",
      filter: { ...sweep, max_concurrency: { min: need } },
      stat: "max",
    },
  );
  if (k.safe_len) {
    const at = { file: f, filter: { ...sweep, max_model_len: k.safe_len.value } };
    k.safe_len_concurrency = b.add("kv_safe_len_concurrency", "max concurrency at that max-model-len", "", {
      ...at,
      column: "max_concurrency",
      stat: "max",
    });
    k.util = b.add("kv_safe_len_util", "gpu-memory-utilization of that engine", "", {
      ...at,
      column: "gpu_memory_utilization_used",
      stat: "max",
    });
  }
  return k;
}

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
  const at = { file: "concurrency_sweep.csv", filter: { valid: "true", concurrency: c.value } };
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
  const f = "concurrency_sweep.csv";
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
