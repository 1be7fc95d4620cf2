/**
 * The seed document's 20 learning questions (Day 007, "Check Your Learning"), word for word (its bold and code
 * marks dropped), each with the tier that answers it from a run's data; 19 and 20 are the write-up's own.
 * Each tier answers its questions through the Tier contract's `questions` member; {@link seedAnswers}
 * collects them in the seed's order and says "not answered by this run" for the rest.
 * @module
 */
import { h, type Html } from "../report/html.ts";
import type { AnyTier, SeedAnswer } from "../tiers/tier.ts";

/** One seed question: its number in the seed, the tier key that answers it ("writeup": the day's write-up). */
export interface SeedQuestion {
  n: number;
  tier: string;
  text: string;
}

/** The 20 questions, numbered as in the seed. */
export const SEED_QUESTIONS: readonly SeedQuestion[] = [
  {
    n: 1,
    tier: "ttft",
    text:
      "How do you define TTFT in the context of vLLM, and how is it different from full end‑to‑end latency?",
  },
  {
    n: 2,
    tier: "ttft",
    text:
      "In your first_token_latency.md measurements, what rough factor separated cold TTFT from warm TTFT, and what components do you think contributed most to the gap?",
  },
  {
    n: 3,
    tier: "ttft",
    text:
      "If you see unexpectedly high warm TTFT, what are three things you would check first (flags, environment, or workload)?",
  },
  {
    n: 4,
    tier: "ttft",
    text:
      "How does max-model-len affect TTFT and throughput indirectly, even when your actual prompts are much shorter than the maximum?",
  },
  {
    n: 5,
    tier: "ttft",
    text:
      "How would you explain to an SRE why “TTFT vs throughput” is a trade‑off rather than two independent knobs?",
  },
  {
    n: 6,
    tier: "prefix",
    text:
      "What is prefix caching in vLLM terms, and how is it different from just having a long static system prompt?",
  },
  {
    n: 7,
    tier: "prefix",
    text:
      "Describe the repeated‑prefix workload you used in prefix_prompts.jsonl. Why did you choose that kind of prefix?",
  },
  {
    n: 8,
    tier: "prefix",
    text:
      "For your prefix caching experiments, how did TTFT and tok/s change when you turned prefix caching on for a large prefix at moderate concurrency?",
  },
  {
    n: 9,
    tier: "prefix",
    text:
      "What is the concept of cache hit rate for prefix caching, and how does mixed traffic (some cached, some not) change your expectations?",
  },
  {
    n: 10,
    tier: "prefix",
    text:
      "Which production metrics would you monitor to confirm that prefix caching is actually delivering a benefit in a real system?",
  },
  {
    n: 11,
    tier: "prefix",
    text:
      "Under what workload shapes would you avoid enabling prefix caching, or at least treat it with caution?",
  },
  {
    n: 12,
    tier: "kv",
    text:
      "How did you estimate bytes per KV token from kv_cache_scaling.csv, and what rough number did you arrive at for this SLM + GPU?",
  },
  {
    n: 13,
    tier: "kv",
    text:
      "Using that bytes‑per‑token estimate, how would you reason about a safe max-model-len if a product team asks for “room for 8 concurrent 4K‑token chats”?",
  },
  {
    n: 14,
    tier: "kv",
    text:
      "In your KV scaling notes, did the memory usage vs max-model-len curve look mostly linear, or did you observe step changes? What might cause those steps?",
  },
  {
    n: 15,
    tier: "kv",
    text:
      "How would you explain the phrase “max-model-len is a VRAM reservation decision” to a non‑ML infra lead?",
  },
  {
    n: 16,
    tier: "batching",
    text:
      "From your batching_benchmark.md results, what concurrency range looked like the sweet spot for your SLM and node, and why?",
  },
  {
    n: 17,
    tier: "batching",
    text:
      "At what concurrency did you see throughput flatten or p95/v99 latency blow up, and how would you communicate that “knee of the curve” to a product owner?",
  },
  {
    n: 18,
    tier: "batching",
    text:
      "How does continuous batching allow vLLM to increase tokens/sec without linearly increasing TTFT for each request?",
  },
  {
    n: 19,
    tier: "writeup",
    text:
      "If you had to design a minimal “vLLM health check” dashboard based on Day 007, which 4–5 metrics would you include and what thresholds would worry you?",
  },
  {
    n: 20,
    tier: "writeup",
    text:
      "Given your Day 007 experiments, what concrete configuration (model, max-model-len, concurrency target, prefix caching on/off) would you recommend as a first-cut vLLM SLM service for this node?",
  },
];

/** A question with its answer from this run (or why there is none). */
export interface AnsweredQuestion extends SeedQuestion {
  answer: Html;
  answered: boolean;
}

/**
 * The seed's questions answered from a run's facts: each tier's `questions` (and `extra`, the write-up's own
 * answers to 19 and 20), in the seed's order; `only` keeps one tier's questions (a notebook's "Check your
 * learning").
 *
 * @example
 * ```ts
 * const qs = seedAnswers(TIERS, runFacts(book), { only: "ttft" });
 * qs.map((q) => q.n); // [1, 2, 3, 4, 5]
 * ```
 */
export function seedAnswers(
  tiers: readonly AnyTier[],
  facts: Readonly<Record<string, unknown>>,
  opts: { only?: string; extra?: readonly SeedAnswer[] } = {},
): AnsweredQuestion[] {
  const answers = new Map<number, SeedAnswer>();
  for (const t of tiers) {
    if (opts.only && t.key !== opts.only) continue;
    // A tier whose facts were not computed (its data not read) answers nothing: "not answered" below.
    if (facts[t.key] === undefined) continue;
    for (const a of t.questions?.(facts[t.key], facts) ?? []) answers.set(a.n, a);
  }
  for (const a of opts.extra ?? []) answers.set(a.n, a);
  return SEED_QUESTIONS.filter((q) => !opts.only || q.tier === opts.only).map((q) => {
    const a = answers.get(q.n);
    return a ? { ...q, answer: a.answer, answered: true } : {
      ...q,
      answer: h`<em>Not answered by this run: the ${q.tier} part gave no data for it.</em>`,
      answered: false,
    };
  });
}
