/**
 * The tier's workload: which prefix and suffix each request carries (a pure, seeded plan), and the
 * token ids of those prompts, built through the engine's own tokenizer (`POST /tokenize`) so that a
 * "1,024-token prefix" is exactly 1,024 tokens on the engine that serves it.
 *
 * A prefix is a family's text (data/prefix_prompts.jsonl), preceded by a short variant header when the
 * plan needs several distinct prefixes of one family (variant 0 has none), and topped up with seeded
 * filler text (the generator `promptOfTokens` uses) when the family text is shorter than asked; the ids
 * are cut to the exact length. Prompts are sent as token ids, so no re-tokenization can move the prefix
 * boundary. A suffix starts with a request tag that makes it unique within a few tokens, then a family
 * question, so only the prefix can hit the cache.
 * @module
 */
import { createRng } from "../../base/random.ts";
import { seededText, tokenize, type TokenizeOptions } from "../../probe/prompts.ts";
import type { ProbeRequest } from "../../probe/types.ts";
import type { PrefixFamily } from "./families.ts";

/** The three sweeps of the tier. */
export type PrefixSweep = "length" | "share" | "cliff";

/** One point of the sweeps. Token counts are as asked; the run aligns them to whole blocks. */
export interface PrefixPoint {
  id: string;
  sweep: PrefixSweep;
  concurrency: number;
  /** Shared-prefix length asked, or half a block ("sub_block"). */
  prefix_tokens: number | "sub_block";
  /** Share sweep: percent of requests that carry the shared prefix. */
  share_pct?: number;
  /** Cliff: working set as a multiple of the pool's prefix capacity. */
  load_factor?: number;
}

/** One request of a plan. Requests with the same `family` and `variant` carry the same prefix. */
export interface PrefixPlannedRequest {
  /** Position in its phase (priming or measured). */
  index: number;
  /** Index of the family in the families file. */
  family: number;
  /** Prefix variant: 0 is the family text as is; others get a header that changes the first block. */
  variant: number;
  /** Another request of the run carries the same prefix (it can hit the cache). */
  shares_prefix: boolean;
  /** Index of the family's suffix (question) used. */
  suffix: number;
  /** Unique tag placed before the question (index first, so suffixes differ from their first tokens). */
  tag: string;
}

/** A run's requests: the priming ones (sent one by one before measuring) and the measured ones. */
export interface PrefixRequestPlan {
  prime: PrefixPlannedRequest[];
  measure: PrefixPlannedRequest[];
}

/** What {@link planPrefixRequests} needs. */
export type PrefixPlanSpec =
  & {
    point_id: string;
    repeat: number;
    seed: number;
    /** Index of the family the length and share sweeps use. */
    family: number;
    /** Suffix count of each family, in file order. */
    suffix_counts: readonly number[];
  }
  & (
    | { sweep: "length"; requests: number }
    | { sweep: "share"; requests: number; /** 0..1 */ share: number }
    | { sweep: "cliff"; working_set: number; rounds: number }
  );

/** First variant number used for prefixes no other request shares. */
export const PREFIX_UNIQUE_VARIANT_BASE = 100_000;

/** FNV-1a of a string, for seeding. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The requests of one run of a point, seeded by (seed, point id, repeat) and nothing else, so both
 * arms get the same workload.
 *
 * - length: one shared prefix, primed by one request, then `requests` measured requests;
 * - share: exactly round(share x requests) measured requests carry the shared prefix (positions shuffled),
 *   the others a prefix of their own; primed by one shared request when any share it;
 * - cliff: `working_set` distinct prefixes (families in turn), primed once each in order, then
 *   `rounds` round-robin passes.
 *
 * @example
 * ```ts
 * const plan = planPrefixRequests({ sweep: "share", share: 0.25, requests: 8, point_id: "share-25",
 *   repeat: 0, seed: 0, family: 0, suffix_counts: [8] });
 * plan.measure.filter((r) => r.shares_prefix).length; // 2
 * ```
 */
export function planPrefixRequests(spec: PrefixPlanSpec): PrefixRequestPlan {
  const rng = createRng(
    (spec.seed ^ hashString(spec.point_id) ^ Math.imul(spec.repeat + 1, 0x9e3779b1)) >>> 0,
  );
  const counts = spec.suffix_counts;
  if (counts.length === 0 || spec.family < 0 || spec.family >= counts.length) {
    throw new RangeError(
      `Cannot plan requests: family ${spec.family} is not among ${counts.length} families.`,
    );
  }
  const pick = (family: number) => Math.floor(rng() * counts[family]);
  const point = hashString(spec.point_id).toString(36);
  const tag = (phase: string, i: number) => `${phase}${i}.${spec.repeat}.${point}`;
  const req = (
    phase: string,
    i: number,
    family: number,
    variant: number,
    shares: boolean,
  ): PrefixPlannedRequest => ({
    index: i,
    family,
    variant,
    shares_prefix: shares,
    suffix: pick(family),
    tag: tag(phase, i),
  });
  switch (spec.sweep) {
    case "length": {
      checkCount("requests", spec.requests);
      return {
        prime: [req("p", 0, spec.family, 0, true)],
        measure: Array.from({ length: spec.requests }, (_, i) => req("m", i, spec.family, 0, true)),
      };
    }
    case "share": {
      checkCount("requests", spec.requests);
      if (!(spec.share >= 0 && spec.share <= 1)) {
        throw new RangeError(`Cannot plan requests: share ${spec.share} must be between 0 and 1.`);
      }
      const k = Math.round(spec.share * spec.requests);
      const shared = Array.from({ length: spec.requests }, (_, i) => i < k);
      for (let i = shared.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [shared[i], shared[j]] = [shared[j], shared[i]];
      }
      const measure = shared.map((s, i) =>
        req("m", i, spec.family, s ? 0 : PREFIX_UNIQUE_VARIANT_BASE + i, s)
      );
      return { prime: k > 0 ? [req("p", 0, spec.family, 0, true)] : [], measure };
    }
    case "cliff": {
      checkCount("working_set", spec.working_set);
      checkCount("rounds", spec.rounds);
      const variantFamily = (v: number) => (v - 1) % counts.length;
      const prime = Array.from(
        { length: spec.working_set },
        (_, i) => req("p", i, variantFamily(i + 1), i + 1, true),
      );
      const measure = Array.from({ length: spec.working_set * spec.rounds }, (_, i) => {
        const v = (i % spec.working_set) + 1;
        return req("m", i, variantFamily(v), v, true);
      });
      return { prime, measure };
    }
    default: {
      const never: never = spec;
      throw new TypeError(`Cannot plan requests: unknown sweep ${JSON.stringify(never)}.`);
    }
  }
}

function checkCount(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot plan requests: ${name} ${n} must be a positive integer.`);
  }
}

/** Turns texts into token ids (the engine's /tokenize, or a local tokenizer in tests). */
export type PrefixTokenizeFn = (text: string) => Promise<number[]>;

/** Builds the token ids of a plan's prompts, caching every tokenization. */
export interface PrefixPromptBuilder {
  /** Exactly `tokens` ids of the prefix (`family`, `variant`). */
  prefixIds(family: number, variant: number, tokens: number): Promise<number[]>;
  /** The ids of a suffix: the request tag and the family's question. */
  suffixIds(family: number, suffix: number, tag: string): Promise<number[]>;
  /** Prefix of `prefix_tokens` ids followed by the suffix. */
  promptIds(req: PrefixPlannedRequest, prefix_tokens: number): Promise<number[]>;
}

/** The header that makes variant `v` a distinct prefix (variant 0 has none). */
export function prefixVariantHeader(variant: number): string {
  return variant === 0 ? "" : `Variant ${variant}.\n\n`;
}

/**
 * A prompt builder over a tokenizer and the families. Prefix ids are the concatenation of the variant
 * header's ids, the family text's ids and seeded filler ids, cut to length: so the prefix of a variant
 * at length n is the start of the same prefix at any greater length.
 *
 * @example
 * ```ts
 * const b = prefixPromptBuilder((t) => tokenize(url, model, t), families);
 * (await b.prefixIds(0, 0, 1024)).length; // 1024
 * ```
 */
export function prefixPromptBuilder(
  tokenizeFn: PrefixTokenizeFn,
  families: readonly PrefixFamily[],
): PrefixPromptBuilder {
  const memo = new Map<string, Promise<number[]>>();
  const cached = (key: string, text: string) => {
    let p = memo.get(key);
    if (!p) {
      p = tokenizeFn(text);
      memo.set(key, p);
      p.catch(() => memo.delete(key));
    }
    return p;
  };
  const fam = (i: number) => {
    const f = families[i];
    if (!f) throw new RangeError(`No prefix family ${i}: the file has ${families.length}.`);
    return f;
  };
  const filler = new Map<number, { words: number; ids: number[] }>();
  const fillerIds = async (family: number, needed: number): Promise<number[]> => {
    let have = filler.get(family);
    while (!have || have.ids.length < needed) {
      const words = Math.max(64, Math.ceil(needed * 0.9) + 16, (have?.words ?? 0) * 2);
      const ids = await tokenizeFn(`\n\nAppendix.\n\n${seededText(7919 + family, words)}`);
      if (have && ids.length <= have.ids.length) {
        throw new Error(`Cannot build a prefix of ${needed} filler tokens: /tokenize stopped growing.`);
      }
      have = { words, ids };
      filler.set(family, have);
    }
    return have.ids;
  };
  const builder: PrefixPromptBuilder = {
    async prefixIds(family, variant, tokens) {
      if (!Number.isInteger(tokens) || tokens < 1) {
        throw new RangeError(
          `Cannot build a prefix of ${tokens} tokens: the length must be a positive integer.`,
        );
      }
      const f = fam(family);
      const head = variant === 0 ? [] : await cached(`h:${variant}`, prefixVariantHeader(variant));
      const body = await cached(`f:${family}`, f.prefix);
      const short = tokens - head.length - body.length;
      const tail = short > 0 ? await fillerIds(family, short) : [];
      return [...head, ...body, ...tail].slice(0, tokens);
    },
    async suffixIds(family, suffix, tag) {
      const f = fam(family);
      const q = f.suffixes[suffix];
      if (q === undefined) throw new RangeError(`Family '${f.family}' has no suffix ${suffix}.`);
      return await cached(`s:${family}:${suffix}:${tag}`, `\n\n(${tag}) ${q}`);
    },
    async promptIds(req, prefix_tokens) {
      const [p, s] = await Promise.all([
        builder.prefixIds(req.family, req.variant, prefix_tokens),
        builder.suffixIds(req.family, req.suffix, req.tag),
      ]);
      return [...p, ...s];
    },
  };
  return builder;
}

/**
 * Exactly `tokens` token ids of a family's prefix, through the engine's `/tokenize`: the generator of
 * block-aligned prefixes the notebook documents (pass `alignPrefixTokens(n, block_size)` as `tokens`).
 *
 * @example
 * ```ts
 * const ids = await prefixTokens(engine.baseUrl, engine.model, families[0], 1024);
 * ids.length; // 1024
 * ```
 */
export async function prefixTokens(
  baseUrl: string,
  model: string,
  family: PrefixFamily,
  tokens: number,
  opts: TokenizeOptions & { variant?: number } = {},
): Promise<number[]> {
  const b = prefixPromptBuilder((t) => tokenize(baseUrl, model, t, opts), [family]);
  return await b.prefixIds(0, opts.variant ?? 0, tokens);
}

/** Options of {@link prefixProbeRequests}. */
export interface PrefixProbeOptions {
  model: string;
  prefix_tokens: number;
  output_tokens: number;
}

/**
 * The plan's requests as probe requests: token-id prompts to /v1/completions, a fixed output length
 * (`ignore_eos`), greedy sampling, tags naming the prefix.
 *
 * @example
 * ```ts
 * const reqs = await prefixProbeRequests(builder, plan.measure, { model, prefix_tokens: 1024, output_tokens: 16 });
 * ```
 */
export async function prefixProbeRequests(
  builder: PrefixPromptBuilder,
  planned: readonly PrefixPlannedRequest[],
  opts: PrefixProbeOptions,
): Promise<ProbeRequest[]> {
  return await Promise.all(planned.map(async (r) => ({
    endpoint: "completions" as const,
    model: opts.model,
    prompt: await builder.promptIds(r, opts.prefix_tokens),
    max_tokens: opts.output_tokens,
    ignore_eos: true,
    temperature: 0,
    tags: { family: r.family, variant: r.variant, shares_prefix: r.shares_prefix },
  })));
}
