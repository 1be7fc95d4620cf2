import assert from "node:assert/strict";
import {
  type BucketHistogram,
  histogramDelta,
  histogramMean,
  histogramQuantile,
  mergeHistograms,
} from "./histogram.ts";

// Twenty TTFT observations, bucketed by hand on vLLM's first TTFT bounds:
//   (0, 0.02]: 2   (0.02, 0.04]: 6   (0.04, 0.06]: 8   (0.06, 0.08]: 3   (0.08, +Inf): 1
const TTFT: BucketHistogram = {
  buckets: [
    { le: 0.02, count: 2 },
    { le: 0.04, count: 8 },
    { le: 0.06, count: 16 },
    { le: 0.08, count: 19 },
    { le: Infinity, count: 20 },
  ],
  sum: 1.0,
  count: 20,
};

const close = (actual: number | undefined, expected: number) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `${actual} != ${expected}`);

Deno.test("quantiles interpolate linearly inside the bucket that holds the rank", () => {
  // p50: rank 10 lies in (0.04, 0.06] holding ranks 8..16 -> 0.04 + 0.02 x (10 - 8) / 8 = 0.045
  close(histogramQuantile(TTFT, 0.5), 0.045);
  // p90: rank 18 lies in (0.06, 0.08] holding ranks 16..19 -> 0.06 + 0.02 x (18 - 16) / 3
  close(histogramQuantile(TTFT, 0.9), 0.06 + 0.02 * 2 / 3);
  // p5: rank 1 lies in the first bucket, whose lower bound is 0 -> 0.02 x 1 / 2 = 0.01
  close(histogramQuantile(TTFT, 0.05), 0.01);
  // p40: rank 8 is exactly the top of (0.02, 0.04] -> its upper bound
  close(histogramQuantile(TTFT, 0.4), 0.04);
});

Deno.test("a quantile in the +Inf bucket is the largest finite bound (a lower bound)", () => {
  assert.equal(histogramQuantile(TTFT, 0.99), 0.08);
  assert.equal(histogramQuantile(TTFT, 1), 0.08);
});

Deno.test("an empty histogram has no quantile and no mean; a bad q is refused", () => {
  const empty: BucketHistogram = {
    buckets: [{ le: 1, count: 0 }, { le: Infinity, count: 0 }],
    sum: 0,
    count: 0,
  };
  assert.equal(histogramQuantile(empty, 0.5), undefined);
  assert.equal(histogramMean(empty), undefined);
  assert.throws(() => histogramQuantile(TTFT, 99), /q must be between 0 and 1/);
});

Deno.test("the mean is sum over count, undefined without a _sum", () => {
  assert.equal(histogramMean(TTFT), 0.05);
  assert.equal(histogramMean({ buckets: TTFT.buckets, count: 20 }), undefined);
});

Deno.test("merging label sets with the same bounds adds buckets, sums and counts", () => {
  const merged = mergeHistograms([
    { labels: { engine: "0" }, buckets: TTFT.buckets, sum: 1, count: 20 },
    {
      labels: { engine: "1" },
      buckets: [{ le: 0.02, count: 1 }, { le: 0.04, count: 1 }, { le: 0.06, count: 4 }, {
        le: 0.08,
        count: 4,
      }, { le: Infinity, count: 5 }],
      sum: 0.25,
      count: 5,
    },
  ]);
  assert.deepEqual(merged, {
    buckets: [
      { le: 0.02, count: 3 },
      { le: 0.04, count: 9 },
      { le: 0.06, count: 20 },
      { le: 0.08, count: 23 },
      { le: Infinity, count: 25 },
    ],
    sum: 1.25,
    count: 25,
  });
  assert.equal(mergeHistograms([]), undefined);
});

Deno.test("merging different bounds never counts an observation under a bound it may exceed", () => {
  const merged = mergeHistograms([
    { labels: { a: "x" }, buckets: [{ le: 1, count: 2 }, { le: Infinity, count: 4 }], sum: 5, count: 4 },
    {
      labels: { a: "y" },
      buckets: [{ le: 0.5, count: 1 }, { le: 2, count: 3 }, { le: Infinity, count: 3 }],
      count: 3,
    },
  ]);
  assert.deepEqual(merged?.buckets, [
    { le: 0.5, count: 1 }, // x knows nothing <= 0.5
    { le: 1, count: 3 }, // y only knows 1 observation <= 1 (its 0.5 bucket)
    { le: 2, count: 5 }, // x: 2 (its le=1), y: 3
    { le: Infinity, count: 7 },
  ]);
  assert.equal(merged?.sum, undefined, "one series had no _sum");
  assert.equal(merged?.count, 7);
});

Deno.test("a delta is the observations between two scrapes, bucket by bucket", () => {
  const later: BucketHistogram = {
    buckets: TTFT.buckets.map((b, i) => ({ le: b.le, count: b.count + [0, 1, 3, 3, 4][i] })),
    sum: 1.21,
    count: 24,
  };
  const { histogram, reset } = histogramDelta(TTFT, later);
  assert.equal(reset, false);
  assert.deepEqual(histogram.buckets.map((b) => b.count), [0, 1, 3, 3, 4]);
  assert.equal(histogram.count, 4);
  close(histogram.sum, 0.21);
});

Deno.test("a histogram that went down is flagged as a reset and keeps the values after it", () => {
  const restarted: BucketHistogram = {
    buckets: [
      { le: 0.02, count: 0 },
      { le: 0.04, count: 1 },
      { le: 0.06, count: 1 },
      { le: 0.08, count: 1 },
      {
        le: Infinity,
        count: 1,
      },
    ],
    sum: 0.03,
    count: 1,
  };
  const { histogram, reset } = histogramDelta(TTFT, restarted);
  assert.equal(reset, true);
  assert.deepEqual(histogram, restarted);
  assert.ok(histogram.buckets.every((b) => b.count >= 0));
});
