import assert from "node:assert/strict";
import {
  alignPrefixTokens,
  checkPrefixHitRate,
  expectedCachedTokens,
  prefixCapacity,
  sumReportedTokens,
  warmCacheHits,
} from "./hit_rate.ts";

Deno.test("expected cached tokens count whole blocks of the shared prefix only", () => {
  assert.equal(expectedCachedTokens(1024, 1050, 16), 1024);
  assert.equal(expectedCachedTokens(1000, 1050, 16), 992, "a prefix ending mid-block loses that block");
  assert.equal(expectedCachedTokens(8, 40, 16), 0, "shorter than a block: nothing to hit");
  assert.equal(expectedCachedTokens(0, 40, 16), 0);
  assert.equal(expectedCachedTokens(256, 300, 128), 256);
});

Deno.test("expected cached tokens recompute the last prompt token", () => {
  assert.equal(expectedCachedTokens(48, 48, 16), 32, "identical aligned prompt: last block recomputed");
  assert.equal(expectedCachedTokens(40, 40, 16), 32);
  assert.equal(expectedCachedTokens(49, 49, 16), 48);
  assert.equal(expectedCachedTokens(16, 1, 16), 0);
});

Deno.test("alignment rounds to the nearest block and never below one", () => {
  assert.equal(alignPrefixTokens(1000, 16), 1008);
  assert.equal(alignPrefixTokens(1024, 16), 1024);
  assert.equal(alignPrefixTokens(5, 16), 16);
  assert.equal(alignPrefixTokens(8192, 128), 8192);
  assert.equal(alignPrefixTokens(300, 128), 256);
  assert.throws(() => alignPrefixTokens(10, 0), /block_size 0/);
});

Deno.test("reported cached tokens: absent counts as zero once any request reports", () => {
  assert.equal(sumReportedTokens([1024, undefined, 1024]), 2048);
  assert.equal(sumReportedTokens([0, 0]), 0);
  assert.equal(sumReportedTokens([undefined, undefined]), undefined);
  assert.equal(sumReportedTokens([]), undefined);
});

Deno.test("hit-rate measures agree within one block per request", () => {
  const base = {
    n_requests: 4,
    block_size: 16,
    caching: true,
    usage_prompt_tokens: 4200,
    metric_queries_tokens: 4200,
  };
  const same = checkPrefixHitRate({ ...base, usage_cached_tokens: 4096, metric_hits_tokens: 4096 });
  assert.equal(same.agree, true);
  assert.equal(same.tolerance_tokens, 64);
  assert.equal(same.usage_hit_rate, 4096 / 4200);
  assert.equal(same.metric_hit_rate, 4096 / 4200);
  assert.equal(same.hits_diff_tokens, 0);

  const edge = checkPrefixHitRate({ ...base, usage_cached_tokens: 4096, metric_hits_tokens: 4032 });
  assert.equal(edge.agree, true, "64 tokens apart over 4 requests is one block each");
  const off = checkPrefixHitRate({ ...base, usage_cached_tokens: 4096, metric_hits_tokens: 4016 });
  assert.equal(off.agree, false);
  assert.match(off.note!, /differ by more than 64/);
});

Deno.test("queries are checked against prompt tokens only with caching on", () => {
  const on = checkPrefixHitRate({
    n_requests: 2,
    block_size: 16,
    caching: true,
    usage_cached_tokens: 0,
    metric_hits_tokens: 0,
    usage_prompt_tokens: 2000,
    metric_queries_tokens: 1000,
  });
  assert.equal(on.agree, false);
  assert.match(on.note!, /prompt_tokens 2000 vs Δ queries 1000/);
  const off = checkPrefixHitRate({
    n_requests: 2,
    block_size: 16,
    caching: false,
    usage_cached_tokens: 0,
    metric_hits_tokens: 0,
    usage_prompt_tokens: 2000,
    metric_queries_tokens: 0,
  });
  assert.equal(off.agree, true, "caching off: the engine queries nothing, both hit counts are 0");
  assert.equal(off.queries_diff_tokens, undefined);
  assert.equal(off.metric_hit_rate, undefined, "no queries: no rate, not 0");
  assert.equal(off.usage_hit_rate, 0);
});

Deno.test("a side that was not measured leaves agreement undefined with a note", () => {
  const r = checkPrefixHitRate({ n_requests: 3, block_size: 16, caching: true, metric_hits_tokens: 10 });
  assert.equal(r.agree, undefined);
  assert.match(r.note!, /not reported/);
});

Deno.test("prefix capacity divides the usable blocks by the blocks one request holds", () => {
  const c = prefixCapacity({
    usable_blocks: 256,
    block_size: 16,
    prefix_tokens: 512,
    suffix_tokens: 20,
    output_tokens: 4,
  });
  assert.equal(c, Math.floor(256 / Math.ceil(536 / 16)));
  assert.equal(c, 7);
  assert.equal(
    prefixCapacity({
      usable_blocks: 10,
      block_size: 16,
      prefix_tokens: 4096,
      suffix_tokens: 10,
      output_tokens: 4,
    }),
    0,
  );
});

Deno.test("an ideal warm cache serves the longest chain of earlier full blocks", () => {
  const p = Array.from({ length: 100 }, (_, i) => i + 1);
  const diverge = (
    n: number,
    len: number,
  ) => [...p.slice(0, n), ...Array.from({ length: len - n }, (_, i) => 1000 + i)];
  const hits = warmCacheHits([
    p.slice(0, 70),
    diverge(40, 70),
    diverge(8, 70),
    p.slice(0, 64),
    p.slice(0, 20),
  ], 16);
  assert.deepEqual(hits, [0, 32, 0, 48, 16]);
  // a block in the middle that matches does not count once the chain broke
  const q = [...Array(16).fill(7), ...p.slice(16, 48)];
  assert.deepEqual(warmCacheHits([p.slice(0, 48), q], 16), [0, 0]);
  // the same prompt twice: its last block is recomputed
  assert.deepEqual(warmCacheHits([p.slice(0, 48), p.slice(0, 48)], 16), [0, 32]);
});
