/**
 * The batching workload: every request has a prompt of exactly `prompt_tokens` tokens whose first four
 * tokens are unique to the request (so no request hits the prefix cache: that is tier 2's subject), and
 * an exact output length drawn uniformly around `output_tokens` (varied lengths keep closed-loop clients
 * from moving in lockstep waves).
 * @module
 */
import { createRng } from "../../base/random.ts";
import { promptOfTokens } from "../../probe/prompts.ts";
import type { ProbeRequest } from "../../probe/types.ts";

/** Requests a point may send at most (request ids stay unique across the run's points). */
export const BATCHING_MAX_REQUESTS_PER_POINT = 20_000;

const HEADER_TOKENS = 4;
const ALPHABET = 64;

/** What a batching workload needs. */
export interface BatchingWorkloadOptions {
  prompt_tokens: number;
  output_tokens: number;
  output_spread: number;
  /** Seed of the prompt text and the output lengths. Default 0. */
  seed?: number;
}

/** A built workload: request number `g` of the run is always the same request. */
export interface BatchingWorkload {
  prompt_tokens: number;
  /** Output length of request `g`, tokens. */
  outputTokens(g: number): number;
  /** Request `g` of the run (g = point ordinal x BATCHING_MAX_REQUESTS_PER_POINT + index). */
  request(g: number): ProbeRequest;
  /** The request source of the point with this ordinal, for `runLoad`. */
  source(ordinal: number): (index: number) => ProbeRequest;
}

/**
 * Output length of request `g`: uniform in output_tokens x [1 - spread, 1 + spread], at least 2 tokens
 * (so TPOT is defined), seeded by (seed, g).
 *
 * @example
 * ```ts
 * batchingOutputTokens({ prompt_tokens: 512, output_tokens: 16, output_spread: 0.5 }, 7); // in 8..24
 * ```
 */
export function batchingOutputTokens(opts: BatchingWorkloadOptions, g: number): number {
  const u = createRng((opts.seed ?? 0) * 1_000_003 + g)();
  const x = opts.output_tokens * (1 - opts.output_spread + 2 * opts.output_spread * u);
  return Math.max(2, Math.round(x));
}

/**
 * Builds the workload from token ids: `base` is a prompt of at least `prompt_tokens` ids (its first 64
 * distinct ids form the alphabet of the per-request headers).
 *
 * @example
 * ```ts
 * const w = batchingWorkloadFrom("m", Array.from({ length: 600 }, (_, i) => i), opts);
 * w.request(0).prompt.length; // 512
 * ```
 */
export function batchingWorkloadFrom(
  model: string,
  base: readonly number[],
  opts: BatchingWorkloadOptions,
): BatchingWorkload {
  const n = opts.prompt_tokens;
  if (base.length < n) {
    throw new Error(
      `Cannot build the batching workload: the base prompt has ${base.length} tokens, ${n} needed.`,
    );
  }
  const alphabet = [...new Set(base)].slice(0, ALPHABET);
  if (alphabet.length < 2) {
    throw new Error("Cannot build the batching workload: the base prompt needs at least 2 distinct tokens.");
  }
  const body = base.slice(0, n);
  const outputTokens = (g: number) => batchingOutputTokens(opts, g);
  const request = (g: number): ProbeRequest => {
    const header: number[] = [];
    for (let k = 0, x = g; k < Math.min(HEADER_TOKENS, n); k++, x = Math.floor(x / alphabet.length)) {
      header.push(alphabet[x % alphabet.length]);
    }
    const out = outputTokens(g);
    return {
      endpoint: "completions",
      model,
      prompt: [...header, ...body.slice(header.length)],
      max_tokens: out,
      min_tokens: out,
      ignore_eos: true,
      temperature: 0,
    };
  };
  return {
    prompt_tokens: n,
    outputTokens,
    request,
    source: (ordinal: number) => (index: number) => {
      if (index >= BATCHING_MAX_REQUESTS_PER_POINT) {
        throw new Error(
          `Batching point ${ordinal} asked for request ${index}: at most ${BATCHING_MAX_REQUESTS_PER_POINT} ` +
            "requests per point; lower the rate, the duration or the concurrency.",
        );
      }
      return request(ordinal * BATCHING_MAX_REQUESTS_PER_POINT + index);
    },
  };
}

/**
 * Builds the workload on an engine: one exact-length prompt through its /tokenize, then per-request
 * unique headers.
 *
 * @example
 * ```ts
 * const w = await batchingWorkload(engine.baseUrl, engine.model, P, { seed: lab.seed, headers: engine.headers() });
 * ```
 */
export async function batchingWorkload(
  baseUrl: string,
  model: string,
  opts: BatchingWorkloadOptions,
  tokenizeOpts: { headers?: Record<string, string> } = {},
): Promise<BatchingWorkload> {
  const base = await promptOfTokens(baseUrl, model, opts.prompt_tokens, {
    seed: 4_000 + (opts.seed ?? 0),
    headers: tokenizeOpts.headers,
  });
  return batchingWorkloadFrom(model, base, opts);
}
