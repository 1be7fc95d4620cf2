/**
 * Tier 2's answers to the seed's learning questions 6-11, from its facts. Unique prompts cannot gain from
 * the cache (their hit rate is nil), so a ratio measured there is called noise, never a caching effect; runs
 * whose client self-check failed are named as such.
 * @module
 */
import type { Fact } from "../../report/fact.ts";
import { h, type Html } from "../../report/html.ts";
import type { SeedAnswer } from "../tier.ts";
import type { PrefixFacts, PrefixPair } from "./facts.ts";

/** Hit rate below which a caching-on run had, for the question asked, no cache hits. */
const NO_HITS = 0.05;

/**
 * What caching did to traffic that shares no prefix: with no hits it cannot help, so any ratio is the noise
 * between two engine processes, not a caching effect.
 *
 * @example
 * ```ts
 * prefixUnsharedText(p.share_none, p.share_none_hit);
 * ```
 */
export function prefixUnsharedText(pair: PrefixPair | undefined, hit: Fact | undefined): Html {
  if (!pair?.speedup) return h`unique prompts: not measured`;
  if (hit && hit.value < NO_HITS) {
    return h`unique prompts cannot gain (hit rate ${hit}); the measured ratio off / on of ${pair.speedup} is the difference between two engine processes with no cache hit, run-to-run noise, not an effect of caching`;
  }
  return h`unique prompts changed by ${pair.speedup} (off / on) with a hit rate of ${hit}`;
}

/** The note on runs whose client self-check failed, or nothing. */
export function prefixClientNote(p: PrefixFacts): Html {
  return p.runs_client_bad?.value
    ? h` Caveat: ${p.runs_client_bad} of the ${p.runs} runs failed the client self-check (the client's event loop lagged), so their latencies carry client delay: read them as indicative.`
    : h``;
}

/**
 * Answers to questions 6-11.
 *
 * @example
 * ```ts
 * prefixQuestions(prefixFacts(book), facts).map((a) => a.n); // [6, 7, 8, 9, 10, 11]
 * ```
 */
export function prefixQuestions(p: PrefixFacts, _all: Readonly<Record<string, unknown>>): SeedAnswer[] {
  const note = prefixClientNote(p);
  const q6 =
    h`vLLM's automatic prefix caching keeps the KV cache of every full block (block size here: ${p.block_size}) it has computed, keyed by a hash of all the tokens up to and including that block; a new request whose first blocks hash the same reuses them and prefills only the rest. A long static system prompt is only the opportunity: without the cache every request prefills it again (with caching off TTFT p50 was ${p.long?.off} at ${p.long_tokens} shared, with caching on ${p.long?.on}); with it, only byte-identical starts in whole blocks are reused, and only while they are still in the pool.`;
  const q7 =
    h`data/prefix_prompts.jsonl: six families of shared text (a customer-support system prompt, a code reviewer's instructions, an API reference, a service agreement, meeting notes, a serving runbook) cut to exact token lengths aligned to whole blocks (from ${p.short_tokens} to ${p.long_tokens}), each followed by a unique tagged question. That shape is the production case: a long fixed instruction block ahead of a short user turn. The sweep includes a prefix shorter than one block (which cannot be cached), share levels (none, half, all requests sharing) and a working set larger than the pool (the eviction cliff).`;
  const q8 = p.long?.speedup
    ? h`At ${p.long_tokens} shared and concurrency ${p.concurrency}: TTFT p50 went from ${p.long.off} off to ${p.long.on} on (${p.long.speedup} faster), output tok/s from ${p.long_tok_s_off} to ${p.long_tok_s_on} (${p.long_tok_gain}), with a hit rate of ${p.long_hit_rate}. Memory: peak KV usage ${p.long_kv_off} off and ${p.long_kv_on} on: shared blocks are held once, and cached blocks no request uses count as free, so caching did not take capacity.${note}`
    : h`<em>Not measured:</em> the prefix tier left no on/off pair at its longest prefix in this run.`;
  const q9 =
    h`The hit rate is the share of prompt tokens served from the cache (cached tokens / prompt tokens; vLLM's vllm:prefix_cache_hits_total / vllm:prefix_cache_queries_total). It was ${p.long_hit_rate} at the longest prefix, ${p.share_half_hit} with half the requests sharing and ${p.share_none_hit} with none. Mixed traffic scales the win roughly with the shared share of prefill: TTFT p50 on / off was ${p.share_half?.on} / ${p.share_half?.off} (${p.share_half?.speedup}) with half sharing against ${p.share_all?.on} / ${p.share_all?.off} (${p.share_all?.speedup}) with all; ${
      prefixUnsharedText(p.share_none, p.share_none_hit)
    }. Expect the p50 to improve first and the tail to stay with the uncached requests.${note}`;
  const q10 =
    h`vllm:prefix_cache_hits_total and vllm:prefix_cache_queries_total (their rate ratio is the hit rate; here it agreed with the per-request usage.prompt_tokens_details.cached_tokens), TTFT p50 and p95 split by route or tenant, vllm:gpu_cache_usage_perc (KV usage) and preemptions, and the hit rate over time: a falling hit rate with a growing working set is the eviction cliff (here ${p.cliff_fits_hit} at ${p.cliff_fits} the pool, ${p.cliff_over_hit} at ${p.cliff_over}).`;
  const q11 =
    h`Be careful when prompts share nothing or less than a block (${p.short_tokens} shared: ${p.short?.speedup} off / on, nothing to reuse), when the working set of distinct prefixes outgrows the KV pool (the hit rate fell from ${p.cliff_fits_hit} to ${p.cliff_over_hit} past ${p.cliff_fits} the pool: a cliff, not a slope), when per-request content (timestamps, user ids) sits before the shared text, and when tenants must not share cache (timing side channels: use a per-tenant cache_salt). Otherwise keep it on: vLLM enables it by default and its cost with no hits is the hashing of each block.`;
  return [
    { n: 6, answer: q6 },
    { n: 7, answer: q7 },
    { n: 8, answer: q8 },
    { n: 9, answer: q9 },
    { n: 10, answer: q10 },
    { n: 11, answer: q11 },
  ];
}
