import assert from "node:assert/strict";
import {
  batchingGainPerDoubling,
  batchingKnee,
  type BatchingKneePoint,
  batchingRateAtSlo,
  type BatchingSloPoint,
  batchingSweetSpot,
} from "./knee.ts";

const C = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const curve = (f: (c: number) => number, valid: (c: number) => boolean = () => true): BatchingKneePoint[] =>
  C.map((c) => ({ concurrency: c, throughput_rps: f(c), valid: valid(c) }));
/** A saturating curve X = Xmax c / (c + c0): the gain per doubling is c0 / (2c + c0). */
const saturating = (xmax: number, c0: number) => (c: number) => xmax * c / (c + c0);

Deno.test("batchingGainPerDoubling normalizes uneven steps to one doubling", () => {
  assert.equal(batchingGainPerDoubling(1, 100, 2, 150), 0.5);
  assert.ok(Math.abs(batchingGainPerDoubling(1, 100, 4, 150) - (Math.sqrt(1.5) - 1)) < 1e-12);
  assert.equal(batchingGainPerDoubling(1, 0, 2, 5), Infinity);
  assert.throws(() => batchingGainPerDoubling(4, 1, 2, 1), /need 0 < c0 < c1/);
});

Deno.test("a flat curve has its knee at the lowest concurrency", () => {
  const k = batchingKnee(curve(() => 100), { min_gain: 0.1 });
  assert.equal(k.kind, "knee");
  assert.equal(k.kind === "knee" && k.concurrency, 1);
  assert.match(k.reason, /does not grow from the lowest concurrency/);
});

Deno.test("a linear curve never reaches its knee", () => {
  const k = batchingKnee(curve((c) => 10 * c), { min_gain: 0.1 });
  assert.equal(k.kind, "not_reached");
  assert.match(k.reason, /knee lies beyond c=256; extend the sweep/);
});

Deno.test("a never-saturating curve (gain per doubling stays above the threshold) has no knee", () => {
  const k = batchingKnee(curve((c) => 50 * Math.pow(c, 0.5)), { min_gain: 0.3 }); // +41% per doubling
  assert.equal(k.kind, "not_reached");
  assert.ok(k.kind === "not_reached" && Math.abs(k.last_gain - (Math.SQRT2 - 1)) < 1e-9);
});

Deno.test("a saturating curve's knee is where the gain per doubling falls below the threshold", () => {
  // c0 = 10: gains per doubling 10/(2c+10): c=16 -> 24%, 32 -> 13.5%, 64 -> 7.2%, 128 -> 3.8%.
  const k10 = batchingKnee(curve(saturating(400, 10)), { min_gain: 0.1 });
  assert.equal(k10.kind === "knee" && k10.concurrency, 64);
  const k20 = batchingKnee(curve(saturating(400, 10)), { min_gain: 0.2 });
  assert.equal(k20.kind === "knee" && k20.concurrency, 32);
  assert.ok(k20.kind === "knee" && k20.gain_after < 0.2 && k20.gain_before! >= 0.2);
  assert.match(k20.reason, /Up to c=32 throughput grows/);
});

Deno.test("a noisy saturating curve keeps its knee within one step of the clean one", () => {
  const noise = [1.04, 0.96, 1.05, 0.95, 1.03, 0.97, 1.04, 0.96, 1.02];
  const base = saturating(400, 10);
  const noisy = C.map((c, i) => ({ concurrency: c, throughput_rps: base(c) * noise[i], valid: true }));
  const k10 = batchingKnee(noisy, { min_gain: 0.1 });
  assert.equal(k10.kind === "knee" && k10.concurrency, 64);
  const k20 = batchingKnee(noisy, { min_gain: 0.2 });
  assert.ok(k20.kind === "knee" && [16, 32].includes(k20.concurrency));
});

Deno.test("one outlier does not end the curve early: every later point must gain too little", () => {
  // c=4 inflated by 40%: 4 -> 8 gains only 11%, but 4 -> 16 still gains 24% per doubling.
  const base = saturating(400, 10);
  const k = batchingKnee(curve((c) => (c === 4 ? 1.4 * base(4) : base(c))), { min_gain: 0.2 });
  assert.equal(k.kind === "knee" && k.concurrency, 32);
});

Deno.test("invalid points are left out of the knee rule and named", () => {
  // A bogus low point at 64 would make 32 look like the knee if it were used.
  const pts = curve((c) => (c === 64 ? 10 : 20 * c), (c) => c !== 64);
  const k = batchingKnee(pts, { min_gain: 0.1 });
  assert.equal(k.kind, "not_reached");
  assert.deepEqual(k.excluded, [64]);
  assert.match(k.reason, /Invalid points left out of the rule: c=64/);
});

Deno.test("too few valid points give no knee, and duplicates are refused", () => {
  assert.equal(batchingKnee(curve((c) => c, (c) => c === 1), { min_gain: 0.1 }).kind, "insufficient");
  assert.equal(batchingKnee(curve(() => 0), { min_gain: 0.1 }).kind, "insufficient");
  assert.throws(
    () =>
      batchingKnee([{ concurrency: 1, throughput_rps: 1, valid: true }, {
        concurrency: 1,
        throughput_rps: 2,
        valid: true,
      }], { min_gain: 0.1 }),
    /appears twice; aggregate the repeats first/,
  );
});

const slo = { ttft_p95_ms: 200, tpot_p95_ms: 25 };
/** Latency grows with concurrency past saturation: TTFT = 20 + c, TPOT = 3 + c / 8. */
const sloCurve = (
  f: (c: number) => number,
  ttft = (c: number) => 20 + c,
  tpot = (c: number) => 3 + c / 8,
): BatchingSloPoint[] =>
  C.map((c) => ({
    concurrency: c,
    throughput_rps: f(c),
    valid: true,
    ttft_p95_ms: ttft(c),
    tpot_p95_ms: tpot(c),
  }));

Deno.test("the sweet spot is capped at the knee when the SLO allows more", () => {
  const pts = sloCurve(saturating(400, 10)); // SLO holds up to c=128 (TPOT 19 ms), breaks at 256 (TPOT 35 ms)
  const knee = batchingKnee(pts, { min_gain: 0.2 });
  const s = batchingSweetSpot(pts, slo, knee, { range_fraction: 0.8 });
  assert.equal(s.kind, "sweet_spot");
  if (s.kind !== "sweet_spot") return;
  assert.equal(s.concurrency, 32);
  assert.equal(s.bound, "knee");
  assert.equal(s.slo_limit, 128);
  assert.deepEqual(s.range, { lo: 16, hi: 64 }); // X(16) = 246 >= 0.8 x X(32) = 244; X(8) = 178 is not
  assert.match(s.reason, /The knee caps it/);
  assert.match(s.reason, /Up to c=64 the SLO still holds, for \+14% throughput/);
  assert.match(s.reason, /The SLO breaks at c=256 \(p95 TTFT 276 ms > 200 ms and p95 TPOT 35 ms > 25 ms\)/);
});

Deno.test("the SLO caps the sweet spot before the knee", () => {
  const pts = sloCurve(saturating(400, 10), (c) => 20 + 20 * c); // TTFT p95 > 200 ms from c=16
  const s = batchingSweetSpot(pts, slo, batchingKnee(pts, { min_gain: 0.2 }), { range_fraction: 0.8 });
  assert.ok(s.kind === "sweet_spot");
  assert.equal(s.concurrency, 8);
  assert.equal(s.bound, "slo");
  assert.deepEqual(s.range, { lo: 8, hi: 8 });
  assert.match(s.reason, /at c=16, p95 TTFT 340 ms > 200 ms/);
});

Deno.test("no knee and the SLO never broken: the sweet spot is the end of the sweep", () => {
  const pts = sloCurve((c) => 10 * c, () => 30, () => 5);
  const s = batchingSweetSpot(pts, slo, batchingKnee(pts, { min_gain: 0.1 }), { range_fraction: 0.5 });
  assert.ok(s.kind === "sweet_spot");
  assert.equal(s.concurrency, 256);
  assert.equal(s.bound, "sweep_end");
  assert.deepEqual(s.range, { lo: 128, hi: 256 });
  assert.match(s.reason, /extend the sweep/);
});

Deno.test("an SLO never met gives no sweet spot, with the reason at the lowest concurrency", () => {
  const pts = sloCurve(saturating(400, 10), () => 500);
  const s = batchingSweetSpot(pts, slo, batchingKnee(pts, { min_gain: 0.2 }), { range_fraction: 0.8 });
  assert.equal(s.kind, "none");
  assert.match(s.reason, /not even the lowest valid one \(c=1: p95 TTFT 500 ms > 200 ms\)/);
});

Deno.test("the SLO must hold from the bottom up: a later lucky point does not count", () => {
  const pts = sloCurve(saturating(400, 64), (c) => (c === 8 ? 400 : 30));
  const s = batchingSweetSpot(pts, slo, batchingKnee(pts, { min_gain: 0.05 }), { range_fraction: 0.8 });
  assert.ok(s.kind === "sweet_spot");
  assert.equal(s.slo_limit, 4);
  assert.equal(s.concurrency, 4);
});

Deno.test("an invalid point is skipped by the SLO rule, not counted as meeting or breaking it", () => {
  const pts = sloCurve(saturating(400, 10), (c) => (c === 16 ? 900 : 30));
  pts[4].valid = false; // c = 16
  const s = batchingSweetSpot(pts, slo, batchingKnee(pts, { min_gain: 0.2 }), { range_fraction: 0.8 });
  assert.ok(s.kind === "sweet_spot");
  assert.deepEqual(s.excluded, [16]);
  assert.equal(s.concurrency, 32);
});

Deno.test("batchingRateAtSlo finds the highest Poisson rate meeting the SLO", () => {
  const pts = [100, 200, 300, 400].map((r) => ({
    target_rps: r,
    ttft_p95_ms: r < 350 ? 50 : 900,
    tpot_p95_ms: 10,
    valid: true,
  }));
  const cap = batchingRateAtSlo(pts, slo);
  assert.ok(cap.kind === "capacity");
  assert.equal(cap.target_rps, 300);
  assert.equal(cap.broken_at_rps, 400);
  assert.equal(batchingRateAtSlo(pts.map((p) => ({ ...p, ttft_p95_ms: 999 })), slo).kind, "none");
});
