import assert from "node:assert/strict";
import { createRng } from "./random.ts";
import {
  bootstrapCi,
  mean,
  median,
  percentile,
  percentileSorted,
  quantile,
  quantileSorted,
  summarize,
} from "./stats.ts";

Deno.test("percentile interpolates linearly between closest ranks (type 7)", () => {
  const xs = [15, 20, 35, 40, 50];
  // h = (n - 1) p / 100
  assert.equal(percentile(xs, 0), 15);
  assert.equal(percentile(xs, 100), 50);
  assert.equal(percentile(xs, 50), 35);
  assert.equal(percentile(xs, 40), 29); // h = 1.6: 20 + 0.6 * 15
  assert.equal(percentile(xs, 90), 46); // h = 3.6: 40 + 0.6 * 10
  assert.equal(percentile([50, 15, 40, 20, 35], 40), 29, "input order does not matter");
  assert.equal(percentileSorted([1, 2, 3, 4], 50), 2.5);
  assert.equal(percentile([7], 99), 7);
});

Deno.test("percentile of nothing is undefined and p out of range is an error", () => {
  assert.equal(percentile([], 50), undefined);
  assert.throws(() => percentile([1], 101), /between 0 and 100/);
  assert.throws(() => percentile([1], NaN), /between 0 and 100/);
});

Deno.test("summarize drops undefined and reports population std", () => {
  const s = summarize([2, 4, undefined, 4, 4, 5, 5, 7, 9]);
  assert.equal(s.n, 8);
  assert.equal(s.mean, 5);
  assert.equal(s.std, 2); // the textbook population-std example
  assert.equal(s.max, 9);
  assert.equal(s.p50, 4.5);
  assert.equal(s.p90, 7.6); // h = 6.3: 7 + 0.3 * 2
  assert.deepEqual(summarize([undefined]), { n: 0 });
});

Deno.test("bootstrap CI is deterministic for a seed and brackets the estimate", () => {
  const xs = Array.from({ length: 200 }, (_, i) => 100 + ((i * 37) % 101));
  const a = bootstrapCi(xs, 50, { seed: 3, resamples: 400 })!;
  const b = bootstrapCi(xs, 50, { seed: 3, resamples: 400 })!;
  const c = bootstrapCi(xs, 50, { seed: 4, resamples: 400 })!;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.ok(a.lo <= a.estimate && a.estimate <= a.hi, JSON.stringify(a));
  assert.ok(
    a.hi - a.lo > 0 && a.hi - a.lo < 30,
    "a median of 200 values spread over 100 is known to within ~20",
  );
  const wide = bootstrapCi(xs.slice(0, 20), 50, { seed: 3, resamples: 400 })!;
  assert.ok(wide.hi - wide.lo > a.hi - a.lo, "fewer samples, wider interval");
  const p99 = bootstrapCi(xs, 99, { seed: 3, resamples: 400, confidence: 0.9 })!;
  assert.equal(p99.confidence, 0.9);
  assert.ok(p99.hi <= 200);
  assert.equal(bootstrapCi([], 50), undefined);
  assert.throws(() => bootstrapCi(xs, 50, { confidence: 1 }), /between 0 and 1/);
});

Deno.test("quantile is percentile on a 0..1 scale, bit for bit the type-7 formula compare and trace used", () => {
  // The formula lib/compare and lib/writeup/trace.ts each wrote before they shared this one.
  const old = (xs: readonly number[], q: number) => {
    const s = [...xs].sort((x, y) => x - y);
    const i = (s.length - 1) * q;
    const lo = Math.floor(i);
    return s[lo] + (s[Math.ceil(i)] - s[lo]) * (i - lo);
  };
  const rng = createRng(7);
  for (let k = 0; k < 200; k++) {
    const xs = Array.from({ length: 1 + Math.floor(rng() * 40) }, () => rng() * 1000 - 100);
    for (const q of [0, 0.025000000000000022, 0.1, 0.5, 0.9, 0.95, 0.975, 0.99, 1, rng()]) {
      assert.equal(quantile(xs, q), old(xs, q), `q=${q} n=${xs.length}`);
    }
  }
  assert.equal(quantile([10, 40, 20, 30], 0.9), 37);
  assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([], 0.5), undefined);
  assert.throws(() => quantile([1], 1.5), /between 0 and 1/);
});

Deno.test("median interpolates an even count; mean sums left to right; both undefined for nothing", () => {
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([]), undefined);
  assert.equal(mean([1, 2, 6]), 3);
  assert.equal(mean([0.1, 0.2, 0.3]), (0.1 + 0.2 + 0.3) / 3, "plain left-to-right sum");
  assert.equal(mean([]), undefined);
});
