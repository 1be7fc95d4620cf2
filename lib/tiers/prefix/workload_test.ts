import assert from "node:assert/strict";
import { parseServeConfig } from "../../engine/config.ts";
import { createClock } from "../../probe/clock.ts";
import { probe } from "../../probe/stream.ts";
import { tokenize } from "../../probe/prompts.ts";
import { serveSim } from "../../sim/server.ts";
import { loadPrefixFamilies } from "./families.ts";
import { alignPrefixTokens, expectedCachedTokens, warmCacheHits } from "./hit_rate.ts";
import {
  planPrefixRequests,
  PREFIX_UNIQUE_VARIANT_BASE,
  prefixProbeRequests,
  prefixPromptBuilder,
  prefixTokens,
} from "./workload.ts";

const MODEL = "Qwen/Qwen2.5-1.5B-Instruct";
const COUNTS = [8, 8, 8];
const base = { point_id: "p", repeat: 0, seed: 0, family: 1, suffix_counts: COUNTS };

Deno.test("plans are seeded by seed, point and repeat only", () => {
  const a = planPrefixRequests({ ...base, sweep: "share", share: 0.5, requests: 12 });
  assert.deepEqual(a, planPrefixRequests({ ...base, sweep: "share", share: 0.5, requests: 12 }));
  const other = planPrefixRequests({ ...base, sweep: "share", share: 0.5, requests: 12, repeat: 1 });
  assert.notDeepEqual(a.measure.map((r) => r.suffix), other.measure.map((r) => r.suffix));
  assert.notDeepEqual(a, planPrefixRequests({ ...base, sweep: "share", share: 0.5, requests: 12, seed: 9 }));
});

Deno.test("a length plan primes the shared prefix once and measures requests that all share it", () => {
  const p = planPrefixRequests({ ...base, sweep: "length", requests: 5 });
  assert.equal(p.prime.length, 1);
  assert.equal(p.measure.length, 5);
  for (const r of [...p.prime, ...p.measure]) {
    assert.equal(r.family, 1);
    assert.equal(r.variant, 0);
    assert.ok(r.suffix >= 0 && r.suffix < 8);
  }
  assert.equal(new Set([...p.prime, ...p.measure].map((r) => r.tag)).size, 6, "every suffix tag is unique");
});

Deno.test("a share plan gives exactly the asked share of requests the shared prefix", () => {
  for (const [share, n, k] of [[0, 8, 0], [0.25, 8, 2], [0.5, 8, 4], [0.75, 8, 6], [1, 8, 8], [0.5, 5, 3]]) {
    const p = planPrefixRequests({ ...base, sweep: "share", share, requests: n });
    const shared = p.measure.filter((r) => r.shares_prefix);
    assert.equal(shared.length, k, `share ${share} of ${n}`);
    assert.ok(shared.every((r) => r.variant === 0));
    const unique = p.measure.filter((r) => !r.shares_prefix).map((r) => r.variant);
    assert.equal(new Set(unique).size, unique.length, "unshared prefixes are all distinct");
    assert.ok(unique.every((v) => v >= PREFIX_UNIQUE_VARIANT_BASE));
    assert.equal(p.prime.length, k > 0 ? 1 : 0, "primed only when some request shares the prefix");
  }
  const mixed = planPrefixRequests({ ...base, sweep: "share", share: 0.5, requests: 16 });
  const pattern = mixed.measure.map((r) => r.shares_prefix);
  assert.notDeepEqual(pattern, [...Array(8).fill(true), ...Array(8).fill(false)], "positions are shuffled");
});

Deno.test("a cliff plan primes each prefix once, then passes over the working set round-robin", () => {
  const p = planPrefixRequests({ ...base, sweep: "cliff", working_set: 4, rounds: 2 });
  assert.deepEqual(p.prime.map((r) => r.variant), [1, 2, 3, 4]);
  assert.deepEqual(p.measure.map((r) => r.variant), [1, 2, 3, 4, 1, 2, 3, 4]);
  assert.deepEqual(p.prime.map((r) => r.family), [0, 1, 2, 0], "families in turn");
  assert.throws(
    () => planPrefixRequests({ ...base, sweep: "cliff", working_set: 0, rounds: 1 }),
    /working_set 0/,
  );
});

Deno.test("prefixes have exact, nested lengths and variants differ from the first block", async () => {
  await using srv = await serveSim(parseServeConfig({ engine: "sim", model: MODEL }), { port: 0 });
  const fams = await loadPrefixFamilies();
  let calls = 0;
  const b = prefixPromptBuilder((t) => (calls++, tokenize(srv.url, MODEL, t)), fams);
  const long = await b.prefixIds(0, 0, 4096);
  assert.equal(long.length, 4096, "longer than the family text: topped up with filler");
  for (const n of [8, 16, 1024, alignPrefixTokens(1000, 16)]) {
    const ids = await b.prefixIds(0, 0, n);
    assert.equal(ids.length, n);
    assert.deepEqual(ids, long.slice(0, n), "a shorter prefix is the start of a longer one");
  }
  const before = calls;
  await b.prefixIds(0, 0, 2048);
  assert.equal(calls, before, "tokenizations are cached");
  const v1 = await b.prefixIds(0, 1, 64);
  const v2 = await b.prefixIds(0, 2, 64);
  assert.notDeepEqual(v1.slice(0, 16), v2.slice(0, 16));
  assert.notDeepEqual(v1.slice(0, 16), long.slice(0, 16));
  const s1 = await b.suffixIds(0, 3, "a.0.m1");
  const s2 = await b.suffixIds(0, 3, "a.0.m2");
  assert.notDeepEqual(s1, s2);
  assert.deepEqual(await prefixTokens(srv.url, MODEL, fams[0], 1024), long.slice(0, 1024));
});

Deno.test("on the embedded engine warm requests hit exactly the expected whole blocks", async () => {
  await using srv = await serveSim(
    parseServeConfig({ engine: "sim", model: MODEL, enable_prefix_caching: true }),
    { port: 0 },
  );
  const fams = await loadPrefixFamilies();
  const b = prefixPromptBuilder((t) => tokenize(srv.url, MODEL, t), fams);
  const clock = createClock();
  for (const [prefix_tokens, family] of [[8, 0], [1000, 1], [1024, 2]]) {
    const plan = planPrefixRequests({
      ...base,
      family,
      point_id: `len${prefix_tokens}`,
      sweep: "length",
      requests: 3,
    });
    const opts = { model: MODEL, prefix_tokens, output_tokens: 2 };
    const [prime] = await prefixProbeRequests(b, plan.prime, opts);
    const cold = await probe(srv.url, prime, { clock });
    assert.equal(cold.cached_tokens, 0);
    const measured = await prefixProbeRequests(b, plan.measure, opts);
    const ideal = warmCacheHits([prime, ...measured].map((r) => r.prompt as number[]), 16);
    for (const [i, req] of measured.entries()) {
      const rec = await probe(srv.url, req, { clock });
      assert.equal(rec.ok, true);
      const expected = expectedCachedTokens(prefix_tokens, rec.prompt_tokens!, 16);
      assert.equal(rec.cached_tokens, expected, `P=${prefix_tokens}`);
      assert.equal(ideal[i + 1], expected, "suffixes diverge before the block after the prefix fills");
    }
  }
});
