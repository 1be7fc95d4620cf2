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
