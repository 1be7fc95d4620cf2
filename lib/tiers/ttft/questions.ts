/**
 * Tier 1's answers to the seed's learning questions 1-5, from its facts (and, for 4 and 5, the KV and
 * batching tiers' facts when the run has them). An unmeasured value shows "not measured", never advice.
 * @module
 */
import type { Fact } from "../../report/fact.ts";
import { h, type Html } from "../../report/html.ts";
import type { SeedAnswer } from "../tier.ts";
import type { TtftFacts } from "./facts.ts";

/** What questions 4 and 5 read from the other tiers (by shape: a tier imports no other tier). */
interface Others {
  kv?: {
    rows?: { max_model_len: Fact; kv_tokens?: Fact; max_concurrency?: Fact; gpu_mem_gib?: Fact }[];
  };
  batching?: {
    one?: { concurrency?: Fact; output_tok_s?: Fact; ttft_p95_ms?: Fact };
    target?: { concurrency?: Fact; output_tok_s?: Fact; ttft_p95_ms?: Fact; waiting_max?: Fact };
    top?: { concurrency?: Fact; ttft_p95_ms?: Fact; waiting_max?: Fact };
    tok_gain?: Fact;
    ttft_growth?: Fact;
  };
  prefix?: { long?: { speedup?: Fact }; long_tokens?: Fact };
}

/**
 * Answers to questions 1-5.
 *
 * @example
 * ```ts
 * ttftQuestions(ttftFacts(book), facts).map((a) => a.n); // [1, 2, 3, 4, 5]
 * ```
 */
export function ttftQuestions(t: TtftFacts, all: Readonly<Record<string, unknown>>): SeedAnswer[] {
  const o = all as Others;
  const kv = o.kv?.rows ?? [];
  const [small, large] = [kv[0], kv.at(-1)];
  const bt = o.batching;
  const q1 =
    h`TTFT is the time from sending the request to the first generated token arriving (the client's clock; vLLM's own histogram, vllm:time_to_first_token_seconds, starts when the request reaches the engine). It covers queueing, the prefill of the whole prompt and the first decode step. End-to-end latency adds every later token: here a warm request's TTFT p50 was ${t.warm_p50} and its end-to-end p50 ${t.warm_e2e_p50} (${t.e2e_ttft}): the rest of end-to-end is the answer streaming, which the user sees as progress.`;
  const q2 = t.cold_warm
    ? h`Cold was ${t.cold_warm} warm: ${t.cold_p50} (p50 of ${t.cold_n} first requests after ready) against ${t.warm_p50} (p50 of ${t.warm_n} warm). The gap is paid after the server reported ready, so it is not the weights load (${t.weights_load_s} in the engine's log) nor the launch (${t.ready_s} to ready): it is first-use work, which in vLLM is lazy kernel selection and compilation, allocator and cache warm-up, the tokenizer's first call. Judgment: the split between those is not measured here; a profiler trace of the first request (or vLLM with --enforce-eager against CUDA graphs) would show it.`
    : h`<em>Not measured:</em> the run has no valid cold and warm requests (${t.cold_p50}, ${t.warm_p50}), so no factor can be given.`;
  const q3 =
    h`Three checks, each with what this run showed:<ol><li><strong>Workload</strong>: prompt length, since prefill grows with it (TTFT p50 ${t.len_min_p50} at ${t.len_min}, ${t.len_max_p50} at ${t.len_max}: ${t.len_factor}), and whether the prompts share a prefix the cache could serve (with ${o.prefix?.long_tokens} shared, caching made TTFT ${o.prefix?.long?.speedup} faster).</li><li><strong>Queueing</strong>: concurrency and the server's waiting count, vllm:num_requests_waiting (TTFT p95 ${bt?.one?.ttft_p95_ms} at concurrency ${bt?.one?.concurrency}, ${bt?.top?.ttft_p95_ms} at ${bt?.top?.concurrency} with up to ${bt?.top?.waiting_max} waiting).</li><li><strong>Flags and environment</strong>: prefix caching on, --max-num-batched-tokens (the step's token budget that prefills share), a server that sat idle (the first requests after idle took up to ${t.idle_max}, ${t.idle_factor} the warm p50), and the client itself (this lab drops launches whose client lagged).</li></ol>`;
  const q4 = small && large && small !== large
    ? h`It does not touch the memory taken (the KV pool is sized from --gpu-memory-utilization at startup: ${small.kv_tokens} at max-model-len ${small.max_model_len}, ${large.kv_tokens} at ${large.max_model_len}), but it sets how many full-length requests the scheduler admits at once: ${small.max_concurrency} at ${small.max_model_len} against ${large.max_concurrency} at ${large.max_model_len}. When long requests fill that, the rest wait, so TTFT rises and throughput falls even if most prompts are short. vLLM also checks at startup that one max-model-len request fits, and refuses to start when it does not.`
    : h`max-model-len does not change the memory taken (the KV pool is sized at startup) but sets how many full-length requests fit at once, so a larger value means fewer admitted long requests, more waiting, higher TTFT and lower throughput. <em>Not measured in this run:</em> the KV scaling tier left fewer than two max-model-len values to show it.`;
  const q5 = bt?.tok_gain && bt.ttft_growth
    ? h`Because one GPU step serves every running request: more requests in flight share each step, which raises tokens/s, and each new request's prefill waits for, or shares, a step with the others, which raises TTFT. Here going from concurrency ${bt.one?.concurrency} to ${bt.target?.concurrency} raised output tok/s ${bt.tok_gain} (${bt.one?.output_tok_s} to ${bt.target?.output_tok_s}) and TTFT p95 ${bt.ttft_growth} (${bt.one?.ttft_p95_ms} to ${bt.target?.ttft_p95_ms}). One dial, concurrency (with the step's token budget), moves both: an SRE picks the point on that curve that meets the TTFT SLO, then adds replicas for more throughput.`
    : h`Because one GPU step serves every running request: more requests in flight raise tokens/s and make each new request's prefill wait for or share a step, raising TTFT. One dial (concurrency, with the step's token budget) moves both. <em>Not measured in this run:</em> the batching tier left no two valid points to put numbers on it.`;
  return [
    { n: 1, answer: q1 },
    { n: 2, answer: q2 },
    { n: 3, answer: q3 },
    { n: 4, answer: q4 },
    { n: 5, answer: q5 },
  ] satisfies { n: number; answer: Html }[];
}
