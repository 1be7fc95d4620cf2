/**
 * Tier 3a's answers to the seed's learning questions 12-15, from its facts. Bytes per token are given as
 * the computed value (the model's shape) with the measured one beside it.
 * @module
 */
import { h } from "../../report/html.ts";
import type { SeedAnswer } from "../tier.ts";
import type { KvFacts } from "./facts.ts";

/**
 * Answers to questions 12-15.
 *
 * @example
 * ```ts
 * kvQuestions(kvFacts(book, target), facts).map((a) => a.n); // [12, 13, 14, 15]
 * ```
 */
export function kvQuestions(k: KvFacts, _all: Readonly<Record<string, unknown>>): SeedAnswer[] {
  const [lo, hi] = [k.rows[0], k.rows.at(-1)];
  const q12 = k.bytes_computed || k.bytes_measured
    ? h`Computed from the model's config: ${k.bytes_computed} per token (K and V, times layers, KV heads, head dimension and bytes per element); measured: ${k.bytes_measured} (the KV memory the engine reported divided by its pool of tokens, kv_cache_scaling.csv's kv_bytes_per_token_measured), a difference of ${k.bytes_diff}. The measured value carries the pool's rounding to whole blocks and the log's rounding of GiB; the computed one is the number to plan with.`
    : h`<em>Not measured:</em> the KV tier left no started sweep point in this run.`;
  const q13 = k.q13_gib
    ? h`Tokens first, then bytes: <q class="seed">room for 8 concurrent 4K‑token chats</q> is that many full-length requests, each holding its whole context in KV cache, so ${k.q13_gib} of KV cache at ${k.bytes_computed} per token. This run's pool (${lo?.kv_tokens} at max-model-len ${lo?.max_model_len}) holds ${k.q13_fit} such chats at once, and the largest max-model-len measured that still holds eight full-length requests is ${k.q13_safe_len}. So: set max-model-len to the chat length (not the model's maximum), check the pool holds eight of them with headroom for bursts, and raise --gpu-memory-utilization only if it does not. What would change it: a different model or dtype (bytes per token), KV cache quantization, or prefix sharing between the chats.`
    : h`<em>Not measured:</em> no bytes-per-token value in this run, so the question cannot be sized from its data.`;
  const flat = k.pool_ratio && Math.abs(k.pool_ratio.value - 1) <= 0.01;
  const q14 = lo && hi && lo !== hi
    ? h`${
      flat
        ? h`Flat, not linear (largest / smallest ${k.pool_ratio})`
        : h`Not flat: the pool changed by ${k.pool_ratio} across the sweep, so something besides the length moved (a different --gpu-memory-utilization, or activation memory growing with the step's token budget)`
    }: the KV pool was ${lo.kv_tokens} at max-model-len ${lo.max_model_len} and ${hi.kv_tokens} at ${hi.max_model_len} (KV memory ${lo.kv_gib} and ${hi.kv_gib}; GPU memory used ${lo.gpu_mem_gib} and ${hi.gpu_mem_gib}), while the full-length requests it holds fell from ${lo.max_concurrency} to ${hi.max_concurrency}. vLLM takes its share of memory (--gpu-memory-utilization) at startup and cuts what is left after weights and activations into the pool, whatever max-model-len is. Steps, where they appear, come from whole-block rounding, the startup profiling run's activation peak (which depends on the step's token budget), CUDA graph capture sizes and the allocator's granularity; ${k.not_started} configurations refused to start here.`
    : h`<em>Not measured:</em> fewer than two max-model-len values started in this run, so there is no curve to read.`;
  const q15 =
    h`At startup vLLM reserves a fixed share of the GPU (--gpu-memory-utilization) and cuts what is left after the weights into a pool of KV cache, the memory that holds each running conversation's context. That reservation is made once, whatever the traffic. max-model-len does not take memory; it decides how that reserved pool is promised: how long one conversation may grow, and so how many full-length conversations fit at once (here ${lo?.max_concurrency} at ${lo?.max_model_len} against ${hi?.max_concurrency} at ${hi?.max_model_len}, from the same pool of ${lo?.kv_tokens}). It is a capacity commitment, like sizing a connection pool's maximum request size: raise it and fewer worst-case users fit.`;
  return [{ n: 12, answer: q12 }, { n: 13, answer: q13 }, { n: 14, answer: q14 }, { n: 15, answer: q15 }];
}
