/**
 * Tier 2 as a lesson: the learner's guesses against the run (`prefixPredictions`), lib's numbers for the
 * notebook's polars table (`prefixKeyRows`), and one request's prompt drawn as KV blocks, cached or computed
 * (`prefixBlocksChart`).
 * @module
 */
import * as Plot from "@observablehq/plot";
import { type Chart, plot } from "../../report/plot.ts";
import { type Predictions, predictionTable } from "../../report/predict.ts";
import type { PrefixFacts } from "./facts.ts";

/** The Predict cell's guesses; leave a field undefined to skip it. */
export interface PrefixGuess {
  /** TTFT caching off / on at the longest shared prefix (x), e.g. 3. */
  speedup_long?: number;
  /** The same at the shortest prefix (x), e.g. 1. */
  speedup_short?: number;
  /** Share of prompt tokens served from the cache at the longest prefix, 0-1, e.g. 0.9. */
  hit_rate_long?: number;
}

const v = (f: { value: number } | undefined) => f?.value;
const ms = (x: number | undefined) => x === undefined ? "not measured" : `${x.toFixed(1)} ms`;

/**
 * The learner's guesses against this run's facts, with the reason for each result.
 *
 * @example
 * ```ts
 * await show(prefix.predictions({ speedup_long: 3 }, facts.prefix));
 * ```
 */
export function prefixPredictions(guess: PrefixGuess, f: PrefixFacts): Predictions {
  const long = v(f.long_tokens);
  const short = v(f.short_tokens);
  return predictionTable([
    {
      quantity: `caching speedup at a ${long ?? "?"}-token shared prefix (TTFT off / on)`,
      unit: "x",
      guess: guess.speedup_long,
      result: v(f.long?.speedup),
      why:
        `With caching on, the shared prefix's full blocks are found by their hash and not prefilled again; ` +
        `only the variant's tokens (and the last prompt token) are computed: ${
          ms(v(f.long?.on))
        } on against ` +
        `${
          ms(v(f.long?.off))
        } off. The speedup is bounded by the fixed per-request cost that caching does not touch.`,
    },
    {
      quantity: `caching speedup at a ${short ?? "?"}-token prefix`,
      unit: "x",
      guess: guess.speedup_short,
      result: v(f.short?.speedup),
      why:
        `A prefix shorter than one KV block (16 tokens) fills no block, and only full blocks are cached: ` +
        `nothing to reuse, so the two arms differ by noise (${ms(v(f.short?.on))} on, ${
          ms(v(f.short?.off))
        } off).`,
    },
    {
      quantity: `hit rate at the ${long ?? "?"}-token prefix (cached / prompt tokens)`,
      unit: "",
      guess: guess.hit_rate_long,
      result: v(f.long_hit_rate),
      why:
        "The server's usage.prompt_tokens_details.cached_tokens over prompt tokens: the shared prefix's full " +
        "blocks over the whole prompt. Below 1 because the variant's tail, a partial last block and the last " +
        "prompt token are always computed.",
    },
  ]);
}

/**
 * Lib's numbers for the notebook's table of the length comparison at the lowest concurrency (one row per
 * prefix length lib has facts for: TTFT p50 off and on, their ratio), for
 * `assertAgrees(polarsTable, prefix.keyRows(facts.prefix), { key: "prefix_tokens" })`.
 */
export function prefixKeyRows(f: PrefixFacts): Record<string, number | undefined>[] {
  const rows: Record<string, number | undefined>[] = [];
  for (const [tokens, pair] of [[f.long_tokens, f.long], [f.short_tokens, f.short]] as const) {
    if (!tokens) continue;
    if (rows.some((r) => r.prefix_tokens === tokens.value)) continue;
    rows.push({
      prefix_tokens: tokens.value,
      off_p50_ms: v(pair?.off),
      on_p50_ms: v(pair?.on),
      speedup: v(pair?.speedup),
    });
  }
  return rows;
}

/** What {@link prefixBlocksChart} draws: one request of a run (a prefix_cache.csv row, read back). */
export interface BlockRequest {
  label: string;
  prompt_tokens: number;
  cached_tokens: number;
  block_size: number;
}

/**
 * The KV blocks of one or more requests' prompts: one cell per block of `block_size` tokens, green where the
 * server reported the tokens cached (`cached_tokens`), orange where they were computed (prefilled); the last
 * cell may be a partial block. At most `max_blocks` cells per row (later blocks are summed in the caption).
 *
 * @example
 * ```ts
 * await show(prefix.blocksChart([{ label: "caching on", prompt_tokens: 4126, cached_tokens: 4096, block_size: 16 }]));
 * // or a prefix_cache.csv row as polars gives it: { label: "caching on", ...df.head(1).toRecords()[0] }
 * ```
 */
export function prefixBlocksChart(
  rows: readonly ({ label: string } & Record<string, unknown>)[],
  opts: { max_blocks?: number } = {},
): Chart {
  if (!rows.length || rows.some((r) => r === undefined)) {
    throw new Error("prefixBlocksChart needs at least one request row (prefix_cache.csv).");
  }
  const requests: BlockRequest[] = rows.map((r) => ({
    label: r.label,
    prompt_tokens: Number(r.prompt_tokens),
    cached_tokens: Number(r.cached_tokens ?? 0),
    block_size: Number(r.block_size),
  }));
  const maxBlocks = opts.max_blocks ?? 320;
  const perRow = 64;
  const cells: { label: string; col: number; line: number; state: string }[] = [];
  const lines: string[] = [];
  for (const r of requests) {
    if (!(r.block_size > 0) || !(r.prompt_tokens > 0) || !Number.isFinite(r.cached_tokens)) {
      throw new Error(
        `Request '${r.label}' has no prompt_tokens or block_size: pass a measured prefix_cache.csv row.`,
      );
    }
    const blocks = Math.ceil(r.prompt_tokens / r.block_size);
    const cachedBlocks = Math.floor((r.cached_tokens ?? 0) / r.block_size);
    const shown = Math.min(blocks, maxBlocks);
    for (let b = 0; b < shown; b++) {
      cells.push({
        label: r.label,
        col: b % perRow,
        line: Math.floor(b / perRow),
        state: b < cachedBlocks ? "cached (reused)" : "computed (prefill)",
      });
    }
    lines.push(
      `${r.label}: ${r.prompt_tokens} prompt tokens = ${blocks} blocks of ${r.block_size}; ${cachedBlocks} cached, ` +
        `${blocks - cachedBlocks} computed${blocks > shown ? ` (first ${shown} drawn)` : ""}`,
    );
  }
  const rowsPer = Math.ceil(
    Math.min(maxBlocks, Math.max(...requests.map((r) => Math.ceil(r.prompt_tokens / r.block_size)))) / perRow,
  );
  return plot({
    title: "One request's prompt as KV blocks: cached or computed",
    subtitle: lines.join(" · "),
    caption:
      "Each cell is one KV block (a partial last block counts as computed). Only full blocks are hashed " +
      "and cached; the last prompt token is always recomputed, so a fully shared prompt still computes one block.",
    width: 720,
    height: 40 + requests.length * (rowsPer * 11 + 24),
    marginLeft: 90,
    x: { axis: null, domain: Array.from({ length: perRow }, (_, i) => i) },
    y: { axis: null },
    fy: { label: null, domain: requests.map((r) => r.label) },
    color: { legend: true, domain: ["cached (reused)", "computed (prefill)"], range: ["#2ca02c", "#ff7f0e"] },
    marks: [
      Plot.cell(cells, { x: "col", y: "line", fy: "label", fill: "state", inset: 0.5 }),
    ],
  });
}
