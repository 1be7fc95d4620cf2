/**
 * Tier 3a's facts: the numbers the write-up and the run index show, each traced to this tier's CSVs.
 * @module
 */
import type { Fact } from "../../report/fact.ts";
import type { FactBook } from "../../report/fact_book.ts";
import { KV_SCALING_FILE } from "./measure.ts";

/** One row of the KV scaling table. */
export interface KvFactRow {
  max_model_len: Fact;
  kv_tokens?: Fact;
  max_concurrency?: Fact;
  gpu_mem_gib?: Fact;
  /** KV cache memory the engine reported for the pool (the VRAM this max-model-len's engine reserved for KV). */
  kv_gib?: Fact;
}

/** Tier 3a facts (kv_cache_scaling.csv). */
export interface KvFacts {
  rows: KvFactRow[];
  bytes_measured?: Fact;
  bytes_computed?: Fact;
  not_started?: Fact;
  safe_len?: Fact;
  safe_len_concurrency?: Fact;
  util?: Fact;
  /** The seed's capacity question (8 concurrent 4K-token chats): KV memory they need (computed bytes per
   * token x 8 x 4096), how many such chats the smallest length's pool holds, the largest length holding 8. */
  q13_gib?: Fact;
  q13_fit?: Fact;
  q13_safe_len?: Fact;
  /** KV pool at the largest / smallest max-model-len (1: flat). */
  pool_ratio?: Fact;
  /** Relative difference measured vs computed bytes per token ((measured - computed) / computed). */
  bytes_diff?: Fact;
}

/** The seed's question 13: chats and tokens per chat. */
export const KV_Q13 = { chats: 8, tokens: 4096 } as const;

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
  const f = KV_SCALING_FILE;
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
      kv_gib: b.add(`kv_gib_${L}`, "KV cache memory at this max-model-len (engine's report)", "GiB", {
        ...at,
        column: "available_kv_gib",
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
  k.pool_ratio = b.derive(
    "kv_pool_ratio",
    "KV pool at the largest / at the smallest max-model-len",
    "x",
    "ratio",
    [k.rows.at(-1)?.kv_tokens, k.rows[0]?.kv_tokens],
  );
  k.bytes_diff = b.derive(
    "kv_bytes_per_token_diff",
    "bytes per token, measured - computed",
    "bytes",
    "difference",
    [
      k.bytes_measured,
      k.bytes_computed,
    ],
  );
  k.q13_gib = b.derive(
    "kv_q13_gib",
    `KV memory for ${KV_Q13.chats} chats of ${KV_Q13.tokens} tokens (computed bytes per token)`,
    "GiB",
    "scaled",
    [k.bytes_computed],
    { factor: KV_Q13.chats * KV_Q13.tokens / 2 ** 30 },
  );
  k.q13_fit = b.derive(
    "kv_q13_fit",
    `chats of ${KV_Q13.tokens} tokens the pool holds at once (smallest max-model-len)`,
    "",
    "scaled",
    [k.rows[0]?.kv_tokens],
    { factor: 1 / KV_Q13.tokens, round: "floor" },
  );
  k.q13_safe_len = b.add(
    "kv_q13_safe_len",
    `largest max-model-len holding ${KV_Q13.chats} full-length requests`,
    "tokens",
    {
      file: f,
      column: "max_model_len",
      filter: { ...sweep, max_concurrency: { min: KV_Q13.chats } },
      stat: "max",
    },
  );
  // No concurrency target (the batching tier measured none): no safe length is claimed for it.
  if (!target) return k;
  const need = target.value;
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
