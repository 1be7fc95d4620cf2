/**
 * Prefix-cache arithmetic: how many prompt tokens a hit can cover (whole blocks, the last prompt token
 * always recomputed), block alignment, and the check that the two hit-rate measures agree:
 * per-request `usage.prompt_tokens_details.cached_tokens` summed, against the deltas of
 * `vllm:prefix_cache_hits_total` / `vllm:prefix_cache_queries_total` over the same requests.
 * Facts from shared/reference/vllm.md §5.
 * @module
 */

function checkBlock(block_size: number): void {
  if (!Number.isInteger(block_size) || block_size < 1) {
    throw new RangeError(`Invalid block_size ${block_size}: it must be a positive integer (16 on GPUs).`);
  }
}

/**
 * Prompt tokens a warm prefix cache can serve: only full blocks are cached, and the last prompt token
 * is always recomputed, so `min(floor(shared / B), floor((prompt - 1) / B)) x B`.
 *
 * @example
 * ```ts
 * expectedCachedTokens(1024, 1040, 16); // 1024: a block-aligned shared prefix hits in full
 * expectedCachedTokens(8, 40, 16); // 0: a prefix shorter than a block never hits
 * expectedCachedTokens(48, 48, 16); // 32: an identical aligned prompt recomputes its last block
 * ```
 */
export function expectedCachedTokens(
  shared_tokens: number,
  prompt_tokens: number,
  block_size: number,
): number {
  checkBlock(block_size);
  if (shared_tokens <= 0 || prompt_tokens <= 1) return 0;
  const blocks = Math.min(
    Math.floor(shared_tokens / block_size),
    Math.floor((prompt_tokens - 1) / block_size),
  );
  return Math.max(0, blocks) * block_size;
}

/**
 * A token count rounded to the nearest whole number of KV blocks, at least one block: a prefix that
 * ends inside a block leaves that block uncached.
 *
 * @example
 * ```ts
 * alignPrefixTokens(1000, 16); // 1008
 * alignPrefixTokens(5, 16); // 16
 * ```
 */
export function alignPrefixTokens(tokens: number, block_size: number): number {
  checkBlock(block_size);
  return Math.max(1, Math.round(tokens / block_size)) * block_size;
}

/**
 * Sums per-request cached tokens as servers report them: vLLM up to ~0.21 omits
 * `prompt_tokens_details` when nothing was cached, so once any request of the set reports a number,
 * a missing one counts as 0; when none reports, the sum is undefined (not reported: the server may
 * run without --enable-prompt-tokens-details).
 *
 * @example
 * ```ts
 * sumReportedTokens([1024, undefined, 1024]); // 2048
 * sumReportedTokens([undefined, undefined]); // undefined
 * ```
 */
export function sumReportedTokens(values: readonly (number | undefined)[]): number | undefined {
  if (!values.some((v) => typeof v === "number")) return undefined;
  return values.reduce<number>((s, v) => s + (v ?? 0), 0);
}

/** What {@link checkPrefixHitRate} compares, over one set of requests (one run). */
export interface PrefixHitRateInput {
  /** Requests in the set. */
  n_requests: number;
  block_size: number;
  /** Caching on for this engine: the metrics then count queries. */
  caching: boolean;
  /** Σ usage.prompt_tokens_details.cached_tokens (undefined: not reported). */
  usage_cached_tokens?: number;
  /** Σ usage.prompt_tokens. */
  usage_prompt_tokens?: number;
  /** Δ prefix_cache_hits over the set (undefined: not exported). */
  metric_hits_tokens?: number;
  /** Δ prefix_cache_queries over the set. */
  metric_queries_tokens?: number;
}

/** The two hit rates side by side and whether they agree. */
export interface PrefixHitRateCheck {
  /** Σ cached_tokens / Σ prompt_tokens. */
  usage_hit_rate?: number;
  /** Δ hits / Δ queries. */
  metric_hit_rate?: number;
  /** Σ cached_tokens - Δ hits. */
  hits_diff_tokens?: number;
  /** Σ prompt_tokens - Δ queries (caching on only: with caching off the engine queries nothing). */
  queries_diff_tokens?: number;
  /** One block per request: the most two honest counts of whole-block hits can differ by. */
  tolerance_tokens: number;
  /** Undefined when one side was not measured. */
  agree?: boolean;
  /** Why they disagree, or what was not measured. */
  note?: string;
}

/**
 * Compares the per-request usage counts with the server's counters over the same requests. They
 * agree when |Σ cached - Δ hits| and, with caching on, |Σ prompt - Δ queries| are at most one block
 * per request (`tolerance = block_size x n_requests`); rates are hits / queries on each side.
 *
 * @example
 * ```ts
 * checkPrefixHitRate({ n_requests: 4, block_size: 16, caching: true, usage_cached_tokens: 4096,
 *   usage_prompt_tokens: 4200, metric_hits_tokens: 4096, metric_queries_tokens: 4200 }).agree; // true
 * ```
 */
export function checkPrefixHitRate(x: PrefixHitRateInput): PrefixHitRateCheck {
  checkBlock(x.block_size);
  const tolerance_tokens = x.block_size * x.n_requests;
  const rate = (num?: number, den?: number) =>
    num === undefined || den === undefined || den <= 0 ? undefined : num / den;
  const out: PrefixHitRateCheck = {
    usage_hit_rate: rate(x.usage_cached_tokens, x.usage_prompt_tokens),
    metric_hit_rate: rate(x.metric_hits_tokens, x.metric_queries_tokens),
    tolerance_tokens,
  };
  if (x.usage_cached_tokens === undefined || x.metric_hits_tokens === undefined) {
    out.note = x.usage_cached_tokens === undefined
      ? "cached_tokens not reported (server without --enable-prompt-tokens-details?)"
      : "prefix-cache counters not exported by the server";
    return out;
  }
  out.hits_diff_tokens = x.usage_cached_tokens - x.metric_hits_tokens;
  const problems: string[] = [];
  if (Math.abs(out.hits_diff_tokens) > tolerance_tokens) {
    problems.push(
      `Σ cached_tokens ${x.usage_cached_tokens} vs Δ hits ${x.metric_hits_tokens} differ by more than ` +
        `${tolerance_tokens} (one block per request)`,
    );
  }
  if (x.caching && x.usage_prompt_tokens !== undefined && x.metric_queries_tokens !== undefined) {
    out.queries_diff_tokens = x.usage_prompt_tokens - x.metric_queries_tokens;
    if (Math.abs(out.queries_diff_tokens) > tolerance_tokens) {
      problems.push(
        `Σ prompt_tokens ${x.usage_prompt_tokens} vs Δ queries ${x.metric_queries_tokens} differ by more ` +
          `than ${tolerance_tokens} (other traffic, preemptions or a restart during the run?)`,
      );
    }
  }
  out.agree = problems.length === 0;
  if (problems.length) out.note = problems.join("; ");
  return out;
}

/**
 * How many distinct prefixes an LRU pool keeps warm under round-robin traffic: each request holds
 * `ceil((prefix + suffix + output) / B)` blocks while it runs, and those blocks stay cached (and
 * compete for the pool) after it ends, so `floor(usable_blocks / blocks_per_request)`.
 *
 * @example
 * ```ts
 * prefixCapacity({ usable_blocks: 256, block_size: 16, prefix_tokens: 512, suffix_tokens: 20, output_tokens: 4 }); // 7
 * ```
 */
export function prefixCapacity(x: {
  usable_blocks: number;
  block_size: number;
  prefix_tokens: number;
  suffix_tokens: number;
  output_tokens: number;
}): number {
  checkBlock(x.block_size);
  const per = Math.ceil((x.prefix_tokens + x.suffix_tokens + x.output_tokens) / x.block_size);
  return per > 0 ? Math.floor(x.usable_blocks / per) : 0;
}

/** Two 32-bit FNV-1a lanes over a block's ids, chained to the parent block's key. */
function blockKey(parent: string, ids: readonly number[]): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ ids.length;
  for (const id of ids) {
    a = Math.imul(a ^ (id & 0xffff), 0x01000193) >>> 0;
    a = Math.imul(a ^ (id >>> 16), 0x01000193) >>> 0;
    b = Math.imul(b ^ id, 0x5bd1e995) >>> 0;
    b ^= b >>> 13;
  }
  return `${parent}/${a.toString(36)}.${b.toString(36)}`;
}

/**
 * For prompts sent in order, the tokens an ideal prefix cache serves each one: every full block of
 * every earlier prompt is cached and never evicted; a prompt hits its longest chain of cached full
 * blocks from the start, capped at `floor((N - 1) / B)` blocks (the last token is recomputed). This is
 * the no-eviction expectation the measurement is compared with.
 *
 * @example
 * ```ts
 * const p = Array.from({ length: 40 }, (_, i) => i);
 * warmCacheHits([p, [...p.slice(0, 32), 99, 98]], 16); // [0, 32]
 * ```
 */
export function warmCacheHits(prompts: readonly (readonly number[])[], block_size: number): number[] {
  checkBlock(block_size);
  const cached = new Set<string>();
  return prompts.map((ids) => {
    const full = Math.floor(ids.length / block_size);
    const cap = Math.floor((ids.length - 1) / block_size);
    let key = "";
    let hit = 0;
    let chain = true;
    for (let k = 0; k < full; k++) {
      key = blockKey(key, ids.slice(k * block_size, (k + 1) * block_size));
      if (chain && k < cap && cached.has(key)) hit = k + 1;
      else chain = false;
      cached.add(key);
    }
    return hit * block_size;
  });
}
