/**
 * Tier 3a as a lesson: the learner's guesses against the run (`kvPredictions`), lib's numbers for the
 * notebook's polars table (`kvKeyRows`), and the KV pool drawn as blocks cut into max-length reservations
 * (`kvPoolChart`): max-model-len changes how many full-length requests fit, not the size of the pool.
 * @module
 */
import * as Plot from "@observablehq/plot";
import { type Chart, plot } from "../../report/plot.ts";
import { type Predictions, predictionTable } from "../../report/predict.ts";
import type { KvFacts } from "./facts.ts";

/** The Predict cell's guesses; leave a field undefined to skip it. */
export interface KvGuess {
  /** KV cache bytes per token of this model, e.g. 28672. */
  bytes_per_token?: number;
  /** Does the KV pool (tokens) shrink when max-model-len grows? */
  pool_shrinks?: boolean;
  /** Max concurrency (full-length requests) at the largest max-model-len of the sweep, e.g. 50. */
  max_concurrency_at_largest?: number;
}

const v = (f: { value: number } | undefined) => f?.value;

/**
 * The learner's guesses against this run's facts, with the reason for each result.
 *
 * @example
 * ```ts
 * await show(kv.predictions({ bytes_per_token: 28672 }, facts.kv));
 * ```
 */
export function kvPredictions(guess: KvGuess, f: KvFacts): Predictions {
  const pools = f.rows.map((r) => v(r.kv_tokens)).filter((x): x is number => x !== undefined);
  const shrinks = pools.length >= 2 ? pools.at(-1)! < pools[0] * 0.99 : undefined;
  const last = f.rows.at(-1);
  return predictionTable([
    {
      quantity: "KV cache bytes per token",
      unit: "bytes",
      guess: guess.bytes_per_token,
      result: v(f.bytes_measured),
      why:
        `Every token keeps a key and a value vector in every layer: 2 x layers x KV heads x head dim x bytes ` +
        `per value = ${
          v(f.bytes_computed) ?? "?"
        } bytes from the model config; measured as KV memory / KV tokens. ` +
        "Grouped-query attention (few KV heads) is why a small model's figure is this low.",
    },
    {
      quantity: "the KV pool shrinks as max-model-len grows",
      unit: "",
      guess: guess.pool_shrinks,
      result: shrinks,
      why: `The pool is what is left of GPU memory x utilization after weights, activations and graphs; ` +
        `max-model-len is not in that sum: ${
          pools.length ? pools.map(String).join(", ") : "no"
        } tokens across the sweep.`,
    },
    {
      quantity: `max concurrency at max-model-len ${v(last?.max_model_len) ?? "?"}`,
      unit: "",
      guess: guess.max_concurrency_at_largest,
      result: v(last?.max_concurrency),
      why:
        "vLLM's figure is the pool over one request of max-model-len tokens: the same pool cut into fewer, " +
        "larger reservations. Real requests shorter than the maximum take only the blocks they use (PagedAttention), " +
        "so more of them fit; the figure is the worst case.",
    },
  ]);
}

/**
 * Lib's numbers for the notebook's table (one row per max-model-len that started), for
 * `assertAgrees(polarsTable, kv.keyRows(facts.kv), { key: "max_model_len" })`.
 */
export function kvKeyRows(f: KvFacts): Record<string, number | undefined>[] {
  return f.rows.map((r) => ({
    max_model_len: r.max_model_len.value,
    kv_tokens: v(r.kv_tokens),
    max_concurrency: v(r.max_concurrency),
    gpu_mem_gib: v(r.gpu_mem_gib),
  }));
}

/** One started configuration, as kv_cache_scaling.csv gives it. */
export interface PoolRow {
  max_model_len: number;
  num_gpu_blocks: number;
  block_size: number;
}

/**
 * The KV pool of each max-model-len as a bar of blocks, cut into the blocks one full-length request reserves
 * (alternating shades; at most `max_stripes` drawn one by one, the rest as one band), with what is left over
 * in grey. The bars are the same height (the pool does not change); the stripes get fewer and thicker (max
 * concurrency falls as 1 / max-model-len).
 *
 * @example
 * ```ts
 * await show(kv.poolChart([{ max_model_len: 4096, num_gpu_blocks: 157073, block_size: 16 }]));
 * ```
 */
export function kvPoolChart(rows: readonly PoolRow[], opts: { max_stripes?: number } = {}): Chart {
  const ok = rows.filter((r) => r.num_gpu_blocks > 0 && r.block_size > 0 && r.max_model_len > 0);
  if (!ok.length) {
    throw new Error(
      "kvPoolChart needs started rows with num_gpu_blocks and block_size (kv_cache_scaling.csv).",
    );
  }
  const maxStripes = opts.max_stripes ?? 96;
  const rects: { len: string; y1: number; y2: number; part: string }[] = [];
  const labels: { len: string; y: number; text: string }[] = [];
  for (const r of [...ok].sort((a, b) => a.max_model_len - b.max_model_len)) {
    const len = String(r.max_model_len);
    const per = Math.ceil(r.max_model_len / r.block_size);
    const fit = Math.floor(r.num_gpu_blocks / per);
    const drawn = Math.min(fit, maxStripes);
    for (let k = 0; k < drawn; k++) {
      rects.push({
        len,
        y1: k * per,
        y2: (k + 1) * per,
        part: k % 2 ? "one request (odd)" : "one request (even)",
      });
    }
    if (fit > drawn) {
      rects.push({ len, y1: drawn * per, y2: fit * per, part: "more requests (not drawn one by one)" });
    }
    rects.push({ len, y1: fit * per, y2: r.num_gpu_blocks, part: "left over" });
    labels.push({ len, y: r.num_gpu_blocks, text: `${fit} × ${per} blocks` });
  }
  const pool = ok[0].num_gpu_blocks;
  const same = ok.every((r) => r.num_gpu_blocks === pool);
  return plot({
    title: "The KV pool as blocks, cut into full-length requests",
    subtitle: same
      ? `The same pool of ${pool} blocks (${ok[0].block_size} tokens each) at every max-model-len; ` +
        "only the number of full-length reservations changes."
      : "The pool differs between max-model-len values here (see the table): check utilization and memory.",
    caption:
      "Each stripe is the blocks one request of max-model-len tokens reserves; grey is what no full-length " +
      "request fits in. Shorter requests take only the blocks they use.",
    width: 640,
    height: 320,
    marginLeft: 70,
    x: { label: "max-model-len (tokens)", domain: ok.map((r) => String(r.max_model_len)) },
    y: { label: "KV blocks", grid: true },
    color: {
      legend: true,
      domain: [
        "one request (even)",
        "one request (odd)",
        "more requests (not drawn one by one)",
        "left over",
      ],
      range: ["#1f77b4", "#6baed6", "#9ecae1", "#d9d9d9"],
    },
    marks: [
      Plot.rectY(rects, { x: "len", y1: "y1", y2: "y2", fill: "part", insetLeft: 4, insetRight: 4 }),
      Plot.text(labels, { x: "len", y: "y", text: "text", dy: -8 }),
    ],
  });
}
